"""The designed experiment's analysis (linparity.experiments.design) on synthetic curves of known exponent.

Synthetic data: success at budget B and input size d is Bernoulli(sigma(k ln(B / b90(d)) + logit 0.9))
with b90(d) = c d^s, so the true b90 and exponent s are known; the curves are drawn with a fixed seed.
"""
import numpy as np
import pytest

from linparity.experiments import design as D

GRID = 2.0 ** (np.arange(0, 17) / 2)          # 2^(k/2), 1 .. 256


def _curve(b90, R, rng, k=4.0, scale=1.0):
    B = GRID * scale
    pr = 1 / (1 + np.exp(-(k * np.log(B / b90) + np.log(9))))
    return np.column_stack([B, rng.binomial(R, pr), np.full(B.size, R)])


def test_fit_b90_recovers_the_crossing_of_a_noiseless_curve():
    """R = 10^6: the counts are the probabilities to 1e-3 (se sqrt(0.25/1e6) = 5e-4), so b90 is the true one
    to well under 1% (the Jeffreys half-counts move it by O(1/R))."""
    c = _curve(23.0, 10 ** 6, np.random.default_rng(0))
    f = D.smoothed_b90(c)
    assert f["where"] == "inside" and f["b90"] == pytest.approx(23.0, rel=5e-3) and f["b"] == pytest.approx(4.0, rel=5e-3)


@pytest.mark.parametrize("curve, where", [([[1, 0, 20], [2, 0, 20], [4, 1, 20]], "above"),
                                          ([[1, 20, 20], [2, 20, 20]], "below")])
def test_fit_b90_outside_the_grid_is_nan_and_named(curve, where):
    f = D.smoothed_b90(curve)
    assert np.isnan(f["b90"]) and f["where"] == where


@pytest.mark.parametrize("bad", [[[1, 0, 20]], [[2, 0, 20], [1, 5, 20]], [[1, 21, 20], [2, 0, 20]], [[0, 1, 2], [1, 1, 2]]])
def test_fit_b90_refuses_bad_curves(bad):
    with pytest.raises(ValueError, match="curve"):
        D.smoothed_b90(bad)


def test_exponent_interval_covers_the_true_exponent():
    """b90(d) = 0.05 d^2 at d = 8..64 with R = 20 per budget: the 95% bootstrap interval of the exponent
    contains 2 in at least 8 of 10 independent synthetic experiments (its coverage is ~0.95; P(<= 7 of 10
    covered | 0.95) = 0.012), and the intervals have a width of a few tenths (R = 20 per budget)."""
    rng = np.random.default_rng(1)
    d = np.array([8, 16, 32, 64.0])
    covered, widths = 0, []
    for _ in range(10):
        curves = [_curve(0.05 * x ** 2, 20, rng, scale=0.05 * x ** 2 / 16) for x in d]
        b90 = np.array([D.smoothed_b90(c)["b90"] for c in curves])
        fit = D.scaling_fit(d, b90, D.bootstrap_b90(curves, 400, rng))
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
    b90 = np.array([D.smoothed_b90(c)["b90"] for c in curves])
    fit = D.scaling_fit(d, b90, D.bootstrap_b90(curves, 300, rng))
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
