"""Rounds to generalise against d (THEORY §6, Theorem 2): the iteration side of the cross-check (F12).

Theorem 2 says STaR generalises after n*(p) = O(log 1/p) rounds, d entering only the samples per
round. This module measures the rounds, per variant, from a converged pre-training start (the exact
regularised NTP optimum ``closed_form.ntp_optimum`` on the full weights, so the rounds measure RL
alone) with the per-round input count N fixed at a stated multiple of the pre-training floor at d:

* ``variant="map"``: the exact finite-lambda STaR map (``closed_form.star_map``; reduced coordinates,
  infinite samples) and, for d <= 12, the same map on the full weights by enumeration
  (``exact.star_map``). Deterministic: one "replicate".
* ``variant="refit"`` / ``"continue"``: Algorithm 1 simulated (``simulate.star_round``), one replicate
  at a time, N fresh inputs per round, reward 'cot', tau = 1; ``continue`` takes ``epochs``, ``lr``
  and ``batch_size`` (defaults: the paper's Algorithm 1, ``StarConfig``: E = 2, lr 0.05, batch 1).

A replicate's rounds to generalise is the first round n whose greedy accuracy is >= ``level``
(0.99; all 2^d inputs for d <= 12, else ``n_eval`` held-out inputs), checked before every round. A
replicate that has not generalised after ``n_max`` rounds is **censored**: its rounds are stored as
n_max with ``censored`` True, never dropped (its true rounds are > n_max, so a mean over replicates
with censoring is a lower bound).

Per round it stores pi_n(L) = mean_x pi(L(x)|x) (tau = 1), the log-odds gain
logit(pi_{n+1}(L)) - logit(pi_n(L)) (``closed_form.log_odds_gain``; ln 2 under the ideal recursion),
and what limits a round (THEORY §6; the diagnosis of F12): the kept long samples, the norm of the
weights off the reduced subspace, and how far the stop head and the chain moved in the round as a
fraction of the way to where the exact refit of the population kept set of the round's start model
would put them (``closed_form.refit(kept_stats(theta_n))``): 1 means the round reached the refit's
target, 0 that it did not move.

N rule (:func:`n_per_round`): N = multiple x the pre-training floor B_floor(d, p), the smallest
budget (pre-training samples T = B, then rounds of B inputs) at which >= 8/10 replicates of the
full-weight pipeline generalised in the shipped runs (:data:`FLOOR_BUDGET`, d = 32-256); below
d = 32 it is extrapolated as B_floor(32) (d/32)^1.5 (the floor's growth measured from d = 32 to 128).
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .. import closed_form as cf
from .. import exact
from .. import simulate as sim
from .._checks import check_d, check_int, check_positive, check_prob, spawn
from .._validate import check_alloc, star_round_bytes
from ..data import MAX_ENUM_D
from ..heads import default_lam, lam_triple
from ..measures import first_at_least
from ..sweep import check_param_names, load_results, register_task
from .ntp import calibrated_start
from .samples import head_errors, runs_dir

__all__ = ["VARIANTS", "FLOOR_BUDGET", "LEVEL", "floor_budget", "n_per_round", "default_n_max", "rounds_to_generalise",
           "iteration_task", "mean_gain", "slope_fit", "rounds_slope", "gain_exponent", "chain_steps",
           "SETTINGS", "REMEDY", "REMEDY_LR", "SHIPPED", "EXAMPLE_SPEC", "point", "setting_of", "collect", "shipped_pairs",
           "summarise", "limits"]

VARIANTS = ("map", "refit", "continue")
#: the greedy accuracy that counts as generalised
LEVEL = 0.99
#: B_floor(d, p): smallest budget B with >= 8/10 success in the shipped full-weight runs
#: (docs/claims/theorem2.md, samples against d: examples/runs/samples-p01-search, samples-d128-p01-budgets,
#: samples-p01-rounds, samples-p025-budgets; d = 256 from 2/2 replicates)
FLOOR_BUDGET = {0.1: {32: 2 ** 14, 64: 2 ** 16, 128: 2 ** 17, 256: 2 ** 19},
                0.25: {32: 2 ** 13, 64: 2 ** 15, 128: 2 ** 17, 256: 2 ** 18}}


def floor_budget(d, p) -> int:
    """B_floor(d, p) of :data:`FLOOR_BUDGET`; for d < 32, B_floor(32, p) (d/32)^1.5 rounded up (an
    extrapolation: the floor's long-sample count grew as about d^1.5 from d = 32 to 128). ValueError
    for a p or d > 32 that the table lacks."""
    d, p = check_d(d, 3), check_prob("p", p)
    table = FLOOR_BUDGET.get(p)
    if table is None or (d > 32 and d not in table):
        raise ValueError(f"p, d: the pre-training floor is measured at p in {sorted(FLOOR_BUDGET)} and d <= 32 or "
                         f"d in {sorted(FLOOR_BUDGET[0.1])}, got p = {p}, d = {d}; give N instead")
    return table[d] if d in table else int(np.ceil(table[32] * (d / 32) ** 1.5))


def n_per_round(d, p, multiple) -> int:
    """N = ceil(multiple x :func:`floor_budget` (d, p)), the fresh inputs per STaR round."""
    return int(np.ceil(check_positive("n_multiple", multiple) * floor_budget(d, p)))


def default_n_max(p) -> int:
    """Round limit n*(p) + 30 (the 'continue' runs of F5 used up to ~66 rounds near the floor, and 5-23 above it)."""
    return int(cf.n_star(check_prob("p", p))) + 30


def rounds_to_generalise(accuracy, n_max, level=LEVEL) -> tuple[int, bool]:
    """(rounds, censored) from the greedy accuracies ``(n,)`` of rounds 0, 1, ...: the first round at
    ``level``, or (n_max, True) when none is."""
    r = first_at_least(accuracy, level)
    return (int(n_max), True) if r is None else (r, False)


def mean_gain(pi_long, rounds) -> float:
    """Mean log-odds gain per round over the first ``rounds`` rounds (at least one) of pi_long ``(n+1,)``:
    (logit pi_k - logit pi_0) / k with k = max(rounds, 1) (closed_form.log_odds_gain summed)."""
    k = max(int(rounds), 1)
    return float(cf.log_odds_gain(np.asarray(pi_long, dtype=float)[:k + 1]).mean())


def slope_fit(x, y, se=None) -> tuple[float, float]:
    """Least-squares slope of y on x and its standard error.

    With ``se`` (one per point, all > 0): weighted least squares, weights 1/se^2, slope standard error
    sqrt(1 / S_xx^w) (se taken as known). Without: ordinary least squares, standard error
    sqrt(s^2 / S_xx) with s^2 = residual sum of squares / (n - 2) (0 when the points lie on a line).
    ValueError for fewer than 2 distinct x (3 points without ``se``).
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"x, y: must be 1-d of one length, got {x.shape} and {y.shape}")
    if np.unique(x).size < 2 or (se is None and x.size < 3):
        raise ValueError(f"x: a slope needs >= 2 distinct x ({'and >= 3 points ' if se is None else ''}got {x.size})")
    w = np.ones_like(x) if se is None else np.asarray(se, dtype=float) ** -2.0
    if not np.all(np.isfinite(w)):
        raise ValueError("se: every standard error must be finite and > 0")
    xm, ym = np.sum(w * x) / w.sum(), np.sum(w * y) / w.sum()
    sxx = np.sum(w * (x - xm) ** 2)
    slope = float(np.sum(w * (x - xm) * (y - ym)) / sxx)      # centred: a constant y gives exactly 0
    if se is not None:
        return slope, float(np.sqrt(1.0 / sxx))
    res = (y - ym) - slope * (x - xm)
    return slope, float(np.sqrt(np.sum(res ** 2) / (x.size - 2) / sxx))


def rounds_slope(ds, rounds, censored) -> dict:
    """The spec's verdict on 'rounds to generalise do not depend on d' for one variant.

    ``ds`` ``(k,)``; ``rounds`` and ``censored``: per d, the replicates' rounds (censored ones at their
    limit) and flags. Fit: OLS of every replicate's rounds on ln d (:func:`slope_fit`). PASS iff
    |slope| <= 2 se and no replicate is censored (censored rounds are lower bounds, so a fit with them
    is not a measurement of the slope). Returns slope, se, n_censored, passed, and per d mean, se, n.
    """
    x = np.concatenate([np.full(len(r), np.log(d)) for d, r in zip(ds, rounds)])
    y = np.concatenate([np.asarray(r, dtype=float) for r in rounds])
    slope, se = slope_fit(x, y)
    n_cens = int(sum(np.sum(c) for c in censored))
    mean = [float(np.mean(r)) for r in rounds]
    sem = [float(np.std(r, ddof=1) / np.sqrt(len(r))) if len(r) > 1 else 0.0 for r in rounds]
    return {"slope": slope, "se": se, "n_censored": n_cens, "passed": bool(abs(slope) <= 2 * se and n_cens == 0),
            "mean": mean, "mean_se": sem, "n": [len(r) for r in rounds]}


def gain_exponent(ds, gain_mean, gain_se) -> tuple[float, float]:
    """a and its standard error in gain ~ d^-a: weighted least squares of ln(mean gain) on ln d with
    se(ln gain) = se / gain (delta method); points with a zero se get the smallest positive se of the
    others; when every se is 0 (the deterministic map), ordinary least squares with the residual
    standard error. ValueError if a mean gain is <= 0."""
    g, s = np.asarray(gain_mean, dtype=float), np.asarray(gain_se, dtype=float)
    if np.any(g <= 0):
        raise ValueError(f"gain_mean: a power law needs every mean gain > 0, got {g.min():g}")
    pos = s[s > 0]
    w = np.where(s > 0, s, pos.min()) / g if pos.size else None
    slope, se = slope_fit(np.log(ds), np.log(g), w)
    return -slope, se


def chain_steps(kept_long, epochs, batch_size) -> np.ndarray:
    """SGD steps a chain head takes in a 'continue' round: E ceil(K_L / batch) for K_L kept long samples
    (a step of the batched update moves the chain heads when its batch holds a long sample; the bound
    E K_L / batch is reached when the long samples are spread, E ceil(K_L/batch) when grouped)."""
    return epochs * np.ceil(np.asarray(kept_long, dtype=float) / batch_size)


# ----------------------------------------------------------------------------- the sweep task
_DEFAULTS = dict(variant="continue", N=None, n_multiple=None, replicates=10, epochs=2, lr=0.05, batch_size=1,
                 n_max=None, level=LEVEL, n_eval=4096, lam=None)


def _args(params: dict) -> dict:
    """The task's arguments from a sweep point (ValueError naming the parameter)."""
    check_param_names(params, ("d", "p"), tuple(_DEFAULTS))
    a = {**_DEFAULTS, **params}
    a["d"], a["p"] = check_d(a["d"], 3), check_prob("p", a["p"])
    if a["p"] == 0:
        raise ValueError("p: must be > 0 (with p = 0 STaR keeps no long answer)")
    if a["variant"] not in VARIANTS:
        raise ValueError(f"variant: must be one of {', '.join(VARIANTS)}, got {a['variant']!r}")
    a["lam"] = lam_triple(default_lam(a["d"]) if a["lam"] is None else a["lam"], positive=True)
    a["n_max"] = default_n_max(a["p"]) if a["n_max"] is None else check_int("n_max", a["n_max"], 1)
    if not 0 < float(a["level"]) <= 1:
        raise ValueError(f"level: must be in (0, 1], got {a['level']}")
    if a["variant"] == "map":
        if a["N"] is not None or a["n_multiple"] is not None or a["replicates"] != 1:
            raise ValueError("variant: the map refits on the population (no N, n_multiple; replicates must be 1)")
        return a
    if (a["N"] is None) == (a["n_multiple"] is None):
        raise ValueError(f"N: give exactly one of N and n_multiple for variant {a['variant']!r}")
    a["N"] = check_int("N", a["N"], 1) if a["N"] is not None else n_per_round(a["d"], a["p"], a["n_multiple"])
    check_int("replicates", a["replicates"], 1)
    cfg = sim.StarConfig(rounds=1, samples=a["N"], variant=a["variant"], lam=a["lam"], epochs=a["epochs"],
                         lr=a["lr"], batch_size=a["batch_size"])
    if a["d"] > MAX_ENUM_D:
        check_int("n_eval", a["n_eval"], 256)
    check_alloc("N", star_round_bytes(1, a["N"], a["d"]))
    a["cfg"] = cfg
    return a


def _check(params: dict) -> None:
    """Every check of :func:`iteration_task` on a sweep point, before any work."""
    _args(params)


@register_task("linparity.iteration", check=_check)
def iteration_task(params: dict, rng: np.random.Generator) -> dict:
    """Rounds to generalise of one variant at one (d, p) from the converged start (module docstring).

    params: d, p; variant ('map' | 'refit' | 'continue'); for refit/continue N or n_multiple (N =
    n_multiple x floor_budget(d, p)), replicates (10), epochs (2), lr (0.05), batch_size (1)
    (continue; the defaults are Algorithm 1's); n_max (n*(p) + 30), level (0.99), n_eval (4096, d > 12),
    lam (default (0.01, 0.01, 0.01/d)). Unknown names are refused.

    Returns (R = replicates; 1 for the map): ``rounds`` ``(R,)`` (n_max where censored), ``censored``
    ``(R,)`` bool, ``pi_long`` ``(R, n_max+1)`` (rounds 0..stop, nan after), ``gain`` ``(R,)``
    (:func:`mean_gain` over the rounds used), ``n_star`` (n*(p)), ``n_star_start`` (n*(pi_0(L))),
    ``pi0`` (pi_0(L)), ``N`` (0 for the map), ``n_max``, ``seconds``; the map at d <= 12 also
    ``rounds_enum`` (the enumeration map's rounds; -1 if censored). refit/continue also, per round
    ``(R, n_max)`` (nan after the stop): ``kept_long``, ``stop_move`` and ``chain_move`` (fraction of the
    way to the population refit's target; nan where the target is within 1e-3 of the start), and
    ``(R, n_max+1)``: ``accuracy`` (greedy), ``off_norm`` (norm of the weights off the reduced subspace)
    and ``stop_errors`` (fraction of inputs on which the stop head stops greedily after y_1 = x_1);
    ``final_errors`` ``(R, 3)``: greedy error rate of head 1, the stop head
    and the chain on L(x) in the last model (experiments.samples.head_errors).
    """
    a = _args(params)
    t0 = time.perf_counter()
    d, p, lam, n_max = a["d"], a["p"], a["lam"], a["n_max"]
    theta0, m0 = calibrated_start(d, p, lam)
    pi0 = float(cf.trajectory_probs(theta0, d).pi_long)
    out = {"n_star": float(cf.n_star(p)), "n_star_start": float(cf.n_star(pi0)), "pi0": pi0,
           "n_max": float(n_max), "N": 0.0}
    if a["variant"] == "map":
        mp = cf.star_map(theta0, d, lam, n_max)
        r, c = rounds_to_generalise(mp.greedy_accuracy, n_max, a["level"])
        out.update(rounds=np.array([float(r)]), censored=np.array([c]), pi_long=mp.pi_long[None],
                   gain=np.array([mean_gain(mp.pi_long, r)]))
        if d <= MAX_ENUM_D:
            re, ce = rounds_to_generalise(exact.star_map(m0, p, lam, n_max)["greedy_accuracy"], n_max, a["level"])
            out["rounds_enum"] = float(-1 if ce else re)
    else:
        rows = [_replicate(d, lam, theta0, a, g) for g in spawn(rng, a["replicates"])]
        out.update({k: np.array([row[k] for row in rows]) for k in rows[0]}, N=float(a["N"]))
    out["seconds"] = time.perf_counter() - t0
    return out


def _fraction(new, old, target):
    gap = target - old
    return (new - old) / gap if abs(gap) > 1e-3 else np.nan


def _summaries(theta):
    """(stop logit u = b + c of the branch y_1 = x_1, chain log-factor sum_l ln sigma(c_l)) of theta."""
    return theta[1] + theta[2], float(np.sum(-np.logaddexp(0.0, -theta[3:])))


def _replicate(d, lam, theta0, a, g) -> dict:
    """One simulated replicate from the converged start: rounds until greedy accuracy >= level."""
    n_max, cfg = a["n_max"], a["cfg"]
    g_eval, g_run = spawn(g, 2)
    X = sim.eval_inputs(d, a["n_eval"], g_eval)
    W = sim.BatchedAR.from_reduced(theta0, d, 1)
    row = {**{k: np.full(n_max + 1, np.nan) for k in ("pi_long", "accuracy", "off_norm", "stop_errors")},
           **{k: np.full(n_max, np.nan) for k in ("kept_long", "stop_move", "chain_move")}}
    for n in range(n_max + 1):
        ev = sim.evaluate_batch(W, X)
        theta, off = W.reduced()
        row["pi_long"][n], row["accuracy"][n], row["off_norm"][n] = ev["pi_long"][0], ev["greedy_accuracy"][0], off[0]
        row["stop_errors"][n] = head_errors(W, X)[0, 1]
        if ev["greedy_accuracy"][0] >= a["level"] or n == n_max:
            break
        target = cf.refit(cf.kept_stats(theta[0], d), d, lam)
        W, stats = sim.star_round(W, cfg, [g_run])
        new = W.reduced()[0][0]
        (s0, c0), (s1, c1), (st, ct) = _summaries(theta[0]), _summaries(new), _summaries(target)
        row["stop_move"][n], row["chain_move"][n] = _fraction(s1, s0, st), _fraction(c1, c0, ct)
        row["kept_long"][n] = stats["kept_fraction"][0] * np.nan_to_num(stats["q"][0]) * cfg.samples
    acc_ok = ev["greedy_accuracy"][0] >= a["level"]
    rounds = n if acc_ok else n_max
    row.update(rounds=float(rounds), censored=not acc_ok, gain=mean_gain(row["pi_long"][:n + 1], rounds),
               final_errors=head_errors(W, X)[0])
    return row


# ----------------------------------------------------------------------------- reading the runs (F12)
#: the settings of the spec (examples/rounds_d.toml), by name: the task parameters besides d and p
SETTINGS = {"map": {"variant": "map"},
            "continue-fig": {"variant": "continue", "epochs": 2, "lr": 0.5, "batch_size": 32},
            "continue-alg1": {"variant": "continue", "epochs": 2, "lr": 0.05, "batch_size": 1},
            "refit": {"variant": "refit"},
            "E=1": {"variant": "continue", "epochs": 1, "lr": 0.5, "batch_size": 32},
            "E=8": {"variant": "continue", "epochs": 8, "lr": 0.5, "batch_size": 32},
            "lr=0.05": {"variant": "continue", "epochs": 2, "lr": 0.05, "batch_size": 32}}
#: the remedy tested (§3 of F12): continue-fig with the step size scaled as lr = REMEDY_LR / d
REMEDY, REMEDY_LR = "remedy", 4.0
#: the folder of the shipped run of examples/rounds_d.toml, under the runs folder (samples.runs_dir)
SHIPPED = "rounds-d"
#: the spec of that run, in a checkout of the repository
EXAMPLE_SPEC = Path(__file__).resolve().parents[2] / "examples" / "rounds_d.toml"


def point(setting, d, p, n_multiple=2, replicates=10, **extra) -> dict:
    """The task parameters of ``setting`` (a :data:`SETTINGS` name or :data:`REMEDY`) at (d, p)."""
    if setting == REMEDY:
        kw = {**SETTINGS["continue-fig"], "lr": REMEDY_LR / d}
    elif setting in SETTINGS:
        kw = dict(SETTINGS[setting])
    else:
        raise ValueError(f"setting: must be one of {', '.join([*SETTINGS, REMEDY])}, got {setting!r}")
    size = {"replicates": 1} if setting == "map" else {"n_multiple": n_multiple, "replicates": replicates}
    return {"d": d, "p": p, **kw, **size, **extra}


def setting_of(params) -> str:
    """The name of the setting of a task's parameters (inverse of :func:`point`; task defaults filled in)."""
    a = {**_DEFAULTS, **params}
    if a["variant"] in ("map", "refit"):
        return a["variant"]
    key = (a["epochs"], float(a["lr"]), a["batch_size"])
    for name, kw in SETTINGS.items():
        if kw["variant"] == "continue" and key == (kw["epochs"], kw["lr"], kw["batch_size"]):
            return name
    if key == (2, REMEDY_LR / a["d"], 32):
        return REMEDY
    return f"continue E={key[0]} lr={key[1]:g} batch={key[2]}"


def collect(pairs) -> dict:
    """``{(setting, p): {d: result}}`` from ``(params, result)`` pairs (later pairs win); a measured
    remedy gets continue-fig's d = 8 point, which it equals (lr 4/8 = 0.5)."""
    table = {}
    for params, res in pairs:
        table.setdefault((setting_of(params), float(params["p"])), {})[int(params["d"])] = res
    for (name, p), by_d in list(table.items()):
        fig = table.get(("continue-fig", p), {})
        if name == REMEDY and 8 in fig:
            by_d.setdefault(8, fig[8])
    return table


def shipped_pairs(runs=None) -> list:
    """``(params, result)`` of every finished point of the shipped run of examples/rounds_d.toml
    (``runs``/:data:`SHIPPED`; ``runs`` None: samples.runs_dir()); [] when it is absent."""
    folder = Path(runs_dir() if runs is None else runs) / SHIPPED
    if not (folder / "spec.json").exists():
        return []
    res = load_results(folder, allow_missing=True)
    return [(dict(pt), recs[0]) for pt, recs in zip(res.points, res.results) if recs]


def summarise(by_d: dict) -> dict:
    """One setting's measurement over d (``{d: task result}``): ``ds``, per d the rounds ``mean``, ``mean_se``,
    ``n_censored``, the gain per round ``gain`` and ``gain_se`` (over replicates), total RL samples
    ``samples`` (N x mean rounds), n*(p) and n*(pi_0(L)) (``n_star``, ``n_star_start``); with >= 3 d the
    verdict of :func:`rounds_slope` (``slope``, ``se``, ``passed``) and, where every mean gain is > 0,
    the exponent ``a`` +- ``a_se`` of gain ~ d^-a (:func:`gain_exponent`); otherwise those are None."""
    ds = sorted(by_d)
    r = [np.asarray(by_d[d]["rounds"], float) for d in ds]
    c = [np.asarray(by_d[d]["censored"], bool) for d in ds]
    g = [np.asarray(by_d[d]["gain"], float) for d in ds]
    sem = lambda v: float(np.std(v, ddof=1) / np.sqrt(v.size)) if v.size > 1 else 0.0  # noqa: E731
    out = {"ds": ds, "mean": [float(v.mean()) for v in r], "mean_se": [sem(v) for v in r],
           "n_censored": [int(v.sum()) for v in c], "n": [v.size for v in r],
           "gain": [float(v.mean()) for v in g], "gain_se": [sem(v) for v in g],
           "samples": [float(by_d[d]["N"]) * float(v.mean()) for d, v in zip(ds, r)],
           "n_star": float(by_d[ds[0]]["n_star"]), "n_star_start": [float(by_d[d]["n_star_start"]) for d in ds],
           "slope": None, "se": None, "passed": None, "a": None, "a_se": None}
    if len(ds) >= 3:
        v = rounds_slope(ds, r, c)
        out.update(slope=v["slope"], se=v["se"], passed=v["passed"])
        if min(out["gain"]) > 0:
            out["a"], out["a_se"] = gain_exponent(ds, out["gain"], out["gain_se"])
    return out


def limits(res: dict, d: int, params: dict) -> dict:
    """What limits the simulated rounds of one task result (§3 of F12), means over replicates and rounds
    used: ``off_norm_max`` (largest off-subspace norm along the run), ``stop_errors_last`` (the stop head's
    greedy error rate before the last round), ``stop_move`` (median fraction of the way to the refit's
    target the stop logit moved per round), ``kept_long`` (kept long samples per round) and
    ``chain_steps_ratio`` (chain SGD steps per round over 10/lambda_chain = 1000 d)."""
    a = {**_DEFAULTS, **params}
    off, err = np.asarray(res["off_norm"], float), np.asarray(res["stop_errors"], float)
    rounds = np.asarray(res["rounds"], float).astype(int)
    last = [e[max(k - 1, 0)] for e, k in zip(err, rounds)]
    kl = np.asarray(res["kept_long"], float)
    lamc = lam_triple(default_lam(d) if a["lam"] is None else a["lam"])[2]
    steps = chain_steps(kl, a["epochs"], a["batch_size"]) if a["variant"] == "continue" else np.full_like(kl, np.nan)
    move = np.asarray(res["stop_move"], float)
    move = move[np.isfinite(move)]
    return {"off_norm_max": float(np.mean(np.nanmax(off, axis=1))), "stop_errors_last": float(np.mean(last)),
            "stop_move": float(np.median(move)) if move.size else None, "kept_long": float(np.nanmean(kl)),
            "chain_steps_ratio": float(np.nanmean(steps) * lamc / 10.0) if a["variant"] == "continue" else None}
