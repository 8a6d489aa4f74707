"""Transformer experiment behind figure T7: n-digit multiplication, NTP on few long demonstrations,
then RL (needs torch).

THEORY §7 (the paper): next-token prediction on a mixture with few long (step-by-step)
demonstrations does not generalise within its budget (7 digits, p = 0.1, 38 GPU-hours), and RL
from that checkpoint does. Here, per seed (:func:`t7_task`, registered with the sweep engine as
``linparity.transformer.t7``):

1. long-only NTP (p_cot = 1) for ``steps`` steps: the model learns the chain at this n (control);
2. mixture NTP at ``p_cot`` for the same ``steps``: the checkpoint;
3. STaR (r_cot, tau = 1) and GRPO (r_cot, tau = 1) from copies of that checkpoint: greedy
   accuracy, sampled long fraction and mean length per round / evaluation.

The task is :class:`linparity.transformer.tasks.Multiplication` (partial products with running
sums, least-significant digit first). Seeds: ``[entropy, *spawn_key, r]`` for seed r, split into
(long-only init, long-only data, init, NTP data, STaR, GRPO). One torch thread per run.

Configurations (``mode``): ``tiny`` (tests), ``main`` (full figure mode; n = 2), ``large``
(``--scale large``: n = 3, twice the steps; not run as a figure: about 14 minutes estimated from the
probe below and main's RL share), ``paper``
(``--scale paper``, a GPU: n = 5, depth 2, width 128; not yet run on a GPU).

How ``main`` was sized (probes, one seed, n_eval 256, machine shared, load 6-12): long-only NTP at
n = 2 (800 steps x 128, lr 1e-3) reaches greedy accuracy 0.66 at step 300 and 0.97 at step 800 (210 s);
n = 3 (1,600 steps, 289 s wall, 138 s CPU) reaches 0.28 at step 400, 0.76 at 800, 0.89 at 1,000, 0.93 at
1,400 and 0.84 at 1,600 (constant lr: the last steps wander), so n = 3 is learned within 5 minutes
and is the large mode; n = 4 was not probed. Mixture NTP, same budget: p = 0.1 ends at 0.086,
p = 0.2 at 0.086, p = 0.3 at 0.145; the chain is not learned at p <= 0.2 (pi(L(x)|x) <= 0.007) and
6 STaR rounds or 40 GRPO steps from those checkpoints shrink the long fraction (0.17 -> 0.02 at
p = 0.1), while from p = 0.3 (pi(L(x)|x) = 0.019) they lengthen it (STaR 0.25 -> 0.88, accuracy
0.11 -> 0.24; GRPO 0.29 -> 0.74). Hence p_cot = 0.3 (greedy accuracy still low), 30 STaR rounds
(about 7 s a round) and 200 GRPO steps.
"""
from __future__ import annotations

import copy

import numpy as np

from .._checks import spawn
from ..sweep import register_task
from ..transformer.model import TransformerConfig, build_model
from ..transformer.train import grpo, pretrain, star
from .transformer import one_thread, run_points, run_seed, settings_of

__all__ = ["T7_SETTINGS", "t7_task", "t7_data"]

_STAR = ("greedy_accuracy", "long_fraction", "mean_length", "kept_fraction")
#: T7 settings per mode. digits (n), model (depth, width, heads); NTP: steps x batch_size fresh
#: demonstrations, AdamW lr with linear warm-up; p_cot (the mixture's long probability); STaR:
#: rounds x star_samples fresh inputs, epochs over the kept set, star_lr; GRPO: pg_steps of
#: pg_batch inputs x group responses, pg_lr; n_eval held-out inputs; seeds replicates; device.
T7_SETTINGS = {
    "tiny": dict(digits=2, depth=1, width=16, heads=2, steps=4, batch_size=16, lr=3e-3, warmup=0, p_cot=0.3,
                 rounds=1, star_samples=32, epochs=1, star_lr=1e-3, pg_steps=2, pg_batch=4, group=4, pg_lr=1e-3,
                 n_eval=32, seeds=1),
    "main": dict(digits=2, depth=2, width=64, heads=4, steps=800, batch_size=128, lr=1e-3, warmup=50, p_cot=0.3,
                 rounds=30, star_samples=1024, epochs=2, star_lr=5e-4, pg_steps=200, pg_batch=32, group=8,
                 pg_lr=3e-4, n_eval=512, seeds=1),
    "large": dict(digits=3, depth=2, width=64, heads=4, steps=1600, batch_size=128, lr=1e-3, warmup=50, p_cot=0.3,
                  rounds=30, star_samples=1024, epochs=2, star_lr=5e-4, pg_steps=200, pg_batch=32, group=8,
                  pg_lr=3e-4, n_eval=512, seeds=1),
    "paper": dict(digits=5, depth=2, width=128, heads=4, steps=3000, batch_size=256, lr=1e-3, warmup=100, p_cot=0.3,
                  rounds=8, star_samples=4096, epochs=2, star_lr=5e-4, pg_steps=100, pg_batch=64, group=8,
                  pg_lr=3e-4, n_eval=1024, seeds=1, device="cuda"),
}


def _model(s, rng):
    cfg = TransformerConfig(d=s["digits"], depth=s["depth"], width=s["width"], heads=s["heads"],
                            task="multiplication")
    return build_model(cfg, rng=rng, device=s.get("device", "cpu"))


def _ntp(model, p, s, rng):
    return pretrain(model, p, steps=s["steps"], batch_size=s["batch_size"], lr=s["lr"], warmup=s["warmup"],
                    eval_every=max(s["steps"] // 8, 1), n_eval=s["n_eval"], rng=rng)


@register_task("linparity.transformer.t7")
def t7_task(params: dict, rng=None) -> dict:
    """One seed of T7 (module docstring). Returns ``long_<metric>`` and ``ntp_<metric>`` (the two
    NTP runs' held-out metrics per evaluation, with ``long_steps``/``ntp_steps``), ``star_<metric>``
    per STaR round (round 0 = the checkpoint) and ``grpo_<metric>`` per GRPO evaluation (with
    ``grpo_steps``); metrics greedy_accuracy, long_fraction, mean_length (and STaR's kept_fraction)."""
    s = params["s"]
    k = spawn(run_seed(params), 6)
    out = {}
    with one_thread():
        for name, p, g_init, g_data in (("long", 1.0, k[0], k[1]), ("ntp", s["p_cot"], k[2], k[3])):
            model = _model(s, g_init)
            log = _ntp(model, p, s, g_data)
            out[f"{name}_steps"] = np.asarray(log["eval_steps"], dtype=float)
            for m in _STAR[:3]:
                out[f"{name}_{m}"] = np.asarray(log[m], dtype=float)
        log = star(copy.deepcopy(model), reward="cot", rounds=s["rounds"], samples=s["star_samples"],
                   epochs=s["epochs"], batch_size=s["batch_size"], lr=s["star_lr"], n_eval=s["n_eval"], rng=k[4])
        for m in _STAR:
            out[f"star_{m}"] = np.asarray(log[m], dtype=float)
        log = grpo(model, reward="cot", steps=s["pg_steps"], batch_size=s["pg_batch"], group=s["group"],
                   lr=s["pg_lr"], eval_every=max(s["pg_steps"] // 6, 1), n_eval=s["n_eval"], rng=k[5])
        out["grpo_steps"] = np.asarray(log["eval_steps"], dtype=float)
        for m in _STAR[:3]:
            out[f"grpo_{m}"] = np.asarray(log[m], dtype=float)
    return out


def t7_data(out_dir, mode, ss, jobs=1, progress=False, device=None, seeds=None) -> dict:
    """T7: ``seeds`` runs of :func:`t7_task` (cached under ``out_dir/sweeps/T7-<mode>``); every
    array stacked over seeds ``(S, ...)``, and the setting ``s``."""
    s = settings_of(T7_SETTINGS, mode, device, seeds)
    pts = [{"s": s, "seed": [int(ss.entropy), *ss.spawn_key, r]} for r in range(int(s["seeds"]))]
    res = run_points("linparity.transformer.t7", pts, out_dir, f"T7-{mode}", jobs, progress,
                 imports=["linparity.experiments.transformer_t7"])
    return {"s": s, **{k: np.stack([r[k] for r in res]) for k in res[0]}}
