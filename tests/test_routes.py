"""Route agreement, one table of cases and one harness (in the style of SciPy's optimize tests).

For each case, a model on the reduced subspace of THEORY §4 is measured by the three routes through
the one verb every route has, ``linparity.<route>.api.measure``, into the one record
``linparity.measures.Measures`` (fields ``KEYS``), and compared key by key on the keys both compute:

* closed form: the trajectory-type formulas of the reduced state;
* exact enumeration: sums over all 2^d inputs and all responses of the full-weight model;
* simulation: sampled responses and greedy responses on sampled inputs, counted.

The closed form and enumeration must agree to EXACT_RTOL (both are exact: only rounding differs);
the simulated frequencies must lie within K_SIGMA standard errors (the sample standard error of the
mean over N responses, with a floor 1/N for degenerate indicators) of the exact value.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from linparity import closed_form as cf
from linparity import commands
from linparity import exact
from linparity.closed_form import api as closed_form_api
from linparity.exact import api as exact_api
from linparity.measures import EVALUATE_INFO, KEYS, Measures, Start, Trajectory, evaluate
from linparity.model import LinearAR
from linparity.simulate import api as simulate_api

EXACT_RTOL = 1e-10      # closed form vs enumeration (relative, with the same absolute floor)
K_SIGMA = 5.0           # simulation vs exact: |mean - exact| <= K_SIGMA * SE
N_SIM = 40_000          # sampled responses per case
APIS = {"sgd": simulate_api, "closed-form": closed_form_api, "exact": exact_api}
#: what every route measures of one model (calibration is not sampled, so the simulation has none)
SHARED = {"pi_long", "pi_short_correct", "p_short", "p_long", "p_correct", "mean_length", "greedy_accuracy",
          "expected_reward"}

# (d, p_cot, lam, temperature, reward): the start is the regularised NTP optimum of D(p), shifted
# off the optimum so that no probability is trivially 0 or 1
CASES = [
    (3, 0.1, (0.01, 0.01, 0.01), 1.0, "cot"),
    (4, 0.25, (0.01, 0.01, 0.0025), 0.75, "e2e"),
    (5, 0.4, (0.05, 0.01, 0.002), 1.5, "cot"),
    (6, 0.05, (0.01, 0.1, 0.001), 1.0, "e2e"),
    (8, 0.2, (0.01, 0.01, 0.00125), 1.0, "cot"),
]


def _theta(d, p, lam):
    th = cf.ntp_optimum(d, p, lam)
    return th * np.concatenate([[0.9, 1.1, 0.8], np.linspace(0.5, 1.0, d - 1)])


def _measure(api, model, p, tau, reward, rng=None) -> tuple[dict, dict]:
    mean, se = api.measure(model, p, temperature=tau, reward=reward, rng=rng, n_mc=N_SIM)
    return mean.as_dict(), se.as_dict()


@pytest.mark.parametrize("case", CASES, ids=[f"d{c[0]}-p{c[1]}-tau{c[3]}-{c[4]}" for c in CASES])
def test_three_routes_agree(case):
    d, p, lam, tau, reward = case
    model = LinearAR.from_theta(_theta(d, p, lam))
    closed, _ = _measure(closed_form_api, model, p, tau, reward)
    ex, _ = _measure(exact_api, model, p, tau, reward)
    mean, se = _measure(simulate_api, model, p, tau, reward, np.random.default_rng([d, int(1000 * p)]))
    assert SHARED <= set(closed) & set(ex) & set(mean)
    for k in set(closed) & set(ex):          # the two exact routes: every key both compute
        assert ex[k] == pytest.approx(closed[k], rel=EXACT_RTOL, abs=EXACT_RTOL), k
    for k in mean:
        assert abs(mean[k] - ex[k]) <= K_SIGMA * max(se[k], 1 / N_SIM), (k, mean[k], ex[k], se[k])


def test_harness_detects_a_disagreement():
    # a route that is wrong by a small amount (every chain logit 0.3 lower in the simulated model)
    # must be caught by the same tolerance: the harness can fail
    d, p, lam, tau, reward = CASES[2]
    theta = _theta(d, p, lam)
    wrong = theta.copy()
    wrong[3:] -= 0.3
    ex, _ = _measure(exact_api, LinearAR.from_theta(theta), p, tau, reward)
    mean, se = _measure(simulate_api, LinearAR.from_theta(wrong), p, tau, reward, np.random.default_rng(3))
    assert abs(mean["pi_long"] - ex["pi_long"]) > K_SIGMA * se["pi_long"]


def test_the_closed_form_refuses_a_model_off_the_subspace():
    on = LinearAR.from_theta(_theta(4, 0.3, 0.01))
    m = LinearAR.from_vector(4, on.to_vector() + 0.5 * np.random.default_rng(0).standard_normal(on.to_vector().size))
    with pytest.raises(ValueError, match="model: the closed form needs a model on the reduced subspace"):
        closed_form_api.measure(m, 0.3)


def test_measures_fields_are_keys_and_evaluate_returns_only_keys():
    assert [f.name for f in dataclasses.fields(Measures)] == list(KEYS)
    assert all(KEYS.values())                                               # every key says what it is
    ev = evaluate(LinearAR.from_theta(_theta(13, 0.3, 0.01)), 0.3, n_mc=200, rng=0)   # Monte Carlo: with _se
    for k in ev:
        assert k in KEYS or (k.endswith("_se") and k[:-3] in KEYS) or k in EVALUATE_INFO, k
    assert ev["calibration_error_se"] > 0
    with pytest.raises(TypeError):
        Measures(not_a_key=1.0)


# each verb with small settings; every route answers the same call (keyword names included)
D, P, LAM = 4, 0.3, (0.05, 0.05, 0.05)
VERBS = {
    "pretrain": lambda api, start: api.pretrain(D, P, LAM, 200, replicates=2, n_mc=200, rng=0),
    "star": lambda api, start: api.star(D, P, LAM, 2, start, samples=200, reward="cot", variant="refit", rng=1),
    "pg": lambda api, start: api.pg(D, P, LAM, 3, start, algo="reinforce", lr=0.5, batch_size=32, rng=2),
}


@pytest.mark.parametrize("verb", VERBS)
@pytest.mark.parametrize("method", APIS)
def test_every_route_answers_every_verb_with_a_trajectory(method, verb):
    api = APIS[method]
    start = api.start(D, P, LAM, None, optimum=cf.ntp_optimum(D, P, LAM), replicates=2, rng=3)
    assert isinstance(start, Start) and start.theta.shape == (D + 2,)
    traj = VERBS[verb](api, start)
    assert isinstance(traj, Trajectory) and traj.route == method == api.ROUTE
    assert isinstance(traj.mean, Measures) and isinstance(traj.se, Measures)
    n = len(traj.t)
    series = traj.mean.as_dict()
    assert {"pi_long", "greedy_accuracy", "mean_length"} <= set(series)
    for k, v in series.items():
        assert np.shape(v) == (n,) and np.all(np.isfinite(v)), k
        assert np.array_equal(traj[k], v)
    for k, v in traj.se.as_dict().items():
        assert k in series and np.shape(v) == (n,) and np.all(v >= 0), k
    with pytest.raises(KeyError):
        traj["off_subspace_norm"]                                           # route-only values live in extra


def test_the_routes_agree_along_star_and_pg_from_the_optimum():
    # the exact map on full weights equals the closed-form map from the same start, round by round;
    # the same for the expected REINFORCE steps
    start_cf = closed_form_api.start(D, P, LAM, None)
    start_ex = exact_api.start(D, P, LAM, None)
    np.testing.assert_allclose(start_ex.theta, start_cf.theta, rtol=1e-9, atol=1e-10)
    for verb in ("star", "pg"):
        a, b = VERBS[verb](closed_form_api, start_cf), VERBS[verb](exact_api, start_ex)
        np.testing.assert_array_equal(a.t, b.t)
        for k in set(a.mean.as_dict()) & set(b.mean.as_dict()):
            np.testing.assert_allclose(b[k], a[k], rtol=1e-7, atol=1e-8, err_msg=f"{verb} {k}")


def test_commands_route_every_method_through_the_registry():
    assert commands.ROUTES == APIS and commands.METHODS == tuple(APIS)


# (d, p_cot, lam): population Pegasos (THEORY §3 with the expected gradient) in reduced coordinates
# against the same steps on full weights by enumeration, at t = 0, a finite t, and t -> infinity
DYNAMICS_CASES = [(3, 0.2, (0.05, 0.05, 0.05)), (5, 0.4, (0.02, 0.1, 0.01)), (6, 0.0, 0.05)]


@pytest.mark.parametrize("d,p,lam", DYNAMICS_CASES)
def test_ntp_dynamics_closed_form_equals_enumeration_at_0_t_and_infinity(d, p, lam):
    T = 300
    traj = cf.discrete_dynamics(d, p, lam, T)                               # (T+1, d+2) average iterate
    m, tr = exact.train_exact(LinearAR.zeros(d), p, lam, T, return_trajectory=True)
    for t in (0, 7, T):                                                    # t = 0 and finite t
        np.testing.assert_allclose(tr.theta[t], traj[t], rtol=EXACT_RTOL, atol=EXACT_RTOL)
    assert float(np.max(tr.off_norm)) < EXACT_RTOL                         # stays on the subspace
    limit = cf.gradient_flow(d, p, lam, t=None)                            # t -> infinity: the optimum
    np.testing.assert_allclose(limit, cf.ntp_optimum(d, p, lam), rtol=0, atol=0)
    np.testing.assert_allclose(exact.exact_ntp_optimum(d, p, lam).reduced().theta, limit,
                               rtol=1e-9, atol=1e-10)
