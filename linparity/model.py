"""The autoregressive linear model H_AR^Lin of THEORY §2.

Feature map (THEORY §2): for a prefix z = (x, y_1, ..., y_{l-1}) of length m = d+l-1,

    phi_l(z) = [z_1, ..., z_m, z_m z_1, ..., z_m z_d]        (length 2d+l-1)

Heads (sigma is the logistic function, tau the temperature):

* head 1:  P(y_1 = +1 | x)           = sigma(<w_1, x> / tau),                 w_1 in R^d
* head 2a: P(y_2 = EOS | x, y_1)     = sigma((<w_2a, phi_2(z)> + b) / tau),   w_2a in R^{2d+1}
* head l:  P(y_l = +1 | x, y_{<l})   = sigma(<w_l, phi_l(z)> / tau),          w_l in R^{2d+l-1}, l = 2..d

After y_d the model emits EOS, so every response is (y_1, EOS) or (y_1, ..., y_d, EOS).
Greedy decoding (tau -> 0) takes the sign of each logit; at a logit of exactly 0 a bit is +1
and the stop head goes on (does not emit EOS).

Reduced coordinates (THEORY §4): a = w_1[x_1], c = w_2a[y_1 x_1], b = bias,
c_l = w_l[y_{l-1} x_l]. In 0-based indices: a = w1[0], c = w2a[d+1], c_l = chain[l-2][d+2l-2].
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit
from scipy.special import expit

from ._checks import as_generator, check_d, check_temperature
from ._validate import check_finite_array, check_finite_scalar, check_pm1, check_responses

__all__ = ["LinearAR", "Reduced", "chain_target_index", "stop_feature_index", "phi", "features",
           "log_sigmoid", "scalar_sigmoid", "chain_decode", "DECODE_BLOCK"]


def log_sigmoid(m) -> np.ndarray:
    """log sigma(m) = min(m, 0) - log1p(exp(-|m|)), finite for every finite m, float64.

    The formula of scipy.special.log_expit (x - log1p(e^x) for x < 0, -log1p(e^-x) otherwise),
    written with numpy's vectorised exp/log1p: equal to it to rounding and ~10x faster on
    large arrays (log_expit is a scalar ufunc loop; measured in BENCHMARKS.md).
    """
    m = np.asarray(m, dtype=np.float64)
    if m.ndim == 0:
        return np.minimum(m, 0.0) - np.log1p(np.exp(-np.abs(m)))
    t = np.abs(m)
    np.negative(t, out=t)
    np.exp(t, out=t)
    np.log1p(t, out=t)                       # log1p(exp(-|m|)), in place: one temporary
    out = np.minimum(m, 0.0)
    out -= t
    return out


@njit(cache=True, nogil=True)
def scalar_sigmoid(x):
    """1 / (1 + exp(-x)) of one float, compiled: bit for bit scipy.special.expit (finite for every x)."""
    return 1.0 / (1.0 + math.exp(-x))


#: rows decoded side by side by :func:`chain_decode` (independent rows give the CPU parallel work)
DECODE_BLOCK = 64


@njit(cache=True, nogil=True)
def chain_decode(rows, base, pair, WyT, U, tau, greedy, Y, uc):
    """Chain bits y_2..y_d of the continuing rows ``rows`` ``(m,)``, in place; fills their logits.

    base, pair ``(m, d-1)``: <Wx_l, x> and <Wp_l, x> of those rows; WyT ``(d-1, d-1)`` the
    transpose of Wy (row k-1: every head's weight on y_k); U ``(d-1, m)`` uniforms (row l-2 for
    bit l; unused when ``greedy``); Y ``(n, d+1)`` int8 with y_1 set; uc ``(n, d-1)`` out (or
    ``(0, 0)``: not stored):
    u_l = base_l + acc_l + y_{l-1} pair_l with acc_l = sum_{k<l} y_k Wy[l-2, k-1] accumulated
    over k as in LinearAR._decode. Bit l is +1 iff U < sigma(u_l/tau) (greedy: iff u_l >= 0).
    Rows go in blocks of DECODE_BLOCK, position by position, so that the blocks' rows run side by
    side: per position one loop computes the block's logits, one draws its bits (no branch on the
    bits in the first), and the block's bits and logits go to Y and uc row by row at its end. The
    decoder of simulate.batched (sampling and greedy) and of linparity.measures (greedy); bit for bit
    LinearAR.sample / LinearAR.greedy (tested).
    """
    m, dm1 = base.shape
    store = uc.shape[0] > 0
    acc = np.empty((dm1, DECODE_BLOCK))          # acc[l-2, i]: acc_l of row s+i so far
    yb = np.empty(DECODE_BLOCK)                  # latest bit y_{l-1} of each row of the block
    ub = np.empty((dm1, DECODE_BLOCK))           # the block's logits u_l, row l-2
    for s in range(0, m, DECODE_BLOCK):
        nb = min(m, s + DECODE_BLOCK) - s
        acc[:, :] = 0.0
        for i in range(nb):
            yb[i] = Y[rows[s + i], 0]
        for h in range(dm1):                     # head l = h + 2; y_{l-1} = yb
            for k in range(h, dm1):              # add y_{l-1} Wy[k, l-2] to heads not yet decoded
                w = WyT[h, k]
                for i in range(nb):
                    acc[k, i] += yb[i] * w
            u = ub[h]
            for i in range(nb):
                u[i] = base[s + i, h] + acc[h, i] + yb[i] * pair[s + i, h]
            if greedy:
                for i in range(nb):
                    yb[i] = 1.0 if u[i] >= 0.0 else -1.0
            else:
                for i in range(nb):
                    yb[i] = 1.0 if U[h, s + i] < scalar_sigmoid(u[i] / tau) else -1.0
            for i in range(nb):
                acc[h, i] = yb[i]                # acc_l is used up: keep bit l there
        for i in range(nb):                      # the block's bits and logits, row by row
            r = rows[s + i]
            for h in range(dm1):
                Y[r, h + 1] = np.int8(acc[h, i])
                if store:
                    uc[r, h] = ub[h, i]


def chain_target_index(d: int, l: int) -> int:
    """0-based index of the feature y_{l-1} x_l of head l (l = 2..d) inside phi_l."""
    return d + 2 * l - 2


def stop_feature_index(d: int) -> int:
    """0-based index of the feature y_1 x_1 in phi_2: the reduced stop coordinate c."""
    return d + 1


def phi(z, d: int) -> np.ndarray:
    """phi(z) = [z_1, ..., z_m, z_m z_1, ..., z_m z_d] of one prefix z of length m (THEORY §2), float ``(m + d,)``."""
    z = np.asarray(z, dtype=np.float64)
    return np.concatenate([z, z[-1] * z[:d]])


def features(X, Y, l: int) -> np.ndarray:
    """Feature matrix phi_l(z) of THEORY §2 for the prefixes z = (x, y_1, ..., y_{l-1}), ``(n, 2d+l-1)``.

    phi_l(z) = [x_1..x_d, y_1..y_{l-1}, y_{l-1} x_1 .. y_{l-1} x_d]; l = 2 is the stop head's
    phi_2 (its bias is separate). ``Y`` holds at least the first l-1 response bits, +-1.
    The logits of :meth:`LinearAR.logits` equal ``features(X, Y, l) @ w_l`` (tested).
    """
    X = np.asarray(X, dtype=np.float64)                   # (n, d)
    Yb = np.asarray(Y, dtype=np.float64)[:, :l - 1]       # (n, l-1)
    if l < 2 or Yb.shape[1] != l - 1:
        raise ValueError(f"l: must be in [2, d] with Y holding l-1 bits, got l={l}")
    return np.hstack([X, Yb, Yb[:, -1:] * X])


class Reduced(NamedTuple):
    """Reduced coordinates of THEORY §4 and the norm of everything off the subspace."""
    a: float                  # head 1 weight on x_1
    b: float                  # head 2a bias
    c: float                  # head 2a weight on y_1 x_1
    chain: np.ndarray         # (d-1,) c_l = weight of head l on y_{l-1} x_l, l = 2..d
    off_subspace_norm: float  # Euclidean norm of all remaining weights (0 on the subspace)

    @property
    def theta(self) -> np.ndarray:
        """The reduced state theta = (a, b, c, c_2, ..., c_d) ``(d+2,)`` of the closed form (THEORY §4)."""
        return np.concatenate([[self.a, self.b, self.c], self.chain])


class LinearAR:
    """Parameters and probabilities of the autoregressive linear model (THEORY §2).

    Parameters
    ----------
    w1 : array ``(d,)``
        Head 1 weights.
    w2a : array ``(2d+1,)``
        Stop head weights, in the feature order of phi_2.
    b2a : float
        Stop head bias.
    chain : sequence of d-1 arrays
        ``chain[l-2]`` has length 2d+l-1 and holds w_l in the feature order of phi_l.
    """

    def __init__(self, w1, w2a, b2a, chain):
        # every weight finite and numeric (ValueError naming it): NaN in, NaN out is refused here
        self.w1 = check_finite_array("w1", w1)
        if self.w1.ndim != 1:
            raise ValueError(f"w1: must be a 1-d array of length d >= 2, got shape {self.w1.shape}")
        self.d = d = check_d(self.w1.shape[0])
        self.w2a = check_finite_array("w2a", w2a)
        self.b2a = check_finite_scalar("b2a", b2a)
        if isinstance(chain, (str, bytes)) or not hasattr(chain, "__len__"):
            raise ValueError(f"chain: must be a sequence of d-1 = {d - 1} arrays, got {type(chain).__name__}")
        self.chain = [check_finite_array(f"chain[{i}]", w) for i, w in enumerate(chain)]
        if self.w2a.shape != (2 * d + 1,):
            raise ValueError(f"w2a: must have shape ({2 * d + 1},) for d={d}, got {self.w2a.shape}")
        if len(self.chain) != d - 1:
            raise ValueError(f"chain: must hold d-1 = {d - 1} arrays, got {len(self.chain)}")
        for l, w in enumerate(self.chain, start=2):
            if w.shape != (2 * d + l - 1,):
                raise ValueError(f"chain: head l={l} must have shape ({2 * d + l - 1},), got {w.shape}")

    # ------------------------------------------------------------------ constructors
    @classmethod
    def zeros(cls, d: int) -> "LinearAR":
        """All weights 0 (the start of Algorithm 3)."""
        d = check_d(d)
        return cls(np.zeros(d), np.zeros(2 * d + 1), 0.0,
                   [np.zeros(2 * d + l - 1) for l in range(2, d + 1)])

    @classmethod
    def from_reduced(cls, d: int, a: float, b: float, c: float, chain) -> "LinearAR":
        """The model on the reduced subspace of THEORY §4.

        ``chain`` is one scalar used for every c_l, or d-1 values c_2, ..., c_d.
        """
        m = cls.zeros(d)
        d = m.d
        a, b, c = (check_finite_scalar(n, v) for n, v in (("a", a), ("b", b), ("c", c)))
        cl = check_finite_array("chain", chain)
        cl = np.broadcast_to(cl, (d - 1,)) if cl.ndim == 0 else cl
        if cl.shape != (d - 1,):
            raise ValueError(f"chain: must be a scalar or d-1 = {d - 1} values, got shape {cl.shape}")
        m.w1[0] = a
        m.w2a[stop_feature_index(d)] = c
        m.b2a = float(b)
        for l in range(2, d + 1):
            m.chain[l - 2][chain_target_index(d, l)] = cl[l - 2]
        return m

    @classmethod
    def from_theta(cls, theta) -> "LinearAR":
        """The model on the reduced subspace at theta = (a, b, c, c_2..c_d) ``(d+2,)``; inverse of
        ``reduced().theta`` on the subspace."""
        try:   # values are checked by from_reduced, by the head they belong to (a, b, c, chain)
            theta = np.asarray(theta, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"theta: must be a numeric array of shape (d+2,), got {type(theta).__name__}") from None
        if theta.ndim != 1 or theta.shape[0] < 4:
            raise ValueError(f"theta: must have shape (d+2,) with d >= 2, got {theta.shape}")
        return cls.from_reduced(theta.shape[0] - 2, theta[0], theta[1], theta[2], theta[3:])

    @classmethod
    def from_packed(cls, w1, w2a, b2a, Wx, Wy, Wp) -> "LinearAR":
        """Inverse of :meth:`packed`: chain head l gets [Wx[l-2], Wy[l-2, :l-1], Wp[l-2]].

        Shapes are checked before indexing (ValueError naming the argument): w1 ``(d,)``, Wx and Wp
        ``(d-1, d)``, Wy ``(d-1, d-1)``; w2a, b2a and the values are checked by the constructor.
        """
        w1 = check_finite_array("w1", w1)
        if w1.ndim != 1:
            raise ValueError(f"w1: must be a 1-d array of length d >= 2, got shape {w1.shape}")
        d = check_d(w1.shape[0])
        Wx, Wy, Wp = (check_finite_array(name, a) for name, a in (("Wx", Wx), ("Wy", Wy), ("Wp", Wp)))
        for name, a, shape in (("Wx", Wx, (d - 1, d)), ("Wy", Wy, (d - 1, d - 1)), ("Wp", Wp, (d - 1, d))):
            if a.shape != shape:
                raise ValueError(f"{name}: must have shape {shape} for d = {d} (the length of w1), got {a.shape}")
        chain = [np.concatenate([Wx[l - 2], Wy[l - 2, :l - 1], Wp[l - 2]]) for l in range(2, d + 1)]
        return cls(w1, w2a, b2a, chain)

    @classmethod
    def from_vector(cls, d: int, theta) -> "LinearAR":
        """Inverse of :meth:`to_vector`."""
        d = check_d(d)
        theta = check_finite_array("theta", theta)
        if theta.shape != (cls.n_params(d),):
            raise ValueError(f"theta: must have shape ({cls.n_params(d)},), got {theta.shape}")
        sl = cls.head_slices(d)
        return cls(theta[sl[0]], theta[sl[1]][:-1], theta[sl[1]][-1], [theta[s] for s in sl[2:]])

    @staticmethod
    def head_slices(d: int) -> list[slice]:
        """Slices of :meth:`to_vector` per head: head 1 ``(d,)``, head 2a (w2a, then its bias)
        ``(2d+2,)``, then chain head l = 2..d ``(2d+l-1,)``."""
        sizes = [d, 2 * d + 2] + [2 * d + l - 1 for l in range(2, d + 1)]
        ends = np.cumsum(sizes)
        return [slice(int(e - n), int(e)) for n, e in zip(sizes, ends)]

    @staticmethod
    def n_params(d: int) -> int:
        """Total number of parameters: d + (2d+2) + sum_{l=2..d} (2d+l-1)."""
        return d + 2 * d + 2 + sum(2 * d + l - 1 for l in range(2, d + 1))

    def to_vector(self) -> np.ndarray:
        """All parameters flattened: w1, w2a, b2a, w_2, ..., w_d; shape ``(n_params(d),)``."""
        return np.concatenate([self.w1, self.w2a, [self.b2a], *self.chain])

    def copy(self) -> "LinearAR":
        return LinearAR(self.w1, self.w2a, self.b2a, self.chain)

    def __repr__(self) -> str:
        r = self.reduced()
        return (f"LinearAR(d={self.d}, a={r.a:.4g}, b={r.b:.4g}, c={r.c:.4g}, "
                f"chain_mean={np.mean(r.chain):.4g}, off_subspace_norm={r.off_subspace_norm:.3g})")

    def reduced(self) -> Reduced:
        """Reduced coordinates (a, b, c, c_2..c_d) and the norm of the off-subspace weight."""
        d = self.d
        idx = [chain_target_index(d, l) for l in range(2, d + 1)]
        chain = np.array([w[i] for w, i in zip(self.chain, idx)])
        off = self.to_vector() - LinearAR.from_reduced(
            d, self.w1[0], self.b2a, self.w2a[stop_feature_index(d)], chain).to_vector()
        return Reduced(float(self.w1[0]), self.b2a, float(self.w2a[stop_feature_index(d)]), chain,
                       float(np.linalg.norm(off)))

    # ------------------------------------------------------------------ logits
    def packed(self):
        """Chain weights split by feature group (inverse: :meth:`from_packed`).

        Returns Wx ``(d-1, d)`` (weights on x), Wy ``(d-1, d-1)`` (row l-2 holds the weights on
        y_1..y_{l-1}, zero-padded) and Wp ``(d-1, d)`` (weights on y_{l-1} x_j).
        """
        d = self.d
        Wx = np.empty((d - 1, d))
        Wy = np.zeros((d - 1, d - 1))
        Wp = np.empty((d - 1, d))
        for l, w in enumerate(self.chain, start=2):
            Wx[l - 2] = w[:d]
            Wy[l - 2, :l - 1] = w[d:d + l - 1]
            Wp[l - 2] = w[d + l - 1:]
        return Wx, Wy, Wp

    def _check_X(self, X) -> np.ndarray:
        """X ``(n, d)`` with every entry +1 or -1 (int8 or float; bools, strings, NaN refused)."""
        return check_pm1("X", X, self.d).astype(np.float64)

    def _check_Y(self, Y, n) -> np.ndarray:
        """Y ``(n, d+1)`` with entries in {-1, 0, +1}."""
        return check_responses("Y", Y, n, self.d)

    def logits(self, X, Y):
        """Teacher-forced logits of every head on responses Y.

        Returns
        -------
        u1 : ``(n,)`` head 1 logit <w_1, x>.
        u2a : ``(n,)`` stop logit <w_2a, phi_2> + b (positive favours EOS).
        uc : ``(n, d-1)`` chain logits, column l-2 for head l, computed with the bits of Y
            (meaningful on long rows only).
        """
        Xf = self._check_X(X)
        Yf = self._check_Y(Y, Xf.shape[0]).astype(np.float64)
        d = self.d
        y1 = Yf[:, 0]
        u1 = Xf @ self.w1
        u2a = Xf @ self.w2a[:d] + y1 * self.w2a[d] + y1 * (Xf @ self.w2a[d + 1:]) + self.b2a
        Wx, Wy, Wp = self.packed()
        prev = Yf[:, :d - 1]  # (n, d-1): y_{l-1} for head l
        uc = Xf @ Wx.T + prev @ Wy.T + prev * (Xf @ Wp.T)  # Wy is zero right of column l-2
        return u1, u2a, uc

    def log_prob(self, X, Y, temperature: float = 1.0) -> np.ndarray:
        """log pi(Y | X) at temperature tau, ``(n,)`` float64 (natural log).

        log pi = log sigma(y_1 u_1/tau) + [short: log sigma(u_2a/tau)]
        or [long: log sigma(-u_2a/tau) + sum_l log sigma(y_l u_l/tau)].
        Responses the model cannot produce (neither of length 2 nor d+1, or a 0 bit) get -inf.
        """
        tau = check_temperature(temperature)
        u1, u2a, uc = self.logits(X, Y)
        Y = self._check_Y(Y, np.shape(X)[0])
        Yf = Y.astype(np.float64)
        short = Y[:, 1] == 0
        lp = log_sigmoid(Yf[:, 0] * u1 / tau)
        lp_long = log_sigmoid(-u2a / tau) + log_sigmoid(Yf[:, 1:self.d] * uc / tau).sum(axis=1)
        lp = lp + np.where(short, log_sigmoid(u2a / tau), lp_long)
        valid = (Y[:, 0] != 0) & np.where(short, np.all(Y[:, 1:] == 0, axis=1),
                                         np.all(Y[:, :self.d] != 0, axis=1) & (Y[:, self.d] == 0))
        return np.where(valid, lp, -np.inf)

    # ------------------------------------------------------------------ decoding
    def _decode(self, X, draw) -> np.ndarray:
        """Autoregressive decoding; ``draw(logit, kind)`` returns +-1 bits or the stop decision."""
        Xf = self._check_X(X)
        n, d = Xf.shape
        Y = np.zeros((n, d + 1), dtype=np.int8)
        y1 = draw(Xf @ self.w1, "bit")
        Y[:, 0] = y1
        u2a = Xf @ self.w2a[:d] + y1 * self.w2a[d] + y1 * (Xf @ self.w2a[d + 1:]) + self.b2a
        go = ~draw(u2a, "stop")
        if d > 1 and go.any():
            Wx, Wy, Wp = self.packed()
            Xg = Xf[go]
            base = Xg @ Wx.T      # (n_go, d-1)
            pair = Xg @ Wp.T      # (n_go, d-1)
            acc = np.zeros_like(base)  # sum_k<l y_k Wy[l-2, k-1]
            yg = np.empty((Xg.shape[0], d), dtype=np.int8)
            yg[:, 0] = y1[go]
            for l in range(2, d + 1):
                prev = yg[:, l - 2].astype(np.float64)
                acc += prev[:, None] * Wy[:, l - 2]
                yg[:, l - 1] = draw(base[:, l - 2] + acc[:, l - 2] + prev * pair[:, l - 2], "bit")
            Y[go, :d] = yg
        return Y

    def greedy(self, X) -> np.ndarray:
        """Greedy (tau -> 0) response, int8 ``(n, d+1)``.

        Ties: a bit logit of exactly 0 gives +1; a stop logit of exactly 0 goes on.
        """
        def draw(u, kind):
            return u > 0 if kind == "stop" else np.where(u >= 0, 1, -1).astype(np.int8)
        return self._decode(X, draw)

    def sample(self, X, rng=None, temperature: float = 1.0) -> np.ndarray:
        """One response per row of X sampled at temperature tau, int8 ``(n, d+1)``.

        Random stream: one uniform per row for y_1, one per row for the stop decision, then
        one per continuing row for each chain bit, in order l = 2..d.
        """
        tau = check_temperature(temperature)
        rng = as_generator(rng)

        def draw(u, kind):
            p = expit(u / tau)  # P(+1) for a bit, P(EOS) for the stop head
            hit = rng.random(u.shape[0]) < p
            return hit if kind == "stop" else np.where(hit, 1, -1).astype(np.int8)
        return self._decode(X, draw)
