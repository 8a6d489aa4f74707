"""The CLI's argument parsers: every sub-command's options, their documented ranges and defaults.

Every numeric option is checked against its range (``linparity._validate.RANGES``) while parsing
(:func:`ranged`), and ``--help`` shows each default (:class:`HelpFormatter`); a parse error is one
ValueError line naming the option (:class:`Parser`), which :func:`linparity.cli.main` prints.
"""
from __future__ import annotations

import argparse

from ..data import NOISE_KINDS, REWARDS
from ..experiments.samples import ROUTES, VARIANTS
from ..sweep import BACKENDS
from .._validate import INT_MAX, RANGES, usage_message
from ..simulate import PGConfig, StarConfig

#: the STaR and policy-gradient defaults of the CLI are the library's: StarConfig's are the paper's
#: Algorithm 1 ('continue', E = 2, lr 0.05, one step per kept pair), PGConfig's lr 1, B = 256, G = 8
_STAR, _PG = StarConfig(rounds=0, samples=1), PGConfig(algo="reinforce", steps=0)

__all__ = ["HelpFormatter", "Parser", "ranged", "build_parser", "option_names"]


class HelpFormatter(argparse.HelpFormatter):
    """--help shows every default: "(default: X)" unless the help text states it, "(required)"."""

    def _get_help_string(self, action):
        h = action.help or ""
        if "default" in h or action.default is argparse.SUPPRESS or action.nargs == 0 and not action.default:
            return h
        if action.required:
            return f"{h} (required)"
        if action.option_strings and action.default is not None:
            return f"{h} (default: %(default)s)"
        return h


class Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line on stderr and exit status 2; --help shows defaults."""

    def __init__(self, *args, **kw):
        kw.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kw)

    def error(self, message):
        raise ValueError(usage_message(self.prog, message))


def ranged(name: str, table=RANGES):
    """An argparse ``type`` for option ``name``: its documented range in ``table`` (``_validate.RANGES``;
    the transformer's: ``transformer.limits.RANGES``), checked while parsing, so a huge integer or a
    non-finite float is refused before anything is allocated."""
    kind, lo, hi = table[name]

    def parse(text: str):
        if kind == "int":
            try:
                v = int(text.strip().replace("_", ""), 10)
            except ValueError:
                raise argparse.ArgumentTypeError(f"must be an integer in [{lo}, {hi}], got {text[:40]!r}") from None
            if not lo <= v <= hi:
                shown = text if len(text) <= 24 else f"{text[:12]}... ({len(text)} characters)"
                raise argparse.ArgumentTypeError(f"must be an integer in [{lo}, {hi}], got {shown}")
            return v
        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a number in [{lo:g}, {hi:g}], got {text[:40]!r}") from None
        if not lo <= v <= hi:  # also refuses nan and +-inf
            raise argparse.ArgumentTypeError(f"must be a finite number in [{lo:g}, {hi:g}], got {text[:40]}")
        return v
    parse.__name__ = name
    return parse


def ranged_list(name: str, table=RANGES):
    """An argparse ``type`` for a comma-separated list of option ``name``'s values (``--grid 8,16,32``),
    each checked as :func:`ranged` checks one; at most 1000 values."""
    one = ranged(name, table)

    def parse(text: str):
        parts = text.split(",")
        if len(parts) > 1000:
            raise argparse.ArgumentTypeError(f"at most 1000 values, got {len(parts)}")
        return [one(t) for t in parts]
    parse.__name__ = name
    return parse


def _rng_text(name: str) -> str:
    kind, lo, hi = RANGES[name]
    hi = "2^53" if hi == INT_MAX else f"{hi:g}"
    return f"[{lo:g}, {hi}]"


def _common(p, d_min: int = 2):
    p.add_argument("--d", type=ranged("d"), required=True,
                   help=f"number of input bits d >= {d_min} (memory and time grow with d^2)")
    p.add_argument("--p-cot", type=ranged("p_cot"), required=True,
                   help="probability of a long response, in [0, 1]")
    _lam_args(p)
    p.add_argument("--replicates", type=ranged("replicates"), default=1, help="independent replicates R >= 1")
    p.add_argument("--seed", type=ranged("seed"), default=0, help="root seed (SeedSequence entropy), >= 0")
    p.add_argument("--force", action="store_true",
                   help="run even when the estimated memory or time exceeds the machine "
                        "(80%% of available memory; LINPARITY_MAX_SECONDS, default 1 h)")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def _lam_args(p):
    p.add_argument("--lam", type=ranged("lam"), default=None,
                   help=f"L2 strength of every head, in {_rng_text('lam')} (default: the figures' "
                        "(lam1, lam2a, lam_chain) = (0.01, 0.01, 0.01/d); THEORY §10)")
    p.add_argument("--lam1", type=ranged("lam"), help="head 1 L2 strength (default: --lam, else 0.01)")
    p.add_argument("--lam2a", type=ranged("lam"), help="stop head L2 strength (default: --lam, else 0.01)")
    p.add_argument("--lam-chain", type=ranged("lam"),
                   help="chain heads' L2 strength (default: --lam, else 0.01/d)")


def _noise_args(p):
    p.add_argument("--noise", type=ranged("noise"), default=0.0,
                   help="rate eps_n in [0, 1] of corrupted long demonstrations in pre-training (THEORY §8)")
    p.add_argument("--noise-kind", default="final", choices=NOISE_KINDS,
                   help="final (flip s_d) | carried (flip s_j at a uniform j, later steps follow it)")


def _rl_start_args(p):
    p.add_argument("--pretrain-steps", type=ranged("pretrain_steps"), default=100_000,
                   help="Algorithm 3 samples before RL (0: start from the exact regularised NTP optimum)")


_DESCRIPTION = ("Learning the parity of d bits by next-token prediction, then RL (STaR, REINFORCE, GRPO), "
                "computed by closed form, exact enumeration or simulation (--method).")
_EPILOG = ("Each sub-command has its own --help with every default and range. Without --json a command "
           "prints a table; bad input prints one line on stderr and exits with status 2.")


def build_parser(with_transformer: bool = True) -> argparse.ArgumentParser:
    """The argument parser; ``with_transformer=False`` skips importing torch (slow) for other commands."""
    ap = Parser(prog="linparity", description=_DESCRIPTION, epilog=_EPILOG)
    sub = ap.add_subparsers(dest="command", required=True, parser_class=Parser)

    p = sub.add_parser("pretrain", help="next-token pre-training and Theorem 1 measurements")
    _common(p)
    p.add_argument("--method", default="sgd", choices=("sgd", "closed-form", "exact"),
                   help="sgd (Algorithm 3) | closed-form (d >= 3) | exact (2 <= d <= 12)")
    p.add_argument("--steps", type=ranged("steps"), default=100_000,
                   help="samples T; with --method exact, population steps (~20 ms each at d = 12)")
    p.add_argument("--T1", type=ranged("T1"), help="head 1 step limit (default: --steps)")
    p.add_argument("--T2a", type=ranged("T2a"), help="stop head step limit (default: --steps)")
    p.add_argument("--T-chain", type=ranged("T_chain"),
                   help="chain heads' step limit in long samples (default: no limit)")
    p.add_argument("--delta", type=ranged("delta"), default=0.1,
                   help=f"failure probability in the Prop 1-3 bounds, in {_rng_text('delta')}")
    _noise_args(p)

    p = sub.add_parser("star", help="STaR post-training (Algorithm 1) and Theorem 2")
    _common(p, 3)
    p.add_argument("--rounds", type=ranged("rounds"), required=True, help="number of STaR rounds >= 0")
    p.add_argument("--samples", type=ranged("samples"),
                   help="fresh inputs N per round >= 1: required with --method sgd; the population methods "
                        "(closed-form, exact) draw none and ignore it, with a note on stderr")
    p.add_argument("--reward", default="cot", choices=tuple(REWARDS), help="reward (THEORY §6)")
    p.add_argument("--temperature", type=ranged("temperature"), default=1.0,
                   help=f"sampling temperature tau, in {_rng_text('temperature')}")
    from ..commands import STAR_VARIANT_HELP
    p.add_argument("--variant", default=_STAR.variant, choices=("continue", "refit"), help=STAR_VARIANT_HELP)
    p.add_argument("--epochs", type=ranged("epochs"), default=_STAR.epochs,
                   help="continue: epochs E over the kept set >= 1")
    p.add_argument("--lr", type=ranged("lr"), default=_STAR.lr,
                   help=f"continue: constant NTP step size, in {_rng_text('lr')}")
    p.add_argument("--batch-size", type=ranged("batch_size"), default=_STAR.batch_size,
                   help="continue: kept pairs per gradient step >= 1 (1: one step per kept pair, Algorithm 1)")
    _rl_start_args(p)
    p.add_argument("--method", default="sgd", choices=("sgd", "closed-form", "exact"),
                   help="sgd (simulate) | closed-form (exact map, reduced coordinates) | exact (the map on full "
                        "weights by enumeration, d <= 12, reward cot); both population methods are 'refit'")
    _noise_args(p)

    p = sub.add_parser("pg", help="policy-gradient post-training (REINFORCE, GRPO)")
    _common(p, 3)
    p.add_argument("--algo", default="reinforce", choices=("reinforce", "grpo"), help="algorithm")
    p.add_argument("--steps", type=ranged("pg_steps"), required=True, help="policy-gradient steps >= 0")
    p.add_argument("--lr", type=ranged("lr"), default=_PG.lr, help=f"learning rate, in {_rng_text('lr')}")
    p.add_argument("--batch-size", type=ranged("batch_size"), default=_PG.batch_size, help="inputs per step >= 1")
    p.add_argument("--group-size", type=ranged("group_size"), default=_PG.group_size,
                   help="GRPO responses per input G >= 2")
    p.add_argument("--reward", default="cot", choices=tuple(REWARDS), help="reward (THEORY §6)")
    p.add_argument("--temperature", type=ranged("temperature"), default=1.0,
                   help=f"sampling temperature tau, in {_rng_text('temperature')}")
    p.add_argument("--no-baseline", action="store_true", help="REINFORCE without the running-mean baseline")
    _rl_start_args(p)
    p.add_argument("--method", default="sgd", choices=("sgd", "closed-form", "exact"),
                   help="sgd (simulate) | closed-form (expected dynamics, reduced coordinates) | exact (expected "
                        "REINFORCE ascent on full weights by enumeration, d <= 12)")
    p.add_argument("--length-penalty", type=ranged("length_penalty"), default=0.0, metavar="BETA",
                   help=f"reward r - BETA (|y| - 2)/(d - 1), BETA in {_rng_text('length_penalty')} (THEORY §8); "
                        "the JSON gives the exact threshold length_penalty_threshold at the start")
    _noise_args(p)

    p = sub.add_parser("samples", help="sample complexity: smallest budget at which >= 90%% of replicates generalise")
    p.add_argument("--d", type=ranged("d"), required=True, help="number of input bits d >= 3")
    p.add_argument("--p-cot", type=ranged("p_cot"), required=True, help="probability of a long response, in (0, 1]")
    p.add_argument("--route", default="full", choices=ROUTES,
                   help="full (full weights, simulated) | stats (sufficient statistics)")
    p.add_argument("--variant", choices=VARIANTS, help="STaR variant of --route full (default: continue)")
    p.add_argument("--replicates", type=ranged("replicates"), default=10, help="replicates R >= 1 per budget")
    p.add_argument("--seed", type=ranged("seed"), default=0, help="root seed (SeedSequence entropy), >= 0")
    p.add_argument("--n-max", type=ranged("n_max"), help="STaR round limit >= 0 (default n*(p) + 10)")
    p.add_argument("--b0", type=ranged("b0"), help="first budget of the doubling search, >= 1 (default 8)")
    p.add_argument("--cap", type=ranged("cap"),
                   help="largest budget, >= --b0 (default 2^20); a point that no budget up to it generalises "
                        "reports budget null")
    p.add_argument("--grid", type=ranged_list("budgets"), dest="budgets", metavar="B1,B2,...",
                   help="explicit increasing budgets, every one run with all replicates (no early stop), "
                        "instead of the doubling search (not with --b0, --cap)")
    p.add_argument("--pretrain-samples", type=ranged("pretrain_samples"), metavar="T",
                   help="fixed pre-training samples T (default: the budget B)")
    p.add_argument("--round-samples", type=ranged("round_samples"), metavar="N",
                   help="fixed inputs N per STaR round (default: the budget B); with --pretrain-samples: one "
                        "level, nothing searched")
    _lam_args(p)
    p.add_argument("--force", action="store_true",
                   help="run even when the estimated time (every budget tried, every round) exceeds "
                        "LINPARITY_MAX_SECONDS (default 1 h)")
    p.add_argument("--json", action="store_true", help="print one JSON object")

    p = sub.add_parser("sweep", help="run a sweep specification (JSON or TOML), or --show its results")
    p.add_argument("spec", nargs="?", help="path of the sweep specification (.toml or .json)")
    p.add_argument("--show", metavar="DIR", help="print the finished tasks of the sweep in DIR instead of running "
                                                 "(a result that is NaN or infinite prints as null)")
    p.add_argument("--jobs", type=ranged("jobs"), default=1,
                   help=f"local worker processes, in {_rng_text('jobs')} (the cores); never more than the tasks to run")
    p.add_argument("--backend", default="joblib", choices=BACKENDS, help="joblib (local cores) | dask (a cluster)")
    p.add_argument("--scheduler", help="Dask scheduler address (with --backend dask)")
    p.add_argument("--out", help="output folder (default: the spec's 'out')")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--json", action="store_true", help="print one JSON object")

    try:
        if not with_transformer:
            raise ImportError
        from ..transformer.cli import add_subparser
    except ImportError:  # torch missing (or not wanted): the sub-command explains how to install it
        t = sub.add_parser("transformer", help="transformer replication (needs the extra 'transformer')")
        t.add_argument("rest", nargs=argparse.REMAINDER)
    else:
        add_subparser(sub, ranged)
    return ap


def option_names(parser, argv) -> dict:
    """dest -> option string (``p_cot`` -> ``--p-cot``) of the sub-command in argv."""
    out = {}
    for act in parser._actions:  # argparse has no public accessor for these
        if isinstance(act, argparse._SubParsersAction):
            sp = act.choices.get(argv[0]) if argv else None
            if sp is not None:
                out.update(option_names(sp, argv[1:]))
        elif act.option_strings:
            out[act.dest] = act.option_strings[-1]
    return out
