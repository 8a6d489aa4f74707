"""The work estimate of the CLI's linear commands (``pretrain``, ``star``, ``pg``), and its refusal.

:func:`estimate_work` estimates the peak memory (bytes) and the CPU time (seconds) of a command
from its sizes alone, route by route, from what each route allocates and loops over (the
closed-form routes hold O(d) numbers, never samples or batches), with the CLI's defaults for the
options not given; :func:`check_work` refuses work that does not fit in the memory available (80%
of ``MemAvailable``) or would run longer than ``LINPARITY_MAX_SECONDS`` (default 1 hour), with one
line naming the option that makes it large (``linparity._validate.refuse_work``). The CLI's
``--force`` skips the check. The limits can be changed with the environment variables
``LINPARITY_MAX_SECONDS`` and ``LINPARITY_MAX_BYTES``.

The per-unit costs of the estimate were measured on a 2-core AMD EPYC (2026-12; BENCHMARKS.md,
"Work estimate"); tests/test_work_estimate.py holds every route within a factor of 3 of measured
runs at two sizes.
"""
from __future__ import annotations

import math

from .._validate import MAX_ENUM_D, PG_BYTES, pg_step_bytes, refuse_work, star_round_bytes
from ..simulate.star import STREAM_CHUNK, resampled_inputs, stream_cache_bytes, stream_order_bytes

__all__ = ["BASE_SEC", "BASE_BYTES", "cli_option", "estimate_work", "check_work"]

# Per-unit costs of each route: CPU seconds with one BLAS thread (about the wall time on an idle
# machine) and bytes above the interpreter, measured on a 2-core AMD EPYC (2026-12) by the harness
# of tests/test_work_estimate.py (each command in a forked child, its own rusage); BENCHMARKS.md
# "Work estimate" lists the runs they come from. The test holds every route within a factor of 3
# of the measurement at two sizes. STaR and policy gradient are estimated as if every response
# were long and (STaR) every one kept, the costly end they reach once the chain is learned (a
# well pre-trained start); from a start with few pre-training steps they cost less (d = 128 after
# 1000 steps: 9x less, BENCHMARKS.md).
BASE_SEC = 1.1                   # interpreter, imports, numba cache loads (the trivial command: 1.05 s)
BASE_BYTES = 178 * 2 ** 20       # its peak RSS (178 MiB)
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
_SEEN_PENDING = 2 ** 20          # data.DistinctInputs: unmerged keys it holds beyond the merged ones
_CONTINUE = (5e-7, 1e-9)         # STaR continue: per SGD step a, per visit of a long pair b d^2
_RL_N_EVAL = 2048                # StarConfig / PGConfig n_eval: evaluation inputs when d > MAX_ENUM_D


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
    step. Both include the interpreter's fixed cost (:data:`BASE_BYTES`, :data:`BASE_SEC`).

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
                # a streamed round samples the chunks past its cache of kept pairs again in every later epoch
                per_sample += resampled_inputs(N, d, E) / N * (_RESPONSE[0] * d + _RESPONSE[1] * d * d)
                drivers["epochs"] = E / 2
            # a round holds one chunk of inputs at a time (simulate.star_round streams N > STREAM_CHUNK)
            mem = (star_round_bytes(R, min(N, STREAM_CHUNK), d) + stream_order_bytes(N, STREAM_CHUNK)
                   + (stream_cache_bytes(N, d) if a.get("variant", "continue") == "continue" else 0.0)
                   + PG_BYTES[1] * R * n_ev * d + _seen(d, n * N, R))
            sec += n * R * N * per_sample + (n + 1) * _rl_eval_sec(d, n_ev, R)
        elif method == "sgd":
            mem = pg_step_bytes(R, B * G, d) + PG_BYTES[1] * R * n_ev * d + _seen(d, n * B, R)
            sec += n * R * B * G * (_PG_RESPONSE[0] * d + _PG_RESPONSE[1] * d * d) + (n + 1) * _rl_eval_sec(d, n_ev, R)
    if method != "sgd":   # the population routes hold no samples, batches or replicates
        drivers = {k: v for k, v in drivers.items() if k in ("d", "steps", "rounds", "pretrain_steps")}
    return BASE_BYTES + mem, BASE_SEC + sec, drivers


def cli_option(name: str) -> str:
    """How the CLI spells a library argument name (``p_cot`` -> ``--p-cot``)."""
    return f"--{name.replace('_', '-')}"


def check_work(command: str, force: bool = False, option=cli_option, **a) -> tuple[float, float]:
    """Refuse (ValueError, one line naming the option) work estimated beyond the machine.

    Returns the estimate (bytes, seconds). ``option`` maps an argument name to how the caller spells
    it (the CLI: ``--steps``; the API passes ``lambda n: n``). The option named is the driver with
    the largest size relative to the command's default (:func:`estimate_work`).
    """
    mem, sec, drivers = estimate_work(command, **a)
    if not force:
        refuse_work(mem, sec, sorted(drivers, key=lambda k: -drivers[k]), option)
    return mem, sec
