"""A generic, resumable, seed-stable parameter-sweep engine.

A sweep runs one registered *task* over a grid of parameter points, ``replicates`` times per
point. The engine knows no model maths; the modules of :mod:`linparity.experiments` register
their tasks with :func:`register_task`, and the figure modules describe their grids with a
:class:`SweepSpec`.

Modules
-------
:mod:`~linparity.sweep.registry`
    The task registry (:data:`TASKS`, :data:`CHECKS`, :func:`register_task`) and the demo task.
:mod:`~linparity.sweep.spec`
    :class:`SweepSpec`, its ordered tasks and their seeds, spec files (:func:`load_spec`).
:mod:`~linparity.sweep.store`
    Checksummed atomic storage of each task's results, the checks on resume, the folder lock.
:mod:`~linparity.sweep.run`
    :func:`run_sweep` and its backends (this process, joblib, Dask).
:mod:`~linparity.sweep.results`
    :func:`load_results`, :class:`SweepResult` and the summaries of ``sweep --show``.

Everything public is importable from ``linparity.sweep`` itself.
"""
from .registry import CHECKS, TASKS, check_lam_param, check_param_names, get_task, register_task
from .results import SweepResult, load_results, summary_by_task, summary_rows, summary_table
from .run import BACKENDS, run_sweep
from .spec import MAX_TASKS, SweepSpec, TaskInfo, load_spec
from .store import CORRUPT_DIR, CorruptResultError, SweepLockedError

__all__ = ["TASKS", "register_task", "get_task", "SweepSpec", "TaskInfo", "SweepResult",
           "load_spec", "run_sweep", "load_results", "summary_rows", "summary_table", "summary_by_task",
           "BACKENDS", "CHECKS", "check_param_names", "check_lam_param", "CorruptResultError", "SweepLockedError", "CORRUPT_DIR", "MAX_TASKS"]
