"""REPORT.md: one row per theorem claim with prediction, measurement, and PASS or DEVIATION.

The report is stored twice in the output folder: ``report.json`` (the rows, captions and the
provenance of each figure's run: date, mode, seed, seconds; and the table of ``python -m proofs``)
is the record, and ``REPORT.md`` is rendered from it, by theorem: the sections of
:mod:`linparity.figures.sections`, then the proofs, then the captions. A run that recomputes only some figures (``--only``, or T1-T6 without torch)
merges: the figures it recomputed replace their rows, and every other figure's rows are carried
over from the recorded run, each row saying so. No run deletes or drops a result it did not
recompute; a figure that did not run and has no recorded run gets SKIPPED rows with the reason.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .._io import atomic_write_text
from .sections import PARTS, PROOF_ROWS, SECTIONS, section_of

__all__ = ["Row", "FigureResult", "within", "fmt", "skipped", "verdict_counts", "VERDICTS",
           "REPORT_MD", "REPORT_JSON", "load_recorded", "load_proofs", "run_proofs", "merge", "write_report",
           "run_text", "render", "proof_counts"]

#: the verdicts a row can carry: a measurement PASSes or DEVIATEs under its stated criterion; a claim
#: whose figure did not run and has no recorded run is SKIPPED, with the reason
VERDICTS = ("PASS", "DEVIATION", "SKIPPED")
#: file names of the rendered report and of its record, in the output folder
REPORT_MD, REPORT_JSON = "REPORT.md", "report.json"


@dataclass
class Row:
    """One checked claim."""
    figure: str        # "F1".."F12", "T1".."T6"
    claim: str         # the statement checked, with its source (THEORY section)
    prediction: str    # the predicted value (closed form, formula or bound)
    measured: str      # the measured value with its uncertainty
    passed: bool       # the stated criterion holds
    detail: str        # the criterion and, for a deviation, by how much
    skipped: bool = False  # not measured (detail says why); counts as neither PASS nor DEVIATION

    @property
    def verdict(self) -> str:
        return "SKIPPED" if self.skipped else "PASS" if self.passed else "DEVIATION"


@dataclass
class FigureResult:
    """What a figure function returns, and what the report records of one figure's run."""
    name: str                                  # "F1".."F12", "T1".."T6"
    caption: str                               # the caption line drawn under the figure
    summary: str                               # one line printed after the figure
    rows: list = field(default_factory=list)   # Row objects for REPORT.md
    files: list = field(default_factory=list)  # written paths
    run: dict = field(default_factory=dict)    # provenance: date, mode, seed, seconds (set by the driver)
    carried: bool = False                      # read from the recorded run, not recomputed now


def fmt(x, digits=3) -> str:
    """A number in short form; inf spelled out, a missing value (None or nan) 'n/a', so that no
    report cell reads nan (the row's detail says why a value is missing)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
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


def run_text(run: dict) -> str:
    """``run of 2026-12-01, full mode, seed 0`` from a figure's provenance."""
    return f"run of {run.get('date', '?')}, {run.get('mode', '?')} mode, seed {run.get('seed', '?')}"


def load_recorded(out, as_carried: bool = True) -> dict:
    """The recorded figures of ``out/report.json``: name -> FigureResult; {} if none.

    ``as_carried`` marks every figure as carried over (what it is for the next run); False keeps
    the flags as written, so that the record renders to the same REPORT.md.

    Raises ValueError naming ``out`` when the record exists but cannot be read (it is never
    overwritten then: the rows it holds would be lost).
    """
    path = Path(out) / REPORT_JSON
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
        figs = {f["name"]: FigureResult(f["name"], f["caption"], f["summary"],
                                        [Row(**r) for r in f["rows"]], [], dict(f["run"]),
                                        carried=as_carried or bool(f.get("carried")))
                for f in data["figures"]}
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ValueError(f"out: {path} is not a readable report record ({type(e).__name__}: {e}); "
                         "move it away to start a new report") from None
    return figs


def load_proofs(out) -> dict | None:
    """The recorded table of ``python -m proofs`` in ``out/report.json`` (``{"run", "rows"}``), or None.

    Each row is ``{"id", "claim", "status", "detail"}`` with status PROVED, CHECKED, REFUTED or FAILED.
    Raises ValueError naming ``out`` as :func:`load_recorded` does.
    """
    path = Path(out) / REPORT_JSON
    if not path.exists():
        return None
    try:
        proofs = json.loads(path.read_text()).get("proofs")
        if proofs is not None:
            proofs = {"run": dict(proofs["run"]), "rows": [dict(id=r["id"], claim=r["claim"], status=r["status"],
                                                               detail=r["detail"]) for r in proofs["rows"]]}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise ValueError(f"out: {path} is not a readable report record ({type(e).__name__}: {e}); "
                         "move it away to start a new report") from None
    return proofs


def run_proofs(run: dict) -> dict:
    """Run every claim of ``python -m proofs`` (sympy; seconds) and return its record with provenance ``run``."""
    from proofs import row_id, run_all
    rows = [{"id": row_id(r), "claim": r.claim[len(row_id(r)):].strip(), "status": r.status.value,
             "detail": r.detail} for r in run_all()]
    return {"run": dict(run), "rows": rows}


def merge(recorded: dict, fresh: list, order: list) -> list:
    """The report's figures in ``order``: this run's results, else the recorded run's (carried).

    A figure of this run that was SKIPPED (it could not run) keeps its recorded rows when it has
    some; a figure neither run nor recorded is left out.
    """
    now = {r.name: r for r in fresh}
    out = []
    for name in order:
        res = now.get(name)
        if res is None or (all(r.skipped for r in res.rows) and name in recorded):
            res = recorded.get(name)
        if res is not None:
            out.append(res)
    return out


def _cell(s) -> str:
    return str(s).replace("|", "\\|").replace("\n", " ")


def _figure_row(res: FigureResult, r: Row) -> str:
    carried = " (carried over)" if res.carried else ""
    note = f"carried over from the {run_text(res.run)}; not recomputed. " if res.carried else ""
    return (f"| {r.figure} | {_cell(r.claim)} | {_cell(r.prediction)} | {_cell(r.measured)} "
            f"| **{r.verdict}**{carried} | {_cell(note + r.detail)} |")


def _proof_row(p: dict) -> str:
    return f"| proofs {p['id']} | {_cell(p['claim'])} | - | - | **{p['status']}** | {_cell(p['detail'])} |"


def _sections(results: list, proofs) -> dict:
    """Section id -> the rendered rows of that section (figure rows in report order, then proofs rows)."""
    rows: dict = {s.id: [] for s in SECTIONS}
    for res in results:
        for r in res.rows:
            rows[section_of(r.figure, r.claim)].append(_figure_row(res, r))
    for p in (proofs or {}).get("rows", []):
        if p["id"] in PROOF_ROWS:
            rows[PROOF_ROWS[p["id"]]].append(_proof_row(p))
    return rows


def proof_counts(proofs) -> dict:
    """{"PROVED": n, "CHECKED": n, "REFUTED": n, "FAILED": n} over the proofs record (zeros when None)."""
    rows = (proofs or {}).get("rows", [])
    return {s: sum(p["status"] == s for p in rows) for s in ("PROVED", "CHECKED", "REFUTED", "FAILED")}


def render(results: list, header: str, proofs=None) -> str:
    """REPORT.md: the header, the contents, one table per section, the proofs and the captions."""
    by = _sections(results, proofs)
    head = "| fig | claim | prediction | measured | verdict | notes |\n|---|---|---|---|---|---|"
    lines = [header, "", "## Contents", "", "| part | section | figures | rows |", "|---|---|---|---|"]
    lines += [f"| {s.part} | [{s.title}](#{_anchor(s.title)}) | {s.figures} | {len(by[s.id])} |" for s in SECTIONS]
    for part in PARTS:
        lines += ["", f"## {part}"]
        for s in (s for s in SECTIONS if s.part == part):
            lines += ["", f"### {s.title}", ""]
            lines += [head, *by[s.id]] if by[s.id] else [f"No recorded row yet ({s.figures}): untested."]
    c = verdict_counts(results)
    skip = f", {c['SKIPPED']} SKIPPED (not measured; reason in the row)" if c["SKIPPED"] else ""
    lines += ["", f"{c['claims']} claims checked: {c['PASS']} PASS, {c['DEVIATION']} DEVIATION{skip}. Deviations are "
              "reported, never tuned away.", "", "## Proofs", ""]
    if proofs:
        n = proof_counts(proofs)
        lines += [f"`python -m proofs` (run of {proofs['run'].get('date', '?')}): {n['PROVED']} PROVED, {n['CHECKED']} CHECKED, "
                  f"{n['REFUTED']} REFUTED, {n['FAILED']} FAILED. PROVED: sympy establishes it; CHECKED: exact "
                  "evaluation on a stated grid; REFUTED: a statement of the paper shown false by the counterexample "
                  "in the row; FAILED: a claim of the toolkit did not hold.", "",
                  "| row | claim | status | detail |", "|---|---|---|---|"]
        lines += [f"| {p['id']} | {_cell(p['claim'])} | **{p['status']}** | {_cell(p['detail'])} |"
                  for p in proofs["rows"]]
    else:
        lines += ["Not run in this mode (`python -m proofs` prints the table)."]
    lines += ["", "## Captions", ""]
    lines += [f"- **{res.name}**: {res.caption}" for res in results]
    return "\n".join(lines) + "\n"


def _anchor(title: str) -> str:
    """The GitHub anchor of a heading (docs/conf.py sets myst to the same): lower case, punctuation
    dropped, spaces as hyphens."""
    return re.sub(r"[^a-z0-9 -]", "", title.lower()).replace(" ", "-")


def write_report(out, results: list, header: str, proofs=None) -> Path:
    """Write ``out/report.json`` and the ``out/REPORT.md`` rendered from it (each atomically).

    ``proofs``: the record of ``python -m proofs`` (:func:`run_proofs`, :func:`load_proofs`), or None.
    """
    out = Path(out)
    record = {"figures": [{"name": res.name, "caption": res.caption, "summary": res.summary,
                           "run": res.run, "carried": res.carried,
                           "rows": [{**asdict(r), "passed": bool(r.passed), "skipped": bool(r.skipped)}
                                    for r in res.rows]} for res in results]}
    if proofs is not None:
        record["proofs"] = proofs
    atomic_write_text(out / REPORT_JSON, json.dumps(record, indent=1) + "\n")
    path = out / REPORT_MD
    atomic_write_text(path, render(results, header, proofs))
    return path
