"""The tasks a transformer learns: inputs, long and short responses, tokens and rewards (numpy only).

A task object fixes everything that differs between the parity task and n-digit multiplication,
so that the model (:mod:`linparity.transformer.model`), the training loops (:mod:`linparity.transformer.train`) and the CLI share one code
path. Every task has

* ``name``, ``size`` (d bits, or n digits), ``p_cot`` (probability of a long demonstration) and
  ``chain`` (parity only);
* the vocabulary: ``n_out`` response tokens (ids ``0 .. n_out-1``, ``eos`` among them) and
  ``n_in >= n_out`` input tokens (the response tokens, then the prompt-only tokens), so a response
  token is fed back with the same id;
* ``prompt_len`` (tokens the prompt holds) and ``response_len`` (the most response tokens, EOS
  included); the model reads at most ``prompt_len + response_len - 1`` tokens;
* ``sample(n, rng) -> (X, Y)`` (demonstrations of D(p_cot)), ``inputs(n, rng) -> X`` (fresh inputs),
  ``prompt_ids(X)`` ``(n, prompt_len)``, ``response_ids(Y)`` ``(n, response_len)`` (EOS after the end),
  ``responses(ids)`` (the inverse), ``length(Y)`` (tokens up to and including the first EOS),
  ``is_long(Y)``, ``long_response(X)`` (the correct chain), ``reward(name)`` (``cot`` / ``e2e``).

Parity (THEORY §1): X ``(n, d)`` int8 of +-1 and Y ``(n, d+1)`` in the int8 format of
:mod:`linparity.data`; ids PLUS = 0, MINUS = 1, EOS = 2 (responses), SEP = 3 (prompt); the prompt is
``x_1 .. x_d SEP``. Everything is delegated to :mod:`linparity.data` (``Mixture``, the rewards).

Multiplication (THEORY §7, the paper's n-digit multiplication). X ``(n, 2)`` int64: two n-digit
numbers a, b (leading digit non-zero, n in [1, 9] so that a*b < 10^18 fits int64). Every number is
written least-significant digit first (the order in which carries are produced). Ids: digits 0-9,
STEP = 10 (``;``), EOS = 11 (responses); TIMES = 12, EQUALS = 13 (prompt only). Prompt
(2n+2 tokens): ``a_0 .. a_{n-1} TIMES b_0 .. b_{n-1} EQUALS``. Responses, as token ids
``(n, response_len)`` padded with EOS:

* short: the product, 2n digits (zero-padded), then EOS (2n+1 tokens);
* long (partial products with running sums): for j = 1..n, the partial product P_j = a * b_{j-1}
  (n+1 digits) and the running sum S_j = a * (b mod 10^j) = S_{j-1} + 10^{j-1} P_j (2n digits),
  steps separated by STEP; S_n = a*b is the final answer; then EOS. Length
  n(3n+1) + (n-1) + 1 = 3n^2 + 2n tokens (n = 3: 33; n = 7: 161).

A response is long when it is longer than a short answer (no EOS at position 2n). Rewards:
``cot`` is 1 for exactly the long or exactly the short demonstration of x (every step right);
``e2e`` is 1 when the 2n tokens just before the first EOS are the product's digits.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._checks import as_generator, check_int, check_prob
from ..data import Mixture, chain_response, is_long, response_length, reward_function

__all__ = ["Parity", "Multiplication", "TASKS", "make_task", "MAX_DIGITS", "digits_of"]

#: the largest n: a product of two n-digit numbers must fit int64
MAX_DIGITS = 9


@dataclass(frozen=True)
class Parity:
    """The parity task of THEORY §1 on d bits, demonstrations from ``Mixture(d, p_cot, chain)``."""
    d: int
    p_cot: float = 0.0
    chain: str = "full"
    name = "parity"
    PLUS, MINUS, EOS, SEP = 0, 1, 2, 3
    n_out, n_in, eos = 3, 4, 2

    @property
    def size(self) -> int:
        return self.d

    @property
    def prompt_len(self) -> int:
        return self.d + 1

    @property
    def response_len(self) -> int:
        return self.d + 1

    def sample(self, n, rng):
        return Mixture(self.d, self.p_cot, chain=self.chain).sample(n, rng)

    def inputs(self, n, rng):
        return Mixture(self.d, 0.0).sample(n, rng)[0]

    def prompt_ids(self, X) -> np.ndarray:
        X = np.asarray(X)
        return np.concatenate([np.where(X > 0, self.PLUS, self.MINUS), np.full((X.shape[0], 1), self.SEP)], axis=1)

    def response_ids(self, Y) -> np.ndarray:
        Y = np.asarray(Y)
        return np.where(Y > 0, self.PLUS, np.where(Y < 0, self.MINUS, self.EOS))

    def responses(self, ids) -> np.ndarray:
        ids = np.asarray(ids)
        Y = np.where(ids == self.PLUS, 1, -1).astype(np.int8)
        Y[np.cumsum(ids == self.EOS, axis=1) > 0] = 0
        return Y

    def length(self, Y) -> np.ndarray:
        return response_length(Y)

    def is_long(self, Y) -> np.ndarray:
        return is_long(Y)

    def long_response(self, X) -> np.ndarray:
        return chain_response(X, self.chain)

    def reward(self, name):
        return reward_function(name)


def digits_of(v, k: int) -> np.ndarray:
    """The k decimal digits of the non-negative ints ``v`` ``(n,)``, least significant first, ``(n, k)``."""
    v = np.asarray(v, dtype=np.int64)
    return (v[:, None] // 10 ** np.arange(k, dtype=np.int64)[None, :]) % 10


@dataclass(frozen=True)
class Multiplication:
    """n-digit multiplication (module docstring: format, tokens, rewards); long with probability p_cot."""
    digits: int
    p_cot: float = 0.0
    name = "multiplication"
    STEP, EOS, TIMES, EQUALS = 10, 11, 12, 13
    n_out, n_in, eos = 12, 14, 11

    def __post_init__(self):
        check_int("digits", self.digits, 1, MAX_DIGITS)
        check_prob("p_cot", self.p_cot)

    @property
    def size(self) -> int:
        return self.digits

    @property
    def chain(self) -> str:
        return "full"

    @property
    def prompt_len(self) -> int:
        return 2 * self.digits + 2

    @property
    def short_len(self) -> int:
        return 2 * self.digits + 1

    @property
    def response_len(self) -> int:
        n = self.digits
        return 3 * n * n + 2 * n

    def inputs(self, n, rng) -> np.ndarray:
        """``(n, 2)`` int64: two uniform n-digit numbers per row."""
        return as_generator(rng).integers(10 ** (self.digits - 1), 10 ** self.digits, size=(n, 2), dtype=np.int64)

    def sample(self, n, rng):
        """(X ``(n, 2)``, Y ``(n, response_len)``): fresh inputs, then long with probability p_cot."""
        rng = as_generator(rng)
        X = self.inputs(n, rng)
        long_ = rng.random(n) < self.p_cot
        return X, np.where(long_[:, None], self.long_response(X), self.short_response(X))

    def prompt_ids(self, X) -> np.ndarray:
        X = np.asarray(X, dtype=np.int64)
        n, k = X.shape[0], self.digits
        return np.concatenate([digits_of(X[:, 0], k), np.full((n, 1), self.TIMES), digits_of(X[:, 1], k),
                               np.full((n, 1), self.EQUALS)], axis=1)

    def _pad(self, body) -> np.ndarray:
        out = np.full((body.shape[0], self.response_len), self.EOS, dtype=np.int64)
        out[:, :body.shape[1]] = body
        return out

    def short_response(self, X) -> np.ndarray:
        X = np.asarray(X, dtype=np.int64)
        return self._pad(digits_of(X[:, 0] * X[:, 1], 2 * self.digits))

    def long_response(self, X) -> np.ndarray:
        X = np.asarray(X, dtype=np.int64)
        a, b, k = X[:, 0], X[:, 1], self.digits
        parts = []
        for j in range(1, k + 1):
            bj = (b // 10 ** (j - 1)) % 10
            parts += [digits_of(a * bj, k + 1), digits_of(a * (b % 10 ** j), 2 * k)]
            if j < k:
                parts.append(np.full((X.shape[0], 1), self.STEP))
        return self._pad(np.concatenate(parts, axis=1))

    def response_ids(self, Y) -> np.ndarray:
        return np.asarray(Y, dtype=np.int64)

    def responses(self, ids) -> np.ndarray:
        """Generated ids ``(n, response_len)`` with everything after the first EOS set to EOS."""
        ids = np.array(ids, dtype=np.int64)
        ids[np.cumsum(ids == self.EOS, axis=1) > 0] = self.EOS
        return ids

    def length(self, Y) -> np.ndarray:
        """Tokens up to and including the first EOS (response_len when there is none), ``(n,)``."""
        Y = np.asarray(Y)
        eos = Y == self.EOS
        return np.where(eos.any(axis=1), eos.argmax(axis=1) + 1, Y.shape[1])

    def is_long(self, Y) -> np.ndarray:
        return self.length(Y) > self.short_len

    def reward_cot(self, X, Y) -> np.ndarray:
        Y = np.asarray(Y)
        ok = np.all(Y == self.long_response(X), axis=1) | np.all(Y == self.short_response(X), axis=1)
        return ok.astype(np.float64)

    def reward_e2e(self, X, Y) -> np.ndarray:
        X, Y = np.asarray(X, dtype=np.int64), np.asarray(Y)
        k2 = 2 * self.digits
        end = self.length(Y) - 1  # position of the first EOS (or response_len without one)
        has = (Y == self.EOS).any(axis=1) & (end >= k2)
        cols = np.clip(end[:, None] - k2 + np.arange(k2)[None, :], 0, Y.shape[1] - 1)  # (n, 2n)
        got = np.take_along_axis(Y, cols, axis=1)
        ok = has & np.all(got == digits_of(X[:, 0] * X[:, 1], k2), axis=1)
        return ok.astype(np.float64)

    def reward(self, name):
        if name not in ("cot", "e2e"):
            raise ValueError(f"reward: must be 'cot' or 'e2e', got {name!r}")
        return self.reward_cot if name == "cot" else self.reward_e2e


#: task name -> class
TASKS = {"parity": Parity, "multiplication": Multiplication}


def make_task(name: str, size: int, p_cot: float = 0.0, chain: str = "full"):
    """The task ``name`` ('parity' or 'multiplication') of size ``size`` (d bits, n digits)."""
    if name not in TASKS:
        raise ValueError(f"task: must be one of {tuple(TASKS)}, got {name!r}")
    if name == "parity":
        return Parity(int(size), float(p_cot), chain)
    if chain != "full":
        raise ValueError(f"chain: multiplication has only the full chain, got {chain!r}")
    return Multiplication(int(size), float(p_cot))
