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
reference up to rounding.

Floating-point reproducibility (a finding)
------------------------------------------
The fast path equals the reference to ~1e-15 relative for lambda >= 0.01 (worst of 240 random
cases at d <= 6: 3e-14 at lambda = 0.01; 1.5e-13 at d = 50, lambda = 0.01, T = 2000). For
smaller lambda the iterates are ill-conditioned functions of rounding: a perturbation dG of the
Pegasos sum moves the next margin by dG / (lambda t), and while lambda t is small against
|phi|^2 / 4 a step can expand it. Two correct implementations then part: at d = 3, T = 2000,
lambda = 1e-3 the reference with np.dot and the same reference with exactly rounded dot
products (math.fsum) differ by 3e-3 relative (1e-2 to 8e-2 for lambda = 1e-4 .. 1e-8), as
much as the fast path differs from either. Runs at tiny lambda are reproducible bit-for-bit
only within one implementation; statistically they are all valid samples of Algorithm 3.

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

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from numba import njit
from scipy.special import expit
from tqdm.auto import tqdm

from ._checks import check_d, check_int, check_positive, check_prob, spawn
from .data import Mixture, is_long
from .model import LinearAR

__all__ = ["pretrain", "pretrain_reference", "PretrainResult", "DEFAULT_LAM", "CHUNK_SAMPLES"]

#: default regularisation strength of every head
DEFAULT_LAM = 0.01

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
    if isinstance(lam, (list, tuple)) or (isinstance(lam, np.ndarray) and lam.ndim > 0):
        lam_t = tuple(lam)
        if len(lam_t) != 3:
            raise ValueError(f"lam: must be a number > 0 or a triple (lam1, lam2a, lam_chain), "
                             f"got {lam!r}")
    else:
        lam_t = (lam, lam, lam)
    lam_t = tuple(check_positive("lam", v) for v in lam_t)
    lam1 = lam_t[0] if lam1 is None else check_positive("lam1", lam1)
    lam2a = lam_t[1] if lam2a is None else check_positive("lam2a", lam2a)
    lam_c = _per_head("lam_chain", lam_chain, d, check_positive, lam_t[2])
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
def _phi(z: np.ndarray, d: int) -> np.ndarray:
    """phi(z) = [z_1, ..., z_m, z_m z_1, ..., z_m z_d] (THEORY §2), float ``(2d + m - d,)``."""
    z = np.asarray(z, dtype=np.float64)
    return np.concatenate([z, z[-1] * z[:d]])


def _pegasos_step(w: np.ndarray, Phi: list, labels: list, lam: float, k: int) -> np.ndarray:
    """One step w - (1/(lam k)) grad of  mean_i ell(u_i <w, phi_i>) + (lam/2)|w|^2."""
    g = np.zeros_like(w)
    for phi, u in zip(Phi, labels):
        g += expit(-u * np.dot(w, phi)) * u * phi   # -d/dw ell(u <w, phi>)
    grad = lam * w - g / len(Phi)
    return w - grad / (lam * k)


def pretrain_reference(d, p_cot, n_steps, lam=DEFAULT_LAM, *, lam1=None, lam2a=None,
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
    lam : float or triple
        Regularisation of every head, > 0, or (lambda_1, lambda_2a, lambda_chain).
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
    d, B = cfg.d, cfg.batch_size
    w1 = np.zeros(d)                                                 # head 1
    w2 = np.zeros(2 * d + 2)                                         # head 2a: phi_2, then bias
    chain = [np.zeros(2 * d + l - 1) for l in range(2, d + 1)]       # heads l = 2..d
    sum1, sum2, sumc = np.zeros_like(w1), np.zeros_like(w2), [np.zeros_like(w) for w in chain]
    k1 = k2 = 0
    kc = [0] * (d - 1)
    t = t_long = 0
    for X, Y in _sample_chunks(cfg, gen):
        for start in range(0, X.shape[0], B):
            xb, yb = X[start:start + B], Y[start:start + B]
            t += 1
            if t <= cfg.T1:
                w1 = _pegasos_step(w1, [x for x in xb], [y[0] for y in yb], cfg.lam1, t)
                sum1 += w1
                k1 += 1
            if t <= cfg.T2a:
                Phi = [np.append(_phi(np.append(x, y[0]), d), 1.0) for x, y in zip(xb, yb)]
                labels = [1.0 if y[1] == 0 else -1.0 for y in yb]    # +1: y_2 = EOS
                w2 = _pegasos_step(w2, Phi, labels, cfg.lam2a, t)
                sum2 += w2
                k2 += 1
            longs = [i for i in range(len(xb)) if yb[i, 1] != 0]
            if longs:
                t_long += 1
                for l in range(2, d + 1):
                    if t_long <= cfg.T_chain[l - 2]:
                        Phi = [_phi(np.append(xb[i], yb[i, :l - 1]), d) for i in longs]
                        labels = [float(yb[i, l - 1]) for i in longs]
                        chain[l - 2] = _pegasos_step(chain[l - 2], Phi, labels,
                                                     cfg.lam_chain[l - 2], t_long)
                        sumc[l - 2] += chain[l - 2]
                        kc[l - 2] += 1

    def avg(s, k):
        return s / k if k > 0 else s
    mean = LinearAR(avg(sum1, k1), avg(sum2, k2)[:-1], avg(sum2, k2)[-1],
                    [avg(s, k) for s, k in zip(sumc, kc)])
    if return_last:
        return mean, LinearAR(w1, w2[:-1], w2[-1], chain)
    return mean


# ============================================================================ fast path
@njit(cache=True, nogil=True)
def _sig_neg(m):
    """sigma(-m) = 1 / (1 + e^m), finite for every m including +-inf."""
    if m >= 0.0:
        e = math.exp(-m)
        return e / (1.0 + e)
    return 1.0 / (1.0 + math.exp(m))


# reassociation lets LLVM vectorise the dot-product reductions; results change at rounding level
_FASTMATH = {"reassoc", "contract"}


@njit(cache=True, nogil=True, fastmath=_FASTMATH)
def _sgd_chunk(X, Y, B, t, tl, T1, T2a, Tc, lam1, lam2a, lamc,
               G1, S1, G2, S2, Gx, Gy, Gp, Sx, Sy, Sp, cbuf, longs):
    """Run the steps of one chunk; returns the updated (t, t_long).

    X ``(n, d)`` and Y ``(n, d+1)`` float64 (EOS = 0), n a multiple of B. G* are the Pegasos
    sums, S* the sums of iterates: G1, S1 ``(d,)``; G2, S2 ``(2d+2,)`` in the order
    [x, y_1, y_1 x, bias]; chain heads in the LinearAR._packed layout Gx, Gp ``(d-1, d)``
    (weights on x and on y_{l-1} x) and Gy ``(d-1, d-1)`` (row l-2: weights on y_1..y_{l-1}).
    cbuf and longs are scratch ``(B,)`` buffers.
    """
    n, d = X.shape
    for start in range(0, n, B):
        t += 1
        # ---------------------------------------------------------------- head 1
        if t <= T1:
            inv = 0.0 if t == 1 else 1.0 / (lam1 * (t - 1))    # w_{t-1} = G / (lam (t-1))
            for i in range(B):
                r = start + i
                u = Y[r, 0]
                acc = 0.0
                for j in range(d):
                    acc += G1[j] * X[r, j]
                cbuf[i] = _sig_neg(u * (acc * inv)) * u / B
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
            inv = 0.0 if t == 1 else 1.0 / (lam2a * (t - 1))
            for i in range(B):
                r = start + i
                y1 = Y[r, 0]
                u = 1.0 if Y[r, 1] == 0.0 else -1.0             # +1: y_2 = EOS
                acc = 0.0
                for j in range(d):
                    acc += (G2[j] + y1 * G2[d + 1 + j]) * X[r, j]
                acc += G2[d] * y1 + G2[2 * d + 1]
                cbuf[i] = _sig_neg(u * (acc * inv)) * u / B
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
        for h in range(d - 1):          # head l = h + 2
            if tl > Tc[h]:
                continue
            lam = lamc[h]
            inv = 0.0 if tl == 1 else 1.0 / (lam * (tl - 1))
            for k in range(nl):
                r = longs[k]
                yp = Y[r, h]             # y_{l-1}
                acc = 0.0
                for j in range(d):
                    acc += (Gx[h, j] + yp * Gp[h, j]) * X[r, j]
                for q in range(h + 1):   # y_1 .. y_{l-1}
                    acc += Gy[h, q] * Y[r, q]
                u = Y[r, h + 1]          # label y_l
                cbuf[k] = _sig_neg(u * (acc * inv)) * u / nl
            st = 1.0 / (lam * tl)
            if nl == 1:                  # one long sample: fuse the G and S passes
                r = longs[0]
                c = cbuf[0]
                cy = c * Y[r, h]
                for j in range(d):
                    Gx[h, j] += c * X[r, j]
                    Sx[h, j] += Gx[h, j] * st
                    Gp[h, j] += cy * X[r, j]
                    Sp[h, j] += Gp[h, j] * st
                for q in range(h + 1):
                    Gy[h, q] += c * Y[r, q]
                    Sy[h, q] += Gy[h, q] * st
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


def _unpack(cfg: _Config, v1, v2, vx, vy, vp, k1, k2, kc) -> LinearAR:
    """LinearAR from kernel arrays, each head divided by its own count (no division where 0)."""
    d = cfg.d

    def div(a, k):
        return a / k if k > 0 else a.copy()
    chain = [div(np.concatenate([vx[l - 2], vy[l - 2, :l - 1], vp[l - 2]]), kc[l - 2])
             for l in range(2, d + 1)]
    w2 = div(v2, k2)
    return LinearAR(div(v1, k1), w2[:-1], w2[-1], chain)


def _run_replicate(cfg: _Config, gen: np.random.Generator, pbar=None):
    """One replicate of Algorithm 3 with samples from ``gen``.

    Returns (average LinearAR, last-iterate LinearAR, number of long samples, t_long).
    """
    d, B = cfg.d, cfg.batch_size
    G1, S1 = np.zeros(d), np.zeros(d)                      # (d,)
    G2, S2 = np.zeros(2 * d + 2), np.zeros(2 * d + 2)      # (2d+2,)
    Gx, Gp, Sx, Sp = (np.zeros((d - 1, d)) for _ in range(4))   # (d-1, d)
    Gy, Sy = np.zeros((d - 1, d - 1)), np.zeros((d - 1, d - 1))  # (d-1, d-1)
    cbuf, longs = np.zeros(B), np.zeros(B, dtype=np.int64)
    t = tl = 0
    n_long = 0
    for X, Y in _sample_chunks(cfg, gen):
        n_long += int(is_long(Y).sum())
        t, tl = _sgd_chunk(X.astype(np.float64), Y.astype(np.float64), B, t, tl, cfg.T1,
                           cfg.T2a, cfg.T_chain, cfg.lam1, cfg.lam2a, cfg.lam_chain,
                           G1, S1, G2, S2, Gx, Gy, Gp, Sx, Sy, Sp, cbuf, longs)
        if pbar is not None:
            pbar.update(X.shape[0] // B)
    k1, k2 = min(cfg.T1, t), min(cfg.T2a, t)
    kc = np.minimum(cfg.T_chain, tl)                       # (d-1,) steps of each chain head
    mean = _unpack(cfg, S1, S2, Sx, Sy, Sp, k1, k2, kc)
    # last iterate w_K = G_K / (lam K)
    last = _unpack(cfg, G1 / cfg.lam1, G2 / cfg.lam2a, Gx / cfg.lam_chain[:, None],
                   Gy / cfg.lam_chain[:, None], Gp / cfg.lam_chain[:, None], k1, k2, kc)
    return mean, last, n_long, tl


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


def pretrain(d, p_cot, n_steps, lam=DEFAULT_LAM, *, lam1=None, lam2a=None, lam_chain=None,
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
    theta = np.array([[r.a, r.b, r.c, *r.chain] for r in reds])     # (R, d+2)
    return PretrainResult(
        d=cfg.d, p_cot=cfg.p_cot, n_steps=cfg.n_steps, batch_size=cfg.batch_size, replicates=R,
        lam1=cfg.lam1, lam2a=cfg.lam2a, lam_chain=cfg.lam_chain, T1=cfg.T1, T2a=cfg.T2a,
        T_chain=cfg.T_chain, models_=models, last_models_=[r[1] for r in runs],
        n_long_=np.array([r[2] for r in runs], dtype=np.int64),
        n_chain_steps_=np.array([r[3] for r in runs], dtype=np.int64),
        theta_=theta, off_subspace_norm_=np.array([r.off_subspace_norm for r in reds]))
