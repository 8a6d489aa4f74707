"""The task registry of the sweep engine: task functions and their parameter checks, by name.

The modules of :mod:`linparity.experiments` register their tasks here with :func:`register_task`;
a :class:`~linparity.sweep.SweepSpec` names one in its ``task`` field.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from .._checks import check_int

#: registered task functions ``f(params: dict, rng: np.random.Generator) -> dict``, by name
TASKS: dict[str, Callable[[dict, np.random.Generator], Mapping]] = {}
#: optional checks of a task's parameters ``check(params)`` (ValueError when a point is bad), by task name;
#: :func:`~linparity.sweep.run_sweep` runs them on every point before any task runs
CHECKS: dict[str, Callable[[dict], None]] = {}


def register_task(name: str, check: Callable[[dict], None] | None = None):
    """Decorator registering ``f(params, rng) -> dict[str, ndarray | float]`` under ``name``.

    Registering a second, different function under a taken name raises ValueError; registering
    the same function again (or a reloaded module's function of the same qualified name)
    replaces the entry.

    Parameters
    ----------
    name : str
        The name a :class:`SweepSpec` uses in its ``task`` field.
    check : callable, optional
        ``check(params)`` raises ValueError for a point the task would refuse (an unknown
        parameter, a value out of range, work that does not fit); :func:`run_sweep` calls it on
        every point before any task runs, so a bad point late in a grid costs no work.

    Returns
    -------
    decorator
        Registers the function in :data:`TASKS` and returns it unchanged. The function receives
        a fresh copy of the point's parameter dict and its own Generator, and returns a dict of
        arrays (or scalars, stored as 0-d arrays); object arrays are refused.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"name: a task name must be a non-empty string, got {name!r}")

    def decorator(func):
        if not callable(func):
            raise ValueError(f"register_task({name!r}): expected a callable, got {func!r}")
        old = TASKS.get(name)
        if old is not None and old is not func and qualname(old) != qualname(func):
            raise ValueError(f"task: the name {name!r} is already registered to "
                             f"{qualname(old)}; cannot register {qualname(func)}")
        TASKS[name] = func
        if check is not None:
            CHECKS[name] = check
        else:
            CHECKS.pop(name, None)
        return func

    return decorator


def check_param_names(params: Mapping, required, optional=()) -> None:
    """ValueError naming ``params``'s unknown or missing names (for a task's ``check``): a misspelt
    parameter would otherwise be ignored silently and its default used."""
    unknown = sorted(set(params) - set(required) - set(optional))
    missing = [k for k in required if k not in params]
    if unknown or missing:
        raise ValueError(f"params: {'unknown' if unknown else 'missing'} parameter(s) {unknown or missing}; the "
                         f"task takes {', '.join(required)}" + (f" and optionally {', '.join(optional)}" if optional else ""))


def check_lam_param(value) -> tuple:
    """A spec's ``lam``: a list of 3 positive lambdas (head 1, stop, chain), as :func:`heads.lam_triple`
    reads them; ValueError naming ``lam`` otherwise (a scalar would silently mean all three)."""
    from ..heads import lam_triple
    if not isinstance(value, (list, tuple)) or len(value) != 3:
        raise ValueError(f"lam: must be a list of 3 lambdas (head 1, stop, chain), got {value!r}")
    return lam_triple(value, positive=True)


def qualname(func) -> str:
    """``module.qualname`` of a function, for messages and for telling a re-registration apart."""
    return f"{getattr(func, '__module__', '?')}.{getattr(func, '__qualname__', repr(func))}"


def get_task(name: str) -> Callable:
    """The task registered under ``name``; ValueError listing the registered names otherwise."""
    try:
        return TASKS[name]
    except (KeyError, TypeError):
        raise ValueError(f"task: unknown task {name!r}; registered tasks are {sorted(TASKS)} "
                         "(a spec can list modules that register tasks in 'imports')") from None


@register_task("demo")
def _demo_task(params: dict, rng: np.random.Generator) -> dict:
    """Built-in demonstration task: ``n`` draws of N(mu, 1) and their sample mean.

    Parameters ``n`` (int >= 1, default 4) and ``mu`` (float, default 0). Returns ``x`` of
    shape ``(n,)`` and the float ``mean``.
    """
    n = check_int("n", params.get("n", 4), 1)
    x = rng.normal(float(params.get("mu", 0.0)), 1.0, size=n)  # (n,)
    return {"x": x, "mean": float(x.mean())}

