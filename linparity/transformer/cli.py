"""``python -m linparity transformer pretrain|star|grpo|reinforce ...``.

Importable without torch (so the main CLI can always register the sub-command); :func:`run`
raises ImportError with ``pip install -e .[transformer]`` when torch is missing.

Wiring (in the package linparity.cli)::

    from linparity.transformer import cli as transformer_cli
    transformer_cli.add_subparser(subparsers, ranged)   # registers "transformer"
    ...
    seconds = transformer_cli.check_work(args)         # every check, the work estimate
    if args.command == "transformer":
        result = transformer_cli.run(args)             # JSON-able dict

:func:`run` prints nothing on stdout; progress goes to stderr unless ``--quiet`` (and every
held-out evaluation with ``--verbose``). Every numeric option is checked against its documented
range (:data:`linparity.transformer.limits.RANGES`, shown in ``--help``) while parsing, and
:func:`check_work` checks the rest (checkpoint, folder, work estimate) before any work; bad input
raises ValueError naming the option.
"""
from __future__ import annotations

import argparse

from . import HAVE_TORCH
from .experiment import COMMANDS, OPTIONS, prepare, run_experiment
from .limits import DEFAULTS, RANGES, range_text

__all__ = ["add_subparser", "check_work", "run", "COMMANDS"]


def _num(p, flag: str, help: str, default=None, shown=None) -> None:
    """Add numeric option ``flag`` checked against its range in :data:`.limits.RANGES` while parsing
    (by the argparse type factory ``p.ranged``, set by :func:`add_subparser`); --help shows the range
    and the default (``shown`` when it is not a plain value)."""
    name = flag[2:].replace("-", "_")
    dflt = shown if shown is not None else default
    p.add_argument(flag, type=p.ranged(name, RANGES), default=default,
                   help=f"{help}, in {range_text(name)}" + ("" if dflt is None else f" (default {dflt})"))


def _common(p: argparse.ArgumentParser, command: str) -> None:
    dflt = DEFAULTS[command]
    arch = " for a fresh model; with --checkpoint the checkpoint's, and a different value is refused"
    p.add_argument("--task", default=None, choices=list(DEFAULTS["tasks"]),
                   help=f"what the model learns: parity of d bits, or n-digit multiplication (linparity.transformer."
                        f"tasks) (default parity{arch})")
    _num(p, "--d", "parity: number of input bits (the context holds 2d+1 tokens)", shown=f"16{arch}")
    _num(p, "--digits", "multiplication: digits n of each factor (the context holds 3n^2+4n+1 tokens)",
         shown=f"3{arch}")
    p.add_argument("--p-cot", type=p.ranged("p_cot", RANGES), default=None,
                   help=f"probability of a long chain in D(p), in {range_text('p_cot')} (default 0.2{arch})")
    _num(p, "--depth", "transformer blocks (paper: 2-8)", shown=f"2{arch}")
    _num(p, "--width", "residual width, a multiple of --heads (paper: 64-256)", shown=f"64{arch}")
    _num(p, "--heads", "attention heads", shown=f"4{arch}")
    if command != "star":
        _num(p, "--steps", "optimizer steps", shown=dflt["steps"])
    _num(p, "--batch-size", "inputs per step" if command != "star" else "kept pairs per NTP minibatch",
         shown=dflt["batch_size"])
    _num(p, "--lr", "AdamW learning rate", shown=f"{dflt['lr']:g}")
    _num(p, "--eval-every", "steps between held-out evaluations" + (
        " of the pre-training (every round is evaluated)" if command == "star" else ""),
        shown="about 20 evaluations per run")
    _num(p, "--n-eval", "held-out fresh inputs", default=1024)
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:k or auto")
    _num(p, "--threads", "torch CPU threads", shown="torch's")
    _num(p, "--seed", "root seed (numpy SeedSequence)", default=0)
    p.add_argument("--checkpoint-dir", default=None,
                   help="folder for checkpoints (atomic writes; created if missing, checked writable before "
                        "any work). Each command writes its own files and a manifest <command>.run.json; "
                        "a second run of the same command into the folder must have identical options "
                        "(it rewrites the same files), any other is refused, so runs never mix")
    p.add_argument("--force", action="store_true",
                   help="run even when the estimated memory or time exceeds the machine "
                        "(80%% of available memory; LINPARITY_MAX_SECONDS, default 1 h)")
    p.add_argument("--verbose", action="store_true", help="also print every held-out evaluation on stderr")
    p.add_argument("--quiet", action="store_true",
                   help="no progress on stderr (default: a bar with ETA on a terminal, else a line every 5 s)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def _rl(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", default=None,
                   help="pre-trained checkpoint to start from (its architecture and p_cot); without it, "
                        "pre-train first for --pretrain-steps steps on D(--p-cot)")
    _num(p, "--pretrain-steps", "pre-training steps without --checkpoint", shown=800)
    _num(p, "--pretrain-lr", "pre-training learning rate without --checkpoint", shown="0.001")
    p.add_argument("--reward", default="cot", choices=["cot", "e2e"])
    _num(p, "--temperature", "sampling temperature (0.75, 1, 1.5)", default=1.0)


def add_subparser(subparsers, ranged) -> argparse.ArgumentParser:
    """Register ``transformer`` with sub-commands pretrain|star|grpo|reinforce on ``subparsers``
    (the object returned by ``ArgumentParser.add_subparsers``). ``ranged(name, table)`` makes the
    argparse type that checks option ``name`` against its range in ``table`` (the main CLI's
    ``linparity.cli.parse.ranged``: this package sits below the CLI and does not import it). Returns
    the new parser."""
    tp = subparsers.add_parser("transformer", help="GPT-2-style transformer: NTP then RL (needs torch)")
    sub = tp.add_subparsers(dest="transformer_command", metavar="{pretrain,star,grpo,reinforce}")
    sub.required = True
    p = sub.add_parser("pretrain", help="online next-token prediction on D(p_cot)")
    p.ranged = ranged
    _common(p, "pretrain")
    _num(p, "--checkpoint-every", "steps between checkpoints step_<step>.pt", shown="only final.pt")
    _num(p, "--warmup", "linear learning-rate warm-up steps", default=100)
    _num(p, "--weight-decay", "AdamW decoupled weight decay", default=0.0)
    p = sub.add_parser("star", help="STaR: sample, keep reward-1 pairs, NTP on them")
    p.ranged = ranged
    _common(p, "star")
    _rl(p)
    _num(p, "--rounds", "STaR rounds", default=12)
    _num(p, "--samples", "fresh inputs per round", default=2048)
    _num(p, "--epochs", "NTP epochs over the kept set per round", default=2)
    for name, hlp in (("reinforce", "REINFORCE with a leave-one-out baseline"),
                      ("grpo", "GRPO: group-standardised advantages")):
        p = sub.add_parser(name, help=hlp)
        p.ranged = ranged
        _common(p, name)
        _rl(p)
        if name == "grpo":
            _num(p, "--group", "responses per input G", default=8)
    return tp


def _given(args) -> dict:
    return {k: getattr(args, k) for k in OPTIONS if getattr(args, k, None) is not None}


def _option(name: str) -> str:
    return "--" + name.replace("_", "-")


def check_work(args) -> float:
    """Check every option of the sub-command in ``args`` (ranges, checkpoint, folder, the work
    estimate; :func:`linparity.transformer.experiment.prepare`) before any work. Returns the
    estimated seconds (0 without torch: :func:`run` then says how to install it)."""
    if not HAVE_TORCH:
        return 0.0
    o = prepare(args.transformer_command, force=getattr(args, "force", False), option=_option, **_given(args))
    return o["estimate"][1]


def run(args) -> dict:
    """Run the sub-command in ``args`` (:func:`linparity.transformer.experiment.run_experiment`);
    returns its JSON-able dict."""
    return run_experiment(getattr(args, "transformer_command", None), force=getattr(args, "force", False),
                          **_given(args))
