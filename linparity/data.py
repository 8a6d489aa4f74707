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
from numba import njit

from ._checks import as_generator, check_d, check_int, check_prob
from ._validate import MAX_ENUM_D, check_alloc, check_pm1, check_responses

__all__ = ["Mixture", "NOISE_KINDS", "all_inputs", "prefix_parities", "long_response", "short_response",
           "response_length", "is_long", "reward_cot", "reward_e2e", "REWARDS", "reward_function",
           "check_reward", "check_noise_kind", "sample_inputs", "DistinctInputs", "expected_distinct",
           "MAX_ENUM_D", "CHAINS", "chain_steps", "chain_response"]

#: kinds of long demonstration: "full" folds in one new bit per step (L(x)), "leap2" two
CHAINS = ("full", "leap2")


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


def chain_steps(d: int, chain: str = "full") -> np.ndarray:
    """Prefix lengths j whose parities s_j a long demonstration writes, int ``(k,)``.

    ``"full"``: 1, 2, ..., d (L(x)). ``"leap2"`` (partial chains, THEORY §7): 2, 4, ..., and d
    last (so d odd ends with one single-bit step): each step folds in two new bits.
    """
    if chain not in CHAINS:
        raise ValueError(f"chain: must be one of {CHAINS}, got {chain!r}")
    if chain == "full":
        return np.arange(1, d + 1)
    return np.unique(np.append(np.arange(2, d + 1, 2), d))


def chain_response(X: np.ndarray, chain: str = "full") -> np.ndarray:
    """The long demonstration of kind ``chain``: (s_j for j in chain_steps, EOS, 0 padding),
    int8 ``(n, d+1)``. ``chain_response(X, "full")`` is :func:`long_response`."""
    X = np.asarray(X, dtype=np.int8)
    J = chain_steps(X.shape[1], chain)  # (k,)
    Y = np.zeros((X.shape[0], X.shape[1] + 1), dtype=np.int8)
    Y[:, :len(J)] = prefix_parities(X)[:, J - 1]
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
    check_alloc("n", 1.0 * n * d)                 # the int8 draws, turned into +-1 in place
    X = as_generator(rng).integers(0, 2, size=(n, d), dtype=np.int8)
    X *= -2                                       # in place: 0 -> 1, 1 -> -1
    X += 1
    return X


def reward_function(reward):
    """The reward function named ``reward`` ('cot' or 'e2e'); a callable r(X, Y) is returned as is."""
    if callable(reward):
        return reward
    if not isinstance(reward, str) or reward not in REWARDS:
        raise ValueError(f"reward: must be one of {tuple(REWARDS)} or a callable r(X, Y), got {reward!r}")
    return REWARDS[reward]


#: kinds of noise on long demonstrations (THEORY §8)
NOISE_KINDS = ("final", "carried")


def check_noise_kind(kind) -> str:
    """``kind`` if it is one of :data:`NOISE_KINDS`; ValueError otherwise."""
    if not isinstance(kind, str) or kind not in NOISE_KINDS:
        raise ValueError(f"noise_kind: must be one of {NOISE_KINDS}, got {kind!r}")
    return kind


@njit(cache=True, nogil=True)
def _fill_full(X, long_, Y):
    """Y[i] = L(x_i) (its bits s_1..s_d) where long_[i], else S(x_i) (chi(x_i) in column 0), in
    place over a zero Y ``(n, d+1)`` int8; X ``(n, d)`` int8. One pass: Mixture.sample's
    responses for the full chain, equal to prefix_parities row by row."""
    n, d = X.shape
    for i in range(n):
        s = np.int8(1)
        if long_[i]:
            for j in range(d):
                s *= X[i, j]
                Y[i, j] = s
        else:
            for j in range(d):
                s *= X[i, j]
            Y[i, 0] = s


class Mixture:
    """The mixture D(p) of THEORY §1, optionally with noisy long demonstrations (THEORY §8).

    x is uniform on {+1,-1}^d; with probability ``p_cot`` the response is the long chain
    L(x), otherwise the short answer S(x). With ``noise`` = eps_n > 0 each long demonstration is
    corrupted with probability eps_n:

    * ``noise_kind='final'``: its last bit s_d is flipped (the chain is right, the answer wrong);
    * ``noise_kind='carried'``: at a uniform step j in 1..d the bit s_j is flipped and every later
      step is computed from it, y_k = y_{k-1} x_k, i.e. y_k = -s_k for every k >= j (the chain is
      consistent after j and the answer wrong).

    Short answers stay clean.

    Parameters
    ----------
    d : int
        Number of input bits, d >= 2.
    p_cot : float
        Probability p of a long chain-of-thought response, in [0, 1] (0 and 1 are legal).
    noise : float
        Corruption rate eps_n of long demonstrations, in [0, 1] (default 0: D(p) itself).
    noise_kind : str
        'final' (default) or 'carried'.
    chain : {"full", "leap2"}
        The long demonstration: L(x) (default), or the partial chain that folds in two bits
        per step, (s_2, s_4, ..., chi(x), EOS) (:func:`chain_response`). ``sample`` only;
        ``enumerate`` and the linear model's theory use the full chain.
    """

    def __init__(self, d: int, p_cot: float, noise: float = 0.0, noise_kind: str = "final",
                 chain: str = "full"):
        self.d = check_d(d)
        self.p_cot = check_prob("p_cot", p_cot)
        self.noise = check_prob("noise", noise)
        self.noise_kind = check_noise_kind(noise_kind)
        chain_steps(self.d, chain)  # ValueError naming `chain`
        self.chain = chain
        if self.chain != "full" and self.noise > 0:
            raise ValueError("noise: noisy demonstrations are defined for the full chain only (THEORY §8); "
                             f"got noise={self.noise} with chain={chain!r}")

    def __repr__(self) -> str:
        extra = f", noise={self.noise!r}, noise_kind={self.noise_kind!r}" if self.noise > 0 else ""
        extra += "" if self.chain == "full" else f", chain={self.chain!r}"
        return f"Mixture(d={self.d}, p_cot={self.p_cot!r}{extra})"

    def sample(self, n: int, rng=None) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``n`` i.i.d. pairs.

        Returns
        -------
        X : int8 ndarray ``(n, d)`` of +-1.
        Y : int8 ndarray ``(n, d+1)``: +-1 bits, then 0 for EOS and every later position.

        Random stream: first the n*d input bits (``rng.integers``), then n uniforms that
        decide long (u < p_cot) or short. Simulation code relies on this order. Only when
        ``noise > 0`` are more numbers drawn, after these: n uniforms (corrupt where u < noise,
        long rows only) and, for 'carried', n flip steps j (``rng.integers(1, d+1, n)``); so
        ``noise = 0`` gives exactly the stream (and samples) of the clean mixture.
        """
        n = check_int("n", n, 0)
        rng = as_generator(rng)
        X = sample_inputs(n, self.d, rng)
        long_ = rng.random(n) < self.p_cot
        Y = np.zeros((n, self.d + 1), dtype=np.int8)
        if self.chain == "full":
            _fill_full(X, long_, Y)
        else:
            Y[long_] = chain_response(X[long_], self.chain)
            Y[~long_, 0] = prefix_parities(X[~long_])[:, -1]
        if self.noise > 0:
            bad = long_ & (rng.random(n) < self.noise)                    # (n,) corrupted long rows
            if self.noise_kind == "final":
                Y[bad, self.d - 1] *= -1
            else:
                j = rng.integers(1, self.d + 1, size=n)                   # (n,) flip step, 1-based
                flip = bad[:, None] & (np.arange(1, self.d + 1)[None, :] >= j[:, None])  # (n, d)
                Y[:, :-1] = np.where(flip, -Y[:, :-1], Y[:, :-1])
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

        With ``noise`` = eps > 0 the clean long rows get weight p (1-eps)/2^d and the corrupted
        long responses follow the short rows: for 'final' one block of 2^d rows (L(x) with s_d
        flipped, weight p eps/2^d), for 'carried' d blocks j = 1..d (s_j..s_d flipped, weight
        p eps/(d 2^d) each); shapes then are ``(3 * 2^d, .)`` and ``((2+d) * 2^d, .)``.
        """
        if self.chain != "full":
            raise ValueError(f"chain: enumerate() supports only the full chain, got {self.chain!r}")
        if self.d > MAX_ENUM_D:
            raise ValueError(f"d: exact enumeration needs d in [2, {MAX_ENUM_D}], got {self.d}")
        Xa = all_inputs(self.d)
        n = Xa.shape[0]
        X = np.concatenate([Xa, Xa])
        Y = np.concatenate([long_response(Xa), short_response(Xa)])
        weight = np.concatenate([np.full(n, self.p_cot / n), np.full(n, (1 - self.p_cot) / n)])
        if self.noise == 0:
            return X, Y, weight
        eps, L = self.noise, long_response(Xa)
        weight[:n] *= 1 - eps
        if self.noise_kind == "final":
            starts = [self.d]
        else:
            starts = list(range(1, self.d + 1))
        blocks = []
        for j in starts:                                   # flip s_j..s_d
            B = L.copy()
            B[:, j - 1:self.d] *= -1
            blocks.append(B)
        X = np.concatenate([X] + [Xa] * len(starts))
        Y = np.concatenate([Y] + blocks)
        weight = np.concatenate([weight, np.full(n * len(starts), self.p_cot * eps / (n * len(starts)))])
        return X, Y, weight


def _input_keys(X) -> np.ndarray:
    """Rows of X ``(n, d)`` in {+1,-1} as exact 1-d keys ``(n,)``: uint64 for d <= 64, else one
    fixed-width byte string (numpy void) of ceil(d/64) words per row."""
    n, d = X.shape
    k = -(-d // 64)
    bits = np.packbits(X < 0, axis=1)                                         # (n, ceil(d/8))
    pad = np.zeros((n, 8 * k), dtype=np.uint8)
    pad[:, :bits.shape[1]] = bits
    return pad.view(np.uint64)[:, 0] if k == 1 else pad.view(np.dtype((np.void, 8 * k)))[:, 0]


class DistinctInputs:
    """The exact set of distinct inputs x drawn by one run (THEORY §8, "distinct prompts");
    ``len()`` counts them (it saturates at 2^d).

    Sorted unique keys (8 ceil(d/64) bytes per input), merged lazily: one sort of the pending keys
    when they outgrow the merged set, and when counted.

    >>> seen = DistinctInputs(3)
    >>> seen.add(np.array([[1, 1, -1], [1, 1, -1], [-1, 1, 1]], dtype=np.int8)); len(seen)
    2
    """

    def __init__(self, d: int):
        self.seen = _input_keys(np.zeros((0, check_d(d)), dtype=np.int8))
        self.pending, self.n_pending = [], 0

    def add(self, X) -> None:
        """Add the inputs X ``(n, d)`` (+-1)."""
        X = np.asarray(X)
        self.pending.append(_input_keys(X.reshape(-1, X.shape[-1])))
        self.n_pending += self.pending[-1].shape[0]
        if self.n_pending > max(len(self.seen), 1 << 20):
            self._merge()

    def _merge(self):
        # a sort and a neighbour comparison: numpy >= 2.3's hash-based np.unique is ~18x slower on
        # 1.5M uint64 keys (BENCHMARKS.md, "Distinct inputs")
        keys = np.sort(np.concatenate([self.seen] + self.pending))
        self.seen = keys[np.r_[True, keys[1:] != keys[:-1]]] if keys.size else keys
        self.pending, self.n_pending = [], 0

    def __len__(self):
        self._merge()
        return self.seen.shape[0]


def expected_distinct(d: int, n) -> float:
    """E[number of distinct inputs among n uniform draws from {+1,-1}^d] = 2^d (1 - (1 - 2^-d)^n)
    (2^d for n = inf)."""
    d = check_d(d)
    n = float(n)
    return float(2.0 ** d * -np.expm1(n * np.log1p(-(2.0 ** -d))))
