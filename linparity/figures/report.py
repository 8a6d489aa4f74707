"""REPORT.md: one row per theorem claim with prediction, measurement, and PASS or DEVIATION."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from .._io import atomic_write_text

__all__ = ["Row", "FigureResult", "within", "fmt", "write_report", "skipped", "verdict_counts", "VERDICTS"]

#: the verdicts a row can carry: a measurement PASSes or DEVIATEs under its stated criterion; a claim
#: whose figure did not run this time is SKIPPED, with the reason
VERDICTS = ("PASS", "DEVIATION", "SKIPPED")


@dataclass
class Row:
    """One checked claim."""
    figure: str        # "F1".."F8"
    claim: str         # the statement checked, with its source (THEORY section)
    prediction: str    # the predicted value (closed form, formula or bound)
    measured: str      # the measured value with its uncertainty
    passed: bool       # the stated criterion holds
    detail: str        # the criterion and, for a deviation, by how much
    skipped: bool = False  # not measured this run (detail says why); counts as neither PASS nor DEVIATION

    @property
    def verdict(self) -> str:
        return "SKIPPED" if self.skipped else "PASS" if self.passed else "DEVIATION"


@dataclass
class FigureResult:
    """What a figure function returns."""
    name: str                                  # "F1".."F8", "T1", "T2"
    caption: str                               # the caption line drawn under the figure
    summary: str                               # one line printed after the figure
    rows: list = field(default_factory=list)   # Row objects for REPORT.md
    files: list = field(default_factory=list)  # written paths


def fmt(x, digits=3) -> str:
    """A number in short form (inf and nan spelled out)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "nan"
    if isinstance(x, float) and math.isinf(x):
        return "inf"
    return f"{x:.{digits}g}"


def within(measured, predicted, se, floor=0.0, k=5.0) -> tuple[bool, str]:
    """|measured - predicted| <= max(k se, floor); returns (ok, text with the numbers)."""
    tol = max(k * se, floor)
    diff = abs(measured - predicted)
    return diff <= tol, f"|diff| = {fmt(diff)} vs tolerance max({k:g} se, {fmt(floor)}) = {fmt(tol)}"


def skipped(name: str, claims: list, reason: str) -> FigureResult:
    """A FigureResult for figure ``name`` that did not run: one SKIPPED row per claim, with the reason."""
    rows = [Row(name, c, "-", "not measured", False, reason, skipped=True) for c in claims]
    return FigureResult(name, f"not drawn in this run: {reason}", f"SKIPPED: {reason}", rows)


def verdict_counts(results: list) -> dict:
    """{"claims": n, "PASS": .., "DEVIATION": .., "SKIPPED": ..} over every row of ``results``."""
    rows = [r for res in results for r in res.rows]
    return {"claims": len(rows), **{v: sum(r.verdict == v for r in rows) for v in VERDICTS}}


def write_report(path: Path, results: list, header: str) -> Path:
    """Write REPORT.md (atomically) from the FigureResults' rows."""
    lines = [header, "",
             "| fig | claim | prediction | measured | verdict |", "|---|---|---|---|---|"]
    for res in results:
        for r in res.rows:
            verdict = r.verdict
            cell = lambda s: str(s).replace("|", "\\|").replace("\n", " ")  # noqa: E731
            lines.append(f"| {r.figure} | {cell(r.claim)} | {cell(r.prediction)} | {cell(r.measured)} "
                         f"| **{verdict}**: {cell(r.detail)} |")
    c = verdict_counts(results)
    skip = f", {c['SKIPPED']} SKIPPED (not measured in this run; reason in the row)" if c["SKIPPED"] else ""
    lines += ["", f"{c['claims']} claims checked: {c['PASS']} PASS, {c['DEVIATION']} DEVIATION{skip}. Deviations are "
              "reported, never tuned away.", "", "## Captions", ""]
    lines += [f"- **{res.name}**: {res.caption}" for res in results]
    path = Path(path)
    atomic_write_text(path, "\n".join(lines) + "\n")
    return path
