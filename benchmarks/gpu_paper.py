"""The transformer experiments at the paper's sizes on one GPU, in one command of at most 10 minutes.

    python benchmarks/gpu_paper.py --out runs/gpu [--device cuda] [--scale paper] [--budget-s 540]
    python benchmarks/gpu_paper.py --out /tmp/dry --device cpu --scale tiny     # the CPU dry run (a test)
    python benchmarks/gpu_paper.py --out runs/gpu --plan                       # print the plan, run nothing

Two parts, both written under ``--out``:

1. ``throughput.json`` / ``throughput.md``: for each configuration of the run (T1/T2: parity
   d = 50; T3: d = 25; T7: 5-digit multiplication; all depth 2, width 128), the seconds per pre-training step (batch 256, device synchronised, best of 3 after a
   warm-up step), the training tokens per second (batch x positions read) and the sampling tokens
   per second (``generate``, 1024 prompts at temperature 1, response tokens emitted), with the
   device's name and torch's version;
2. ``figures/``: ``python -m linparity.figures --only T1,T2,T3,T7 --scale paper --device cuda``
   (REPORT.md, report.json, the images, the cached runs under ``figures/sweeps``), stopped by
   ``timeout`` when the budget is spent: the report is rewritten after each figure and each run is
   cached, so a second call resumes where the first stopped. ``summary.json`` records the
   device, the date, each part's seconds and the figures' exit status.

Budget (an estimate, not a measurement: this script has not run on a GPU yet). A training step
moves B x L tokens through depth x 12 w^2 weights (forward and backward: about 6 flops per weight
and token): at depth 2, width 128 (393k block weights) and B = 256 that is 6.1e10 flops (T1/T2,
L = 101), 3.1e10 (T3, L = 51) and 5.8e10 (T7, n = 5, L = 96). At an effective 5e12 flop/s in float32
(small matrices reach a few percent of an H100's peak) plus about 10 ms of kernel launches per
step: 22, 16 and 22 ms per step, so T1 (2 p x 3,000 steps) about 2.2 min, T2 (3,000 steps, 8 STaR
rounds) 1.3 min, T3 (7 p x 1,500 steps) 2.8 min, T7 (2 x 3,000 steps, STaR, 100 GRPO steps) 2.8
min: about 9 minutes with the evaluations, at the edge of the 10-minute limit. Hence ``timeout``
(``--budget-s``, default 540 s): what does not finish (T7 runs last) is finished by a second call
from the cache. Part 1 records the real step times, which replace this estimate.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

#: the configurations timed in part 1, per scale: name -> (task, size, depth, width, heads)
CONFIGS = {
    "paper": {"T1/T2 (parity d=50)": ("parity", 50, 2, 128, 4), "T3 (parity d=25)": ("parity", 25, 2, 128, 4),
              "T7 (multiplication n=5)": ("multiplication", 5, 2, 128, 4)},
    "tiny": {"T1/T2 (parity d=4)": ("parity", 4, 1, 16, 2), "T7 (multiplication n=2)": ("multiplication", 2, 1, 16, 2)},
}
#: the figures of part 2 (they run in this order)
FIGURES = "T1,T2,T3,T7"


def throughput(device: str, scale: str, batch: int = 256, n_sample: int = 1024, repeats: int = 3) -> list:
    """Part 1: one dict per configuration (module docstring)."""
    import torch
    from linparity.transformer.model import TransformerConfig, build_model, generate, n_parameters, sequence_log_prob
    from linparity.transformer.tasks import make_task

    def sync():
        if device.startswith("cuda"):
            torch.cuda.synchronize()
    rows, rng = [], np.random.default_rng(0)
    if scale == "tiny":
        batch, n_sample = 16, 32
    for name, (task, size, depth, width, heads) in CONFIGS[scale].items():
        model = build_model(TransformerConfig(d=size, depth=depth, width=width, heads=heads, task=task), rng=1,
                            device=device)
        spec = make_task(task, size, 0.2)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
        times = []
        for r in range(repeats + 1):   # the first step warms up (kernel choice, allocation)
            X, Y = spec.sample(batch, rng)
            sync()
            t0 = time.perf_counter()
            loss = -sequence_log_prob(model, X, Y).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sync()
            times.append(time.perf_counter() - t0)
        step = min(times[1:])
        L = model.config.max_len
        X = spec.inputs(n_sample, rng)
        sync()
        t0 = time.perf_counter()
        Ys = generate(model, X, temperature=1.0)
        sync()
        t_gen = time.perf_counter() - t0
        rows.append({"config": name, "parameters": n_parameters(model), "context": L, "batch": batch,
                     "seconds_per_step": step, "train_tokens_per_s": batch * L / step,
                     "sample_prompts": n_sample, "sample_seconds": t_gen,
                     "sample_tokens_per_s": float(spec.length(Ys).sum()) / t_gen})
    return rows


def _markdown(rows, device_name) -> str:
    head = (f"Device: {device_name}. Pre-training step: batch {rows[0]['batch']}, best of 3 after a warm-up; "
            "sampling: `generate` at temperature 1.\n\n| configuration | parameters | context | s / step | "
            "train tokens/s | sample tokens/s |\n|---|---|---|---|---|---|\n")
    return head + "".join(f"| {r['config']} | {r['parameters']:,} | {r['context']} | {r['seconds_per_step']:.4f} | "
                          f"{r['train_tokens_per_s']:,.0f} | {r['sample_tokens_per_s']:,.0f} |\n" for r in rows)


def figures_command(out: Path, device: str, scale: str) -> list:
    return [sys.executable, "-m", "linparity.figures", "--only", FIGURES, "--scale", scale, "--device", device,
            "--out", str(out / "figures"), "--jobs", "1", "--no-progress"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="folder for the results (created)")
    ap.add_argument("--device", default="cuda", help="torch device (cuda; cpu for the dry run)")
    ap.add_argument("--scale", default="paper", choices=list(CONFIGS))
    ap.add_argument("--budget-s", type=float, default=540.0,
                    help="seconds for both parts together (the figures stop at what is left)")
    ap.add_argument("--plan", action="store_true", help="print the figures command and exit")
    args = ap.parse_args(argv)
    if not args.budget_s > 0:
        print(f"error: --budget-s: must be > 0, got {args.budget_s}", file=sys.stderr)
        return 2
    out = Path(args.out)
    cmd = figures_command(out, args.device, args.scale)
    if args.plan:
        print(" ".join(cmd))
        return 0
    import torch
    from linparity.transformer.train import resolve_device
    try:
        device = resolve_device(args.device)
    except ValueError as e:
        print(f"error: --{e}", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    name = torch.cuda.get_device_name(device) if device.startswith("cuda") else f"cpu ({os.cpu_count()} cores)"
    rows = throughput(device, args.scale)
    t_bench = time.time() - t0
    (out / "throughput.json").write_text(json.dumps({"device": name, "torch": torch.__version__, "rows": rows},
                                                    indent=1) + "\n")
    (out / "throughput.md").write_text(_markdown(rows, name))
    left = max(1, int(args.budget_s - t_bench))
    with open(out / "figures.log", "w") as log:
        code = subprocess.call(["timeout", str(left), *cmd], stdout=log, stderr=subprocess.STDOUT)
    summary = {"device": name, "date": datetime.date.today().isoformat(), "scale": args.scale,
               "throughput_seconds": round(t_bench, 1), "figures_seconds": round(time.time() - t0 - t_bench, 1),
               "figures_exit": code, "figures_stopped_by_timeout": code == 124, "figures_command": " ".join(cmd)}
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(json.dumps(summary))
    return 0 if code in (0, 124) else 1


if __name__ == "__main__":
    sys.exit(main())
