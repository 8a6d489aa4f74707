"""Tests of the sample-complexity measurement: ``python -m linparity samples``.

Reference values: the closed-form regularised optimum (closed_form.ntp_optimum; on the reduced
subspace every factor of pi(L(x)|x) equals its closed form, so the head log ratios vanish), the
collision formula for n uniform draws (derived: P(a given value is never drawn) = (1 - 2^-d)^n), and
Theorem 1 (p > 1/3: the calibrated model is already greedy-correct). No wall-clock assertions.
"""
from __future__ import annotations

import copy
import json
from itertools import product

from pathlib import Path

import numpy as np
import pytest

from linparity import closed_form as cf
from linparity import simulate as sim
from linparity.cli import main
from linparity.data import expected_distinct, sample_inputs
from linparity.experiments import ntp
from linparity.experiments import samples as sm

KEYS = ("d", "p_cot", "route", "variant", "budget", "total_samples_mean", "total_samples_se", "rounds_mean",
        "success_fraction", "distinct_inputs_mean", "tried", "seconds")


def _cli(argv, capsys):
    status = main([str(a) for a in argv])
    cap = capsys.readouterr()
    return status, cap.out, cap.err.strip().splitlines()


@pytest.mark.parametrize("route", ["full", "stats"])
def test_samples_cli_both_routes(route, capsys):
    """p = 0.6 > 1/3 at d = 3: both routes generalise at some budget <= the cap; the JSON has every key
    the issue asks for, and totals are B (1 + rounds)."""
    status, out, err = _cli(["samples", "--d", 3, "--p-cot", 0.6, "--route", route, "--replicates", 3,
                             "--cap", 4096, "--json"], capsys)
    assert status == 0, err
    res = json.loads(out)
    assert all(k in res for k in KEYS)
    assert res["route"] == route and res["variant"] == ("continue" if route == "full" else "optimum")
    assert res["success_fraction"] >= 0.9 and res["budget"] == res["tried"][-1][0]
    B = res["budget"]
    assert all(t is None or (t / B - 1) == int(t / B - 1) for t in res["totals"])
    assert 0 < res["distinct_inputs_mean"] <= 2 ** 3              # at most 2^3 distinct inputs exist at d = 3


def test_samples_cli_refit_variant_and_table(capsys):
    status, out, _ = _cli(["samples", "--d", 3, "--p-cot", 0.6, "--variant", "refit", "--replicates", 2,
                           "--cap", 4096], capsys)
    assert status == 0 and "refit" in out and "budget" in out


@pytest.mark.parametrize("argv, needle", [
    (["--d", 2, "--p-cot", 0.25], "d:"),
    (["--d", 5, "--p-cot", 1.5], "p-cot"),
    (["--d", 5, "--p-cot", 0.0], "p-cot"),
    (["--d", 5, "--p-cot", 0.2, "--route", "foo"], "route"),
    (["--d", 5, "--p-cot", 0.2, "--route", "stats", "--variant", "refit"], "variant"),
    (["--d", 5, "--p-cot", 0.2, "--variant", "sideways"], "variant"),
    (["--d", 5, "--p-cot", 0.2, "--replicates", 0], "replicates"),
    (["--d", 5, "--p-cot", 0.2, "--cap", 0], "cap"),
    (["--d", 5], "required"),
])
def test_samples_cli_bad_input_is_one_line_exit_2(argv, needle, capsys):
    status, out, err = _cli(["samples", *argv], capsys)
    assert status == 2 and out == "" and len(err) == 1 and needle in err[0], err


@pytest.mark.parametrize("argv, needles", [
    (["--d", 3, "--p-cot", 0.6, "--b0", 128, "--cap", 64], ["--cap", "--b0"]),
    (["--d", 3, "--p-cot", 0.6, "--replicates", 10 ** 12], ["--replicates:", "memory"]),
    (["--d", 3, "--p-cot", 0.6, "--replicates", "1e12"], ["--replicates", "integer"]),
    (["--d", 10 ** 6, "--p-cot", 0.5, "--route", "stats"], ["--d:", "would take"]),
    (["--d", 10 ** 6, "--p-cot", 0.5, "--route", "full"], ["--d:", "memory"]),
    (["--d", 32, "--p-cot", 0.001, "--cap", 2 ** 40], ["--cap:", "memory"]),
    (["--d", 32, "--p-cot", 0.001, "--cap", 2 ** 22, "--route", "stats", "--n-max", 10 ** 9], ["--n-max:"]),
    (["--d", 16, "--p-cot", 1e-300], ["--p-cot:"]),
    (["--d", 16, "--p-cot", 0.25, "--route", "stats", "--replicates", 10 ** 5], ["--replicates:", "would take"]),
    (["--d", 16, "--p-cot", 0.25, "--cap", 2 ** 53], ["--cap:"]),
    (["--d", 16, "--p-cot", 0.25, "--cap", 2 ** 53 + 1], ["--cap", "9007199254740992"]),
    (["--d", 16, "--p-cot", 0.25, "--b0", 0], ["--b0:"]),
    (["--d", 16, "--p-cot", 0.25, "--n-max", -1], ["--n-max:"]),
    (["--d", 16, "--p-cot", 0.25, "--seed", -1], ["--seed:"]),
    (["--d", 16, "--p-cot", "nan"], ["--p-cot:"]),
    (["--d", 16, "--p-cot", 0.25, "--variant", "optimum"], ["--variant"]),
])
def test_samples_sizes_refused_by_name_before_any_work(argv, needles, capsys, monkeypatch):
    """Sizes, constraints between options, memory (limit fixed at 2 GiB here) and time (1 h): one line
    naming the option as spelled, exit 2, before any budget is tried (no progress line on stderr)."""
    monkeypatch.setenv("LINPARITY_MAX_BYTES", str(2 * 2 ** 30))
    monkeypatch.delenv("LINPARITY_MAX_SECONDS", raising=False)
    monkeypatch.setattr(sm, "search_budget", lambda *a, **k: pytest.fail("work started"))
    status, out, err = _cli(["samples", *argv], capsys)
    assert status == 2 and out == "" and len(err) == 1 and err[0].startswith("error: "), err
    assert all(n in err[0] for n in needles), err
    assert "budget:" not in err[0] and "memory:" not in err[0] and "n:" not in err[0]


def test_samples_time_limit_is_forced_by_force(capsys, monkeypatch):
    """Above LINPARITY_MAX_SECONDS the search is refused naming the option; --force runs it."""
    monkeypatch.setenv("LINPARITY_MAX_SECONDS", "1e-9")
    argv = ["samples", "--d", 3, "--p-cot", 0.6, "--replicates", 2, "--cap", 64, "--json"]
    status, out, err = _cli(argv, capsys)
    assert status == 2 and "--force" in err[0]
    status, out, err = _cli(argv + ["--force"], capsys)
    assert status == 0 and json.loads(out)["tried"][0][0] == 8


@pytest.mark.parametrize("route", ["full", "stats"])
def test_no_budget_up_to_the_cap_reports_null_and_keeps_the_levels(route, capsys):
    """p = 0.01 at d = 8 cannot generalise at B = 8: the point reports budget null (and every number it
    cannot define as null), with the level it tried, exit 0; the sweep task stores inf as before."""
    argv = ["samples", "--d", 8, "--p-cot", 0.01, "--route", route, "--replicates", 2, "--cap", 8, "--json"]
    status, out, err = _cli(argv, capsys)
    assert status == 0, err
    res = json.loads(out, parse_constant=lambda c: pytest.fail(f"non-finite {c}"))
    assert res["budget"] is None and res["tried"] == [[8, 0.0]] and res["totals"] == [None, None]
    assert res["total_samples_mean"] is None and res["rounds_mean"] is None and res["success_fraction"] == 0.0
    rec = sm.samples_task({"d": 8, "p": 0.01, "route": route, "replicates": 2, "cap": 8}, np.random.default_rng(0))
    assert rec["budget"] == np.inf and np.isinf(rec["totals"]).all() and np.isnan(rec["total_samples_mean"])


def test_star_inputs_are_redrawn_exactly():
    """sample_kept draws a round's inputs first from the replicate's stream, so a copy of the stream
    redraws them (tests/test_streaming.py rebuilds streamed chunks this way; if the simulation changes
    its draw order, this fails)."""
    d, N = 7, 300
    W = sim.BatchedAR.from_reduced(cf.ntp_optimum(d, 0.2, ntp.default_lam(d)), d, 1)
    g = np.random.default_rng(11)
    X_copy = sample_inputs(N, d, copy.deepcopy(g))
    X, _, _, _ = sim.sample_kept(W, N, "cot", 1.0, [g])
    np.testing.assert_array_equal(X[0], X_copy)


def test_replicates_do_not_depend_on_R():
    """Replicate 0's numbers are the same alone and beside another replicate (numpy SPEC 7)."""
    d, p, lam = 4, 0.3, ntp.default_lam(4)
    g = lambda: np.random.SeedSequence(3).spawn(2)  # noqa: E731  (fresh: Generator.spawn advances a SeedSequence)
    one = sm.full_weight_level(d, p, lam, 256, 3, [np.random.default_rng(g()[0])], diagnose=True)
    two = sm.full_weight_level(d, p, lam, 256, 3, [np.random.default_rng(s) for s in g()], diagnose=True)
    for k in ("success", "rounds", "total", "distinct", "accuracy", "kept_long"):
        assert one[k][0] == two[k][0], k
    np.testing.assert_array_equal(one["start_log_ratio"][0], two["start_log_ratio"][0])


def test_distinct_counts_are_exact():
    """d = 3: at most 8 distinct inputs, all 8 after many draws. d = 70 (two 64-bit words per key):
    inputs of B (1 + rounds) draws are all distinct up to a collision probability ~ n^2 / 2^71."""
    lo = sm.full_weight_level(3, 0.6, ntp.default_lam(3), 512, 2, [np.random.default_rng(0)])
    assert lo["distinct"][0] == 8
    hi = sm.full_weight_level(70, 0.5, ntp.default_lam(70), 64, 1, [np.random.default_rng(1)], n_eval=4096)
    assert hi["distinct"][0] == 64 * (1 + hi["rounds"][0])


@pytest.mark.parametrize("d, n", [(2, 2), (3, 5), (5, 40)])
def test_expected_distinct_matches_enumeration(d, n):
    """E[#distinct] by enumerating every sequence of n draws from 2^d values (small cases), or the
    two-term identity sum_v P(v drawn) for (5, 40)."""
    if (2 ** d) ** n <= 10 ** 6:
        counts = [len(set(s)) for s in product(range(2 ** d), repeat=n)]
        ref = float(np.mean(counts))
    else:
        ref = 2 ** d * (1 - (1 - 2.0 ** -d) ** n)
    assert expected_distinct(d, n) == pytest.approx(ref, rel=1e-12)


def test_head_log_ratios_vanish_at_the_optimum():
    """On the reduced subspace each factor of pi(L(x)|x) equals its closed form at every x, so the
    log ratios to the optimum are 0 (rounding only); scaling the chain weights down makes the chain
    factor too small."""
    d, p = 6, 0.2
    th = cf.ntp_optimum(d, p, ntp.default_lam(d))
    X = sample_inputs(500, d, 0)
    np.testing.assert_allclose(sm.head_log_ratios(sim.BatchedAR.from_reduced(th, d), X, th), 0, atol=1e-12)
    th2 = th.copy()
    th2[3:] *= 0.5
    lr = sm.head_log_ratios(sim.BatchedAR.from_reduced(th2, d), X, th)[0]
    assert lr[2] < 0 and abs(lr[0]) < 1e-12 and abs(lr[1]) < 1e-12


def test_samples_task_is_deterministic_and_stats_distinct_is_expected():
    params = {"d": 4, "p": 0.6, "route": "stats", "replicates": 3, "cap": 512}
    a = sm.samples_task(params, np.random.default_rng(2))
    b = sm.samples_task(params, np.random.default_rng(2))
    np.testing.assert_array_equal(a["totals"], b["totals"])
    ok = np.isfinite(a["totals"])
    assert a["distinct_inputs_mean"] == pytest.approx(
        np.mean([expected_distinct(4, t if np.isfinite(t) else a["budget"] * (1 + a["n_max"]))
                 for t in a["totals"]]))
    assert ok.mean() >= 0.9


def test_search_budget_doubles_and_reports_the_level_below():
    """A fake level that succeeds from B = 64 on: tried 8..64, 'below' is the B = 32 level."""
    def run(B, gens):
        return {"success": np.full(len(gens), B >= 64), "B": B}
    s = sm.search_budget(run, np.random.default_rng(0), 5, b0=8, cap=1024)
    assert s["budget"] == 64 and [t[0] for t in s["tried"]] == [8, 16, 32, 64] and s["below"]["B"] == 32
    s = sm.search_budget(run, np.random.default_rng(0), 5, b0=8, cap=32)
    assert s["budget"] == np.inf


_SAMPLE_SPECS = sorted(p.name for p in (Path(__file__).resolve().parents[1] / "examples").glob("samples_*.toml"))


def test_every_issue_10_spec_is_checked():
    # the glob below must find the shipped specs (15 files in examples/, 14 of the samples task)
    assert len(_SAMPLE_SPECS) == 14


@pytest.mark.parametrize("name", _SAMPLE_SPECS)
def test_example_specs_load_and_name_the_samples_task(name):
    """Every shipped sample-complexity spec (examples/samples_*.toml) loads, names the registered task, and every
    point is a valid (route, d, p or kappa) of it (its d and lambda as the figures use: (0.01, 0.01, 0.01/d))."""
    from linparity.sweep import get_task, load_spec
    spec = load_spec(Path(__file__).resolve().parents[1] / "examples" / name)
    assert get_task(spec.task) is sm.samples_task
    for pt in spec.points:
        assert pt["route"] in sm.ROUTES and pt["d"] >= 3 and ("p" in pt) != ("kappa" in pt)
        assert pt["lam"] == pytest.approx(list(ntp.default_lam(pt["d"])))


@pytest.mark.parametrize("p, stop_error", [(0.2, 1.0), (0.5, 0.0)])
def test_head_errors_at_the_optimum(p, stop_error):
    """At the regularised optimum (reduced subspace) head 1 prefers x_1 (a > 0) and every chain head
    its bit (c_l > 0) on every input; the stop head stops after x_1 iff p < 1/3 (Theorem 1:
    the stop logit after y_1 = x_1 is 0 exactly at p = 1/3)."""
    d = 6
    th = cf.ntp_optimum(d, p, ntp.default_lam(d))
    err = sm.head_errors(sim.BatchedAR.from_reduced(th, d), sample_inputs(300, d, 1))[0]
    np.testing.assert_array_equal(err, [0.0, stop_error, 0.0])


def test_shipped_points_keep_finished_full_route_points(tmp_path):
    """A shipped sweep (examples/runs layout): full-route points of the asked replicate count come
    back with the task's result (reference: run_sweep's own stored result); a stats point, a point
    of another replicate count and an unfinished point (its files removed) are left out; a missing
    folder gives nothing."""
    from linparity.sweep import SweepSpec, load_results, run_sweep
    base = {"d": 3, "p": 0.6, "b0": 8, "cap": 64}
    pts = [dict(base, route="full", replicates=2), dict(base, route="stats", replicates=2),
           dict(base, route="full", replicates=3), dict(base, route="full", replicates=2, d=4)]
    spec = SweepSpec(task="linparity.samples", points=pts, replicates=1, seed=0, out=str(tmp_path / "ship"),
                     imports=["linparity.experiments"])
    run_sweep(spec, progress=False)
    for f in (tmp_path / "ship").glob("000003-*"):
        f.unlink()
    got = sm.shipped_full_points(["ship", "absent"], runs=tmp_path, replicates=2)
    assert [pt["d"] for pt, _ in got] == [3]
    stored = load_results(tmp_path / "ship", allow_missing=True).results[0][0]
    assert float(got[0][1]["budget"]) == float(stored["budget"])
    assert len(sm.shipped_full_points(["ship"], runs=tmp_path)) == 2     # any replicate count


@pytest.mark.parametrize("env, examples, expect", [
    ("folder", True, "folder"),            # LINPARITY_RUNS wins over the checkout's examples/runs
    ("folder", False, "folder"),           # an install without examples/: the variable is enough
    (None, True, "examples"),              # a checkout: the repository's examples/runs
    ("", True, "examples"),                # an empty variable counts as unset
    (None, False, "LINPARITY_RUNS"),       # an install without examples/ and no variable: say how
    ("", False, "LINPARITY_RUNS"),
    ("missing", True, "LINPARITY_RUNS"),   # a variable naming no folder is refused, not read as empty
    ("file", True, "LINPARITY_RUNS"),
])
def test_runs_dir_resolves_the_shipped_runs(env, examples, expect, tmp_path, monkeypatch):
    from linparity.experiments import samples_runs
    (tmp_path / "folder").mkdir()
    (tmp_path / "file").write_text("")
    (tmp_path / "repo" / "examples" / "runs").mkdir(parents=True)
    checkout = tmp_path / ("repo" if examples else "site-packages") / "examples" / "runs"
    monkeypatch.setattr(samples_runs, "EXAMPLE_RUNS", checkout)
    if env is None:
        monkeypatch.delenv("LINPARITY_RUNS", raising=False)
    else:
        monkeypatch.setenv("LINPARITY_RUNS", str(tmp_path / env) if env else "")
    if expect.startswith("LINPARITY_RUNS"):
        with pytest.raises(ValueError, match=r"LINPARITY_RUNS.*examples/runs"):
            sm.runs_dir()
        with pytest.raises(ValueError, match="LINPARITY_RUNS"):     # and so does every reader by default
            sm.shipped_full_points(["any"])
    else:
        assert sm.runs_dir() == (tmp_path / "folder" if expect == "folder" else checkout)


def test_readers_default_to_the_runs_dir(tmp_path, monkeypatch):
    """The readers' default ``runs`` is runs_dir(): a shipped sweep under $LINPARITY_RUNS is found
    without passing ``runs`` (reference: the same call with runs= given)."""
    from linparity import sweep
    from linparity.sweep import TASKS, SweepSpec, register_task, run_sweep
    monkeypatch.setattr(sweep.registry, "TASKS", dict(TASKS))
    register_task("fixed_budget")(lambda params, rng: {"budget": 16.0, "totals": np.array([32.0, 48.0]),
                                                      "p": 0.5, "n_max": 60.0})
    run_sweep(SweepSpec(task="fixed_budget", points=[{"route": "full", "d": 3, "p": 0.5, "b0": 8, "cap": 64}],
                        out=tmp_path / "ship"),
              progress=False)
    monkeypatch.setenv("LINPARITY_RUNS", str(tmp_path))
    got = sm.shipped_full_points(["ship"])
    assert [pt["d"] for pt, _ in got] == [3]
    assert got[0][1]["budget"] == 16.0
    assert sm.pooled_shipped_totals(["ship"]) == sm.pooled_shipped_totals(["ship"], runs=tmp_path) != []
    assert sm.smallest_totals(["ship"]) == sm.smallest_totals(["ship"], runs=tmp_path) != {}


def test_pooled_shipped_totals_pool_the_tasks_of_a_point(tmp_path):
    """A point split into sweep tasks (spec replicates = 2, as samples_d256_probe.toml) comes back
    with the totals of all its model replicates pooled (reference: the stored per-task totals,
    concatenated: mean and the standard error with ddof = 1); a stats point and a point with a
    task missing are left out."""
    from linparity.sweep import SweepSpec, load_results, run_sweep
    base = {"d": 3, "p": 0.6, "b0": 8, "cap": 4096, "replicates": 2}
    pts = [dict(base, route="full"), dict(base, route="stats"), dict(base, route="full", d=4)]
    spec = SweepSpec(task="linparity.samples", points=pts, replicates=2, seed=0, out=str(tmp_path / "ship"),
                     imports=["linparity.experiments"])
    run_sweep(spec, progress=False)
    for f in (tmp_path / "ship").glob("000005-*"):                 # point 2, task 1
        f.unlink()
    got = sm.pooled_shipped_totals(["ship", "absent"], runs=tmp_path)
    stored = load_results(tmp_path / "ship", allow_missing=True).results[0]
    t = np.concatenate([r["totals"] for r in stored])
    assert np.isfinite(t).all() and t.size == 4                    # each task at the budget it found
    assert got == [{"d": 3, "p": 0.6, "kappa": None, "n_max": float(stored[0]["n_max"]), "n": 4,
                    "mean": pytest.approx(t.mean(), rel=1e-15),
                    "budgets": sorted({float(r["budget"]) for r in stored}),
                    "se": pytest.approx(t.std(ddof=1) / 2, rel=1e-15)}]


def test_smallest_totals_take_the_cheapest_budget_that_reached_90_percent(tmp_path):
    """Every branch of smallest_totals on stored results with known totals (a task that returns its
    parameters' totals): a search task counts at the budget it found, each task on its own; a
    one-budget point (b0 = cap) pools its tasks and counts when >= 90% of the pooled replicates
    succeeded, with mean and se over those that did; settings by kappa or p; the smallest mean
    wins per d. Reference: the totals written into the points by hand (means by hand below)."""
    from linparity.sweep import SweepSpec, load_results, register_task, run_sweep

    @register_task("fixed_totals")
    def fixed_totals(params, rng):                   # None (JSON null) stands for inf: a failed replicate
        t = params["totals"][int(rng.integers(2))] if params.get("by_task") else params["totals"]
        return {"budget": np.inf if params["budget"] is None else float(params["budget"]),
                "totals": np.array([np.inf if x is None else x for x in t], float), "n_max": 60.0}

    inf = None
    pts = [  # d = 8, p = 0.5: search found 2^10 (mean 3072) -- one-budget 2^9 at 9/10 (mean of the 9: 1536)
        {"route": "full", "p": 0.5, "d": 8, "b0": 256, "cap": 4096, "budget": 1024, "totals": [2048, 4096]},
        {"route": "full", "p": 0.5, "d": 8, "b0": 512, "cap": 512, "budget": inf,
         "totals": [inf, 1024, 1536, 1536, 1536, 1536, 1536, 1536, 1536, 2048]},
        # d = 16, p = 0.5: one-budget 2^9 at 8/10 (left out: < 90%) -- search found 2^11 (mean 6144)
        {"route": "full", "p": 0.5, "d": 16, "b0": 512, "cap": 512, "budget": inf,
         "totals": [inf, inf, 1024, 1024, 1024, 1024, 1024, 1024, 1024, 1024]},
        {"route": "full", "p": 0.5, "d": 16, "b0": 256, "cap": 4096, "budget": 2048, "totals": [4096, 8192]},
        # kappa = 1, d = 8: a search that passed its cap (left out); a stats point (left out)
        {"route": "full", "kappa": 1.0, "d": 8, "b0": 256, "cap": 4096, "budget": inf, "totals": [inf, 8192]},
        {"route": "stats", "kappa": 1.0, "d": 8, "b0": 8, "cap": 64, "budget": 16, "totals": [32, 32]},
        {"route": "full", "kappa": 1.0, "d": 4, "b0": 8, "cap": 64, "budget": 16, "totals": [32, 48]}]
    spec = SweepSpec(task="fixed_totals", points=pts, replicates=1, seed=0, out=str(tmp_path / "ship"))
    run_sweep(spec, progress=False)
    got = sm.smallest_totals(["ship", "absent"], runs=tmp_path)
    nine = np.array([1024, 1536, 1536, 1536, 1536, 1536, 1536, 1536, 2048.0])   # the 9 successes
    assert list(got) == [("kappa", 1.0), ("p", 0.5)]
    assert got[("p", 0.5)] == [
        {"d": 8, "mean": pytest.approx(nine.mean(), rel=1e-15), "se": pytest.approx(nine.std(ddof=1) / 3, rel=1e-15), "budget": 512.0,
         "n_max": 60.0, "n": 10},
        {"d": 16, "mean": 6144.0, "se": pytest.approx(2048.0, rel=1e-15), "budget": 2048.0, "n_max": 60.0, "n": 2}]
    assert got[("kappa", 1.0)] == [{"d": 4, "mean": 40.0, "se": pytest.approx(8.0, rel=1e-15), "budget": 16.0,
                                    "n_max": 60.0, "n": 2}]
    # a one-budget point split into two sweep tasks is pooled; with one task missing it is left out
    two = SweepSpec(task="fixed_totals", points=[{"route": "full", "p": 0.5, "d": 8, "b0": 64, "cap": 64,
                                                  "budget": 64, "totals": [[64, 128], [192, 256]],
                                                  "by_task": True}],
                    replicates=2, seed=0, out=str(tmp_path / "two"))
    run_sweep(two, progress=False)
    t = np.concatenate([r["totals"] for r in load_results(tmp_path / "two").results[0]])
    assert sm.smallest_totals(["two"], runs=tmp_path)[("p", 0.5)][0]["mean"] == pytest.approx(t.mean(), rel=1e-15)
    assert sm.smallest_totals(["two"], runs=tmp_path)[("p", 0.5)][0]["n"] == 4
    for f in (tmp_path / "two").glob("000001-*"):                    # task 1: unfinished
        f.unlink()
    assert sm.smallest_totals(["two"], runs=tmp_path) == {}


def test_shipped_runs_use_the_figure_settings():
    """F5 fits the shipped full-weight points together with the ones it computes: every shipped
    point must be the same measurement (full route, 'continue', the figure's replicates, cap and
    lambdas, default round limit); only the first budget of the search may differ, and the cap may
    be higher than the figure's (a search that goes further; F5 draws a point that passed it at its
    own cap)."""
    from linparity.figures.scaling import FULL_CAP
    from linparity.figures.settings import FULL
    from linparity.sweep import load_spec
    for name in FULL.f5_shipped:
        spec = load_spec(sm.EXAMPLE_RUNS.parent / (name.replace("-", "_") + ".toml"))
        assert spec.out == sm.EXAMPLE_RUNS / name
        for pt in spec.points:
            assert (pt["route"], pt["variant"], pt["replicates"]) == ("full", "continue", FULL.f5_full_R)
            assert pt["cap"] >= FULL_CAP
            assert "n_max" not in pt and pt["lam"] == pytest.approx(list(ntp.default_lam(pt["d"])))


def test_full_level_refuses_what_does_not_fit(monkeypatch):
    """The level's memory is checked before anything is allocated (full_level_bytes counts its
    arrays; an earlier version was killed by the OS at d = 64, B = 2^20, R = 10): a limit below the
    estimate refuses by name, one above it runs."""
    need = sm.full_level_bytes(4, 64, 3)
    monkeypatch.setenv("LINPARITY_MAX_BYTES", str(need / 2))
    with pytest.raises(ValueError, match="budget: the request needs"):
        sm.full_weight_level(4, 0.6, (0.01, 0.01, 0.0025), 64, 3, [np.random.default_rng(0)] * 2)
    monkeypatch.setenv("LINPARITY_MAX_BYTES", str(need * 2))
    assert sm.full_weight_level(4, 0.6, (0.01, 0.01, 0.0025), 64, 3, [np.random.default_rng(0)] * 2)["success"].size == 2


def test_a_longer_round_limit_only_adds_successes():
    """The samples search's success is monotone in the round limit (what makes T_90 a floor within its
    limit, which a longer limit could only lower): on the same streams a replicate's rounds do not depend on
    the limit, so each replicate that generalises within 6 rounds does so within 9, in the same round.
    d = 8, T = 2048, N = 8192: the replicates need 5-8 rounds, so the limit 6 fails some and 9 none."""
    d, p, lam = 8, 0.25, (0.01, 0.01, 0.01 / 8)
    short, long = (sm.full_weight_level(d, p, lam, 2048, n, [np.random.default_rng(s) for s in range(12)],
                                        round_samples=8192) for n in (6, 9))
    assert 0 < short["success"].sum() < long["success"].sum()
    assert np.all(long["success"][short["success"]])
    np.testing.assert_array_equal(short["rounds"][short["success"]], long["rounds"][short["success"]])
