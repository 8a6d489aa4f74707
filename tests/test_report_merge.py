"""The figures' report merges: a run never deletes or drops a result it did not recompute.

References: the rows are fabricated here (their content is arbitrary text), so every assertion is
about which rows and files survive a run, not about any number; the committed record
``figures/report.json`` must render to the committed ``figures/REPORT.md`` byte for byte.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from linparity.figures import cli
from linparity.figures.report import REPORT_JSON, REPORT_MD, FigureResult, Row, load_proofs, load_recorded, write_report
from linparity.figures.sections import SECTIONS, section_of

ROOT = Path(__file__).resolve().parents[1]


def _record(out: Path, names, mode="quick", date="2000-01-01"):
    """A fabricated recorded run of ``names``: one PASS row each, and a stand-in image."""
    res = [FigureResult(n, f"caption {n}", "", [Row(n, f"claim {n}", "pred", "meas", True, "crit")],
                        run={"date": date, "mode": mode, "seed": 0, "seconds": 1.0}) for n in names]
    write_report(out, res, "# header")
    for n in names:
        (out / f"{n}.png").write_bytes(b"recorded image " + n.encode())


def _rows(out: Path) -> dict:
    rows = [ln.split("|") for ln in (out / REPORT_MD).read_text().splitlines() if ln.startswith("| ")]
    return {r[1].strip(): "|".join(r) for r in rows if re.fullmatch(r"[FT]\d+", r[1].strip())}


def test_partial_run_carries_every_other_recorded_figure(tmp_path):
    _record(tmp_path, ["F1", "F2", "T1"])
    lines = []
    cli.run_figures(["F2"], quick=True, out=tmp_path, progress=False, log=lines.append)
    rows = _rows(tmp_path)
    assert sorted(rows) == ["F1", "F2", "T1"]
    assert "carried over from the run of 2000-01-01, quick mode, seed 0" in rows["F1"]
    assert "carried over" in rows["T1"] and "carried over" not in rows["F2"]
    assert "claim F2" not in rows["F2"]                          # F2 was recomputed: the real rows
    for n in ("F1", "T1"):                                       # images of what was not recomputed stay
        assert (tmp_path / f"{n}.png").read_bytes() == b"recorded image " + n.encode()
    assert "2 carried over" in lines[-1]
    rec = load_recorded(tmp_path, as_carried=False)
    assert [rec[n].carried for n in ("F1", "F2", "T1")] == [True, False, True]
    assert rec["F2"].run["mode"] == "quick" and rec["F2"].run["seconds"] > 0


def test_a_figure_that_cannot_run_keeps_its_recorded_rows(tmp_path):
    """T1 in quick mode cannot run: its recorded rows stay (carried), not SKIPPED; without a record
    it gets a SKIPPED row with the reason."""
    _record(tmp_path, ["T1"])
    cli.run_figures(["T1", "T2"], quick=True, out=tmp_path, progress=False, log=lambda m: None)
    rows = _rows(tmp_path)
    assert "**PASS** (carried over" in rows["T1"]
    assert "**SKIPPED**" in rows["T2"] and "--quick mode" in rows["T2"]
    assert (tmp_path / "T1.png").exists()


def test_skipped_rows_and_summary_line_without_a_record(tmp_path):
    lines = []
    (tmp_path / "T1.png").write_bytes(b"an image no record names")
    cli.run_figures(["T1", "T2"], quick=True, out=tmp_path, progress=False, log=lines.append)
    rows = _rows(tmp_path)
    assert len(rows) == 2 and all("**SKIPPED**" in r for r in rows.values())
    assert (tmp_path / "T1.png").exists()                        # never deleted
    assert lines[-1].startswith("2 claims: 0 PASS, 0 DEVIATION, 2 SKIPPED") and str(tmp_path / REPORT_MD) in lines[-1]


@pytest.mark.parametrize("setup, needle", [
    (lambda p: _record(p, ["F1"], mode="full"), "full-mode results"),
    (lambda p: (p / REPORT_MD).write_text("an old report\n"), "has no record"),
    (lambda p: (p / REPORT_JSON).write_text("{not json"), "not a readable report record"),
    (lambda p: (p / REPORT_JSON).write_text('{"figures": [{"name": "F1"}]}'), "not a readable report record"),
    (lambda p: (p / "sweeps").write_text("a file"), "sweeps"),
])
def test_out_that_would_lose_or_mix_results_is_refused_first(tmp_path, capsys, setup, needle):
    setup(tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    assert cli.main(["--quick", "--only", "F2", "--out", str(tmp_path), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: --out") and needle in err[0]
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == before   # nothing touched


def test_committed_record_renders_to_the_committed_report(tmp_path):
    """figures/report.json is the record of figures/REPORT.md: rendering it gives the same file."""
    rec = list(load_recorded(ROOT / "figures", as_carried=False).values())
    header = (ROOT / "figures" / REPORT_MD).read_text().split("\n\n## Contents")[0]
    write_report(tmp_path, rec, header, load_proofs(ROOT / "figures"))
    assert (tmp_path / REPORT_MD).read_text() == (ROOT / "figures" / REPORT_MD).read_text()
    assert json.loads((tmp_path / REPORT_JSON).read_text()) == json.loads((ROOT / "figures" / REPORT_JSON).read_text())


def test_interrupt_prints_one_line_exits_130_and_keeps_finished_figures(tmp_path):
    """SIGINT while F5 runs (after F2 finished): status 130, one stderr line, F2's rows saved."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "linparity.figures", "--quick", "--only", "F2,F5", "--out",
                             str(tmp_path), "--no-progress", "--jobs", "1"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = proc.stdout.readline()                              # "F2 (... s, ...)": F2 is saved
    assert first.startswith("F2 ")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert err.strip().splitlines() == [f"error: interrupted; the figures finished before it are in "
                                        f"{tmp_path / REPORT_MD}"]
    assert sorted(_rows(tmp_path)) == ["F2"]


def test_f5_without_the_shipped_runs_is_refused_before_any_work(tmp_path, capsys, monkeypatch):
    """F5 reads examples/runs (or $LINPARITY_RUNS): a folder that is not there is a usage error,
    one line and status 2, before any figure is computed (not an internal error after F1-F4)."""
    monkeypatch.setenv("LINPARITY_RUNS", str(tmp_path / "no-such-folder"))
    assert cli.main(["--quick", "--only", "F2,F5", "--out", str(tmp_path / "o"), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "LINPARITY_RUNS" in err[0]
    assert not (tmp_path / "o" / "REPORT.md").exists()


def _section_rows(text: str) -> dict:
    """{section title: [its table rows]} of a rendered REPORT.md."""
    out, cur = {}, None
    for ln in text.splitlines():
        if ln.startswith("### "):
            cur = out.setdefault(ln[4:], [])
        elif ln.startswith("## "):
            cur = None
        elif cur is not None and ln.startswith("| ") and not ln.startswith(("| fig", "|---")):
            cur.append(ln)
    return out


def test_committed_report_is_sectioned_by_theorem_with_prop1_refuted():
    """Every recorded row lands in exactly one section; Prop 1's stated forms sit REFUTED beside the
    corrected ones in the Props section; figures recorded later (F12, F13, T7) have their section."""
    text = (ROOT / "figures" / REPORT_MD).read_text()
    secs = _section_rows(text)
    assert list(secs) == [s.title for s in SECTIONS]
    rec = load_recorded(ROOT / "figures", as_carried=False)
    n_rows = sum(len(f.rows) for f in rec.values())
    assert sum(not r.startswith("| proofs") for rows in secs.values() for r in rows) == n_rows
    props = {r.split("|")[1].strip(): r for r in secs["Theorem 1: Props 1-3 as stated and corrected"]
             if r.startswith("| proofs")}
    assert {k: ("**REFUTED**" in v, "**PROVED**" in v) for k, v in props.items()} == {
        "proofs 9b": (True, False), "proofs 10a": (True, False), "proofs 9d": (False, True), "proofs 10b": (False, True)}
    assert [section_of(f, "any claim") for f in ("F12", "F13", "T7")] == ["thm2-rounds-d", "thm2-samples-d", "transformer"]
    with pytest.raises(ValueError, match="figure: no REPORT section for 'X1'"):
        section_of("X1", "claim")


#: the figure modules whose claim texts this check covers (F4, F5, F8 and T1-T7 are left to their modules)
SHORT_CLAIMS = ("F1", "F2", "F3", "F6", "F7", "F9", "F10", "F11")


def test_claim_cells_are_short():
    rec = load_recorded(ROOT / "figures", as_carried=False)
    long = [(r.figure, len(r.claim)) for n in SHORT_CLAIMS for r in rec[n].rows if len(r.claim) > 150]
    assert not long
