"""Sample complexity against d on FULL weights (THEORY §5-6), beside the shortcut route.

Two routes measure the same quantity: the smallest per-round budget B at which at least ``frac``
(90%) of R replicates reach greedy accuracy >= ``level`` (0.99), and the total samples that used.

* ``route="full"`` (this module): every head is a full weight vector, trained on sampled data.
  Pre-training is Algorithm 3 (THEORY §3) on T = B fresh samples of D(p)
  (``Mixture.sample`` + :func:`linparity.simulate.fit_samples`); then STaR rounds as THEORY §6
  states Algorithm 1 (:func:`linparity.simulate.star_round`): N = B fresh inputs, one response each
  at tau = 1, keep reward-1 ('cot') pairs, update. Variant ``continue`` (the paper's, default): E = 2
  epochs of mini-batch NTP SGD from the current weights (``simulate.FIGURE_STAR_OPTIONS``); variant
  ``refit``: Algorithm 3 from zero on the kept set. The estimation error of every weight vector
  (what Props 1-3 bound, and where d enters) is simulated.
* ``route="stats"`` (:mod:`linparity.experiments.scaling`): exact type counts, every head refit to
  its regularised optimum on the empirical mixture: the infinite-precision-estimation reference.

Schedule (both routes): T = B, then rounds of N = B inputs, at most ``n_max`` rounds, stopping a
replicate at its first success. Success is checked before every round on held-out inputs: all 2^d
inputs for d <= 12 (exact), else ``n_eval`` >= 4096 fresh inputs per replicate (standard error
sqrt(a (1-a)/n_eval) reported). A replicate's total is B (1 + rounds used).

Which head fails first: for every replicate of the last budget that failed (the one just below
success) the start model (after pre-training) is compared with the closed-form regularised optimum
on D(p) (:func:`linparity.closed_form.ntp_optimum`) factor by factor of
pi(L(x)|x) = P(y_1 = x_1) P(go on | x_1) prod_l P(bit l right): ln(measured factor / optimum
factor), each factor averaged over inputs, for head 1, the stop head and the chain (product over
l). The head with the largest |log ratio| is the one furthest from its calibrated target.

Distinct prompts (THEORY §8): full route, the exact number of distinct inputs x in pre-training
and all rounds of a replicate (counted on the inputs drawn; STaR's inputs are redrawn from a copy
of the replicate's generator, which :func:`linparity.simulate.sample_kept` draws first, tested);
stats route (no inputs are drawn), the expected number 2^d (1 - (1 - 2^-d)^n) for n uniform draws.

Shipped runs: the sweeps of ``examples/*.toml`` were run once and their results committed under
``examples/runs``; :func:`shipped_full_points`, :func:`pooled_shipped_totals` and
:func:`smallest_totals` (:mod:`linparity.experiments.samples_runs`) read them from ``runs=``, by
default :func:`runs_dir`: the folder named by ``$LINPARITY_RUNS`` when set, else the repository's
``examples/runs`` when linparity runs from a checkout, else a ValueError saying to set
``LINPARITY_RUNS`` (an installed package holds no ``examples/``).
"""
from __future__ import annotations

import copy
import time

import numpy as np

from .. import closed_form as cf
from .. import simulate as sim
from .._checks import check_d, check_int, check_nonneg, check_prob, spawn
from .._progress import Progress
from .._validate import check_alloc, fmt_bytes, max_bytes
from ..data import MAX_ENUM_D, DistinctInputs, Mixture, all_inputs, expected_distinct, long_response, sample_inputs
from ..heads import lam_triple
from ..sweep import check_param_names, register_task
from . import scaling as sc
# the readers of the shipped runs, re-exported: callers know them as samples.*
from .samples_runs import EXAMPLE_RUNS, RUNS_ENV, pooled_shipped_totals, runs_dir, shipped_full_points, smallest_totals

__all__ = ["ROUTES", "VARIANTS", "HEADS", "n_max_rounds", "full_level_bytes", "samples_work", "full_weight_level",
           "stats_level", "search_budget",
           "samples_search", "samples_task", "head_log_ratios", "head_errors",
           "RUNS_ENV", "EXAMPLE_RUNS", "runs_dir", "shipped_full_points", "pooled_shipped_totals", "smallest_totals"]

ROUTES = ("full", "stats")
VARIANTS = ("continue", "refit")
#: the three parts of the model compared with their calibrated targets
HEADS = ("head1", "stop", "chain")


def n_max_rounds(p, extra=10) -> int:
    """Round limit n*(p) + ``extra`` (n*(p): first n with p_n > 1/3 in the ideal recursion,
    closed_form.n_star). The 'continue' variant needs up to n* + 6 rounds (measured at d = 12,
    p = 1/12, B = 16384: 10/10 replicates within n* + 6, 2/10 beyond n* + 4; docs/claims/theorem2.md),
    so a tighter limit makes the search buy rounds with budget."""
    ns = cf.n_star(check_prob("p", p))
    if not np.isfinite(ns):
        raise ValueError(f"p: must be > 0 for STaR to generalise, got {p}")
    return int(ns) + check_int("extra", extra, 0)


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


def full_level_bytes(d, budget, n_max) -> float:
    """Peak memory (bytes) of :func:`full_weight_level`, counted from the arrays of the one replicate
    it holds at a time: a round's inputs and responses (int8, B (2d+1)); the reward's checks and the
    distinct-input copy of the inputs (bool/int8 temporaries, <= 7 B d); the head logits and the
    uniforms (8 B (d+3)); one block of ``sim.DECODE_ROWS`` float rows (inputs and the chain heads'
    x-parts, 8 (3d-2) per row); the distinct-input keys (8 ceil(d/64) bytes per input drawn,
    B (n_max+1)). It does not grow with the number of replicates. At d = 128, B = 2^20, n_max = 11:
    2.7e9 (peak RSS measured at d = 128, B = 2^17 and 2^19: 0.55 and 1.4 GB including the interpreter
    and libraries, ~0.4 GB; before, all R replicates were held at once: 8.9 GB at R = 10, and a first
    version that also held all float inputs and chain logits was killed for memory at d = 64, R = 10)."""
    B = float(budget)
    return (B * (2 * d + 1) + 7 * B * d + 8 * B * (d + 3) + 8 * sim.DECODE_ROWS * (3 * d - 2)
            + 8 * -(-d // 64) * B * (n_max + 1))


# seconds of the work, measured on the development machine (2-core Xeon, single thread):
#: one STaR round on full weights, per input: a d + b d^2, fitted to BENCHMARKS.md 'cost' (4.6, 13.9 and
#: 50.6 us per input at d = 64, 128, 256; the fit gives 4.6, 14.6, 50.6)
_ROUND_PER_INPUT = (3.0e-8, 6.6e-10)
_PRETRAIN_PER_INPUT = 4e-8    # Algorithm 3, per sample and per (d + p d^2) weight touched
_EVAL_PER_INPUT = 2e-8        # a greedy evaluation, per held-out input and per d^2
_STATS_ROUND = (1e-3, 2.5e-4)  # one round of the stats route, a + b d (measured 3 ms at d = 16, 1.5 s at 8192)
_PER_ROUND = 5e-3             # Python overhead per round and replicate
_PER_REPLICATE_BYTES = 5e3    # a replicate's generators and scalars, held for all R at once


def samples_work(d, p, route="full", replicates=10, n_max=None, b0=8, cap=2 ** 20, n_eval=4096,
                 option=lambda name: name) -> tuple[float, dict]:
    """Check the sizes of :func:`samples_search` and estimate its time, before any work.

    The estimate is an upper bound: every budget B = b0, 2 b0, ... <= cap runs, and every replicate
    runs all ``n_max`` rounds (what the replicates that fail do; the search stops at the first
    budget where >= 90% succeed). Full route, per replicate and budget: Algorithm 3 on B samples,
    ``n_max`` STaR rounds of B inputs (per-input cost fitted to BENCHMARKS.md 'cost') and
    ``n_max + 1`` evaluations on the held-out inputs; stats route: ``n_max + 1`` rounds of cost
    a + b d, whatever B.

    Memory is checked here (a hard limit, as :func:`full_weight_level` refuses it too): the largest
    budget's level (:func:`full_level_bytes`) plus the generators and held-out inputs of all R
    replicates must fit in :func:`linparity._validate.max_bytes`; otherwise ValueError naming the
    argument that makes it large (of cap, replicates, the round limit and d, the one whose smallest
    value alone shrinks the memory most), as ``option`` spells it.

    Returns
    -------
    (seconds, drivers) : the estimated seconds, and for each argument that multiplies them
        (``d``, ``cap``, ``replicates``, and ``n_max`` or ``p_cot`` that sets the round limit) its
        factor relative to the README's example (d = 16, p = 0.25, cap 2^20, R = 10), so the caller
        can name the largest.
    """
    d, p = check_d(d, 3), check_prob("p_cot", p)
    if p == 0:
        raise ValueError("p_cot: must be in (0, 1] (with p = 0 no long answer is ever kept)")
    if route not in ROUTES:
        raise ValueError(f"route: must be one of {', '.join(ROUTES)}, got {route!r}")
    R = check_int("replicates", replicates, 1)
    rounds_by = "p_cot" if n_max is None else "n_max"
    n_max = n_max_rounds(p) if n_max is None else check_int("n_max", n_max, 0)
    b0, cap = check_int("b0", b0, 1), check_int("cap", cap, 1)
    if cap < b0:
        raise ValueError(f"{option('cap')}: must be >= {option('b0')} (the first budget of the doubling "
                         f"search), got {option('cap')} {cap} < {option('b0')} {b0}")
    levels = (cap // b0).bit_length()                      # B = b0 2^k <= cap for k < levels
    sum_b = float(b0) * (2.0 ** levels - 1)
    full = route == "full"

    def need(d, B, n_max, R):   # bytes: the level at budget B, and what every replicate holds
        held_out = n_eval * d if full and d > MAX_ENUM_D else 0.0   # int8 held-out inputs
        return (full_level_bytes(d, B, n_max) if full else 0.0) + R * (_PER_REPLICATE_BYTES + held_out)

    n_ev = 2.0 ** d if d <= MAX_ENUM_D else float(n_eval)
    if full:
        a, b = _ROUND_PER_INPUT
        sec = R * (sum_b * (_PRETRAIN_PER_INPUT * (d + p * d * d) + n_max * (a * d + b * d * d))
                   + levels * ((n_max + 1) * (_EVAL_PER_INPUT * n_ev * d * d + _PER_ROUND)))
        ref = 16 * (a + b * 16)
        per_d = (a + b * d) * d / ref
    else:
        a, b = _STATS_ROUND
        sec = R * levels * (n_max + 1) * (a + b * d)
        per_d = (a + b * d) / (a + b * 16)
    drivers = {"d": per_d, "cap": sum_b / (8.0 * (2 ** 18 - 1)), "replicates": R / 10,
               rounds_by: (n_max + 1) / (n_max_rounds(0.25) + 1)}
    if need(d, cap, n_max, R) > max_bytes():
        # name the argument that alone, at its smallest, would fit (the largest against the README's
        # example if several would); if none would, the one that shrinks the need most
        # the budget at its smallest is B = 1 (--cap and --b0 lowered together: with b0 = cap, lowering
        # --cap alone is no option, and the round limit would be named for what the budget does)
        lower = {"cap": need(d, 1, n_max, R), "replicates": need(d, cap, n_max, 1),
                 rounds_by: need(d, cap, 0, R), "d": need(3, cap, n_max, R)}
        fit = [k for k in lower if lower[k] <= max_bytes()]
        big = max(fit, key=drivers.get) if fit else min(lower, key=lower.get)
        raise ValueError(f"{option(big)}: the search needs about {fmt_bytes(need(d, cap, n_max, R))} of memory "
                         f"at d = {d}, {option('b0')} {b0}, {option('cap')} {cap}, {option('replicates')} {R}, {n_max} rounds, more "
                         f"than the {fmt_bytes(max_bytes())} available (LINPARITY_MAX_BYTES changes the limit); "
                         "lower it")
    return sec, drivers


def full_weight_level(d, p, lam, budget, n_max, gens, variant="continue", level=0.99, n_eval=4096,
                      diagnose=False) -> dict:
    """R replicates of the full-weight pipeline at one budget B (one Generator per replicate).

    Pre-training: Algorithm 3 on T = B samples of D(p); then up to ``n_max`` STaR rounds of N = B
    inputs (reward 'cot', tau = 1, ``variant``), a replicate stopping at its first success (greedy
    accuracy >= ``level`` on its held-out inputs, checked before every round). Replicate r uses
    ``gens[r]`` only (children: pre-training, STaR, evaluation) and the replicates run one after
    the other, so its numbers and the memory (:func:`full_level_bytes`) do not depend on R.

    Returns arrays ``(R,)``: ``success`` (bool), ``rounds`` (rounds used; n_max where it failed),
    ``total`` (B (1 + rounds); inf where it failed), ``distinct`` (distinct inputs seen),
    ``accuracy`` and ``accuracy_se`` (last evaluation; se 0 when exact over all 2^d inputs),
    ``kept_long`` (kept long samples over all rounds), and with ``diagnose`` ``start_log_ratio``
    ``(R, 3)`` (:func:`head_log_ratios` of the pre-trained model vs the closed-form optimum) and
    ``final_errors`` ``(R, 3)`` (:func:`head_errors` of the last model of each replicate that failed;
    nan for those that succeeded). The diagnostic inputs are all 2^d inputs for d <= 12, else the
    held-out inputs of replicate 0.
    """
    d, p = check_d(d, 3), check_prob("p", p)
    B, n_max = check_int("budget", budget, 1), check_int("n_max", n_max, 0)
    if variant not in VARIANTS:
        raise ValueError(f"variant: must be one of {', '.join(VARIANTS)}, got {variant!r}")
    lams = lam_triple(lam, positive=True)
    check_alloc("budget", full_level_bytes(d, B, n_max))   # refused by name, not killed for memory
    streams = [spawn(g, 3) for g in gens]                 # (pre-training, STaR, evaluation) per replicate
    Xe = ([all_inputs(d)] * len(gens) if d <= MAX_ENUM_D       # held-out inputs per replicate
          else [sample_inputs(check_int("n_eval", n_eval, 4096), d, s[2]) for s in streams])
    cfg = sim.StarConfig(rounds=1, samples=B, lam=lams, **{**sim.FIGURE_STAR_OPTIONS, "variant": variant})
    keys = ("success", "rounds", "total", "distinct", "accuracy", "accuracy_se", "kept_long")
    rows = [_full_replicate(d, p, lams, B, n_max, s, cfg, level, x) for s, x in zip(streams, Xe)]
    out = {k: np.array([row[k] for row in rows]) for k in keys}
    if diagnose:
        theta_opt = cf.ntp_optimum(d, p, lams)
        out["start_log_ratio"] = np.stack([head_log_ratios(row["start"], Xe[0], theta_opt)[0] for row in rows])
        out["final_errors"] = np.stack([np.full(3, np.nan) if row["success"] else head_errors(row["last"], Xe[0])[0]
                                        for row in rows])
    return out


def _full_replicate(d, p, lams, B, n_max, streams, cfg, level, Xe) -> dict:
    """One replicate of :func:`full_weight_level` on its streams (pre-training, STaR, evaluation)
    and held-out inputs Xe ``(n, d)``: its scalars and its start and last models (BatchedAR, R = 1)."""
    seen = DistinctInputs(d)
    X, Y = Mixture(d, p).sample(B, streams[0])
    seen.add(X)
    W = start = sim.BatchedAR.stack([sim.fit_samples(X, Y, lams)])
    del X, Y
    row = {"success": False, "rounds": n_max, "total": np.inf, "accuracy_se": 0.0, "kept_long": 0.0}
    for n in range(n_max + 1):
        acc = float(_accuracy(W, Xe[None])[0])
        row["accuracy"] = acc
        if d > MAX_ENUM_D:
            row["accuracy_se"] = float(np.sqrt(acc * (1 - acc) / Xe.shape[0]))
        if acc >= level:
            row.update(success=True, rounds=n, total=float(B * (1 + n)))
            break
        if n == n_max:
            break
        seen.add(sample_inputs(B, d, copy.deepcopy(streams[1])))   # the inputs star_round will draw
        W, stats = sim.star_round(W, cfg, [streams[1]])
        row["kept_long"] += float(stats["kept_fraction"][0] * np.nan_to_num(stats["q"][0]) * B)
    row.update(distinct=float(len(seen)), start=start, last=W)
    return row


def stats_level(d, p, lam, budget, n_max, gens, level=0.99) -> dict:
    """The sufficient-statistics route at one budget (scaling.samples_to_generalise per replicate).

    Returns ``success``, ``rounds``, ``total`` (arrays ``(R,)``) and ``distinct``: the expected
    number of distinct inputs among ``total`` uniform draws (data.expected_distinct; no inputs are
    drawn in this route), at the samples used (failed replicates: B (1 + n_max)).
    """
    B = check_int("budget", budget, 1)
    tot = np.array([sc.samples_to_generalise(d, p, lam, B, n_max, g, level) for g in gens])
    ok = np.isfinite(tot)
    rounds = np.where(ok, np.nan_to_num(tot / B - 1, posinf=0), n_max).astype(np.int64)
    used = np.where(ok, tot, B * (1 + n_max))
    return {"success": ok, "rounds": rounds, "total": tot,
            "distinct": np.array([expected_distinct(d, u) for u in used])}


def search_budget(run_level, rng, replicates, b0=8, cap=2 ** 20, frac=0.9, progress: bool = False) -> dict:
    """Doubling search over B = b0, 2 b0, ... <= cap for the first budget at which >= ``frac`` of
    the R replicates succeed. Level k runs ``run_level(B, gens)`` with R fresh children of ``rng``.

    Returns ``budget`` (inf if the cap is passed), ``level`` (that level's output dict, or the
    last one tried), ``below`` (the level before it, None if none) and ``tried`` (list of
    [B, success fraction]). ``progress`` shows each level's B and success fraction on stderr.
    """
    R = check_int("replicates", replicates, 1)
    B, cap = check_int("b0", b0, 1), check_int("cap", cap, 1)
    if cap < B:
        raise ValueError(f"cap: must be >= b0 (the first budget of the doubling search), got cap {cap} < b0 {B}")
    tried, prev, cur = [], None, None
    # at most this many levels: the search stops at the first one that succeeds
    with Progress((cap // B).bit_length(), "samples", "budgets", progress) as bar:
        while B <= cap:
            prev, cur = cur, run_level(B, spawn(rng, R))
            f = float(np.mean(cur["success"]))
            tried.append([B, f])
            bar.update(B=B, success=round(f, 2))
            if f >= frac:
                return {"budget": float(B), "level": cur, "below": prev, "tried": tried}
            B *= 2
    return {"budget": np.inf, "level": cur, "below": cur, "tried": tried}


def samples_search(d, p, route="full", variant=None, lam=None, replicates=10, rng=None, *, n_max=None,
                   b0=8, cap=2 ** 20, frac=0.9, level=0.99, n_eval=4096, progress: bool = False) -> dict:
    """Smallest per-round budget B at which >= ``frac`` of R replicates generalise (module docstring).

    Parameters
    ----------
    d : int >= 3; p : float in (0, 1]
    route : 'full' (full weights, simulated) or 'stats' (sufficient statistics, heads at their optimum)
    variant : 'continue' (default) or 'refit' for the full route; must be None for 'stats'
    lam : per-head lambdas, default experiments.ntp.default_lam(d) = (0.01, 0.01, 0.01/d)
    replicates : R >= 1; rng : None/int/SeedSequence/Generator
    n_max : round limit, default :func:`n_max_rounds` (n*(p) + 10); b0, cap : doubling range of B
    progress : bool, show each budget tried and its success fraction on stderr

    Returns
    -------
    dict (JSON-able; every number finite, None where it is undefined) with ``d``, ``p_cot``, ``route``,
    ``variant``, ``lam``, ``replicates``, ``n_max``, ``budget`` (B; None if no budget up to the cap
    succeeded: the levels tried are still reported), ``total_samples_mean`` / ``total_samples_se`` (mean and
    its standard error over the replicates that succeeded at B), ``rounds_mean``, ``success_fraction``,
    ``distinct_inputs_mean``, ``tried`` ([B, success fraction] per level), ``totals`` (per replicate
    at B, None where it failed), ``seconds``; full route
    also ``accuracy_mean``, ``accuracy_se`` (mean Monte Carlo se; 0 when exact) and ``below``: at the
    budget just below B, the mean log ratio per head (:data:`HEADS`) of the pre-trained model to the
    closed-form optimum and ``worst_head`` (largest mean |log ratio|) with ``worst_head_counts``, and
    ``final_errors``: each head's greedy error rate on L(x) in the last model of the failed replicates.

    Raises ValueError naming the argument before any work: bad sizes, ``cap < b0``, or memory that
    does not fit (:func:`samples_work`).
    """
    return _finite_or_none(_search(d, p, route, variant, lam, replicates, rng, n_max=n_max, b0=b0, cap=cap,
                                   frac=frac, level=level, n_eval=n_eval, progress=progress))


def _search(d, p, route="full", variant=None, lam=None, replicates=10, rng=None, *, n_max=None,
            b0=8, cap=2 ** 20, frac=0.9, level=0.99, n_eval=4096, progress=False) -> dict:
    """:func:`samples_search` with NaN where a number is undefined and inf for a failed replicate's
    total and a budget past the cap (the form :func:`samples_task` stores)."""
    t0 = time.perf_counter()
    samples_work(d, p, route, replicates, n_max, b0, cap, n_eval)     # sizes and memory, before any work
    d, p = check_d(d, 3), check_prob("p_cot", p)
    if route == "stats" and variant is not None:
        raise ValueError("variant: applies to --route full only (the stats route refits every head to its optimum)")
    variant = ("continue" if variant is None else variant) if route == "full" else "optimum"
    if route == "full" and variant not in VARIANTS:
        raise ValueError(f"variant: must be one of {', '.join(VARIANTS)}, got {variant!r}")
    lams = lam_triple((0.01, 0.01, 0.01 / d) if lam is None else lam, positive=True)
    n_max = n_max_rounds(p) if n_max is None else check_int("n_max", n_max, 0)
    R = check_int("replicates", replicates, 1)
    if not 0 < float(frac) <= 1:
        raise ValueError(f"frac: must be in (0, 1], got {frac}")
    if route == "full":
        def run(B, gens):
            return full_weight_level(d, p, lams, B, n_max, gens, variant, level, n_eval, diagnose=True)
    else:
        def run(B, gens):
            return stats_level(d, p, lams, B, n_max, gens, level)
    s = search_budget(run, np.random.default_rng(rng) if not isinstance(rng, np.random.Generator) else rng,
                      R, b0, cap, frac, progress)
    lv = s["level"]
    tot = lv["total"][np.isfinite(lv["total"])]
    ok = lv["success"]
    out = {"d": d, "p_cot": p, "route": route, "variant": variant, "lam": list(lams), "replicates": R,
           "n_max": n_max, "budget": s["budget"],
           "total_samples_mean": tot.mean() if tot.size else np.nan,
           "total_samples_se": tot.std(ddof=1) / np.sqrt(tot.size) if tot.size > 1 else np.nan,
           "rounds_mean": lv["rounds"][ok].mean() if ok.any() else np.nan,
           "success_fraction": ok.mean(), "distinct_inputs_mean": lv["distinct"].mean(),
           "tried": s["tried"], "totals": list(lv["total"])}
    if route == "full":
        out["accuracy_mean"] = lv["accuracy"].mean()
        out["accuracy_se"] = lv["accuracy_se"].mean()
        if s["below"] is not None:
            out["below"] = _diagnosis(s["below"])
    out["seconds"] = time.perf_counter() - t0
    return out


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
_TASK_DEFAULTS = dict(route="full", variant=None, lam=None, replicates=10, n_max=None, b0=8, cap=2 ** 20,
                      frac=0.9, level=0.99, n_eval=4096)


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
    samples_work(a["d"], a["p"], a["route"], a["replicates"], a["n_max"], a["b0"], a["cap"], a["n_eval"])


@register_task("linparity.samples", check=_check_task)
def samples_task(params: dict, rng: np.random.Generator) -> dict:
    """One (d, p) point of the sample-complexity search on either route (the F5 grid, examples/ specs).

    params: d, and p or kappa (p = d^-kappa); route ('full' | 'stats'), variant (full route:
    'continue' | 'refit'), lam (triple; default (0.01, 0.01, 0.01/d)), replicates R, n_max (default
    n*(p) + 10), b0, cap, frac (0.9), level (0.99), n_eval (4096); any other name is refused. Returns
    the scalars of :func:`samples_search` (nan where undefined; budget inf if the cap was passed),
    ``totals`` ``(R,)`` (inf where a replicate failed), ``tried`` ``(k, 2)``, and for the full route
    ``log_ratio`` ``(3,)``, ``worst_counts`` ``(3,)`` and ``final_errors`` ``(3,)`` (mean over the
    replicates that failed) at the budget below success (:data:`HEADS` order; nan / 0 when the first
    budget already succeeded).
    """
    a = _task_args(params)
    d, p, route = a.pop("d"), a.pop("p"), a.pop("route")
    res = _search(d, p, route, a.pop("variant"), a.pop("lam"), a.pop("replicates"), rng, **a)
    out = {k: float(res[k]) for k in ("budget", "total_samples_mean", "total_samples_se", "rounds_mean",
                                      "success_fraction", "distinct_inputs_mean", "seconds")}
    out.update(p=p, n_max=float(res["n_max"]), totals=np.array(res["totals"], dtype=float),
               tried=np.array(res["tried"], dtype=float).reshape(-1, 2))
    if route == "full":
        out["accuracy_mean"] = res["accuracy_mean"]
        b = res.get("below")
        out["log_ratio"] = np.array([b["log_ratio"][h] for h in HEADS]) if b else np.full(3, np.nan)
        out["worst_counts"] = np.array([b["worst_head_counts"][h] for h in HEADS], float) if b else np.zeros(3)
        out["final_errors"] = np.array([b["final_errors"][h] for h in HEADS]) if b else np.full(3, np.nan)
    return out
