"""``python -m linparity transformer pretrain|star|grpo|reinforce ...``.

Importable without torch (so the main CLI can always register the sub-command); :func:`run`
raises ImportError with ``pip install -e .[transformer]`` when torch is missing.

Wiring (in linparity/cli.py)::

    from .transformer import cli as transformer_cli
    transformer_cli.add_subparser(subparsers)          # registers "transformer"
    ...
    if args.command == "transformer":
        result = transformer_cli.run(args)             # JSON-able dict

:func:`run` prints nothing on stdout; progress goes to stderr unless ``--quiet`` (and every
held-out evaluation with ``--verbose``); bad input raises ValueError naming the argument.
"""
from __future__ import annotations

import argparse

from .experiment import COMMANDS, run_experiment

__all__ = ["add_subparser", "run", "COMMANDS"]


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
    p.add_argument("--verbose", action="store_true", help="also print every held-out evaluation on stderr")
    p.add_argument("--quiet", action="store_true",
                   help="no progress on stderr (default: a bar with ETA on a terminal, else a line every 5 s)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def _rl(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", default=None,
                   help="pre-trained checkpoint to start from; without it, pre-train first "
                        "for --pretrain-steps steps on D(--p-cot)")
    p.add_argument("--pretrain-steps", type=int, default=800)
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


def run(args) -> dict:
    """Run the sub-command in ``args`` (:func:`linparity.transformer.experiment.run_experiment`);
    returns its JSON-able dict."""
    names = ("d", "depth", "width", "heads", "p_cot", "seed", "device", "threads", "checkpoint",
             "checkpoint_dir", "checkpoint_every", "eval_every", "n_eval", "verbose", "quiet", "steps", "batch_size",
             "lr", "warmup", "weight_decay", "pretrain_steps", "pretrain_lr", "reward", "temperature",
             "rounds", "samples", "epochs", "group")
    given = {k: getattr(args, k) for k in names if getattr(args, k, None) is not None}
    return run_experiment(getattr(args, "transformer_command", None), **given)


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
