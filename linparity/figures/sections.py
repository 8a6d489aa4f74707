"""Where each REPORT row belongs: the report's sections and the one table that sorts rows into them.

REPORT.md is read by theorem. Its sections come in four parts: the paper's claims (Theorem 1,
Theorem 2, policy gradient), the toolkit's own hypotheses and route agreements, the extensions
(THEORY §8 and the edges of Theorem 1's range) and the transformer experiments. A row goes to the
section of the first rule in :data:`RULES` whose figure pattern matches its figure and whose regular
expression is found in its claim; a figure added later (F12, F13, T7, ...) only needs a rule here.
The proofs rows that state a paper's claim in a form the toolkit settles (Prop 1 as stated and as
corrected) are listed in :data:`PROOF_ROWS` and shown in their section as well as in the proofs part.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from fnmatch import fnmatchcase

__all__ = ["Section", "SECTIONS", "PARTS", "RULES", "PROOF_ROWS", "section_of"]


@dataclass(frozen=True)
class Section:
    """One section of REPORT.md."""
    id: str       # stable key, e.g. "thm1-threshold"
    part: str     # one of PARTS
    title: str    # the heading
    figures: str  # the figures (and proofs rows) whose rows it holds, as shown in the heading


#: the report's parts, in order (headings of level 2)
PARTS = ("Paper claims", "The toolkit's own hypotheses", "Extensions", "Transformer experiments")

SECTIONS = (
    Section("thm1-threshold", PARTS[0], "Theorem 1: greedy threshold at one third", "F1"),
    Section("thm1-calibration", PARTS[0], "Theorem 1: length calibration", "F2"),
    Section("thm1-props", PARTS[0], "Theorem 1: Props 1-3 as stated and corrected", "F6; proofs 9b, 9d, 10a, 10b"),
    Section("thm2-recursion", PARTS[0], "Theorem 2: the ideal recursion and its two steps", "F3, F11"),
    Section("thm2-rounds-p", PARTS[0], "Theorem 2: rounds against p", "F4"),
    Section("thm2-rounds-d", PARTS[0], "Theorem 2: rounds against d", "F12"),
    Section("thm2-samples-d", PARTS[0], "Theorem 2: samples against d", "F5, F13"),
    Section("thm2-too-early", PARTS[0], "RL from too early a checkpoint", "F8"),
    Section("pg", PARTS[0], "Policy gradient", "F7"),
    Section("routes", PARTS[1], "The three routes agree", "F2, F3, F6, F7"),
    Section("hyp-maps", PARTS[1], "The exact maps predict finite-sample STaR", "F3, F8"),
    Section("hyp-shortcut", PARTS[1], "Full weights against the sufficient-statistics shortcut", "F5"),
    Section("hyp-heads", PARTS[1], "Which head fails first", "F5"),
    Section("ext-noise", PARTS[2], "Noisy demonstrations", "F9"),
    Section("ext-length", PARTS[2], "Length penalty", "F10"),
    Section("ext-leap2", PARTS[2], "Leap-2 partial chains", "T6"),
    Section("ext-edges", PARTS[2], "Theorem 1 at its edges (p exactly one third, p from three quarters)", "F11"),
    Section("transformer", PARTS[3], "Transformer experiments", "T1-T5, T7"),
)

#: (figure pattern, claim regex, section id): the first rule that matches a row decides its section
RULES = (
    ("F1", "", "thm1-threshold"),
    ("F2", r"closed form = enumeration", "routes"),
    ("F2", "", "thm1-calibration"),
    ("F3", r"= STaR refit on full weights", "routes"),
    ("F3", r"STaR simulation", "hyp-maps"),
    ("F3", "", "thm2-recursion"),
    ("F4", "", "thm2-rounds-p"),
    ("F5", r"[Ww]hich head", "hyp-heads"),
    ("F5", r"^Contrast", "hyp-shortcut"),
    ("F5", "", "thm2-samples-d"),
    ("F6", r"subspace", "routes"),
    ("F6", "", "thm1-props"),
    ("F7", r"by enumeration", "routes"),
    ("F7", "", "pg"),
    ("F8", r"predict", "hyp-maps"),
    ("F8", "", "thm2-too-early"),
    ("F9", "", "ext-noise"),
    ("F10", "", "ext-length"),
    ("F11", r"Thm 2 step", "thm2-recursion"),
    ("F11", "", "ext-edges"),
    ("F12", "", "thm2-rounds-d"),
    ("F13", "", "thm2-samples-d"),
    ("T6", "", "ext-leap2"),
    ("T*", "", "transformer"),
)

#: proofs rows (``python -m proofs``) shown in a theorem section as well: row id -> section id
PROOF_ROWS = {"9b": "thm1-props", "10a": "thm1-props", "9d": "thm1-props", "10b": "thm1-props"}


def section_of(figure: str, claim: str) -> str:
    """The section id of a row of figure ``figure`` with claim text ``claim`` (first matching rule).

    Raises ValueError naming the figure when no rule matches (a new figure needs a rule in RULES).
    """
    for pattern, regex, sec in RULES:
        if fnmatchcase(figure, pattern) and re.search(regex, claim):
            return sec
    raise ValueError(f"figure: no REPORT section for {figure!r}; add a rule to linparity.figures.sections.RULES")
