"""Theorem 1 measurements and the Prop 1-3 bounds as transcribed (THEORY §5), and the CLI.

Reference values: the bound formulas are evaluated by hand below from THEORY §5's text; measured
quantities at reduced points are the closed-form probabilities sigma(.) of THEORY §4.
"""
import json
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.special import expit

from linparity import LinearAR
from linparity import closed_form as cf
from linparity.measures import evaluate
from linparity.theory import (measured_head_errors, prop1_bound, prop1_errors, prop2_bounds, prop3_bound,
                              regularisation_bias, theorem1_report)
from linparity.data import all_inputs


def test_bound_formulas_by_hand():
    d, p, lam, T, delta = 10, 0.2, 0.05, 10_000, 0.1
    est = lambda n: 2 * n / lam * np.sqrt((1 + np.log(T)) / (delta * T))  # noqa: E731
    b1 = prop1_bound(d, p, lam, T, delta)
    assert b1["bound"] == pytest.approx(est(d) + 4 * np.log(1.2 / 0.8) / (0.96 * lam), rel=1e-14)
    a_star, r = np.log(1.2 / 0.8), np.sqrt((1 + np.log(T)) / (delta * T))
    assert b1["prob_bound"] == pytest.approx(d / (2 * lam) * r + a_star / (0.96 * lam), rel=1e-14)
    assert b1["bound_corrected"] == pytest.approx(est(d) + 4 * lam * a_star / 0.96, rel=1e-14)
    assert b1["prob_bound_corrected"] == pytest.approx(d / (2 * lam) * r + lam * a_star / 0.96, rel=1e-14)
    b2 = prop2_bounds(d, p, lam, T, delta)
    assert b2["bound_neq"] == pytest.approx(est(d + 1) + np.sqrt(lam / 0.8), rel=1e-14)
    assert b2["bound_eq"] == pytest.approx(est(d + 1) + lam * 1.2 * abs(np.log(0.4 / 0.8)) / (8 * 0.2 * 0.8),
                                           rel=1e-14)
    b3 = prop3_bound(d, lam, T, delta)
    l = np.arange(2, d + 1)
    np.testing.assert_allclose(b3["bound"], (2 * d + l - 1) / (2 * lam) * np.sqrt((1 + np.log(T)) / (delta * T))
                               + np.sqrt(lam), rtol=1e-14)


def test_prop1_bias_term_grows_as_lambda_shrinks():
    """The transcribed Prop 1 bias term ~ 1/lam1 while the exact bias ~ lam1: the suspected typo."""
    p = 0.3
    small, large = prop1_bound(5, p, 1e-4, 10, 0.1)["bias"], prop1_bound(5, p, 1e-2, 10, 0.1)["bias"]
    assert small == pytest.approx(100 * large, rel=1e-12)
    exact_small, exact_large = regularisation_bias(5, p, 1e-4)["prop1"], regularisation_bias(5, p, 1e-2)["prop1"]
    assert exact_small < exact_large / 50


def test_measured_head_errors_at_reduced_point():
    d, p = 5, 0.25
    th = np.array([0.3, 1.0, -2.0, 1.0, 2.0, 3.0, 4.0])
    m = LinearAR.from_reduced(d, th[0], th[1], th[2], th[3:])
    meas = measured_head_errors(m, p, all_inputs(d))
    assert meas["prop1"] == pytest.approx(abs(0.3 - np.log(1.25 / 0.75)), rel=1e-13)
    assert meas["prop2_eq"] == pytest.approx(abs(expit(th[1] + th[2]) - 0.75 / 1.25), rel=1e-13)
    assert meas["prop2_neq"] == pytest.approx(expit(-(th[1] - th[2])), rel=1e-13)
    np.testing.assert_allclose(meas["prop3"], expit(-th[3:]), rtol=1e-13)


def test_report_flags_a_violated_bound():
    """A chain head that is wrong with probability sigma(2) ~ 0.88 breaks Prop 3 at large T."""
    d, p, lam = 4, 0.3, (0.01, 0.01, 0.01)
    th = cf.ntp_optimum(d, p, lam)
    th[4] = -2.0
    m = LinearAR.from_reduced(d, th[0], th[1], th[2], th[3:])
    rep = theorem1_report(m, p, lam, (10**12, 10**12, 10**12))
    names = [e["bound"] for e in rep["exceedances"]]
    assert "prop3_l3" in names
    e = rep["exceedances"][names.index("prop3_l3")]
    assert e["excess"] == pytest.approx(expit(2.0) - rep["bounds"]["prop3_l3"]["bound"], rel=1e-12)
    assert "prop3_l2" not in names


def test_evaluate_exact_vs_monte_carlo():
    """Off-subspace weights make pi(L|x) depend on x; the Monte Carlo mean agrees within 5 SE."""
    rng = np.random.default_rng(4)
    d = 9
    m = LinearAR.from_vector(d, 0.3 * rng.normal(size=LinearAR.n_params(d)))
    ex = evaluate(m, 0.3)
    mc = evaluate(m, 0.3, n_mc=4000, rng=1, exact_max_d=0)
    assert ex["exact"] and not mc["exact"]
    for k in ("pi_long", "pi_short_correct", "greedy_accuracy", "mean_length"):
        assert abs(ex[k] - mc[k]) < 5 * mc[k + "_se"], k
    assert mc["calibration_error"] <= ex["calibration_error"] + 1e-15  # sampled max <= true max


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "linparity", *args], capture_output=True, text=True, timeout=300)


def test_cli_closed_form_json_keys():
    r = run_cli("pretrain", "--d", "5", "--p-cot", "0.4", "--method", "closed-form", "--steps", "2000", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    for k in ("d", "p_cot", "method", "pi_long", "pi_short_correct", "calibration_error", "greedy_accuracy",
              "mean_length", "reduced", "off_subspace_norm"):
        assert k in out
    assert set(out["reduced"]) >= {"a", "b", "c", "chain_mean"}
    assert out["greedy_accuracy"] == 1.0  # p = 0.4 > 1/3: greedy follows the chain


@pytest.mark.parametrize("args, name", [
    (["--d", "1", "--p-cot", "0.2"], "d"), (["--d", "4", "--p-cot", "1.2"], "--p-cot"),
    (["--d", "4", "--p-cot", "0.2", "--lam", "0"], "lam"), (["--d", "4", "--p-cot", "0.2", "--method", "x"], "method"),
    (["--d", "13", "--p-cot", "0.2", "--method", "exact"], "d")])
def test_cli_bad_input_one_line_exit_2(args, name):
    r = run_cli("pretrain", *args)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and name in lines[0] and "Traceback" not in r.stderr


def test_prop1_corrected_bias_bounds_exact_bias():
    """proofs 9a/9d: |a(lam1) - a*| <= 4 lam1 a*/(1-p^2) for every lam1 > 0 (concavity tangent bound),
    with equality to first order as lam1 -> 0."""
    for p in (0.01, 0.3, 0.9):
        for lam1 in (1e-6, 1e-3, 0.1, 10.0):
            b = prop1_bound(4, p, lam1, 10, 0.1)["bias_corrected"]
            exact = regularisation_bias(4, p, (lam1, 1.0, 1.0))["prop1"]
            assert exact <= b * (1 + 1e-12)
        lam1 = 1e-7
        assert regularisation_bias(4, p, (lam1, 1.0, 1.0))["prop1"] == pytest.approx(
            prop1_bound(4, p, lam1, 10, 0.1)["bias_corrected"], rel=1e-5)


@given(st.floats(0, 0.99, exclude_min=True), st.floats(1e-4, 50))
def test_prop1_corrected_forms_bound_exact_bias(p, lam1):
    """proofs 9d/10b: both corrected bias terms bound the exact bias of the regularised optimum
    (closed_form.head1_optimum, brentq xtol 1e-15 in a: hence the absolute slack 1e-14 in logit units
    and 1e-14 in probability units, sigma' <= 1/4); the probability-form bias equals lam1 a(lam1)."""
    b = prop1_bound(5, p, lam1, 10, 0.1)
    exact = regularisation_bias(5, p, (lam1, 1.0, 1.0))
    assert exact["prop1"] <= b["bias_corrected"] * (1 + 1e-12) + 1e-14
    assert exact["prop1_prob"] <= b["prob_bias_corrected"] * (1 + 1e-12) + 1e-14
    a = cf.head1_optimum((1 + p) / 2, lam1)
    assert exact["prop1_prob"] == pytest.approx(lam1 * a, rel=1e-9, abs=1e-14)


@given(st.floats(0.001, 0.99), st.floats(1.0, 50.0))
def test_prop1_stated_terms_fail_above_threshold(p, excess):
    """proofs 9b/10a: the optimum has 0 < a(lam1) <= 1/lam1 (its root bracket), so the exact logit bias
    is >= a* - 1/lam1, which beats the stated term 4 a*/((1-p^2) lam1) once lam1 > 1/a* + 4/(1-p^2);
    the probability bias is lam1 a(lam1) = (1+p)/2 - sigma(a(lam1)) >= p/2 - 1/(4 lam1) (sigma(z) <= 1/2 + z/4
    for z >= 0), which beats the stated term a*/((1-p^2) lam1) once lam1 > (1/2 + 2 a*/(1-p^2))/p."""
    a_star = np.log((1 + p) / (1 - p))
    lam1 = (1 / a_star + 4 / (1 - p * p)) * (1 + excess)       # above the logit threshold
    b = prop1_bound(5, p, lam1, 10, 0.1)
    exact = regularisation_bias(5, p, (lam1, 1.0, 1.0))
    assert exact["prop1"] > b["bias"]
    lam1 = (0.5 + 2 * a_star / (1 - p * p)) / p * (1 + excess)  # above the probability threshold
    assert regularisation_bias(5, p, (lam1, 1.0, 1.0))["prop1_prob"] > prop1_bound(5, p, lam1, 10, 0.1)["prob_bias"]


def test_prop1_errors_and_report_rows():
    """Both Prop 1 quantities by hand at a reduced point; at lam1 = 10 with T = 1e12 the stated rows are
    exceeded by the exact optimum and the corrected rows are not (proofs 9b/10a vs 9d/10b)."""
    d, p = 4, 0.5
    m = LinearAR.from_reduced(d, 0.3, 0.0, 0.0, [1.0, 1.0, 1.0])
    e = prop1_errors(m, p, all_inputs(d))
    assert e["logit"] == pytest.approx(abs(0.3 - np.log(3.0)), rel=1e-13)
    assert e["prob"] == pytest.approx(0.75 - expit(0.3), rel=1e-13)  # x_1 = +1 and x_1 = -1 give the same
    lam = (10.0, 0.01, 0.01)
    th = cf.ntp_optimum(d, p, lam)
    m = LinearAR.from_reduced(d, th[0], th[1], th[2], th[3:])
    rep = theorem1_report(m, p, lam, (10**12, 10**12, 10**12))
    names = {x["bound"] for x in rep["exceedances"]}
    assert {"prop1", "prop1_prob"} <= names and not names & {"prop1_corrected", "prop1_prob_corrected"}
    row = rep["bounds"]["prop1_prob"]
    assert row["measured"] == pytest.approx(10.0 * th[0], rel=1e-9)        # = lam1 a(lam1) at the optimum
    assert row["exact_regularisation_bias"] == pytest.approx(row["measured"], rel=1e-9)
    assert rep["bounds"]["prop1_prob_corrected"]["bias_term"] == pytest.approx(10 * np.log(3) / 0.75, rel=1e-14)


def test_sample_degree():
    """proofs claim 8 (sympy) derives 2 + 2 kappa (eps fixed) and 2 + 7 kappa (eps ~ p)."""
    from linparity.theory import sample_degree
    assert sample_degree(0.5) == 3.0 and sample_degree(2, eps_relative=True) == 16.0
    with pytest.raises(ValueError, match="kappa"):
        sample_degree(-1)
