"""Command line: ``python -m linparity {pretrain,star,pg,samples,sweep,transformer} ...``.

Parsing and printing only; every computation lives in the library. The validation layer
(``linparity._validate``) runs first:

* every numeric option is checked against its documented range while parsing (shown in ``--help``
  with its default): integers at most 2^53, floats finite, lambda in [1e-12, 1e12];
* the memory and time of the requested work are estimated from the sizes, and work that does not
  fit (80% of the available memory, or ``LINPARITY_MAX_SECONDS``, default 1 hour) is refused with
  one line naming the option that makes it large (``--force`` runs it anyway);
* stdout is checked before computing (closed, ``/dev/full``).

Bad input (a ValueError from the library, or an argparse error) prints one line on stderr naming
the option and exits with status 2; a NaN or infinite result is an error, never printed as null.
Work longer than a few seconds shows progress on stderr when it is a terminal.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import warnings

import numpy as np

from .data import MAX_ENUM_D, NOISE_KINDS, REWARDS
from .experiments.samples import ROUTES, VARIANTS
from .sweep import BACKENDS
from .heads import default_lam
from ._validate import INT_MAX, RANGES, check_stdout, check_work, fmt_seconds, refuse_work, usage_message

__all__ = ["main", "build_parser"]


class _Help(argparse.HelpFormatter):
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


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line on stderr and exit status 2; --help shows defaults."""

    def __init__(self, *args, **kw):
        kw.setdefault("formatter_class", _Help)
        super().__init__(*args, **kw)

    def error(self, message):
        raise ValueError(usage_message(self.prog, message))


def _ranged(name: str, table=RANGES):
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


def _rng_text(name: str) -> str:
    kind, lo, hi = RANGES[name]
    hi = "2^53" if hi == INT_MAX else f"{hi:g}"
    return f"[{lo:g}, {hi}]"


def _common(p, d_min: int = 2):
    p.add_argument("--d", type=_ranged("d"), required=True,
                   help=f"number of input bits d >= {d_min} (memory and time grow with d^2)")
    p.add_argument("--p-cot", type=_ranged("p_cot"), required=True,
                   help="probability of a long response, in [0, 1]")
    p.add_argument("--lam", type=_ranged("lam"), default=None,
                   help=f"L2 strength of every head, in {_rng_text('lam')} (default: the figures' "
                        "(lam1, lam2a, lam_chain) = (0.01, 0.01, 0.01/d); README Finding 5)")
    p.add_argument("--lam1", type=_ranged("lam"), help="head 1 L2 strength (default: --lam, else 0.01)")
    p.add_argument("--lam2a", type=_ranged("lam"), help="stop head L2 strength (default: --lam, else 0.01)")
    p.add_argument("--lam-chain", type=_ranged("lam"),
                   help="chain heads' L2 strength (default: --lam, else 0.01/d)")
    p.add_argument("--replicates", type=_ranged("replicates"), default=1, help="independent replicates R >= 1")
    p.add_argument("--seed", type=_ranged("seed"), default=0, help="root seed (SeedSequence entropy), >= 0")
    p.add_argument("--force", action="store_true",
                   help="run even when the estimated memory or time exceeds the machine "
                        "(80%% of available memory; LINPARITY_MAX_SECONDS, default 1 h)")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def _noise_args(p):
    p.add_argument("--noise", type=_ranged("noise"), default=0.0,
                   help="rate eps_n in [0, 1] of corrupted long demonstrations in pre-training (THEORY §8)")
    p.add_argument("--noise-kind", default="final", choices=NOISE_KINDS,
                   help="final (flip s_d) | carried (flip s_j at a uniform j, later steps follow it)")


def _rl_start_args(p):
    p.add_argument("--pretrain-steps", type=_ranged("pretrain_steps"), default=100_000,
                   help="Algorithm 3 samples before RL (0: start from the exact regularised NTP optimum)")


_DESCRIPTION = ("Learning the parity of d bits by next-token prediction, then RL (STaR, REINFORCE, GRPO), "
                "computed by closed form, exact enumeration or simulation (--method).")
_EPILOG = ("Each sub-command has its own --help with every default and range. Without --json a command "
           "prints a table; bad input prints one line on stderr and exits with status 2.")


def build_parser(with_transformer: bool = True) -> argparse.ArgumentParser:
    """The argument parser; ``with_transformer=False`` skips importing torch (slow) for other commands."""
    ap = _Parser(prog="linparity", description=_DESCRIPTION, epilog=_EPILOG)
    sub = ap.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("pretrain", help="next-token pre-training and Theorem 1 measurements")
    _common(p)
    p.add_argument("--method", default="sgd", choices=("sgd", "closed-form", "exact"),
                   help="sgd (Algorithm 3) | closed-form (d >= 3) | exact (2 <= d <= 12)")
    p.add_argument("--steps", type=_ranged("steps"), default=100_000,
                   help="samples T; with --method exact, population steps (~20 ms each at d = 12)")
    p.add_argument("--T1", type=_ranged("T1"), help="head 1 step limit (default: --steps)")
    p.add_argument("--T2a", type=_ranged("T2a"), help="stop head step limit (default: --steps)")
    p.add_argument("--T-chain", type=_ranged("T_chain"),
                   help="chain heads' step limit in long samples (default: no limit)")
    p.add_argument("--delta", type=_ranged("delta"), default=0.1,
                   help=f"failure probability in the Prop 1-3 bounds, in {_rng_text('delta')}")
    _noise_args(p)

    p = sub.add_parser("star", help="STaR post-training (Algorithm 1) and Theorem 2")
    _common(p, 3)
    p.add_argument("--rounds", type=_ranged("rounds"), required=True, help="number of STaR rounds >= 0")
    p.add_argument("--samples", type=_ranged("samples"),
                   help="fresh inputs N per round >= 1: required with --method sgd; the population methods "
                        "(closed-form, exact) draw none and ignore it, with a note on stderr")
    p.add_argument("--reward", default="cot", choices=tuple(REWARDS), help="reward (THEORY §6)")
    p.add_argument("--temperature", type=_ranged("temperature"), default=1.0,
                   help=f"sampling temperature tau, in {_rng_text('temperature')}")
    from .commands import STAR_VARIANT_HELP
    p.add_argument("--variant", default="continue", choices=("continue", "refit"), help=STAR_VARIANT_HELP)
    p.add_argument("--epochs", type=_ranged("epochs"), default=2, help="continue: epochs E over the kept set >= 1")
    p.add_argument("--lr", type=_ranged("lr"), default=0.05,
                   help=f"continue: constant NTP step size, in {_rng_text('lr')}")
    p.add_argument("--batch-size", type=_ranged("batch_size"), default=1,
                   help="continue: kept pairs per gradient step >= 1 (1: one step per kept pair, Algorithm 1)")
    _rl_start_args(p)
    p.add_argument("--method", default="sgd", choices=("sgd", "closed-form", "exact"),
                   help="sgd (simulate) | closed-form (exact map, reduced coordinates) | exact (the map on full "
                        "weights by enumeration, d <= 12, reward cot); both population methods are 'refit'")
    _noise_args(p)

    p = sub.add_parser("pg", help="policy-gradient post-training (REINFORCE, GRPO)")
    _common(p, 3)
    p.add_argument("--algo", default="reinforce", choices=("reinforce", "grpo"), help="algorithm")
    p.add_argument("--steps", type=_ranged("pg_steps"), required=True, help="policy-gradient steps >= 0")
    p.add_argument("--lr", type=_ranged("lr"), default=1.0, help=f"learning rate, in {_rng_text('lr')}")
    p.add_argument("--batch-size", type=_ranged("batch_size"), default=256, help="inputs per step >= 1")
    p.add_argument("--group-size", type=_ranged("group_size"), default=8, help="GRPO responses per input G >= 2")
    p.add_argument("--reward", default="cot", choices=tuple(REWARDS), help="reward (THEORY §6)")
    p.add_argument("--temperature", type=_ranged("temperature"), default=1.0,
                   help=f"sampling temperature tau, in {_rng_text('temperature')}")
    p.add_argument("--no-baseline", action="store_true", help="REINFORCE without the running-mean baseline")
    _rl_start_args(p)
    p.add_argument("--method", default="sgd", choices=("sgd", "closed-form", "exact"),
                   help="sgd (simulate) | closed-form (expected dynamics, reduced coordinates) | exact (expected "
                        "REINFORCE ascent on full weights by enumeration, d <= 12)")
    p.add_argument("--length-penalty", type=_ranged("length_penalty"), default=0.0, metavar="BETA",
                   help=f"reward r - BETA (|y| - 2)/(d - 1), BETA in {_rng_text('length_penalty')} (THEORY §8); "
                        "the JSON gives the exact threshold length_penalty_threshold at the start")
    _noise_args(p)

    p = sub.add_parser("samples", help="sample complexity: smallest budget at which >= 90%% of replicates generalise")
    p.add_argument("--d", type=_ranged("d"), required=True, help="number of input bits d >= 3")
    p.add_argument("--p-cot", type=_ranged("p_cot"), required=True, help="probability of a long response, in (0, 1]")
    p.add_argument("--route", default="full", choices=ROUTES,
                   help="full (full weights, simulated) | stats (sufficient statistics)")
    p.add_argument("--variant", choices=VARIANTS, help="STaR variant of --route full (default: continue)")
    p.add_argument("--replicates", type=_ranged("replicates"), default=10, help="replicates R >= 1 per budget")
    p.add_argument("--seed", type=_ranged("seed"), default=0, help="root seed (SeedSequence entropy), >= 0")
    p.add_argument("--n-max", type=_ranged("n_max"), help="STaR round limit >= 0 (default n*(p) + 10)")
    p.add_argument("--b0", type=_ranged("b0"), default=8, help="first budget of the doubling search, >= 1")
    p.add_argument("--cap", type=_ranged("cap"), default=2 ** 20,
                   help="largest budget, >= --b0; a point that no budget up to it generalises reports budget null")
    p.add_argument("--force", action="store_true",
                   help="run even when the estimated time (every budget up to --cap, every round) exceeds "
                        "LINPARITY_MAX_SECONDS (default 1 h)")
    p.add_argument("--json", action="store_true", help="print one JSON object")

    p = sub.add_parser("sweep", help="run a sweep specification (JSON or TOML), or --show its results")
    p.add_argument("spec", nargs="?", help="path of the sweep specification (.toml or .json)")
    p.add_argument("--show", metavar="DIR", help="print the finished tasks of the sweep in DIR instead of running "
                                                 "(a result that is NaN or infinite prints as null)")
    p.add_argument("--jobs", type=_ranged("jobs"), default=1,
                   help=f"local worker processes, in {_rng_text('jobs')} (the cores); never more than the tasks to run")
    p.add_argument("--backend", default="joblib", choices=BACKENDS, help="joblib (local cores) | dask (a cluster)")
    p.add_argument("--scheduler", help="Dask scheduler address (with --backend dask)")
    p.add_argument("--out", help="output folder (default: the spec's 'out')")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--json", action="store_true", help="print one JSON object")

    try:
        if not with_transformer:
            raise ImportError
        from .transformer.cli import add_subparser
    except ImportError:  # torch missing (or not wanted): the sub-command explains how to install it
        t = sub.add_parser("transformer", help="transformer replication (needs the extra 'transformer')")
        t.add_argument("rest", nargs=argparse.REMAINDER)
    else:
        add_subparser(sub, _ranged)
    return ap


#: the figures' regularisation (README Finding 5): lam_chain must shrink like 1/d for calibration
def _lam_tuple(a):
    """(lam1, lam2a, lam_chain): per-head option, else --lam, else the figures' (0.01, 0.01, 0.01/d)."""
    defaults = default_lam(a.d)
    return tuple(o if o is not None else (a.lam if a.lam is not None else dflt)
                 for o, dflt in zip((a.lam1, a.lam2a, a.lam_chain), defaults))


def _option(name: str) -> str:
    """How the CLI spells a library argument name (``p_cot`` -> ``--p-cot``)."""
    return f"--{name.replace('_', '-')}"


def _samples_work(a) -> float:
    """Seconds estimated for ``samples`` (sizes and memory checked by the library, the time here)."""
    from .experiments.samples import samples_work
    sec, drivers = samples_work(a.d, a.p_cot, a.route, a.replicates, a.n_max, a.b0, a.cap, option=_option)
    if not a.force:
        refuse_work(0.0, sec, sorted(drivers, key=lambda k: -drivers[k]), _option,
                    what="the search (every budget up to --cap, every round)")
    return sec


def _work(a) -> float:
    """Estimated seconds of the command's work; ValueError naming the option when it does not fit."""
    if a.command == "samples":
        return _samples_work(a)
    if a.command == "transformer":
        from .transformer.cli import check_work as transformer_work
        return transformer_work(a)
    if a.command not in ("pretrain", "star", "pg"):
        return 0.0
    # constraints between options, before the estimate (which would otherwise blame the size)
    lo, hi = (3, None) if a.command != "pretrain" or a.method == "closed-form" else \
        (2, MAX_ENUM_D) if a.method == "exact" else (2, None)
    if a.d < lo or (hi is not None and a.d > hi):
        what = f"--method {a.method}" if a.command == "pretrain" else a.command
        raise ValueError(f"--d: {what} needs d in [{lo}, {hi or '2^53'}], got {a.d}")
    sizes = {k: getattr(a, k, None) for k in ("d", "p_cot", "replicates", "steps", "method", "rounds",
                                            "samples", "pretrain_steps", "batch_size", "group_size", "algo", "epochs",
                                            "variant")}
    return check_work(a.command, force=a.force, **sizes)[1]


def _run(a) -> dict:
    progress = sys.stderr.isatty()   # progress goes to stderr: it never mixes with the JSON on stdout
    if a.command == "pretrain":
        from .commands import pretrain_summary
        return pretrain_summary(a.d, a.p_cot, a.method, a.steps, _lam_tuple(a), T1=a.T1, T2a=a.T2a,
                                T_chain=a.T_chain, replicates=a.replicates, seed=a.seed, delta=a.delta,
                                progress=progress, noise=a.noise, noise_kind=a.noise_kind)
    if a.command == "star":
        from .commands import star_command

        if a.samples is not None and a.method != "sgd":
            print(f"note: --samples is ignored by --method {a.method} (a population method draws no inputs)",
                  file=sys.stderr)

        def progress(n, total):
            if sys.stderr.isatty():  # like every progress display: on a terminal only
                print(f"star: round {n}/{total} done", file=sys.stderr, flush=True)
        return star_command(a.d, a.p_cot, a.rounds, a.samples, reward=a.reward, temperature=a.temperature,
                            variant=a.variant, pretrain_steps=_pretrain_steps(a), lam=_lam_tuple(a),
                            replicates=a.replicates, seed=a.seed, method=a.method, noise=a.noise,
                            noise_kind=a.noise_kind, progress=progress, epochs=a.epochs, lr=a.lr,
                            batch_size=a.batch_size)
    if a.command == "pg":
        from .commands import pg_command
        return pg_command(a.algo, a.d, a.p_cot, a.steps, a.lr, batch_size=a.batch_size,
                          group_size=a.group_size, reward=a.reward, temperature=a.temperature,
                          baseline=not a.no_baseline, pretrain_steps=_pretrain_steps(a), lam=_lam_tuple(a),
                          replicates=a.replicates, seed=a.seed, method=a.method,
                          length_penalty=a.length_penalty, noise=a.noise, noise_kind=a.noise_kind)
    if a.command == "samples":
        from .commands import samples_command
        return samples_command(a.d, a.p_cot, a.route, a.variant, a.replicates, a.seed, n_max=a.n_max, b0=a.b0,
                               cap=a.cap, progress=lambda m: print(f"samples: {m}", file=sys.stderr))
    if a.command == "sweep":
        import dataclasses

        from .sweep import SweepLockedError, load_results, load_spec, run_sweep, summary_by_task, summary_rows
        if (a.spec is None) == (a.show is None):
            raise ValueError("sweep: give a spec file to run, or --show DIR to read results (not both)")
        if a.show is not None:
            try:
                sw = load_results(a.show, allow_missing=True)
            except ValueError as e:  # the library names its argument (out_dir:, out:); here it is --show
                raise ValueError(f"show: {str(e).partition(': ')[2]}") from None
            n_done = sw.spec.n_tasks - len(sw.missing)
            head = {"out": a.show, "task": sw.spec.task, "tasks": sw.spec.n_tasks, "finished": n_done}
            if a.json:
                return {**head, "missing": sw.missing, "results": summary_rows(sw)}
            return {**head, **summary_by_task(sw)}
        try:
            spec = load_spec(a.spec)
        except ValueError as e:  # the library names its argument path:; here it is the positional spec
            head, _, rest = str(e).partition(": ")
            raise ValueError(f"spec: {rest}" if head == "path" else str(e)) from None
        spec = dataclasses.replace(spec, out=a.out) if a.out else spec
        try:
            res = run_sweep(spec, jobs=a.jobs, backend=a.backend, scheduler=a.scheduler,
                            progress=not a.no_progress)
        except SweepLockedError as e:  # a usage error here: one line, exit 2
            raise ValueError(str(e)) from None
        return {"out": str(spec.out), "task": spec.task, "points": spec.n_points, "tasks": spec.n_tasks,
                "computed": len(res.computed), "missing": len(res.missing)}
    if a.command == "transformer":
        try:
            from .transformer.cli import run
            return run(a)
        except ImportError as e:
            raise ValueError(f"transformer: needs torch; install it with pip install -e '.[transformer]' ({e})")
    raise ValueError(f"command: unknown {a.command!r}")


def _pretrain_steps(a):
    """--pretrain-steps: 0 means the exact regularised optimum (None in the library)."""
    return None if a.pretrain_steps == 0 else a.pretrain_steps


def _warn_unconverged(res: dict) -> None:
    """One line on stderr when a head stopped far from convergence (T < 10/lambda)."""
    if isinstance(res, dict) and res.get("converged") is False:
        print(f"warning: not converged: head(s) {', '.join(res.get('unconverged_heads', []))} took fewer than "
              f"10/lambda steps (see 'head_steps'/'steps_needed' in --json); the result still "
              f"remembers its start", file=sys.stderr)


class NonFiniteResult(ArithmeticError):
    """A result that is NaN or infinite where a finite number was promised (never printed silently)."""


def _jsonable(o, path="result"):
    """``o`` with numpy scalars and arrays as JSON types; NonFiniteResult names the first NaN/inf."""
    if isinstance(o, dict):
        return {k: _jsonable(v, f"{path}.{k}") for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_jsonable(v, f"{path}[{i}]") for i, v in enumerate(o)]
    if isinstance(o, np.ndarray):
        return _jsonable(o.tolist(), path)
    if isinstance(o, (np.floating, float)):
        if not np.isfinite(o):
            raise NonFiniteResult(f"{path} is {float(o)}")
        return float(o)
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, np.bool_):
        return bool(o)
    return o


def _table(res: dict) -> str:
    """A short readable table, values spelled as in JSON (null, true): scalars as they are, series
    shortened to their first and last values (saying how many are left out), objects flattened one level."""
    rows = []
    for k, v in res.items():
        if k in ("bounds",):
            continue
        if k == "exceedances":
            b = res.get("bounds", {})
            inf = [n for n, r in b.items() if isinstance(r.get("bound"), str)]
            v = (", ".join(e["bound"] for e in v) + " exceeded" if v else
                 f"none of the {len(b) - len(inf)} finite Prop 1-3 bounds is exceeded")
            if inf:
                v += f"; {len(inf)} bounds are infinite ({', '.join(inf)}: {b[inf[0]]['bound']})"
        elif isinstance(v, dict):
            v = ", ".join(f"{kk}={_fmt(vv)}" for kk, vv in v.items())
        else:
            v = _fmt(v)
        rows.append((k, v))
    w = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{w}}  {v}" for k, v in rows)


#: a series longer than HEAD + TAIL values is shown as its first HEAD and last TAIL values
_HEAD, _TAIL = 8, 4


def _fmt(v):
    """One value as the table shows it: JSON's spellings (null, true, false), floats to 6 digits."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_fmt(x)}" for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple)):
        if len(v) <= _HEAD + _TAIL:
            return "[" + ", ".join(map(_fmt, v)) + "]"
        cut = len(v) - _HEAD - _TAIL
        return ("[" + ", ".join(map(_fmt, v[:_HEAD])) + f", ... ({cut} more; --json for all) ..., "
                + ", ".join(map(_fmt, v[-_TAIL:])) + "]")
    return str(v)


# library argument names that the CLI spells differently
_ALIASES = {"n_steps": "steps", "n_rounds": "rounds", "n": "samples"}


def _option_names(parser, argv) -> dict:
    """dest -> option string (``p_cot`` -> ``--p-cot``) of the sub-command in argv."""
    out = {}
    for act in parser._actions:  # argparse has no public accessor for these
        if isinstance(act, argparse._SubParsersAction):
            sp = act.choices.get(argv[0]) if argv else None
            if sp is not None:
                out.update(_option_names(sp, argv[1:]))
        elif act.option_strings:
            out[act.dest] = act.option_strings[-1]
    return out


def _one_line(e: BaseException, names: dict) -> str:
    """The first line of an error, its leading ``name:`` spelled as the CLI option (``--p-cot:``)."""
    msg = str(e).splitlines()[0] if str(e).strip() else type(e).__name__
    head, sep, rest = msg.partition(":")
    key = _ALIASES.get(head.strip(), head.strip())
    if sep and key in names and not head.startswith("-"):
        msg = f"{names[key]}:{rest}"
    return msg


class _Heartbeat:
    """Progress on stderr for work estimated beyond a few seconds: elapsed and estimated time.

    Used for the commands whose library call has no progress bar of its own (STaR, policy gradient,
    the closed-form and exact routes); only when stderr is a terminal.
    """

    def __init__(self, what: str, estimate: float, enabled: bool):
        self.what, self.estimate = what, estimate
        self.enabled = enabled and estimate > 3.0 and sys.stderr.isatty()
        self._stop = threading.Event()

    def __enter__(self):
        if self.enabled:
            self._t0 = time.monotonic()
            self._thread = threading.Thread(target=self._beat, daemon=True)
            self._thread.start()
        return self

    def _beat(self):
        while not self._stop.wait(1.0):
            el = time.monotonic() - self._t0
            sys.stderr.write(f"\r{self.what}: {fmt_seconds(el)} elapsed, about {fmt_seconds(self.estimate)} "
                             "estimated ")
            sys.stderr.flush()

    def __exit__(self, *exc):
        if self.enabled:
            self._stop.set()
            self._thread.join()
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()
        return False


def _has_own_progress(a) -> bool:
    return (a.command == "pretrain" and a.method in ("sgd", "exact")) or a.command in ("star", "samples",
                                                                                        "transformer")


def main(argv=None) -> int:
    """Run the CLI; returns the exit status (0 done, 2 bad input or unusable output, 1 internal error).

    Every failure is one line on stderr, never a traceback (``LINPARITY_TRACEBACK=1`` re-raises
    internal errors for debugging). Numerical warnings are recorded, not printed: a result that is
    still finite is printed, a NaN or infinite one is an error naming the key.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    names: dict = {}
    try:
        parser = build_parser(with_transformer="transformer" in argv[:1])
        names = _option_names(parser, argv)
        a = parser.parse_args(argv)
        check_stdout()
        est = _work(a)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with _Heartbeat(a.command, est, not _has_own_progress(a)):
                res = _run(a)
            try:
                res = _jsonable(res)
            except NonFiniteResult as e:
                why = next((f"; {w.category.__name__}: {w.message}" for w in caught
                            if issubclass(w.category, RuntimeWarning)), "")
                raise NonFiniteResult(f"result: {e} (a numerical failure{why})") from None
        _warn_unconverged(res)
    except (ValueError, OSError, MemoryError) as e:  # bad input, a file or stdout, or no memory
        msg = _one_line(e, names)
        if isinstance(e, MemoryError):
            msg = f"memory: the requested work does not fit in memory ({msg}); lower the sizes"
        print(f"error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # an internal error: still one line, and the way to see more
        if os.environ.get("LINPARITY_TRACEBACK"):
            raise
        print(f"error: internal error {type(e).__name__}: {_one_line(e, names)} "
              "(set LINPARITY_TRACEBACK=1 for the traceback, and please report it)", file=sys.stderr)
        return 1
    try:
        print(json.dumps(res, allow_nan=False) if getattr(a, "json", False) else _table(res))
        sys.stdout.flush()
    except BrokenPipeError:  # e.g. piped into head: the reader left, nothing more to say
        sys.stderr.close()
    except OSError as e:
        print(f"error: stdout: cannot write the result ({e.strerror or e})", file=sys.stderr)
        return 2
    return 0
