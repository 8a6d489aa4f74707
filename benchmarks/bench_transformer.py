"""Transformer throughput at d = 16 and d = 50 (a script, not a test; needs torch).

    python benchmarks/bench_transformer.py [--no-write] [--width 64] [--depth 2]

Tokens per second, in one process:

* pre-training: one AdamW step of the response NLL on a fresh batch of D(0.2) (sampling by
  ``Mixture.sample`` included); tokens = B * (2d+1), the positions the model reads;
* sampling: ``generate`` (key/value cached, batched, finished rows dropped) and
  ``generate_uncached`` (the reference: every token re-reads the prefix) at temperature 1 from the
  pre-trained-shape model (random weights); tokens = response tokens emitted (EOS included), the
  work RL's sampling does. The speed-up is cached / uncached in the same process (the targets: >= 10x at d = 16, >= 5x at d = 50). Also: ``generate`` under ``torch.no_grad`` instead of
  ``torch.inference_mode`` (what inference_mode gives);
* reference: ``LinearAR.sample`` of the linear model at the same d (calibrated reduced point),
  tokens counted the same way. Ratios are transformer / linear reference.

Writes a ``## Transformer`` section into BENCHMARKS.md (only that section).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_pretrain import BENCH_MD, best_time, update_markdown  # noqa: E402

from linparity import LinearAR, Mixture  # noqa: E402
from linparity._io import atomic_write_text  # noqa: E402
from linparity.data import response_length  # noqa: E402
import linparity.transformer.model as tm  # noqa: E402
from linparity.transformer.model import (TransformerConfig, build_model, generate,  # noqa: E402
                                         generate_uncached, make_generator, n_parameters, sequence_log_prob)


def bench(d=16, width=64, depth=2, batch=256, n_sample=1024, repeats=3) -> str:
    rng = np.random.default_rng(0)
    # reference: the linear model sampling at the calibrated point of p = 0.2 (a = ln 1.5, ...)
    lin = LinearAR.from_reduced(d, np.log(1.5), 1.0, 1.0, np.full(d - 1, 6.0))
    Xs = Mixture(d, 0).sample(n_sample, rng)[0]
    t_lin = best_time(lambda: lin.sample(Xs, rng), repeats)
    tok_lin = response_length(lin.sample(Xs, rng)).sum()
    rate_lin = tok_lin / t_lin
    rows = [f"| linear model `LinearAR.sample` (reference) | - | {tok_lin:,} | {t_lin:.4f} | "
            f"{rate_lin:,.0f} | 1.0x |"]
    mix = Mixture(d, 0.2)
    for threads in (1, 2):
        torch.set_num_threads(threads)
        model = build_model(TransformerConfig(d=d, depth=depth, width=width), rng=1)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3)

        def step():
            X, Y = mix.sample(batch, rng)
            loss = -sequence_log_prob(model, X, Y).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        step()  # warm-up
        t_pre = best_time(lambda: [step() for _ in range(5)], repeats) / 5
        tok_pre = batch * (2 * d + 1)
        gen = make_generator(rng, "cpu")
        t_gen = best_time(lambda: generate(model, Xs, generator=gen), repeats)
        tok_gen = response_length(generate(model, Xs, generator=gen)).sum()
        rows.append(f"| pre-training step (B = {batch}) | {threads} | {tok_pre:,} | {t_pre:.4f} | "
                    f"{tok_pre / t_pre:,.0f} | {tok_pre / t_pre / rate_lin:.3f}x |")
        rows.append(f"| sampling `generate`, tau = 1 (n = {n_sample}) | {threads} | {tok_gen:,} | "
                    f"{t_gen:.4f} | {tok_gen / t_gen:,.0f} | {tok_gen / t_gen / rate_lin:.3f}x |")
    load = os.getloadavg()[0]
    return "\n".join([
        f"`python benchmarks/bench_transformer.py`: d = {d}, depth {depth}, width {width} "
        f"({n_parameters(model):,} parameters), CPU, torch {torch.__version__}; best of {repeats} runs. "
        "Pre-training tokens are the 2d+1 positions read per sample; sampling tokens are the response "
        "tokens emitted (EOS included; `generate`, key/value cached). The "
        "reference is the linear model's sampler at the same d.", "",
        "| path | torch threads | tokens | seconds | tokens/s | ratio to reference |",
        "|---|---|---|---|---|---|", *rows, "",
        f"Load average during the run: {load:.2f} on 2 cores (other jobs share this machine; with "
        "oversubscription, 2 torch threads can be slower than 1)."])


def bench_sampling(ds=(16, 50), width=64, depth=2, repeats=3) -> tuple[list, list]:
    """Cached vs uncached sampling tokens/s at each d, one torch thread; rows and speed-ups.

    Two weight settings: random weights (EOS has probability ~1/3 at every step, so responses are
    short: mean length ~3.6) and the same weights with the EOS logit lowered by 30 (every response
    runs to d+1 tokens, as after STaR has grown the length: the case RL rounds pay for).
    """
    torch.set_num_threads(1)
    rows, ups = [], []
    no_grad_generate = torch.no_grad()(tm.generate.__wrapped__)  # the same function without inference_mode
    for d in ds:
        n = 1024 if d <= 16 else 128  # the uncached reference at d = 50 is slow
        for case in ("random weights", "EOS suppressed"):
            rng = np.random.default_rng(0)
            model = build_model(TransformerConfig(d=d, depth=depth, width=width), rng=1)
            if case == "EOS suppressed":
                with torch.no_grad():
                    model.head.bias[tm.EOS] -= 30.0
            X = Mixture(d, 0).sample(n, rng)[0]
            rates = {}
            for name, fn in (("uncached (reference)", generate_uncached), ("cached, inference_mode", generate),
                             ("cached, no_grad", no_grad_generate)):
                gen = make_generator(np.random.default_rng(2), "cpu")
                fn(model, X[:16], generator=gen)  # warm-up
                t = best_time(lambda: fn(model, X, generator=gen), repeats)
                tok = response_length(fn(model, X, generator=gen)).sum()
                rates[name] = tok / t
                rows.append(f"| d = {d}, {case}: {name} (n = {n}) | 1 | {tok:,} | {t:.4f} | {tok / t:,.0f} |")
            ups.append((d, case, rates["cached, inference_mode"] / rates["uncached (reference)"],
                        rates["cached, inference_mode"] / rates["cached, no_grad"]))
    return rows, ups


def sampling_section(width=64, depth=2) -> str:
    rows, ups = bench_sampling(width=width, depth=depth)
    load = os.getloadavg()[0]
    return "\n".join([
        "", "### Sampling: key/value cache", "",
        f"`python benchmarks/bench_transformer.py`: depth {depth}, width {width}, temperature 1, one torch thread, "
        "best of 3, same process; n = 1024 inputs at d = 16, 128 at d = 50. 'random weights': responses are short "
        "(EOS ~1/3 per step); 'EOS suppressed': every response runs to d+1 tokens (after STaR, the case RL pays for). "
        "'uncached' re-reads the whole prefix for every new token (`generate_uncached`); 'cached' is `generate` "
        "(one causal pass over the prompt, then one token per row per step against per-block key/value caches; "
        "rows that emitted EOS leave the batch).", "",
        "| path | torch threads | tokens | seconds | tokens/s |", "|---|---|---|---|---|", *rows, "",
        *[f"- d = {d}, {c}: cached / uncached = **{u:.1f}x**; inference_mode / no_grad = {g:.2f}x"
          for d, c, u, g in ups],
        "- `torch.compile`: not tried (compilation time on the shared 2-core machine; not measured, so no claim).",
        f"- Load average during the run: {load:.2f} on 2 cores."])


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--depth", type=int, default=2)
    a = ap.parse_args(argv)
    body = bench(width=a.width, depth=a.depth) + "\n" + sampling_section(width=a.width, depth=a.depth)
    print(body)
    if not a.no_write:
        text = BENCH_MD.read_text() if BENCH_MD.exists() else "# Benchmarks\n"
        atomic_write_text(BENCH_MD, update_markdown(text, "Transformer", body))


if __name__ == "__main__":
    main()
