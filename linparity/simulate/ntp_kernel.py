"""Algorithm 3's compiled kernel: the Pegasos sums of every head, stepped by numba.

With w_0 = 0 the Pegasos recursion w_k = (1 - 1/k) w_{k-1} + g_k / (lambda k) has the closed
solution w_k = G_k / (lambda k), G_k = g_1 + ... + g_k; the kernel keeps G and the running sum
S_K = sum_{k<=K} G_k / (lambda k) of the iterates, so the average iterate is S_K / K (the "Fast
path" of :mod:`linparity.simulate.ntp`, which documents the algorithm and the public API).

* :class:`FastRun`: the state of one run (warm starts included) and its steps on given samples;
* :func:`run_replicate`: one replicate of :func:`~linparity.simulate.pretrain` on fresh samples.

At batch size 1 and d >= ``blocked.BLOCKED_MIN_D`` the chain heads step in blocks of long samples
(:mod:`linparity.simulate.blocked`).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ..data import is_long
from ..model import LinearAR
from . import blocked
from .blocked import chain_sample_update, sig_neg, stop_coefficient
from .ntp_config import PretrainConfig, sample_chunks

__all__ = ["FastRun", "run_replicate"]

# reassociation lets LLVM vectorise the dot-product reductions; results change at rounding level
_FASTMATH = {"reassoc", "contract"}


@njit(cache=True, nogil=True, fastmath=_FASTMATH)
def _sgd_chunk(X, Y, B, t, tl, T1, T2a, Tc, lam1, lam2a, lamc,
               G1, S1, G2, S2, Gx, Gy, Gp, Sx, Sy, Sp, V1, V2, Vx, Vy, Vp, cbuf, longs):
    """Run the steps of one chunk; returns the updated (t, t_long).

    X ``(n, d)`` and Y ``(n, d+1)`` int8 or float64 (EOS = 0), n a multiple of B. G* are the Pegasos
    sums, S* the sums of iterates: G1, S1 ``(d,)``; G2, S2 ``(2d+2,)`` in the order
    [x, y_1, y_1 x, bias]; chain heads in the LinearAR.packed layout Gx, Gp ``(d-1, d)``
    (weights on x and on y_{l-1} x) and Gy ``(d-1, d-1)`` (row l-2: weights on y_1..y_{l-1}).
    V* (same shapes) are the weights w_0 before a head's first step (k = 1): its margins are
    taken there; from k = 2 on they are G / (lam (k-1)). cbuf and longs are scratch ``(B,)``.
    """
    n, d = X.shape
    for start in range(0, n, B):
        t += 1
        # ---------------------------------------------------------------- head 1
        if t <= T1:
            A1 = V1 if t == 1 else G1                           # w_{t-1} = G / (lam (t-1))
            inv = 1.0 if t == 1 else 1.0 / (lam1 * (t - 1))
            for i in range(B):
                r = start + i
                u = Y[r, 0]
                acc = 0.0
                for j in range(d):
                    acc += A1[j] * X[r, j]
                cbuf[i] = sig_neg(u * (acc * inv)) * u / B
            for i in range(B):
                r = start + i
                c = cbuf[i]
                for j in range(d):
                    G1[j] += c * X[r, j]
            st = 1.0 / (lam1 * t)
            for j in range(d):
                S1[j] += G1[j] * st
        # ---------------------------------------------------------------- head 2a
        if t <= T2a:
            A2 = V2 if t == 1 else G2
            inv = 1.0 if t == 1 else 1.0 / (lam2a * (t - 1))
            for i in range(B):
                cbuf[i] = stop_coefficient(A2, X, Y, start + i, inv) / B
            for i in range(B):
                r = start + i
                c = cbuf[i]
                cy = c * Y[r, 0]
                for j in range(d):
                    G2[j] += c * X[r, j]
                    G2[d + 1 + j] += cy * X[r, j]
                G2[d] += cy
                G2[2 * d + 1] += c
            st = 1.0 / (lam2a * t)
            for j in range(2 * d + 2):
                S2[j] += G2[j] * st
        # ---------------------------------------------------------------- chain heads
        nl = 0
        for i in range(B):
            if Y[start + i, 1] != 0.0:
                longs[nl] = start + i
                nl += 1
        if nl == 0:
            continue
        tl += 1
        Ax, Ay, Ap = (Vx, Vy, Vp) if tl == 1 else (Gx, Gy, Gp)
        for h in range(d - 1):          # head l = h + 2
            if tl > Tc[h]:
                continue
            lam = lamc[h]
            inv = 1.0 if tl == 1 else 1.0 / (lam * (tl - 1))
            for k in range(nl):
                r = longs[k]
                yp = Y[r, h]             # y_{l-1}
                acc = 0.0
                for j in range(d):
                    acc += (Ax[h, j] + yp * Ap[h, j]) * X[r, j]
                for q in range(h + 1):   # y_1 .. y_{l-1}
                    acc += Ay[h, q] * Y[r, q]
                u = Y[r, h + 1]          # label y_l
                cbuf[k] = sig_neg(u * (acc * inv)) * u / nl
            st = 1.0 / (lam * tl)
            if nl == 1:                  # one long sample: fuse the G and S passes
                chain_sample_update(X, Y, longs[0], h, cbuf[0], st, Gx, Gy, Gp, Sx, Sy, Sp)
                continue
            for k in range(nl):
                r = longs[k]
                c = cbuf[k]
                cy = c * Y[r, h]
                for j in range(d):
                    Gx[h, j] += c * X[r, j]
                    Gp[h, j] += cy * X[r, j]
                for q in range(h + 1):
                    Gy[h, q] += c * Y[r, q]
            for j in range(d):
                Sx[h, j] += Gx[h, j] * st
                Sp[h, j] += Gp[h, j] * st
            for q in range(h + 1):
                Sy[h, q] += Gy[h, q] * st
    return t, tl


def _packed_heads(m: LinearAR):
    """Kernel layout of a model: w1 ``(d,)``, [w2a, b] ``(2d+2,)``, Wx, Wy, Wp (LinearAR.packed)."""
    return (m.w1.copy(), np.append(m.w2a, m.b2a)) + tuple(a.copy() for a in m.packed())


class FastRun:
    """Kernel state of one run of Algorithm 3 (see "Fast path" and "Given samples" in
    :mod:`linparity.simulate.ntp`).

    Heads start at ``init`` (zeros if None) having taken ``k0`` (heads 1, 2a) and ``kl0`` (chain
    heads) steps: the Pegasos sums start at G = lam k0 w_0 (chain heads: lam kl0 w_0).
    """

    def __init__(self, cfg: PretrainConfig, init: LinearAR | None = None, k0: int = 0, kl0: int = 0):
        d = cfg.d
        self.cfg, self.k0, self.kl0 = cfg, k0, kl0
        self.V = _packed_heads(LinearAR.zeros(d) if init is None else init)  # w_0 per head
        lc = cfg.lam_chain[:, None]                                          # (d-1, 1)
        scale = (cfg.lam1 * k0, cfg.lam2a * k0, lc * kl0, lc * kl0, lc * kl0)
        # Pegasos sums, shapes (d,), (2d+2,), (d-1, d), (d-1, d-1), (d-1, d)
        self.G = [v * s for v, s in zip(self.V, scale)]
        self.S = [np.zeros_like(v) for v in self.V]        # sums of iterates, same shapes
        self.cbuf = np.zeros(cfg.batch_size)
        self.longs = np.zeros(cfg.batch_size, dtype=np.int64)
        self.t, self.tl = k0, kl0

    def feed(self, X, Y) -> None:
        """Steps on X ``(n, d)``, Y ``(n, d+1)`` (n a multiple of B), in row order."""
        cfg = self.cfg
        G1, G2, Gx, Gy, Gp = self.G
        S1, S2, Sx, Sy, Sp = self.S
        # the kernels read int8 (Mixture.sample's dtype, exact in float arithmetic) or float64
        X, Y = (a if a.dtype == np.int8 else a.astype(np.float64, copy=False)
                for a in (np.asarray(X), np.asarray(Y)))
        if cfg.batch_size == 1 and cfg.d >= blocked.BLOCKED_MIN_D:
            # batch size 1 at larger d: the chain heads step in blocks of long samples
            # (linparity.simulate.blocked; same steps, reassociated arithmetic)
            self.t, self.tl = blocked.sgd_chunk_blocked(
                X, Y, blocked.DEFAULT_BLOCK, self.t, self.tl, cfg.T1, cfg.T2a, cfg.T_chain,
                cfg.lam1, cfg.lam2a, cfg.lam_chain, G1, S1, G2, S2, Gx, Gy, Gp, Sx, Sy, Sp, *self.V)
            return
        self.t, self.tl = _sgd_chunk(
            X, Y, cfg.batch_size,
            self.t, self.tl, cfg.T1, cfg.T2a, cfg.T_chain, cfg.lam1, cfg.lam2a, cfg.lam_chain,
            G1, S1, G2, S2, Gx, Gy, Gp, Sx, Sy, Sp, *self.V, self.cbuf, self.longs)

    def models(self) -> tuple[LinearAR, LinearAR]:
        """(average iterate over the steps taken here, last iterate); a head that took no
        step keeps w_0."""
        cfg = self.cfg
        k1, k2 = min(cfg.T1, self.t) - self.k0, min(cfg.T2a, self.t) - self.k0
        kc = np.minimum(cfg.T_chain, self.tl) - self.kl0                     # (d-1,)
        ks = (k1, k2, kc[:, None], kc[:, None], kc[:, None])
        lams = (cfg.lam1, cfg.lam2a) + (cfg.lam_chain[:, None],) * 3

        def per_head(num, den, v):
            """num / den where the head stepped, else w_0."""
            return np.where(np.asarray(den) > 0, num / np.maximum(den, 1), v)
        mean = [per_head(s, k, v) for s, k, v in zip(self.S, ks, self.V)]
        # last iterate w_K = G_K / (lam K), K counting the k0 earlier steps
        last = [per_head(g / lam, k + k0, v) for g, lam, k, k0, v in
                zip(self.G, lams, ks, (self.k0, self.k0) + (self.kl0,) * 3, self.V)]
        return (LinearAR.from_packed(mean[0], mean[1][:-1], mean[1][-1], *mean[2:]),
                LinearAR.from_packed(last[0], last[1][:-1], last[1][-1], *last[2:]))


def run_replicate(cfg: PretrainConfig, gen: np.random.Generator, pbar=None):
    """One replicate of Algorithm 3 with samples from ``gen`` (drawn by ``sample_chunks``).

    ``pbar`` (a :class:`linparity._progress.Progress` or None) advances by the steps of each chunk. Returns (average LinearAR,
    last-iterate LinearAR, number of long samples, t_long).
    """
    run = FastRun(cfg)
    n_long = 0
    for X, Y in sample_chunks(cfg, gen):
        n_long += int(is_long(Y).sum())
        run.feed(X, Y)
        if pbar is not None:
            pbar.update(X.shape[0] // cfg.batch_size)
    mean, last = run.models()
    return mean, last, n_long, run.tl
