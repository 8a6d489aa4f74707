"""``python -m linparity transformer pretrain|star|grpo|reinforce ...``.

Importable without torch (so the main CLI can always register the sub-command); :func:`run`
raises ImportError with ``pip install -e .[transformer]`` when torch is missing.

Wiring (in linparity/cli.py)::

    from .transformer import cli as transformer_cli
    transformer_cli.add_subparser(subparsers)          # registers "transformer"
    ...
    if args.command == "transformer":
        result = transformer_cli.run(args)             # JSON-able dict

:func:`run` prints nothing on stdout (progress goes to stderr with ``--verbose``); bad input
raises ValueError naming the argument.
"""
from __future__ import annotations

import argparse

__all__ = ["add_subparser", "run", "COMMANDS"]

COMMANDS = ("pretrain", "star", "grpo", "reinforce")

#: per-command defaults for options whose sensible value depends on the command
_DEFAULTS = {
    "pretrain": {"steps": 2000, "lr": 1e-3, "batch_size": 256},
    "star": {"steps": None, "lr": 5e-4, "batch_size": 256},
    "reinforce": {"steps": 200, "lr": 1e-4, "batch_size": 256},
    "grpo": {"steps": 200, "lr": 1e-4, "batch_size": 32},
}


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--d", type=int, default=16, help="number of input bits (default 16)")
    p.add_argument("--p-cot", type=float, default=0.2, help="probability of a long chain in D(p)")
    p.add_argument("--depth", type=int, default=2, help="transformer blocks (paper: 2-8)")
    p.add_argument("--width", type=int, default=64, help="residual width (paper: 64-256)")
    p.add_argument("--heads", type=int, default=4, help="attention heads")
    p.add_argument("--steps", type=int, default=None, help="optimizer steps")
    p.add_argument("--batch-size", type=int, default=None, help="inputs per step")
    p.add_argument("--lr", type=float, default=None, help="AdamW learning rate")
    p.add_argument("--eval-every", type=int, default=None, help="steps between held-out evaluations")
    p.add_argument("--n-eval", type=int, default=1024, help="held-out fresh inputs")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:k or auto")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--seed", type=int, default=0, help="root seed (numpy SeedSequence)")
    p.add_argument("--checkpoint-dir", default=None, help="folder for checkpoints (atomic writes)")
    p.add_argument("--checkpoint-every", type=int, default=None, help="steps between checkpoints")
    p.add_argument("--verbose", action="store_true", help="progress lines on stderr")
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def _rl(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", default=None,
                   help="pre-trained checkpoint to start from; without it, pre-train first "
                        "for --pretrain-steps steps on D(--p-cot)")
    p.add_argument("--pretrain-steps", type=int, default=1500)
    p.add_argument("--pretrain-lr", type=float, default=1e-3)
    p.add_argument("--reward", default="cot", choices=["cot", "e2e"])
    p.add_argument("--temperature", type=float, default=1.0, help="sampling temperature (0.75, 1, 1.5)")


def add_subparser(subparsers) -> argparse.ArgumentParser:
    """Register ``transformer`` with sub-commands pretrain|star|grpo|reinforce on ``subparsers``
    (the object returned by ``ArgumentParser.add_subparsers``). Returns the new parser."""
    tp = subparsers.add_parser("transformer", help="GPT-2-style transformer: NTP then RL (needs torch)")
    sub = tp.add_subparsers(dest="transformer_command", metavar="{pretrain,star,grpo,reinforce}")
    sub.required = True
    p = sub.add_parser("pretrain", help="online next-token prediction on D(p_cot)")
    _common(p)
    p.add_argument("--warmup", type=int, default=100, help="linear learning-rate warm-up steps")
    p.add_argument("--weight-decay", type=float, default=0.0)
    p = sub.add_parser("star", help="STaR: sample, keep reward-1 pairs, NTP on them")
    _common(p)
    _rl(p)
    p.add_argument("--rounds", type=int, default=12)
    p.add_argument("--samples", type=int, default=2048, help="fresh inputs per round")
    p.add_argument("--epochs", type=int, default=2, help="NTP epochs over the kept set per round")
    for name, hlp in (("reinforce", "REINFORCE with a leave-one-out baseline"),
                      ("grpo", "GRPO: group-standardised advantages")):
        p = sub.add_parser(name, help=hlp)
        _common(p)
        _rl(p)
        if name == "grpo":
            p.add_argument("--group", type=int, default=8, help="responses per input G")
    return tp


def _get(args, name, default=None):
    v = getattr(args, name, None)
    return default if v is None else v


def run(args) -> dict:
    """Run the sub-command in ``args`` and return the JSON-able result.

    Keys: ``command``, ``d``, ``p_cot``, ``config`` (architecture), ``seed``, ``device``, the
    per-evaluation arrays ``eval_steps``, ``greedy_accuracy``, ``greedy_length``, ``pi_long``,
    ``mean_length``, ``long_fraction``, the per-step ``loss`` (and for RL ``kept_fraction``,
    ``train_mean_length``), ``final`` (the last held-out metrics) and, for RL started without
    ``--checkpoint``, ``pretrain`` (the pre-training log).
    """
    from . import require_torch
    require_torch()
    import numpy as np
    import torch

    from .model import TransformerConfig, build_model
    from .train import grpo, load_checkpoint, pretrain, reinforce, resolve_device, star

    cmd = getattr(args, "transformer_command", None)
    if cmd not in COMMANDS:
        raise ValueError(f"transformer_command: must be one of {COMMANDS}, got {cmd!r}")
    dflt = _DEFAULTS[cmd]
    device = resolve_device(_get(args, "device", "cpu"))
    threads = _get(args, "threads")
    if threads is not None:
        if threads < 1:
            raise ValueError(f"threads: must be an integer >= 1, got {threads}")
        torch.set_num_threads(threads)
    seed = _get(args, "seed", 0)
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed: must be an integer >= 0, got {seed!r}")
    s_init, s_pre, s_rl = np.random.SeedSequence(seed).spawn(3)
    ckpt_dir = _get(args, "checkpoint_dir")
    ckpt_every = _get(args, "checkpoint_every")
    common = dict(eval_every=_get(args, "eval_every"), n_eval=_get(args, "n_eval", 1024),
                  verbose=bool(_get(args, "verbose", False)))
    out: dict = {"command": cmd, "seed": seed, "device": device}

    def fresh():
        cfg = TransformerConfig(d=_get(args, "d", 16), depth=_get(args, "depth", 2),
                                width=_get(args, "width", 64), heads=_get(args, "heads", 4))
        return build_model(cfg, rng=s_init, device=device)

    if cmd == "pretrain":
        model = fresh()
        p_cot = _get(args, "p_cot", 0.2)
        log = pretrain(model, p_cot, steps=_get(args, "steps", dflt["steps"]),
                       batch_size=_get(args, "batch_size", dflt["batch_size"]),
                       lr=_get(args, "lr", dflt["lr"]), warmup=_get(args, "warmup", 100),
                       weight_decay=_get(args, "weight_decay", 0.0), checkpoint_dir=ckpt_dir,
                       checkpoint_every=ckpt_every, rng=s_pre, **common)
    else:
        ckpt = _get(args, "checkpoint")
        if ckpt is not None:
            model, meta = load_checkpoint(ckpt, device)
            p_cot = meta.get("p_cot")
            out["start_checkpoint"] = {"path": ckpt, **meta}
        else:
            model = fresh()
            p_cot = _get(args, "p_cot", 0.2)
            out["pretrain"] = pretrain(model, p_cot, steps=_get(args, "pretrain_steps", 1500),
                                       lr=_get(args, "pretrain_lr", 1e-3), rng=s_pre, **common)
        rl = dict(reward=_get(args, "reward", "cot"), lr=_get(args, "lr", dflt["lr"]),
                  temperature=_get(args, "temperature", 1.0),
                  batch_size=_get(args, "batch_size", dflt["batch_size"]), rng=s_rl,
                  n_eval=common["n_eval"], verbose=common["verbose"])
        if cmd == "star":
            if _get(args, "steps") is not None:
                raise ValueError("steps: star counts --rounds, not --steps")
            log = star(model, rounds=_get(args, "rounds", 12), samples=_get(args, "samples", 2048),
                       epochs=_get(args, "epochs", 2), **rl)
        elif cmd == "reinforce":
            log = reinforce(model, steps=_get(args, "steps", dflt["steps"]),
                            eval_every=common["eval_every"], **rl)
        else:
            log = grpo(model, steps=_get(args, "steps", dflt["steps"]), group=_get(args, "group", 8),
                       eval_every=common["eval_every"], **rl)
        if ckpt_dir is not None:
            from .train import save_checkpoint
            import os
            log["checkpoint"] = save_checkpoint(os.path.join(ckpt_dir, f"{cmd}_final.pt"), model,
                                                p_cot=p_cot, stage=cmd)
    out.update({"d": model.config.d, "p_cot": p_cot, "config": model.config.to_dict()})
    out.update(log)
    out["final"] = {k: log[k][-1] for k in ("greedy_accuracy", "greedy_length", "pi_long",
                                            "mean_length", "long_fraction")}
    return out


def main(argv=None) -> int:
    """Stand-alone entry (``python -m linparity.transformer.cli transformer pretrain ...``)."""
    import json
    import sys
    parser = argparse.ArgumentParser(prog="linparity")
    add_subparser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    try:
        res = run(args)
    except (ValueError, ImportError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(res))
    else:
        print(json.dumps(res["final"]))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
