"""R linear policies at once: batched weights, sampling, greedy decoding, score function, evaluation.

The shared machinery of the RL simulations (:mod:`linparity.simulate.star`, :mod:`linparity.simulate.pg`),
on the **full** weights of :class:`linparity.model.LinearAR`, vectorised over the samples of a batch
and over R independent replicates.

Batched weights
---------------
:class:`BatchedAR` holds R models in the packed layout of ``LinearAR.packed``: head 1 ``w1 (R, d)``,
stop head ``w2 (R, 2d+1)`` (features x, y_1, y_1 x) and bias ``b2 (R,)``, chain heads
``Wx (R, d-1, d)`` (weights on x), ``Wy (R, d-1, d-1)`` (row l-2: weights on y_1..y_{l-1},
lower-triangular) and ``Wp (R, d-1, d)`` (weights on y_{l-1} x).

Decoding
--------
Two compiled kernels per replicate: :func:`_head_decode` (y_1 and the stop decision) and
:func:`linparity.model.chain_decode` (y_2..y_d of the continuing rows, with base_l = <Wx_l, x> and
pair_l = <Wp_l, x> from two matrix products). Each decision is +1 (EOS) iff U < sigma(u / tau),
with sigma(x) = 1 / (1 + exp(-x)) bit for bit scipy's ``expit``, and the logits are summed in the
order of :meth:`LinearAR._decode` except that the dot products with x are plain loops where
LinearAR calls BLAS. The decisions therefore equal LinearAR.sample's unless a uniform falls within
rounding (~1e-16) of its probability (tested draw for draw, 2000 rows at d = 50). The kernels also
return the logits, which the policy-gradient step reuses for the score.

Score function
--------------
For a decision with P(t) = sigma(t u / tau) (t = +-1), d log P / d u = t sigma(-t u/tau)/tau. Per
sample we keep these derivatives for head 1, the stop head (t = +1: EOS) and every chain head on
long responses; :func:`accumulate` turns per-sample coefficients into a weight update with
batched matrix products (sum_i c_i phi_i for each head).

Random streams (numpy SPEC 7)
-----------------------------
Replicate r draws its sampling uniforms from its own Generator ``gens[r]`` in the order of
:meth:`LinearAR.sample`: n uniforms for y_1, n for the stop decision, then for each chain bit
l = 2..d one per continuing row. The chain uniforms are drawn in one call of n_go (d-1) numbers,
which a Generator produces identically to d-1 calls of n_go each. A replicate's draws therefore
do not depend on R, and with R = 1 :func:`sample_responses` reproduces ``LinearAR.sample``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit
from scipy.special import expit, log_expit

from .._checks import check_temperature
from .._validate import check_pm1, check_responses, check_type
from ..data import check_reward
from ..model import LinearAR, chain_decode, scalar_sigmoid

__all__ = ["BatchedAR", "sample_responses", "sample_with_logits", "greedy_responses", "log_prob", "score",
           "accumulate", "policy_update", "policy_step_", "rewards", "evaluate_batch", "DECODE_ROWS"]

# ============================================================================ batched weights
@dataclass
class BatchedAR:
    """R linear autoregressive models in packed layout (see the module docstring)."""
    w1: np.ndarray   # (R, d) head 1
    w2: np.ndarray   # (R, 2d+1) stop head on (x, y_1, y_1 x)
    b2: np.ndarray   # (R,) stop-head bias
    Wx: np.ndarray   # (R, d-1, d) chain head l (row l-2) on x
    Wy: np.ndarray   # (R, d-1, d-1) chain head l on y_1..y_{l-1} (lower-triangular)
    Wp: np.ndarray   # (R, d-1, d) chain head l on y_{l-1} x

    @property
    def R(self) -> int:
        return self.w1.shape[0]

    @property
    def d(self) -> int:
        return self.w1.shape[1]

    @classmethod
    def stack(cls, models) -> "BatchedAR":
        """Stack a list of LinearAR of the same d."""
        models = list(models)
        if not models:
            raise ValueError("models: need at least one model")
        for i, m in enumerate(models):
            if not isinstance(m, LinearAR):
                raise ValueError(f"models: must be LinearAR models, got {type(m).__name__} at index {i}")
            if m.d != models[0].d:
                raise ValueError(f"models: must all have the same d, got d = {models[0].d} at index 0 "
                                 f"and d = {m.d} at index {i}")
        packed = [m.packed() for m in models]
        return cls(np.array([m.w1 for m in models]), np.array([m.w2a for m in models]),
                   np.array([m.b2a for m in models], dtype=np.float64),
                   np.array([p[0] for p in packed]), np.array([p[1] for p in packed]),
                   np.array([p[2] for p in packed]))

    def models(self) -> list[LinearAR]:
        """The R models as LinearAR (chain head l: [x weights, y_1..y_{l-1} weights, y_{l-1} x weights])."""
        return [LinearAR.from_packed(self.w1[r], self.w2[r], self.b2[r], self.Wx[r], self.Wy[r], self.Wp[r])
                for r in range(self.R)]

    def copy(self) -> "BatchedAR":
        return BatchedAR(*(a.copy() for a in self._arrays()))

    def _arrays(self):
        return (self.w1, self.w2, self.b2, self.Wx, self.Wy, self.Wp)

    def add_(self, delta: "BatchedAR", scale=1.0) -> "BatchedAR":
        """In place self += scale * delta; ``scale`` a scalar or ``(R,)`` per replicate."""
        s = np.asarray(scale, dtype=np.float64)
        for a, b in zip(self._arrays(), delta._arrays()):
            a += (s.reshape((-1,) + (1,) * (a.ndim - 1)) if s.ndim else s) * b
        return self

    def reduced(self) -> tuple[np.ndarray, np.ndarray]:
        """Reduced coordinates ``(R, d+2)`` (a, b, c, c_2..c_d) and off-subspace norms ``(R,)``."""
        d = self.d
        h = np.arange(d - 1)
        theta = np.column_stack([self.w1[:, 0], self.b2, self.w2[:, d + 1], self.Wp[:, h, h + 1]])
        sq = ((self.w1 ** 2).sum(1) - self.w1[:, 0] ** 2 + (self.w2 ** 2).sum(1) - self.w2[:, d + 1] ** 2
              + (self.Wx ** 2).sum((1, 2)) + (self.Wy ** 2).sum((1, 2)) + (self.Wp ** 2).sum((1, 2))
              - (self.Wp[:, h, h + 1] ** 2).sum(1))
        return theta, np.sqrt(np.maximum(sq, 0.0))

    @classmethod
    def from_reduced(cls, theta, d: int, R: int = 1) -> "BatchedAR":
        """R copies of the reduced-subspace model theta ``(d+2,)`` (or one row per replicate ``(R, d+2)``)."""
        theta = np.broadcast_to(np.asarray(theta, dtype=np.float64), (R, d + 2))
        return cls.stack([LinearAR.from_reduced(d, t[0], t[1], t[2], t[3:]) for t in theta])


# ============================================================================ logits
def _as_batch(W: BatchedAR, X, convert: bool = True, name: str = "X") -> np.ndarray:
    """Inputs as float ``(R or 1, n, d)`` (as given with ``convert=False``); a 2-d X is shared by
    all replicates."""
    check_type("W", W, BatchedAR)
    X = np.asarray(X)
    if X.ndim == 2:
        X = X[None]
    if X.ndim != 3 or X.shape[2] != W.d or X.shape[0] not in (1, W.R):
        raise ValueError(f"{name}: must have shape (n, {W.d}) or ({W.R}, n, {W.d}), got {X.shape}")
    return X.astype(np.float64, copy=False) if convert else X


def _pm1_batch(W: BatchedAR, X, name: str = "X") -> np.ndarray:
    """Inputs of a public entry point, as given: a shape :func:`_as_batch` accepts, every entry +1 or -1."""
    Xb = _as_batch(W, X, convert=False, name=name)
    check_pm1(name, Xb.reshape(-1, W.d))
    return np.asarray(X)


def _logits(W: BatchedAR, Xf, Yf):
    """Teacher-forced logits: u1 ``(R, n)``, u2 ``(R, n)``, uc ``(R, n, d-1)`` (THEORY §2)."""
    d = W.d
    y1 = Yf[..., 0]
    Xb = np.broadcast_to(Xf, (W.R,) + Xf.shape[1:])
    u1 = np.einsum("rnd,rd->rn", Xb, W.w1)
    u2 = (np.einsum("rnd,rd->rn", Xb, W.w2[:, :d]) + y1 * W.w2[:, d, None]
          + y1 * np.einsum("rnd,rd->rn", Xb, W.w2[:, d + 1:]) + W.b2[:, None])
    prev = Yf[..., :d - 1]                                           # (R, n, d-1) y_{l-1}
    uc = (Xf @ W.Wx.transpose(0, 2, 1) + prev @ W.Wy.transpose(0, 2, 1)
          + prev * (Xf @ W.Wp.transpose(0, 2, 1)))
    return u1, u2, uc


# ============================================================================ decoding
@njit(cache=True, nogil=True)
def _head_decode(X, w1, w2, b2, U1, U2, tau, greedy, Y, u1, u2):
    """y_1 and the stop decision of n rows in place; returns the continuing rows' indices.

    X ``(n, d)`` (any numeric dtype: entries are read as floats); w1 ``(d,)``, w2 ``(2d+1,)``, b2
    float; U1, U2 ``(n,)`` uniforms of y_1 and of the stop decision (unused when ``greedy``).
    Writes Y[:, 0] (Y ``(n, d+1)`` int8, zero elsewhere), u1 = <w1, x> and u2 = <w2, phi_2> + b
    ``(n,)``. y_1 = +1 iff U1 < sigma(u1/tau) (greedy: u1 >= 0); EOS iff U2 < sigma(u2/tau)
    (greedy: u2 > 0).
    """
    n, d = X.shape
    go = np.empty(n, dtype=np.int64)
    n_go = 0
    for i in range(n):
        a = 0.0
        for j in range(d):
            a += float(X[i, j]) * w1[j]
        u1[i] = a
        hit = a >= 0.0 if greedy else U1[i] < scalar_sigmoid(a / tau)
        y1 = 1.0 if hit else -1.0
        Y[i, 0] = 1 if hit else -1
        a = 0.0
        p = 0.0
        for j in range(d):
            x = float(X[i, j])
            a += x * w2[j]
            p += x * w2[d + 1 + j]
        v = a + y1 * w2[d] + y1 * p + b2
        u2[i] = v
        stop = v > 0.0 if greedy else U2[i] < scalar_sigmoid(v / tau)
        if not stop:
            go[n_go] = i
            n_go += 1
    return go[:n_go]


#: rows converted to float and decoded per call in _decode: their inputs and chain logits
#: (~8 DECODE_ROWS 3d bytes) stay in cache between the GEMMs and chain_decode (65536 before: 1.2-1.3x slower)
DECODE_ROWS = 1024


def _decode(W: BatchedAR, X, gens, tau, logits: bool = True):
    """Every replicate decoded: sampled at tau with replicate r drawing from ``gens[r]`` in
    LinearAR.sample's order, or greedy when ``gens`` is None.

    Returns Y int8 ``(R, n, d+1)`` and the logits u1 ``(R, n)``, u2 ``(R, n)``, uc ``(R, n, d-1)``
    (0 on short rows); uc is None with ``logits=False``, which does not store it (R n (d-1) floats:
    5 GB at R = 10, n = 2^20, d = 64). The head decoder reads the inputs as given; the chain rows
    are converted to float ``DECODE_ROWS`` rows of one replicate at a time (rows are independent,
    so the numbers do not depend on it). The chain uniforms of a replicate are one draw of
    ``(d-1, n_go)``.
    """
    Xa = _as_batch(W, X, convert=False)
    R, d, n = W.R, W.d, Xa.shape[1]
    greedy = gens is None
    Y = np.zeros((R, n, d + 1), dtype=np.int8)
    u1, u2 = np.empty((R, n)), np.empty((R, n))
    uc = np.zeros((R, n, d - 1)) if logits else None
    no_u1, no_u2, no_uc = np.empty(0), np.empty((0, 0)), np.empty((0, 0))   # greedy: no uniforms
    for r in range(R):
        Xr = Xa[r if Xa.shape[0] > 1 else 0]
        U = no_u1 if greedy else gens[r].random(2 * n)
        go = _head_decode(Xr, W.w1[r], W.w2[r], float(W.b2[r]), U[:n], U[n:], tau, greedy, Y[r], u1[r], u2[r])
        if go.size:
            U = no_u2 if greedy else gens[r].random(go.size * (d - 1)).reshape(d - 1, go.size)
            WyT = np.ascontiguousarray(W.Wy[r].T)
            for a in range(0, go.size, DECODE_ROWS):
                rows = go[a:a + DECODE_ROWS]
                Xg = Xr[rows].astype(np.float64)
                chain_decode(rows, Xg @ W.Wx[r].T, Xg @ W.Wp[r].T, WyT, U[:, a:a + DECODE_ROWS] if U.size else U,
                              tau, greedy, Y[r], uc[r] if logits else no_uc)
    return Y, u1, u2, uc


def sample_responses(W: BatchedAR, X, gens, temperature: float = 1.0) -> np.ndarray:
    """One response per input and replicate at temperature tau, int8 ``(R, n, d+1)``.

    Parameters
    ----------
    W : BatchedAR with R replicates.
    X : int8 ``(R, n, d)`` (or ``(n, d)`` shared).
    gens : list of R Generators; replicate r draws from ``gens[r]`` in LinearAR.sample's order.
    temperature : float
        tau > 0: each decision is +1 (EOS for the stop head) with probability sigma(u / tau).
    """
    return sample_with_logits(W, X, gens, temperature, logits=False)[0]


def sample_with_logits(W: BatchedAR, X, gens, temperature, logits: bool = True):
    """:func:`sample_responses` plus the logits of the sampled responses (see :func:`_decode`)."""
    tau = check_temperature(temperature)
    check_type("W", W, BatchedAR)
    if not isinstance(gens, (list, tuple)) or len(gens) != W.R or not all(
            isinstance(g, np.random.Generator) for g in gens):
        raise ValueError(f"gens: need a list of one numpy Generator per replicate ({W.R}), got "
                         f"{repr(gens)[:40]}")
    return _decode(W, X, gens, tau, logits)


def greedy_responses(W: BatchedAR, X) -> np.ndarray:
    """Greedy responses ``(R, n, d+1)`` with the tie rules of LinearAR.greedy (bit +1, stop goes on).

    X ``(n, d)`` or ``(R, n, d)``, every entry +1 or -1 (ValueError naming ``X`` otherwise).
    """
    return _decode(W, _pm1_batch(W, X), None, 1.0, logits=False)[0]


# ============================================================================ score function
def score(W: BatchedAR, X, Y, temperature: float = 1.0):
    """Per-sample d log pi_tau(y|x) / d logit of every head.

    Returns g1 ``(R, n)``, g2 ``(R, n)`` (stop head, t = +1 for EOS), gc ``(R, n, d-1)`` (0 on short
    rows), each t sigma(-t u / tau) / tau, and the log-probability ``(R, n)``.
    """
    tau = check_temperature(temperature)
    Xb = _pm1_batch(W, X)
    Y = np.asarray(Y)
    Yb = Y[None] if Y.ndim == 2 else Y
    n = np.shape(Xb)[-2]
    if Yb.ndim != 3 or Yb.shape[0] not in (1, W.R) or Yb.shape[1:] != (n, W.d + 1):
        raise ValueError(f"Y: must have shape ({n}, {W.d + 1}) or ({W.R}, {n}, {W.d + 1}) (the inputs X), "
                         f"got {Y.shape}")
    check_responses("Y", Yb.reshape(-1, W.d + 1), Yb.shape[0] * n, W.d)
    Yf = Y.astype(np.float64, copy=False)
    u1, u2, uc = _logits(W, _as_batch(W, Xb), Yf)
    d = W.d
    short = Y[..., 1] == 0
    t2 = np.where(short, 1.0, -1.0)
    yc = np.where(short[..., None], 1.0, Yf[..., 1:d])               # (R, n, d-1) labels on long rows
    g1 = Yf[..., 0] * expit(-Yf[..., 0] * u1 / tau) / tau
    g2 = t2 * expit(-t2 * u2 / tau) / tau
    gc = np.where(short[..., None], 0.0, yc * expit(-yc * uc / tau) / tau)
    lp = (log_expit(Yf[..., 0] * u1 / tau) + log_expit(t2 * u2 / tau)
          + np.where(short, 0.0, log_expit(yc * uc / tau).sum(-1)))
    return g1, g2, gc, lp


def log_prob(W: BatchedAR, X, Y, temperature: float = 1.0) -> np.ndarray:
    """log pi_tau(Y|X) for every replicate, ``(R, n)`` (responses must be emittable)."""
    return score(W, X, Y, temperature)[3]


def accumulate(W: BatchedAR, X, Y, c1, c2, cc) -> BatchedAR:
    """sum_i of per-sample coefficients times each head's features, as a BatchedAR.

    c1, c2 ``(R, n)``, cc ``(R, n, d-1)``: head 1 gets sum c1 x, the stop head sum c2 (x, y_1, y_1 x, 1),
    chain head l sum cc_l (x, y_1..y_{l-1}, y_{l-1} x).
    """
    Xf = np.broadcast_to(_as_batch(W, X), (W.R,) + np.shape(c1)[1:] + (W.d,))
    Yf = np.asarray(Y, dtype=np.float64)
    d = W.d
    y1 = Yf[..., 0]
    prev = Yf[..., :d - 1]
    ccT = np.swapaxes(cc, 1, 2)                                      # (R, d-1, n)
    w2 = np.concatenate([np.einsum("rn,rnd->rd", c2, Xf), (c2 * y1).sum(1)[:, None],
                         np.einsum("rn,rnd->rd", c2 * y1, Xf)], axis=1)
    return BatchedAR(np.einsum("rn,rnd->rd", c1, Xf), w2, c2.sum(1), ccT @ Xf,
                     (ccT @ prev) * np.tril(np.ones((d - 1, d - 1))),
                     np.swapaxes(cc * prev, 1, 2) @ Xf)


@njit(cache=True, nogil=True)
def _score_coefficients(Y, u1, u2, uc, c, tau, c1, c2, cc):
    """c_i times d log pi_tau(y_i|x_i) / d logit of every head, from the logits (see :func:`score`).

    Y ``(n, d+1)`` int8; u1, u2, c ``(n,)``; uc ``(n, d-1)``. Out: c1, c2 ``(n,)`` and cc
    ``(n, d-1)`` (0 on short rows); per decision with sign t, t sigma(-t u/tau)/tau with
    sigma(-z) = 1/(1 + e^z).
    """
    n = Y.shape[0]
    for i in range(n):
        y1 = float(Y[i, 0])
        c1[i] = c[i] * (y1 / (1.0 + math.exp(y1 * u1[i] / tau)) / tau)
        t = 1.0 if Y[i, 1] == 0 else -1.0            # +1: EOS
        c2[i] = c[i] * (t / (1.0 + math.exp(t * u2[i] / tau)) / tau)
        for h in range(cc.shape[1]):
            if t > 0.0:
                cc[i, h] = 0.0
            else:
                yl = float(Y[i, h + 1])
                cc[i, h] = c[i] * (yl / (1.0 + math.exp(yl * uc[i, h] / tau)) / tau)


def policy_step_(W: BatchedAR, X, Y, logits, weights, temperature, lr) -> None:
    """In place W += lr * policy_update(W, X, Y, weights, tau), from the logits (u1, u2, uc) of
    (X, Y) under W (as returned by :func:`sample_with_logits`).

    Per replicate: the coefficients c_i d log pi / d u (compiled), then sum_i c_i phi_i per head
    by matrix products (:func:`accumulate`'s sums, one replicate at a time). Equal to rounding.
    """
    u1, u2, uc = logits
    Xf = _as_batch(W, X)
    Y = np.asarray(Y, dtype=np.int8)
    c = lr * np.asarray(weights, dtype=np.float64)                   # (R, n)
    n, d = Y.shape[1], W.d
    c1, c2, cc = np.empty(n), np.empty(n), np.empty((n, d - 1))
    for r in range(W.R):
        Xr = Xf[r if Xf.shape[0] > 1 else 0]                         # (n, d)
        Yr = Y[r].astype(np.float64)                                 # (n, d+1)
        _score_coefficients(Y[r], u1[r], u2[r], uc[r], c[r], float(temperature), c1, c2, cc)
        y1, prev = Yr[:, 0], Yr[:, :d - 1]                           # (n,), (n, d-1)
        H = np.stack([c1, c2, c2 * y1]) @ Xr                         # (3, d)
        W.w1[r] += H[0]
        W.w2[r, :d] += H[1]
        W.w2[r, d] += c2 @ y1
        W.w2[r, d + 1:] += H[2]
        W.b2[r] += c2.sum()
        W.Wx[r] += cc.T @ Xr
        W.Wy[r] += np.tril(cc.T @ prev)
        W.Wp[r] += (cc * prev).T @ Xr


def policy_update(W: BatchedAR, X, Y, weights, temperature: float = 1.0) -> BatchedAR:
    """sum_i weights_i grad_w log pi_tau(y_i|x_i) for every replicate (weights ``(R, n)``)."""
    g1, g2, gc, _ = score(W, X, Y, temperature)
    w = np.asarray(weights, dtype=np.float64)
    return accumulate(W, X, Y, w * g1, w * g2, w[..., None] * gc)


# ============================================================================ rewards and evaluation
def rewards(reward, X, Y) -> np.ndarray:
    """Reward of every (replicate, sample), ``(R, n)``: data.reward_cot / reward_e2e (THEORY §6) of
    X ``(R, n, d)`` and Y ``(R, n, d+1)``, checked as they check them, computed by one compiled
    pass over the rows (:func:`_reward_rows`)."""
    R, n, d = X.shape
    Xc = check_pm1("X", X.reshape(R * n, d))
    Yc = check_responses("Y", Y.reshape(R * n, d + 1), R * n, d)
    out = np.empty(R * n)
    _reward_rows(Xc.astype(np.int8, copy=False), Yc.astype(np.int8, copy=False),
                 check_reward(reward) == "cot", out)
    return out.reshape(R, n)


@njit(cache=True, nogil=True)
def _reward_rows(X, Y, cot, out):
    """out[i] = r_cot (Y_i is L(x_i) = (s_1..s_d, EOS) or S(x_i) = (chi, EOS)) or r_e2e (entry
    n_i - 1 of Y_i, n_i its number of nonzero entries: the last bit before EOS of an emittable
    response, equals chi(x_i); 0 when n_i = 0), as data.reward_e2e; X ``(n, d)``, Y ``(n, d+1)`` int8."""
    n, d = X.shape
    for i in range(n):
        s = 1
        long_ok = Y[i, d] == 0
        for j in range(d):
            s *= X[i, j]                                 # s_{j+1}: parity of the first j+1 bits
            long_ok = long_ok and Y[i, j] == s
        if cot:
            short_ok = Y[i, 0] == s
            for j in range(1, d + 1):
                short_ok = short_ok and Y[i, j] == 0
            out[i] = 1.0 if long_ok or short_ok else 0.0
        else:
            nbits = 0
            for j in range(d + 1):
                nbits += Y[i, j] != 0
            out[i] = 1.0 if nbits > 0 and Y[i, nbits - 1] == s else 0.0


def evaluate_batch(W: BatchedAR, X, reward="cot", temperature: float = 1.0, gens=None) -> dict:
    """Per-replicate metrics ``(R,)`` averaged over the inputs X ``(n, d)``.

    pi_long: mean_x pi(L(x)|x) at tau = 1 (exact per x); mean_length: 2 P(short) + (d+1) P(long) at
    tau = 1 (exact per x); greedy_accuracy: fraction of x whose greedy response ends in chi(x);
    expected_reward: E[r] at the sampling temperature, exact per x for 'cot' (pi_tau(L) + pi_tau(S)),
    for 'e2e' a Monte Carlo estimate with one response per x drawn from ``gens`` (needs gens).
    """
    check_reward(reward)
    tau = check_temperature(temperature)
    X = check_pm1("X", X, W.d).astype(np.int8)   # a cast before the check would turn 0.5 into 0
    n, d = X.shape
    chi = np.prod(X, axis=1, dtype=np.int8)
    L = np.zeros((n, d + 1), dtype=np.int8)
    L[:, :d] = np.cumprod(X, axis=1, dtype=np.int8)
    S = np.zeros((n, d + 1), dtype=np.int8)
    S[:, 0] = chi
    Xf = _as_batch(W, X)
    u1, u2p, _ = _logits(W, Xf, np.broadcast_to(np.where(np.arange(d + 1) == 0, 1.0, 0.0), (1, n, d + 1)))
    _, u2m, _ = _logits(W, Xf, np.broadcast_to(np.where(np.arange(d + 1) == 0, -1.0, 0.0), (1, n, d + 1)))
    p_short = expit(u1) * expit(u2p) + expit(-u1) * expit(u2m)       # (R, n) at tau = 1
    G = greedy_responses(W, X)
    nb = (G != 0).sum(-1)
    last = np.take_along_axis(G, (nb - 1)[..., None], axis=-1)[..., 0]
    out = {"pi_long": np.exp(log_prob(W, X[None], L[None], 1.0)).mean(1),
           "greedy_accuracy": (last == chi).mean(1),
           "mean_length": (2 * p_short + (d + 1) * (1 - p_short)).mean(1)}
    if reward == "cot":
        out["expected_reward"] = (np.exp(log_prob(W, X[None], L[None], tau))
                                  + np.exp(log_prob(W, X[None], S[None], tau))).mean(1)
    else:
        if gens is None:
            raise ValueError("gens: the 'e2e' expected reward is estimated by sampling and needs Generators")
        Y = sample_responses(W, X, gens, tau)
        out["expected_reward"] = rewards(reward, np.broadcast_to(X, Y.shape[:2] + (d,)), Y).mean(1)
    return out
