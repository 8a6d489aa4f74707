"""Speed of the vectorised RL simulation against plain per-sample Python references (same process).

One STaR round ('refit' variant, reward cot) at d = 50 with N = 100000 fresh inputs, and 1000 GRPO
steps at d = 50 (B = 16 inputs x G = 8 responses per step), each against its per-sample reference
(:func:`linparity.references.star_round_reference`, :func:`linparity.references.pg_steps_reference`, both in
:mod:`linparity.references`). The references are linear in the work, so they are timed on a
slice (``--ref-samples`` inputs, ``--ref-steps`` steps) and reported per sample / per step; the
ratio compares those rates. The GRPO reference slice covers the first steps only, where most
responses are short and cheap, while the 1000 vectorised steps also run the later, mostly long
ones: this understates the GRPO ratio. Every time is the best of 2 runs. BLAS and numba are pinned
to one thread, so the ratio is per core. The 1-minute load average is printed before and after
(the machine is shared; a loaded machine slows both sides, not always alike).

Usage: python benchmarks/bench_rl.py [--ref-samples 2000] [--ref-steps 20]
"""
import os

for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[v] = "1"

import argparse  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import numpy as np  # noqa: E402

from linparity import closed_form as cf  # noqa: E402
from linparity import references  # noqa: E402
from linparity import simulate as sim  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_pretrain import best_time as _best  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--ref-samples", type=int, default=2000)
    ap.add_argument("--ref-steps", type=int, default=20)
    a = ap.parse_args(argv)
    load0 = os.getloadavg()[0]
    d, p, lam = 50, 0.25, 1e-4
    theta = cf.ntp_optimum(d, p, lam)                      # calibrated start: ~60% of responses kept
    W = sim.BatchedAR.from_reduced(theta, d, 1)
    m = W.models()[0]
    cfg = sim.StarConfig(rounds=1, samples=100_000, variant="refit", lam=lam)
    sim.star_round(W, sim.StarConfig(rounds=1, samples=1000, variant="refit", lam=lam), [np.random.default_rng(0)])  # compile
    t_vec = _best(lambda: sim.star_round(W, cfg, [np.random.default_rng(1)]), 2)
    t_ref = _best(lambda: references.star_round_reference(m, a.ref_samples, lam=lam, rng=2), 2)
    star = (cfg.samples / t_vec, a.ref_samples / t_ref)

    pc = sim.PGConfig(algo="grpo", steps=1000, lr=0.5, batch_size=16, group_size=8, eval_every=0)

    def run_vec():
        Wg = W.copy()
        gens = [np.random.default_rng(3)]
        for _ in range(pc.steps):
            sim.pg_step(Wg, pc, gens)
    run_vec()                                              # compile / warm up
    t_pg = _best(run_vec, 2)
    t_pg_ref = _best(lambda: references.pg_steps_reference(m, a.ref_steps, 0.5, 16, 8, rng=4), 2)
    pg = (pc.steps / t_pg, a.ref_steps / t_pg_ref)
    rows = [("STaR round, refit (samples/s)", "100,000", f"{a.ref_samples:,}", star),
            ("GRPO B=16 G=8 (steps/s)", "1,000", f"{a.ref_steps:,}", pg)]
    print("| task at d = 50 | vectorised work | reference work | vectorised rate | reference rate | ratio |")
    print("|---|---|---|---|---|---|")
    for name, wv, wr, (rv, rr) in rows:
        print(f"| {name} | {wv} | {wr} | {rv:,.1f} | {rr:,.2f} | {rv / rr:.0f}x |")
    print(f"\nSTaR round at N = 100000: {t_vec:.2f} s; 1000 GRPO steps: {t_pg:.2f} s (one thread).")
    print(f"1-minute load average: {load0:.1f} before, {os.getloadavg()[0]:.1f} after ({os.cpu_count()} cores).")


if __name__ == "__main__":
    main()
