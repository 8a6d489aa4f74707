"""The data distribution D(p) of THEORY §1, responses and rewards (THEORY §6).

Conventions used everywhere in linparity
----------------------------------------
* Bits are int8 values +1 / -1; EOS is the token 0. A response ``Y`` is an int8 array of
  width d+1 holding its bits, then 0 (EOS) and 0 padding after it.
* The long chain is L(x) = (s_1, ..., s_d, EOS), with prefix parities s_j = x_1 ... x_j;
  the short answer is S(x) = (chi(x), EOS), chi(x) = s_d(x).
* Response length counts the EOS token: a short answer has length 2, a long chain d+1.
"""
from __future__ import annotations

import numpy as np

from ._checks import as_generator, check_d, check_int, check_prob
from ._validate import check_pm1, check_responses

__all__ = ["Mixture", "all_inputs", "prefix_parities", "long_response", "short_response",
           "response_length", "is_long", "reward_cot", "reward_e2e", "REWARDS", "reward_function",
           "check_reward", "sample_inputs",
           "MAX_ENUM_D"]

#: largest d for which exact enumeration over all 2^d inputs is offered
MAX_ENUM_D = 12


def all_inputs(d: int) -> np.ndarray:
    """All 2^d inputs of {+1,-1}^d as an int8 array ``(2^d, d)``.

    Row ``i`` holds bit j = -1 where bit j (from the left, most significant first) of i is 1.
    """
    d = check_d(d, 1, MAX_ENUM_D)
    i = np.arange(2 ** d)[:, None]
    bits = (i >> np.arange(d - 1, -1, -1)) & 1  # (2^d, d)
    return (1 - 2 * bits).astype(np.int8)


def prefix_parities(X: np.ndarray) -> np.ndarray:
    """Prefix parities s_j(x) = x_1 ... x_j, int8 ``(n, d)``; the last column is chi(x)."""
    return np.cumprod(np.asarray(X, dtype=np.int8), axis=1, dtype=np.int8)


def long_response(X: np.ndarray) -> np.ndarray:
    """L(x) = (s_1, ..., s_d, EOS) as int8 ``(n, d+1)``."""
    X = np.asarray(X, dtype=np.int8)
    Y = np.zeros((X.shape[0], X.shape[1] + 1), dtype=np.int8)
    Y[:, :-1] = prefix_parities(X)
    return Y


def short_response(X: np.ndarray) -> np.ndarray:
    """S(x) = (chi(x), EOS) as int8 ``(n, d+1)``."""
    X = np.asarray(X, dtype=np.int8)
    Y = np.zeros((X.shape[0], X.shape[1] + 1), dtype=np.int8)
    Y[:, 0] = np.prod(X, axis=1, dtype=np.int8)
    return Y


def response_length(Y: np.ndarray) -> np.ndarray:
    """Number of tokens including EOS, ``(n,)``: 2 for a short answer, d+1 for a long chain.

    A row of width d+1 with no EOS (all d+1 entries nonzero) counts d+1.
    """
    Y = np.asarray(Y)
    return np.minimum((Y != 0).sum(axis=1) + 1, Y.shape[1])


def is_long(Y: np.ndarray) -> np.ndarray:
    """True where the response is longer than a short answer, ``(n,)`` bool."""
    return np.asarray(Y)[:, 1] != 0


def _check_reward_args(X, Y) -> tuple[np.ndarray, np.ndarray]:
    """X ``(n, d)`` of +-1 and Y ``(n, d+1)`` of +-1/0 with the same n and d; int8 copies."""
    X = check_pm1("X", X)
    Y = check_responses("Y", Y, X.shape[0], X.shape[1])
    return X.astype(np.int8), Y.astype(np.int8)


def reward_cot(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """r_cot (THEORY §6): 1.0 where Y is exactly L(x) or exactly S(x), else 0.0; ``(n,)``.

    X ``(n, d)`` must hold +-1 and Y ``(n, d+1)`` +-1/0 (ValueError naming X or Y otherwise).
    """
    X, Y = _check_reward_args(X, Y)
    ok = np.all(Y == long_response(X), axis=1) | np.all(Y == short_response(X), axis=1)
    return ok.astype(np.float64)


def reward_e2e(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """r_e2e (THEORY §6): 1.0 where the last bit before EOS equals chi(x), else 0.0; ``(n,)``.

    A response with no bit at all (EOS first) gets 0. X and Y are checked as in :func:`reward_cot`.
    """
    X, Y = _check_reward_args(X, Y)
    nbits = (Y != 0).sum(axis=1)
    last = Y[np.arange(Y.shape[0]), np.maximum(nbits - 1, 0)]
    return ((nbits > 0) & (last == np.prod(X, axis=1, dtype=np.int8))).astype(np.float64)


#: reward functions by name, as the CLI spells them
REWARDS = {"cot": reward_cot, "e2e": reward_e2e}


def check_reward(reward) -> str:
    """The reward name ``reward``, one of :data:`REWARDS` ('cot', 'e2e'); ValueError otherwise."""
    if not isinstance(reward, str) or reward not in REWARDS:
        raise ValueError(f"reward: must be one of {tuple(REWARDS)}, got {reward!r}")
    return reward


def sample_inputs(n: int, d: int, rng=None) -> np.ndarray:
    """``n`` inputs x uniform on {+1,-1}^d (THEORY §1), int8 ``(n, d)``.

    Random stream: ``rng.integers(0, 2, size=(n, d), dtype=int8)``, bit 1 -> -1. Every sampler of
    inputs in linparity draws through this function (Mixture.sample too), so equal generators give
    equal inputs.
    """
    n = check_int("n", n, 0)
    d = check_d(d)
    return (1 - 2 * as_generator(rng).integers(0, 2, size=(n, d), dtype=np.int8)).astype(np.int8)


def reward_function(reward):
    """The reward function named ``reward`` ('cot' or 'e2e'); a callable r(X, Y) is returned as is."""
    if callable(reward):
        return reward
    if reward not in REWARDS:
        raise ValueError(f"reward: must be one of {tuple(REWARDS)} or a callable r(X, Y), got {reward!r}")
    return REWARDS[reward]


class Mixture:
    """The mixture D(p) of THEORY §1.

    x is uniform on {+1,-1}^d; with probability ``p_cot`` the response is the long chain
    L(x), otherwise the short answer S(x).

    Parameters
    ----------
    d : int
        Number of input bits, d >= 2.
    p_cot : float
        Probability p of a long chain-of-thought response, in [0, 1] (0 and 1 are legal).
    """

    def __init__(self, d: int, p_cot: float):
        self.d = check_d(d)
        self.p_cot = check_prob("p_cot", p_cot)

    def __repr__(self) -> str:
        return f"Mixture(d={self.d}, p_cot={self.p_cot!r})"

    def sample(self, n: int, rng=None) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``n`` i.i.d. pairs.

        Returns
        -------
        X : int8 ndarray ``(n, d)`` of +-1.
        Y : int8 ndarray ``(n, d+1)``: +-1 bits, then 0 for EOS and every later position.

        Random stream: first the n*d input bits (``rng.integers``), then n uniforms that
        decide long (u < p_cot) or short. Simulation code relies on this order.
        """
        n = check_int("n", n, 0)
        rng = as_generator(rng)
        X = sample_inputs(n, self.d, rng)
        long_ = rng.random(n) < self.p_cot
        S = prefix_parities(X)
        Y = np.zeros((n, self.d + 1), dtype=np.int8)
        Y[long_, :-1] = S[long_]
        Y[~long_, 0] = S[~long_, -1]
        return X, Y

    def enumerate(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every (x, response) pair with its exact probability (d <= 12).

        Returns
        -------
        X : int8 ``(2 * 2^d, d)``: all inputs, listed twice.
        Y : int8 ``(2 * 2^d, d+1)``: first L(x) for each input, then S(x).
        weight : float64 ``(2 * 2^d,)``: p/2^d for the long rows, (1-p)/2^d for the short
            rows; sums to 1. Rows of weight 0 (p = 0 or 1) are kept so that shapes do not
            depend on p.
        """
        if self.d > MAX_ENUM_D:
            raise ValueError(f"d: exact enumeration needs d in [2, {MAX_ENUM_D}], got {self.d}")
        Xa = all_inputs(self.d)
        n = Xa.shape[0]
        X = np.concatenate([Xa, Xa])
        Y = np.concatenate([long_response(Xa), short_response(Xa)])
        weight = np.concatenate([np.full(n, self.p_cot / n), np.full(n, (1 - self.p_cot) / n)])
        return X, Y, weight
