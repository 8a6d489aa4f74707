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
* **Work.** :func:`estimate_work` estimates the peak memory (bytes) and the CPU time (seconds) of
  a CLI command from the sizes alone, route by route, from what each route allocates and loops
  over (the closed-form routes hold O(d) numbers, never samples or batches); :func:`check_work`
  refuses work that does not fit in the memory available (80% of ``MemAvailable``) or would run
  longer than :data:`MAX_SECONDS`, with one line naming the option that makes it large. The CLI's
  ``--force`` skips the check. The limits can be changed with the environment variables
  ``LINPARITY_MAX_SECONDS`` and ``LINPARITY_MAX_BYTES``.

The per-unit costs of the estimate were measured on a 2-core AMD EPYC (2026-12; BENCHMARKS.md,
"Work estimate"); tests/test_work_estimate.py holds every route within a factor of 3 of measured
runs at two sizes.
"""
from __future__ import annotations

import io
import math
import os
import stat
import sys

import numpy as np

__all__ = ["INT_MAX", "LAM_MIN", "LAM_MAX", "MAX_ENUM_D", "RANGES", "MAX_SECONDS", "check_pm1", "check_responses",
           "check_finite_array", "check_finite_scalar", "check_type", "usage_message", "check_stdout", "check_lam", "available_memory", "max_seconds",
           "max_bytes", "star_round_bytes", "pg_step_bytes", "estimate_work", "check_work", "refuse_work", "fmt_bytes", "fmt_seconds"]

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
    for unit, k in (("years", 3.15e7), ("days", 86400), ("h", 3600), ("min", 60)):
        if s >= k:
            return f"{s / k:.3g} {unit}"
    return f"{s:.2g} s"


# Per-unit costs of each route: CPU seconds with one BLAS thread (about the wall time on an idle
# machine) and bytes above the interpreter, measured on a 2-core AMD EPYC (2026-12) by the harness
# of tests/test_work_estimate.py (each command in a forked child, its own rusage); BENCHMARKS.md
# "Work estimate" lists the runs they come from. The test holds every route within a factor of 3
# of the measurement at two sizes. STaR and policy gradient are estimated as if every response
# were long and (STaR) every one kept, the costly end they reach once the chain is learned (a
# well pre-trained start); from a start with few pre-training steps they cost less (d = 128 after
# 1000 steps: 9x less, BENCHMARKS.md).
_BASE_SEC = 1.1                  # interpreter, imports, numba cache loads (the trivial command: 1.05 s)
_BASE_BYTES = 178 * 2 ** 20      # its peak RSS (178 MiB)
_A3 = (4e-7, 5e-9, 8e-10)        # Algorithm 3, per sample: a + b d + c p d^2 (d = 32: 0.94 us, 128: 8 us)
_CF_STEP = (3.5e-8, 1.5e-10)     # closed-form population Pegasos step: a + b d (d = 64: 45 ns)
_CF_ROUND = 1e-3                 # one round of the closed-form STaR map
_CF_PG = (1.1e-4, 5e-6)          # one closed-form policy-gradient step (+ per GRPO group member)
_EVAL_NTP = 4e-10                # pretrain's evaluation (measures.evaluate): per input, model and d^2
_NTP_BYTES = (10 * 2 ** 20, 40)  # pretrain sgd: fixed + per evaluation input and d
_EXACT_STEP = (5e-4, 5e-9)       # full-weight population step: a + b 2^d d^2 (d = 12: 3.6 ms)
_EXACT_NTP_BYTES = 28            # its design matrices: per 2^d d^2
_EXACT_RL = (5.5e-9, 1.3e-8)     # exact STaR round / policy-gradient step: per 4^d d (d = 12: 1.1 s, 3.3 s)
_EXACT_RL_BYTES = (32, 52)       # their response tables: per 4^d (d = 12: 430 MiB, 813 MiB)
_RESPONSE = (3e-8, 3e-10)        # sampling and scoring one long response: a d + b d^2
_PG_RESPONSE = (6e-8, 3e-10)     # one policy-gradient response (sampling, score, update): a d + b d^2
_RL_EVAL = (2.4e-7, 8e-10)       # batched evaluation (star per round, pg per step): per input a d + b d^2
_STAR_BYTES = (200, 3)           # star: one round's samples, per sample a + b d
_PG_BYTES = (35, 60)             # pg: per response and d; star, pg: per evaluation input and d
_SEEN_PENDING = 2 ** 20          # data.DistinctInputs: unmerged keys it holds beyond the merged ones
_CONTINUE = (5e-7, 1e-9)         # STaR continue: per SGD step a, per visit of a long pair b d^2
_RL_N_EVAL = 2048                # StarConfig / PGConfig n_eval: evaluation inputs when d > MAX_ENUM_D


def star_round_bytes(R: float, N: float, d: float) -> float:
    """Bytes of one STaR round's samples: R replicates of N inputs with their responses."""
    return R * N * (_STAR_BYTES[0] + _STAR_BYTES[1] * d)


def pg_step_bytes(R: float, responses: float, d: float) -> float:
    """Bytes of one policy-gradient step's samples: R replicates of ``responses`` (B, or B G for GRPO)."""
    return R * responses * _PG_BYTES[0] * d


def _a3_sec(d, p, T, R):
    """Algorithm 3: R replicates of T samples."""
    return R * T * (_A3[0] + _A3[1] * d + _A3[2] * p * d * d)


def _cf_sec(d, p, T):
    """pretrain_checkpoint: T population steps of heads 1 and 2a, p T of the chain heads."""
    return (1 + p) * T * (_CF_STEP[0] + _CF_STEP[1] * d)


def _exact_step_sec(d):
    return _EXACT_STEP[0] + _EXACT_STEP[1] * 2.0 ** d * d * d


def _rl_eval_sec(d, n_eval, R):
    return R * n_eval * (_RL_EVAL[0] * d + _RL_EVAL[1] * d * d)


def _seen(d, draws, R):
    """The R data.DistinctInputs a STaR or policy-gradient run counts with: the merged keys and the
    pending ones (at most max(merged, 2^20)), twice during a merge (concatenation, np.unique),
    8 ceil(d/64) bytes each."""
    merged = min(draws, 2.0 ** min(d, 64.0))
    return R * 2 * (merged + min(draws, max(merged, _SEEN_PENDING))) * 8 * math.ceil(d / 64)


def estimate_work(command: str, **a) -> tuple[float, float, dict]:
    """Estimated (peak bytes, CPU seconds, drivers) of one CLI command with options ``a``.

    Each route is modelled by what it allocates and loops over (the coefficients above): the
    closed-form routes hold O(d) numbers per step and never the samples or batches (their memory
    is the interpreter's); the exact routes hold 2^d-row designs (pre-training) or 4^d response
    tables (STaR, policy gradient); the simulations hold R replicates' samples of one round or
    step. Both include the interpreter's fixed cost (:data:`_BASE_BYTES`, :data:`_BASE_SEC`).

    ``drivers`` maps each option name that multiplies the work to its size relative to the
    command's default (so the largest names the option responsible). Options are the CLI's
    ``dest`` names (``d``, ``steps``, ``replicates``, ...); counts may be as large as INT_MAX
    (the arithmetic is in float, it never overflows).
    """
    f = lambda k, default=0: float(a.get(k) if a.get(k) is not None else default)  # noqa: E731
    d, p, R = f("d", 2), f("p_cot", 0.5), f("replicates", 1)
    method = a.get("method") or "sgd"
    dd = min(d, 64.0)                                    # 2^d, 4^d: only d <= MAX_ENUM_D reaches them
    mem, sec, drivers = 0.0, 0.0, {"d": d / 20, "replicates": R}
    if command == "pretrain":
        T = f("steps", 100_000)
        drivers["steps"] = T / 1e5
        if method == "closed-form":
            sec = _cf_sec(d, p, T)
        elif method == "exact":
            mem, sec = _EXACT_NTP_BYTES * 2 ** dd * d * d, T * _exact_step_sec(dd)
        else:
            n_ev = 2 ** dd if d <= MAX_ENUM_D else 20_000   # measures.evaluate: all inputs or n_mc
            mem = _NTP_BYTES[0] + _NTP_BYTES[1] * n_ev * d + R * 8 * 4 * 1.5 * d * d   # + R models
            sec = _a3_sec(d, p, T, R) + (R + 2) * _EVAL_NTP * n_ev * d * d          # + the bounds' model
    elif command in ("star", "pg"):
        T0 = f("pretrain_steps", 100_000)
        drivers["pretrain_steps"] = T0 / 1e5
        n_ev = 2 ** dd if d <= MAX_ENUM_D else _RL_N_EVAL
        if command == "star":
            n, N = f("rounds", 10), f("samples", 20_000)
            drivers.update(rounds=n / 10, samples=N / 2e4)
        else:
            n, B = f("steps", 200), f("batch_size", 256)
            G = f("group_size", 8) if a.get("algo") == "grpo" else 1.0
            drivers.update(steps=n / 200, batch_size=B / 256)
            if G > 1:
                drivers["group_size"] = G / 8
        # the start (Algorithm 3, population steps, or none) and the closed form beside every method
        if method == "sgd":
            sec = _a3_sec(d, p, T0, R)
        elif method == "exact":
            sec = T0 * _exact_step_sec(dd)
        sec += _cf_sec(d, p, T0) + n * (_CF_ROUND if command == "star" else _CF_PG[0] + _CF_PG[1] * G)
        if method == "exact":
            k = 0 if command == "star" else 1
            mem = max(_EXACT_RL_BYTES[k] * 4.0 ** dd, _EXACT_NTP_BYTES * 2 ** dd * d * d)
            sec += (n + 1) * _EXACT_RL[k] * 4.0 ** dd * d
        elif method == "sgd" and command == "star":
            E, Bs = f("epochs", 2), f("batch_size", 1)
            per_sample = _RESPONSE[0] * d + _RESPONSE[1] * d * d
            if a.get("variant", "continue") == "refit":
                per_sample += _A3[0] + _A3[1] * d + _A3[2] * d * d          # Algorithm 3 on the kept set
            else:
                per_sample += E * (_CONTINUE[0] / Bs + _CONTINUE[1] * d * d)
                drivers["epochs"] = E / 2
            mem = star_round_bytes(R, N, d) + _PG_BYTES[1] * R * n_ev * d + _seen(d, n * N, R)
            sec += n * R * N * per_sample + (n + 1) * _rl_eval_sec(d, n_ev, R)
        elif method == "sgd":
            mem = pg_step_bytes(R, B * G, d) + _PG_BYTES[1] * R * n_ev * d + _seen(d, n * B, R)
            sec += n * R * B * G * (_PG_RESPONSE[0] * d + _PG_RESPONSE[1] * d * d) + (n + 1) * _rl_eval_sec(d, n_ev, R)
    if method != "sgd":   # the population routes hold no samples, batches or replicates
        drivers = {k: v for k, v in drivers.items() if k in ("d", "steps", "rounds", "pretrain_steps")}
    return _BASE_BYTES + mem, _BASE_SEC + sec, drivers


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


def check_work(command: str, force: bool = False, option=lambda name: f"--{name.replace('_', '-')}",
               **a) -> tuple[float, float]:
    """Refuse (ValueError, one line naming the option) work estimated beyond the machine.

    Returns the estimate (bytes, seconds). ``option`` maps an argument name to how the caller spells
    it (the CLI: ``--steps``; the API passes ``lambda n: n``). The option named is the driver with
    the largest size relative to the command's default (:func:`estimate_work`).
    """
    mem, sec, drivers = estimate_work(command, **a)
    if not force:
        refuse_work(mem, sec, sorted(drivers, key=lambda k: -drivers[k]), option)
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
