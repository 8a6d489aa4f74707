"""Analysis of the designed sample-complexity experiment (examples/design_*.toml): b90, exponents, intervals.

A point of the designed specs runs every budget of an explicit grid with all R replicates and stores
its success curve ``[[budget, successes, replicates], ...]`` (task ``linparity.samples``). Here:

* b90 of each curve (:func:`linparity.experiments.samples_fit.fit_b90` with Jeffreys' half-counts,
  ``smoothing = 1/2``, read inside the grid only: a b90 outside it is None with its side named) and its
  whole-curve bootstrap (:func:`linparity.experiments.samples_fit.bootstrap_b90`: each budget's
  replicates resampled, b90 refitted; a masked array, masked outside the grid). The half-counts keep
  every resample finite; the ``samples`` command's own b90 is the plain maximum-likelihood crossing
  (``smoothing = 0``) with its profile-likelihood interval, undefined on a separated curve.
* :func:`scaling_fit`: the exponent of b90 (or of any quantity built from the resampled b90, such as a
  total) against d, and the local slopes between neighbouring d, each with its percentile interval
  over the same resamples (the slope refitted on every resample). No minimum over noisy means enters.
* :func:`designed_points`: the finished points of a shipped designed run (``runs/<name>``).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import theory
from ..sweep import load_results
from .samples_fit import bootstrap_b90, fit_b90
from .samples_runs import runs_dir

__all__ = ["JEFFREYS", "scaling_fit", "designed_points", "group_curves", "floor_fit", "total_fit",
           "exponent_difference", "SCHEDULES", "schedule_groups", "local_slopes_from_means", "floor_references"]

#: the pseudo-counts of the designed analysis' b90 (Jeffreys' half-counts, samples_fit.fit_b90's ``smoothing``)
JEFFREYS = 0.5


def _nan(boot) -> np.ndarray:
    """The bootstrap matrix as a private float array, nan where masked (outside the grid)."""
    return np.ma.filled(np.ma.asarray(boot, dtype=np.float64), np.nan)


def _slope(ld, ly) -> float:
    return float(np.polyfit(ld, ly, 1)[0])


def scaling_fit(d, value, boot, level=0.95) -> dict:
    """Exponent of ``value`` against d, and local slopes between neighbouring d, with bootstrap intervals.

    Parameters
    ----------
    d : ``(n,)`` ascending d. value : ``(n,)`` the point estimates (e.g. b90, p b90 or a total; None
        where undefined: that d is left out). boot : ``(n_boot, n)`` the same quantity on each
        resample (masked where undefined, :func:`~linparity.experiments.samples_fit.bootstrap_b90`); a
        resample enters a slope's interval only where both (local) or all (exponent) of its d are defined.
    level : the interval's coverage (percentile interval).

    Returns
    -------
    dict: ``d`` (the d used), ``exponent`` and ``ci`` (least-squares slope of ln value on ln d and its
    interval; None when fewer than 2 d are defined, an end None when fewer than 20 resamples enter),
    ``used`` (the fraction of resamples that entered), ``local``: a list of ``{"d": [d1, d2], "slope", "ci"}``
    between neighbouring defined d.
    """
    d = np.asarray(d, dtype=np.float64)
    v, B = np.asarray(value, dtype=np.float64), np.atleast_2d(_nan(boot))      # None, masked -> nan (private)
    if v.shape != d.shape or B.shape[1] != d.size:
        raise ValueError(f"value, boot: need shapes (n,) and (n_boot, n) with n = {d.size}, got {v.shape}, {B.shape}")
    ok = np.isfinite(v) & (v > 0)
    q = [(1 - level) / 2 * 100, (1 + level) / 2 * 100]

    def fit(idx):
        ld = np.log(d[idx])
        est = _slope(ld, np.log(v[idx])) if idx.size >= 2 else None
        rows = B[:, idx]
        good = np.all(np.isfinite(rows) & (rows > 0), axis=1)
        sl = np.array([_slope(ld, np.log(row)) for row in rows[good]]) if idx.size >= 2 else np.empty(0)
        ci = np.percentile(sl, q).tolist() if sl.size >= 20 else [None, None]
        return est, ci, float(good.mean()) if B.shape[0] else 0.0

    idx = np.flatnonzero(ok)
    est, ci, used = fit(idx)
    local = []
    for i, j in zip(idx[:-1], idx[1:]):
        s, c, _ = fit(np.array([i, j]))
        local.append({"d": [float(d[i]), float(d[j])], "slope": s, "ci": c})
    return {"d": d[ok].tolist(), "exponent": est, "ci": ci, "used": used, "local": local}


def designed_points(name, runs=None) -> list:
    """The finished points of the shipped designed run ``runs/<name>`` (``runs`` None: :func:`runs_dir`),
    ``[(params, result), ...]`` for every point with a ``success_curve`` (empty list when the folder is
    absent: the run is not shipped yet); a corrupt result raises (sweep.load_results)."""
    folder = (runs_dir() if runs is None else Path(runs)) / name
    if not (folder / "spec.json").exists():
        return []
    res = load_results(folder, allow_missing=True)
    return [(dict(pt), recs[0]) for pt, recs in zip(res.points, res.results)
            if recs and "success_curve" in recs[0]]


def _setting(pt) -> tuple:
    return ("kappa", float(pt["kappa"])) if "kappa" in pt else ("p", float(pt["p"]))


def _finite(x):
    """A stored number as a float, None where it is not finite (a result that has none: no NaN goes on)."""
    x = float(x)
    return x if np.isfinite(x) else None


def group_curves(points) -> dict:
    """The designed points ``[(params, result), ...]`` by setting, ``{("p", p) or ("kappa", k): group}``,
    each group ``{"d", "p", "N", "curve", "rounds_mean", "rounds_se", "lam_chain"}`` (lists sorted by d;
    the rounds None where the task stored none: no replicate succeeded at its budget).
    Where a setting repeats a d (design_floor's check of N), the point with the smallest N enters the
    group and the others are listed under ``"checks"`` as ``(d, N, curve)``."""
    out = {}
    for pt, r in sorted(points, key=lambda x: (_setting(x[0]), float(x[0]["d"]), float(x[1]["round_samples"]))):
        g = out.setdefault(_setting(pt), {"d": [], "p": [], "N": [], "curve": [], "rounds_mean": [], "rounds_se": [],
                                          "lam_chain": [], "checks": []})
        d, N = float(pt["d"]), float(r["round_samples"])
        if g["d"] and g["d"][-1] == d:
            g["checks"].append((d, N, np.asarray(r["success_curve"], float)))
            continue
        for k, v in (("d", d), ("p", float(r["p"])), ("N", N), ("curve", np.asarray(r["success_curve"], float)),
                     ("rounds_mean", _finite(r["rounds_mean"])), ("rounds_se", _finite(r["rounds_se"])),
                     ("lam_chain", float(np.asarray(r["lam"], float)[-1]))):
            g[k].append(v)
    return out


def floor_fit(group, n_boot=2000, rng=None) -> dict:
    """The floor of one setting: b90 per d with its interval, the long pre-training samples p b90,
    and their exponent and local slopes (:func:`scaling_fit`).

    Returns
    -------
    dict: ``d``, ``b90``, ``long`` (lists, None where b90 lies outside the grid: ``where`` names the side),
    ``b90_ci``, ``long_ci`` (``[low, high]`` per d, an end None where fewer than half the resamples
    are inside the grid), ``where``, ``fit`` and ``boot`` (``(n_boot, n_d)`` resampled b90, masked
    outside the grid).
    """
    curves = group["curve"]
    fits = [fit_b90(c, smoothing=JEFFREYS) for c in curves]
    boot = bootstrap_b90(curves, n_boot, rng, smoothing=JEFFREYS)
    p = [float(x) for x in group["p"]]
    b90 = [f["b90"] for f in fits]
    ci = _ci(boot)
    long = [None if b is None else pi * b for pi, b in zip(p, b90)]
    return {"d": list(group["d"]), "b90": b90, "b90_ci": ci, "long": long,
            "long_ci": [[None if e is None else pi * e for e in c] for pi, c in zip(p, ci)],
            "where": [f["where"] for f in fits], "fit": scaling_fit(group["d"], long, boot * np.array(p)),
            "boot": boot}


def total_fit(group, n_boot=2000, rng=None) -> dict:
    """Totals of one setting at fixed N: T_90 + rounds N per d, with the rounds as the task reports them
    (mean, se): on each resample b90* + (rounds_mean + rounds_se z) N, z ~ N(0, 1). Returns ``{"d",
    "total", "total_ci", "rounds_share", "fit", "boot", "floor"}`` (rounds_share: rounds N / total; lists
    with None where b90 lies outside the grid, as :func:`floor_fit`, whose result is ``floor``; boot
    masked there)."""
    g = np.random.default_rng(rng)
    fl = floor_fit(group, n_boot, g)
    N = np.asarray(group["N"], float)
    rm, rs = (np.array([np.nan if v is None else v for v in group[k]], float) for k in ("rounds_mean", "rounds_se"))
    rounds = [None if not np.isfinite(x) else float(x) for x in rm * N]
    total = [None if b is None or r is None else b + r for b, r in zip(fl["b90"], rounds)]
    boot = fl["boot"] + (rm + np.nan_to_num(rs) * g.standard_normal(fl["boot"].shape)) * N
    boot = np.ma.masked_invalid(boot)                             # no rounds recorded: no total there
    return {"d": fl["d"], "total": total, "total_ci": _ci(boot),
            "rounds_share": [None if t is None else r / t for r, t in zip(rounds, total)],
            "fit": scaling_fit(group["d"], total, boot), "boot": boot, "floor": fl}


def exponent_difference(fit_a, boot_a, fit_b, boot_b, d, level=0.95) -> dict:
    """Exponent of a minus exponent of b over their common d, with the percentile interval over paired
    independent resamples (resample i of each); ``{"diff", "ci"}`` (None where undefined: an exponent
    without 2 d, or fewer than 20 resamples with every d defined)."""
    ea = scaling_fit(d, fit_a, boot_a, level)
    eb = scaling_fit(d, fit_b, boot_b, level)
    ld = np.log(np.asarray(d, float))
    A, B = _nan(boot_a), _nan(boot_b)
    ok = np.all(np.isfinite(A) & np.isfinite(B) & (A > 0) & (B > 0), axis=1)
    diffs = np.array([_slope(ld, np.log(x)) - _slope(ld, np.log(y)) for x, y in zip(A[ok], B[ok])])
    q = [(1 - level) / 2 * 100, (1 + level) / 2 * 100]
    return {"diff": None if None in (ea["exponent"], eb["exponent"]) else ea["exponent"] - eb["exponent"],
            "ci": np.percentile(diffs, q).tolist() if diffs.size >= 20 else [None, None]}


def _ci(boot, level=0.95) -> list:
    """Percentile interval per column of ``boot`` ``(n_boot, n)`` over its unmasked finite entries:
    ``[[low, high], ...]`` (None ends where fewer than half the resamples count: the interval leaves the grid)."""
    B = _nan(boot)
    out = []
    for j in range(B.shape[1]):
        col = B[:, j][np.isfinite(B[:, j])]
        ok = col.size >= 0.5 * B.shape[0]
        out.append(np.percentile(col, [(1 - level) / 2 * 100, (1 + level) / 2 * 100]).tolist() if ok else [None, None])
    return out


#: lambda_chain schedules of design_lambda.toml: name -> the constant c of a point at (d, lambda_chain)
SCHEDULES = {"c/d": lambda d, lc: lc * d, "c/(d ln d)": lambda d, lc: lc * d * np.log(d), "c": lambda d, lc: lc}


def schedule_groups(points) -> dict:
    """The designed points of one setting by lambda_chain schedule: ``{(name, c): [(params, result), ...]}``
    with name in :data:`SCHEDULES`. A schedule is a constant c under one rule shared by >= 2 d (c to 6
    significant digits); the rules are tried largest group first, each point joining one group."""
    cand = {}
    for i, (pt, r) in enumerate(points):
        d, lc = float(pt["d"]), float(np.asarray(r["lam"], float)[-1])
        for name, rule in SCHEDULES.items():
            cand.setdefault((name, float(f"{rule(d, lc):.6g}")), []).append(i)
    out, used = {}, set()
    for key, idx in sorted(cand.items(), key=lambda kv: -len({points[i][0]["d"] for i in kv[1]})):
        idx = [i for i in idx if i not in used]
        if len({points[i][0]["d"] for i in idx}) >= 2:
            out[key] = [points[i] for i in idx]
            used.update(idx)
    return out


def local_slopes_from_means(d, mean, se, z=1.96) -> list:
    """Local slopes ln(m2/m1) / ln(d2/d1) between neighbouring d of means with standard errors (the
    shipped runs of the old format, one mean total per d), each with the interval slope +- z se_slope,
    se_slope = sqrt((se1/m1)^2 + (se2/m2)^2) / ln(d2/d1) (delta method, independent runs):
    ``[{"d": [d1, d2], "slope", "ci"}, ...]``."""
    d, m, s = (np.asarray(x, dtype=np.float64) for x in (d, mean, se))
    out = []
    for i in range(d.size - 1):
        ld = np.log(d[i + 1] / d[i])
        slope = float(np.log(m[i + 1] / m[i]) / ld)
        e = float(np.hypot(s[i] / m[i], s[i + 1] / m[i + 1]) / ld)
        out.append({"d": [float(d[i]), float(d[i + 1])], "slope": slope, "ci": [slope - z * e, slope + z * e]})
    return out


def floor_references(group, delta=0.1) -> dict:
    """The references of one setting's floor at the run's own lambdas (lam_1 = lam_2a = 0.01, the designed
    specs' values, and each point's lambda_chain): ``certified`` = theory.certified_pretrain_samples'
    T_long per d (inf: no T certifies) and ``lower`` = theory.rotation_invariant_lower (order d)."""
    return {"certified": np.array([theory.certified_pretrain_samples(int(d), p, (0.01, 0.01, lc), delta)["T_long"]
                                   for d, p, lc in zip(group["d"], group["p"], group["lam_chain"])]),
            "lower": np.array([theory.rotation_invariant_lower(int(d)) for d in group["d"]])}
