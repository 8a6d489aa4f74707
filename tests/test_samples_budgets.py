"""Tests of the samples search's decoupled budgets, budget grid and B90 fit (``samples --grid``,
``--pretrain-samples``, ``--round-samples``; linparity.experiments.samples_fit).

References: the logistic maximum-likelihood estimate on expected counts n P(B) equals the true
parameters (derivation: the score equations sum_i (n_i P_i - s_i) (1, ln B_i) = 0 hold at the truth when
s_i = n_i P_i); the half-counts' pull on it to first order (derivation in ``_pull``); the coverage of a
95% interval is a binomial proportion over seeded repeats.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.special import expit, logit

from linparity.cli import main
from linparity.experiments import samples as sm
from linparity.experiments.samples_fit import fit_b90

#: a success curve P(B) = sigma(logit 0.9 + 2 (ln B - ln 1000)) on budgets 2^(k/2), 256..4096
TRUE_B90, SLOPE = 1000.0, 2.0
GRID = 2.0 ** (np.arange(16, 25) / 2)
P_TRUE = expit(logit(0.9) + SLOPE * (np.log(GRID) - np.log(TRUE_B90)))


def _cli(argv, capsys):
    status = main([str(a) for a in argv])
    cap = capsys.readouterr()
    return status, cap.out, cap.err.strip().splitlines()


def test_b90_recovers_the_crossing_from_expected_counts():
    """Expected counts (20 replicates a budget): the maximum-likelihood fit is the true curve, so B90 is
    the true crossing and the slope the true slope (rounding only), inside its own interval."""
    fit = fit_b90(np.c_[GRID, 20 * P_TRUE, np.full(GRID.size, 20)])
    assert fit["b90"] == pytest.approx(TRUE_B90, rel=1e-6) and fit["b90_slope"] == pytest.approx(SLOPE, rel=1e-6)
    lo, hi = fit["b90_ci"]
    assert lo < TRUE_B90 < hi and fit["b90_reason"] is None


def test_b90_interval_covers_the_truth_at_its_level():
    """200 seeded binomial curves from the true P(B), 20 replicates a budget: the 95% profile-likelihood
    interval covers the true B90 in a fraction within 3 binomial se (sqrt(0.95 0.05 / 200) = 0.015) of
    0.95; none of these curves is degenerate."""
    rng, M, cover = np.random.default_rng(2026), 200, 0
    for _ in range(M):
        fit = fit_b90(np.c_[GRID, rng.binomial(20, P_TRUE), np.full(GRID.size, 20)])
        assert fit["b90"] is not None, fit["b90_reason"]
        lo, hi = fit["b90_ci"]
        cover += (lo is None or lo <= TRUE_B90) and (hi is None or TRUE_B90 <= hi)
    assert abs(cover / M - 0.95) <= 3 * np.sqrt(0.95 * 0.05 / M)


def _pull(n, c):
    """First-order pull of ln B90 by c pseudo-counts on the expected counts n P(B) (derivation): at the plain
    fit (the truth, where s = n P) the smoothed score is U = c sum_k (1 - 2 P_k) (1, ln B_k), so (a, b) move
    by I^-1 U, I = sum_k (n + 2c) P_k (1 - P_k) (1, ln B_k)(1, ln B_k)^T, and ln B90 = (logit 0.9 - a) / b
    by -(da + ln B90 db) / b."""
    X = np.c_[np.ones(GRID.size), np.log(GRID)]
    da, db = np.linalg.solve(X.T @ (((n + 2 * c) * P_TRUE * (1 - P_TRUE))[:, None] * X), c * X.T @ (1 - 2 * P_TRUE))
    return -(da + np.log(TRUE_B90) * db) / SLOPE


@pytest.mark.parametrize("n", [5, 20, 200, 2000, 10 ** 6])
def test_half_counts_pull_b90_by_the_derived_amount(n):
    """The two settings on one non-separated curve (expected counts, n replicates a budget): plain maximum
    likelihood gives the truth, the half-counts flatten the slope and move ln B90 by the first-order pull
    of :func:`_pull` (+0.77 at n = 5, +4.6e-6 at n = 10^6), up to the second-order remainder, bounded by
    pull^2 (measured: 0.01 to 0.15 pull^2)."""
    curve = np.c_[GRID, n * P_TRUE, np.full(GRID.size, n)]
    plain, half = fit_b90(curve), fit_b90(curve, smoothing=0.5)
    pull, pred = np.log(half["b90"] / plain["b90"]), _pull(n, 0.5)
    assert plain["b90"] == pytest.approx(TRUE_B90, rel=1e-9) and half["b90_slope"] < plain["b90_slope"]
    assert pred > 0 and abs(pull - pred) <= pred ** 2


def test_half_counts_recover_the_crossing_of_a_noiseless_curve():
    """n = 10^6 expected counts a budget: the half-counts' pull is 4.6e-6 in ln B90 (:func:`_pull`), so B90 is
    the true crossing to 1e-5 and inside the grid; its interval is the bootstrap's (none here)."""
    fit = fit_b90(np.c_[GRID, 1e6 * P_TRUE, np.full(GRID.size, 1e6)], smoothing=0.5)
    assert fit["b90"] == pytest.approx(TRUE_B90, rel=1e-5) and fit["where"] == "inside"
    assert fit["b90_ci"] == [None, None] and fit["b90_reason"] is None


@pytest.mark.parametrize("curve, where", [([[1, 0, 20], [2, 0, 20], [4, 1, 20]], "above"),
                                          ([[1, 20, 20], [2, 20, 20]], "below"),
                                          ([[1, 20, 20], [2, 10, 20], [4, 0, 20]], "below")])   # slope < 0
def test_half_counts_give_no_b90_outside_the_grid_and_name_the_side(curve, where):
    fit = fit_b90(curve, smoothing=0.5)
    assert fit["b90"] is None and fit["where"] == where and "not extrapolated" in fit["b90_reason"]


@pytest.mark.parametrize("smoothing", [0.0, 0.5])
def test_one_budget_has_no_b90_at_either_setting(smoothing):
    fit = fit_b90([[8, 5, 10]], smoothing=smoothing)
    assert fit["b90"] is None and fit["where"] is None and "one budget" in fit["b90_reason"]


@pytest.mark.parametrize("curve, reason", [
    ([[8, 10, 10], [16, 10, 10]], "every replicate succeeded"),
    ([[8, 0, 10], [16, 0, 10]], "no replicate succeeded"),
    ([[8, 0, 10], [16, 10, 10]], "separated"),
    ([[8, 0, 10], [16, 4, 10], [32, 10, 10]], "separated"),       # quasi-complete: no finite maximum
    ([[8, 5, 10]], "one budget"),
    ([[8, 8, 10], [16, 5, 10], [32, 2, 10]], "not positive"),
])
def test_degenerate_curves_give_no_b90_and_say_why(curve, reason):
    fit = fit_b90(curve)
    assert fit["b90"] is None and fit["b90_ci"] == [None, None] and reason in fit["b90_reason"]


@pytest.mark.parametrize("kw, name", [(dict(curve=[[8, 11, 10]]), "curve:"), (dict(curve=[[0, 1, 2]]), "curve:"),
                                      (dict(curve=[[8, -1, 2]]), "curve:"), (dict(curve=[[8, 1]]), "curve:"),
                                      (dict(curve=[]), "curve:"), (dict(curve=[[8, np.nan, 2]]), "curve:"),
                                      (dict(smoothing=-0.5), "smoothing:"), (dict(smoothing=np.nan), "smoothing:"),
                                      (dict(smoothing="half"), "smoothing:"), (dict(target=1.0), "target:")])
def test_bad_arguments_are_refused_by_name(kw, name):
    with pytest.raises(ValueError, match=name):
        fit_b90(**{"curve": [[8, 1, 2], [16, 2, 2]], **kw})


@pytest.mark.parametrize("route", ["full", "stats"])
@pytest.mark.parametrize("fixed", ["pretrain_samples", "round_samples"])
def test_a_fixed_size_holds_at_every_level(route, fixed, monkeypatch):
    """T (or N) fixed: every level runs with it, the other size is the level's budget B; totals are
    T + N rounds; the JSON reports the fixed size and null for the searched one, and p T."""
    calls, level = [], {"full": sm.full_weight_level, "stats": sm.stats_level}[route]

    def spy(d, p, lam, T, n_max, gens, *a, round_samples=None, **k):
        calls.append((T, round_samples))
        return level(d, p, lam, T, n_max, gens, *a, round_samples=round_samples, **k)
    monkeypatch.setattr(sm, {"full": "full_weight_level", "stats": "stats_level"}[route], spy)
    res = sm.samples_search(3, 0.6, route, replicates=2, rng=1, budgets=[8, 16, 32], **{fixed: 24})
    want = [(24, B) if fixed == "pretrain_samples" else (B, 24) for B in (8, 16, 32)]
    assert calls == want and [c[0] for c in res["success_curve"]] == [8, 16, 32]
    other = "round_samples" if fixed == "pretrain_samples" else "pretrain_samples"
    assert res[fixed] == 24 and res[other] is None
    if res["budget"] is not None:
        T, N = (24, res["budget"]) if fixed == "pretrain_samples" else (res["budget"], 24)
        assert res["long_pretrain_samples"] == pytest.approx(0.6 * T)
        assert all(t is None or (t - T) / N == int((t - T) / N) for t in res["totals"])


def test_both_sizes_fixed_run_one_level():
    res = sm.samples_search(3, 0.6, "stats", replicates=3, rng=0, pretrain_samples=64, round_samples=32)
    assert [c[0] for c in res["success_curve"]] == [32] and res["success_curve"][0][2] == 3
    assert res["b90"] is None and "one budget" in res["b90_reason"]


def test_grid_runs_every_budget_with_the_doubling_search_children():
    """A grid runs every budget with all replicates (no early stop); level k gets the same children as
    the doubling search's level k, so the shared levels agree exactly."""
    grid = sm.samples_search(4, 0.6, "stats", replicates=4, rng=5, budgets=[8, 16, 32, 64, 128])
    dbl = sm.samples_search(4, 0.6, "stats", replicates=4, rng=5, b0=8, cap=128)
    assert [c[0] for c in grid["success_curve"]] == [8, 16, 32, 64, 128]
    assert grid["success_curve"][:len(dbl["success_curve"])] == dbl["success_curve"]
    assert grid["budget"] == dbl["budget"]
    assert all(len(r) == 3 for r in grid["rounds_curve"])


def test_rounds_mean_and_se_are_over_the_successful_replicates(monkeypatch):
    """A fake level (rounds 1, 2, 3 for three successes, one failure at n_max = 9): rounds_mean 2 and
    rounds_se = std(ddof 1)/sqrt(3) = 1/sqrt(3), by hand."""
    def fake(d, p, lam, T, n_max, gens, *a, round_samples=None, **k):
        return {"success": np.array([True, True, True, False]), "rounds": np.array([1, 2, 3, 9]),
                "total": np.array([T + round_samples, T + 2 * round_samples, T + 3 * round_samples, np.inf]),
                "distinct": np.zeros(4)}
    monkeypatch.setattr(sm, "stats_level", fake)
    res = sm.samples_search(3, 0.6, "stats", replicates=4, rng=0, budgets=[8], frac=0.75)
    assert res["rounds_mean"] == 2 and res["rounds_se"] == pytest.approx(1 / np.sqrt(3), rel=1e-12)
    assert res["success_curve"] == [[8, 3, 4]] and res["rounds_curve"] == [[8, 2.0, pytest.approx(1 / np.sqrt(3))]]


@pytest.mark.parametrize("argv, needles", [
    (["--grid", "8,16", "--b0", 8], ["--b0:", "--grid"]),
    (["--grid", "8,16", "--cap", 64], ["--cap:", "--grid"]),
    (["--grid", "16,8"], ["--grid:", "increasing"]),
    (["--grid", "8,8"], ["--grid:", "increasing"]),
    (["--grid", "8,,16"], ["--grid:"]),
    (["--grid", "8,0"], ["--grid:"]),
    (["--pretrain-samples", 8, "--round-samples", 8, "--grid", "8,16"], ["--grid:", "both"]),
    (["--pretrain-samples", 8, "--round-samples", 8, "--b0", 8], ["--b0:"]),
    (["--pretrain-samples", 0], ["--pretrain-samples:"]),
    (["--round-samples", "1e3"], ["--round-samples:"]),
    (["--lam-chain", 0], ["--lam-chain:"]),
    (["--lam1", 10], ["--lam1:", "lr"]),                       # the 'continue' step's decay limit
    (["--round-samples", 2 ** 52, "--cap", 8], ["--round-samples:"]),
])
def test_bad_combinations_are_refused_by_name_before_any_work(argv, needles, capsys, monkeypatch):
    monkeypatch.setenv("LINPARITY_MAX_BYTES", str(2 * 2 ** 30))
    monkeypatch.setattr(sm, "search_budget", lambda *a, **k: pytest.fail("work started"))
    status, out, err = _cli(["samples", "--d", 3, "--p-cot", 0.6, "--replicates", 2, *argv], capsys)
    assert status == 2 and out == "" and len(err) == 1 and err[0].startswith("error: "), err
    assert all(n in err[0] for n in needles), err


def test_cli_passes_the_lambdas_and_sizes(capsys):
    status, out, err = _cli(["samples", "--d", 3, "--p-cot", 0.6, "--replicates", 2, "--route", "stats",
                             "--lam-chain", 0.002, "--pretrain-samples", 32, "--grid", "8,16", "--json"], capsys)
    assert status == 0, err
    res = json.loads(out)
    assert res["lam"] == [0.01, 0.01, 0.002] and res["pretrain_samples"] == 32 and res["round_samples"] is None
    assert [c[0] for c in res["success_curve"]] == [8, 16]


def test_the_sweep_task_stores_every_new_key_as_an_array(tmp_path):
    """The task's result goes through the sweep store (no object arrays): the curves (k, 3), the interval
    (2,), the lambdas (3,), nan for the searched size, and the reason as a string."""
    from linparity.sweep import SweepSpec, load_results, run_sweep
    pt = {"d": 3, "p": 0.6, "route": "stats", "replicates": 2, "budgets": [8, 16, 32], "round_samples": 16,
          "lam": [0.01, 0.01, 0.003]}
    run_sweep(SweepSpec(task="linparity.samples", points=[pt], out=str(tmp_path / "s"),
                        imports=["linparity.experiments"]), progress=False)
    r = load_results(tmp_path / "s").results[0][0]
    assert r["success_curve"].shape == (3, 3) and r["rounds_curve"].shape == (3, 3)
    assert r["b90_ci"].shape == (2,) and r["lam"].tolist() == [0.01, 0.01, 0.003]
    assert np.isnan(r["pretrain_samples"]) and r["round_samples"] == 16
    assert r["b90_reason"].dtype.kind == "U" and (str(r["b90_reason"]) == "") == np.isfinite(r["b90"])
