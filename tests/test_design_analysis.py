"""The designed experiment's analysis (linparity.experiments.design) on synthetic curves of known exponent.

Synthetic data: success at budget B and input size d is Bernoulli(sigma(k ln(B / b90(d)) + logit 0.9))
with b90(d) = c d^s, so the true b90 and exponent s are known; the curves are drawn with a fixed seed.
"""
import numpy as np
import pytest

from linparity.experiments import design as D
from linparity.experiments.samples_fit import bootstrap_b90, fit_b90

GRID = 2.0 ** (np.arange(0, 17) / 2)          # 2^(k/2), 1 .. 256


def _curve(b90, R, rng, k=4.0, scale=1.0):
    B = GRID * scale
    pr = 1 / (1 + np.exp(-(k * np.log(B / b90) + np.log(9))))
    return np.column_stack([B, rng.binomial(R, pr), np.full(B.size, R)])


def _b90(c):
    return fit_b90(c, smoothing=D.JEFFREYS)["b90"]


def test_half_counts_recover_the_crossing_of_binomial_draws():
    """R = 10^6: the counts are the probabilities to 1e-3 (se sqrt(0.25/1e6) = 5e-4), so b90 is the true one
    to well under 1% (the Jeffreys half-counts move it by O(1/R))."""
    f = fit_b90(_curve(23.0, 10 ** 6, np.random.default_rng(0)), smoothing=D.JEFFREYS)
    assert f["where"] == "inside" and f["b90"] == pytest.approx(23.0, rel=5e-3)
    assert f["b90_slope"] == pytest.approx(4.0, rel=5e-3)


@pytest.mark.parametrize("bad, match", [([[1, 21, 20], [2, 0, 20]], "curve:"), ([[0, 1, 2], [1, 1, 2]], "curve:"),
                                        ([[1, 5, 20]], "curves:")])                 # one budget: no resample fits
def test_bootstrap_refuses_bad_curves(bad, match):
    with pytest.raises(ValueError, match=match):
        bootstrap_b90([bad], 10, 0)


def test_outside_the_grid_is_none_and_masked_never_nan():
    """d = 16's curve never reaches 90% (b90 'above' the grid): floor_fit gives None there, every resample
    of it is masked, the exponent uses the two other d, and no public number is NaN."""
    rng = np.random.default_rng(5)
    pts = [({"p": 0.25, "d": d}, {"p": 0.25, "round_samples": 1000.0, "rounds_mean": 5.0, "rounds_se": 0.5,
                                  "lam": [0.01, 0.01, 0.01 / d], "success_curve": c})
           for d, c in ((8, _curve(30, 20, rng, scale=2)), (32, _curve(300, 20, rng, scale=20)),
                        (16, np.c_[GRID, np.zeros(GRID.size), np.full(GRID.size, 20)]))]      # 16: never succeeds
    fl = D.total_fit(D.group_curves(pts)[("p", 0.25)], 200, rng)["floor"]
    assert fl["where"] == ["inside", "above", "inside"] and fl["b90"][1] is None and fl["long"][1] is None
    assert fl["b90_ci"][1] == [None, None] and fl["boot"].mask[:, 1].all() and not fl["boot"].mask[:, 0].any()
    assert fl["fit"]["d"] == [8.0, 32.0] and fl["fit"]["exponent"] > 0
    assert not any(x is not None and np.isnan(x) for x in _leaves([fl[k] for k in ("b90", "long", "b90_ci", "long_ci")]
                                                                   + [fl["fit"]["ci"], fl["fit"]["local"]]))


def _leaves(x):
    """The numbers in nested lists and dicts (the d of a local slope included)."""
    if isinstance(x, dict):
        return [y for v in x.values() for y in _leaves(v)]
    return [y for v in x for y in _leaves(v)] if isinstance(x, (list, tuple)) else [x]


def test_exponent_interval_covers_the_true_exponent():
    """b90(d) = 0.05 d^2 at d = 8..64 with R = 20 per budget: the 95% bootstrap interval of the exponent
    contains 2 in at least 8 of 10 independent synthetic experiments (its coverage is ~0.95; P(<= 7 of 10
    covered | 0.95) = 0.012), and the intervals have a width of a few tenths (R = 20 per budget)."""
    rng = np.random.default_rng(1)
    d = np.array([8, 16, 32, 64.0])
    covered, widths = 0, []
    for _ in range(10):
        curves = [_curve(0.05 * x ** 2, 20, rng, scale=0.05 * x ** 2 / 16) for x in d]
        b90 = np.array([_b90(c) for c in curves])
        fit = D.scaling_fit(d, b90, bootstrap_b90(curves, 400, rng))
        covered += fit["ci"][0] <= 2 <= fit["ci"][1]
        widths.append(fit["ci"][1] - fit["ci"][0])
        assert len(fit["local"]) == 3 and all(l["ci"][0] < l["slope"] < l["ci"][1] for l in fit["local"])
    assert covered >= 8 and 0.02 < np.median(widths) < 1.0


def test_local_slopes_see_a_change_of_exponent():
    """b90 ~ d^1 up to d = 16 and ~ d^3 above (R = 2000: se of each local slope ~0.05): the local slopes
    are 1 and 3 to within 0.3 and their intervals separate them."""
    rng = np.random.default_rng(2)
    d = np.array([8, 16, 32.0])
    true = np.array([8.0, 16.0, 128.0])
    curves = [_curve(t, 2000, rng, scale=t / 16) for t in true]
    b90 = np.array([_b90(c) for c in curves])
    fit = D.scaling_fit(d, b90, bootstrap_b90(curves, 300, rng))
    lo, hi = fit["local"]
    assert lo["slope"] == pytest.approx(1, abs=0.3) and hi["slope"] == pytest.approx(3, abs=0.3)
    assert lo["ci"][1] < hi["ci"][0]


def _pts(ds, b90s, lam_chain, rng, p=0.25, N=1000.0):
    return [({"p": p, "d": d}, {"p": p, "round_samples": N, "success_curve": _curve(b, 20, rng, scale=b / 16),
                                "rounds_mean": 5.0, "rounds_se": 0.5, "lam": [0.01, 0.01, lc]})
            for d, b, lc in zip(ds, b90s, lam_chain)]


def test_totals_and_the_difference_of_exponents():
    """Total = b90 + rounds N with b90 = d^2 and 5 rounds of N = 1000 (d = 8..32: totals 5064 .. 6024):
    the total's exponent is below the floor's, and the difference's interval excludes 0."""
    rng = np.random.default_rng(3)
    ds = [8, 16, 32]
    g = D.group_curves(_pts(ds, [x ** 2 for x in ds], [0.01 / x for x in ds], rng))[("p", 0.25)]
    tot = D.total_fit(g, 400, rng)
    assert tot["rounds_share"][0] == pytest.approx(5000 / 5064, rel=0.01)
    diff = D.exponent_difference(tot["total"], tot["boot"], tot["floor"]["b90"], tot["floor"]["boot"], ds)
    assert diff["ci"][1] < 0 < tot["fit"]["exponent"] < 0.5


def test_schedules_are_told_apart_and_checks_kept_aside():
    rng = np.random.default_rng(4)
    ds = [8, 16, 32]
    pts = (_pts(ds, [100] * 3, [0.1 / x for x in ds], rng) + _pts(ds, [100] * 3, [1e-4] * 3, rng)
           + _pts(ds, [100] * 3, [0.01 / (x * np.log(x)) for x in ds], rng))
    groups = D.schedule_groups(pts)
    assert set(groups) == {("c/d", 0.1), ("c", 1e-4), ("c/(d ln d)", 0.01)}
    check = _pts([16], [100], [0.01 / 16], rng, N=4000.0)
    g = D.group_curves(_pts(ds, [100] * 3, [0.01 / x for x in ds], rng) + check)[("p", 0.25)]
    assert g["d"] == [8.0, 16.0, 32.0] and [c[:2] for c in g["checks"]] == [(16.0, 4000.0)]


def test_a_point_without_recorded_rounds_has_no_total_and_no_nan():
    """A task that stored no rounds (no replicate succeeded at its budget: rounds_mean NaN) gives that d no
    total (None) while the others keep theirs; no NaN leaves group_curves or total_fit."""
    pts = _pts([8, 16, 32], [64.0, 256.0, 1024.0], [0.01] * 3, np.random.default_rng(5))
    pts[1][1]["rounds_mean"] = pts[1][1]["rounds_se"] = float("nan")
    grp = D.group_curves(pts)[("p", 0.25)]
    assert grp["rounds_mean"][1] is None and grp["rounds_se"][1] is None
    t = D.total_fit(grp, 200, 0)
    assert t["total"][1] is None and t["rounds_share"][1] is None and t["total_ci"][1] == [None, None]
    assert all(isinstance(x, float) and np.isfinite(x) for i, x in enumerate(t["total"]) if i != 1)
