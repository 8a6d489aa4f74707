"""The validation layer at the entry points: documented ranges, array checks and the work limits.

Three things live here, shared by the CLI (``linparity.cli``) and the public API:

* **Ranges.** Every number a user can pass has a documented range (:data:`RANGES`); integers are
  bounded by :data:`INT_MAX` before anything is allocated, floats must be finite and inside their
  range. Lambda is bounded to ``[LAM_MIN, LAM_MAX]``: below ``LAM_MIN`` the Pegasos step
  1/(lam k) and the closed-form root ``lam c = sigma(-c)`` leave double precision (at lam = 1e-300
  ``brentq`` does not converge; at 1e-320 the strength is subnormal), so such values are refused
  by name instead of returning NaN.
* **Arrays.** :func:`check_pm1` (inputs X: every entry +1 or -1), :func:`check_responses`
  (responses Y: short or long rows of +-1 bits then 0), :func:`check_finite_array` (weights).
* **Work limits.** :func:`max_bytes` (80% of ``MemAvailable``, env ``LINPARITY_MAX_BYTES``) and
  :func:`max_seconds` (:data:`MAX_SECONDS`, env ``LINPARITY_MAX_SECONDS``); :func:`check_alloc`
  refuses an allocation beyond the memory before it is made, and :func:`refuse_work` is the one
  refusal every work estimate shares (the CLI's linear commands: ``linparity.cli.work``; ``samples``;
  the transformer's ``linparity.transformer.limits``), one line naming the option that makes the
  work large. The simulation sizes its samples with :func:`star_round_bytes` and
  :func:`pg_step_bytes`.
"""
from __future__ import annotations

import io
import math
import os
import stat
import sys

import numpy as np

__all__ = ["INT_MAX", "LAM_MIN", "LAM_MAX", "MAX_ENUM_D", "RANGES", "MAX_SECONDS", "check_pm1", "check_responses",
           "check_finite_array", "check_finite_scalar", "check_type", "usage_message", "check_stdout", "check_lam",
           "available_memory", "max_seconds", "max_bytes", "check_alloc", "STAR_BYTES", "PG_BYTES",
           "star_round_bytes", "pg_step_bytes", "refuse_work", "fmt_bytes", "fmt_seconds"]

#: largest integer any count (d, steps, samples, replicates, ...) may take: exact in float64 and far
#: from int64 overflow, so no later product of two counts overflows before the work check refuses it
INT_MAX = 2 ** 53
#: documented range of every regularisation strength lambda (> 0 where the route needs it)
LAM_MIN, LAM_MAX = 1e-12, 1e12
#: largest d for which exact enumeration over all 2^d inputs is offered (re-exported by linparity.data)
MAX_ENUM_D = 12
#: work longer than this (estimated) is refused unless forced; env LINPARITY_MAX_SECONDS overrides
MAX_SECONDS = 3600.0

#: documented ranges of the CLI's numeric options: name -> (kind, lo, hi); shown in --help
RANGES = {
    "d": ("int", 2, INT_MAX), "replicates": ("int", 1, INT_MAX), "seed": ("int", 0, INT_MAX),
    "steps": ("int", 1, INT_MAX), "T1": ("int", 0, INT_MAX), "T2a": ("int", 0, INT_MAX),
    "T_chain": ("int", 0, INT_MAX), "rounds": ("int", 0, INT_MAX), "samples": ("int", 1, INT_MAX),
    "pretrain_steps": ("int", 0, INT_MAX), "batch_size": ("int", 1, INT_MAX), "epochs": ("int", 1, INT_MAX),
    "group_size": ("int", 2, INT_MAX), "pg_steps": ("int", 0, INT_MAX),
    "p_cot": ("float", 0.0, 1.0), "lam": ("float", LAM_MIN, LAM_MAX), "delta": ("float", 1e-100, 1.0),
    "temperature": ("float", 1e-3, 1e3), "lr": ("float", 1e-12, 1e6), "noise": ("float", 0.0, 1.0),
    "length_penalty": ("float", 0.0, 1e6),
    "n_max": ("int", 0, INT_MAX), "b0": ("int", 1, INT_MAX), "cap": ("int", 1, INT_MAX),
    "budgets": ("int", 1, INT_MAX), "pretrain_samples": ("int", 1, INT_MAX), "round_samples": ("int", 1, INT_MAX),
    "jobs": ("int", 1, os.cpu_count() or 1),
}


# ----------------------------------------------------------------------------- scalars and arrays
def check_lam(name: str, x, allow_zero: bool = False) -> float:
    """A regularisation strength in [LAM_MIN, LAM_MAX] (or exactly 0 when ``allow_zero``)."""
    rng = f"[{LAM_MIN:g}, {LAM_MAX:g}]" + (" or 0" if allow_zero else "")
    try:
        x = float(x)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: must be a number in {rng}, got {_short(x)}") from None
    if allow_zero and x == 0.0:
        return 0.0
    if not (LAM_MIN <= x <= LAM_MAX):  # also refuses nan
        raise ValueError(f"{name}: must be in {rng}, got {x:g}")
    return x


def check_finite_scalar(name: str, x) -> float:
    """A finite real number (a bias, a reduced coordinate)."""
    if isinstance(x, (str, bytes, bool, np.bool_)) or np.ndim(x) != 0:
        raise ValueError(f"{name}: must be a finite number, got {_short(x)}")
    try:
        x = float(x)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: must be a finite number, got {_short(x)}") from None
    if not math.isfinite(x):
        raise ValueError(f"{name}: must be a finite number, got {x}")
    return x


def check_stdout() -> None:
    """Refuse up front, before any work, a stdout that cannot take the result (closed, or /dev/full):
    OSError naming stdout (every command prints its result there)."""
    out = sys.stdout
    if out is None or out.closed:
        raise OSError("stdout: closed; nothing could be printed")
    try:
        st = os.fstat(out.fileno())
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        return  # not a real file (captured by a test, a StringIO): it takes anything
    if stat.S_ISCHR(st.st_mode):
        try:
            if st.st_rdev == os.stat("/dev/full").st_rdev:
                raise OSError("stdout: /dev/full accepts no output; redirect to a file or a pipe")
        except FileNotFoundError:
            pass


def usage_message(prog: str, message: str) -> str:
    """An argparse error as the CLIs print it, the option first (``--d: must be ...``, from argparse's
    ``argument --d: must be ...``); a message about no single option keeps the program's name."""
    head, sep, rest = message.partition(": ")
    if sep and head.startswith("argument ") and head[9:].startswith("-"):
        return f"{head[9:].split('/')[-1]}: {rest}"
    return f"{prog}: {message}"


def check_type(name: str, value, cls, what: str | None = None):
    """``value`` itself when it is an instance of ``cls``; else ValueError naming ``name`` (a model,
    a configuration or a Generator of the wrong type would otherwise fail deep inside with an
    AttributeError)."""
    if not isinstance(value, cls):
        raise ValueError(f"{name}: must be {what or 'a ' + cls.__name__}, got {_short(value)}")
    return value


def _numeric(name: str, a) -> np.ndarray:
    try:
        a = np.asarray(a)
    except ValueError:  # ragged
        raise ValueError(f"{name}: must be a numeric array, got a ragged sequence") from None
    if a.dtype.kind not in "iuf":                 # signed, unsigned integers, floats (not bool)
        raise ValueError(f"{name}: must be a numeric (int8 or float) array, got dtype {a.dtype}")
    return a


def check_finite_array(name: str, a) -> np.ndarray:
    """A numeric array with every entry finite, as float64 (a copy)."""
    a = np.array(_numeric(name, a), dtype=np.float64)
    if not np.isfinite(a).all():
        bad = np.flatnonzero(~np.isfinite(a.ravel()))[0]
        raise ValueError(f"{name}: every entry must be finite, got {a.ravel()[bad]} at flat index {bad}")
    return a


def check_pm1(name: str, X, d: int | None = None) -> np.ndarray:
    """Inputs ``(n, d)`` whose entries are all +1 or -1 (THEORY §1), returned as given (numeric)."""
    X = _numeric(name, X)
    if X.ndim != 2 or (d is not None and X.shape[1] != d):
        raise ValueError(f"{name}: must have shape (n, {'d' if d is None else d}), got {X.shape}")
    ok = (X == 1) | (X == -1)
    if not ok.all():
        i, j = np.argwhere(~ok)[0]
        raise ValueError(f"{name}: entries must be +1 or -1, got {X[i, j].item()!r} at row {i}, column {j}")
    return X


def check_responses(name: str, Y, n: int, d: int) -> np.ndarray:
    """Responses ``(n, d+1)`` with entries in {-1, 0, +1} (THEORY §2: bits +-1, EOS and padding 0).

    Rows the model cannot emit (a 0 bit inside a long answer, ...) are allowed here: log_prob gives
    them -inf; values other than -1, 0, +1 (2, NaN) are refused.
    """
    Y = _numeric(name, Y)
    if Y.shape != (n, d + 1):
        raise ValueError(f"{name}: must have shape ({n}, {d + 1}), got {Y.shape}")
    ok = (Y == 1) | (Y == -1) | (Y == 0)
    if not ok.all():
        i, j = np.argwhere(~ok)[0]
        raise ValueError(f"{name}: entries must be +1, -1 or 0 (EOS/padding), got {Y[i, j].item()!r} "
                         f"at row {i}, column {j}")
    return Y


def _short(x, n: int = 40) -> str:
    s = repr(x)
    return s if len(s) <= n else s[:n] + "..."


# ----------------------------------------------------------------------------- the work estimate
def available_memory() -> int:
    """Bytes of memory available now (``MemAvailable`` of /proc/meminfo; 4 GiB if unknown)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return 4 * 2 ** 30


def max_seconds() -> float:
    """The time limit of :func:`check_work` (env ``LINPARITY_MAX_SECONDS``, default :data:`MAX_SECONDS`)."""
    try:
        return float(os.environ.get("LINPARITY_MAX_SECONDS", MAX_SECONDS))
    except ValueError:
        return MAX_SECONDS


def max_bytes() -> float:
    """The memory limit of :func:`check_work`: 80% of the available memory (env ``LINPARITY_MAX_BYTES``)."""
    try:
        return float(os.environ["LINPARITY_MAX_BYTES"])
    except (KeyError, ValueError):
        return 0.8 * available_memory()


def check_alloc(name: str, nbytes: float) -> None:
    """Refuse, before allocating, an array of ``nbytes`` that does not fit in :func:`max_bytes`
    (80% of the available memory): ValueError naming the argument ``name`` that makes it large."""
    if nbytes > max_bytes():
        raise ValueError(f"{name}: the request needs about {fmt_bytes(nbytes)}, more than the "
                         f"{fmt_bytes(max_bytes())} of memory available (LINPARITY_MAX_BYTES changes the limit)")


def fmt_bytes(b: float) -> str:
    for unit, k in (("EiB", 60), ("PiB", 50), ("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if b >= 2 ** k:
            return f"{b / 2 ** k:.3g} {unit}"
    return f"{b:.0f} B"


def fmt_seconds(s: float) -> str:
    """Seconds in the largest unit that fits; beyond a day also in hours (``1.49 days = 35.8 h``)."""
    for unit, k in (("years", 3.15e7), ("days", 86400), ("h", 3600), ("min", 60)):
        if s >= k:
            return f"{s / k:.3g} {unit}" + (f" = {s / 3600:.3g} h" if k > 3600 else "")
    return f"{s:.2g} s"


# Bytes of the simulation's per-round (STaR) and per-step (policy gradient) samples, measured with
# the work estimate's other per-unit costs (linparity.cli.work; BENCHMARKS.md "Work estimate").
#: STaR: one round's samples, per sample a + b d
STAR_BYTES = (200, 3)
#: policy gradient: per response and d; STaR and policy gradient: per evaluation input and d
PG_BYTES = (35, 60)


def star_round_bytes(R: float, N: float, d: float) -> float:
    """Bytes of one STaR round's samples: R replicates of N inputs with their responses."""
    return R * N * (STAR_BYTES[0] + STAR_BYTES[1] * d)


def pg_step_bytes(R: float, responses: float, d: float) -> float:
    """Bytes of one policy-gradient step's samples: R replicates of ``responses`` (B, or B G for GRPO)."""
    return R * responses * PG_BYTES[0] * d


def refuse_work(mem: float, sec: float, culprits, option=lambda name: name,
                what: str = "the requested work") -> None:
    """Raise the one-line ValueError for work estimated beyond 80% of the available memory
    (:func:`max_bytes`) or the time limit (:func:`max_seconds`); return when it fits.

    ``culprits`` lists the option names that make the work large, the one to lower first first;
    ``option`` spells a name as the caller does (the CLI: ``--steps``). Shared by every estimate
    (the linear commands, ``samples``, the transformer commands), so all refusals read alike.
    """
    others = ", ".join(option(k) for k in culprits[1:])
    with_ = f" (with {others})" if others else ""
    big = option(culprits[0]) if culprits else "size"
    if mem > max_bytes():
        raise ValueError(f"{big}: {what} needs about {fmt_bytes(mem)} of memory{with_}, more than the "
                         f"{fmt_bytes(max_bytes())} available; lower it, or pass --force")
    if sec > max_seconds():
        raise ValueError(f"{big}: {what} would take about {fmt_seconds(sec)}{with_}, more than the limit of "
                         f"{fmt_seconds(max_seconds())} (LINPARITY_MAX_SECONDS); lower it, or pass --force")
