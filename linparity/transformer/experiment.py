"""One transformer experiment from fresh weights or a checkpoint: what ``python -m linparity transformer`` runs.

:func:`run_experiment` builds (or loads) the model, pre-trains or post-trains it with the functions of
:mod:`linparity.transformer.train`, optionally saves the final checkpoint, and returns a JSON-able
dict. Seeds: ``SeedSequence(seed)`` is split into (initialisation, pre-training, RL) children.
"""
from __future__ import annotations

import os

import numpy as np

from .._checks import check_int

__all__ = ["COMMANDS", "DEFAULTS", "run_experiment"]

COMMANDS = ("pretrain", "star", "grpo", "reinforce")

#: per-command defaults for options whose sensible value depends on the command
DEFAULTS = {
    "pretrain": {"steps": 800, "lr": 1e-3, "batch_size": 256},
    "star": {"steps": None, "lr": 5e-4, "batch_size": 256},
    "reinforce": {"steps": 200, "lr": 1e-4, "batch_size": 256},
    "grpo": {"steps": 200, "lr": 1e-4, "batch_size": 32},
}


def run_experiment(command, *, d=16, depth=2, width=64, heads=4, p_cot=0.2, seed=0, device="cpu",
                   threads=None, checkpoint=None, checkpoint_dir=None, checkpoint_every=None,
                   eval_every=None, n_eval=1024, verbose=False, quiet=False, steps=None, batch_size=None,
                   lr=None, warmup=100, weight_decay=0.0, pretrain_steps=800, pretrain_lr=1e-3, reward="cot",
                   temperature=1.0, rounds=12, samples=2048, epochs=2, group=8) -> dict:
    """Run ``command`` (pretrain | star | grpo | reinforce) and return its log.

    ``pretrain`` trains a fresh model on D(p_cot). The RL commands start from ``checkpoint`` (its
    p_cot is used) or, without one, pre-train a fresh model for ``pretrain_steps`` first. ``steps``,
    ``lr`` and ``batch_size`` default per command (:data:`DEFAULTS`); ``star`` counts ``rounds``.
    Progress goes to stderr unless ``quiet`` (the pretrain default, 800 steps at d = 16, takes
    about 2 minutes on 2 cores: README).

    Returns
    -------
    dict with ``command``, ``d``, ``p_cot``, ``config`` (architecture), ``seed``, ``device``, the
    per-evaluation arrays ``eval_steps``, ``greedy_accuracy``, ``greedy_length``, ``pi_long``,
    ``mean_length``, ``long_fraction``, the per-step ``loss`` (and for RL ``kept_fraction``,
    ``train_mean_length``), ``final`` (the last held-out metrics) and, for RL started without a
    checkpoint, ``pretrain`` (the pre-training log).
    """
    from . import require_torch
    require_torch()
    import torch

    from .model import TransformerConfig, build_model
    from .train import grpo, load_checkpoint, pretrain, reinforce, resolve_device, save_checkpoint, star

    if command not in COMMANDS:
        raise ValueError(f"command: must be one of {COMMANDS}, got {command!r}")
    if command == "star" and steps is not None:
        raise ValueError("steps: star counts --rounds, not --steps")
    dflt = DEFAULTS[command]
    steps = dflt["steps"] if steps is None else steps
    lr = dflt["lr"] if lr is None else lr
    batch_size = dflt["batch_size"] if batch_size is None else batch_size
    device = resolve_device(device)
    if threads is not None:
        torch.set_num_threads(check_int("threads", threads, 1))
    seed = check_int("seed", seed, 0)
    s_init, s_pre, s_rl = np.random.SeedSequence(seed).spawn(3)
    common = dict(eval_every=eval_every, n_eval=n_eval, verbose=bool(verbose), progress=not quiet)
    out: dict = {"command": command, "seed": seed, "device": device}

    def fresh():
        cfg = TransformerConfig(d=d, depth=depth, width=width, heads=heads)
        return build_model(cfg, rng=s_init, device=device)

    if command == "pretrain":
        model = fresh()
        log = pretrain(model, p_cot, steps=steps, batch_size=batch_size, lr=lr, warmup=warmup,
                       weight_decay=weight_decay, checkpoint_dir=checkpoint_dir,
                       checkpoint_every=checkpoint_every, rng=s_pre, **common)
    else:
        if checkpoint is not None:
            model, meta = load_checkpoint(checkpoint, device)
            p_cot = meta.get("p_cot")
            out["start_checkpoint"] = {"path": checkpoint, **meta}
        else:
            model = fresh()
            out["pretrain"] = pretrain(model, p_cot, steps=pretrain_steps, lr=pretrain_lr, rng=s_pre, **common)
        rl = dict(reward=reward, lr=lr, temperature=temperature, batch_size=batch_size, rng=s_rl,
                  n_eval=n_eval, verbose=bool(verbose), progress=not quiet)
        if command == "star":
            log = star(model, rounds=rounds, samples=samples, epochs=epochs, **rl)
        elif command == "reinforce":
            log = reinforce(model, steps=steps, eval_every=eval_every, **rl)
        else:
            log = grpo(model, steps=steps, group=group, eval_every=eval_every, **rl)
        if checkpoint_dir is not None:
            log["checkpoint"] = save_checkpoint(os.path.join(checkpoint_dir, f"{command}_final.pt"), model,
                                                p_cot=p_cot, stage=command)
    out.update({"d": model.config.d, "p_cot": p_cot, "config": model.config.to_dict()})
    out.update(log)
    out["final"] = {k: log[k][-1] for k in ("greedy_accuracy", "greedy_length", "pi_long",
                                            "mean_length", "long_fraction")}
    return out
