"""Theorem 2's two steps (THEORY §6) and Theorem 1's edges (THEORY §5), by the three routes.

Provenance: the kept-set long share q_n of the closed form (closed_form.kept_stats) against the same
quantity from full-weight enumeration (exact.exact_metrics), the ideal recursion p_n (Theorem 2), and
seeded STaR simulation with binomial 5-sigma tolerances.
"""
import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from scipy.special import expit

from linparity import closed_form as cf
from linparity import exact
from linparity.experiments import extensions as ex
from linparity.measures import first_at_least

LAM = (0.01, 0.01, 0.002)


def test_two_steps_closed_form_equals_enumeration():
    st = ex.theorem2_steps(5, 0.05, LAM, 4, 10, 0, None)
    np.testing.assert_allclose(st["ex_q"], st["cf_q"], atol=1e-9)
    np.testing.assert_allclose(st["ex_pi"], st["cf_pi"], atol=1e-9)
    # q_1 is the long share of the kept set of the calibrated start: 2p/(1+p) = 0.0952 in the limit;
    # at finite lambda within 0.02 (the start's pi(L) is 0.05 up to its calibration error)
    assert abs(st["cf_q"][0] - 2 * 0.05 / 1.05) < 0.02
    # q_n from kept_stats along the map (definition of q_n)
    mp = cf.star_map(cf.ntp_optimum(5, 0.05, LAM), 5, LAM, 4)
    np.testing.assert_allclose(st["cf_q"], [cf.kept_stats(t, 5).q for t in mp.theta[:-1]], atol=1e-12)
    # step 1 is small in round 1 (the refit is calibrated to its mixture up to finite-lambda bias)
    assert abs(st["cf_pi"][0] - st["cf_q"][0]) < 0.01


def test_two_steps_simulation_round_one_kept_share():
    # the simulated kept share of round 1 is a binomial estimate of the closed-form q_1 (same start)
    N, R = 4000, 3
    st = ex.theorem2_steps(5, 0.1, LAM, 1, N, R, np.random.SeedSequence(2))
    q = st["cf_q"][0]
    kept = 0.55 * N                                # ~ E[r] N kept pairs (E[r] ~ 0.55 at the start)
    se = np.sqrt(q * (1 - q) / kept / R)           # of the replicate mean
    assert abs(st["sim_q"][:, 0].mean() - q) < 5 * se + 0.005
    assert st["variant"] == "continue"


def test_theorem1_tie_at_one_third():
    # proofs row 3b: the stop logit after y_1 = x_1 is 0 iff p = 1/3; the tie rule then goes on
    (row,) = ex.theorem1_edges(5, LAM, [1 / 3], 1, 0, None)
    assert abs(row["cf"]["u"]) < 1e-12 and abs(row["ex"]["u"]) < 1e-12
    assert row["cf"]["greedy_accuracy"] == 1.0                     # exactly 0.0 -> go on -> always right
    # on full weights the stop logit is 0 only up to rounding (~1e-16, its sign varying with x), so the
    # tie rule decides per x at random: measured 0.5625 at d = 5 (a knife edge, REPORT F11)
    assert 0.5 <= row["ex"]["greedy_accuracy"] <= 1.0


def test_theorem1_beyond_three_quarters_branch_starves():
    # p -> 1: the y_1 != x_1 branch of the stop head has data weight (1-p)/2; its regularised root
    # lam v/2 = (1-p)/2 sigma(-v) (closed_form.stop_branch_root) drives P(go on | y_1 != x_1) to 1/2
    d = 5
    rows = ex.theorem1_edges(d, LAM, [0.75, 0.99], 1, 0, None)
    go = [r["cf"]["exact_bias_neq"] for r in rows]
    assert go[1] > go[0] and go[1] > 0.3
    v = cf.stop_branch_root(0.0, (1 - 0.99) / 2, LAM[1])
    assert abs(go[1] - float(expit(-v))) < 1e-12
    m = exact.exact_ntp_optimum(d, 0.99, LAM)                       # full weights agree
    r = m.reduced()
    assert abs(float(expit(-(r.b - r.c))) - go[1]) < 1e-9
    assert all(r["cf"]["greedy_accuracy"] == 1.0 for r in rows)    # greedy stays right


def test_theorem2_report_gives_both_steps():
    from linparity.studies.theorem2 import format_report, theorem2_report
    rep = theorem2_report(4, 0.1, LAM, 1000, rounds=2, early_steps=(), compare_rewards=False)
    m = rep["main"]
    st = ex.theorem2_steps(4, 0.1, LAM, 2, 10, 0, None)
    np.testing.assert_allclose(m["step1_calibration_map"], np.abs(st["cf_pi"] - st["cf_q"]), atol=1e-12)
    np.testing.assert_allclose(m["step2_drift_map"], np.abs(st["cf_q"] - st["p_ideal"]), atol=1e-12)
    assert len(m["step1_calibration"]) == 2 and "two steps" in format_report(rep)


@given(st.lists(st.floats(0.0, 1.0), max_size=12), st.sampled_from([0.5, 0.99, 1.0]))
def test_first_at_least_is_the_first_index_reaching_the_level(values, level):
    # reference: a plain scan; None (not inf, not -1) where no entry reaches the level
    want = next((i for i, v in enumerate(values) if v >= level), None)
    assert first_at_least(values, level) == want
