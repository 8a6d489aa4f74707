"""Argument checks and random-number conventions shared by every module.

Every public function that draws random numbers takes ``rng`` following numpy SPEC 7:
None, an int, a :class:`numpy.random.SeedSequence`, a BitGenerator or a
:class:`numpy.random.Generator`. No module keeps global random state.
"""
from __future__ import annotations

import numbers

import numpy as np

from ._validate import INT_MAX

__all__ = ["as_generator", "spawn", "check_d", "check_prob", "check_positive",
           "check_nonneg", "check_int", "check_temperature"]


def as_generator(rng=None) -> np.random.Generator:
    """Return a Generator for ``rng`` (None, int, SeedSequence, BitGenerator or Generator)."""
    if isinstance(rng, np.random.RandomState):
        raise ValueError("rng: a legacy RandomState is not accepted; pass None, an int, "
                         "a SeedSequence or a Generator (numpy SPEC 7)")
    if isinstance(rng, (bool, np.bool_)):
        raise ValueError(f"rng: must be None, an int >= 0, a SeedSequence or a Generator, got {rng!r}")
    try:
        return np.random.default_rng(rng)
    except (TypeError, ValueError) as e:  # a str, a float, a negative int, ...
        raise ValueError(f"rng: must be None, an int >= 0, a SeedSequence or a Generator, "
                         f"got {str(rng)[:40]!r} ({e})") from None


def spawn(rng, n: int) -> list[np.random.Generator]:
    """``n`` independent child Generators of ``rng`` (``SeedSequence.spawn`` underneath).

    Child ``i`` is the same whatever the number of workers that later consume the children,
    so results that use child ``i`` for task ``i`` never depend on parallelism.
    """
    n = check_int("n", n, 0)
    if isinstance(rng, np.random.SeedSequence):
        return [np.random.default_rng(s) for s in rng.spawn(n)]
    return as_generator(rng).spawn(n)


def _is_int(x) -> bool:
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


def check_int(name: str, value, lo: int | None = None, hi: int | None = None) -> int:
    """``value`` as an int in [lo, hi]; ValueError naming ``name`` otherwise.

    ``hi`` None means :data:`linparity._validate.INT_MAX` (2^53): every count is bounded before
    anything is allocated, so no later product overflows int64 (numba, numpy) silently.
    """
    hi = INT_MAX if hi is None else hi
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not _is_int(value):
        raise ValueError(f"{name}: must be an integer in {_range(lo, hi)}, got {repr(value)[:40]}")
    value = int(value)
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        shown = str(value) if abs(value) < 10 ** 30 else f"{str(value)[:12]}... ({len(str(abs(value)))} digits)"
        raise ValueError(f"{name}: must be an integer in {_range(lo, hi)}, got {shown}")
    return value


def _range(lo, hi) -> str:
    return f"[{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}]"


def check_d(d, lo: int = 2, hi: int | None = None) -> int:
    """The number of bits d, an integer >= 2 (THEORY §1)."""
    return check_int("d", d, lo, hi)


def check_prob(name: str, p) -> float:
    """A probability in the closed interval [0, 1]."""
    try:
        p = float(p)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: must be a number in [0, 1], got {p!r}") from None
    if not 0.0 <= p <= 1.0:  # also rejects nan
        raise ValueError(f"{name}: must be in [0, 1], got {p}")
    return p


def check_positive(name: str, x) -> float:
    """A finite number > 0 (a regularisation strength, a learning rate)."""
    try:
        x = float(x)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: must be a finite number > 0, got {x!r}") from None
    if not (np.isfinite(x) and x > 0):
        raise ValueError(f"{name}: must be a finite number > 0, got {x}")
    return x


def check_nonneg(name: str, x) -> float:
    """A finite number >= 0."""
    try:
        x = float(x)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: must be a finite number >= 0, got {x!r}") from None
    if not (np.isfinite(x) and x >= 0):
        raise ValueError(f"{name}: must be a finite number >= 0, got {x}")
    return x


def check_temperature(tau) -> float:
    """The sampling temperature tau > 0 (THEORY §2)."""
    return check_positive("temperature", tau)
