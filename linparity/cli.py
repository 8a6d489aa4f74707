"""Command line: ``python -m linparity {pretrain,star,pg,samples,sweep,transformer} ...``.

Parsing and printing only; every computation lives in the library. Bad input (a ValueError from
the library, or an argparse error) prints one line on stderr and exits with status 2.
"""
from __future__ import annotations

import argparse
import json
import sys

import numpy as np

__all__ = ["main", "build_parser"]


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line on stderr and exit status 2."""

    def error(self, message):
        raise ValueError(f"{self.prog}: {message}")


def _common(p):
    p.add_argument("--d", type=int, required=True, help="number of input bits d >= 2")
    p.add_argument("--p-cot", type=float, required=True, help="probability of a long response, in [0, 1]")
    p.add_argument("--lam", type=float, default=0.01, help="L2 strength of every head (> 0; default 0.01)")
    p.add_argument("--lam1", type=float, help="head 1 L2 strength (default: --lam)")
    p.add_argument("--lam2a", type=float, help="stop head L2 strength (default: --lam)")
    p.add_argument("--lam-chain", type=float, help="chain heads' L2 strength (default: --lam)")
    p.add_argument("--replicates", type=int, default=1, help="independent replicates R >= 1")
    p.add_argument("--seed", type=int, default=0, help="root seed (SeedSequence entropy)")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def _noise_args(p):
    p.add_argument("--noise", type=float, default=0.0,
                   help="rate eps_n in [0, 1] of corrupted long demonstrations in pre-training (THEORY §8; default 0)")
    p.add_argument("--noise-kind", default="final",
                   help="final (flip s_d) | carried (flip s_j at a uniform j, later steps follow it); default final")


def _rl_start_args(p):
    p.add_argument("--pretrain-steps", type=int, default=100_000,
                   help="Algorithm 3 samples before RL (0: start from the exact regularised NTP optimum)")


def build_parser(with_transformer: bool = True) -> argparse.ArgumentParser:
    """The argument parser; ``with_transformer=False`` skips importing torch (slow) for other commands."""
    ap = _Parser(prog="linparity", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("pretrain", help="next-token pre-training and Theorem 1 measurements")
    _common(p)
    p.add_argument("--method", default="sgd", help="sgd | closed-form | exact (default sgd)")
    p.add_argument("--steps", type=int, default=100_000,
                   help="samples T (default 100000); with --method exact, population steps (~20 ms each at d = 12)")
    p.add_argument("--T1", type=int, help="head 1 step limit (default: --steps)")
    p.add_argument("--T2a", type=int, help="stop head step limit (default: --steps)")
    p.add_argument("--T-chain", type=int, help="chain heads' step limit in long samples (default: all)")
    p.add_argument("--delta", type=float, default=0.1, help="failure probability in the bounds")
    _noise_args(p)

    p = sub.add_parser("star", help="STaR post-training (Algorithm 1) and Theorem 2")
    _common(p)
    p.add_argument("--rounds", type=int, required=True, help="number of STaR rounds")
    p.add_argument("--samples", type=int, required=True, help="fresh inputs N per round")
    p.add_argument("--reward", default="cot", help="cot | e2e")
    p.add_argument("--temperature", type=float, default=1.0, help="sampling temperature tau > 0")
    from .commands import STAR_VARIANT_HELP
    p.add_argument("--variant", default="continue", help=STAR_VARIANT_HELP)
    p.add_argument("--epochs", type=int, default=2, help="continue: epochs E over the kept set (default 2)")
    p.add_argument("--lr", type=float, default=0.05, help="continue: constant NTP step size (default 0.05)")
    p.add_argument("--batch-size", type=int, default=1,
                   help="continue: kept pairs per gradient step (default 1: one step per kept pair, Algorithm 1)")
    _rl_start_args(p)
    p.add_argument("--method", default="sgd",
                   help="sgd (simulate) | closed-form (exact map, reduced coordinates) | exact (the map on full "
                        "weights by enumeration, d <= 12, reward cot); both population methods are 'refit'")
    _noise_args(p)

    p = sub.add_parser("pg", help="policy-gradient post-training (REINFORCE, GRPO)")
    _common(p)
    p.add_argument("--algo", default="reinforce", help="reinforce | grpo")
    p.add_argument("--steps", type=int, required=True, help="policy-gradient steps")
    p.add_argument("--lr", type=float, default=1.0, help="learning rate > 0")
    p.add_argument("--batch-size", type=int, default=256, help="inputs per step")
    p.add_argument("--group-size", type=int, default=8, help="GRPO responses per input G >= 2")
    p.add_argument("--reward", default="cot", help="cot | e2e")
    p.add_argument("--temperature", type=float, default=1.0, help="sampling temperature tau > 0")
    p.add_argument("--no-baseline", action="store_true", help="REINFORCE without the running-mean baseline")
    _rl_start_args(p)
    p.add_argument("--method", default="sgd",
                   help="sgd (simulate) | closed-form (expected dynamics, reduced coordinates) | exact (expected "
                        "REINFORCE ascent on full weights by enumeration, d <= 12)")
    p.add_argument("--length-penalty", type=float, default=0.0, metavar="BETA",
                   help="reward r - BETA (|y| - 2)/(d - 1), BETA >= 0 (THEORY §8; default 0); the JSON gives the "
                        "exact threshold length_penalty_threshold at the start")
    _noise_args(p)

    p = sub.add_parser("samples", help="sample complexity: smallest budget at which >= 90%% of replicates generalise")
    p.add_argument("--d", type=int, required=True, help="number of input bits d >= 3")
    p.add_argument("--p-cot", type=float, required=True, help="probability of a long response, in (0, 1]")
    p.add_argument("--route", default="full", help="full (full weights, simulated) | stats (sufficient statistics)")
    p.add_argument("--variant", help="STaR variant of --route full: continue (default) | refit")
    p.add_argument("--replicates", type=int, default=10, help="replicates R >= 1 per budget (default 10)")
    p.add_argument("--seed", type=int, default=0, help="root seed (SeedSequence entropy)")
    p.add_argument("--n-max", type=int, help="STaR round limit (default n*(p) + 10)")
    p.add_argument("--b0", type=int, default=8, help="first budget of the doubling search (default 8)")
    p.add_argument("--cap", type=int, default=2 ** 20, help="largest budget (default 2^20)")
    p.add_argument("--json", action="store_true", help="print one JSON object")

    p = sub.add_parser("sweep", help="run a sweep specification (JSON or TOML), or --show its results")
    p.add_argument("spec", nargs="?", help="path of the sweep specification (.toml or .json)")
    p.add_argument("--show", metavar="DIR", help="print the finished tasks of the sweep in DIR instead of running")
    p.add_argument("--jobs", type=int, default=1, help="local worker processes")
    p.add_argument("--backend", default="joblib", help="joblib | dask")
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
        add_subparser(sub)
    return ap


def _lams(a):
    return {"lam": a.lam, "lam1": a.lam1, "lam2a": a.lam2a, "lam_chain": a.lam_chain}


def _run(a) -> dict:
    if a.command == "pretrain":
        from .commands import pretrain_summary
        return pretrain_summary(a.d, a.p_cot, a.method, a.steps, **_lams(a), T1=a.T1, T2a=a.T2a,
                                T_chain=a.T_chain, replicates=a.replicates, seed=a.seed, delta=a.delta,
                                progress=not a.json and sys.stderr.isatty(), noise=a.noise,
                                noise_kind=a.noise_kind)
    if a.command == "star":
        from .commands import star_command

        def progress(n, total):
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

        from .sweep import SweepLockedError, load_results, load_spec, run_sweep, summary_rows, summary_table
        if (a.spec is None) == (a.show is None):
            raise ValueError("sweep: give a spec file to run, or --show DIR to read results (not both)")
        if a.show is not None:
            sw = load_results(a.show, allow_missing=True)
            n_done = sw.spec.n_tasks - len(sw.missing)
            head = {"out": a.show, "task": sw.spec.task, "tasks": sw.spec.n_tasks, "finished": n_done}
            if a.json:
                return {**head, "missing": sw.missing, "results": summary_rows(sw)}
            lines = summary_table(sw)  # the first cell of each line becomes the key column
            return {**head, **{ln.split(" ", 1)[0]: ln.split(" ", 1)[1].lstrip() for ln in lines if " " in ln}}
        spec = load_spec(a.spec)
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
    if a.pretrain_steps is not None and a.pretrain_steps < 0:
        raise ValueError(f"--pretrain-steps: must be >= 0 (0: start from the optimum), got {a.pretrain_steps}")
    return None if a.pretrain_steps == 0 else a.pretrain_steps


def _warn_unconverged(res: dict) -> None:
    """One line on stderr when a head stopped far from convergence (T < 10/lambda)."""
    if isinstance(res, dict) and res.get("converged") is False:
        print(f"warning: not converged: head(s) {', '.join(res.get('unconverged_heads', []))} took fewer than "
              f"10/lambda steps (see 'head_steps'/'steps_needed' in --json); the result still "
              f"remembers its start", file=sys.stderr)


def _lam_tuple(a):
    """(lam1, lam2a, lam_chain) from --lam and the per-head overrides."""
    return tuple(a.lam if o is None else o for o in (a.lam1, a.lam2a, a.lam_chain))


def _jsonable(o):
    if isinstance(o, dict):
        return {k: _jsonable(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_jsonable(v) for v in o]
    if isinstance(o, np.ndarray):
        return _jsonable(o.tolist())
    if isinstance(o, (np.floating, float)):
        return None if not np.isfinite(o) else float(o)
    if isinstance(o, np.integer):
        return int(o)
    return o


def _table(res: dict) -> str:
    """A short readable table: scalars first, then arrays (rounded), nested objects flattened one level."""
    rows = []
    for k, v in res.items():
        if k in ("bounds",):
            continue
        if isinstance(v, dict):
            v = ", ".join(f"{kk}={_fmt(vv)}" for kk, vv in v.items() if not isinstance(vv, (dict, list)))
        elif isinstance(v, list):
            v = "[" + ", ".join(_fmt(x) for x in v[:12]) + (", ..." if len(v) > 12 else "") + "]"
        else:
            v = _fmt(v)
        rows.append((k, v))
    w = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{w}}  {v}" for k, v in rows)


def _fmt(v):
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_fmt(x)}" for k, x in v.items()) + "}"
    return str(v)


def main(argv=None) -> int:
    try:
        argv = sys.argv[1:] if argv is None else list(argv)
        a = build_parser(with_transformer="transformer" in argv[:1]).parse_args(argv)
        res = _jsonable(_run(a))
        _warn_unconverged(res)
    except (ValueError, OSError) as e:  # bad input: a bad value, or a file that cannot be read
        print(f"error: {str(e).splitlines()[0] if str(e) else type(e).__name__}", file=sys.stderr)
        return 2
    try:
        print(json.dumps(res) if getattr(a, "json", False) else _table(res))
    except BrokenPipeError:  # e.g. piped into head: the reader left, nothing more to say
        sys.stderr.close()
    return 0
