"""The pre-training floor T_90 against the per-round inputs N (examples/design_floor.toml, design_fine.toml,
design_fine_d64.toml, design_fine_large.toml).

The designed runs measure success curves over the pre-training samples T at a fixed number N of fresh
inputs per STaR round, N = m B(d) with the first stage's budget B(d) = 2^5 d^2 (p = d^-1: 2^7 d^2).
Here the curves of both stages are pooled by (setting, d, N) (replicates at a budget that both stages
ran add up: they are independent draws of the same experiment), and:

* :func:`n_dependence`: at one (setting, d), b90 at every N with its bootstrap interval, whether N
  binds between N and 2N (the interval at 2N lies wholly below the one at N), and the exponent beta of
  T_90 ~ N^-beta (least squares of ln b90 on ln N over the N with b90 inside the grid; percentile
  interval over whole-curve resamples, :func:`linparity.experiments.design.scaling_fit`).
* :func:`floor_group`: one setting's curves at N = m B(d) for every d, in the form of
  :func:`linparity.experiments.design.group_curves`, for :func:`~linparity.experiments.design.floor_fit`.
"""
from __future__ import annotations

import numpy as np

from . import design as dz

__all__ = ["FINE", "FLOOR_M", "LAMBDA_STAGES", "fine_runs", "fine_points", "n_rule", "prior_budget", "pooled_curves",
           "n_dependence", "floor_group", "floor_groups", "schedule_stages"]

#: the second stage's run folders (examples/design_fine.toml, design_fine_d64.toml: its d = 64 points of
#: two more settings, design_fine_large.toml: d = 128, not run on the 2-core machine); the first stage's
#: is "design-floor"
FINE = ("design-fine", "design-fine-d64", "design-fine-large")
#: the multiple m of B(d) at which design_fine.toml measures the floor of every setting
FLOOR_M = 4
#: the lambda_chain schedule stages (p = 0.25): run folder, m (N = m B(d)), spec, and the floor runs that
#: hold today's schedule (0.01/d) at that N
LAMBDA_STAGES = (("design-lambda", 1, "design_lambda.toml", ("design-floor",)),
                 ("design-lambda-fine", FLOOR_M, "design_lambda_fine.toml", FINE))


def fine_runs(runs=None) -> dict:
    """The second stage's shipped folders of :data:`FINE` and their finished points, ``{name: [(params,
    result), ...]}`` (:func:`linparity.experiments.design.designed_points`; a folder not shipped is left out)."""
    return {name: pts for name in FINE if (pts := dz.designed_points(name, runs))}


def fine_points(runs=None) -> list:
    """Every finished point of the second stage, ``[(params, result), ...]`` (:func:`fine_runs` in one list)."""
    return [x for pts in fine_runs(runs).values() for x in pts]


def n_rule(m) -> str:
    """The label of N = m B(d): 'N = B(d)', 'N = 4 B(d)'."""
    return "N = B(d)" if m == 1 else f"N = {m:g} B(d)"


def prior_budget(d, setting) -> float:
    """B(d), the first stage's per-round inputs: 2^5 d^2, and 2^7 d^2 for p = d^-1 (setting
    ``("kappa", 1.0)``); the unit of the multiple m = N / B(d)."""
    return float((2 ** 7 if tuple(setting) == ("kappa", 1.0) else 2 ** 5) * float(d) ** 2)


def _pool(a, b) -> np.ndarray:
    """Two success curves ``(k, 3)`` merged by budget: replicates and successes at a shared budget add."""
    rows = {}
    for bud, s, r in np.concatenate([a, b]):
        s0, r0 = rows.get(bud, (0.0, 0.0))
        rows[bud] = (s0 + s, r0 + r)
    return np.array([[bud, *rows[bud]] for bud in sorted(rows)])


def pooled_curves(points) -> dict:
    """Designed points ``[(params, result), ...]`` (any stages) as ``{setting: {d: {N: entry}}}``, entry
    ``{"curve": (k, 3) pooled success curve, "p", "lam_chain", "n_max" (the round limit; None where a result
    does not record it), "rounds": [(budget, rounds_mean, n), ...]}``, setting ``("p", p)`` or
    ``("kappa", kappa)``; d and N as floats."""
    out = {}
    for pt, r in points:
        setting = ("kappa", float(pt["kappa"])) if "kappa" in pt else ("p", float(pt["p"]))
        d, N = float(pt["d"]), float(r["round_samples"])
        curve = np.asarray(r["success_curve"], dtype=np.float64).reshape(-1, 3)
        rounds = [(float(b), float(m), float(n)) for (b, m, _), (_, n, _) in
                  zip(np.asarray(r.get("rounds_curve", []), float).reshape(-1, 3), curve)
                  if np.isfinite(m)]
        slot = out.setdefault(setting, {}).setdefault(d, {})
        if N in slot:
            slot[N]["curve"] = _pool(slot[N]["curve"], curve)
            slot[N]["rounds"] += rounds
        else:
            slot[N] = {"curve": curve, "p": float(r["p"]), "lam_chain": float(np.asarray(r["lam"], float)[-1]),
                       "n_max": float(r["n_max"]) if np.isfinite(r.get("n_max", np.nan)) else None,
                       "rounds": rounds}
    return out


def n_dependence(by_n, n_boot=2000, rng=None) -> dict:
    """b90 against N at one (setting, d).

    Parameters
    ----------
    by_n : ``{N: entry}`` (:func:`pooled_curves`), at least one N.
    n_boot, rng : the whole-curve bootstrap (:func:`linparity.experiments.design.bootstrap_b90`).

    Returns
    -------
    dict: ``N`` (ascending), ``b90`` (per N, None outside the grid), ``b90_ci`` (per N ``[low, high]``, an
    end None where the interval leaves the grid), ``where`` (per N: 'inside' the grid, 'above' it or
    'below'), ``binds``: per pair of neighbouring N with N' = 2N, ``(N, True/False)``, or None where an
    interval is undefined; ``beta``, ``beta_ci`` (T_90 ~ N^-beta; None with fewer than 2 N inside the grid)
    and ``rounds_at_90``: per N the mean rounds at the smallest budget where >= 90% of replicates
    generalised (None where none did).
    """
    Ns = sorted(by_n)
    # floor_fit on the N as its abscissa (p = 1): b90, its interval and the exponent against N in one pass
    fl = dz.floor_fit({"d": Ns, "p": [1.0] * len(Ns), "curve": [by_n[N]["curve"] for N in Ns]}, n_boot, rng)
    ci = fl["b90_ci"]
    binds = []
    for i in range(len(Ns) - 1):
        if Ns[i + 1] == 2 * Ns[i]:
            known = None not in (*ci[i], *ci[i + 1])
            binds.append((Ns[i], bool(ci[i + 1][1] < ci[i][0]) if known else None))
    fit = fl["fit"]
    return {"N": Ns, "b90": fl["b90"], "b90_ci": ci, "where": fl["where"], "binds": binds,
            "beta": _neg(fit["exponent"]), "beta_ci": [_neg(fit["ci"][1]), _neg(fit["ci"][0])],
            "rounds_at_90": [_rounds_at_90(by_n[N]) for N in Ns]}


def _neg(x):
    return None if x is None else -x


def _rounds_at_90(entry):
    c = entry["curve"]
    hit = np.flatnonzero(c[:, 1] >= 0.9 * c[:, 2])
    if not hit.size:
        return None
    b = c[hit[0], 0]
    got = [(m, n) for bb, m, n in entry["rounds"] if bb == b]
    return float(sum(m * n for m, n in got) / sum(n for _, n in got)) if got else None


def schedule_stages(runs=None) -> list:
    """The shipped lambda_chain schedule stages (:data:`LAMBDA_STAGES`), each ``{"m", "spec", "groups"}``:
    groups ``{(name, c): group}`` (:func:`linparity.experiments.design.schedule_groups`, one setting's
    curves as :func:`~linparity.experiments.design.group_curves` builds them), today's schedule c/d with
    c = 0.01 read from the floor runs at the same d and N = m B(d)."""
    out = []
    for name, m, spec, today_runs in LAMBDA_STAGES:
        pts = dz.designed_points(name, runs)
        if not pts:
            continue
        ds = {float(pt["d"]) for pt, _ in pts}
        today = [(pt, r) for run in today_runs for pt, r in dz.designed_points(run, runs)
                 if pt.get("p") == 0.25 and float(pt["d"]) in ds
                 and float(r["round_samples"]) == m * prior_budget(pt["d"], ("p", 0.25))]
        groups = {k: next(iter(dz.group_curves(v).values())) for k, v in dz.schedule_groups(pts + today).items()}
        out.append({"m": m, "spec": spec, "groups": groups})
    return out


def floor_group(by_d, setting, m) -> dict:
    """One setting's curves at N = m B(d) for every d that ran it (``by_d``: ``{d: {N: entry}}``), as
    :func:`linparity.experiments.design.group_curves` builds a group (``d``, ``p``, ``N``, ``curve``,
    ``lam_chain``, no ``checks``) with, per d, ``rounds_at_90`` (as :func:`n_dependence`) and ``n_max`` (the
    round limit: where the rounds come near it, the limit raises T_90); None when fewer than one d ran it."""
    ds = [d for d in sorted(by_d) if m * prior_budget(d, setting) in by_d[d]]
    if not ds:
        return None
    e = [by_d[d][m * prior_budget(d, setting)] for d in ds]
    return {"d": ds, "p": [x["p"] for x in e], "N": [m * prior_budget(d, setting) for d in ds],
            "curve": [x["curve"] for x in e], "lam_chain": [x["lam_chain"] for x in e], "checks": [],
            "rounds_at_90": [_rounds_at_90(x) for x in e], "n_max": [x["n_max"] for x in e]}


def floor_groups(first, fine) -> tuple[dict, str]:
    """The floor per setting from the designed points of the first stage (``first``) and the second
    (``fine``): ``({setting: group}, n_rule)``, the second stage's curves at N = FLOOR_M B(d) (pooled with the
    first stage's where they share (d, N)) where it is shipped, else the first stage's at N = B(d)."""
    if not fine:
        return dz.group_curves(first), n_rule(1)
    pooled = pooled_curves(first + fine)
    groups = {k: grp for k in sorted(pooled) if (grp := floor_group(pooled[k], k, FLOOR_M)) is not None}
    return groups, n_rule(FLOOR_M)
