"""The README's generated blocks are the generator's output on the committed data, and the generator
computes its verdicts and numbers from the record, never from wording.

References: the committed record figures/report.json and the shipped runs in examples/runs (the
generator's input); fabricated records (arbitrary text) for the verdict rules; and a fresh run of
the proofs modules the README quotes (sympy), compared with the recorded table.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from linparity.figures import findings
from linparity.figures.findings import BLOCK, CLAIMS, STATEMENTS, Claim, Data, rewrite, rewrite_docs, verdict

ROOT = Path(__file__).resolve().parents[1]


def _data():
    return Data.load(ROOT / "figures", ROOT / "examples" / "runs")


def test_readme_blocks_are_the_generator_on_the_committed_data():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    names = [m.group(2) for m in BLOCK.finditer(text)]
    assert {"verdicts-theorem1", "verdicts-theorem2", "verdicts-extensions", "verdicts-transformer",
            "key-numbers"} <= set(names)
    assert rewrite(text, _data()) == text, "README.md is stale: run python -m linparity.figures (or findings.rewrite_docs)"


def test_readme_is_short():
    assert len((ROOT / "README.md").read_text(encoding="utf-8").splitlines()) <= 250


def test_every_statement_reads_the_committed_data():
    data = _data()
    for name, statement in STATEMENTS.items():
        text = statement(data)
        assert text.strip() and "nan" not in text.split(), name


def _record(rows, proofs=()):
    """A fabricated record: rows as (figure, claim, passed) and proofs as (id, status)."""
    figs = {}
    for fig, claim, passed in rows:
        figs.setdefault(fig, []).append({"figure": fig, "claim": claim, "prediction": "-", "measured": "-",
                                         "passed": passed, "detail": "-", "skipped": False})
    return Data({"figures": [{"name": n, "rows": r} for n, r in figs.items()],
                 "proofs": {"run": {}, "rows": [{"id": i, "claim": "c", "status": s, "detail": "d"} for i, s in proofs]}},
                Path("figures"))


@pytest.mark.parametrize("rows, proofs, corrected, word", [
    ([], [], False, "untested"),
    ([("F12", "rounds against d", True)], [], False, "holds"),
    ([("F12", "rounds against d", True), ("F12", "another d", False)], [], False, "deviates"),
    ([], [("9b", "REFUTED"), ("9d", "PROVED")], False, "refuted"),
    ([], [("9d", "PROVED")], True, "holds with correction"),
    ([], [("9d", "FAILED")], True, "deviates"),
])
def test_verdict_rules(rows, proofs, corrected, word):
    claim = Claim("theorem2", "c", ("sec:thm2-rounds-d", "proof:9b", "proof:9d"), "budget", "F12", "cmd", corrected)
    assert verdict(_record(rows, proofs), claim)[0] == word


def test_a_figure_recorded_later_is_picked_up_by_its_row():
    """F12 (rounds against d) reads 'untested' until a run records its rows, then its rows decide."""
    claim = next(c for c in CLAIMS if c.figure == "F12" and "as run" in c.text)
    table = STATEMENTS["verdicts-theorem2"]
    assert "| **untested** |" in next(ln for ln in table(_record([])).splitlines() if ln.startswith(f"| {claim.text}"))
    line = next(ln for ln in table(_record([("F12", "x (continue, p=0.1)", False)])).splitlines()
                if ln.startswith(f"| {claim.text}"))
    assert "**deviates** (0/1 rows hold)" in line and claim.cause in line


def test_numbers_come_from_the_rows_not_the_wording():
    """rounds-gap reads the reference, the pooled offset and the count of p from each pooled F4 row."""
    data = _record([("F4", "STaR simulation ('continue') rounds to generalise = n*(p), offset pooled over 3 p (d=8)", False),
                    ("F4", "STaR simulation ('continue') rounds to generalise = n*(pi_0(L)), offset pooled over 3 p (d=8)",
                     True)])
    for r, meas in zip(data.record["figures"][0]["rows"], ("1.5 +- 0.3 (4 replicates per p)", "-0.25 +- 0.5")):
        r["measured"] = meas
    assert STATEMENTS["rounds-gap"](data) == ("Simulated STaR ('continue') takes 1.5 +- 0.3 rounds more than n*(p) "
                                              "and -0.25 +- 0.5 rounds more than n*(pi_0(L)), pooled over 3 values of p (F4).")
    with pytest.raises(ValueError, match="rounds-gap"):
        STATEMENTS["rounds-gap"](_record([]))


def test_unknown_statement_and_other_folders(tmp_path):
    with pytest.raises(ValueError, match="unknown statement 'nope'"):
        rewrite("<!-- generated:nope -->\nx\n<!-- /generated -->", _record([]))
    (tmp_path / "README.md").write_text("<!-- generated:report-counts -->\n<!-- /generated -->\n")
    out = tmp_path / "figs"
    out.mkdir()
    (out / "report.json").write_text(json.dumps({"figures": []}))
    assert rewrite_docs(out) == []                               # not a repository's figures/ folder
    assert (tmp_path / "README.md").read_text() == "<!-- generated:report-counts -->\n<!-- /generated -->\n"
    figs = tmp_path / "figures"
    figs.mkdir()
    (figs / "report.json").write_text(json.dumps({"figures": []}))
    assert rewrite_docs(figs) == [tmp_path / "README.md"]
    assert "checks 0 claims" in (tmp_path / "README.md").read_text()


def test_recorded_proofs_are_what_the_proofs_give():
    """The Prop 1 rows the README and REPORT quote, run now, equal the recorded table (sympy)."""
    from proofs import row_id, run_module
    rec = {p["id"]: p for p in _data().record["proofs"]["rows"]}
    for mod in ("regularisation_bias", "prop1_probability"):
        for r in run_module(mod):
            assert (rec[row_id(r)]["status"], rec[row_id(r)]["detail"]) == (r.status.value, r.detail), row_id(r)
    assert [rec[i]["status"] for i in ("9b", "10a", "9d", "10b")] == ["REFUTED", "REFUTED", "PROVED", "PROVED"]


def test_findings_module_is_registered():
    assert findings.KEY_NUMBERS and set(findings.KEY_NUMBERS) <= set(STATEMENTS)
