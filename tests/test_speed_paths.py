"""Fast paths of issue 10 §2 agree with their plain references (no timing here: see benchmarks/).

* ``metrics.per_input`` (one GEMM pass + compiled chain pass) against the definition through
  :meth:`LinearAR.log_prob` and :meth:`LinearAR.greedy` (reference values: those methods).
* ``model.log_sigmoid`` against scipy.special.log_expit (the same formula).
"""
import numpy as np
import pytest
from hypothesis import given, strategies as st
from scipy.special import log_expit

from linparity.data import long_response, short_response
from linparity.metrics import inputs_for, per_input
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
