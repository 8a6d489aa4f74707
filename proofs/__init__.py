"""Symbolic (sympy) checks of every closed-form claim of docs/theory.md, one small module per claim.

Each module has a one-sentence docstring stating its claim and a ``check() -> list[Result]``
that derives the claim with declared assumptions and evaluates it against linparity's own
closed-form functions. Verdicts: PROVED, CHECKED, REFUTED (a statement of the source shown false,
counterexample in the row) and FAILED (a claim of ours did not hold); see :mod:`proofs._report`.
Run them all with ``python -m proofs`` (``--only ROW`` for a subset); pytest collects the same
checks (tests/test_proofs.py).
"""
from __future__ import annotations

import importlib

from ._report import Result, Status, table

#: claim modules in THEORY order; claim n (rows "na", "nb", ...) is CLAIM_MODULES[n - 1]
CLAIM_MODULES = ("lemma1_head1", "head2a_optimum", "greedy_threshold", "calibration", "star_recursion",
                 "trajectory_types", "amplification", "sample_complexity", "regularisation_bias",
                 "prop1_probability")

#: the row ids each claim module produces (tests/test_proofs.py checks them against its rows), so
#: that ``--only`` refuses an unknown row before running anything
CLAIM_ROWS = {"lemma1_head1": ("1a", "1b"), "head2a_optimum": ("2a", "2b", "2c"),
              "greedy_threshold": ("3a", "3b"), "calibration": ("4a", "4b"),
              "star_recursion": ("5a", "5b", "5c", "5d", "5e", "5f"), "trajectory_types": ("6a", "6b"),
              "amplification": ("7a", "7b"), "sample_complexity": ("8",),
              "regularisation_bias": ("9a", "9b", "9c", "9d", "9e"), "prop1_probability": ("10a", "10b")}

__all__ = ["CLAIM_MODULES", "CLAIM_ROWS", "Result", "Status", "row_id", "select", "run_module", "run_all", "table"]


def row_id(result: Result) -> str:
    """The row id of a result: the first word of its claim, e.g. ``"9b"``."""
    return result.claim.split()[0]


def select(selector: str) -> tuple[str, str | None]:
    """(module, row id or None) for a ``--only`` selector: a module name, a claim number ("9") or a row id
    ("9b"), spelled as the table prints it (no leading zero, lower-case letter).

    Raises ValueError naming ``--only``, the selector and the allowed forms when it matches no row of
    :data:`CLAIM_ROWS` (nothing is run to find out).
    """
    if selector in CLAIM_MODULES:
        return selector, None
    for n, mod in enumerate(CLAIM_MODULES, 1):
        if selector == str(n):
            return mod, None
        if selector in CLAIM_ROWS[mod]:
            return mod, selector
    digits = selector[:len(selector) - len(selector.lstrip("0123456789"))]
    known = CLAIM_ROWS.get(CLAIM_MODULES[int(digits) - 1]) if digits and 1 <= int(digits) <= len(CLAIM_MODULES) else None
    hint = f"claim {int(digits)} has rows {', '.join(known)}" if known else \
        f"use a claim number 1-{len(CLAIM_MODULES)}, a row id such as 9b, or a module name ({', '.join(CLAIM_MODULES)})"
    raise ValueError(f"--only: unknown row {selector!r}; {hint}")


def run_module(name: str) -> list[Result]:
    """Run one claim module; an exception inside a proof is reported as a FAILED row."""
    try:
        return list(importlib.import_module(f"{__name__}.{name}").check())
    except Exception as exc:  # noqa: BLE001 - a crashing proof is a failed proof, reported not raised
        return [Result(name, Status.FAILED, f"raised {type(exc).__name__}: {exc}")]


def run_all(only=None) -> list[Result]:
    """Every row of every claim module in CLAIM_MODULES order, or only those ``only`` selects.

    ``only``: None, or an iterable of selectors (see :func:`select`); each module runs at most once.
    A row id of :data:`CLAIM_ROWS` that its module no longer produces gives a FAILED row (the claim
    went missing); an unknown one is a ValueError (:func:`select`).
    """
    if only is None:
        return [r for name in CLAIM_MODULES for r in run_module(name)]
    wanted: dict[str, set | None] = {}
    for sel in only:
        mod, rid = select(sel)
        if mod not in wanted or wanted[mod] is not None:
            wanted[mod] = None if rid is None else (wanted.get(mod) or set()) | {rid}
    out = []
    for mod in (m for m in CLAIM_MODULES if m in wanted):
        rows = run_module(mod)
        ids = wanted[mod]
        out += [r for r in rows if ids is None or row_id(r) in ids]
        out += [Result(i, Status.FAILED, f"module {mod} produced no row {i}")
                for i in sorted(ids or ()) if i not in {row_id(r) for r in rows}]
    return out
