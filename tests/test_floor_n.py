"""The floor against the round inputs N (linparity.experiments.floor_n) on synthetic curves of known law.

Synthetic data: success at pre-training samples T with N round inputs is Bernoulli(sigma(k ln(T / b90) +
logit 0.9)) with b90 = c N^-beta, so the true b90 at every N and the exponent beta are known; the curves
are drawn with a fixed seed.
"""
import numpy as np
import pytest

from linparity.experiments import floor_n as F

GRID = 2.0 ** (np.arange(0, 25) / 4)          # 2^(k/4), 1 .. 64


def _curve(b90, R, rng, k=6.0, scale=1.0):
    T = GRID * scale
    pr = 1 / (1 + np.exp(-(k * np.log(T / b90) + np.log(9))))
    return np.column_stack([T, rng.binomial(R, pr), np.full(T.size, R)])


def _point(d, N, curve, p=0.25, key="p"):
    rounds = np.column_stack([curve[:, 0], np.full(len(curve), 5.0), np.full(len(curve), 0.1)])
    return ({key: p, "d": d}, {"p": p if key == "p" else d ** -p, "round_samples": N, "success_curve": curve,
                               "rounds_curve": rounds, "lam": [0.01, 0.01, 0.01 / d]})


def test_prior_budget_is_the_first_stage_rule():
    """B(d) = 2^5 d^2, and 2^7 d^2 for p = d^-1 (design_floor.toml's header): B(32) = 32768, 131072."""
    assert F.prior_budget(32, ("p", 0.25)) == 32768 and F.prior_budget(32, ("kappa", 1.0)) == 131072
    assert F.prior_budget(32, ("kappa", 0.5)) == 32768


def test_pooling_adds_replicates_at_shared_budgets_and_keeps_the_rest():
    """Two stages at the same (setting, d, N): counts add budget by budget (independent replicates of one
    experiment); budgets only one stage ran keep that stage's row."""
    a = np.array([[1, 0, 20], [2, 5, 20], [4, 20, 20.0]])
    b = np.array([[2, 7, 20], [3, 15, 20.0]])
    pooled = F.pooled_curves([_point(8, 100.0, a), _point(8, 100.0, b), _point(8, 200.0, b)])
    c = pooled[("p", 0.25)][8.0][100.0]["curve"]
    np.testing.assert_array_equal(c, [[1, 0, 20], [2, 12, 40], [3, 15, 20], [4, 20, 20]])
    assert set(pooled[("p", 0.25)][8.0]) == {100.0, 200.0}


def test_n_dependence_recovers_beta_and_flags_binding():
    """b90 = 4096 N^-1 (T N = const, beta = 1) at N = 1, 2, 4, 8 with R = 200 per budget: beta's interval
    covers 1 and is narrower than 0.3 (se of ln b90 ~ 0.02 per N); every doubling lowers the interval wholly
    (a factor 2 against intervals of a few %), so N binds at each."""
    rng = np.random.default_rng(0)
    by_n = {N: {"curve": _curve(4096 / N, 200, rng, scale=512 / N), "rounds": []} for N in (1.0, 2.0, 4.0, 8.0)}
    r = F.n_dependence(by_n, 400, rng)
    assert r["beta_ci"][0] <= 1 <= r["beta_ci"][1] and r["beta_ci"][1] - r["beta_ci"][0] < 0.3
    assert [b for _, b in r["binds"]] == [True, True, True]
    np.testing.assert_allclose(np.array(r["b90"], float), 4096 / np.array([1, 2, 4, 8.0]), rtol=0.1)


def test_n_dependence_sees_no_binding_when_the_floor_is_flat():
    """b90 = 100 at every N (beta = 0) with R = 20: no doubling separates the intervals (both cover 100;
    the chance that two 95% intervals of the same b90 separate is small), and beta's interval covers 0."""
    rng = np.random.default_rng(1)
    by_n = {N: {"curve": _curve(100.0, 20, rng, scale=100 / 8), "rounds": []} for N in (10.0, 20.0, 40.0)}
    r = F.n_dependence(by_n, 400, rng)
    assert [b for _, b in r["binds"]] == [False, False]
    assert r["beta_ci"][0] <= 0 <= r["beta_ci"][1]


def test_n_dependence_reports_rounds_at_the_first_budget_reaching_90_percent():
    """rounds_at_90 is the rounds mean of the first budget where >= 90% succeeded (weighted by successes
    when stages pool); None where no budget reached it."""
    c = np.array([[1, 0, 20], [2, 17, 20], [4, 19, 20], [8, 20, 20.0]])
    entry = {"curve": c, "rounds": [(2.0, 9.0, 17.0), (4.0, 7.0, 10.0), (4.0, 4.0, 9.0), (8.0, 3.0, 20.0)]}
    none = {"curve": np.array([[1, 0, 20], [2, 3, 20.0]]), "rounds": [(2.0, 9.0, 3.0)]}
    r = F.n_dependence({1.0: entry, 2.0: none}, 50, 0)
    assert r["rounds_at_90"][0] == pytest.approx((7 * 10 + 4 * 9) / 19) and r["rounds_at_90"][1] is None


def test_floor_group_takes_each_d_at_its_own_multiple():
    """floor_group picks N = m B(d) at every d that ran it, and leaves out a d that did not."""
    rng = np.random.default_rng(2)
    pts = [_point(d, m * F.prior_budget(d, ("p", 0.25)), _curve(50.0 * d, 20, rng, scale=3 * d))
           for d, m in ((8, 4), (16, 4), (16, 1), (32, 2))]
    g = F.floor_group(F.pooled_curves(pts)[("p", 0.25)], ("p", 0.25), 4)
    assert g["d"] == [8.0, 16.0] and g["N"] == [4 * 2048.0, 4 * 8192.0] and g["p"] == [0.25, 0.25]
    assert F.floor_group(F.pooled_curves(pts)[("p", 0.25)], ("p", 0.25), 16) is None


def test_n_dependence_outside_the_grid_is_none_not_nan():
    """An N whose curve never reaches 90% has b90 None ('above' the grid), its doubling is undecided (None),
    and no float in the result is NaN."""
    rng = np.random.default_rng(3)
    by_n = {1.0: {"curve": np.array([[1, 0, 20], [2, 1, 20], [4, 2, 20.0]]), "rounds": []},
            2.0: {"curve": _curve(8.0, 20, rng), "rounds": []}}
    r = F.n_dependence(by_n, 200, rng)
    assert r["b90"][0] is None and r["where"][0] == "above" and r["binds"] == [(1.0, None)]
    assert r["beta"] is None and r["beta_ci"] == [None, None]
    flat = [x for v in r.values() for x in np.ravel(np.array(v, dtype=object)) if isinstance(x, float)]
    assert flat and not any(np.isnan(flat))


def test_floor_group_carries_the_rounds_at_90_and_the_round_limit():
    """The rounds the generalising replicates used at the first budget with >= 90% success (the synthetic
    rounds curve is 5 at every budget) and the round limit each result records (None where it records none)."""
    rng = np.random.default_rng(3)
    pts = [_point(d, 4 * F.prior_budget(d, ("p", 0.25)), _curve(8.0 * d, 20, rng, scale=d)) for d in (8, 16)]
    pts[0][1]["n_max"] = 11.0
    grp = F.floor_group(F.pooled_curves(pts)[("p", 0.25)], ("p", 0.25), 4)
    assert grp["n_max"] == [11.0, None] and grp["rounds_at_90"] == [5.0, 5.0]
