"""Helpers shared by the test modules (no test module imports another)."""
import itertools

import numpy as np

from linparity.model import LinearAR
from linparity.simulate.ntp import PretrainResult


def random_model(d, rng, scale):
    """A LinearAR with i.i.d. N(0, scale^2) weights from ``np.random.default_rng(rng)`` (an int seed
    or a Generator, whose stream it consumes)."""
    return LinearAR.from_vector(d, scale * np.random.default_rng(rng).normal(size=LinearAR.n_params(d)))


def all_responses(d):
    """Every response the model can produce: 2 short, 2^d long, as int8 (2 + 2^d, d+1)."""
    rows = [[y1] + [0] * d for y1 in (1, -1)]
    rows += [list(bits) + [0] for bits in itertools.product((1, -1), repeat=d)]
    return np.array(rows, dtype=np.int8)


def sgd_allowance(res: PretrainResult) -> np.ndarray:
    """Optimisation-bias allowance per coordinate of the full weight vector (THEORY §5).

    THEORY §5: L(w_bar) - min L <= 2 rho^2 (1 + ln T) / (delta lambda T) with probability
    1 - delta; it is Markov's inequality applied to the Pegasos expectation bound
    E L(w_bar) - min L <= 2 rho^2 (1 + ln T) / (lambda T), rho = max |phi| (the stochastic
    gradient sigma(-m) u phi + lambda w has norm <= 2 rho since |lambda w_t| <= rho).
    lambda-strong convexity gives (lambda/2) |w_bar - w*|^2 <= L(w_bar) - L(w*), so
    |E w_bar - w*| <= sqrt(E |w_bar - w*|^2) <= (2 rho / lambda) sqrt((1 + ln T) / T)
    for every coordinate of the head. rho^2 = d (head 1), 2d+2 (head 2a, bias feature 1),
    2d+l-1 (chain head l); T = steps for heads 1 and 2a, the smallest t_long over
    replicates for chain heads (the bound decreases in T).
    """
    d, T = res.d, res.steps
    Tc = int(res.n_chain_steps_.min())

    def bound(rho2, lam, t):
        return 2 * np.sqrt(rho2) / lam * np.sqrt((1 + np.log(t)) / t)
    parts = [np.full(d, bound(d, res.lam1, T)), np.full(2 * d + 2, bound(2 * d + 2, res.lam2a, T))]
    parts += [np.full(2 * d + l - 1, bound(2 * d + l - 1, res.lam_chain[l - 2], Tc))
              for l in range(2, d + 1)]
    return np.concatenate(parts)


def assert_refused_naming(call, name):
    """``call()`` raises a ValueError whose message starts with ``name: `` (the argument it names)."""
    import pytest
    with pytest.raises(ValueError) as e:
        call()
    assert str(e.value).startswith(f"{name}: "), str(e.value)
