"""Next-token pre-training by SGD: Algorithm 3 of THEORY §3, the public API of its fast path.

Modules: this one (:func:`pretrain`, :func:`fit_samples`, :class:`PretrainResult`);
:mod:`linparity.simulate.ntp_config` (argument validation, per-head defaults, the sample stream);
:mod:`linparity.simulate.ntp_kernel` (the compiled kernel); the per-sample Python oracles
``pretrain_reference`` and ``fit_samples_reference`` live with the other references in
:mod:`linparity.references`.

Algorithm 3 (per-sample, ``batch_size = 1``)
--------------------------------------------
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
iterate over each head's own steps. ``steps`` counts steps, so a run draws steps * B samples.
B = 1 is Algorithm 3 exactly.

Fast path
---------
With w_0 = 0 the Pegasos recursion w_k = (1 - 1/k) w_{k-1} + g_k / (lambda k), g_k the mean of
sigma(-m) u phi over the step's samples, has the closed solution w_k = G_k / (lambda k) with
G_k = g_1 + ... + g_k. The compiled kernel (numba) keeps G and the running sum
S_K = sum_{k<=K} G_k / (lambda k) of the iterates, so each step costs one signed dot product and
two axpy's per feature and the average iterate is S_K / K. This is the same arithmetic as the
reference up to rounding. At batch size 1 and d >= ``blocked.BLOCKED_MIN_D`` the chain heads
instead step on blocks of long samples (:mod:`linparity.simulate.blocked`: GEMMs against the block-start
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
max(1, CHUNK_SAMPLES // B) * B samples (both paths use ``ntp_config.sample_chunks``), so the
two see identical samples. Passing the same Generator or SeedSequence object twice spawns new children
(numpy SPEC 7), hence a different stream.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from .._checks import check_int, spawn
from .._progress import Progress
from ..model import LinearAR
from .ntp_config import CHUNK_SAMPLES, check_init, check_samples, make_config, samples_config
from .ntp_kernel import FastRun, run_replicate

__all__ = ["pretrain", "fit_samples", "fit_sample_chunks", "PretrainResult", "CHUNK_SAMPLES"]


@dataclass
class PretrainResult:
    """Output of :func:`pretrain`: R independent replicates of Algorithm 3 and their config."""
    d: int                      # number of input bits
    p_cot: float                # probability of a long response
    steps: int                # SGD steps T per replicate
    batch_size: int             # samples per step B (steps * B samples per replicate)
    replicates: int             # number of independent replicates R
    lam1: float                 # head 1 regularisation
    lam2a: float                # head 2a regularisation
    lam_chain: np.ndarray       # (d-1,) chain head regularisation, l = 2..d
    T1: int                     # head 1 step limit
    T2a: int                    # head 2a step limit
    T_chain: np.ndarray         # (d-1,) chain head step limits (steps = unlimited)
    models_: list = field(repr=False)       # R LinearAR: average iterates (the output)
    last_models_: list = field(repr=False)  # R LinearAR: last iterates
    n_long_: np.ndarray = None  # (R,) long samples drawn by each replicate
    n_chain_steps_: np.ndarray = None  # (R,) t_long at the end (batches with a long sample)
    theta_: np.ndarray = None   # (R, d+2) reduced coordinates (a, b, c, c_2..c_d) of models_
    off_subspace_norm_: np.ndarray = None  # (R,) norm of the weight off the reduced subspace


def pretrain(d, p_cot, steps, lam=None, *, lam1=None, lam2a=None, lam_chain=None,
             T1=None, T2a=None, T_chain=None, rng=None, replicates=1, batch_size=1,
             progress=False, n_jobs=1) -> PretrainResult:
    """Algorithm 3 (THEORY §3) for R independent replicates, compiled inner loop.

    See the module docstring for Algorithm 3, the mini-batch step and the random stream.

    Parameters
    ----------
    d : int
        Number of input bits, d >= 2.
    p_cot : float
        Probability p of a long response, in [0, 1].
    steps : int
        Number of steps T >= 1 (one sample per step when ``batch_size`` = 1).
    lam : float or triple, optional
        Regularisation of every head, > 0, or (lambda_1, lambda_2a, lambda_chain); default
        heads.default_lam(d) = (0.01, 0.01, 0.01/d).
    lam1, lam2a : float, optional
        Per-head regularisation of head 1 and head 2a (default from ``lam``).
    lam_chain : float or (d-1,) array, optional
        Regularisation of chain heads l = 2..d (default from ``lam``).
    T1, T2a : int, optional
        Head 1 (2a) steps while t <= T1 (T2a); default ``steps``.
    T_chain : int or (d-1,) ints, optional
        Chain head l steps while t_long <= T_l; default unlimited.
    rng : None, int, SeedSequence or Generator
        Replicate r draws its samples from child r of ``spawn(rng, R)``.
    replicates : int
        Number R >= 1 of independent runs.
    batch_size : int
        Samples per step B >= 1 (see the module docstring for the mini-batch step); 1 is
        Algorithm 3.
    progress : bool
        Show progress over all replicate-steps on stderr (:class:`linparity._progress.Progress`).
    n_jobs : int
        Threads running replicates concurrently (the kernel releases the GIL). Results do not
        depend on it.

    Returns
    -------
    PretrainResult
        ``models_[r]`` is replicate r's average iterate; iterates equal those of
        ``linparity.references.pretrain_reference`` to rounding (tested to 1e-12 relative).
    """
    cfg = make_config(d, p_cot, steps, lam, lam1, lam2a, lam_chain, T1, T2a, T_chain,
                      batch_size)
    R = check_int("replicates", replicates, 1)
    n_jobs = check_int("n_jobs", n_jobs, 1)
    if not isinstance(progress, (bool, np.bool_)):
        raise ValueError(f"progress: must be True or False, got {progress!r}")
    gens = spawn(rng, R)
    with Progress(R * cfg.steps, f"pretrain d={cfg.d} p={cfg.p_cot:g}", "steps", progress) as pbar:
        if n_jobs == 1 or R == 1:
            runs = [run_replicate(cfg, g, pbar) for g in gens]
        else:
            with ThreadPoolExecutor(max_workers=min(n_jobs, R)) as ex:
                runs = list(ex.map(lambda g: run_replicate(cfg, g, pbar), gens))
    models = [r[0] for r in runs]
    reds = [m.reduced() for m in models]
    theta = np.array([r.theta for r in reds])                      # (R, d+2)
    return PretrainResult(
        d=cfg.d, p_cot=cfg.p_cot, steps=cfg.steps, batch_size=cfg.batch_size, replicates=R,
        lam1=cfg.lam1, lam2a=cfg.lam2a, lam_chain=cfg.lam_chain, T1=cfg.T1, T2a=cfg.T2a,
        T_chain=cfg.T_chain, models_=models, last_models_=[r[1] for r in runs],
        n_long_=np.array([r[2] for r in runs], dtype=np.int64),
        n_chain_steps_=np.array([r[3] for r in runs], dtype=np.int64),
        theta_=theta, off_subspace_norm_=np.array([r.off_subspace_norm for r in reds]))


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
        ``linparity.references.fit_samples_reference`` to rounding (tested to 1e-12 relative
        for lambda >= 0.03).
    """
    Xf, Yf = check_samples(X, Y)
    k0, kl0 = check_init(init, Xf.shape[1], init_steps)
    cfg = samples_config(Xf, Yf, lam, lam1, lam2a, lam_chain, k0, kl0)
    run = FastRun(cfg, init, k0, kl0)
    if Xf.shape[0]:
        run.feed(Xf, Yf)
    mean, last = run.models()
    return (mean, last) if return_last else mean


def fit_sample_chunks(chunks, d: int, lam, n_max: int) -> LinearAR:
    """Algorithm 3 from zero on samples that arrive as chunks (X ``(n_c, d)``, Y ``(n_c, d+1)``) in row
    order, holding one chunk at a time: the steps of :func:`fit_samples` on their concatenation (one
    chunk: the same result; several: the same up to rounding where the blocked kernel regroups the
    chain heads' steps). ``n_max`` >= the total number of samples (the heads' step limits); the
    average iterate is returned (the zero model when there is no sample)."""
    d, n_max = check_int("d", d, 2), check_int("n_max", n_max, 0)
    cfg = make_config(d, 0.0, max(n_max, 1), lam, None, None, None, n_max, n_max, n_max, 1)
    run, n = FastRun(cfg), 0
    for X, Y in chunks:
        Xf, Yf = check_samples(X, Y)
        if Xf.shape[1] != d or n + Xf.shape[0] > n_max:
            raise ValueError(f"chunks: must hold at most n_max = {n_max} samples of d = {d}, got {Xf.shape} "
                             f"after {n}")
        if Xf.shape[0]:
            run.feed(Xf, Yf)
            n += Xf.shape[0]
    return run.models()[0]
