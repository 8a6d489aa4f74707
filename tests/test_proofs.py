"""The symbolic proofs of ``proofs/`` and the honesty of their harness.

Reference values: each claim module derives its claim with sympy and evaluates it exactly
(rationals / mpmath at 50 digits) against linparity's closed forms; see ``python -m proofs``.
"""
import subprocess
import sys

import numpy as np
import pytest
import sympy as sp
from scipy.special import expit

from linparity import closed_form as cf

import proofs.__main__ as proofs_main
import proofs
from proofs import CLAIM_MODULES, CLAIM_ROWS, Result, Status, row_id, run_module
from proofs._report import agree, all_true, grid_zero, refute, settle, zero

@pytest.mark.parametrize("name", CLAIM_MODULES)
def test_claim_module(name):
    """No row of any claim module is FAILED; a REFUTED row (a statement of the source shown false)
    prints its counterexample. Which rows are REFUTED is carried by the verdicts themselves."""
    results = run_module(name)
    assert results and all(isinstance(r, Result) for r in results)
    assert sorted({row_id(r) for r in results}) == sorted(CLAIM_ROWS[name])   # what --only accepts
    failed = {row_id(r): r.detail for r in results if r.status is Status.FAILED}
    assert not failed, failed
    for r in results:
        if r.status is Status.REFUTED:
            assert r.detail.startswith("counterexample: "), r


def test_modules_are_small_and_state_their_claim():
    import importlib, inspect
    for name in CLAIM_MODULES:
        mod = importlib.import_module(f"proofs.{name}")
        doc = (mod.__doc__ or "").strip()
        assert doc and "\n" not in doc, f"{name}: needs a one-sentence docstring"
        assert len(inspect.getsource(mod).splitlines()) <= 85, name


def test_none_is_never_proved():
    x = sp.Symbol("x", real=True)
    assert zero(x) is None                                  # sympy cannot decide: x may be 0
    r = settle("t", zero(x), [], "grid")
    assert r.status is Status.CHECKED and "None" in r.detail
    assert all_true(True, None) is None and all_true(True, sp.true) is True and all_true(None, False) is False
    assert settle("t", sp.true, [], "").status is Status.PROVED
    assert settle("t", False, [], "").status is Status.FAILED


def test_deliberately_false_claim_is_failed_with_counterexample():
    # False claim: "a* = 2 ln((1+p)/(1-p)) minimises f_1" (the true optimum is ln((1+p)/(1-p))).
    from proofs.lemma1_head1 import a, a_star, f1, o
    g = sp.diff(f1, a).subs(a, 2 * a_star)
    r = settle("false", zero(g), grid_zero(g, [{o: sp.Rational(1, 3)}, {o: 1}], "f_1'(2a*)"), "p grid")
    assert r.status is Status.FAILED and "counterexample" in r.detail and "f_1'(2a*)" in r.detail
    # a library value that drifts from the exact one is a counterexample too
    assert agree("x", 0.5 + 1e-6, sp.Rational(1, 2), "here") is not None
    assert agree("x", 0.5, sp.Rational(1, 2), "here") is None


def test_crashing_proof_is_failed():
    [r] = run_module("no_such_claim")
    assert r.status is Status.FAILED and "raised" in r.detail


def test_main_exit_code(monkeypatch, capsys):
    ok = [Result("a", Status.PROVED, ""), Result("b", Status.CHECKED, ""), Result("r", Status.REFUTED, "cx")]
    monkeypatch.setattr(proofs_main, "run_all", lambda only=None: ok)
    assert proofs_main.main([]) == 0                       # REFUTED is an expected outcome, not a failure
    monkeypatch.setattr(proofs_main, "run_all", lambda only=None: ok + [Result("c", Status.FAILED, "cx")])
    assert proofs_main.main([]) == 1
    out = capsys.readouterr().out
    assert "claim" in out and "| FAILED  |" in out and "1 REFUTED, 1 FAILED" in out


def test_failed_row_injected_through_run_module_gives_exit_1(monkeypatch, capsys):
    """The real run_all path: a claim module that yields a FAILED row makes main return 1."""
    calls = []

    def fake(name):
        calls.append(name)
        return [Result("1a injected", Status.FAILED, "counterexample: injected")]

    monkeypatch.setattr(proofs, "run_module", fake)
    assert proofs_main.main(["--only", "1"]) == 1
    assert calls == ["lemma1_head1"] and "injected" in capsys.readouterr().out
    monkeypatch.setattr(proofs, "run_module", lambda name: [Result("1a x", Status.REFUTED, "counterexample: c")])
    assert proofs_main.main(["--only", "1a"]) == 0


def test_only_selects_rows_and_reports_missing_ones(monkeypatch):
    calls = []
    monkeypatch.setattr(proofs, "run_module", lambda name: calls.append(name) or
                        [Result("9a x", Status.PROVED, ""), Result("9b y", Status.REFUTED, "counterexample: c")])
    got = proofs.run_all(["9b", "regularisation_bias", "9c"])
    assert calls == ["regularisation_bias"]                 # each module runs once
    assert [row_id(r) for r in got] == ["9a", "9b"]         # the whole module was asked for
    got = proofs.run_all(["9b", "9c"])                      # 9c is a row of claim 9 its module lost
    assert [(row_id(r), r.status) for r in got] == [("9b", Status.REFUTED), ("9c", Status.FAILED)]
    with pytest.raises(ValueError, match="--only"):
        proofs.select("11")


@pytest.mark.parametrize("only", ["9z", "9B", "09b", "09", "8a", "0", "1a,9z", "10c", "lemma1", " 9b"])
def test_unknown_only_row_is_a_usage_error_before_running(only, monkeypatch, capsys):
    """An --only selector that names no row of the table: one line naming --only and the selector,
    exit 2, no table, and no claim module run."""
    def boom(*a, **k):
        raise AssertionError("a usage error must not run any proof")
    monkeypatch.setattr(proofs, "run_module", boom)
    assert proofs_main.main(["--only", only]) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1
    assert "--only" in err and "unknown row" in err


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_runs_nothing_and_exits_0(flag, monkeypatch, capsys):
    def boom(*a, **k):
        raise AssertionError("--help must not run any proof")
    monkeypatch.setattr(proofs_main, "run_all", boom)
    monkeypatch.setattr(proofs, "run_module", boom)
    assert proofs_main.main([flag]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: python -m proofs") and "--only" in out and "PROVED  |" not in out


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "proofs", *args], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("args", [["--bogus"], ["--only"], ["--only", "11"], ["--only=9q2"], ["-x"]])
def test_cli_usage_error_one_line_exit_2(args):
    r = run_cli(*args)
    assert r.returncode == 2 and r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr


def test_cli_help_and_refuted_rows_exit_0():
    r = run_cli("--help")
    assert r.returncode == 0 and r.stdout.startswith("usage:") and "| PROVED" not in r.stdout
    r = run_cli("--only", "9b,10")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "| REFUTED | counterexample: at p=1/2, d=5, lam1=10, T=10000, delta=1/10" in r.stdout
    assert "0 FAILED" in r.stdout and "2 REFUTED" in r.stdout


def test_refute_verdicts():
    """REFUTED needs a verified violation and no drift; anything else is our failure (FAILED)."""
    r = refute("s", ["x = 2 > bound 1"], [None], "how")
    assert r.status is Status.REFUTED and r.detail.startswith("counterexample: x = 2 > bound 1")
    assert refute("s", ["", None], [None], "how").status is Status.FAILED          # counterexample did not hold
    r = refute("s", ["x = 2 > bound 1"], ["library drifts"], "how")
    assert r.status is Status.FAILED and "library drifts" in r.detail


# ---------------------------------------------------------------- Prop 1 (rows 9b, 9e, 10a, 10b)
def stated_by_hand(p, d, lam1, T, delta):
    """THEORY §5's Prop 1 bounds, typed from its text: (logit form, probability form)."""
    r = np.sqrt((1 + np.log(T)) / (delta * T))
    a_star = np.log((1 + p) / (1 - p))
    return 2 * d / lam1 * r + 4 * a_star / ((1 - p * p) * lam1), d / (2 * lam1) * r + a_star / ((1 - p * p) * lam1)


def test_refuted_counterexample_violates_both_stated_forms():
    """At the printed counterexample, recomputed from closed_form.head1_optimum (root finding, brentq
    xtol 1e-15) and by hand: the exact optimum (T -> inf) and the every-run floors (lemma 9e) exceed
    both stated bounds, and the row prints these numbers."""
    from proofs._head1 import CX
    p, d, lam1, T, delta = float(CX["p"]), CX["d"], float(CX["lam1"]), CX["T"], float(CX["delta"])
    assert (p, d, lam1, T, delta) == (0.5, 5, 10.0, 10_000, 0.1)
    logit_bound, prob_bound = stated_by_hand(p, d, lam1, T, delta)
    a = cf.head1_optimum((1 + p) / 2, lam1)
    a_star = np.log((1 + p) / (1 - p))
    assert a_star - a > logit_bound + 0.3                    # 1.0742 vs 0.6870
    assert abs(expit(a) - (1 + p) / 2) > prob_bound + 0.05   # 0.2439 vs 0.1717
    floor_logit, floor_prob = a_star - 1 / lam1, (1 + p) / 2 - expit(1 / lam1)
    assert floor_logit > logit_bound and floor_prob > prob_bound
    rows = {row_id(r): r for r in run_module("regularisation_bias") + run_module("prop1_probability")}
    assert rows["9b"].status is Status.REFUTED and rows["10a"].status is Status.REFUTED
    assert rows["9e"].status is Status.PROVED and rows["9d"].status in (Status.PROVED, Status.CHECKED)
    assert rows["10b"].status in (Status.PROVED, Status.CHECKED)
    for rid, bound, floor, exact in (("9b", logit_bound, floor_logit, a_star - a),
                                     ("10a", prob_bound, floor_prob, abs(expit(a) - (1 + p) / 2))):
        det = rows[rid].detail
        assert f"stated bound {bound:.4f} < {floor:.4f}" in det and f"(T -> inf) {exact:.4f}" in det, det


def test_counterexample_holds_for_simulated_algorithm3():
    """Simulation route: Algorithm 3 (linparity.simulate.ntp, batch 1, 2 replicates, seed 0) at the
    counterexample point obeys lemma 9e and breaks both stated Prop 1 bounds. No tolerance: the
    lemma and the floors hold for every run, so any seed must show it."""
    from linparity.data import all_inputs
    from linparity.simulate import pretrain
    from linparity.theory import prop1_bound, prop1_errors
    p, d, lam1, T = 0.5, 5, 10.0, 10_000
    res = pretrain(d, p, T, lam1=lam1, lam2a=0.01, lam_chain=0.01, rng=0, replicates=2)
    b = prop1_bound(d, p, lam1, T, 0.1)
    for m in res.models_:
        assert np.abs(m.w1).max() <= 1 / lam1
        e = prop1_errors(m, p, all_inputs(d))
        assert e["logit"] > b["bound"] and e["prob"] > b["prob_bound"]
        # the corrected forms hold here too (loosely: at lam1 = 10 the corrected bias terms are 58.6 and 14.6)
        assert e["logit"] <= b["bound_corrected"] and e["prob"] <= b["prob_bound_corrected"]
