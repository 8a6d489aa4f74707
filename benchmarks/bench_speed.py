"""Speed benchmarks of the sample-complexity work (a script, not a test): ``python benchmarks/bench_speed.py``.

Each section times a fast path against its reference in the same process, single-threaded
(BLAS and numba pinned to one thread before numpy is imported), and against a numpy GEMM of the
relevant size so the distance to the machine's limit is visible. Timings are the best
process CPU time of ``repeats`` runs, reference and fast path interleaved (the 2-core machine is
shared with other jobs: CPU time leaves out the time they hold the core, the minimum is the least
disturbed run, interleaving exposes both paths to the same load). Subprocess commands are wall
time (they include interpreter start and imports).

    python benchmarks/bench_speed.py                       # every section, update BENCHMARKS.md
    python benchmarks/bench_speed.py --only blocked        # one section
    python benchmarks/bench_speed.py --quick --no-write    # smoke test

Sections: ``eval`` (metrics.evaluate and the ``pretrain --d 50 ... --replicates 64`` command),
``closed`` (closed-form Pegasos, 1e7 steps), ``blocked`` (Algorithm 3 at batch size 1: blocked
vs per-sample kernel), ``star`` (one STaR round at d = 128, N = 100,000), ``cost`` (a STaR round's
cost per input at d = 64, 128, 256), ``distinct`` (counting the distinct inputs
of a run: sort-based merge vs np.unique), ``cache`` (a streamed round with and without its cache of
kept pairs).
"""
from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_v] = "1"                                    # single core, before numpy loads

import argparse  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import math  # noqa: E402

import numpy as np  # noqa: E402
from numba import njit  # noqa: E402
from scipy.special import log_expit  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_pretrain import HEADER, machine_description, update_markdown  # noqa: E402

import linparity.closed_form as cf  # noqa: E402
from linparity.simulate import blocked  # noqa: E402
from linparity._io import atomic_write_text  # noqa: E402
from linparity.data import long_response, short_response  # noqa: E402
from linparity.measures import evaluate, evaluate_models, inputs_for  # noqa: E402
from linparity.model import LinearAR  # noqa: E402
from linparity._checks import spawn  # noqa: E402
from linparity.references import pretrain_reference  # noqa: E402
from linparity.simulate.ntp import fit_samples, pretrain  # noqa: E402
from linparity.simulate.ntp_config import make_config, sample_chunks  # noqa: E402
from linparity.simulate.ntp_kernel import FastRun  # noqa: E402

BENCH_MD = ROOT / "BENCHMARKS.md"


def run_command(cmd, repeats: int = 2) -> tuple[float, float]:
    """(best CPU time, best wall time) in s of a subprocess (``python -m linparity ...``).

    CPU time is the child's user + system time (resource.RUSAGE_CHILDREN): on the shared machine
    the wall time also counts the time other jobs hold the cores.
    """
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    cpu, wall = np.inf, np.inf
    for _ in range(repeats):
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, env=env, cwd=ROOT)
        wall = min(wall, time.perf_counter() - t0)
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = min(cpu, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime))
    return cpu, wall


# ============================================================================ helpers
def best_interleaved(fns: dict, repeats: int) -> dict:
    """Best CPU time (s) of each callable over ``repeats`` rounds, the callables interleaved.

    Process CPU time, not wall time: everything runs on one thread (pinned above), and on the
    shared machine the wall clock also counts the time other jobs hold the core.
    """
    best = {k: np.inf for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            t0 = time.process_time()
            fn()
            best[k] = min(best[k], time.process_time() - t0)
    return best


def _user_system(fn) -> tuple[float, float]:
    """(user, system) CPU seconds of one call of fn: system time counts the page faults of fresh
    large allocations, which depend on what the process allocated and freed before."""
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    fn()
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    return r1.ru_utime - r0.ru_utime, r1.ru_stime - r0.ru_stime


def gemm_gflops(m: int, k: int, n: int, repeats: int = 20) -> float:
    """GFLOP/s of numpy's (m, k) @ (k, n) float64 GEMM on this core (best of ``repeats``)."""
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(m, k)), rng.normal(size=(k, n))
    reps = max(1, int(2e7 // (2 * m * k * n)))              # ~20 MFLOP per timing
    t = best_interleaved({"g": lambda: [a @ b for _ in range(reps)]}, repeats)["g"]
    return 2 * m * k * n * reps / t / 1e9


# ============================================================================ evaluation
def _log_prob_reference(model: LinearAR, X, Y):
    """LinearAR.log_prob as it was (scipy log_expit), tau = 1."""
    u1, u2a, uc = model.logits(X, Y)
    Y = np.asarray(Y)
    Yf = Y.astype(np.float64)
    short = Y[:, 1] == 0
    lp = log_expit(Yf[:, 0] * u1)
    lp_long = log_expit(-u2a) + log_expit(Yf[:, 1:model.d] * uc).sum(axis=1)
    return lp + np.where(short, log_expit(u2a), lp_long)


def evaluate_reference(model: LinearAR, p: float, n_mc: int, rng: int) -> dict:
    """The reference metrics.evaluate kept in this script (four log_prob calls, greedy decode, numpy
    bootstrap); the Monte Carlo branch only (d > 12)."""
    g = np.random.default_rng(rng)
    X, _ = inputs_for(model.d, n_mc, g)
    n, d = X.shape
    p_short = np.zeros(n)
    for y1 in (1, -1):
        Y = np.zeros((n, d + 1), dtype=np.int8)
        Y[:, 0] = y1
        p_short += np.exp(_log_prob_reference(model, X, Y))
    G = model.greedy(X)
    last = G[np.arange(n), (G != 0).sum(axis=1) - 1]
    pi_long = np.exp(_log_prob_reference(model, X, long_response(X)))
    pi_s = np.exp(_log_prob_reference(model, X, short_response(X)))
    errL = np.abs(pi_long - p)
    idx = g.integers(0, n, size=(200, n))
    return {"pi_long": pi_long.mean(), "pi_short_correct": pi_s.mean(),
            "greedy_accuracy": (last == np.prod(X, axis=1)).mean(),
            "mean_length": (2 * p_short + (d + 1) * (1 - p_short)).mean(),
            "calibration_error_se": errL[idx].max(axis=1).std(ddof=1)}


def bench_eval(quick: bool = False) -> str:
    """metrics.evaluate per model, and the pretrain command's split into training / evaluation."""
    from linparity.commands import pretrain_summary
    d, p, T, R = 50, 0.25, (2000 if quick else 20000), (4 if quick else 64)
    reps = 3 if quick else 7
    res = pretrain(d, p, T, 0.01, rng=0, replicates=2)
    m = res.models_[0]
    ref, new = evaluate_reference(m, p, 20000, 0), evaluate(m, p, rng=0)
    dev = max(abs(ref[k] - new[k]) / abs(ref[k]) for k in ref if k != "calibration_error_se")
    dev_se = abs(ref["calibration_error_se"] - new["calibration_error_se"]) / new["calibration_error_se"]
    many = [m] * (R + 1)                                    # the command's R + 1 evaluations
    t = best_interleaved({"ref": lambda: evaluate_reference(m, p, 20000, 0),
                          "new": lambda: evaluate(m, p, rng=0),
                          "many": lambda: evaluate_models(many, p, rng=0)}, reps)
    # GEMM share: the one (20000, d) @ (d, 2d-2) product per model
    gf = gemm_gflops(20000, d, 2 * d - 2)
    gemm_ms = 2 * 20000 * d * (2 * d - 2) / gf / 1e6
    # the command, in process: training alone, evaluation alone, the whole summary
    tt = best_interleaved({
        "train": lambda: pretrain(d, p, T, 0.01, rng=0, replicates=R),
        "summary": lambda: pretrain_summary(d, p, steps=T, replicates=R, seed=0)}, 2 if quick else 3)
    n_ref = 300 if quick else 1000
    t_ref = best_interleaved({"r": lambda: pretrain_reference(d, p, n_ref, 0.01, rng=0)}, 1)["r"]
    ref_cmd = t_ref * R * T / n_ref
    cmd = [sys.executable, "-m", "linparity", "pretrain", "--d", str(d), "--p-cot", str(p),
           "--steps", str(T), "--replicates", str(R), "--json"]
    cpu, wall = run_command(cmd)
    evals = tt["summary"] - tt["train"]
    return (
        f"`metrics.evaluate` of one d = {d} model on n_mc = 20000 inputs (Monte Carlo branch), "
        f"best of {reps}, interleaved with the reference implementation (four `log_prob` "
        "calls with scipy `log_expit`, numpy greedy decode, numpy bootstrap of 200 resamples) kept in this "
        "script. The command evaluates its R + 1 models on one input draw (`measures.evaluate_models`; before, "
        "each model redrew the same inputs from the same seed):\n\n"
        "| | time per model | ratio |\n|---|---|---|\n"
        f"| reference | {t['ref'] * 1e3:.1f} ms | 1 |\n"
        f"| `evaluate` (now) | {t['new'] * 1e3:.1f} ms | {t['ref'] / t['new']:.1f}x |\n"
        f"| `evaluate_models` of {R + 1} models on one input draw, per model (the command's path: row "
        f"blocks outside, models inside) | {t['many'] / (R + 1) * 1e3:.1f} ms | "
        f"{t['ref'] * (R + 1) / t['many']:.1f}x |\n"
        f"| numpy GEMM (20000 x {d}) @ ({d} x {2 * d - 2}) alone | {gemm_ms:.1f} ms "
        f"({gf:.0f} GFLOP/s) | |\n\n"
        f"Largest relative difference of the reported means: {dev:.1e}. `calibration_error_se` is now the "
        f"exact (ideal) bootstrap standard error of the sampled max (`measures.bootstrap_max_se`, order "
        f"statistics, no resampling); the reference's 200 resamples differ from it by {100 * dev_se:.1f}% "
        f"(their own Monte Carlo error is ~sqrt(1/400) = 5% and more for heavy tails).\n\n"
        f"`python -m linparity pretrain --d {d} --p-cot {p} --steps {T} --replicates {R} --json`:\n\n"
        "| part | time |\n|---|---|\n"
        f"| training (`pretrain`, {R} x {T} steps, in process) | {tt['train']:.2f} s |\n"
        f"| `pretrain_summary` (training + {R + 1} evaluations + bounds, in process) | "
        f"{tt['summary']:.2f} s |\n"
        f"| evaluation and bounds (difference) | {evals:.2f} s = "
        f"{100 * evals / tt['summary']:.0f}% in process, {100 * evals / cpu:.0f}% of the command |\n"
        f"| whole command, CPU time (incl. interpreter start, imports, numba cache load; wall "
        f"{wall:.1f} s) | {cpu:.2f} s |\n"
        f"| per-sample Python reference (`pretrain_reference`, {n_ref} steps timed, scaled to "
        f"{R} x {T}) | {ref_cmd:.0f} s = {ref_cmd / cpu:.0f}x the command |\n")


# ============================================================================ closed form
def _discrete_dynamics_reference(d, p, lam, steps):
    """The numpy loop discrete_dynamics used before (Pegasos schedule, average iterate)."""
    l1, l2, lc = cf.split_lam(lam)
    per_head = np.array([l1, l2, l2] + [lc] * (d - 1))
    theta, mean = np.zeros(d + 2), np.zeros(d + 2)
    for t in range(1, steps + 1):
        theta = theta - (1.0 / (per_head * t)) * cf.population_grad(theta, d, p, lam)
        mean += (theta - mean) / t
    return mean


def bench_closed(quick: bool = False) -> str:
    d, p, lam = 50, 0.25, 0.01
    n_ref, n = (2000, 10 ** 5) if quick else (20000, 10 ** 7)
    ref = _discrete_dynamics_reference(d, p, lam, n_ref)
    dev = float(np.max(np.abs(cf.discrete_dynamics_end(d, p, lam, n_ref) - ref) / np.abs(ref)))
    full = cf.discrete_dynamics(d, p, lam, n_ref)[-1]
    t = best_interleaved({"ref": lambda: _discrete_dynamics_reference(d, p, lam, n_ref),
                          "end": lambda: cf.discrete_dynamics_end(d, p, lam, n_ref)}, 3)
    big = best_interleaved({"end": lambda: cf.discrete_dynamics_end(d, p, lam, n)}, 3)["end"]
    ref_big = t["ref"] * n / n_ref
    cmd = [sys.executable, "-m", "linparity", "pretrain", "--method", "closed-form", "--d", str(d),
           "--p-cot", str(p), "--steps", str(n), "--json"]
    cpu, wall = run_command(cmd)
    return (
        f"Population Pegasos in reduced coordinates, d = {d}, p = {p}, lambda = {lam} "
        f"(`closed_form.discrete_dynamics_end`, compiled; chain coordinates advanced once):\n\n"
        "| | time | per step | ratio |\n|---|---|---|---|\n"
        f"| numpy loop (reference), {n_ref} steps | {t['ref']:.3f} s | {t['ref'] / n_ref * 1e6:.1f} us | 1 |\n"
        f"| compiled, {n_ref} steps | {t['end'] * 1e3:.2f} ms | {t['end'] / n_ref * 1e9:.0f} ns | "
        f"{t['ref'] / t['end']:.0f}x |\n"
        f"| compiled, {n:.0e} steps | {big:.2f} s | {big / n * 1e9:.0f} ns | "
        f"(numpy loop scaled: {ref_big:.0f} s) |\n"
        f"| `pretrain --method closed-form --steps {n:.0e}` (subprocess CPU time; two runs of "
        f"{n:.0e} and {p * n:.1e} steps + imports; wall {wall:.1f} s) | {cpu:.2f} s | | |\n\n"
        f"Largest relative difference to the numpy loop after {n_ref} steps: {dev:.1e} "
        f"(discrete_dynamics' full trajectory row: "
        f"{float(np.max(np.abs(full - ref) / np.abs(ref))):.1e}). The recursion is sequential "
        "(4 exp per step with the chain coordinates merged), so no GEMM applies; the bound is "
        "the scalar exp/division latency.\n")


# ============================================================================ blocked kernel
def _chain_flops(d: int) -> int:
    """Flops per long sample of the chain heads' three passes (dot, G axpy, S axpy) over their
    2d + l - 1 features, as the per-sample kernel does them."""
    return 6 * sum(2 * d + l - 1 for l in range(2, d + 1))


def bench_blocked(quick: bool = False) -> str:
    p, lam = 0.25, 0.01
    ds = (64,) if quick else (50, 64, 128)
    T = 8000 if quick else 40000
    rows = []
    saved = blocked.BLOCKED_MIN_D
    for d in ds:
        def run(on):
            blocked.BLOCKED_MIN_D = 2 if on else 10 ** 9
            return pretrain(d, p, T, lam, rng=0)
        a, b = run(True).models_[0].to_vector(), run(False).models_[0].to_vector()
        dev = float(np.max(np.abs(a - b)) / np.max(np.abs(b)))
        # kernels alone, on samples drawn beforehand (int8, as Mixture.sample draws and the kernels read them)
        cfg = make_config(d, p, T, lam, None, None, None, None, None, None, 1)
        chunks = list(sample_chunks(cfg, spawn(0, 1)[0]))

        def kernel(on):
            blocked.BLOCKED_MIN_D = 2 if on else 10 ** 9
            fr = FastRun(cfg)
            for X, Y in chunks:
                fr.feed(X, Y)
        t = best_interleaved({"per": lambda: run(False), "blk": lambda: run(True),
                              "kper": lambda: kernel(False), "kblk": lambda: kernel(True)},
                             3 if quick else 5)
        blocked.BLOCKED_MIN_D = saved
        fl = p * _chain_flops(d) + 6 * (d + 2 * d + 2)      # flops per sample, all heads
        H, B = d - 1, blocked.DEFAULT_BLOCK
        g_blk = gemm_gflops(4 * H, B, d)
        rows.append(f"| {d} | {T / t['per'] / 1e3:.0f}k | {T / t['blk'] / 1e3:.0f}k | "
                    f"{t['per'] / t['blk']:.2f}x | {T / t['kper'] / 1e3:.0f}k | "
                    f"{T / t['kblk'] / 1e3:.0f}k | {t['kper'] / t['kblk']:.2f}x | "
                    f"{fl * T / t['kper'] / 1e9:.1f} | {fl * T / t['kblk'] / 1e9:.1f} | {g_blk:.0f} | "
                    f"{dev:.0e} |")
    big = gemm_gflops(1000, 1000, 1000, 3)
    return (
        f"Algorithm 3 at batch size 1, p = {p}, lambda = {lam}, T = {T} samples, one replicate "
        f"(`pretrain`: samples drawn inside by `Mixture.sample`; kernel alone: the same samples "
        f"drawn beforehand), best of 5 interleaved; block = "
        f"{blocked.DEFAULT_BLOCK} long samples. GFLOP/s count the per-sample kernel's flops "
        "(6 per feature per stepping head: dot, G axpy, S axpy), the same for both paths.\n\n"
        "| d | `pretrain`, per-sample kernel (samples/s) | `pretrain`, blocked | ratio | "
        "kernel alone, per-sample | kernel alone, blocked | ratio | per-sample GFLOP/s | "
        "blocked GFLOP/s | numpy GEMM (4(d-1) x B) @ (B x d) GFLOP/s | max rel. diff |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|\n" + "\n".join(rows) +
        f"\n\nnumpy GEMM 1000^3 on this core: {big:.0f} GFLOP/s.\n")


# ============================================================================ STaR round
def _continue_sgd_before(W, X, Y, kept, cfg, gens):
    """The numpy reference of simulate.star.continue_sgd kept in this script: per-step gathers of the
    batch (take_along_axis), int8 -> float conversion per step, log-probabilities computed and
    discarded by every `score` call."""
    from linparity.simulate.batched import accumulate, score
    R, N = kept.shape
    lam1, lam2a, lamc = cfg.lam
    long_ = Y[..., 1] != 0
    n_kept = kept.sum(1)
    for _ in range(cfg.epochs):
        order = np.empty((R, N), dtype=np.int64)
        for r, g in enumerate(gens):
            idx = np.flatnonzero(kept[r])
            order[r, :idx.size] = idx[g.permutation(idx.size)]
            order[r, idx.size:] = np.flatnonzero(~kept[r])
        for s in range(0, int(n_kept.max()), cfg.batch_size):
            sl = order[:, s:s + cfg.batch_size]
            Xb = np.take_along_axis(X, sl[..., None], 1).astype(np.float64)
            Yb = np.take_along_axis(Y, sl[..., None], 1)
            m = (np.arange(s, s + sl.shape[1])[None] < n_kept[:, None]).astype(np.float64)
            ml = m * np.take_along_axis(long_, sl, 1)
            nb, nl = m.sum(1), ml.sum(1)
            g1, g2, gc, _ = score(W, Xb, Yb, 1.0)
            inv_b = np.divide(1.0, nb, out=np.zeros(R), where=nb > 0)[:, None]
            inv_l = np.divide(1.0, nl, out=np.zeros(R), where=nl > 0)[:, None, None]
            step = accumulate(W, Xb, Yb, m * g1 * inv_b, m * g2 * inv_b, ml[..., None] * gc * inv_l)
            on, onl = (nb > 0).astype(float), (nl > 0).astype(float)
            step.w1 -= lam1 * W.w1 * on[:, None]
            step.w2 -= lam2a * W.w2 * on[:, None]
            step.b2 -= lam2a * W.b2 * on
            for name in ("Wx", "Wy", "Wp"):
                getattr(step, name)[...] -= lamc * getattr(W, name) * onl[:, None, None]
            W.add_(step, cfg.lr)
    return W


@njit(cache=True)
def _chain_decode_before(rows, base, pair, WyT, U, tau, greedy, Y, uc):
    """The reference sampler kernel kept in this script (same arguments as model.chain_decode):
    one loop per position that computes a logit, draws its bit and writes it to Y and uc at once;
    blocks of 64 rows."""
    m, dm1 = base.shape
    store = uc.shape[0] > 0
    acc = np.empty((dm1, 64))
    yb = np.empty(64)
    for s in range(0, m, 64):
        nb = min(m, s + 64) - s
        acc[:, :] = 0.0
        for i in range(nb):
            yb[i] = Y[rows[s + i], 0]
        for h in range(dm1):
            for k in range(h, dm1):
                w = WyT[h, k]
                for i in range(nb):
                    acc[k, i] += yb[i] * w
            for i in range(nb):
                r = rows[s + i]
                u = base[s + i, h] + acc[h, i] + yb[i] * pair[s + i, h]
                if store:
                    uc[r, h] = u
                hit = u >= 0.0 if greedy else U[h, s + i] < 1.0 / (1.0 + math.exp(-u / tau))
                yb[i] = 1.0 if hit else -1.0
                Y[r, h + 1] = 1 if hit else -1


def _sample_responses_before(W, X, gens, tau=1.0):
    """batched.sample_responses with the reference sampler kept in this script: the kernel
    above, and chain rows converted and decoded 65536 at a time (module attributes swapped for
    the call, restored after)."""
    from linparity.simulate import batched
    saved = batched.chain_decode, batched.DECODE_ROWS
    batched.chain_decode, batched.DECODE_ROWS = _chain_decode_before, 65536
    try:
        return batched.sample_responses(W, X, gens, tau)
    finally:
        batched.chain_decode, batched.DECODE_ROWS = saved


def bench_star(quick: bool = False) -> str:
    from linparity.simulate.batched import BatchedAR
    from linparity.simulate.star import sample_kept
    d, N = 128, (20000 if quick else 100000)
    th = cf.ntp_optimum(d, 0.5, (0.01, 0.01, 0.001))       # long answers mostly correct
    rng = np.random.default_rng(0)
    m = LinearAR.from_reduced(d, th[0], th[1], th[2], th[3:])
    m = LinearAR.from_vector(d, m.to_vector() + 0.01 * rng.normal(size=LinearAR.n_params(d)))
    W = BatchedAR.stack([m])
    X, Y, kept, _ = sample_kept(W, N, "cot", 1.0, [np.random.default_rng(1)])
    Xk, Yk = X[0, kept[0]], Y[0, kept[0]]
    n_long = int((Yk[:, 1] != 0).sum())
    saved = blocked.BLOCKED_MIN_D

    def fit(on):
        blocked.BLOCKED_MIN_D = 2 if on else 10 ** 9
        return fit_samples(Xk, Yk, 0.01)
    a, b = fit(True).to_vector(), fit(False).to_vector()
    t = best_interleaved({
        "sample": lambda: sample_kept(W, N, "cot", 1.0, [np.random.default_rng(1)]),
        "fit_per": lambda: fit(False), "fit_blk": lambda: fit(True)}, 2 if quick else 3)
    blocked.BLOCKED_MIN_D = saved
    before = t["sample"] + t["fit_per"]
    after = t["sample"] + t["fit_blk"]
    # the 'continue' variant (what `samples` and F5 run): E = 2 epochs, lr 0.5, batch 32, from W
    from linparity.simulate import FIGURE_STAR_OPTIONS
    from linparity.data import REWARDS
    from linparity.simulate.batched import DECODE_ROWS, rewards, sample_responses
    from linparity.simulate.star import StarConfig, continue_sgd, star_round
    cfg = StarConfig(rounds=1, samples=N, lam=(0.01, 0.01, 0.01 / d), **FIGURE_STAR_OPTIONS)
    tc = best_interleaved({
        "old": lambda: _continue_sgd_before(W.copy(), X, Y, kept, cfg, [np.random.default_rng(2)]),
        "upd": lambda: continue_sgd(W.copy(), X, Y, kept, cfg, [np.random.default_rng(2)]),
        "new": lambda: star_round(W, cfg, [np.random.default_rng(1)]),
        "samp_old": lambda: _sample_responses_before(W, X, [np.random.default_rng(3)]),
        "samp": lambda: sample_responses(W, X, [np.random.default_rng(3)]),
        "rew_np": lambda: REWARDS["cot"](X[0], Y[0]), "rew": lambda: rewards("cot", X, Y)}, 2 if quick else 3)
    assert np.array_equal(REWARDS["cot"](X[0], Y[0]), rewards("cot", X, Y)[0])
    assert np.array_equal(_sample_responses_before(W, X, [np.random.default_rng(3)]),
                          sample_responses(W, X, [np.random.default_rng(3)]))
    round_before = tc["new"] + (tc["samp_old"] - tc["samp"]) + (tc["old"] - tc["upd"])
    split_old = _user_system(lambda: _sample_responses_before(W, X, [np.random.default_rng(3)]))
    split_new = _user_system(lambda: sample_responses(W, X, [np.random.default_rng(3)]))
    round_user = tc["new"] + (split_old[0] - split_new[0]) + (tc["old"] - tc["upd"])
    Wo = _continue_sgd_before(W.copy(), X, Y, kept, cfg, [np.random.default_rng(2)])
    Wn = continue_sgd(W.copy(), X, Y, kept, cfg, [np.random.default_rng(2)])
    dev_c = float(np.max(np.abs(Wn.models()[0].to_vector() - Wo.models()[0].to_vector())))
    upd_new = tc["upd"]
    # flops per long-sample visit: chain heads forward (x @ W_x, y @ W_y, x @ W_p) and backward, 2 flops
    # per multiply-add: 2 passes x 2 x (d-1)(3d-1); GEMM of one step's forward shape for comparison
    fl = 4 * (d - 1) * (3 * d - 1)
    gf_step = gemm_gflops(FIGURE_STAR_OPTIONS["batch_size"], d, 3 * (d - 1))
    return (
        f"One STaR round (variant refit, CoT reward) on full weights, d = {d}, N = {N}, one "
        f"replicate; model: the regularised NTP optimum at p = 0.5, lambda = (0.01, 0.01, 0.001) "
        f"plus N(0, 0.01^2) on every weight. Kept {len(Xk)} of {N} ({n_long} long).\n\n"
        "| part | time | rate |\n|---|---|---|\n"
        f"| sampling + reward (`sample_kept`) | {t['sample']:.2f} s | {N / t['sample'] / 1e3:.0f}k responses/s |\n"
        f"| refit, per-sample kernel | {t['fit_per']:.2f} s | {n_long / t['fit_per'] / 1e3:.0f}k long samples/s |\n"
        f"| refit, blocked kernel | {t['fit_blk']:.2f} s | {n_long / t['fit_blk'] / 1e3:.0f}k long samples/s |\n"
        f"| round before / after | {before:.2f} s / {after:.2f} s | {before / after:.2f}x |\n\n"
        f"Refit max rel. difference blocked vs per-sample: "
        f"{float(np.max(np.abs(a - b)) / np.max(np.abs(b))):.0e}.\n\n"
        f"Variant continue (the one `samples` and F5 run: E = 2 epochs of mini-batch NTP SGD, lr 0.5, "
        f"batch 32, lambda = (0.01, 0.01, 0.01/d)) on the same round's data. Before: the numpy reference "
        f"update (kept in this script); now: `star._continue_steps`, one compiled pass "
        f"per replicate and epoch (chain heads by six BLAS products over the step's long rows only, decay "
        f"and step fused):\n\n"
        "| part | time | rate |\n|---|---|---|\n"
        f"| update before | {tc['old']:.2f} s | {2 * len(Xk) / tc['old'] / 1e3:.0f}k kept-sample visits/s |\n"
        f"| update now (`star.continue_sgd`) | {upd_new:.2f} s | "
        f"{2 * len(Xk) / upd_new / 1e3:.0f}k kept-sample visits/s ({tc['old'] / upd_new:.1f}x) |\n"
        f"| reward of the N responses: `data.reward_cot` (numpy, before) / compiled `rewards` (now) | "
        f"{tc['rew_np'] * 1e3:.0f} ms / {tc['rew'] * 1e3:.0f} ms | {tc['rew_np'] / tc['rew']:.1f}x |\n"
        f"| sampling the N responses: the reference sampler (kept in this script) / "
        f"`sample_responses` now (bitwise equal) | {tc['samp_old']:.2f} s / {tc['samp']:.2f} s | "
        f"{tc['samp_old'] / tc['samp']:.2f}x |\n"
        f"| the same, one more call each: user / system CPU time | {split_old[0]:.2f} / {split_old[1]:.2f} s, "
        f"{split_new[0]:.2f} / {split_new[1]:.2f} s | |\n"
        f"| round: `star_round` now + (sampling before - now) + (update before - now) / `star_round` now | "
        f"{round_before:.2f} s / {tc['new']:.2f} s | {round_before / tc['new']:.2f}x |\n"
        f"| the same with the samplers' user times of the extra call (no page faults: the lower bound) | "
        f"{round_user:.2f} s / {tc['new']:.2f} s | {round_user / tc['new']:.2f}x |\n\n"
        f"The reference sampler allocated its chain rows' floats (inputs and x-parts: "
        f"~{8 * 65536 * (3 * d - 2) / 1e6:.0f} MB at 65536 rows) afresh in every call, so its time depends on how the process allocated memory "
        f"before (page faults, system time); the sampler now converts {DECODE_ROWS}-row blocks that stay in cache.\n\n"
        f"Continue update, max |weight difference| now vs before: {dev_c:.0e} (summation order). At "
        f"~{fl / 1e3:.0f} kFLOP per visit of a long sample (chain heads, forward and backward; short "
        f"samples touch heads 1 and 2a only, ~{12 * d} FLOP) the update runs at "
        f"{2 * n_long * fl / upd_new / 1e9:.1f} GFLOP/s (before: {2 * n_long * fl / tc['old'] / 1e9:.1f}; "
        f"long-sample visits counted only: all kept visits would overstate the rate 2x); numpy's GEMM of one step's forward shape ({FIGURE_STAR_OPTIONS['batch_size']} x {d}) @ "
        f"({d} x {3 * (d - 1)}) runs at {gf_step:.1f} GFLOP/s, a 1000^3 GEMM at {gemm_gflops(1000, 1000, 1000, 3):.0f}.\n")


def bench_round_cost(quick: bool = False) -> str:
    """CPU time per input of one STaR `continue` round with mostly long answers, by d (the cost model
    of the full-weight `samples` route at d = 128-256, docs/claims/theorem2.md)."""
    from linparity.simulate import FIGURE_STAR_OPTIONS
    from linparity.simulate.batched import BatchedAR
    from linparity.simulate.star import StarConfig, sample_kept, star_round
    N = 5000 if quick else 20000
    rows = []
    for d in ((64,) if quick else (64, 128, 256)):
        lam = (0.01, 0.01, 0.01 / d)
        th = cf.ntp_optimum(d, 0.9, lam)
        W = BatchedAR.stack([LinearAR.from_reduced(d, th[0], th[1], th[2], th[3:])])
        cfg = StarConfig(rounds=1, samples=N, lam=lam, **FIGURE_STAR_OPTIONS)
        q = sample_kept(W, N, "cot", 1.0, [np.random.default_rng(1)])[3]["q"][0]
        t = best_interleaved({"sample": lambda: sample_kept(W, N, "cot", 1.0, [np.random.default_rng(1)]),
                              "round": lambda: star_round(W, cfg, [np.random.default_rng(1)])}, 3)
        rows.append(f"| {d} | {q:.2f} | {t['round'] / N * 1e6:.1f} | {t['sample'] / N * 1e6:.1f} | "
                    f"{(t['round'] - t['sample']) / N * 1e6:.1f} |")
    return (
        f"One STaR round, variant continue (E = 2, lr 0.5, batch 32, lambda = (0.01, 0.01, 0.01/d)), N = {N}, "
        "one replicate, from the regularised NTP optimum at p = 0.9 (mostly long answers, as late in a "
        "`samples` run); best CPU time of 3. Microseconds per input:\n\n"
        "| d | long share of the kept set | round | sampling + reward (`sample_kept`) | update (difference) |\n"
        "|---|---|---|---|---|\n" + "\n".join(rows) + "\n")


def bench_cache(quick: bool = False) -> str:
    """A streamed STaR round with and without its cache of the first epoch's kept pairs (the second
    epoch samples the chunks again, or reads the cached pairs: the same numbers)."""
    from linparity.simulate import FIGURE_STAR_OPTIONS
    from linparity.simulate.batched import BatchedAR
    from linparity.simulate.star import StarConfig, star_round
    rows = []
    for d, N in (((64, 2 ** 17),) if quick else ((64, 2 ** 19), (128, 2 ** 18))):
        lam = (0.01, 0.01, 0.01 / d)
        th = cf.ntp_optimum(d, 0.25, lam)
        W = BatchedAR.stack([LinearAR.from_reduced(d, th[0], th[1], th[2], th[3:])])
        cfgs = {c: StarConfig(rounds=1, samples=N, lam=lam, cache_bytes=c, **FIGURE_STAR_OPTIONS) for c in (0, 2 ** 29)}
        new = {c: star_round(W, cfg, [np.random.default_rng(1)]) for c, cfg in cfgs.items()}
        kept = float(new[0][1]["kept_fraction"][0])
        assert all(np.array_equal(a, b) for a, b in zip(new[0][0]._arrays(), new[2 ** 29][0]._arrays()))
        t = best_interleaved({c: (lambda cfg=cfg: star_round(W, cfg, [np.random.default_rng(1)])) for c, cfg in cfgs.items()}, 3)
        rows.append(f"| {d} | {N:,} | {kept:.2f} | {t[0]:.2f} s | {t[2 ** 29]:.2f} s | {t[0] / t[2 ** 29]:.2f}x |")
    return ("One streamed STaR round (chunks of 2^16 inputs), variant continue (E = 2, lr 0.5, batch 32, lambda = "
            "(0.01, 0.01, 0.01/d)), one replicate, from the regularised NTP optimum at p = 0.25 (as a `samples` "
            "run's first round); best CPU time of 3, interleaved. Both give the same model bit for bit:\n\n"
            "| d | N | kept fraction | no cache (every epoch samples) | cache of 512 MiB (now) | ratio |\n"
            "|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n")


def bench_distinct(quick: bool = False) -> str:
    """Counting the distinct inputs of a run (data.DistinctInputs): the sort-based merge against numpy's
    np.unique on the same keys (uint64 at d = 64, 16-byte void keys at d = 128)."""
    from linparity.data import DistinctInputs
    n = 150_000 if quick else 1_500_000
    rows = []
    for d in (64, 128):
        X = np.where(np.random.default_rng(d).random((n, d)) < 0.5, 1, -1).astype(np.int8)   # (n, d)
        probe = DistinctInputs(d)
        probe.add(X)
        assert len(probe) == n                                        # all distinct (merged: sorted keys)
        keys = np.random.default_rng(0).permutation(probe.seen)       # (n,) the rows' exact keys, unsorted

        def now():                                                    # the merge alone, on the same keys
            s = DistinctInputs(d)
            s.pending, s.n_pending = [keys], n
            return len(s)
        assert now() == np.unique(keys).size
        t = best_interleaved({"unique": lambda: np.unique(keys), "now": now}, 3)
        rows.append(f"| {d} | {keys.dtype.name} ({keys.dtype.itemsize} B) | {t['unique']:.3f} s | {t['now']:.3f} s | "
                    f"{t['unique'] / t['now']:.1f}x |")
    return (f"{n:,} random inputs, all distinct, as their exact keys in random order; best CPU time of 3, "
            f"interleaved; numpy {np.__version__}. Both columns count the same keys:\n\n"
            "| d | key | np.unique(keys) | DistinctInputs merge (now) | ratio |\n|---|---|---|---|---|\n"
            + "\n".join(rows) + "\n")


BENCHES = {"eval": ("Evaluation and the pretrain command", bench_eval),
           "closed": ("Closed-form Pegasos", bench_closed),
           "blocked": ("Blocked Algorithm 3 kernel", bench_blocked),
           "star": ("STaR round at d = 128", bench_star),
           "cost": ("STaR round cost per input by d", bench_round_cost),
           "distinct": ("Distinct inputs", bench_distinct),
           "cache": ("Streamed rounds: the cache of kept pairs", bench_cache)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=sorted(BENCHES), action="append",
                    help="run only this benchmark (repeatable)")
    ap.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    ap.add_argument("--no-write", action="store_true", help="print, do not update BENCHMARKS.md")
    args = ap.parse_args(argv)
    names = args.only or list(BENCHES)
    text = BENCH_MD.read_text() if BENCH_MD.exists() else HEADER
    text = update_markdown(text, "Machine", machine_description())
    for name in names:
        title, fn = BENCHES[name]
        body = fn(quick=args.quick)
        body += (f"\n_Measured {time.strftime('%Y-%m-%d %H:%M')} with "
                 f"`python benchmarks/bench_speed.py --only {name}`; single thread; "
                 f"load average at the end {os.getloadavg()[0]:.1f} on 2 cores (shared)._\n")
        print(f"## {title}\n\n{body}", flush=True)
        text = update_markdown(text, title, body)
    if not args.no_write:
        atomic_write_text(BENCH_MD, text)
        print(f"wrote {BENCH_MD}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
