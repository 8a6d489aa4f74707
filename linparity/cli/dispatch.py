"""The CLI's dispatch: the checks between options, the work estimate, and the library call.

:func:`work` runs before any work (after parsing): the constraints between options (``--d`` for
the method), then the command's estimate (:mod:`linparity.cli.work`; ``samples`` and the
transformer bring their own), refusing work that does not fit with one line naming the option.
:func:`run` calls the library and returns the command's JSON-able result.
"""
from __future__ import annotations

import sys

import numpy as np

from .._validate import refuse_work
from ..data import MAX_ENUM_D
from ..heads import default_lam
from .work import check_work, cli_option

__all__ = ["work", "run", "has_own_progress"]


#: the figures' regularisation (THEORY §10): lam_chain must shrink like 1/d for calibration
def _lam_tuple(a):
    """(lam1, lam2a, lam_chain): per-head option, else --lam, else the figures' (0.01, 0.01, 0.01/d)."""
    defaults = default_lam(a.d)
    return tuple(o if o is not None else (a.lam if a.lam is not None else dflt)
                 for o, dflt in zip((a.lam1, a.lam2a, a.lam_chain), defaults))


def _samples_work(a) -> float:
    """Seconds estimated for ``samples`` (sizes and memory checked by the library, the time here)."""
    from ..experiments.samples import samples_work
    sec, drivers = samples_work(a.d, a.p_cot, a.route, a.replicates, a.n_max, a.b0, a.cap, option=_samples_option,
                                budgets=a.budgets, pretrain_samples=a.pretrain_samples, round_samples=a.round_samples)
    if not a.force:
        refuse_work(0.0, sec, sorted(drivers, key=lambda k: -drivers[k]), _samples_option,
                    what="the search (every budget tried, every round)")
    return sec


def _samples_option(name: str) -> str:
    """How ``samples`` spells an argument: ``budgets`` is ``--grid``, the others as :func:`cli_option`."""
    return "--grid" if name == "budgets" else cli_option(name)


def work(a) -> float:
    """Estimated seconds of the command's work; ValueError naming the option when it does not fit."""
    if a.command == "samples":
        return _samples_work(a)
    if a.command == "transformer":
        from ..transformer.cli import check_work as transformer_work
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


def run(a) -> dict:
    """The command's result from the library (a dict; :mod:`linparity.cli.output` prints it)."""
    progress = sys.stderr.isatty()   # progress goes to stderr: it never mixes with the JSON on stdout
    if a.command == "pretrain":
        from ..commands import pretrain_summary
        return pretrain_summary(a.d, a.p_cot, a.method, a.steps, _lam_tuple(a), T1=a.T1, T2a=a.T2a,
                                T_chain=a.T_chain, replicates=a.replicates, seed=a.seed, delta=a.delta,
                                progress=progress, noise=a.noise, noise_kind=a.noise_kind)
    if a.command == "star":
        from ..commands import star_command

        if a.samples is not None and a.method != "sgd":
            print(f"note: --samples is ignored by --method {a.method} (a population method draws no inputs)",
                  file=sys.stderr)
        return star_command(a.d, a.p_cot, a.rounds, a.samples, reward=a.reward, temperature=a.temperature,
                            variant=a.variant, pretrain_steps=_pretrain_steps(a), lam=_lam_tuple(a),
                            replicates=a.replicates, seed=a.seed, method=a.method, noise=a.noise,
                            noise_kind=a.noise_kind, progress=progress, epochs=a.epochs, lr=a.lr,
                            batch_size=a.batch_size)
    if a.command == "pg":
        from ..commands import pg_command
        return pg_command(a.algo, a.d, a.p_cot, a.steps, a.lr, batch_size=a.batch_size,
                          group_size=a.group_size, reward=a.reward, temperature=a.temperature,
                          baseline=not a.no_baseline, pretrain_steps=_pretrain_steps(a), lam=_lam_tuple(a),
                          replicates=a.replicates, seed=a.seed, method=a.method,
                          length_penalty=a.length_penalty, noise=a.noise, noise_kind=a.noise_kind)
    if a.command == "samples":
        from ..experiments.samples import samples_search
        return samples_search(a.d, a.p_cot, a.route, a.variant, _lam_tuple(a), a.replicates,
                              np.random.SeedSequence(a.seed), n_max=a.n_max, b0=a.b0, cap=a.cap, budgets=a.budgets,
                              pretrain_samples=a.pretrain_samples, round_samples=a.round_samples,
                              progress=progress) | {"seed": a.seed}
    if a.command == "sweep":
        import dataclasses

        from ..sweep import SweepLockedError, load_results, load_spec, run_sweep, summary_by_task, summary_rows
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
            from ..transformer.cli import run as transformer_run
            return transformer_run(a)
        except ImportError as e:
            raise ValueError(f"transformer: needs torch; install it with pip install -e '.[transformer]' ({e})")
    raise ValueError(f"command: unknown {a.command!r}")


def _pretrain_steps(a):
    """--pretrain-steps: 0 means the exact regularised optimum (None in the library)."""
    return None if a.pretrain_steps == 0 else a.pretrain_steps


def has_own_progress(a) -> bool:
    return (a.command == "pretrain" and a.method in ("sgd", "exact")) or a.command in ("star", "samples",
                                                                                        "transformer")
