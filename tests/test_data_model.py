"""Data distribution D(p) and the linear autoregressive model (THEORY §1-2).

Reference values: exact probabilities come from brute-force enumeration of every response built
here from THEORY §2 (independently of linparity.exact); statistical checks use fixed seeds
and 5-sigma binomial tolerances or a chi-square goodness-of-fit threshold at 1e-6.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.special import expit
from scipy.stats import chi2

from linparity import LinearAR, Mixture
from linparity.data import (all_inputs, long_response, response_length, reward_cot, reward_e2e,
                            short_response)

from _helpers import all_responses, random_model


# ----------------------------------------------------------------------------- data
def test_sample_shapes_and_responses():
    m = Mixture(6, 0.3)
    X, Y = m.sample(5000, rng=1)
    assert X.dtype == np.int8 and Y.dtype == np.int8
    assert X.shape == (5000, 6) and Y.shape == (5000, 7)
    assert set(np.unique(X)) == {-1, 1}
    L, S = long_response(X), short_response(X)
    is_L, is_S = np.all(Y == L, axis=1), np.all(Y == S, axis=1)
    assert np.all(is_L ^ is_S)  # every row is exactly one of L(x), S(x)
    # long fraction: binomial, 5 sigma = 5 sqrt(p(1-p)/n)
    assert abs(is_L.mean() - 0.3) < 5 * np.sqrt(0.3 * 0.7 / 5000)
    # L starts with s_1 = x_1 and ends with chi; S is (chi, EOS)
    assert np.all(L[:, 0] == X[:, 0]) and np.all(L[:, 5] == np.prod(X, axis=1))


@pytest.mark.parametrize("p", [0.0, 1.0])
def test_sample_edge_probabilities(p):
    X, Y = Mixture(3, p).sample(200, rng=0)
    assert np.all(response_length(Y) == (4 if p == 1 else 2))


def test_rng_spec7():
    m = Mixture(4, 0.5)
    a = m.sample(10, 123)
    for rng in (123, np.random.SeedSequence(123), np.random.default_rng(123)):
        b = m.sample(10, rng)
        assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    c = m.sample(10, 124)
    assert not np.array_equal(a[0], c[0])


def test_enumerate_weights():
    X, Y, w = Mixture(5, 0.2).enumerate()
    assert X.shape == (64, 5) and w.sum() == pytest.approx(1.0, abs=1e-15)
    assert len({tuple(r) for r in X[:32]}) == 32  # all inputs, each once per half
    assert w[:32].sum() == pytest.approx(0.2, abs=1e-15)


@pytest.mark.parametrize("kw, name", [({"d": 1, "p_cot": 0.5}, "d"), ({"d": 3.5, "p_cot": 0.5}, "d"),
                                      ({"d": 3, "p_cot": -0.1}, "p_cot"), ({"d": 3, "p_cot": 1.1}, "p_cot"),
                                      ({"d": 3, "p_cot": float("nan")}, "p_cot")])
def test_mixture_bad_input(kw, name):
    with pytest.raises(ValueError, match=name):
        Mixture(**kw)


def test_enumerate_too_large():
    with pytest.raises(ValueError, match="d"):
        Mixture(13, 0.5).enumerate()


def test_rewards():
    X = all_inputs(4)
    L, S = long_response(X), short_response(X)
    assert np.all(reward_cot(X, L) == 1) and np.all(reward_cot(X, S) == 1)
    bad = L.copy()
    bad[:, 1] *= -1  # a wrong intermediate bit, right final bit: cot rejects, e2e accepts
    assert np.all(reward_cot(X, bad) == 0) and np.all(reward_e2e(X, bad) == 1)
    bad[:, 3] *= -1  # wrong final bit: both reject
    assert np.all(reward_cot(X, bad) == 0) and np.all(reward_e2e(X, bad) == 0)
    wrong_short = S.copy()
    wrong_short[:, 0] *= -1
    assert np.all(reward_e2e(X, wrong_short) == 0)


# ----------------------------------------------------------------------------- model
@given(d=st.integers(2, 6), seed=st.integers(0, 2**32 - 1), tau=st.sampled_from([0.3, 1.0, 2.5]))
def test_response_distribution_sums_to_one(d, seed, tau):
    m = random_model(d, np.random.default_rng(seed), 2.0)
    X = all_inputs(d)
    R = all_responses(d)
    P = np.exp(np.stack([m.log_prob(X, np.broadcast_to(r, (len(X), d + 1)), tau) for r in R]))
    np.testing.assert_allclose(P.sum(axis=0), 1.0, rtol=0, atol=1e-12)


def test_log_prob_matches_hand_formula():
    """THEORY §2 written out for one sample at d = 3 (feature order of phi_l)."""
    rng = np.random.default_rng(5)
    d = 3
    m = random_model(d, rng, 1.0)
    x = np.array([1, -1, -1])
    y = np.array([1, -1, 1, 0])
    z2 = np.array([*x, y[0]])
    phi2 = np.concatenate([z2, z2[-1] * x])
    z3 = np.array([*x, y[0], y[1]])
    phi3 = np.concatenate([z3, z3[-1] * x])
    ref = (np.log(expit(y[0] * m.w1 @ x)) + np.log(expit(-(m.w2a @ phi2 + m.b2a)))
           + np.log(expit(y[1] * m.chain[0] @ phi2)) + np.log(expit(y[2] * m.chain[1] @ phi3)))
    got = m.log_prob(x[None].astype(np.int8), y[None].astype(np.int8))[0]
    assert got == pytest.approx(ref, rel=1e-13)


def test_temperature_is_weight_scaling():
    rng = np.random.default_rng(2)
    m = random_model(4, rng, 1.0)
    X = all_inputs(4)
    Y = long_response(X)
    scaled = LinearAR.from_vector(4, m.to_vector() / 0.7)
    np.testing.assert_allclose(m.log_prob(X, Y, 0.7), scaled.log_prob(X, Y), rtol=1e-12)


def test_impossible_responses_have_zero_probability():
    m = random_model(4, np.random.default_rng(0), 1.0)
    X = all_inputs(4)[:3]
    Y = np.zeros((3, 5), dtype=np.int8)
    Y[0, :3] = 1          # length 4: neither short nor long
    Y[2, 0] = 0           # EOS first
    Y[1, :4] = [1, 0, 1, 1]
    assert np.all(m.log_prob(X, Y) == -np.inf)


def test_extreme_logits_stay_finite():
    m = LinearAR.from_reduced(5, 1e6, -1e6, 1e6, 1e6)
    X = all_inputs(5)
    for Y in (long_response(X), short_response(X)):
        lp = m.log_prob(X, Y, 1e-3)
        assert np.all(np.isfinite(lp) | (lp == -np.inf))
        assert not np.any(np.isnan(lp))


@given(d=st.integers(2, 8), vals=st.lists(st.floats(-50, 50), min_size=11, max_size=11))
def test_reduced_round_trip(d, vals):
    a, b, c, *chain = vals[: 3 + d - 1] if len(vals) >= d + 2 else vals
    chain = (chain + [0.0] * d)[: d - 1]
    m = LinearAR.from_reduced(d, a, b, c, chain)
    r = m.reduced()
    assert (r.a, r.b, r.c) == (a, b, c) and np.array_equal(r.chain, chain)
    assert r.off_subspace_norm == 0.0
    m.chain[-1][0] += 3.0
    m.w2a[0] -= 4.0  # off-subspace weight of norm 5
    assert m.reduced().off_subspace_norm == pytest.approx(5.0, rel=1e-15)


def test_chain_is_realisable_on_target_feature():
    """With only c_l = +big on y_{l-1} x_l, greedy decoding reproduces L(x) for every x."""
    d = 6
    m = LinearAR.from_reduced(d, 5.0, -5.0, -1.0, 5.0)  # a > 0, stop logit b + c y1x1 < 0: go on
    X = all_inputs(d)
    assert np.array_equal(m.greedy(X), long_response(X))


def test_greedy_ties():
    """All weights 0: bits +1 (logit 0 -> +1) and the stop head goes on (logit 0 -> go on)."""
    d = 4
    G = LinearAR.zeros(d).greedy(all_inputs(d))
    assert np.all(G[:, :d] == 1) and np.all(G[:, d] == 0)


@pytest.mark.parametrize("d", [3, 4])
def test_sampling_goodness_of_fit(d):
    """Chi-square goodness of fit of 20000 sampled responses of one input against exact probabilities.

    The threshold is the 1 - 1e-6 quantile of chi2(k-1): a correct sampler fails with prob 1e-6.
    """
    rng = np.random.default_rng(11)
    m = random_model(d, rng, 0.8)
    x = all_inputs(d)[[3]]
    R = all_responses(d)
    p = np.exp(m.log_prob(np.repeat(x, len(R), 0), R, 1.3))
    n = 20000
    Y = m.sample(np.repeat(x, n, 0), rng=7, temperature=1.3)
    idx = {tuple(r): i for i, r in enumerate(R)}
    counts = np.bincount([idx[tuple(r)] for r in Y], minlength=len(R))
    keep = p * n >= 5
    stat = ((counts[keep] - n * p[keep]) ** 2 / (n * p[keep])).sum() + \
        ((counts[~keep].sum() - n * p[~keep].sum()) ** 2 / max(n * p[~keep].sum(), 1e-300) if (~keep).any() else 0)
    assert stat < chi2.ppf(1 - 1e-6, keep.sum() + (~keep).any() - 1)


def test_sample_small_temperature_is_greedy():
    m = random_model(5, np.random.default_rng(3), 3.0)
    X = all_inputs(5)
    assert np.array_equal(m.sample(X, rng=0, temperature=1e-9), m.greedy(X))


@pytest.mark.parametrize("bad, name", [(lambda: LinearAR(np.zeros(3), np.zeros(5), 0, [np.zeros(7), np.zeros(8)]), "w2a"),
                                       (lambda: LinearAR(np.zeros(3), np.zeros(7), 0, [np.zeros(7)]), "chain"),
                                       (lambda: LinearAR.zeros(3).log_prob(np.ones((2, 4)), np.ones((2, 4))), "X"),
                                       (lambda: LinearAR.zeros(3).sample(np.ones((2, 3)), temperature=0), "temperature"),
                                       (lambda: LinearAR.from_reduced(4, 0, 0, 0, [1, 2]), "chain")])
def test_model_bad_input(bad, name):
    with pytest.raises(ValueError, match=name):
        bad()
