"""Running a sweep: :func:`run_sweep` and its backends (this process, local processes with joblib, a
Dask cluster).

Every task draws from its own Generator, ``default_rng(SeedSequence(seed, spawn_key=(i,)))``, so
its numbers do not depend on the backend, ``jobs`` or the order in which tasks finish
(:mod:`linparity.sweep.spec`); results are stored by this process as they arrive
(:mod:`linparity.sweep.store`).
"""
from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .._checks import check_int
from .._io import TMP_PREFIX, atomic_write
from .._progress import Progress
from .registry import CHECKS, get_task, qualname
from .results import SweepResult, load_stored
from .spec import SweepSpec, load_spec, one_line
from .store import (SPEC_FILE, check_result, check_same_sweep, holds_spec, inspect_task, locked, move_aside,
                    prepare_out, store_task, write_json)

#: the parallel backends accepted by :func:`run_sweep`
BACKENDS = ("joblib", "dask")


def _execute(func: Callable, params: dict, entropy: int, spawn_key: tuple[int, ...]):
    """Run one task with its own Generator; returns ``(result, seconds)``. Runs on workers."""
    rng = np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=spawn_key))
    start = time.perf_counter()
    try:
        result = func(dict(params), rng)
    except KeyError as exc:  # the spec's point lacks a parameter the task reads
        name = exc.args[0] if len(exc.args) == 1 else None
        if not isinstance(name, str) or name in params:
            raise
        raise ValueError(f"params: task {qualname(func)} needs the parameter {name!r}, which "
                         f"the point {params} does not give") from exc
    except TypeError as exc:  # most often a parameter of the wrong type (a number for a list)
        raise ValueError(f"params: task {qualname(func)} failed on the point {params} with "
                         f"TypeError: {one_line(exc)} (is a parameter of the wrong type?)"
                         ) from exc
    return result, time.perf_counter() - start


def _iter_serial(func, todo):
    for task in todo:
        yield task, _execute(func, task.params, task.entropy, task.spawn_key)


def _iter_joblib(func, todo, jobs):
    from joblib import Parallel, delayed

    def call(task):  # returns the task with its outcome, since results arrive unordered
        return task, _execute(func, task.params, task.entropy, task.spawn_key)

    try:
        parallel = Parallel(n_jobs=jobs, return_as="generator_unordered")
    except ValueError:  # joblib < 1.4: ordered generator
        parallel = Parallel(n_jobs=jobs, return_as="generator")
    yield from parallel(delayed(call)(task) for task in todo)


def _iter_dask(func, todo, scheduler):
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise ImportError("backend='dask' needs dask.distributed: pip install "
                          "'linparity[cluster]' (dask[distributed])") from None
    own = not isinstance(scheduler, Client)
    client = Client(scheduler) if own else scheduler
    run_id = uuid.uuid4().hex[:8]  # fresh keys: never collide with an earlier run's futures
    pending = {}  # dask key -> (future, task); entries leave as results are stored
    try:
        for task in todo:
            fut = client.submit(_execute, func, task.params, task.entropy, task.spawn_key,
                                key=f"linparity-sweep-{task.key}-{run_id}", pure=False)
            pending[fut.key] = (fut, task)
        for fut in as_completed([f for f, _ in pending.values()]):
            _, task = pending.pop(fut.key)
            yield task, fut.result()
            fut.release()
    finally:
        for fut, _ in pending.values():
            fut.cancel()
        if own:
            client.close()



def run_sweep(spec: SweepSpec | str | Path, jobs: int = 1, backend: str = "joblib",
              scheduler=None, progress: bool = True) -> SweepResult:
    """Run (or resume) a sweep and return all its results.

    Every task not already complete in ``spec.out`` is computed as
    ``TASKS[spec.task](params, default_rng(SeedSequence(spec.seed, spawn_key=(i,))))`` and
    stored atomically as it finishes; finished tasks found on disk are not recomputed.

    Parameters
    ----------
    spec : SweepSpec or path
        The sweep, or a .json/.toml file for :func:`load_spec`.
    jobs : int
        Local worker processes for ``backend="joblib"``, in [1, os.cpu_count()] (joblib convention:
        -1 = all cores, -2 all but one, ...); 1 runs in this process; never more processes than
        tasks to run. Ignored by ``backend="dask"``.
    backend : {"joblib", "dask"}
        Where tasks run: local cores, or a Dask distributed cluster (extra ``cluster``).
    scheduler : str, distributed.Client or cluster, optional
        For ``backend="dask"``: a scheduler address such as ``"tcp://host:8786"``, a cluster
        object, or a Client (used as is, not closed). Required for the dask backend.
    progress : bool
        Show progress over tasks on stderr (:class:`linparity._progress.Progress`).

    Returns
    -------
    SweepResult
        All points and replicates, loaded from ``spec.out``; ``computed`` lists the task keys
        computed by this call.

    Raises
    ------
    ValueError
        Bad arguments or spec; ``out`` an existing file, or not creatable / writable (checked
        before anything is computed); ``out`` holding results of another spec (see
        :mod:`linparity.sweep.store`); ``jobs`` outside [-cores, cores] or 0; dask.distributed missing for
        ``backend="dask"``; a task reading a parameter its point lacks (KeyError) or failing with
        a TypeError.
    SweepLockedError
        Another sweep holds ``<out>/.lock``; the message names the holder (pid, host, start).

    Notes
    -----
    Stored tasks that fail their checks (see :mod:`linparity.sweep.store`) are moved to
    ``<out>/corrupt/``, reported in one line each on stderr, and recomputed; seeds depend only
    on the task index, so the recomputed numbers equal the lost ones.
    """
    if not isinstance(spec, SweepSpec):
        if isinstance(spec, (str, os.PathLike)):
            spec = load_spec(spec)
        else:
            raise ValueError(f"spec: expected a SweepSpec or a spec file path, got {spec!r}")
    if backend not in BACKENDS:
        raise ValueError(f"backend: must be one of {BACKENDS}, got {backend!r}")
    cores = os.cpu_count() or 1
    jobs = check_int("jobs", jobs, -cores, cores)
    if jobs == 0:
        raise ValueError(f"jobs: must be in [1, {cores}] (the cores), or in [-{cores}, -1] for all cores "
                         "(-1) minus some; got 0")
    jobs = jobs if jobs > 0 else cores + 1 + jobs
    if backend == "dask":
        try:
            import distributed  # noqa: F401
        except ImportError:
            raise ValueError("backend: 'dask' needs dask.distributed, which is not installed; "
                             "pip install 'linparity[cluster]' (dask[distributed])") from None
        if scheduler is None:
            raise ValueError("scheduler: backend='dask' needs a scheduler address (e.g. "
                             "tcp://HOST:8786), cluster or Client")
    if backend == "joblib" and scheduler is not None:
        raise ValueError("scheduler: only used with backend='dask'")
    func = get_task(spec.task)
    check = CHECKS.get(spec.task)
    if check is not None:   # every point, before the folder is touched or a task runs
        for j, params in enumerate(spec.point_list()):
            try:
                check(dict(params))
            except ValueError as exc:
                raise ValueError(f"points: point {j} {params} of task {spec.task!r}: {one_line(exc)}") from None

    out = spec.out
    prepare_out(out)  # before anything is computed
    computed = []
    with locked(out):
        for leftover in out.glob(TMP_PREFIX + "*"):  # from an interrupted write; we hold the lock
            with contextlib.suppress(OSError):
                leftover.unlink()
        tasks = spec.tasks()
        check_same_sweep(out, tasks)
        if not holds_spec(out / SPEC_FILE, spec):
            atomic_write(out / SPEC_FILE, lambda fh: write_json(fh, spec.to_dict()))
        todo = []
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        for task in tasks:
            found = inspect_task(out, task)
            if found.status != "ok":
                if found.status != "absent":  # corrupt or incomplete: keep it, out of the way
                    move_aside(out, task, found, stamp)
                todo.append(task)

        bar = Progress(len(tasks), f"sweep {spec.task}", "tasks", progress, initial=len(tasks) - len(todo))
        if not todo:
            stream = iter(())
        elif backend == "dask":
            stream = _iter_dask(func, todo, scheduler)
        elif jobs == 1 or len(todo) == 1:
            stream = _iter_serial(func, todo)
        else:  # never more worker processes than tasks to run
            stream = _iter_joblib(func, todo, min(jobs, len(todo)))
        try:
            for task, (result, elapsed) in stream:
                store_task(spec, out, task, check_result(task, result), elapsed)
                computed.append(task.key)
                bar.update(1)
        except BaseException as exc:
            if hasattr(exc, "add_note"):
                exc.add_note(f"linparity.sweep: {len(computed)} task(s) stored in {str(out)!r} "
                             "before the failure; rerunning resumes from there")
            raise
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()
            bar.close()
    result = load_stored(spec, out, allow_missing=False)
    result.computed = computed
    return result

