"""Work estimate of the designed sample-complexity specs (examples/design_*.toml), before any run.

For each point (task ``linparity.samples`` with an explicit ``budgets`` grid, every budget run with
all replicates) the estimate sums, over the budgets, the work estimate of
:func:`linparity.experiments.samples.samples_work` split into its parts: pre-training on T samples
(``samples_work`` with no round) plus ``n_max`` STaR rounds of N inputs (``samples_work`` at budget N,
less its pre-training). With a fixed ``round_samples`` N the budget is T; with a fixed
``pretrain_samples`` T it is N. ``samples_work`` assumes every replicate runs all ``n_max`` rounds (what
a failed replicate does), so this is an upper bound; the shipped runs took 0.3-6x of it (BENCHMARKS.md,
'Designed experiment').

Run:  python benchmarks/design_cost.py [--markdown] examples/design_floor.toml [...]
Prints CPU-hours per spec, split at d <= 128 and d > 128, and, where the spec's run is shipped, what its
finished points took (each task's ``elapsed_s``) against their estimate.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

# memory is the streaming rounds' concern, not the time estimate's: no refusal here
os.environ.setdefault("LINPARITY_MAX_BYTES", str(2 ** 50))

from linparity.experiments.samples import n_max_rounds, samples_work
from linparity.sweep import load_results, load_spec


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


def measured(path, spec) -> tuple[int, float, float]:
    """(finished points, their measured seconds, their estimate) of the spec's shipped run (the folder is the
    spec's ``out``). Measured: each task's wall time ``elapsed_s`` from its sidecar (one task per point, every
    budget and replicate of it, on one core); on a shared machine an upper bound on the task's CPU time."""
    folder = Path(spec.out)                      # load_spec resolves it beside the spec file
    if not (folder / "spec.json").exists():
        return 0, 0.0, 0.0
    res = load_results(folder, allow_missing=True)
    done = [(pt, m[0]["elapsed_s"]) for pt, m in zip(res.points, res.meta) if m]
    return len(done), sum(t for _, t in done), sum(point_seconds(pt) for pt, _ in done)


def main(argv) -> None:
    markdown = "--markdown" in argv
    if markdown:
        print("| spec | points | estimate, d <= 128 | estimate, d > 128 | shipped points | measured (task wall "
              "time) | measured / estimate |\n|---|---|---|---|---|---|---|")
    for path in (a for a in argv if a != "--markdown"):
        spec = load_spec(path)
        small = sum(point_seconds(pt) for pt in spec.points if pt["d"] <= 128)
        large = sum(point_seconds(pt) for pt in spec.points if pt["d"] > 128)
        n, took, est = measured(path, spec)
        if markdown:
            print(f"| `{Path(path).name}` | {len(spec.points)} | {small / 3600:.2f} CPU-h | {large / 3600:.1f} CPU-h | "
                  + (f"{n} | {took / 3600:.2f} core-h | {took / est:.2f} |" if n else "0 | not run | |"))
            continue
        print(f"{path}: {len(spec.points)} points; d <= 128: {small / 3600:.2f} CPU-h, d > 128: {large / 3600:.2f} CPU-h"
              + (f"; shipped: {n} points took {took / 3600:.2f} core-hours (task wall time) against "
                 f"{est / 3600:.2f} estimated ({took / est:.2f}x)" if n else "; not run"))


if __name__ == "__main__":
    main(sys.argv[1:])
