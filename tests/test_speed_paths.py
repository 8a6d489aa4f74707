"""The compiled and blocked fast paths agree with their plain references (no timing here: see benchmarks/).

* ``metrics.per_input`` (one GEMM pass + compiled chain pass) against the definition through
  :meth:`LinearAR.log_prob` and :meth:`LinearAR.greedy` (reference values: those methods).
* ``model.log_sigmoid`` against scipy.special.log_expit (the same formula).
* ``measures.bootstrap_max_se`` (exact ideal bootstrap) against enumeration of every resample, and
  ``measures.evaluate_models`` (one input draw for all models) against ``evaluate`` per model.
* ``data.DistinctInputs`` (sorted packed keys) against a Python set of row tuples.
"""
import itertools

import numpy as np
import pytest
from hypothesis import given, strategies as st
from scipy.special import log_expit

from linparity.data import long_response, short_response
from linparity.measures import bootstrap_max_se, evaluate, evaluate_models, inputs_for, per_input
from linparity.model import LinearAR, log_sigmoid


def _per_input_reference(model, X, tau):
    """per_input by its definition: four log_prob calls and greedy decoding."""
    X = np.asarray(X, dtype=np.int8)
    n, d = X.shape
    p_short = np.zeros(n)
    for y1 in (1, -1):
        Y = np.zeros((n, d + 1), dtype=np.int8)
        Y[:, 0] = y1
        p_short += np.exp(model.log_prob(X, Y, tau))
    G = model.greedy(X)
    last = G[np.arange(n), (G != 0).sum(axis=1) - 1]
    return {"pi_long": np.exp(model.log_prob(X, long_response(X), tau)),
            "pi_short_correct": np.exp(model.log_prob(X, short_response(X), tau)),
            "p_short": p_short, "mean_length": 2 * p_short + (d + 1) * (1 - p_short),
            "greedy_correct": (last == np.prod(X, axis=1)).astype(np.float64)}


@pytest.mark.parametrize("d", [2, 3, 6, 30])
@pytest.mark.parametrize("tau", [1.0, 0.4])
@pytest.mark.parametrize("scale", [0.3, 3.0])
def test_per_input_matches_log_prob_and_greedy(d, tau, scale):
    rng = np.random.default_rng(d)
    m = LinearAR.from_vector(d, scale * rng.normal(size=LinearAR.n_params(d)))
    X, _ = inputs_for(d, 3000, rng)
    ref, fast = _per_input_reference(m, X, tau), per_input(m, X, tau)
    for k in ref:
        # log-probabilities are sums of <= d+1 terms of size <= |logit|/tau: agreement to
        # ~1e-15 relative in the log, i.e. 1e-12 relative in the probability
        np.testing.assert_allclose(fast[k], ref[k], rtol=1e-12, atol=0, err_msg=k)


def test_per_input_zero_model_ties():
    """All weights 0: every logit is exactly 0, greedy goes on with +1 bits (tie rules)."""
    d = 5
    X, _ = inputs_for(d)
    ref, fast = _per_input_reference(LinearAR.zeros(d), X, 1.0), per_input(LinearAR.zeros(d), X)
    for k in ref:
        np.testing.assert_array_equal(fast[k], ref[k], err_msg=k)


@given(st.floats(-1e300, 1e300, allow_nan=False))
def test_log_sigmoid_equals_log_expit(m):
    np.testing.assert_allclose(log_sigmoid(np.array([m, -m])), log_expit(np.array([m, -m])),
                               rtol=4e-16, atol=0)
    assert log_sigmoid(m) == pytest.approx(float(log_expit(m)), rel=4e-16, abs=0)


@given(st.lists(st.integers(0, 4), min_size=2, max_size=6), st.floats(0.1, 10.0))
def test_bootstrap_max_se_equals_enumeration(ints, scale):
    # reference: all n^n equally likely resamples enumerated (values with ties: small integers)
    v = scale * np.array(ints, dtype=np.float64)
    n = v.size
    maxima = np.array([v[list(idx)].max() for idx in itertools.product(range(n), repeat=n)])
    assert bootstrap_max_se(v) == pytest.approx(maxima.std(), rel=1e-10, abs=1e-12)


def test_bootstrap_max_se_truncation_and_monte_carlo():
    # reference 1: top = n - 1 keeps every value apart (exact); the default top = 64 lumps mass
    # <= e^-64 on one value and must agree to rounding. Reference 2: 4000 ordinary bootstrap
    # resamples; their sd estimates the same quantity with standard error
    # sd sqrt((kurtosis - 1) / (4 n_b)) (delta method); tolerance 5 of those
    rng = np.random.default_rng(0)
    v = rng.exponential(size=3000)
    exact = bootstrap_max_se(v, top=v.size - 1)
    assert bootstrap_max_se(v) == pytest.approx(exact, rel=1e-12)
    m = np.array([v[rng.integers(0, v.size, v.size)].max() for _ in range(4000)])
    se_of_sd = m.std(ddof=1) * np.sqrt((np.mean((m - m.mean()) ** 4) / m.var() ** 2 - 1) / (4 * m.size))
    assert abs(m.std(ddof=1) - exact) <= 5 * se_of_sd


@pytest.mark.parametrize("v, top, msg", [([1.0], 64, "v: need >= 2"), ([1.0, np.nan], 64, "v: must be finite"),
                                         ([1.0, 2.0], 0, "top")])
def test_bootstrap_max_se_rejects_bad_input(v, top, msg):
    with pytest.raises(ValueError, match=msg):
        bootstrap_max_se(v, top)


@pytest.mark.parametrize("d", [6, 20])
def test_evaluate_models_equals_evaluate_per_model(d):
    # reference: evaluate per model with the same int seed (the same input draw each time)
    rng = np.random.default_rng(d)
    models = [LinearAR.from_vector(d, rng.normal(size=LinearAR.n_params(d))) for _ in range(3)]
    many = evaluate_models(models, 0.3, n_mc=5000, rng=9)
    for m, e in zip(models, many):
        assert e == evaluate(m, 0.3, n_mc=5000, rng=9)
    with pytest.raises(ValueError, match="models: must share one d"):
        evaluate_models(models + [LinearAR.zeros(d + 1)], 0.3)


@pytest.mark.parametrize("d", [3, 8, 64, 65, 130])
def test_distinct_counter_equals_a_python_set(d):
    # reference: a set of row tuples; duplicates forced by drawing from a pool, len() between the
    # adds exercises the merge of new keys into the counted ones; d = 64, 65, 130 cross the key widths
    from linparity.data import DistinctInputs
    rng = np.random.default_rng(d)
    pool = np.where(rng.random((40, d)) < 0.5, 1, -1).astype(np.int8)
    counter, ref = DistinctInputs(d), set()
    for k in range(5):
        X = pool[rng.integers(0, 40, 25)]
        counter.add(X)
        ref.update(map(tuple, X.tolist()))
        if k % 2:
            assert len(counter) == len(ref)
    assert len(counter) == len(ref)


# ----------------------------------------------------------------------------- closed-form Pegasos
import linparity.closed_form as cf  # noqa: E402
from linparity.heads import lam_triple  # noqa: E402


def _discrete_dynamics_reference(d, p, lam, steps, step="pegasos", theta0=None, *, average=None,
                                 q=None, r=None):
    """The plain numpy loop that discrete_dynamics replaced (population_grad per step)."""
    l1, l2, lc = lam_triple(lam)
    per_head = np.array([l1, l2, l2] + [lc] * (d - 1))
    if isinstance(step, str):
        etas = 1.0 / (per_head[None, :] * np.arange(1, steps + 1)[:, None])
        average = True if average is None else average
    elif callable(step):
        etas = np.array([step(t) for t in range(1, steps + 1)], dtype=np.float64)
    else:
        etas = np.asarray(step, dtype=np.float64)
        if etas.ndim == 0:
            etas = np.full(steps, float(etas))
    etas = np.broadcast_to(etas.reshape(steps, -1), (steps, d + 2))
    etas = etas * np.concatenate([np.ones(3), np.full(d - 1, 1.0 if (p if q is None else q) > 0 else 0.0)])
    theta = np.zeros(d + 2) if theta0 is None else np.array(theta0, dtype=np.float64)
    out = np.empty((steps + 1, d + 2))
    out[0] = theta
    mean = np.zeros(d + 2)
    for t in range(1, steps + 1):
        theta = theta - etas[t - 1] * cf.population_grad(theta, d, p, lam, q=q, r=r)
        mean += (theta - mean) / t
        out[t] = mean if average else theta
    return out


@given(st.integers(3, 8), st.sampled_from([0.0, 0.3, 1.0]),
       st.tuples(*[st.floats(1e-3, 1.0)] * 3), st.integers(0, 3), st.booleans(), st.booleans(),
       st.integers(0, 2 ** 32 - 1))
def test_discrete_dynamics_equals_numpy_loop(d, p, lam, step_kind, with_theta0, mixture, seed):
    """Compiled recursion = the numpy loop to 1e-12 relative (observed: bitwise, same formulas)."""
    rng = np.random.default_rng(seed)
    n = 60
    step = ["pegasos", 0.3, lambda t: 1 / (t + 3), rng.random((n, d + 2))][step_kind]
    theta0 = rng.normal(size=d + 2) if with_theta0 else None
    kw = dict(q=float(rng.random()), r=float(rng.random())) if mixture else {}
    ref = _discrete_dynamics_reference(d, p, lam, n, step, theta0, **kw)
    fast = cf.discrete_dynamics(d, p, lam, n, step, theta0, **kw)
    np.testing.assert_allclose(fast, ref, rtol=1e-12, atol=1e-300)
    np.testing.assert_array_equal(cf.discrete_dynamics_end(d, p, lam, n, step, theta0, **kw), fast[-1])


def test_discrete_dynamics_long_run_d50():
    """20000 Pegasos steps at d = 50 (the chain coordinates run once and are copied)."""
    ref = _discrete_dynamics_reference(50, 0.25, 0.01, 20000)[-1]
    np.testing.assert_allclose(cf.discrete_dynamics_end(50, 0.25, 0.01, 20000), ref, rtol=1e-12, atol=0)
