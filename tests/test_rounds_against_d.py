"""Tests of the rounds-against-d experiment (linparity.experiments.iteration) and F12.

References: the ideal recursion and Theorem 1 (derivation in test_map_takes_n_star_rounds), exact
straight lines and power laws (the fits), a seeded synthetic regression (its standard error), and the
censoring rule of examples/rounds_d.toml.
"""
from __future__ import annotations

import numpy as np
import pytest

from linparity import closed_form as cf
from linparity.experiments import iteration as it
from linparity.figures import iteration as fi
from linparity.figures.settings import QUICK
from linparity.sweep import load_spec


@pytest.mark.parametrize("params, name", [
    ({"d": 8, "p": 0.25, "epoch": 2, "N": 64}, "params"),                       # misspelt name
    ({"d": 8}, "params"),                                                         # p missing
    ({"d": 2, "p": 0.25, "N": 64}, "d"),
    ({"d": 8, "p": 0.0, "N": 64}, "p"),
    ({"d": 8, "p": 1.5, "N": 64}, "p"),
    ({"d": 8, "p": 0.25, "variant": "sgd", "N": 64}, "variant"),
    ({"d": 8, "p": 0.25, "variant": "map", "N": 64}, "variant"),                 # the map takes no N
    ({"d": 8, "p": 0.25, "variant": "map", "replicates": 10}, "variant"),
    ({"d": 8, "p": 0.25}, "N"),                                                   # neither N nor n_multiple
    ({"d": 8, "p": 0.25, "N": 64, "n_multiple": 2}, "N"),
    ({"d": 8, "p": 0.25, "N": 0}, "N"),
    ({"d": 8, "p": 0.25, "N": 64, "n_max": 0}, "n_max"),
    ({"d": 8, "p": 0.25, "N": 64, "replicates": 0}, "replicates"),
    ({"d": 8, "p": 0.25, "N": 64, "lr": -1.0}, "lr"),
    ({"d": 8, "p": 0.25, "N": 64, "epochs": 0}, "epochs"),
    ({"d": 8, "p": 0.25, "N": 64, "level": 1.5}, "level"),
    ({"d": 48, "p": 0.25, "n_multiple": 2}, "p, d"),                              # no measured floor there
    ({"d": 8, "p": 0.3, "n_multiple": 2}, "p, d"),
    ({"d": 8, "p": 0.25, "N": 2 ** 60}, "N"),                                     # does not fit in memory
])
def test_check_refuses_bad_params_by_name(params, name):
    with pytest.raises(ValueError, match=f"^{name}:"):
        it._check(params)


@pytest.mark.parametrize("p", [0.25, 0.1])
def test_map_takes_n_star_rounds(p):
    """Derivation: as lambda -> 0 the refit of every head is the NTP optimum on the kept mixture, whose
    long share follows the ideal recursion p_{n+1} = 2 p_n / (1 + p_n) (THEORY §6), and the greedy
    response of that optimum is right on every input iff p_n > 1/3 (Theorem 1), so greedy accuracy
    jumps from 1/2 to 1 at round n*(p): p = 0.25 -> p_1 = 0.4 (n* = 1); p = 0.1 -> 0.182, 0.308,
    0.471 (n* = 3; the closest margin 1/3 - 0.308 = 0.026 is far above the O(d lambda ln(1/lambda))
    finite-lambda shift at lambda = 1e-5, d = 4). Both maps (reduced and full-weight enumeration)."""
    r = it.iteration_task({"d": 4, "p": p, "variant": "map", "replicates": 1, "lam": [1e-5] * 3}, np.random.default_rng(0))
    assert r["rounds"].tolist() == [cf.n_star(p)] and not r["censored"][0]
    assert r["rounds_enum"] == cf.n_star(p)
    # the first gain is ln 2 up to finite-lambda effects: tolerance 0.02 for lambda = 1e-5 at d = 4
    assert r["gain"][0] == pytest.approx(np.log(2), abs=0.02)


def test_censored_replicates_are_counted_at_the_limit():
    """p = 0.1 cannot generalise in one round (p_1 = 0.18 < 1/3, Theorem 1): every replicate is censored
    at n_max = 1, stored as 1 round, and the verdict counts them."""
    r = it.iteration_task({"d": 5, "p": 0.1, "N": 256, "replicates": 3, "n_max": 1, "batch_size": 32, "lr": 0.5},
                          np.random.default_rng(1))
    assert r["rounds"].tolist() == [1.0, 1.0, 1.0] and r["censored"].all()
    assert r["pi_long"].shape == (3, 2) and np.isfinite(r["pi_long"]).all()
    sm = it.summarise({d: r for d in (8, 16, 32)})
    assert sm["n_censored"] == [3, 3, 3] and sm["passed"] is False     # slope 0, but censored: DEVIATION
    v = it.rounds_slope([8, 16, 32], [[2, 3], [2, 3], [2, 3]], [[False] * 2] * 3)
    assert v["slope"] == pytest.approx(0) and v["passed"] and v["n_censored"] == 0


def test_slope_fit_recovers_a_known_slope():
    """y = 2 + 0.7 x + N(0, 1) over x = ln d: the OLS slope is within 3 of its se of 0.7, and the se is
    sigma / sqrt(S_xx) with sigma = 1 within 10% (the residual variance over 600 points has relative se
    sqrt(2/598) = 6%)."""
    rng = np.random.default_rng(0)
    x = np.repeat(np.log([8, 16, 32, 64, 128, 256]), 100)
    y = 2 + 0.7 * x + rng.standard_normal(x.size)
    slope, se = it.slope_fit(x, y)
    assert abs(slope - 0.7) <= 3 * se
    assert se == pytest.approx(1 / np.sqrt(np.sum((x - x.mean()) ** 2)), rel=0.1)
    # exact lines: weighted fit and the power law of the gain
    assert it.slope_fit([1, 2, 3], [1, 3, 5], se=[1, 1, 2])[0] == pytest.approx(2)
    a, a_se = it.gain_exponent([8, 16, 32, 64], 3 * np.array([8, 16, 32, 64]) ** -0.5, [0.01] * 4)
    assert a == pytest.approx(0.5) and a_se > 0
    with pytest.raises(ValueError, match="^x:"):
        it.slope_fit([1, 1, 1], [1, 2, 3])


def test_settings_round_trip_and_spec_points():
    """Every point of the shipped spec is a named setting (setting_of inverts point) and passes the check."""
    spec = load_spec(it.EXAMPLE_SPEC)
    names = set()
    for pt in spec.point_list():
        it._check(dict(pt))
        name = it.setting_of(pt)
        assert {**it._DEFAULTS, **it.point(name, pt["d"], pt["p"])} == {**it._DEFAULTS, **pt}
        names.add(name)
    assert names == {*it.SETTINGS, it.REMEDY}


def test_f12_quick(tmp_path):
    """F12 in --quick: the exact map PASSes at d = 8, 16, 32 (n* rounds at every d); the simulated variants,
    computed at one d only, are SKIPPED with the reason; the figure and finding text are written."""
    res = fi.f12(QUICK, np.random.SeedSequence(0, spawn_key=(13,)), tmp_path)
    verdicts = {r.claim: r.verdict for r in res.rows}
    assert [v for c, v in verdicts.items() if "exact map" in c] == ["PASS", "PASS"]
    assert all(v == "SKIPPED" for c, v in verdicts.items() if "exact map" not in c)
    assert (tmp_path / "F12_rounds_d.png").exists()
    table = it.collect((pt, recs[0]) for pt, recs in _stored(tmp_path))
    assert "Algorithm 1" in fi.finding_text(table)


def _stored(out):
    from linparity.sweep import load_results
    res = load_results(out / "sweeps" / "F12-quick")
    return zip(res.points, res.results)
