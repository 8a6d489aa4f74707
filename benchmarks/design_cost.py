"""Work estimate of the designed sample-complexity specs (examples/design_*.toml), before any run.

For each point (task ``linparity.samples`` with an explicit ``budgets`` grid, every budget run with
all replicates) the estimate sums, over the budgets, the work estimate of
:func:`linparity.experiments.samples.samples_work` split into its parts: pre-training on T samples
(``samples_work`` with no round) plus ``n_max`` STaR rounds of N inputs (``samples_work`` at budget N,
less its pre-training). With a fixed ``round_samples`` N the budget is T; with a fixed
``pretrain_samples`` T it is N. ``samples_work`` assumes every replicate runs all ``n_max`` rounds (what
a failed replicate does), so this is an upper bound; the shipped runs took 0.3-6x of it (BENCHMARKS.md,
'Designed experiment').

Run:  python benchmarks/design_cost.py examples/design_floor.toml [...]
Prints CPU-hours per spec, split at d <= 128 and d > 128.
"""
from __future__ import annotations

import os
import sys

# memory is the streaming rounds' concern, not the time estimate's: no refusal here
os.environ.setdefault("LINPARITY_MAX_BYTES", str(2 ** 50))

from linparity.experiments.samples import n_max_rounds, samples_work
from linparity.sweep import load_spec


def point_seconds(pt) -> float:
    """Estimated CPU seconds of one point (all its budgets and replicates)."""
    d = int(pt["d"])
    p = float(pt["p"]) if "p" in pt else float(d) ** -float(pt["kappa"])
    R = int(pt.get("replicates", 10))
    n_max = pt.get("n_max", n_max_rounds(p))

    def work(B, rounds):
        return samples_work(d, p, "full", R, rounds, B, B)[0]

    total = 0.0
    for b in pt["budgets"]:
        T = int(pt.get("pretrain_samples", b))
        N = int(pt.get("round_samples", b))
        total += work(T, 0) + work(N, n_max) - work(N, 0)
    return total


def main(paths) -> None:
    for path in paths:
        spec = load_spec(path)
        small = sum(point_seconds(pt) for pt in spec.points if pt["d"] <= 128)
        large = sum(point_seconds(pt) for pt in spec.points if pt["d"] > 128)
        print(f"{path}: {len(spec.points)} points; d <= 128: {small / 3600:.2f} CPU-h, d > 128: {large / 3600:.2f} CPU-h")


if __name__ == "__main__":
    main(sys.argv[1:])
