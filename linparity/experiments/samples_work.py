"""The sizes of the sample-complexity search (:mod:`linparity.experiments.samples`): its budgets,
round limit, memory and time, checked before any work.

The budget B is what the search varies. Pre-training takes T samples and every STaR round N fresh
inputs: each is either fixed (``pretrain_samples``, ``round_samples``) or equal to B; neither fixed
is the original schedule T = N = B; both fixed leave nothing to search, and the one level they run
is recorded at B = N. The budgets tried are the doubling ``b0, 2 b0, ... <= cap`` (defaults 8 and
2^20; the search stops at the first budget where >= 90% succeed) or an explicit increasing grid
``budgets`` where every budget runs all replicates (:func:`budget_levels`).
"""
from __future__ import annotations

import numpy as np

from .. import closed_form as cf
from .. import simulate as sim
from .._checks import check_d, check_int, check_prob
from .._validate import fmt_bytes, max_bytes
from ..data import MAX_ENUM_D

__all__ = ["ROUTES", "DEFAULT_B0", "DEFAULT_CAP", "EXACT_DISTINCT_D", "n_max_rounds", "budget_levels", "level_sizes",
           "full_level_bytes", "samples_work"]

ROUTES = ("full", "stats")
#: the doubling search's default range of budgets
DEFAULT_B0, DEFAULT_CAP = 8, 2 ** 20
#: from this d on the distinct inputs are not held (counted as drawn: P(a repeat) <= n^2 / 2^(d+1))
EXACT_DISTINCT_D = 128


def n_max_rounds(p, extra=10) -> int:
    """Round limit n*(p) + ``extra`` (n*(p): first n with p_n > 1/3 in the ideal recursion,
    closed_form.n_star). The 'continue' variant needs up to n* + 6 rounds (measured at d = 12,
    p = 1/12, B = 16384: 10/10 replicates within n* + 6, 2/10 beyond n* + 4; docs/claims/theorem2.md),
    so a tighter limit makes the search buy rounds with budget."""
    ns = cf.n_star(check_prob("p", p))
    if not np.isfinite(ns):
        raise ValueError(f"p: must be > 0 for STaR to generalise, got {p}")
    return int(ns) + check_int("extra", extra, 0)


def budget_levels(b0=None, cap=None, budgets=None, pretrain_samples=None, round_samples=None,
                  option=lambda name: name) -> tuple[list, bool]:
    """The budgets B the search may run, and whether it stops at the first success.

    Returns ``(levels, search)``: the doubling ``b0 2^k <= cap`` (defaults :data:`DEFAULT_B0`,
    :data:`DEFAULT_CAP`) with ``search`` True; an explicit ``budgets`` grid (strictly increasing
    integers >= 1, every one run) with ``search`` False; ``[round_samples]`` when both T and N are
    fixed. ValueError naming the argument (as ``option`` spells it) for a bad value or combination:
    a grid with b0 or cap, a grid or b0/cap when both T and N are fixed, cap < b0.
    """
    T = None if pretrain_samples is None else check_int(option("pretrain_samples"), pretrain_samples, 1)
    N = None if round_samples is None else check_int(option("round_samples"), round_samples, 1)
    if T is not None and N is not None:
        given = [k for k, v in (("budgets", budgets), ("b0", b0), ("cap", cap)) if v is not None]
        if given:
            raise ValueError(f"{option(given[0])}: nothing is searched when both {option('pretrain_samples')} "
                             f"and {option('round_samples')} are fixed (one level); leave it out")
        return [N], False
    if budgets is not None:
        for k in ("b0", "cap"):
            if locals()[k] is not None:
                raise ValueError(f"{option(k)}: the explicit budget grid {option('budgets')} replaces the "
                                 f"doubling search {option('b0')}..{option('cap')}; give one or the other")
        if isinstance(budgets, (str, bytes)) or np.ndim(budgets) != 1 or len(budgets) == 0:
            raise ValueError(f"{option('budgets')}: must be a non-empty list of increasing integers >= 1, "
                             f"got {str(budgets)[:40]!r}")
        grid = [check_int(option("budgets"), b, 1) for b in budgets]
        if any(b <= a for a, b in zip(grid, grid[1:])):
            raise ValueError(f"{option('budgets')}: must be strictly increasing, got {grid[:8]}")
        return grid, False
    b0 = check_int(option("b0"), DEFAULT_B0 if b0 is None else b0, 1)
    cap = check_int(option("cap"), DEFAULT_CAP if cap is None else cap, 1)
    if cap < b0:
        raise ValueError(f"{option('cap')}: must be >= {option('b0')} (the first budget of the doubling "
                         f"search), got {option('cap')} {cap} < {option('b0')} {b0}")
    return [b0 * 2 ** k for k in range((cap // b0).bit_length())], True


def level_sizes(B, pretrain_samples=None, round_samples=None) -> tuple:
    """(T, N) at budget B: each the fixed value, else B."""
    return (B if pretrain_samples is None else pretrain_samples, B if round_samples is None else round_samples)


def full_level_bytes(d, budget, n_max, round_samples=None) -> float:
    """Peak memory (bytes) of one full-weight level (:func:`linparity.experiments.samples.full_weight_level`)
    with T = ``budget`` pre-training samples and N = ``round_samples`` (default ``budget``) inputs a
    round, counted from the arrays of the one replicate it holds at a time. Pre-training and every
    round are streamed in chunks of M = min(max(T, N), ``simulate.STREAM_CHUNK`` = 2^16) inputs; per
    chunk: inputs and responses (int8, (2d+1) per input); the reward's checks and the kept rows
    (bool/int8 temporaries, <= 7 d); the head logits and the uniforms (8 (d+3)); then one block of
    ``sim.DECODE_ROWS`` float rows (inputs and the chain heads' x-parts, 8 (3d-2) per row); a streamed
    round's chunk order (16 bytes a chunk, ``sim.stream_order_bytes``); its cache of the first epoch's
    kept pairs (at most ``sim.STREAM_CACHE_BYTES`` = 512 MiB, ``sim.stream_cache_bytes``); four
    models (start, current, round-start, new: 4 x 8 x 3 d^2); and for d < :data:`EXACT_DISTINCT_D`
    the distinct-input keys (8 ceil(d/64) bytes per input drawn, T + n_max N; for larger d nothing is
    kept). So for d >= 128 it is bounded whatever T, N or the number of replicates: at d = 256 about
    0.3 GB plus the cache, at most 0.8 GiB (before streaming a level at d = 256, B = 2^23 needed 35 GiB)."""
    T = float(budget)
    N = T if round_samples is None else float(round_samples)
    M = min(max(T, N), float(sim.STREAM_CHUNK))
    keys = 8 * -(-d // 64) * (T + n_max * N) if d < EXACT_DISTINCT_D else 0.0
    return (M * (2 * d + 1) + 7 * M * d + 8 * M * (d + 3) + 8 * sim.DECODE_ROWS * (3 * d - 2) + 96.0 * d * d
            + sim.stream_order_bytes(N, sim.STREAM_CHUNK) + sim.stream_cache_bytes(N, d) + keys)


# seconds of the work, measured on the development machine (2-core Xeon, single thread):
#: one STaR round on full weights, per input: a d + b d^2, fitted to BENCHMARKS.md 'cost' (4.6, 13.9 and
#: 50.6 us per input at d = 64, 128, 256; the fit gives 4.6, 14.6, 50.6)
_ROUND_PER_INPUT = (3.0e-8, 6.6e-10)
_PRETRAIN_PER_INPUT = 4e-8    # Algorithm 3, per sample and per (d + p d^2) weight touched
_EVAL_PER_INPUT = 2e-8        # a greedy evaluation, per held-out input and per d^2
_STATS_ROUND = (1e-3, 2.5e-4)  # one round of the stats route, a + b d (measured 3 ms at d = 16, 1.5 s at 8192)
_PER_ROUND = 5e-3             # Python overhead per round and replicate
#: sampling and scoring one response, a d + b d^2 (linparity.cli.work's _RESPONSE): a streamed round of
#: N > STREAM_CHUNK samples the chunks past its cache again in its second epoch (sim.resampled_inputs)
_SAMPLE_PER_INPUT = (3e-8, 3e-10)
_PER_REPLICATE_BYTES = 5e3    # a replicate's generators and scalars, held for all R at once
_REF_SUM_B = 8.0 * (2 ** 18 - 1)   # the budgets of the README's example (b0 = 8 up to 2^20)


def samples_work(d, p, route="full", replicates=10, n_max=None, b0=None, cap=None, n_eval=4096,
                 option=lambda name: name, *, pretrain_samples=None, round_samples=None,
                 budgets=None) -> tuple[float, dict]:
    """Check the sizes of the search (:func:`linparity.experiments.samples.samples_search`) and
    estimate its time, before any work.

    The estimate is an upper bound: every budget of :func:`budget_levels` runs, and every replicate
    runs all ``n_max`` rounds (what the replicates that fail do). Full route, per replicate and
    budget: Algorithm 3 on T samples, ``n_max`` STaR rounds of N inputs (per-input cost fitted to
    BENCHMARKS.md 'cost') and ``n_max + 1`` evaluations on the held-out inputs; stats route:
    ``n_max + 1`` rounds of cost a + b d, whatever the budget.

    Memory is checked here (a hard limit, as the level refuses it too): the largest level's
    (:func:`full_level_bytes`) plus the generators and held-out inputs of all R replicates must fit
    in :func:`linparity._validate.max_bytes`; otherwise ValueError naming the argument that makes it
    large (of the budget's option, replicates, the round limit and d, the one whose smallest value
    alone shrinks the memory most), as ``option`` spells it.

    Returns
    -------
    (seconds, drivers) : the estimated seconds, and for each argument that multiplies them
        (``d``, the budget's option: ``cap``, ``budgets``, ``pretrain_samples`` or ``round_samples``,
        ``replicates``, and ``n_max`` or ``p_cot`` that sets the round limit) its factor relative to
        the README's example (d = 16, p = 0.25, cap 2^20, R = 10), so the caller can name the largest.
    """
    d, p = check_d(d, 3), check_prob("p_cot", p)
    if p == 0:
        raise ValueError("p_cot: must be in (0, 1] (with p = 0 no long answer is ever kept)")
    if route not in ROUTES:
        raise ValueError(f"route: must be one of {', '.join(ROUTES)}, got {route!r}")
    R = check_int("replicates", replicates, 1)
    rounds_by = "p_cot" if n_max is None else "n_max"
    n_max = n_max_rounds(p) if n_max is None else check_int("n_max", n_max, 0)
    levels, search = budget_levels(b0, cap, budgets, pretrain_samples, round_samples, option)
    sizes = [level_sizes(float(B), pretrain_samples, round_samples) for B in levels]
    top = sizes[-1]
    # the options that set the sizes: the searched budget's range, and each fixed size
    sums = {k: sum(s[i] for s in sizes) for i, k in enumerate(("pretrain_samples", "round_samples"))}
    size_by = {k: sums[k] for k, v in (("pretrain_samples", pretrain_samples), ("round_samples", round_samples))
               if v is not None}
    if pretrain_samples is None or round_samples is None:   # the searched size's range
        size_by["budgets" if budgets is not None else "cap"] = sums["pretrain_samples" if pretrain_samples is None
                                                                    else "round_samples"]
    full = route == "full"

    def need(d, T, N, n_max, R):   # bytes: the level at (T, N), and what every replicate holds
        held_out = n_eval * d if full and d > MAX_ENUM_D else 0.0   # int8 held-out inputs
        return (full_level_bytes(d, T, n_max, N) if full else 0.0) + R * (_PER_REPLICATE_BYTES + held_out)

    n_ev = 2.0 ** d if d <= MAX_ENUM_D else float(n_eval)
    if full:
        a, b = _ROUND_PER_INPUT
        sec = R * (sums["pretrain_samples"] * _PRETRAIN_PER_INPUT * (d + p * d * d)
                   + sums["round_samples"] * n_max * (a * d + b * d * d)
                   + sum(sim.resampled_inputs(n, d, sim.FIGURE_STAR_OPTIONS["epochs"]) for _, n in sizes)
                   * n_max * (_SAMPLE_PER_INPUT[0] * d + _SAMPLE_PER_INPUT[1] * d * d)
                   + len(levels) * ((n_max + 1) * (_EVAL_PER_INPUT * n_ev * d * d + _PER_ROUND)))
        per_d = (a + b * d) * d / (16 * (a + b * 16))
    else:
        a, b = _STATS_ROUND
        sec = R * len(levels) * (n_max + 1) * (a + b * d)
        per_d = (a + b * d) / (a + b * 16)
    drivers = {"d": per_d, **{k: v / _REF_SUM_B for k, v in size_by.items()}, "replicates": R / 10,
               rounds_by: (n_max + 1) / (n_max_rounds(0.25) + 1)}
    if need(d, *top, n_max, R) > max_bytes():
        # name the argument that alone, at its smallest, would fit (the largest against the README's
        # example if several would); if none would, the one that shrinks the need most. The budget at
        # its smallest is 1 (--cap and --b0 lowered together: with b0 = cap, lowering --cap alone is no
        # option, and the round limit would be named for what the budget does)
        one = {"pretrain_samples": (1.0, top[1]), "round_samples": (top[0], 1.0),
               "budgets": level_sizes(1.0, pretrain_samples, round_samples)}
        lower = {**{k: need(d, *one.get(k, one["budgets"]), n_max, R) for k in size_by},
                 "replicates": need(d, *top, n_max, 1), rounds_by: need(d, *top, 0, R), "d": need(3, *top, n_max, R)}
        fit = [k for k in lower if lower[k] <= max_bytes()]
        big = max(fit, key=drivers.get) if fit else min(lower, key=lower.get)
        grid = (f"{option('b0')} {levels[0]}, {option('cap')} {levels[-1]}" if search else
                f"budgets up to {levels[-1]}")
        raise ValueError(f"{option(big)}: the search needs about {fmt_bytes(need(d, *top, n_max, R))} of memory "
                         f"at d = {d}, {grid} (largest T {top[0]:.0f}, N {top[1]:.0f}), {option('replicates')} {R}, "
                         f"{n_max} rounds, more "
                         f"than the {fmt_bytes(max_bytes())} available (LINPARITY_MAX_BYTES changes the limit); "
                         "lower it")
    return sec, drivers
