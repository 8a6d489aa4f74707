"""Next-token pre-training by SGD: Algorithm 3 of THEORY §3, a plain reference and a fast path.

Algorithm 3 (per-sample, ``batch_size = 1``)
-------------------------------------------
All weights start at 0. For t = 1..T one fresh sample (x, y) is drawn from D(p).

* head 1 steps while t <= T_1 on ell(y_1 <w_1, x>) + (lambda_1/2)|w_1|^2;
* head 2a steps while t <= T_2a on ell(u (<w_2a, phi_2> + b)) + (lambda_2a/2)(|w_2a|^2 + b^2),
  label u = +1 if y_2 = EOS and -1 otherwise;
* t_long counts long samples; on each long sample every chain head l = 2..d with t_long <= T_l
  steps on ell(y_l <w_l, phi_l>) + (lambda_l/2)|w_l|^2.

A head at its k-th step (k = t for heads 1 and 2a, k = t_long for chain heads) moves by
-(1/(lambda k)) times the gradient of its own regularised loss (Pegasos step). The output is each
head's **average iterate**, the mean of its post-step iterates w_1, ..., w_K over its own K steps;
a head that never steps (K = 0, e.g. chain heads at p = 0) outputs its initial weights 0.

Mini-batch variant (``batch_size = B > 1``)
-------------------------------------------
Step t draws B fresh samples. Heads 1 and 2a step (while t <= T_1, T_2a) with the **mean**
gradient over the B samples, all margins taken at the weights before the step. t_long counts the
batches that hold at least one long sample; on such a batch every chain head with t_long <= T_l
steps with the mean gradient over the **long samples of the batch**. Step sizes are
1/(lambda t) and 1/(lambda_l t_long), counted in batch steps; the output is again the average
iterate over each head's own steps. ``n_steps`` counts steps, so a run draws n_steps * B samples.
B = 1 is Algorithm 3 exactly.

Fast path
---------
With w_0 = 0 the Pegasos recursion w_k = (1 - 1/k) w_{k-1} + g_k / (lambda k), g_k the mean of
sigma(-m) u phi over the step's samples, has the closed solution w_k = G_k / (lambda k) with
G_k = g_1 + ... + g_k. The compiled kernel (numba) keeps G and the running sum
S_K = sum_{k<=K} G_k / (lambda k) of the iterates, so each step costs one signed dot product and
two axpy's per feature and the average iterate is S_K / K. This is the same arithmetic as the
reference up to rounding. At batch size 1 and d >= ``blocked.BLOCKED_MIN_D`` the chain heads
instead step on blocks of long samples (:mod:`linparity.blocked`: GEMMs against the block-start
sums plus a Gram recursion inside the block), again the same steps up to rounding (tested).

Floating-point reproducibility (a finding)
------------------------------------------
The fast path equals the reference to ~1e-15 relative for lambda >= 0.01 (worst of 240 random
cases at d <= 6: 3e-14 at lambda = 0.01; 1.5e-13 at d = 50, lambda = 0.01, T = 2000). For
smaller lambda, or larger d at lambda = 0.01 (d = 64, T = 4000: 7.5e-11 for the per-sample kernel,
7.3e-11 for the blocked one; d = 128: 7e-12; at lambda = 0.1 both stay below 1e-14), the iterates
are ill-conditioned functions of rounding: a perturbation dG of the
Pegasos sum moves the next margin by dG / (lambda t), and while lambda t is small against
|phi|^2 / 4 a step can expand it. Two correct implementations then part: at d = 3, T = 2000,
lambda = 1e-3 the reference with np.dot and the same reference with exactly rounded dot
products (math.fsum) differ by 3e-3 relative (1e-2 to 8e-2 for lambda = 1e-4 .. 1e-8), as
much as the fast path differs from either. Runs at tiny lambda are reproducible bit-for-bit
only within one implementation; statistically they are all valid samples of Algorithm 3.

Given samples and warm starts (:func:`fit_samples`)
---------------------------------------------------
:func:`fit_samples` runs the same steps (batch size 1) on samples (X, Y) given in order instead of
fresh draws: STaR's ``refit`` is Algorithm 3 from zero on the kept set. ``init`` sets w_0. Note
that Pegasos' first step, w_1 = (1 - 1/1) w_0 + g_1 / lambda, discards w_0 except through the
margins of g_1; ``init_steps`` = (k_0, k_long,0) instead resumes a run that had already taken
k_0 steps (heads 1, 2a) and k_long,0 steps (chain heads) and ended at w_0: the next step of a
head is k_0 + 1 with size 1/(lambda (k_0 + 1)), i.e. the Pegasos sum starts at
G_{k_0} = lambda k_0 w_0. The average iterate is over the new steps only.

Random stream
-------------
Replicate r draws its samples from child r of ``linparity._checks.spawn(rng, R)``; the reference
uses child 0 of ``spawn(rng, 1)``, which is the same stream as replicate 0 when ``rng`` is the
same int (or a freshly made SeedSequence, Generator or BitGenerator of that seed: all four give
the same children). Samples come from :meth:`Mixture.sample` in chunks of
max(1, CHUNK_SAMPLES // B) * B samples (both paths use :func:`_sample_chunks`), so the two see
identical samples. Passing the same Generator or SeedSequence object twice spawns new children
(numpy SPEC 7), hence a different stream.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from numba import njit
from scipy.special import expit
from tqdm.auto import tqdm

from .._checks import check_d, check_int, check_prob, spawn
from .._validate import check_lam
from ..data import Mixture, is_long
from ..heads import default_lam, lam_triple
from ..model import LinearAR, phi
from . import blocked
from .blocked import chain_sample_update, sig_neg, stop_coefficient

__all__ = ["pretrain", "pretrain_reference", "fit_samples", "fit_samples_reference", "PretrainResult",
           "CHUNK_SAMPLES"]

#: samples drawn per call of Mixture.sample (rounded down to whole batches, at least one batch)
CHUNK_SAMPLES = 4096


# ============================================================================ configuration
@dataclass(frozen=True)
class _Config:
    d: int                     # number of input bits, >= 2
    p_cot: float               # probability of a long response, in [0, 1]
    n_steps: int               # number of SGD steps T (samples when batch_size = 1), >= 1
    batch_size: int            # samples per step B, >= 1
    lam1: float                # head 1 regularisation, > 0
    lam2a: float               # head 2a regularisation, > 0
    lam_chain: np.ndarray      # (d-1,) chain head l = 2..d regularisation, > 0
    T1: int                    # head 1 steps while t <= T1 (>= 0)
    T2a: int                   # head 2a steps while t <= T2a (>= 0)
    T_chain: np.ndarray        # (d-1,) int64: chain head l steps while t_long <= T_l (>= 0)


def _per_head(name: str, value, d: int, check, default):
    """A scalar or a (d-1,) sequence of per-chain-head values, as a (d-1,) array."""
    if value is None:
        value = default
    try:
        ndim = np.ndim(value)
    except ValueError:                      # ragged nested sequence
        ndim = -1
    if ndim == 0:
        return np.full(d - 1, check(name, value))
    vals = list(np.asarray(value, dtype=object).ravel()) if ndim == 1 else None
    if vals is None or len(vals) != d - 1:
        raise ValueError(f"{name}: must be a scalar or d-1 = {d - 1} values (heads l = 2..d), "
                         f"got {value!r}")
    return np.array([check(name, v) for v in vals])


def _make_config(d, p_cot, n_steps, lam, lam1, lam2a, lam_chain, T1, T2a, T_chain,
                 batch_size) -> _Config:
    """Validate every argument (ValueError naming it) and resolve per-head defaults."""
    d = check_d(d)
    p_cot = check_prob("p_cot", p_cot)
    n_steps = check_int("n_steps", n_steps, 1)
    batch_size = check_int("batch_size", batch_size, 1)
    # lam_chain may also be d-1 per-head values: parsed below, after the scalar triple
    lam1, lam2a, lam_c0 = lam_triple(default_lam(d) if lam is None else lam, lam1, lam2a, positive=True)
    lam_c = _per_head("lam_chain", lam_chain, d, check_lam, lam_c0)
    T1 = n_steps if T1 is None else check_int("T1", T1, 0)
    T2a = n_steps if T2a is None else check_int("T2a", T2a, 0)
    # "unlimited": t_long never exceeds n_steps
    T_c = _per_head("T_chain", T_chain, d, lambda n, v: check_int(n, v, 0), n_steps)
    return _Config(d, p_cot, n_steps, batch_size, lam1, lam2a, lam_c.astype(np.float64),
                   T1, T2a, T_c.astype(np.int64))


def _steps_per_chunk(batch_size: int) -> int:
    return max(1, CHUNK_SAMPLES // batch_size)


def _sample_chunks(cfg: _Config, gen: np.random.Generator):
    """Yield (X, Y) chunks of whole batches, n_steps * B samples in all, from Mixture.sample.

    Both the reference and the fast path draw through this generator, so they see the same
    samples for the same ``gen``.
    """
    mix = Mixture(cfg.d, cfg.p_cot)
    spc = _steps_per_chunk(cfg.batch_size)
    for start in range(0, cfg.n_steps, spc):
        k = min(spc, cfg.n_steps - start)
        yield mix.sample(k * cfg.batch_size, gen)


# ============================================================================ reference
def _pegasos_step(w: np.ndarray, Phi: list, labels: list, lam: float, k: int) -> np.ndarray:
    """One step w - (1/(lam k)) grad of  mean_i ell(u_i <w, phi_i>) + (lam/2)|w|^2."""
    g = np.zeros_like(w)
    for f, u in zip(Phi, labels):
        g += expit(-u * np.dot(w, f)) * u * f   # -d/dw ell(u <w, f>)
    grad = lam * w - g / len(Phi)
    return w - grad / (lam * k)


class _ReferenceRun:
    """Per-sample state of Algorithm 3: current iterates, sums of iterates, step counters.

    Heads start at ``init`` (zeros if None) having taken ``k0`` (heads 1, 2a) and ``kl0`` (chain
    heads) steps; :meth:`step` applies one (mini-)batch step, :meth:`models` returns the average
    iterate over the steps taken here (a head that took none keeps its initial weights).
    """

    def __init__(self, cfg: _Config, init: LinearAR | None = None, k0: int = 0, kl0: int = 0):
        d = cfg.d
        m = LinearAR.zeros(d) if init is None else init
        self.cfg, self.d = cfg, d
        self.w1 = m.w1.copy()                                        # (d,) head 1
        self.w2 = np.append(m.w2a, m.b2a)                            # (2d+2,) head 2a: phi_2, bias
        self.chain = [w.copy() for w in m.chain]                     # heads l = 2..d, (2d+l-1,)
        self.init = (self.w1.copy(), self.w2.copy(), [w.copy() for w in self.chain])
        self.s1, self.s2 = np.zeros_like(self.w1), np.zeros_like(self.w2)
        self.sc = [np.zeros_like(w) for w in self.chain]
        self.k1 = self.k2 = 0
        self.kc = [0] * (d - 1)
        self.t, self.t_long = k0, kl0
        self.lamc, self.Tc = cfg.lam_chain.tolist(), cfg.T_chain.tolist()   # Python scalars: fast

    def step(self, xb: np.ndarray, yb: np.ndarray) -> None:
        """One step on the batch xb ``(B, d)``, yb ``(B, d+1)`` (THEORY §3; B = 1: Algorithm 3)."""
        cfg, d = self.cfg, self.d
        self.t += 1
        t = self.t
        if t <= cfg.T1:
            self.w1 = _pegasos_step(self.w1, list(xb), [y[0] for y in yb], cfg.lam1, t)
            self.s1 += self.w1
            self.k1 += 1
        if t <= cfg.T2a:
            Phi = [np.append(phi(np.append(x, y[0]), d), 1.0) for x, y in zip(xb, yb)]
            labels = [1.0 if y[1] == 0 else -1.0 for y in yb]        # +1: y_2 = EOS
            self.w2 = _pegasos_step(self.w2, Phi, labels, cfg.lam2a, t)
            self.s2 += self.w2
            self.k2 += 1
        longs = [(x, y) for x, y in zip(xb, yb) if y[1] != 0]
        if not longs:
            return
        self.t_long += 1
        for l in range(2, d + 1):
            if self.t_long <= self.Tc[l - 2]:
                Phi = [phi(np.append(x, y[:l - 1]), d) for x, y in longs]
                labels = [float(y[l - 1]) for _, y in longs]
                self.chain[l - 2] = _pegasos_step(self.chain[l - 2], Phi, labels,
                                                  self.lamc[l - 2], self.t_long)
                self.sc[l - 2] += self.chain[l - 2]
                self.kc[l - 2] += 1

    def models(self) -> tuple[LinearAR, LinearAR]:
        """(average iterate, last iterate) as LinearAR."""
        def avg(s, k, w0):
            return s / k if k > 0 else w0.copy()
        i1, i2, ic = self.init
        w2 = avg(self.s2, self.k2, i2)
        mean = LinearAR(avg(self.s1, self.k1, i1), w2[:-1], w2[-1],
                        [avg(s, k, w0) for s, k, w0 in zip(self.sc, self.kc, ic)])
        return mean, LinearAR(self.w1, self.w2[:-1], self.w2[-1], self.chain)


def pretrain_reference(d, p_cot, n_steps, lam=None, *, lam1=None, lam2a=None,
                       lam_chain=None, T1=None, T2a=None, T_chain=None, batch_size=1,
                       rng=None, return_last=False):
    """Algorithm 3 (THEORY §3), plain per-sample Python: the oracle for :func:`pretrain`.

    Parameters
    ----------
    d : int
        Number of input bits, d >= 2.
    p_cot : float
        Probability p of a long response, in [0, 1].
    n_steps : int
        Number of steps T >= 1 (one sample per step when ``batch_size`` = 1).
    lam : float or triple, optional
        Regularisation of every head, > 0, or (lambda_1, lambda_2a, lambda_chain); default
        heads.default_lam(d) = (0.01, 0.01, 0.01/d).
    lam1, lam2a : float, optional
        Per-head regularisation of head 1 and head 2a (default from ``lam``).
    lam_chain : float or (d-1,) array, optional
        Regularisation of chain heads l = 2..d (default from ``lam``).
    T1, T2a : int, optional
        Head 1 (2a) steps while t <= T1 (T2a); default ``n_steps``.
    T_chain : int or (d-1,) ints, optional
        Chain head l steps while t_long <= T_l; default unlimited.
    batch_size : int
        Samples per step B (see the module docstring for the mini-batch step); 1 is Algorithm 3.
    rng : None, int, SeedSequence or Generator
        Samples come from child 0 of ``spawn(rng, 1)``.
    return_last : bool
        Also return the last iterates.

    Returns
    -------
    LinearAR
        The average iterate of every head; with ``return_last`` a pair (average, last).
    """
    cfg = _make_config(d, p_cot, n_steps, lam, lam1, lam2a, lam_chain, T1, T2a, T_chain,
                       batch_size)
    gen = spawn(rng, 1)[0]
    run = _ReferenceRun(cfg)
    B = cfg.batch_size
    for X, Y in _sample_chunks(cfg, gen):
        for start in range(0, X.shape[0], B):
            run.step(X[start:start + B], Y[start:start + B])
    mean, last = run.models()
    return (mean, last) if return_last else mean


# ============================================================================ fast path
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


class _FastRun:
    """Kernel state of one run of Algorithm 3 (see "Fast path" and "Given samples" above).

    Heads start at ``init`` (zeros if None) having taken ``k0`` (heads 1, 2a) and ``kl0`` (chain
    heads) steps: the Pegasos sums start at G = lam k0 w_0 (chain heads: lam kl0 w_0).
    """

    def __init__(self, cfg: _Config, init: LinearAR | None = None, k0: int = 0, kl0: int = 0):
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
            # (linparity.blocked; same steps, reassociated arithmetic)
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


def _run_replicate(cfg: _Config, gen: np.random.Generator, pbar=None):
    """One replicate of Algorithm 3 with samples from ``gen``.

    Returns (average LinearAR, last-iterate LinearAR, number of long samples, t_long).
    """
    run = _FastRun(cfg)
    n_long = 0
    for X, Y in _sample_chunks(cfg, gen):
        n_long += int(is_long(Y).sum())
        run.feed(X, Y)
        if pbar is not None:
            pbar.update(X.shape[0] // cfg.batch_size)
    mean, last = run.models()
    return mean, last, n_long, run.tl


@dataclass
class PretrainResult:
    """Output of :func:`pretrain`: R independent replicates of Algorithm 3 and their config."""
    d: int                      # number of input bits
    p_cot: float                # probability of a long response
    n_steps: int                # SGD steps T per replicate
    batch_size: int             # samples per step B (n_steps * B samples per replicate)
    replicates: int             # number of independent replicates R
    lam1: float                 # head 1 regularisation
    lam2a: float                # head 2a regularisation
    lam_chain: np.ndarray       # (d-1,) chain head regularisation, l = 2..d
    T1: int                     # head 1 step limit
    T2a: int                    # head 2a step limit
    T_chain: np.ndarray         # (d-1,) chain head step limits (n_steps = unlimited)
    models_: list = field(repr=False)       # R LinearAR: average iterates (the output)
    last_models_: list = field(repr=False)  # R LinearAR: last iterates
    n_long_: np.ndarray = None  # (R,) long samples drawn by each replicate
    n_chain_steps_: np.ndarray = None  # (R,) t_long at the end (batches with a long sample)
    theta_: np.ndarray = None   # (R, d+2) reduced coordinates (a, b, c, c_2..c_d) of models_
    off_subspace_norm_: np.ndarray = None  # (R,) norm of the weight off the reduced subspace


def pretrain(d, p_cot, n_steps, lam=None, *, lam1=None, lam2a=None, lam_chain=None,
             T1=None, T2a=None, T_chain=None, rng=None, replicates=1, batch_size=1,
             progress=False, n_jobs=1) -> PretrainResult:
    """Algorithm 3 (THEORY §3) for R independent replicates, compiled inner loop.

    Same arguments and semantics as :func:`pretrain_reference` (see the module docstring for
    Algorithm 3, the mini-batch step and the random stream), plus:

    Parameters
    ----------
    replicates : int
        Number R >= 1 of independent runs; replicate r uses child r of ``spawn(rng, R)``.
    batch_size : int
        Samples per step B >= 1.
    progress : bool
        Show a tqdm progress bar over all replicate-steps.
    n_jobs : int
        Threads running replicates concurrently (the kernel releases the GIL). Results do not
        depend on it.

    Returns
    -------
    PretrainResult
        ``models_[r]`` is replicate r's average iterate; iterates equal the reference's to
        rounding (tested to 1e-12 relative).
    """
    cfg = _make_config(d, p_cot, n_steps, lam, lam1, lam2a, lam_chain, T1, T2a, T_chain,
                       batch_size)
    R = check_int("replicates", replicates, 1)
    n_jobs = check_int("n_jobs", n_jobs, 1)
    if not isinstance(progress, (bool, np.bool_)):
        raise ValueError(f"progress: must be True or False, got {progress!r}")
    gens = spawn(rng, R)
    with tqdm(total=R * cfg.n_steps, disable=not progress, unit="step",
              desc=f"pretrain d={cfg.d} p={cfg.p_cot:g}") as pbar:
        if n_jobs == 1 or R == 1:
            runs = [_run_replicate(cfg, g, pbar) for g in gens]
        else:
            with ThreadPoolExecutor(max_workers=min(n_jobs, R)) as ex:
                runs = list(ex.map(lambda g: _run_replicate(cfg, g, pbar), gens))
    models = [r[0] for r in runs]
    reds = [m.reduced() for m in models]
    theta = np.array([r.theta for r in reds])                      # (R, d+2)
    return PretrainResult(
        d=cfg.d, p_cot=cfg.p_cot, n_steps=cfg.n_steps, batch_size=cfg.batch_size, replicates=R,
        lam1=cfg.lam1, lam2a=cfg.lam2a, lam_chain=cfg.lam_chain, T1=cfg.T1, T2a=cfg.T2a,
        T_chain=cfg.T_chain, models_=models, last_models_=[r[1] for r in runs],
        n_long_=np.array([r[2] for r in runs], dtype=np.int64),
        n_chain_steps_=np.array([r[3] for r in runs], dtype=np.int64),
        theta_=theta, off_subspace_norm_=np.array([r.off_subspace_norm for r in reds]))


# ============================================================================ given samples
def _check_samples(X, Y) -> tuple[np.ndarray, np.ndarray]:
    """X ``(n, d)`` of +-1 and Y ``(n, d+1)`` of responses the model can emit, as int8 (exact).

    A response is short (y_1 = +-1, then zeros) or long (y_1..y_d = +-1, y_{d+1} = 0 = EOS).
    """
    X, Y = np.asarray(X), np.asarray(Y)
    if X.ndim != 2 or X.shape[1] < 2:
        raise ValueError(f"X: must have shape (n, d) with d >= 2, got {X.shape}")
    n, d = X.shape
    if Y.shape != (n, d + 1):
        raise ValueError(f"Y: must have shape ({n}, {d + 1}) for X of shape {X.shape}, got {Y.shape}")
    if not np.all(np.abs(X) == 1):
        raise ValueError("X: entries must be +1 or -1")
    short = Y[:, 1] == 0
    ok = (np.abs(Y[:, 0]) == 1) & np.where(short, np.all(Y[:, 1:] == 0, axis=1),
                                           np.all(np.abs(Y[:, 1:d]) == 1, axis=1) & (Y[:, d] == 0))
    if not np.all(ok):
        raise ValueError(f"Y: row {int(np.flatnonzero(~ok)[0])} is not a response of the model "
                         "(short: y_1 = +-1 then zeros; long: d bits +-1 then 0)")
    return X.astype(np.int8, copy=False), Y.astype(np.int8, copy=False)


def _check_init(init, d, init_steps) -> tuple[int, int]:
    if init is not None and (not isinstance(init, LinearAR) or init.d != d):
        raise ValueError(f"init: must be None or a LinearAR with d = {d}, got {init!r}")
    if np.ndim(init_steps) == 0:
        init_steps = (init_steps, init_steps)
    if len(init_steps) != 2:
        raise ValueError(f"init_steps: must be an integer >= 0 or a pair (k0, k_long0), got {init_steps!r}")
    k0, kl0 = (check_int("init_steps", k, 0) for k in init_steps)
    if init is None and (k0 or kl0):
        raise ValueError("init_steps: must be 0 without init (a run from w_0 = 0 has taken no step)")
    return k0, kl0


def _samples_config(X, Y, lam, lam1, lam2a, lam_chain, k0, kl0) -> _Config:
    """Every head steps on every sample it sees (no step limits); p_cot is unused (0)."""
    n, d = X.shape
    return _make_config(d, 0.0, max(n, 1), lam, lam1, lam2a, lam_chain, k0 + n, k0 + n, kl0 + n, 1)


def fit_samples(X, Y, lam=None, *, lam1=None, lam2a=None, lam_chain=None, init=None,
                init_steps=0, return_last=False):
    """Algorithm 3 (THEORY §3, batch size 1) on the given samples in row order, compiled.

    Step t = 1..n takes sample (x_t, y_t): heads 1 and 2a step at k = k_0 + t; if y_t is long
    every chain head steps at k = k_long,0 + t_long. A head at its k-th step moves by
    -(1/(lambda k)) times the gradient of its own regularised logistic loss (Pegasos); the
    output is each head's average iterate over its steps on these samples. STaR's ``refit``
    variant is ``fit_samples(X_kept, Y_kept, lam)``.

    Parameters
    ----------
    X : int array ``(n, d)``
        Inputs in {-1, +1}, d >= 2; n may be 0.
    Y : int array ``(n, d+1)``
        Responses: short (y_1, 0, ..., 0) or long (y_1, ..., y_d, 0); EOS is 0.
    lam, lam1, lam2a, lam_chain
        Regularisation, as in :func:`pretrain` (each > 0).
    init : LinearAR, optional
        Starting weights w_0 (default 0). With ``init_steps`` = 0 only the first step's margins
        see them: Pegasos' first step w_1 = g_1 / lambda overwrites w_0.
    init_steps : int or pair (k0, k_long0)
        Steps already taken by heads 1 and 2a (k0) and by the chain heads (k_long0) in the run
        that ended at ``init``; the run resumes at step k0 + 1 (Pegasos sum G = lambda k0 w_0).
        An int sets both. Needs ``init``.
    return_last : bool
        Also return the last iterates.

    Returns
    -------
    LinearAR
        Average iterates (a head with no step, e.g. chain heads without long samples, keeps
        w_0); with ``return_last`` a pair (average, last). Equals
        :func:`fit_samples_reference` to rounding (tested to 1e-12 relative for lambda >= 0.03).
    """
    Xf, Yf = _check_samples(X, Y)
    k0, kl0 = _check_init(init, Xf.shape[1], init_steps)
    cfg = _samples_config(Xf, Yf, lam, lam1, lam2a, lam_chain, k0, kl0)
    run = _FastRun(cfg, init, k0, kl0)
    if Xf.shape[0]:
        run.feed(Xf, Yf)
    mean, last = run.models()
    return (mean, last) if return_last else mean


def fit_samples_reference(X, Y, lam=None, *, lam1=None, lam2a=None, lam_chain=None,
                          init=None, init_steps=0, return_last=False):
    """:func:`fit_samples` in plain per-sample Python (its oracle); same arguments and output."""
    Xf, Yf = _check_samples(X, Y)
    k0, kl0 = _check_init(init, Xf.shape[1], init_steps)
    cfg = _samples_config(Xf, Yf, lam, lam1, lam2a, lam_chain, k0, kl0)
    run = _ReferenceRun(cfg, init, k0, kl0)
    for i in range(Xf.shape[0]):
        run.step(Xf[i:i + 1], Yf[i:i + 1])
    mean, last = run.models()
    return (mean, last) if return_last else mean
