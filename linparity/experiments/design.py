"""Analysis of the designed sample-complexity experiment (examples/design_*.toml): b90, exponents, intervals.

A point of the designed specs runs every budget of an explicit grid with all R replicates and stores
its success curve ``[[budget, successes, replicates], ...]`` (task ``linparity.samples``). Here:

* :func:`smoothed_b90`: a logistic curve in ln(budget), P(success) = sigma(a + b ln budget), fitted by
  maximum likelihood to the binomial counts with Jeffreys' half-counts (s + 1/2 of R + 1, so a curve
  that jumps from 0 to R between two budgets still has a finite fit); b90 = exp((logit 0.9 - a) / b),
  where the fitted curve crosses 0.9. A b90 outside the grid's range (the curve never reaches 0.9,
  or already starts above it) is not extrapolated: nan, with the side named. Failed replicates count.
  This is the estimator of the exponents and their bootstrap: the half-counts keep every resample
  finite. Each run's own ``b90`` in the ``samples`` JSON is the plain maximum-likelihood crossing
  with its profile-likelihood interval (:func:`linparity.experiments.samples_fit.fit_b90`), which
  is undefined on a separated curve; on curves that are not separated the two differ by the
  half-counts' pull towards 1/2.
* :func:`bootstrap_b90`: the whole-curve bootstrap: each budget's replicates resampled (successes* ~
  Bin(R, s/R)) and b90 refitted, for every curve at once, ``(n_boot, n_curves)``.
* :func:`scaling_fit`: the exponent of b90 (or of any quantity built from the resampled b90, such as a
  total) against d, and the local slopes between neighbouring d, each with its percentile interval
  over the same resamples (the slope refitted on every resample). No minimum over noisy means enters.
* :func:`designed_points`: the finished points of a shipped designed run (``runs/<name>``).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import theory
from .._checks import check_int, check_prob
from ..sweep import load_results
from .samples_runs import runs_dir

__all__ = ["LOGIT90", "smoothed_b90", "bootstrap_b90", "scaling_fit", "designed_points", "group_curves", "floor_fit",
           "total_fit", "exponent_difference", "SCHEDULES", "schedule_groups",
           "local_slopes_from_means", "floor_references", "finding_text"]

#: logit(0.9): the level at which b90 is read off the fitted curve
LOGIT90 = float(np.log(9.0))


def _curve(curve) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    c = np.asarray(curve, dtype=np.float64).reshape(-1, 3)           # (k, 3): budget, successes, R
    b, s, r = c.T
    if c.shape[0] < 2 or np.any(b <= 0) or np.any(np.diff(b) <= 0):
        raise ValueError(f"curve: needs >= 2 rows [budget, successes, replicates] with budgets > 0 ascending, got {c.tolist()}")
    if np.any(r < 1) or np.any(s < 0) or np.any(s > r):
        raise ValueError(f"curve: need 0 <= successes <= replicates and replicates >= 1, got {c.tolist()}")
    return b, s, r


def _logistic_ab(x, s, r, iters=60) -> tuple[np.ndarray, np.ndarray]:
    """(a, b) maximising sum_k s'_k ln sigma(a + b x_k) + (r'_k - s'_k) ln sigma(-(a + b x_k)) with
    s' = s + 1/2, r' = r + 1 (strictly concave: Newton's method from 0), for a batch of curves at
    once: x ``(k,)``, s and r ``(..., k)``; returns a and b of shape ``(...)``."""
    sp, rp = np.asarray(s, float) + 0.5, np.asarray(r, float) + 1.0
    xm, xs = x.mean(), x.std() or 1.0
    z = (x - xm) / xs                                   # standardised: a well-conditioned problem
    ab = np.zeros(sp.shape[:-1] + (2,))
    for _ in range(iters):
        pr = 1 / (1 + np.exp(-(ab[..., :1] + ab[..., 1:] * z)))                 # (..., k)
        g = sp - rp * pr                                                        # gradient terms
        w = rp * pr * (1 - pr)
        h00, h01, h11 = w.sum(-1), (w * z).sum(-1), (w * z * z).sum(-1)
        g0, g1 = g.sum(-1), (g * z).sum(-1)
        det = h00 * h11 - h01 * h01
        step = np.stack([(h11 * g0 - h01 * g1) / det, (h00 * g1 - h01 * g0) / det], axis=-1)
        ab = ab + step
        if np.all(np.abs(step) < 1e-12):
            break
    return ab[..., 0] - ab[..., 1] * xm / xs, ab[..., 1] / xs


def _b90_from(a, b, x, target):
    """b90 and where ('inside' / 'above' / 'below' the grid x = ln budgets) of fitted curves (a, b)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        lx = np.where(b > 0, (target - a) / b, np.where(a + b * x[0] >= target, -np.inf, np.inf))
    where = np.where(lx < x[0], "below", np.where(lx > x[-1], "above", "inside"))
    return np.where(where == "inside", np.exp(np.clip(lx, x[0], x[-1])), np.nan), where


def smoothed_b90(curve, frac=0.9) -> dict:
    """Budget where the logistic fit of a success curve crosses ``frac`` (module docstring).

    Parameters
    ----------
    curve : array-like ``(k, 3)``, rows [budget, successes, replicates], budgets ascending, k >= 2.
    frac : the level, in (0, 1) (0.9: b90).

    Returns
    -------
    dict: ``b90`` (float; nan where it is outside the grid), ``where`` ('inside', 'above' the grid: the
    fit has not reached ``frac`` at the largest budget, or 'below': it is above ``frac`` at the smallest
    budget), ``a``, ``b`` (the fitted curve sigma(a + b ln budget)).
    """
    frac = check_prob("frac", frac)
    if not 0 < frac < 1:
        raise ValueError(f"frac: must be in (0, 1), got {frac}")
    bud, s, r = _curve(curve)
    x = np.log(bud)
    a, b = _logistic_ab(x, s, r)
    b90, where = _b90_from(a, b, x, np.log(frac / (1 - frac)))
    return {"b90": float(b90), "where": str(where), "a": float(a), "b": float(b)}


def bootstrap_b90(curves, n_boot=2000, rng=None, frac=0.9) -> np.ndarray:
    """Whole-curve bootstrap of b90: ``(n_boot, n_curves)``, nan where a resample's b90 leaves the grid.

    Resample i redraws every budget of every curve, successes* ~ Bin(R, s/R) (resampling the R
    binary outcomes of that budget with replacement), and refits :func:`smoothed_b90`.
    """
    n_boot = check_int("n_boot", n_boot, 1)
    g = np.random.default_rng(rng)
    parsed = [_curve(c) for c in curves]
    out = np.empty((n_boot, len(parsed)))
    target = np.log(frac / (1 - frac))
    for j, (b, s, r) in enumerate(parsed):
        draws = g.binomial(r.astype(np.int64), s / r, size=(n_boot, b.size))     # (n_boot, k)
        x = np.log(b)
        out[:, j] = _b90_from(*_logistic_ab(x, draws, np.broadcast_to(r, draws.shape)), x, target)[0]
    return out


def _slope(ld, ly) -> float:
    return float(np.polyfit(ld, ly, 1)[0])


def scaling_fit(d, value, boot, level=0.95) -> dict:
    """Exponent of ``value`` against d, and local slopes between neighbouring d, with bootstrap intervals.

    Parameters
    ----------
    d : ``(n,)`` ascending d. value : ``(n,)`` the point estimates (e.g. b90, p b90 or a total; nan
        where undefined: that d is left out). boot : ``(n_boot, n)`` the same quantity on each
        resample (:func:`bootstrap_b90`); a resample enters a slope's interval only where both (local)
        or all (exponent) of its d are defined.
    level : the interval's coverage (percentile interval).

    Returns
    -------
    dict: ``d`` (the d used), ``exponent`` and ``ci`` (least-squares slope of ln value on ln d and its
    interval; nan when fewer than 2 d are defined), ``used`` (the fraction of resamples that entered),
    ``local``: ``[{"d": [d1, d2], "slope", "ci"}, ...]`` between neighbouring defined d.
    """
    d = np.asarray(d, dtype=np.float64)
    v, B = np.asarray(value, dtype=np.float64), np.atleast_2d(np.asarray(boot, dtype=np.float64))
    if v.shape != d.shape or B.shape[1] != d.size:
        raise ValueError(f"value, boot: need shapes (n,) and (n_boot, n) with n = {d.size}, got {v.shape}, {B.shape}")
    ok = np.isfinite(v) & (v > 0)
    q = [(1 - level) / 2 * 100, (1 + level) / 2 * 100]

    def fit(idx):
        ld = np.log(d[idx])
        est = _slope(ld, np.log(v[idx])) if idx.size >= 2 else np.nan
        rows = B[:, idx]
        good = np.all(np.isfinite(rows) & (rows > 0), axis=1)
        sl = np.array([_slope(ld, np.log(row)) for row in rows[good]]) if idx.size >= 2 else np.empty(0)
        ci = np.percentile(sl, q).tolist() if sl.size >= 20 else [np.nan, np.nan]
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


def group_curves(points) -> dict:
    """The designed points ``[(params, result), ...]`` by setting, ``{("p", p) or ("kappa", k): group}``,
    each group ``{"d", "p", "N", "curve", "rounds_mean", "rounds_se", "lam_chain"}`` (lists sorted by d).
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
                     ("rounds_mean", float(r["rounds_mean"])), ("rounds_se", float(r["rounds_se"])),
                     ("lam_chain", float(np.asarray(r["lam"], float)[-1]))):
            g[k].append(v)
    return out


def floor_fit(group, n_boot=2000, rng=None) -> dict:
    """The floor of one setting: b90 per d with its interval, the long pre-training samples p b90,
    and their exponent and local slopes (:func:`scaling_fit`). Returns ``{"d", "b90", "b90_ci", "long",
    "long_ci", "where", "fit", "boot"}`` (``boot``: ``(n_boot, n_d)`` resampled b90)."""
    curves = group["curve"]
    fits = [smoothed_b90(c) for c in curves]
    boot = bootstrap_b90(curves, n_boot, rng)
    p = np.asarray(group["p"], float)
    b90 = np.array([f["b90"] for f in fits])
    ci = _ci(boot)
    return {"d": list(group["d"]), "b90": b90, "b90_ci": ci, "long": p * b90, "long_ci": ci * p[:, None],
            "where": [f["where"] for f in fits], "fit": scaling_fit(group["d"], p * b90, boot * p), "boot": boot}


def total_fit(group, n_boot=2000, rng=None) -> dict:
    """Totals of one setting at fixed N: T_90 + rounds N per d, with the rounds as the task reports them
    (mean, se): on each resample b90* + (rounds_mean + rounds_se z) N, z ~ N(0, 1). Returns ``{"d",
    "total", "total_ci", "rounds_share", "fit", "boot"}`` (rounds_share: rounds N / total)."""
    g = np.random.default_rng(rng)
    fl = floor_fit(group, n_boot, g)
    N, rm, rs = (np.asarray(group[k], float) for k in ("N", "rounds_mean", "rounds_se"))
    total = fl["b90"] + rm * N
    boot = fl["boot"] + (rm + np.nan_to_num(rs) * g.standard_normal(fl["boot"].shape)) * N
    return {"d": fl["d"], "total": total, "total_ci": _ci(boot), "rounds_share": rm * N / total,
            "fit": scaling_fit(group["d"], total, boot), "boot": boot, "floor": fl}


def exponent_difference(fit_a, boot_a, fit_b, boot_b, d, level=0.95) -> dict:
    """Exponent of a minus exponent of b over their common d, with the percentile interval over paired
    independent resamples (resample i of each); ``{"diff", "ci"}``."""
    ea = scaling_fit(d, fit_a, boot_a, level)
    eb = scaling_fit(d, fit_b, boot_b, level)
    ld = np.log(np.asarray(d, float))
    ok = np.all(np.isfinite(boot_a) & np.isfinite(boot_b) & (boot_a > 0) & (boot_b > 0), axis=1)
    diffs = np.array([_slope(ld, np.log(x)) - _slope(ld, np.log(y)) for x, y in zip(boot_a[ok], boot_b[ok])])
    q = [(1 - level) / 2 * 100, (1 + level) / 2 * 100]
    return {"diff": ea["exponent"] - eb["exponent"],
            "ci": np.percentile(diffs, q).tolist() if diffs.size >= 20 else [np.nan, np.nan]}


def _ci(boot, level=0.95) -> np.ndarray:
    """Percentile interval per column of ``boot`` ``(n_boot, n)`` over its finite entries: ``(n, 2)``
    (nan where fewer than half the resamples are finite: the interval leaves the grid)."""
    out = np.full((boot.shape[1], 2), np.nan)
    for j in range(boot.shape[1]):
        col = boot[:, j][np.isfinite(boot[:, j])]
        if col.size >= 0.5 * boot.shape[0]:
            out[j] = np.percentile(col, [(1 - level) / 2 * 100, (1 + level) / 2 * 100])
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


def finding_text(runs=None, n_boot=2000, rng=0) -> str:
    """The README's statement of the designed experiment, generated from the stored results: per setting the
    floor exponent (long pre-training samples), the total exponent and the rounds' share, and per lambda
    schedule the floor exponent, each number with its 95% bootstrap interval; '' when the runs are not shipped."""
    g = np.random.default_rng(rng)
    floor = group_curves(designed_points("design-floor", runs))
    total = group_curves(designed_points("design-total", runs))
    def iv(f):            # an exponent with its interval, or why there is none (never a NaN)
        if not np.isfinite(f["exponent"]):
            return "no exponent (fewer than 2 d with b90 inside the grid)"
        ci = ("no interval (too few resamples inside the grid)" if not np.all(np.isfinite(f["ci"]))
              else f"[{f['ci'][0]:.2f}, {f['ci'][1]:.2f}]")
        return f"d^{f['exponent']:.2f} {ci} (d = {', '.join(str(int(x)) for x in f['d'])})"

    def outside(grp, fl):   # where the fit leaves the grid, what the observed curve says
        out = []
        for d, w, c in zip(fl["d"], fl["where"], grp["curve"]):
            if w == "inside":
                continue
            c = np.asarray(c, float).reshape(-1, 3)
            hit = np.flatnonzero(c[:, 1] / c[:, 2] >= 0.9)
            seen = ("no budget reaches 90%" if not hit.size else "90% first at T = "
                    f"{c[hit[0], 0]:.0f}" + (f" after {c[hit[0] - 1, 1]:.0f}/{c[hit[0] - 1, 2]:.0f} at "
                                             f"{c[hit[0] - 1, 0]:.0f}" if hit[0] else ""))
            out.append(f"d = {int(d)}: {seen}")
        return f" (fit outside the grid; observed: {'; '.join(out)})" if out else ""

    lines = []
    for key, grp in sorted(floor.items()):
        name = f"p = d^-{key[1]:g}" if key[0] == "kappa" else f"p = {key[1]:g}"
        fl = floor_fit(grp, n_boot, g)
        line = f"{name}: floor p T_90 ~ {iv(fl['fit'])}{outside(grp, fl)}"
        if key in total:
            t = total_fit(total[key], n_boot, g)
            share = [f"{x:.2f}" for x in t["rounds_share"] if np.isfinite(x)]
            line += f"; total ~ {iv(t['fit'])}" + (f", rounds' share {', '.join(share)}" if share else "")
        lines.append(line)
    lam = designed_points("design-lambda", runs)
    today = [x for x in designed_points("design-floor", runs) if x[0].get("p") == 0.25]
    for (name, c), pts in sorted(schedule_groups(lam + today).items()) if lam else []:
        grp = next(iter(group_curves(pts).values()))
        fl = floor_fit(grp, n_boot, g)
        lines.append(f"lambda_chain = {name}, c = {c:g} (p = 0.25): floor ~ {iv(fl['fit'])}{outside(grp, fl)}")
    return "\n".join(f"- {x}" for x in lines)
