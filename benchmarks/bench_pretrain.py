"""Benchmarks of linparity (a script, not a test): run ``python benchmarks/bench_pretrain.py``.

Every benchmark is a ``bench_*`` function registered in ``BENCHES``; it times the fast path
against a reference in the same process and returns the Markdown body of its section of
BENCHMARKS.md. ``main`` writes each section under its own ``## <title>`` heading (replacing an
older version of that section only) and refreshes the machine description at the top.

    python benchmarks/bench_pretrain.py                  # every benchmark, update BENCHMARKS.md
    python benchmarks/bench_pretrain.py --only pretrain  # one benchmark
    python benchmarks/bench_pretrain.py --quick --no-write

Timings are the best of ``repeats`` runs (the machine is shared; the minimum is the least
disturbed run). Throughput is in replicate-samples per second: R replicates of T steps at
batch size 1 count R*T.
"""
from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numba  # noqa: E402
import scipy  # noqa: E402
from scipy.special import expit  # noqa: E402

from linparity._checks import spawn  # noqa: E402
from linparity._io import atomic_write_text  # noqa: E402
from linparity.references import pretrain_reference  # noqa: E402
from linparity.simulate.ntp import pretrain  # noqa: E402
from linparity.simulate.ntp_config import make_config, sample_chunks  # noqa: E402

BENCH_MD = ROOT / "BENCHMARKS.md"


# ============================================================================ helpers
def best_time(fn, repeats: int) -> float:
    """Smallest wall time of ``repeats`` calls of ``fn()`` in seconds."""
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def machine_description() -> str:
    """``lscpu | head`` plus Python, numpy, scipy and numba versions, as a Markdown block."""
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        lscpu = "\n".join(lscpu.splitlines()[:10])
    except (OSError, subprocess.CalledProcessError):
        lscpu = platform.processor() or platform.machine()
    return (f"```\n$ lscpu | head\n{lscpu}\n```\n\n"
            f"os.cpu_count() = {os.cpu_count()}; Python {platform.python_version()}, "
            f"numpy {np.__version__}, scipy {scipy.__version__}, numba {numba.__version__}.\n")


def update_markdown(text: str, title: str, body: str) -> str:
    """Replace the section ``## title`` (up to the next ``## ``) of ``text``, or append it."""
    section = f"## {title}\n\n{body.rstrip()}\n\n"
    pat = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pat.search(text):
        return pat.sub(lambda _: section, text, count=1)
    return text.rstrip() + "\n\n" + section


HEADER = ("# Benchmarks\n\nSpeed is measured by `benchmarks/bench_pretrain.py` as ratios against "
          "a reference run in the same process (never asserted in tests). Re-run the script to "
          "refresh a section; it rewrites only its own section and the machine description.\n\n")


# ============================================================================ numpy baseline
def numpy_across_replicates(d, p, steps, lam, R, rng):
    """Algorithm 3 (batch 1, no per-head T limits) vectorised with numpy across R replicates.

    A benchmark baseline only: one Python iteration per step, every head of every replicate
    updated by whole-array operations. Same random streams as ``pretrain`` (replicate r on child
    r of spawn(rng, R)). Returns the average iterates as full parameter vectors ``(R, n_params)``.
    """
    cfg = make_config(d, p, steps, lam, None, None, None, None, None, None, 1)
    lc = cfg.lam_chain[None, :]                                         # (1, d-1)
    G1, S1 = np.zeros((R, d)), np.zeros((R, d))
    G2, S2 = np.zeros((R, 2 * d + 2)), np.zeros((R, 2 * d + 2))
    Gx, Gp, Sx, Sp = (np.zeros((R, d - 1, d)) for _ in range(4))       # (R, d-1, d)
    Gy, Sy = np.zeros((R, d - 1, d - 1)), np.zeros((R, d - 1, d - 1))  # (R, d-1, d-1)
    tril = np.tril(np.ones((d - 1, d - 1)))                             # head l sees y_1..y_{l-1}
    tl = np.zeros(R)
    t = 0
    streams = [sample_chunks(cfg, g) for g in spawn(rng, R)]
    for chunks in zip(*streams):
        X = np.stack([c[0] for c in chunks]).astype(np.float64)         # (R, n, d)
        Y = np.stack([c[1] for c in chunks]).astype(np.float64)         # (R, n, d+1)
        for i in range(X.shape[1]):
            x, y = X[:, i], Y[:, i]                                     # (R, d), (R, d+1)
            t += 1
            y1 = y[:, 0]
            inv = 0.0 if t == 1 else 1.0 / (cfg.lam1 * (t - 1))
            c1 = expit(-y1 * np.einsum("rj,rj->r", G1, x) * inv) * y1
            G1 += c1[:, None] * x
            S1 += G1 / (cfg.lam1 * t)
            phi2 = np.concatenate([x, y1[:, None], y1[:, None] * x, np.ones((R, 1))], axis=1)
            u = np.where(y[:, 1] == 0, 1.0, -1.0)
            inv = 0.0 if t == 1 else 1.0 / (cfg.lam2a * (t - 1))
            c2 = expit(-u * np.einsum("rj,rj->r", G2, phi2) * inv) * u
            G2 += c2[:, None] * phi2
            S2 += G2 / (cfg.lam2a * t)
            long_ = y[:, 1] != 0                                        # (R,)
            tl += long_
            prev, lab = y[:, :d - 1], y[:, 1:d]                         # (R, d-1): y_{l-1}, y_l
            dot = (np.einsum("rhj,rj->rh", Gx + prev[:, :, None] * Gp, x)
                   + np.einsum("rhq,rq->rh", Gy, prev))
            invc = np.where(tl[:, None] > 1, 1.0 / (lc * np.maximum(tl[:, None] - 1, 1)), 0.0)
            c = expit(-lab * dot * invc) * lab * long_[:, None]         # (R, d-1)
            Gx += c[:, :, None] * x[:, None, :]
            Gp += (c * prev)[:, :, None] * x[:, None, :]
            Gy += c[:, :, None] * prev[:, None, :] * tril
            st = np.where(long_[:, None], 1.0 / (lc * np.maximum(tl[:, None], 1)), 0.0)
            Sx += Gx * st[:, :, None]
            Sp += Gp * st[:, :, None]
            Sy += Gy * st[:, :, None]
    k = np.maximum(tl, 1)[:, None, None]
    out = []
    for r in range(R):
        chain = [np.concatenate([Sx[r, l - 2], Sy[r, l - 2, :l - 1], Sp[r, l - 2]]) / k[r, 0, 0]
                 for l in range(2, d + 1)]
        out.append(np.concatenate([S1[r] / t, S2[r] / t, *chain]))
    return np.array(out)


# ============================================================================ benchmarks
def bench_pretrain(quick: bool = False) -> str:
    """Algorithm 3 throughput at d = 50, p = 0.25, lambda = 0.01 (replicate-samples/s).

    Compared in the same process: the per-sample reference, the compiled path for 1 and 64
    replicates on one thread (the per-core figure), 64 replicates on all cores, and numpy
    vectorised across 64 replicates.
    """
    d, p, lam = 50, 0.25, 0.01
    reps = 2 if quick else 3
    n_ref = 500 if quick else 3000
    n_fast1 = 50_000 if quick else 400_000
    n_fast64 = 2_000 if quick else 20_000
    n_np = 200 if quick else 1_000
    pretrain(3, 0.5, 10)                                   # compile (or load the numba cache)

    # correctness of what is timed, on short runs
    ref = pretrain_reference(d, p, 300, lam, rng=1)
    fast = pretrain(d, p, 300, lam, rng=1, replicates=4)
    scale = max(1.0, np.max(np.abs(ref.to_vector())))
    err_ref = np.max(np.abs(fast.models_[0].to_vector() - ref.to_vector())) / scale
    npv = numpy_across_replicates(d, p, 300, lam, 4, rng=1)
    fv = np.array([m.to_vector() for m in fast.models_])
    err_np = np.max(np.abs(npv - fv)) / max(1.0, np.max(np.abs(fv)))

    rows = []
    t_ref = best_time(lambda: pretrain_reference(d, p, n_ref, lam, rng=2), reps)
    base = n_ref / t_ref
    rows.append(("per-sample reference (`pretrain_reference`)", 1, 1, n_ref, t_ref, base))

    def add(label, R, n, jobs, fn):
        sec = best_time(fn, reps)
        rows.append((label, R, jobs, R * n, sec, R * n / sec))
    add("compiled (`pretrain`)", 1, n_fast1, 1,
        lambda: pretrain(d, p, n_fast1, lam, rng=3))
    add("compiled (`pretrain`)", 64, n_fast64, 1,
        lambda: pretrain(d, p, n_fast64, lam, rng=4, replicates=64))
    jobs = os.cpu_count() or 1
    if jobs > 1:
        add("compiled (`pretrain`, n_jobs = cores)", 64, n_fast64, jobs,
            lambda: pretrain(d, p, n_fast64, lam, rng=4, replicates=64, n_jobs=jobs))
    add("numpy across replicates (benchmark baseline)", 64, n_np, 1,
        lambda: numpy_across_replicates(d, p, n_np, lam, 64, rng=5))

    lines = ["Algorithm 3 at d = 50, p = 0.25, lambda = 0.01, batch size 1. Throughput in "
             "replicate-samples per second (R replicates of T steps count R*T), best of "
             f"{reps} runs, all in one process{' (quick mode)' if quick else ''}. "
             "The compiled time includes sampling by `Mixture.sample`; the numba compile is "
             "excluded (cached).", "",
             "| path | R | threads | replicate-samples | seconds | samples/s | ratio to reference |",
             "|---|---|---|---|---|---|---|"]
    for label, R, jb, n, sec, thr in rows:
        lines.append(f"| {label} | {R} | {jb} | {n:,} | {sec:.3f} | {thr:,.0f} | {thr / base:.1f}x |")
    per_core = min(r[5] for r in rows[1:3]) / base
    met = "met" if per_core >= 50 else "NOT met"
    lines += ["", f"Target >= 50x the reference per core: **{met}** (single-thread compiled path, "
              f"worst of R = 1 and R = 64: {per_core:.0f}x).",
              f"Checks in the same run (300 steps, max |weight difference| / max(1, max "
              f"|weight|)): compiled vs reference {err_ref:.1e}; numpy baseline vs compiled "
              f"{err_np:.1e}. Load average during the run: {os.getloadavg()[0]:.2f} on "
              f"{os.cpu_count()} cores (other jobs share this machine).", ""]
    return "\n".join(lines)


BENCHES = {"pretrain": ("Pre-training", bench_pretrain)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=sorted(BENCHES), action="append",
                    help="run only this benchmark (repeatable)")
    ap.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    ap.add_argument("--no-write", action="store_true", help="print, do not update BENCHMARKS.md")
    args = ap.parse_args(argv)
    names = args.only or list(BENCHES)
    text = BENCH_MD.read_text() if BENCH_MD.exists() else HEADER
    if not text.startswith("# Benchmarks"):
        text = HEADER + text
    text = update_markdown(text, "Machine", machine_description())
    for name in names:
        title, fn = BENCHES[name]
        body = fn(quick=args.quick)
        print(f"## {title}\n\n{body}")
        text = update_markdown(text, title, body)
    if not args.no_write:
        atomic_write_text(BENCH_MD, text)
        print(f"wrote {BENCH_MD}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
