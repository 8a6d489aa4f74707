"""Sample complexity against d on FULL weights (THEORY §5-6), beside the shortcut route.

Two routes measure the same quantity: the smallest budget B at which at least ``frac`` (90%) of R
replicates reach greedy accuracy >= ``level`` (0.99), the total samples that used, and the success
curve over the budgets tried with B90, where a logistic fit of it in ln B crosses 90%
(:mod:`linparity.experiments.samples_fit`; failed replicates count).

* ``route="full"`` (this module): every head is a full weight vector, trained on sampled data.
  Pre-training is Algorithm 3 (THEORY §3) on T fresh samples of D(p)
  (``Mixture.sample`` + :func:`linparity.simulate.fit_sample_chunks`); then STaR rounds as THEORY §6
  states Algorithm 1 (:func:`linparity.simulate.star_round`): N fresh inputs, one response each
  at tau = 1, keep reward-1 ('cot') pairs, update. Variant ``continue`` (the paper's, default): E = 2
  epochs of mini-batch NTP SGD from the current weights (``simulate.FIGURE_STAR_OPTIONS``); variant
  ``refit``: Algorithm 3 from zero on the kept set. The estimation error of every weight vector
  (what Props 1-3 bound, and where d enters) is simulated.
* ``route="stats"`` (:mod:`linparity.experiments.scaling`): exact type counts, every head refit to
  its regularised optimum on the empirical mixture: the infinite-precision-estimation reference.

Schedule (both routes): T pre-training samples, then rounds of N inputs, at most ``n_max`` rounds,
stopping a replicate at its first success; T and N are each fixed or the budget B (default T = N =
B; :mod:`linparity.experiments.samples_work`), B doubled from b0 to cap or taken from a grid.
Success is checked before every round on held-out inputs: all 2^d inputs for d <= 12 (exact), else
``n_eval`` >= 4096 fresh inputs per replicate (standard error sqrt(a (1-a)/n_eval) reported). A
replicate's total is T + N (rounds used).

Which head fails first: for every replicate of the last budget that failed (the one just below
success) the start model (after pre-training) is compared with the closed-form regularised optimum
on D(p) (:func:`linparity.closed_form.ntp_optimum`) factor by factor of
pi(L(x)|x) = P(y_1 = x_1) P(go on | x_1) prod_l P(bit l right): ln(measured factor / optimum
factor), each factor averaged over inputs, for head 1, the stop head and the chain (product over
l). The head with the largest |log ratio| is the one furthest from its calibrated target.

Distinct prompts (THEORY §8): full route, the exact number of distinct inputs x in pre-training
and all rounds of a replicate for d < 128 (counted on the inputs drawn, as ``star_round`` draws
them); for d >= 128 the number of inputs drawn, which is the number of distinct ones except with
probability <= n^2 / 2^(d+1) < 2^-75 for n <= 2^53 draws (holding every key would make the memory
grow with the budget); stats route (no inputs are drawn), the expected number 2^d (1 - (1 - 2^-d)^n)
for n uniform draws.

Memory: a replicate holds one chunk of ``simulate.STREAM_CHUNK`` = 2^16 inputs at a time, in
pre-training and in every round (:func:`linparity.simulate.star_round` streams a round of N > 2^16
inputs, regenerating each chunk from the round-start weights and the chunk's seed in every epoch past
the first but for the kept pairs it caches, at most ``simulate.STREAM_CACHE_BYTES``), so the peak is
bounded whatever T or N (:func:`full_level_bytes`). Where T and N are <= 2^16 the
numbers are those of the unstreamed computation; above, the random stream (and so each replicate's
numbers, not their distribution) differs from the version that held whole rounds.

Shipped runs: the sweeps of ``examples/*.toml`` were run once and their results committed under
``examples/runs``; :func:`shipped_full_points`, :func:`pooled_shipped_totals` and
:func:`smallest_totals` (:mod:`linparity.experiments.samples_runs`) read them from ``runs=``, by
default :func:`runs_dir`: the folder named by ``$LINPARITY_RUNS`` when set, else the repository's
``examples/runs`` when linparity runs from a checkout, else a ValueError saying to set
``LINPARITY_RUNS`` (an installed package holds no ``examples/``).
"""
from __future__ import annotations

import time

import numpy as np

from .. import closed_form as cf
from .. import simulate as sim
from .._checks import check_d, check_int, check_nonneg, check_prob, spawn
from .._progress import Progress
from .._validate import check_alloc
from ..data import MAX_ENUM_D, DistinctInputs, Mixture, all_inputs, expected_distinct, long_response, sample_inputs
from ..heads import lam_triple
from ..sweep import check_param_names, register_task
from . import scaling as sc
from .samples_fit import fit_b90
from .samples_work import (EXACT_DISTINCT_D, ROUTES, budget_levels, full_level_bytes, level_sizes, n_max_rounds,
                           samples_work)
# the readers of the shipped runs, re-exported: callers know them as samples.*
from .samples_runs import EXAMPLE_RUNS, RUNS_ENV, pooled_shipped_totals, runs_dir, shipped_full_points, smallest_totals

__all__ = ["ROUTES", "VARIANTS", "HEADS", "n_max_rounds", "full_level_bytes", "samples_work", "budget_levels",
           "fit_b90", "full_weight_level",
           "stats_level", "search_budget",
           "samples_search", "samples_task", "head_log_ratios", "head_errors",
           "RUNS_ENV", "EXAMPLE_RUNS", "runs_dir", "shipped_full_points", "pooled_shipped_totals", "smallest_totals"]

VARIANTS = ("continue", "refit")
#: the three parts of the model compared with their calibrated targets
HEADS = ("head1", "stop", "chain")


def head_log_ratios(W: sim.BatchedAR, X, theta_opt) -> np.ndarray:
    """ln(measured / optimum) for each factor of pi(L(x)|x), averaged over the inputs X ``(n, d)``.

    Teacher-forced on the long chain L(x) (linparity.simulate.score): head 1's P(y_1 = x_1), the
    stop head's P(go on | x, x_1), and the chain's prod_l P(bit l right | L prefix), each averaged
    over x; the optimum's factors are sigma(a), sigma(-(b+c)) and prod_l sigma(c_l) at theta_opt
    ``(d+2,)`` (the same for every x on the reduced subspace). Returns ``(R, 3)`` in the order of
    :data:`HEADS` (0: on target; negative: the factor is too small; -inf: zero for every x).
    """
    L = long_response(X)
    g1, g2, gc, _ = sim.score(W, X, L, 1.0)             # t sigma(-t u): (R, n), (R, n), (R, n, d-1)
    x1 = np.asarray(X[:, 0], dtype=np.float64)
    p1 = 1.0 - g1 * x1                                  # P(y_1 = x_1): g1 = x_1 sigma(-x_1 u1)
    p_go = 1.0 + g2                                     # long row: g2 = -sigma(u2) = -P(EOS)
    yc = np.asarray(L[:, 1:-1], dtype=np.float64)       # (n, d-1) wanted chain bits
    p_chain = np.prod(1.0 - gc * yc, axis=-1)           # prod_l P(bit l right)
    th = np.asarray(theta_opt, dtype=np.float64)
    opt = np.array([_expit(th[0]), _expit(-(th[1] + th[2])), np.prod(_expit(th[3:]))])
    meas = np.stack([p1.mean(1), p_go.mean(1), p_chain.mean(1)], axis=1)
    with np.errstate(divide="ignore"):
        return np.log(meas) - np.log(opt)


def head_errors(W: sim.BatchedAR, X) -> np.ndarray:
    """Greedy error rate of each head on the long chain L(x) (teacher forced), ``(R, 3)`` in the order
    of :data:`HEADS`: fraction of inputs X ``(n, d)`` where head 1's greedy token is not x_1, where
    the stop head stops after y_1 = x_1 (EOS more likely than going on), and where some chain bit's
    greedy value is wrong given the correct prefix (linparity.simulate.score probabilities; a
    logit of exactly 0 is counted as an error, a measure-zero event)."""
    L = long_response(X)
    g1, g2, gc, _ = sim.score(W, X, L, 1.0)
    x1 = np.asarray(X[:, 0], dtype=np.float64)
    yc = np.asarray(L[:, 1:-1], dtype=np.float64)
    return np.stack([(g1 * x1 >= 0.5).mean(1), (-g2 > 0.5).mean(1), ((gc * yc) >= 0.5).any(-1).mean(1)], axis=1)


def _expit(u):
    return 1.0 / (1.0 + np.exp(-u))


def _accuracy(W, Xe) -> np.ndarray:
    """Greedy accuracy ``(R,)`` of each replicate on its own inputs Xe ``(R, n, d)``."""
    G = sim.greedy_responses(W, Xe)                                           # (R, n, d+1)
    nb = (G != 0).sum(-1)
    last = np.take_along_axis(G, (nb - 1)[..., None], axis=-1)[..., 0]
    return (last == np.prod(Xe, axis=-1, dtype=np.int8)).mean(-1)


def full_weight_level(d, p, lam, budget, n_max, gens, variant="continue", level=0.99, n_eval=4096,
                      diagnose=False, *, round_samples=None) -> dict:
    """R replicates of the full-weight pipeline at one level (one Generator per replicate).

    Pre-training: Algorithm 3 on T = ``budget`` samples of D(p); then up to ``n_max`` STaR rounds of
    N = ``round_samples`` inputs (default T; reward 'cot', tau = 1, ``variant``), a replicate stopping
    at its first success (greedy accuracy >= ``level`` on its held-out inputs, checked before every
    round). Replicate r uses ``gens[r]`` only (children: pre-training, STaR, evaluation) and the
    replicates run one after the other, so its numbers and the memory (:func:`full_level_bytes`) do
    not depend on R.

    Returns arrays ``(R,)``: ``success`` (bool), ``rounds`` (rounds used; n_max where it failed),
    ``total`` (T + N rounds; inf where it failed), ``distinct`` (distinct inputs seen),
    ``accuracy`` and ``accuracy_se`` (last evaluation; se 0 when exact over all 2^d inputs),
    ``kept_long`` (kept long samples over all rounds), and with ``diagnose`` ``start_log_ratio``
    ``(R, 3)`` (:func:`head_log_ratios` of the pre-trained model vs the closed-form optimum) and
    ``final_errors`` ``(R, 3)`` (:func:`head_errors` of the last model of each replicate that failed;
    nan for those that succeeded). The diagnostic inputs are all 2^d inputs for d <= 12, else the
    held-out inputs of replicate 0.
    """
    d, p = check_d(d, 3), check_prob("p", p)
    T, n_max = check_int("budget", budget, 1), check_int("n_max", n_max, 0)
    N = T if round_samples is None else check_int("round_samples", round_samples, 1)
    if variant not in VARIANTS:
        raise ValueError(f"variant: must be one of {', '.join(VARIANTS)}, got {variant!r}")
    lams = lam_triple(lam, positive=True)
    check_alloc("budget", full_level_bytes(d, T, n_max, N))   # refused by name, not killed for memory
    streams = [spawn(g, 3) for g in gens]                 # (pre-training, STaR, evaluation) per replicate
    Xe = ([all_inputs(d)] * len(gens) if d <= MAX_ENUM_D       # held-out inputs per replicate
          else [sample_inputs(check_int("n_eval", n_eval, 4096), d, s[2]) for s in streams])
    cfg = sim.StarConfig(rounds=1, samples=N, lam=lams, **{**sim.FIGURE_STAR_OPTIONS, "variant": variant})
    keys = ("success", "rounds", "total", "distinct", "accuracy", "accuracy_se", "kept_long")
    rows = [_full_replicate(d, p, lams, T, n_max, s, cfg, level, x) for s, x in zip(streams, Xe)]
    out = {k: np.array([row[k] for row in rows]) for k in keys}
    if diagnose:
        theta_opt = cf.ntp_optimum(d, p, lams)
        out["start_log_ratio"] = np.stack([head_log_ratios(row["start"], Xe[0], theta_opt)[0] for row in rows])
        out["final_errors"] = np.stack([np.full(3, np.nan) if row["success"] else head_errors(row["last"], Xe[0])[0]
                                        for row in rows])
    return out


def _full_replicate(d, p, lams, T, n_max, streams, cfg, level, Xe) -> dict:
    """One replicate of :func:`full_weight_level` on its streams (pre-training, STaR, evaluation)
    and held-out inputs Xe ``(n, d)``: its scalars and its start and last models (BatchedAR, R = 1).

    Streamed: pre-training draws its T samples in chunks of ``cfg.chunk`` (``Mixture.sample`` on the
    pre-training stream, one chunk after the other) and fits them as they come
    (:func:`linparity.simulate.fit_sample_chunks`); the rounds stream likewise (``star_round``). With
    T and N <= chunk that is the unstreamed computation, number for number."""
    seen = DistinctInputs(d) if d < EXACT_DISTINCT_D else None
    mix, N = Mixture(d, p), cfg.samples

    def pretrain_chunks():
        for s in range(0, T, cfg.chunk):
            X, Y = mix.sample(min(cfg.chunk, T - s), streams[0])
            if seen is not None:
                seen.add(X)
            yield X, Y
    W = start = sim.BatchedAR.stack([sim.fit_sample_chunks(pretrain_chunks(), d, lams, T)])
    row = {"success": False, "rounds": n_max, "total": np.inf, "accuracy_se": 0.0, "kept_long": 0.0}
    for n in range(n_max + 1):
        acc = float(_accuracy(W, Xe[None])[0])
        row["accuracy"] = acc
        if d > MAX_ENUM_D:
            row["accuracy_se"] = float(np.sqrt(acc * (1 - acc) / Xe.shape[0]))
        if acc >= level:
            row.update(success=True, rounds=n, total=float(T + N * n))
            break
        if n == n_max:
            break
        W, stats = sim.star_round(W, cfg, [streams[1]], None if seen is None else [seen])
        row["kept_long"] += float(stats["kept_fraction"][0] * np.nan_to_num(stats["q"][0]) * N)
    row.update(distinct=float(T + N * row["rounds"] if seen is None else len(seen)), start=start, last=W)
    return row


def stats_level(d, p, lam, budget, n_max, gens, level=0.99, *, round_samples=None) -> dict:
    """The sufficient-statistics route at one level: T = ``budget``, N = ``round_samples`` (default T)
    (scaling.samples_to_generalise per replicate).

    Returns ``success``, ``rounds``, ``total`` (arrays ``(R,)``) and ``distinct``: the expected
    number of distinct inputs among ``total`` uniform draws (data.expected_distinct; no inputs are
    drawn in this route), at the samples used (failed replicates: T + N n_max).
    """
    T = check_int("budget", budget, 1)
    N = T if round_samples is None else check_int("round_samples", round_samples, 1)
    tot = np.array([sc.samples_to_generalise(d, p, lam, T, n_max, g, level, round_samples=N) for g in gens])
    ok = np.isfinite(tot)
    rounds = np.where(ok, np.nan_to_num((tot - T) / N, posinf=0), n_max).astype(np.int64)
    used = np.where(ok, tot, T + N * n_max)
    return {"success": ok, "rounds": rounds, "total": tot,
            "distinct": np.array([expected_distinct(d, u) for u in used])}


def search_budget(run_level, rng, replicates, b0=8, cap=2 ** 20, frac=0.9, progress: bool = False, *,
                  budgets=None) -> dict:
    """The levels of the budget search. Doubling (``budgets`` None): B = b0, 2 b0, ... <= cap, stopping
    at the first budget at which >= ``frac`` of the R replicates succeed. Grid: every B of the
    increasing list ``budgets``, all run. Level k runs ``run_level(B, gens)`` with R fresh children of
    ``rng`` (the same children in both modes for the same k).

    Returns ``budget`` (the first B with >= ``frac`` successes; inf if none), ``level`` (that level's
    output dict, or the last one run), ``below`` (the level before it, None if none), ``levels``
    (every level's output), ``tried`` ([B, success fraction] per level) and ``curve`` ([B, successes,
    R] per level). ``progress`` shows each level's B and success fraction on stderr.
    """
    R = check_int("replicates", replicates, 1)
    if budgets is None:
        B, cap = check_int("b0", b0, 1), check_int("cap", cap, 1)
        if cap < B:
            raise ValueError(f"cap: must be >= b0 (the first budget of the doubling search), got cap {cap} < b0 {B}")
        budgets = [B * 2 ** k for k in range((cap // B).bit_length())]
        stop = True
    else:
        budgets, stop = [check_int("budgets", B, 1) for B in budgets], False
    tried, curve, levels, found = [], [], [], None
    # at most this many levels: the doubling search stops at the first one that succeeds
    with Progress(len(budgets), "samples", "budgets", progress) as bar:
        for B in budgets:
            levels.append(run_level(B, spawn(rng, R)))
            k = int(np.sum(levels[-1]["success"]))
            tried.append([B, k / R])
            curve.append([B, k, R])
            bar.update(B=B, success=round(k / R, 2))
            if k >= frac * R and found is None:
                found = len(levels) - 1
                if stop:
                    break
    if found is None:        # the last level stands for both (its failed replicates are diagnosed)
        return {"budget": np.inf, "level": levels[-1], "below": levels[-1], "levels": levels, "tried": tried,
                "curve": curve}
    return {"budget": float(budgets[found]), "level": levels[found], "below": levels[found - 1] if found else None,
            "levels": levels, "tried": tried, "curve": curve}


def samples_search(d, p, route="full", variant=None, lam=None, replicates=10, rng=None, *, n_max=None,
                   b0=None, cap=None, budgets=None, pretrain_samples=None, round_samples=None, frac=0.9,
                   level=0.99, n_eval=4096, progress: bool = False) -> dict:
    """Smallest budget B at which >= ``frac`` of R replicates generalise, and the success curve's B90.

    Parameters
    ----------
    d : int >= 3; p : float in (0, 1]
    route : 'full' (full weights, simulated) or 'stats' (sufficient statistics, heads at their optimum)
    variant : 'continue' (default) or 'refit' for the full route; must be None for 'stats'
    lam : per-head lambdas, default experiments.ntp.default_lam(d) = (0.01, 0.01, 0.01/d)
    replicates : R >= 1; rng : None/int/SeedSequence/Generator
    n_max : round limit, default :func:`n_max_rounds` (n*(p) + 10)
    b0, cap : doubling range of B (default 8, 2^20); budgets : an increasing grid of B instead, every
        budget run with all R replicates (not with b0, cap)
    pretrain_samples, round_samples : T and N fixed; the one not fixed is B (neither: T = N = B; both:
        one level, recorded at B = N; :mod:`linparity.experiments.samples_work`)
    progress : bool, show each budget tried and its success fraction on stderr

    Returns
    -------
    dict (JSON-able; every number finite, None where it is undefined) with ``d``, ``p_cot``, ``route``,
    ``variant``, ``lam``, ``replicates``, ``n_max``, ``pretrain_samples``, ``round_samples`` (None where
    searched), ``budget`` (B; None if no budget tried reached ``frac``: the levels tried are still
    reported), ``long_pretrain_samples`` (p T at that B), ``total_samples_mean`` / ``total_samples_se``
    (mean and its standard error of T + N rounds over the replicates that succeeded at B),
    ``rounds_mean`` / ``rounds_se`` (rounds those replicates used), ``success_fraction``,
    ``distinct_inputs_mean``, ``tried`` ([B, success fraction] per level), ``success_curve`` ([B,
    successes, replicates] per level, failed replicates counted), ``rounds_curve`` ([B, mean, se] of
    the rounds the successful replicates used, per level), ``b90``, ``b90_ci``, ``b90_reason``,
    ``b90_slope`` (:func:`linparity.experiments.samples_fit.fit_b90` on the success curve: logistic
    in ln B by maximum likelihood, 95% profile-likelihood interval), ``totals`` (per replicate at B,
    None where it failed), ``seconds``; full route also ``accuracy_mean``, ``accuracy_se`` (mean
    Monte Carlo se; 0 when exact) and ``below``: at the budget just below B, the mean log ratio per
    head (:data:`HEADS`) of the pre-trained model to the closed-form optimum and ``worst_head``
    (largest mean |log ratio|) with ``worst_head_counts``, and ``final_errors``: each head's greedy
    error rate on L(x) in the last model of the failed replicates.

    Raises ValueError naming the argument before any work: bad sizes or combinations (a grid with b0
    or cap, a grid or b0/cap with both T and N fixed, ``cap < b0``, a grid not increasing), or
    memory that does not fit (:func:`samples_work`).
    """
    return _finite_or_none(_search(d, p, route, variant, lam, replicates, rng, n_max=n_max, b0=b0, cap=cap,
                                   budgets=budgets, pretrain_samples=pretrain_samples, round_samples=round_samples,
                                   frac=frac, level=level, n_eval=n_eval, progress=progress))


def _mean_se(v) -> tuple[float, float]:
    """Mean and its standard error (ddof = 1) of the values v; nan where undefined (< 1 or < 2 values)."""
    v = np.asarray(v, dtype=np.float64)
    return (v.mean() if v.size else np.nan, v.std(ddof=1) / np.sqrt(v.size) if v.size > 1 else np.nan)


def _search(d, p, route="full", variant=None, lam=None, replicates=10, rng=None, *, n_max=None,
            b0=None, cap=None, budgets=None, pretrain_samples=None, round_samples=None, frac=0.9, level=0.99,
            n_eval=4096, progress=False) -> dict:
    """:func:`samples_search` with NaN where a number is undefined and inf for a failed replicate's
    total and a budget past the cap (the form :func:`samples_task` stores)."""
    t0 = time.perf_counter()
    size = dict(pretrain_samples=pretrain_samples, round_samples=round_samples)
    samples_work(d, p, route, replicates, n_max, b0, cap, n_eval, budgets=budgets, **size)   # before any work
    d, p = check_d(d, 3), check_prob("p_cot", p)
    if route == "stats" and variant is not None:
        raise ValueError("variant: applies to --route full only (the stats route refits every head to its optimum)")
    variant = ("continue" if variant is None else variant) if route == "full" else "optimum"
    if route == "full" and variant not in VARIANTS:
        raise ValueError(f"variant: must be one of {', '.join(VARIANTS)}, got {variant!r}")
    lams = lam_triple((0.01, 0.01, 0.01 / d) if lam is None else lam, positive=True)
    if route == "full":        # the 'continue' step's decay limit on the lambdas, before any work
        sim.StarConfig(rounds=1, samples=1, lam=lams, **{**sim.FIGURE_STAR_OPTIONS, "variant": variant})
    n_max = n_max_rounds(p) if n_max is None else check_int("n_max", n_max, 0)
    R = check_int("replicates", replicates, 1)
    if not 0 < float(frac) <= 1:
        raise ValueError(f"frac: must be in (0, 1], got {frac}")
    grid, search = budget_levels(b0, cap, budgets, **size)
    level_fn = full_weight_level if route == "full" else stats_level
    extra = dict(variant=variant, level=level, n_eval=n_eval, diagnose=True) if route == "full" else dict(level=level)

    def run(B, gens):
        T, N = level_sizes(B, **size)
        return level_fn(d, p, lams, T, n_max, gens, round_samples=N, **extra)
    s = search_budget(run, np.random.default_rng(rng) if not isinstance(rng, np.random.Generator) else rng,
                      R, frac=frac, progress=progress, **({"b0": grid[0], "cap": grid[-1]} if search else
                                                          {"budgets": grid}))
    lv = s["level"]
    tot = lv["total"][np.isfinite(lv["total"])]
    ok = lv["success"]
    T_at = level_sizes(s["budget"], **size)[0]
    rounds_curve = [[B, *_mean_se(v["rounds"][v["success"]])] for (B, _, _), v in zip(s["curve"], s["levels"])]
    fit = fit_b90(s["curve"], 0.9)
    out = {"d": d, "p_cot": p, "route": route, "variant": variant, "lam": list(lams), "replicates": R,
           "n_max": n_max, **{k: np.nan if v is None else v for k, v in size.items()}, "budget": s["budget"],
           "long_pretrain_samples": p * T_at, "total_samples_mean": tot.mean() if tot.size else np.nan,
           "total_samples_se": _mean_se(tot)[1], "rounds_mean": _mean_se(lv["rounds"][ok])[0],
           "rounds_se": _mean_se(lv["rounds"][ok])[1], "success_fraction": ok.mean(),
           "distinct_inputs_mean": lv["distinct"].mean(), "tried": s["tried"], "success_curve": s["curve"],
           "rounds_curve": rounds_curve,
           **{k: np.nan if fit[k] is None else fit[k] for k in ("b90", "b90_reason", "b90_slope")},
           "b90_ci": [np.nan if v is None else v for v in fit["b90_ci"]], "totals": list(lv["total"])}
    if route == "full":
        out["accuracy_mean"] = lv["accuracy"].mean()
        out["accuracy_se"] = lv["accuracy_se"].mean()
        if s["below"] is not None:
            out["below"] = _diagnosis(s["below"])
    out["seconds"] = time.perf_counter() - t0
    return out


def _reason(r) -> str:
    """The stored form of ``b90_reason``: the text, or '' when B90 was fitted (NaN in :func:`_search`)."""
    return r if isinstance(r, str) else ""


def _finite_or_none(o):
    """``o`` with every number as a Python float or int, None where it is NaN or infinite (undefined:
    no replicate succeeded, the cap was passed, a head factor of 0), through dicts and lists."""
    if isinstance(o, dict):
        return {k: _finite_or_none(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_finite_or_none(v) for v in o]
    if isinstance(o, (float, np.floating)):
        return float(o) if np.isfinite(o) else None
    return o


def _diagnosis(lv) -> dict:
    """Head diagnosis of one level's failed replicates (all replicates if none failed)."""
    lr = lv["start_log_ratio"][~lv["success"]] if (~lv["success"]).any() else lv["start_log_ratio"]
    worst = np.argmax(np.abs(lr), axis=1)                                     # (n_failed,)
    mean = lr.mean(0)
    fe = lv["final_errors"][~lv["success"]]
    return {"log_ratio": dict(zip(HEADS, mean.tolist())), "worst_head": HEADS[int(np.argmax(np.abs(mean)))],
            "worst_head_counts": {h: int((worst == i).sum()) for i, h in enumerate(HEADS)},
            "n_failed": int((~lv["success"]).sum()),
            "final_errors": dict(zip(HEADS, fe.mean(0).tolist() if fe.size else [np.nan] * 3))}


#: the parameters of the ``linparity.samples`` task (besides d and one of p, kappa) and their defaults
_TASK_DEFAULTS = dict(route="full", variant=None, lam=None, replicates=10, n_max=None, b0=None, cap=None,
                      budgets=None, pretrain_samples=None, round_samples=None, frac=0.9, level=0.99, n_eval=4096)


def _task_args(params: dict) -> dict:
    """The keyword arguments of :func:`_search` for a sweep point ``params`` (ValueError naming the
    parameter: unknown names, p and kappa both or neither, values out of range)."""
    check_param_names(params, ("d",), ("p", "kappa", *_TASK_DEFAULTS))
    if ("p" in params) == ("kappa" in params):
        raise ValueError(f"params: give exactly one of p and kappa (p = d^-kappa), got {sorted(params)}")
    d = check_d(params["d"], 3)
    if "kappa" in params:
        p = float(d) ** -check_nonneg("kappa", params["kappa"])
    else:
        p = check_prob("p", params["p"])
    a = {**_TASK_DEFAULTS, **{k: v for k, v in params.items() if k in _TASK_DEFAULTS}}
    if a["route"] != "full":
        a["variant"] = None
    return dict(d=d, p=p, **a)


def _check_task(params: dict) -> None:
    """Every check of :func:`samples_task` on ``params`` (sizes and memory), without running it."""
    a = _task_args(params)
    if a["route"] == "full" and a["variant"] is not None and a["variant"] not in VARIANTS:
        raise ValueError(f"variant: must be one of {', '.join(VARIANTS)}, got {a['variant']!r}")
    if a["lam"] is not None:
        lam_triple(a["lam"], positive=True)
    samples_work(a["d"], a["p"], a["route"], a["replicates"], a["n_max"], a["b0"], a["cap"], a["n_eval"],
                 budgets=a["budgets"], pretrain_samples=a["pretrain_samples"], round_samples=a["round_samples"])


@register_task("linparity.samples", check=_check_task)
def samples_task(params: dict, rng: np.random.Generator) -> dict:
    """One (d, p) point of the sample-complexity search on either route (the F5 grid, examples/ specs).

    params: d, and p or kappa (p = d^-kappa); route ('full' | 'stats'), variant (full route:
    'continue' | 'refit'), lam (triple; default (0.01, 0.01, 0.01/d)), replicates R, n_max (default
    n*(p) + 10), b0, cap (default 8, 2^20) or budgets (a list: the grid), pretrain_samples,
    round_samples (T, N fixed; :func:`samples_search`), frac (0.9), level (0.99), n_eval (4096); any
    other name is refused. Returns the scalars of :func:`samples_search` (nan where undefined, also
    pretrain_samples and round_samples where searched; budget inf if no budget reached frac),
    ``b90_reason`` (a string, empty when B90 was fitted), ``lam`` ``(3,)``, ``b90_ci`` ``(2,)``,
    ``totals`` ``(R,)`` (inf where a replicate failed), ``tried`` ``(k, 2)``, ``success_curve`` and
    ``rounds_curve`` ``(k, 3)``, and for the full route
    ``log_ratio`` ``(3,)``, ``worst_counts`` ``(3,)`` and ``final_errors`` ``(3,)`` (mean over the
    replicates that failed) at the budget below success (:data:`HEADS` order; nan / 0 when the first
    budget already succeeded).
    """
    a = _task_args(params)
    d, p, route = a.pop("d"), a.pop("p"), a.pop("route")
    res = _search(d, p, route, a.pop("variant"), a.pop("lam"), a.pop("replicates"), rng, **a)
    out = {k: float(res[k]) for k in ("budget", "total_samples_mean", "total_samples_se", "rounds_mean", "rounds_se",
                                      "success_fraction", "distinct_inputs_mean", "seconds", "pretrain_samples",
                                      "round_samples", "long_pretrain_samples", "b90", "b90_slope")}
    out.update(p=p, n_max=float(res["n_max"]), totals=np.array(res["totals"], dtype=float),
               tried=np.array(res["tried"], dtype=float).reshape(-1, 2), lam=np.array(res["lam"], dtype=float),
               b90_ci=np.array(res["b90_ci"], dtype=float), b90_reason=np.str_(_reason(res["b90_reason"])),
               **{k: np.array(res[k], dtype=float).reshape(-1, 3) for k in ("success_curve", "rounds_curve")})
    if route == "full":
        out["accuracy_mean"] = res["accuracy_mean"]
        b = res.get("below")
        out["log_ratio"] = np.array([b["log_ratio"][h] for h in HEADS]) if b else np.full(3, np.nan)
        out["worst_counts"] = np.array([b["worst_head_counts"][h] for h in HEADS], float) if b else np.zeros(3)
        out["final_errors"] = np.array([b["final_errors"][h] for h in HEADS]) if b else np.full(3, np.nan)
    return out
