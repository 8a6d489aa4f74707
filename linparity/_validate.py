"""The validation layer at the entry points: documented ranges, array checks and a work estimate.

Three things live here, shared by the CLI (``linparity.cli``) and the public API:

* **Ranges.** Every number a user can pass has a documented range (:data:`RANGES`); integers are
  bounded by :data:`INT_MAX` before anything is allocated, floats must be finite and inside their
  range. Lambda is bounded to ``[LAM_MIN, LAM_MAX]``: below ``LAM_MIN`` the Pegasos step
  1/(lam k) and the closed-form root ``lam c = sigma(-c)`` leave double precision (at lam = 1e-300
  ``brentq`` does not converge; at 1e-320 the strength is subnormal), so such values are refused
  by name instead of returning NaN.
* **Arrays.** :func:`check_pm1` (inputs X: every entry +1 or -1), :func:`check_responses`
  (responses Y: short or long rows of +-1 bits then 0), :func:`check_finite_array` (weights).
* **Work.** :func:`estimate_work` gives an order-of-magnitude estimate of the peak memory (bytes)
  and the run time (seconds, on the 2-core Xeon the README's times come from) of a CLI command,
  from the sizes alone; :func:`check_work` refuses work that does not fit in the memory available
  (80% of ``MemAvailable``) or would run longer than :data:`MAX_SECONDS`, with one line naming the
  option that makes it large. The CLI's ``--force`` skips the check. The limits can be changed with
  the environment variables ``LINPARITY_MAX_SECONDS`` and ``LINPARITY_MAX_BYTES``.

The cost coefficients below were measured on this repository's development machine (2-core Xeon,
2026-12): e.g. ``pretrain --d 50 --steps 200000`` (Algorithm 3) took 2.4 s of compute, the
closed-form dynamics 28 us per population step at d = 10 and 200 bytes per step, one exact
population step at d = 12 about 20 ms. They are deliberately rounded up: the estimate only has to
tell "seconds" from "hours" and "megabytes" from "terabytes".
"""
from __future__ import annotations

import math
import os

import numpy as np

__all__ = ["INT_MAX", "LAM_MIN", "LAM_MAX", "RANGES", "MAX_SECONDS", "check_pm1", "check_responses",
           "check_finite_array", "check_finite_scalar", "check_lam", "available_memory", "max_seconds",
           "max_bytes", "estimate_work", "check_work", "fmt_bytes", "fmt_seconds"]

#: largest integer any count (d, steps, samples, replicates, ...) may take: exact in float64 and far
#: from int64 overflow, so no later product of two counts overflows before the work check refuses it
INT_MAX = 2 ** 53
#: documented range of every regularisation strength lambda (> 0 where the route needs it)
LAM_MIN, LAM_MAX = 1e-12, 1e12
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
    for unit, k in (("years", 3.15e7), ("days", 86400), ("h", 3600), ("min", 60)):
        if s >= k:
            return f"{s / k:.3g} {unit}"
    return f"{s:.2g} s"


# seconds per unit of work (see the module docstring for the measurements they come from)
_C_SGD = 4e-8        # Algorithm 3: per sample and per (d + p d^2) weight touched
_C_CF = 5e-6         # closed-form population Pegasos: per step and per reduced coordinate
_C_EXACT = 1e-7      # exact population step: per input (2^d) and per d^2
_C_BATCH = 1e-7      # batched decoding / policy update: per response and per d^2
_C_EVAL = 2e-8       # evaluation: per input and per d^2
_ENUM_D = 12
_PER_RUN = 5e-3      # Python overhead per replicate, per STaR round, per policy-gradient step
_C_STEP = 1.5e-4     # one SGD step of STaR's 'continue' variant (measured 1.1e-4 s at d = 8, R = 1)


def _eval_inputs(d: int, n_mc: int) -> int:
    return 2 ** d if d <= _ENUM_D else n_mc


def _pretrain_sgd(d, p, T, R):
    """Time and memory of Algorithm 3, R replicates of T samples (chunks of 4096 samples)."""
    sec = _C_SGD * R * T * (d + p * d * d) + _PER_RUN * R
    mem = R * 4 * 8 * 2.5 * d * d + 4096 * (d + 1) * 16
    return sec, mem


def estimate_work(command: str, **a) -> tuple[float, float, dict]:
    """Order-of-magnitude (peak bytes, seconds, drivers) of one CLI command with options ``a``.

    ``drivers`` maps each option name that multiplies the work to its size relative to the
    command's default (so the largest names the option responsible). Options are the CLI's
    ``dest`` names (``d``, ``steps``, ``replicates``, ...); counts may be as large as INT_MAX
    (the arithmetic is in float, it never overflows).
    """
    f = lambda k, default=0: float(a.get(k) if a.get(k) is not None else default)  # noqa: E731
    d, p, R = f("d", 2), f("p_cot", 0.5), f("replicates", 1)
    model = 8 * 2.5 * d * d                      # bytes of one LinearAR: ~1.5 d^2 float64 (+ copies)
    n_ev = _eval_inputs(int(min(d, 64)), 20000)  # evaluation inputs (all 2^d up to d = 12)
    ev_sec, ev_mem = _C_EVAL * n_ev * d * d, n_ev * d * 8 * 8 + n_ev * model / max(d, 1)
    if command == "pretrain":
        method, T = a.get("method", "sgd"), f("steps", 100_000)
        drivers = {"d": d / 20, "steps": T / 1e5, "replicates": R}
        if method == "closed-form":
            return 8 * 3 * (d + 2) * (T + 1) + model, _C_CF * (d + 2) * T + ev_sec, drivers
        if method == "exact":
            n = 2 ** min(d, 64)
            return n * (d + 1) * 8 * 6 + model * 4, _C_EXACT * n * d * d * T + ev_sec, drivers
        sec, mem = _pretrain_sgd(d, p, T, R)
        return mem + ev_mem, sec + R * ev_sec * 2, drivers
    T0 = f("pretrain_steps", 100_000)
    start_sec, start_mem = _pretrain_sgd(d, p, T0, R)
    if a.get("method") == "exact":   # the start: T0 population Pegasos steps on full weights (~1e-4 s each)
        start_sec = T0 * (1e-4 + _C_EXACT * 2 ** min(d, 64) * d * d)
    if command == "star":
        rounds, N = f("rounds", 10), f("samples", 20000)
        drivers = {"d": d / 20, "rounds": rounds / 10, "samples": N / 2e4, "replicates": R,
                   "pretrain_steps": T0 / 1e5}
        # the exact map beside it: pretrain_checkpoint (population steps) then one refit per round
        cf = (8 * (d + 2) * (rounds + 1) * 4, 1e-3 * (d + 2) * (rounds + 1) + _C_CF * (d + 2) * T0)
        if a.get("method", "sgd") == "closed-form":
            return cf[0] + 8 * 3 * (d + 2) * (T0 + 1), cf[1], drivers
        if a.get("method") == "exact":   # the map on full weights: all 2^d inputs x 2^d long responses
            n2 = 4.0 ** min(d, 64)
            return n2 * 8 * 6 + cf[0], start_sec + cf[1] + rounds * _C_EXACT * n2 * d, drivers
        batch = R * N * (d + 1) * 8 * 12 + R * model * 4
        sec = start_sec + rounds * (_C_BATCH * R * N * d * d + R * ev_sec + 4 * _PER_RUN) + cf[1]
        if a.get("variant", "continue") == "continue":
            # E epochs of one SGD step per batch of kept pairs (at most N kept): ~1e-4 s per step
            E, B = f("epochs", 2), f("batch_size", 1)
            sec += rounds * E * math.ceil(N / B) * (_C_STEP + _C_BATCH * R * B * d * d)
            drivers["epochs"] = E / 2
        return max(batch, start_mem, 8 * 3 * (d + 2) * (T0 + 1)), sec, drivers
    if command == "pg":
        steps, B = f("steps", 200), f("batch_size", 256)
        G = f("group_size", 8) if a.get("algo", "reinforce") == "grpo" else 1.0
        drivers = {"d": d / 20, "steps": steps / 200, "batch_size": B / 256, "replicates": R,
                   "pretrain_steps": T0 / 1e5}
        if G > 1:
            drivers["group_size"] = G / 8
        if a.get("method") == "exact":   # expected ascent on full weights: 2^d inputs x 2^d long responses
            n2 = 4.0 ** min(d, 64)
            return (n2 * 8 * 6 + 8 * (d + 2) * (steps + 1) * 4,
                    start_sec + (steps + 1) * (_C_EXACT * n2 * d + _PER_RUN), drivers)
        batch = R * B * G * (d + 1) * 8 * 12 + R * model * 4
        traj = 8 * (d + 2) * (steps + 1) * 4 + 8 * 3 * (d + 2) * (T0 + 1)
        sec = (start_sec + _C_CF * (d + 2) * T0
               + steps * (_C_BATCH * R * B * G * d * d + R * ev_sec + _C_CF * (d + 2) * max(G, 2) + _PER_RUN))
        return max(batch, start_mem, traj), sec, drivers
    return 0.0, 0.0, {}


def check_work(command: str, force: bool = False, option=lambda name: f"--{name.replace('_', '-')}",
               **a) -> tuple[float, float]:
    """Refuse (ValueError, one line naming the option) work estimated beyond the machine.

    Returns the estimate (bytes, seconds). ``option`` maps an argument name to how the caller spells
    it (the CLI: ``--steps``; the API passes ``lambda n: n``).
    """
    mem, sec, drivers = estimate_work(command, **a)
    if force:
        return mem, sec
    big = max(drivers, key=lambda k: drivers[k]) if drivers else "size"
    others = ", ".join(option(k) for k in sorted(drivers, key=lambda k: -drivers[k]) if k != big)
    with_ = f" (with {others})" if others else ""
    lim_b, lim_s = max_bytes(), max_seconds()
    if mem > lim_b:
        raise ValueError(f"{option(big)}: the requested work needs about {fmt_bytes(mem)} of memory{with_}, "
                         f"more than the {fmt_bytes(lim_b)} available; lower it, or pass --force")
    if sec > lim_s:
        raise ValueError(f"{option(big)}: the requested work would take about {fmt_seconds(sec)}{with_}, "
                         f"more than the limit of {fmt_seconds(lim_s)} (LINPARITY_MAX_SECONDS); "
                         "lower it, or pass --force")
    return mem, sec
