"""Theorem 2's iteration side in ``star``'s JSON: ``n_star_start`` and ``log_odds_gain`` on every route.

Provenance: the ideal recursion p_{n+1} = 2 p_n/(1 + p_n) doubles the odds, so its log-odds gain is
ln 2 exactly (derivation, THEORY §6); the exact finite-lambda map departs from it by a first-order
finite-lambda term bounded below (derivation, with the measured constant); n*(p) is
closed_form.n_star (exact rational arithmetic).
"""
import json

import numpy as np
import pytest

from linparity import closed_form as cf
from linparity import commands

ITER_KEYS = ("n_star_start", "n_star_start_replicates", "log_odds_gain", "log_odds_gain_replicates",
             "log_odds_gain_se")

# (method, variant, replicates): every route and every STaR variant through one harness; the
# population routes ignore the variant (reported as 'refit (population)') and have one 'replicate'
STAR_CASES = [("sgd", "continue", 1), ("sgd", "continue", 3), ("sgd", "refit", 2),
              ("closed-form", "continue", 1), ("closed-form", "refit", 2),
              ("exact", "continue", 1), ("exact", "refit", 2)]


@pytest.mark.parametrize("method,variant,R", STAR_CASES, ids=[f"{m}-{v}-R{r}" for m, v, r in STAR_CASES])
def test_star_reports_the_iteration_keys_on_every_route(method, variant, R):
    rounds = 3
    out = commands.star_command(4, 0.2, rounds, 300, variant=variant, pretrain_steps=2000, lam=0.05,
                                replicates=R, seed=2, method=method)
    json.dumps(out, allow_nan=False)                          # null, never NaN or inf
    assert set(ITER_KEYS) <= set(out)
    n_rep = R if method == "sgd" else 1
    gains = np.array(out["log_odds_gain_replicates"])
    assert gains.shape == (n_rep, rounds) and len(out["n_star_start_replicates"]) == n_rep
    np.testing.assert_allclose(out["log_odds_gain"], gains.mean(0), rtol=1e-12)
    # the mean gain is the mean of the replicates' gains, the start's n* is read at the mean start
    assert out["n_star_start"] == cf.n_star(out["pi_long"][0])
    if n_rep == 1:
        assert out["log_odds_gain_se"] is None
        np.testing.assert_allclose(out["log_odds_gain"], cf.log_odds_gain(out["pi_long"]), rtol=1e-12)
    else:
        assert len(out["log_odds_gain_se"]) == rounds and min(out["log_odds_gain_se"]) >= 0


def test_the_ideal_recursion_gains_exactly_ln2():
    out = commands.star_command(6, 0.02, 8, pretrain_steps=None, lam=0.01, method="closed-form")
    # p_ideal doubles the odds: ln 2 up to rounding of the logits (|logit| <= 5, 1e-15 relative)
    np.testing.assert_allclose(cf.log_odds_gain(out["p_ideal"]), np.log(2), rtol=0, atol=1e-13)


# (d, p, lambda for all three heads): the map from the regularised optimum, small lambda
SMALL_LAM = [(3, 0.3, 1e-4), (6, 0.1, 1e-4), (10, 0.01, 1e-5), (32, 0.25, 1e-6)]


#: the exact route (enumeration) where it is cheap, d <= 6; it equals the closed form (test_routes)
MAP_CASES = [(m, *c) for c in SMALL_LAM for m in ("closed-form", "exact") if m == "closed-form" or c[0] <= 6]


@pytest.mark.parametrize("method,d,p,lam", MAP_CASES)
def test_the_map_gains_ln2_in_its_first_round_up_to_finite_lambda(method, d, p, lam):
    out = commands.star_command(d, p, 1, pretrain_steps=None, lam=lam, method=method)
    gain = out["log_odds_gain"][0]
    # Tolerance, first order in lambda: every head sits at its regularised optimum, whose stationarity
    # condition puts its probability lambda |logit| <= lambda ln(1/lambda) off its target. The d-1
    # chain heads multiply pi(L) by prod kappa_l in both rounds and move the gain by at most
    # (1 + q/(1-q) - p/(1-p)) <= 1.5 each (p <= 1/3, q = 2p/(1+p)); the stop head's error is relative
    # to the long probability ~p, so ~1/p. Measured |gain - ln 2| / ((d + 1/p) lambda ln(1/lambda))
    # <= 1.10 over d in {3, 6, 10, 32, 64}, p in [0.005, 0.3], lambda in [1e-6, 1e-3]: factor 2 here.
    tol = 2 * (d + 1 / p) * lam * np.log(1 / lam)
    assert tol < 0.05                                          # the check is not vacuous
    assert abs(gain - np.log(2)) <= tol, (gain, tol)


def test_n_star_start_is_n_star_of_p_at_a_calibrated_start_and_not_when_the_stop_head_is_regularised():
    d, p = 10, 0.01
    # small lambda: the start is calibrated (pi_0 = 0.0102 vs p = 0.01), so n*(pi_0) = n*(p) = 6
    cal = commands.star_command(d, p, 1, pretrain_steps=None, lam=(1e-4, 1e-4, 1e-5), method="closed-form")
    assert abs(cal["pi_long"][0] - p) < 0.05 * p
    assert cal["n_star_start"] == cal["n_star"] == 6
    # lambda_2a = 0.01 pulls the stop head towards 1/2: pi_0 = 0.0237, more than twice p, one round less
    over = commands.star_command(d, p, 1, pretrain_steps=None, lam=(0.01, 0.01, 0.001), method="closed-form")
    assert over["pi_long"][0] > 2 * p
    assert over["n_star"] == 6 and over["n_star_start"] == 5


def test_pooled_offset_is_the_stratified_mean_and_shows_a_systematic_offset():
    from linparity.experiments.star import pooled_offset
    rounds = np.array([[7.0, 8.0, 9.0], [5.0, 5.0, 6.0]])           # k = 2 values of p, R = 3
    off, se = pooled_offset(rounds, [6, 4])
    # by hand: per-p offsets 2 and 4/3, se_i = 1/sqrt(3) and sqrt(1/3)/sqrt(3) = 1/3
    assert off == pytest.approx((2 + 4 / 3) / 2)
    assert se == pytest.approx(np.sqrt(1 / 3 + 1 / 9) / 2)
    assert off > 2 * se                                              # an offset of +1.7 rounds shows
    per_rep = np.array([[6, 6, 7], [4, 4, 4]])                       # a per-replicate prediction
    assert pooled_offset(rounds, per_rep)[0] == pytest.approx((1 + 2 / 3 + 1 + 1 / 3) / 2)
    assert pooled_offset([[np.inf, 3.0], [2.0, 2.0]], [1, 1]) == (np.inf, np.inf)
    with pytest.raises(ValueError, match="rounds"):
        pooled_offset([[3.0], [2.0]], [1, 1])


def test_finite_n_predictor_and_switch_point_by_hand():
    from linparity.experiments.star import f8_finite_n, switch_point
    pi0 = [[0.0, 0.0], [0.01, 0.03], [0.2, 0.2]]                 # n_T = 3 starts, R = 2 each
    pr = f8_finite_n(pi0, (0.01, 0.01, 0.001), [1000, 100_000])
    # by hand: need = 10/0.001 = 1e4 kept correct long samples; w = (0, 0.02, 0.2)
    assert pr["need"] == pytest.approx(1e4)
    np.testing.assert_allclose(pr["w_long"], [0.0, 0.02, 0.2])
    np.testing.assert_allclose(pr["n_boundary"], [np.inf, 5e5, 5e4])
    np.testing.assert_array_equal(pr["predicted"], [[False, False, False], [False, False, True]])
    assert switch_point([1, 2, 4, 8], [False, True, False, True]) == 8     # from 8 on, all succeed
    assert switch_point([1, 2, 4, 8], [True, True, True, True]) == 1
    assert switch_point([1, 2, 4, 8], [True, True, True, False]) is None
