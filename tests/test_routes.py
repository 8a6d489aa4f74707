"""Route agreement, one table of cases and one harness (in the style of SciPy's optimize tests).

For each case, a model on the reduced subspace of THEORY §4 is measured by the three routes in the
one vocabulary of ``linparity.measures.KEYS``:

* closed form: ``closed_form.trajectory_probs`` / ``greedy_probs`` / ``expected_reward`` of theta;
* exact enumeration: ``exact.exact_metrics`` / ``exact.expected_reward`` of the same point as a
  full-weight LinearAR, summing over all 2^d inputs and all responses;
* simulation: ``simulate.sample_responses`` / ``greedy_responses`` on sampled inputs, counted.

The closed form and enumeration must agree to EXACT_RTOL (both are exact: only rounding differs);
the simulated frequencies must lie within K_SIGMA standard errors (binomial/sample standard error
of the mean over N responses, with a floor for degenerate indicators) of the exact value.
"""
from __future__ import annotations

import numpy as np
import pytest

from linparity import closed_form as cf
from linparity import exact
from linparity import simulate
from linparity.data import long_response, reward_function, sample_inputs, short_response
from linparity.model import LinearAR

EXACT_RTOL = 1e-10      # closed form vs enumeration (relative, with the same absolute floor)
K_SIGMA = 5.0           # simulation vs exact: |mean - exact| <= K_SIGMA * SE
N_SIM = 40_000          # sampled responses per case

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


def closed_form_route(theta, d, tau, reward) -> dict:
    tp = cf.trajectory_probs(theta, d, tau)
    return {"pi_long": tp.pi_long, "pi_short_correct": tp.pi_short_correct, "p_short": tp.p_short,
            "p_correct": tp.p_correct, "mean_length": tp.mean_length,
            "greedy_accuracy": cf.greedy_probs(theta, d).p_correct,
            "expected_reward": cf.expected_reward(theta, d, reward, tau)}


def exact_route(model, p, tau, reward) -> dict:
    e = exact.exact_metrics(model, p, tau)
    out = {k: e[k] for k in ("pi_long", "pi_short_correct", "p_short", "p_correct", "mean_length",
                             "greedy_accuracy")}
    out["expected_reward"] = exact.expected_reward(model, reward, tau)
    return out


def simulation_route(model, tau, reward, rng) -> tuple[dict, dict]:
    """Means and standard errors of per-response indicators over N_SIM sampled (x, y)."""
    d = model.d
    X = sample_inputs(N_SIM, d, rng)
    W = simulate.BatchedAR.stack([model])
    Y = simulate.sample_responses(W, X[None], [rng], tau)[0]                     # (N, d+1)
    G = simulate.greedy_responses(W, X[None])[0]
    short = Y[:, 1] == 0
    ind = {"pi_long": np.all(Y == long_response(X), axis=1),
           "pi_short_correct": np.all(Y == short_response(X), axis=1),
           "p_short": short,
           "p_correct": reward_function("e2e")(X, Y),
           "mean_length": np.where(short, 2.0, d + 1.0),
           "greedy_accuracy": reward_function("e2e")(X, G),
           "expected_reward": reward_function(reward)(X, Y)}
    mean = {k: float(np.mean(v)) for k, v in ind.items()}
    se = {k: max(float(np.std(np.asarray(v, dtype=float), ddof=1)) / np.sqrt(N_SIM), 1 / N_SIM)
          for k, v in ind.items()}
    return mean, se


@pytest.mark.parametrize("case", CASES, ids=[f"d{c[0]}-p{c[1]}-tau{c[3]}-{c[4]}" for c in CASES])
def test_three_routes_agree(case):
    d, p, lam, tau, reward = case
    theta = _theta(d, p, lam)
    model = LinearAR.from_theta(theta)
    closed = closed_form_route(theta, d, tau, reward)
    ex = exact_route(model, p, tau, reward)
    mean, se = simulation_route(model, tau, reward, np.random.default_rng([d, int(1000 * p)]))
    assert set(closed) == set(ex) == set(mean)
    for k in closed:
        assert ex[k] == pytest.approx(closed[k], rel=EXACT_RTOL, abs=EXACT_RTOL), k
        assert abs(mean[k] - ex[k]) <= K_SIGMA * se[k], (k, mean[k], ex[k], se[k])


def test_harness_detects_a_disagreement():
    # a route that is wrong by a small amount (every chain logit 0.3 lower in the simulated model)
    # must be caught by the same tolerance: the harness can fail
    d, p, lam, tau, reward = CASES[2]
    theta = _theta(d, p, lam)
    wrong = theta.copy()
    wrong[3:] -= 0.3
    ex = exact_route(LinearAR.from_theta(theta), p, tau, reward)
    mean, se = simulation_route(LinearAR.from_theta(wrong), tau, reward, np.random.default_rng(3))
    assert abs(mean["pi_long"] - ex["pi_long"]) > K_SIGMA * se["pi_long"]


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
