"""Documented ranges of the transformer options and the work estimate of a transformer command.

Importable without torch: the CLI checks every option against :data:`RANGES` while parsing and
refuses work that does not fit (:func:`check_work`) before torch allocates anything.

The estimate counts the floating-point work of the network (GPT-2 blocks: 12 w^2 weights per block
and token, attention 2 L w per block and token over the context of L tokens, the task's prompt and
response, :mod:`.tasks`: 2d+1 for parity, 3n^2+4n+1 for n-digit multiplication; a training step is
about 3 forward passes) plus a fixed cost per block and decoded token (Python and kernel launches),
and the memory of the weights, AdamW's state, the activations kept for the backward pass (the
attention matrices are materialised: rows x heads x L^2) and the key/value caches of decoding.
The coefficients come from timings on the 2-core Xeon the README's times come from (torch 2.13 CPU,
2026-12):

* the flop rate :data:`_FLOPS`: the README's ``transformer pretrain --d 16 --p-cot 0.2`` (800 steps,
  width 64, depth 2, batch 256, 21 evaluations of 1024 inputs) takes 1 min 58 s; the model below
  gives 2 min 29 s for it with 4e10 flop/s;
* the fixed costs (Python, kernel launches, the optimizer), which dominate tiny models:
  :data:`_C_STEP` per optimizer step and :data:`_C_CALL` per block and pass. Measured while the
  machine was shared with other jobs (load average 5-6, repeats varied 4x): a training step of
  batch 8 at depth 1 (d = 4 and 16, width 8 and 16) took 37-150 ms, one decoding of 8 responses
  at d = 4 7.5 ms (6 passes). The coefficients take the lower end (10 ms, 1.5 ms): they matter
  only for tiny models, where the error is seconds.

The estimate errs on the long side for the sizes that matter; it only has to tell seconds from
hours and megabytes from terabytes. The option named when work is refused is the one whose lowering
to its minimum shrinks the estimate most.
"""
from __future__ import annotations

import os

from .._checks import check_int
from .._validate import INT_MAX, RANGES as _LINEAR, max_bytes, max_seconds, refuse_work
from .tasks import MAX_DIGITS, TASKS, make_task

__all__ = ["RANGES", "DEFAULTS", "range_text", "check_option", "estimate_work", "check_work"]

#: documented range of every numeric transformer option: name (the CLI's dest) -> (kind, lo, hi)
RANGES = {
    "d": ("int", 2, INT_MAX),             # the work estimate bounds it (memory grows like d^2)
    "digits": ("int", 1, MAX_DIGITS),     # multiplication: a*b < 10^18 fits int64
    "depth": ("int", 1, 16), "width": ("int", 8, 1024), "heads": ("int", 1, 64),
    "p_cot": _LINEAR["p_cot"], "temperature": _LINEAR["temperature"], "seed": _LINEAR["seed"],
    # AdamW moves each weight by about lr per step: beyond 1 every run diverges
    "lr": ("float", 1e-9, 1.0), "pretrain_lr": ("float", 1e-9, 1.0),
    "weight_decay": ("float", 0.0, 1.0),   # decoupled: w <- w (1 - lr wd), so lr wd stays <= 1
    "threads": ("int", 1, os.cpu_count() or 1),
    "steps": ("int", 0, INT_MAX), "pretrain_steps": ("int", 0, INT_MAX), "rounds": ("int", 0, INT_MAX),
    "samples": ("int", 1, INT_MAX), "group": ("int", 2, INT_MAX), "batch_size": ("int", 1, INT_MAX),
    "n_eval": ("int", 1, INT_MAX), "eval_every": ("int", 1, INT_MAX),
    "checkpoint_every": ("int", 1, INT_MAX), "warmup": ("int", 0, INT_MAX), "epochs": ("int", 1, INT_MAX),
}

#: the defaults: the architecture of a fresh model and p_cot (with --checkpoint: the checkpoint's),
#: and the per-command defaults of steps, lr and batch_size
DEFAULTS = {
    "arch": {"d": 16, "depth": 2, "width": 64, "heads": 4, "p_cot": 0.2, "task": "parity", "digits": 3},
    "tasks": tuple(TASKS),
    "pretrain": {"steps": 800, "lr": 1e-3, "batch_size": 256},
    "star": {"steps": None, "lr": 5e-4, "batch_size": 256},
    "reinforce": {"steps": 200, "lr": 1e-4, "batch_size": 256},
    "grpo": {"steps": 200, "lr": 1e-4, "batch_size": 32},
}


def range_text(name: str) -> str:
    """``[lo, hi]`` of option ``name`` as --help shows it (2^53 for the integer limit)."""
    kind, lo, hi = RANGES[name]
    return f"[{lo:g}, {'2^53' if hi == INT_MAX else f'{hi:g}'}]"


def check_option(name: str, value, option=lambda n: n):
    """``value`` of option ``name`` inside its documented range (ValueError naming ``option(name)``)."""
    kind, lo, hi = RANGES[name]
    if kind == "int":
        return check_int(option(name), value, lo, hi)
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{option(name)}: must be a finite number in [{lo:g}, {hi:g}], "
                         f"got {repr(value)[:40]}") from None
    if isinstance(value, (bool, str)) or not lo <= x <= hi:   # also refuses nan and +-inf
        raise ValueError(f"{option(name)}: must be a finite number in [{lo:g}, {hi:g}], got {repr(value)[:40]}")
    return x


# cost coefficients (module docstring): flop/s, seconds per block and pass, seconds per optimizer step
_FLOPS = 4e10
_C_CALL = 1.5e-3
_C_STEP = 1e-2
_F32 = 4


def _lengths(task, size):
    """(context length L, response tokens R) of ``task`` at ``size`` (d bits or n digits)."""
    t = make_task(task, size) if task == "multiplication" else None
    if t is None:   # parity, in float so that d up to 2^53 does not build an object
        return 2 * size + 1, size + 1
    return t.prompt_len + t.response_len - 1, t.response_len


def _per_token(L, w, depth):
    """Flops of one forward pass per token over a context of L tokens."""
    return 2 * depth * (12 * w * w + 2 * L * w)


def _forward(rows, L, R, w, depth):
    """Seconds of one teacher-forced forward pass over ``rows`` full sequences."""
    return rows * L * _per_token(L, w, depth) / _FLOPS + depth * _C_CALL


def _decode(rows, L, R, w, depth):
    """Seconds of decoding one response per row (prefill, then up to R cached steps)."""
    return rows * L * _per_token(L, w, depth) / _FLOPS + (R + 1) * depth * _C_CALL


def _train_step(rows, L, R, w, depth):
    return 3 * _forward(rows, L, R, w, depth) + _C_STEP


def _evaluate(n, L, R, w, depth):
    """Held-out evaluation: greedy and sampled decoding, teacher forcing, 3 prefix passes."""
    return 2 * _decode(n, L, R, w, depth) + 4 * _forward(n, L, R, w, depth)


def _n_evals(steps, every):
    return 1 + (min(steps, 20) if every is None else steps / every + 1)


def _memory(rows_train, rows_decode, L, w, depth, heads):
    """Peak bytes: weights with gradients and AdamW's two moments, activations, decoding caches."""
    params = depth * 12 * w * w + (L + 7) * w
    act = rows_train * L * depth * (24 * w + 3 * heads * L) * _F32
    dec = rows_decode * (depth * 2 * L * w + heads * L * L + 16 * w) * _F32
    return 4 * params * _F32 + max(act, dec) + 64 * 2 ** 20   # + the interpreter and torch


def estimate_work(command: str, **o) -> tuple[float, float, list]:
    """(peak bytes, seconds, drivers) of transformer ``command`` with resolved options ``o``.

    ``o`` holds the task (``task``, default parity), the architecture (``d`` bits for parity,
    ``digits`` for multiplication, depth, width, heads) and the counts of the command (steps,
    batch_size, n_eval, eval_every, and for RL pretrain_steps when there is no checkpoint, rounds,
    samples, epochs, group). ``drivers`` lists the options the estimate depends on. The arithmetic
    is in float: counts as large as 2^53 do not overflow.
    """
    f = lambda k, dflt=0.0: float(o[k]) if o.get(k) is not None else float(dflt)  # noqa: E731
    depth, w, H = f("depth", 2), f("width", 64), f("heads", 4)
    task = o.get("task") or "parity"
    if task not in TASKS:
        raise ValueError(f"task: must be one of {tuple(TASKS)}, got {task!r}")
    size = "digits" if task == "multiplication" else "d"
    L, R = _lengths(task, int(f("digits", 3)) if size == "digits" else f("d", 16))
    ctx = (L, R)   # every cost below depends on the task only through (L, R)
    n_eval, every = f("n_eval", 1024), o.get("eval_every")
    drivers = [size, "width", "depth", "heads", "n_eval"]
    B = f("batch_size", 256)
    sec = 0.0
    rows_train, rows_dec = 0.0, n_eval
    pre = f("pretrain_steps") if command != "pretrain" and o.get("checkpoint") is None else 0.0
    if command == "pretrain" or pre:
        T, Bp = (f("steps"), B) if command == "pretrain" else (pre, 256.0)
        sec += T * _train_step(Bp, *ctx, w, depth) + _n_evals(T, every) * _evaluate(n_eval, *ctx, w, depth)
        rows_train = Bp
        drivers += ["steps", "batch_size"] if command == "pretrain" else ["pretrain_steps"]
    if command == "star":
        R, N, E = f("rounds"), f("samples"), f("epochs", 2)
        sec += R * (_decode(N, *ctx, w, depth) + E * (N / B + 1) * _train_step(min(B, N), *ctx, w, depth)
                    + _evaluate(n_eval, *ctx, w, depth))
        rows_train, rows_dec = max(rows_train, min(B, N)), max(rows_dec, N)
        drivers += ["rounds", "samples", "epochs", "batch_size"]
    elif command in ("reinforce", "grpo"):
        T, G = f("steps"), (f("group", 8) if command == "grpo" else 1.0)
        sec += T * (_decode(B * G, *ctx, w, depth) + _train_step(B * G, *ctx, w, depth)) \
            + _n_evals(T, every) * _evaluate(n_eval, *ctx, w, depth)
        rows_train, rows_dec = max(rows_train, B * G), max(rows_dec, B * G)
        drivers += ["steps", "batch_size"] + (["group"] if command == "grpo" else [])
    return _memory(rows_train, rows_dec, L, w, depth, H), sec, drivers


def check_work(command: str, force: bool = False, option=lambda n: n, **o) -> tuple[float, float]:
    """Refuse work estimated beyond 80% of the available memory or the time limit
    (``LINPARITY_MAX_SECONDS``, default 1 h) with a one-line ValueError naming ``option(k)`` of the
    option k whose lowering to its minimum shrinks the estimate most (and, after it, the others that
    would at least halve it); ``force`` skips the refusal. Returns the estimate (bytes, seconds)."""
    mem, sec, drivers = estimate_work(command, **o)
    if force:
        return mem, sec
    for i, (what, limit) in enumerate(((mem, max_bytes()), (sec, max_seconds()))):
        if what > limit:
            # the culprit: the option whose lowering to its minimum shrinks the estimate most, then
            # the others that would at least halve it
            gain = {k: what / max(estimate_work(command, **{**o, k: RANGES[k][1]})[i], 1e-300) for k in drivers}
            order = sorted(gain, key=lambda k: -gain[k])
            refuse_work(mem, sec, order[:1] + [k for k in order[1:] if gain[k] > 2], option)
    return mem, sec
