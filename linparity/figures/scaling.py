"""F5: total samples to make greedy decoding correct against d, two routes, two sweeps.

Sweep 1: p = d^-kappa (kappa in KAPPAS); sweep 2: fixed p (settings.f5_fixed_ps), which isolates the
d-dependence of estimation. Routes: sufficient statistics (every head at its regularised optimum on
the sampled mixture: the infinite-precision-estimation reference; sweep tasks ``linparity.f5`` and
``linparity.samples`` with route 'stats') and full weights (Algorithm 3 + STaR 'continue' on the
full weight vectors; ``linparity.samples`` with route 'full').
"""
from __future__ import annotations

import numpy as np
from matplotlib.ticker import FormatStrFormatter, NullFormatter

from ..experiments import ntp
from ..experiments import samples as sm
from ..experiments import scaling as sc
from ..sweep import SweepSpec, run_sweep
from . import _plot, totals
from .report import FigureResult, Row, fmt

__all__ = ["f5", "KAPPAS"]

KAPPAS = (0.5, 1.0, 2.0)
CAP = 2 ** 27       # largest budget B of the doubling search (stats route)
FULL_CAP = 2 ** 20  # largest budget B of the full-weight route


def _points_full(s):
    """The sweep points of the stats route at fixed p (first, so that changing the full-weight grid
    does not move their task index, hence their seed), then of the full-weight route."""
    pts = [{"route": "stats", "p": p, "d": d, "replicates": s.f5_R, "b0": 8, "cap": CAP, "n_max": 60}
           for p in s.f5_fixed_ps for d in s.f5_ds]
    for kappa in KAPPAS:
        for d in (s.f5_full_ds_k2 if kappa == 2.0 else s.f5_full_ds):
            pts.append({"route": "full", "kappa": kappa, "d": d, "replicates": s.f5_full_R, "b0": s.f5_full_b0,
                        "cap": FULL_CAP, "variant": "continue"})
    for p in s.f5_fixed_ps:
        for d in s.f5_full_ds:
            pts.append({"route": "full", "p": p, "d": d, "replicates": s.f5_full_R, "b0": s.f5_full_b0,
                        "cap": FULL_CAP, "variant": "continue"})
    for pt in pts:
        pt["lam"] = list(ntp.default_lam(pt["d"]))
    return pts


def _curve(recs):
    """(d, mean total, se of the mean, budget found) per record, sorted by d; not-found points kept (nan)."""
    recs = sorted(recs, key=lambda r: r[0])
    d = np.array([r[0] for r in recs], float)
    found = np.array([np.isfinite(float(r[1]["budget"])) for r in recs], dtype=bool)
    mean = np.array([float(r[1]["total_samples_mean"]) if f else np.nan for r, f in zip(recs, found)])
    se = np.array([float(r[1]["total_samples_se"]) if f else np.nan for r, f in zip(recs, found)])
    return d, mean, se, found


def _fit(d, mean, found):
    return sc.fit_power_law(d[found], mean[found]) if found.sum() >= 2 else {"slope": np.nan, "se": np.nan}


def _route_rows(label, deg, ds_full, fit_full, fit_stats, found_full, worst, ds_stats, missed=(), note="") -> list:
    """REPORT rows of one setting; the criteria were fixed before the full-mode run.

    The stats-route exponent is fitted over its own d range (ds_stats): the two routes share only
    d = 8 and 16, too few for a standard error (the first run compared over the shared d only and
    could not check the criterion; the verdicts are the same either way).
    ``missed``: (d, cap, success fraction at the cap, n_max) of the points not reached, named in both
    rows (the fit leaves them out). ``note``: which d were read from shipped runs (in both rows' details)."""
    miss = "".join(f"; d = {m[0]} not reached: success {fmt(m[2])} at the cap B = 2^{int(round(np.log2(m[1])))}"
                   for m in missed)
    sf, ef = fit_full["slope"], fit_full["se"]
    ss_, es = fit_stats["slope"], fit_stats["se"]
    tol = 2 * np.hypot(ef, es) if np.isfinite(ef) and np.isfinite(es) else np.nan
    all_found = bool(found_full.all())
    diff = sf - ss_
    rows = [Row("F5", f"Contrast, {label}: full weight vectors add d-dependence (full-weight exponent above the "
                "sufficient-statistics one)", f"stats exponent {fmt(ss_)} +- {fmt(es, 2)}",
                f"full {fmt(sf)} +- {fmt(ef, 2)}, difference {fmt(diff)} ({int(found_full.sum())}/{len(ds_full)} d "
                f"reached, d in {ds_full})" + miss, all_found and np.isfinite(tol) and diff > tol,
                "criterion: every d reached and full - stats > 2 sqrt(se_full^2 + se_stats^2)" + note)]
    if worst is not None:
        rows.append(Row("F5", f"Which head fails first, {label}: the head furthest from the closed-form optimum at the "
                        "budget just below success", "the chain (it steps on p T long samples, lam_chain = 0.01/d)",
                        worst, worst.startswith("chain"),
                        "criterion (fixed before the run): the chain is the most frequent worst head at every d; "
                        "distance: |ln measured/optimum| of the head's factor of pi(L(x)|x), replicates that failed"
                        + note))
    return rows


def f5(s, ss, out, jobs=1, progress=False) -> FigureResult:
    ds = list(s.f5_ds)
    seeds = ss.generate_state(2)
    # every point carries its own lambdas (0.01, 0.01, 0.01/d) and search settings
    pts = [{"kappa": k, "d": d, "lam": list(ntp.default_lam(d)), "replicates": s.f5_R, "n_max": 60,
            "b0": 8, "cap": CAP, "frac": 0.9, "level": 0.99} for k in KAPPAS for d in ds]
    spec = SweepSpec(task="linparity.f5", points=pts, replicates=1, seed=int(seeds[0]),
                     out=str(out / "sweeps" / f"F5-{s.name}"), imports=["linparity.experiments"])
    sw = run_sweep(spec, jobs=jobs, progress=progress)
    spec2 = SweepSpec(task="linparity.samples", points=_points_full(s), replicates=1, seed=int(seeds[1]),
                      out=str(out / "sweeps" / f"F5-samples-{s.name}"), imports=["linparity.experiments"])
    sw2 = run_sweep(spec2, jobs=jobs, progress=progress)
    res2 = [(pt, sw2.results[i][0]) for i, pt in enumerate(sw2.points)]
    shipped = sm.shipped_full_points(s.f5_shipped, replicates=s.f5_full_R)
    more_rounds = sm.pooled_shipped_totals(s.f5_more_rounds)
    fig, (ax, axp, ax2, axf, axn, spare) = _plot.new(ncols=3, nrows=2, width=4.2, height=3.8)
    spare.set_axis_off()
    rows, summ = [], []
    d_fine = np.geomspace(min(ds), max(ds), 60)
    for k, kappa in enumerate(KAPPAS):
        col = f"C{k}"
        recs = [sw.results[i][0] for i, pt in enumerate(sw.points) if pt["kappa"] == kappa]
        guide = np.array([sc.guide_samples(float(d) ** -kappa) for d in d_fine])
        ax.plot(d_fine, guide, color=col, lw=0.8, alpha=0.5,
                   label="guide (1+n*)/p" if k == 0 else None)
        found = np.array([np.isfinite(float(r["budget"])) for r in recs])
        tot = [np.asarray(r["totals"]) for r in recs]
        mean = np.array([t[np.isfinite(t)].mean() if np.isfinite(t).any() else np.nan for t in tot])
        std = np.array([t[np.isfinite(t)].std(ddof=1) if np.isfinite(t).sum() > 1 else 0.0 for t in tot])
        dd = np.array(ds, float)
        ax.errorbar(dd[found], mean[found], yerr=std[found], fmt="s--", color=col, ms=4, capsize=2, mfc="none",
                    label=f"stats route, kappa={kappa:g}")
        if (~found).any():
            ax.plot(dd[~found], [CAP] * int((~found).sum()), "^", color=col, mfc="none",
                    label=_plot.once(ax, "stats: cap passed"))
        fit = sc.fit_power_law(dd[found], mean[found]) if found.sum() >= 2 else {"slope": np.nan, "se": np.nan}
        g = sc.fit_power_law(dd, [sc.guide_samples(float(d) ** -kappa) for d in dd])
        ok = bool(found.all()) and abs(fit["slope"] - g["slope"]) <= max(5 * fit["se"], 0.25)
        rows.append(Row("F5", f"Thm 2: total samples to greedy accuracy >= 0.99 in >= 90% of replicates is poly(d), "
                        f"p = d^-{kappa:g}; sufficient-statistics route",
                        f"finite exponent; guide (1+n*)/p has slope {fmt(g['slope'])}",
                        f"fitted exponent {fmt(fit['slope'])} +- {fmt(fit['se'], 2)} ({int(found.sum())}/{len(ds)} d "
                        "reached)", ok, f"criterion: every d reached below the cap 2^27 and |slope - guide| <= "
                        f"max(5 se, 0.25); d in {ds}; total = pre-training + STaR samples"))
        deg = sc.sample_degree(kappa)
        # full-weight route on the same panel
        fr = _with_shipped([(pt["d"], r) for pt, r in res2 if pt["route"] == "full" and pt.get("kappa") == kappa],
                           shipped, "kappa", kappa)
        line_full = _full_route(ax, fr, col, f"kappa={kappa:g}", f"p = d^-{kappa:g}", deg, fit, ds, rows, summ)
        _more_rounds(ax, [x for x in more_rounds if x["kappa"] == kappa], col)
        # panel c: NTP alone at its optimum (any T): closed form line, enumeration markers
        ax2.plot(d_fine, [sc.ntp_alone_accuracy(max(3, int(round(d))), float(d) ** -kappa,
                                                ntp.default_lam(max(3, int(round(d))))) for d in d_fine],
                 color=col, label=f"NTP alone (closed form), kappa={kappa:g}")
        d_ex = [d for d in ds if d <= 10] or [8]
        _plot.markers(ax2, d_ex, [sc.exact_ntp_alone_accuracy(d, d ** -kappa, ntp.default_lam(d)) for d in d_ex],
                      color=col, label="NTP alone, enumeration" if k == 0 else None)
        # one legend entry per kind (the colour is kappa's, named by the closed-form line)
        ax2.plot(dd, [np.mean(np.isfinite(t)) for t in tot], "s--", color=col, ms=4, mfc="none",
                 label="pipeline success, stats route" if k == 0 else None)
        fd, ff = line_full["d"], line_full["success"]
        ax2.plot(fd, ff, "o-", color=col, ms=4, label="pipeline success, full weights" if k == 0 else None)
    # sweep 2: fixed p, both routes
    deg0 = sc.sample_degree(0.0)
    for k, p in enumerate(s.f5_fixed_ps):
        col = f"C{k + len(KAPPAS)}"
        st = _curve([(pt["d"], r) for pt, r in res2 if pt["route"] == "stats" and pt.get("p") == p])
        axp.plot(st[0][st[3]], st[1][st[3]], "s--", color=col, ms=4, mfc="none", label=f"stats route, p={p:g}")
        fit_s = _fit(*st[:2], st[3])
        fr = _with_shipped([(pt["d"], r) for pt, r in res2 if pt["route"] == "full" and pt.get("p") == p],
                           shipped, "p", p)
        _full_route(axp, fr, col, f"p={p:g}", f"fixed p = {p:g}", deg0, fit_s, ds, rows, summ)
        _more_rounds(axp, [x for x in more_rounds if x["kappa"] is None and x["p"] == p], col)
    never = [(k, d) for k in KAPPAS for d in ds if float(d) ** -k < 1 / 3]
    acc = [sc.ntp_alone_accuracy(d, float(d) ** -k, ntp.default_lam(d)) for k, d in never]
    rows.append(Row("F5", "Thm 2: next-token prediction alone never makes greedy decoding correct for p < 1/3",
                    "greedy accuracy 1/2 at the NTP optimum (any T)",
                    f"max accuracy {fmt(max(acc))} over {len(never)} (kappa, d) points with p < 1/3",
                    max(acc) < 0.99, "criterion: < 0.99 at every such point"))
    ax.set(xscale="log", yscale="log", xlabel="d (input bits)", ylabel="total samples to greedy acc >= 0.99",
           title="sweep 1: p = d^-kappa")
    axp.set(xscale="log", yscale="log", xlabel="d (input bits)", ylabel="total samples to greedy acc >= 0.99",
            title="sweep 2: fixed p")
    ax.set_ylim(top=ax.get_ylim()[1] * 1e3)              # room for the legend above the curves
    ax.legend(fontsize=4.8, ncol=3, loc="upper left")
    axp.set_ylim(top=axp.get_ylim()[1] * 1e3)            # room for the legend above the curves
    axp.legend(fontsize=4.8, ncol=2, loc="upper left")
    ax2.set(xscale="log", xlabel="d (input bits)", ylim=(0.4, 1.05),
            ylabel="greedy acc. (NTP alone) or success fraction",
            title="NTP alone vs the pipeline's success fraction")
    ax2.yaxis.label.set_fontsize(7)
    ax2.legend(fontsize=4.8, loc="center left")     # fixed: "best" moved onto the d = 128 points
    for a in (ax, axp, ax2):
        a.title.set_fontsize(7.5)
    cap = (f"F5. Samples to generalise vs d, lam=(0.01, 0.01, 0.01/d). Budget B doubled until >= 90% of replicates "
           f"reach greedy accuracy >= 0.99 with T = B pre-training samples and STaR rounds of N = B inputs; total = "
           f"B (1 + rounds used), mean +- se (full) or +-1 std (stats) over replicates that succeeded. Open squares, "
           f"dashed: sufficient-statistics route ({s.f5_R} replicates, <= 60 rounds), the infinite-precision-"
           f"estimation reference (sampled type counts, heads refit to their regularised optimum). Filled circles, "
           f"solid: full weights ({s.f5_full_R} replicates, <= n*(p)+10 rounds; Algorithm 3, then STaR 'continue' "
           f"from the current weights, E = 2 epochs, lr 0.5, batch 32; success on all 2^d inputs for d <= 12, else "
           f"4096 fresh inputs). Thin lines: guide (1+n*(p))/p. Right: NTP alone at its optimum "
           f"(accuracy 1/2 for p < 1/3) and the fraction of replicates that generalise at the budget found (for a "
           f"point not reached: at its cap). Triangles: not reached below the cap (stats route: drawn at the cap; "
           f"full route: at the samples a replicate uses at the cap, B (1 + n_max), with the success there in "
           f"REPORT), left out of the fits.")
    if shipped:
        cap += (" Open diamonds: full-weight points of the shipped sweeps " + ", ".join(
            f"examples/runs/{n}" for n in s.f5_shipped) + " (run once to completion with `python -m linparity "
                "sweep examples/<name>.toml`, same settings; not recomputed by this figure, whose time budget they "
                "exceed), included in the full-weight fits.")
    if more_rounds:
        cap += (" Stars: the full-weight pipeline with a longer round limit, from shipped runs (" + "; ".join(
            (f"p = {x['p']:g}" if x["kappa"] is None else f"kappa = {x['kappa']:g}") + f", d = {x['d']}: B = "
            + " or ".join(f"2^{np.log2(b):.0f}" for b in x["budgets"])
            + f", {x['n_max']:.0f} rounds, {x['n']} replicates" for x in more_rounds) + "; " + ", ".join(
            f"examples/runs/{n}" for n in s.f5_more_rounds) + "; mean +- se, all replicates reached 0.99), not in "
            "the fits of the search; the smallest total per d over the search and these runs has its own REPORT "
            "row.")
    floor_rows, floor_cap = totals.floor_layer(axf, axn, rng=ss.spawn(1)[0])
    if not axn.has_data():
        axn.set_axis_off()
    rows += floor_rows
    axf.set(xscale="log", yscale="log", xlabel="d (input bits)", ylabel="long pre-training samples p T_90",
            title="the floor (designed runs)" if floor_rows else "the floor: designed runs not shipped yet")
    axf.title.set_fontsize(7.5)
    if floor_rows:
        axf.legend(fontsize=5)
        axf.set_xticks([2.0 ** k for k in range(3, 9) if axf.get_xlim()[0] <= 2.0 ** k <= axf.get_xlim()[1]],
                       minor=False)
        axf.xaxis.set_major_formatter(FormatStrFormatter("%g"))
        axf.xaxis.set_minor_formatter(NullFormatter())      # a powers-of-2 axis: no 2x10^1 labels between
    cap += floor_cap + " Totals against d: F13."
    res = FigureResult("F5", cap, "; ".join(summ), rows, _plot.save(fig, out, "F5_sample_complexity", cap))
    return res


def _more_rounds(ax, more, col):
    """Stars: the shipped full-weight runs with longer round limits (experiments.samples.pooled_shipped_totals)."""
    if more:
        ax.errorbar([x["d"] for x in more], [x["mean"] for x in more], yerr=[x["se"] for x in more], fmt="*",
                    color=col, ms=8, capsize=2, label=_plot.once(ax, "full weights, more STaR rounds (stars)"))


def _with_shipped(fr, shipped, key, value) -> list:
    """The computed full-weight points ``[(d, result)]`` of one sweep plus the shipped points
    (experiments.samples.shipped_full_points) of the same ``key`` = value at the other d, each
    shipped result marked ``"shipped"``."""
    have = {d for d, _ in fr}
    extra = [(pt["d"], {**r, "shipped": True}) for pt, r in shipped
             if pt.get(key) == value and pt["d"] not in have]
    return fr + extra


def _full_route(ax, fr, col, key, sweep, deg, fit_stats, ds, rows, summ) -> dict:
    """Draw the full-weight route of one sweep (:func:`_full_layer`), append its REPORT rows and its
    summary line next to the stats route's fit; returns the layer."""
    line_full = _full_layer(ax, fr, col, deg)
    note = (f"; d = {', '.join(str(int(x)) for x in line_full['shipped'])} read from the shipped runs in "
            "examples/runs, not recomputed" if line_full["shipped"].size else "")
    rows += _route_rows(sweep, deg, [int(x) for x in line_full["d"]], line_full["fit"],
                        fit_stats, line_full["found"], line_full["worst"], ds, line_full["missed"], note)
    summ.append(f"{key}: stats {fmt(fit_stats['slope'])}+-{fmt(fit_stats['se'], 2)}, full "
                f"{fmt(line_full['fit']['slope'])}+-{fmt(line_full['fit']['se'], 2)} (bound {deg:g})")
    return line_full


def _full_layer(ax, fr, col, deg) -> dict:
    """Plot one full-weight curve (filled circles, mean +- se) ;
    returns d, found, success fractions, the fit and the worst-head summary at the budget below."""
    d, mean, se, found = _curve(fr)
    recs = [r for _, r in sorted(fr, key=lambda x: x[0])]
    if found.any():
        ax.errorbar(d[found], mean[found], yerr=se[found], fmt="o-", color=col, ms=4, capsize=2,
                    label=_plot.once(ax, "full weights (circles)"))
    last = [np.asarray(r["tried"]).reshape(-1, 2)[-1] for r in recs]              # (cap, success there)
    missed = [(int(x), t[0], t[1], float(r["n_max"])) for x, t, f, r in zip(d, last, found, recs) if not f]
    if missed:                                 # at the samples a replicate uses at the cap, B (1 + n_max)
        ax.plot([m[0] for m in missed], [m[1] * (1 + m[3]) for m in missed], "^", color=col, ms=7,
                label=_plot.once(ax, "full: cap passed"))
    ship = np.array([bool(r.get("shipped")) for r in recs], dtype=bool)
    if (ship & found).any():
        ax.plot(d[ship & found], mean[ship & found], "D", color=col, ms=7, mfc="none", mew=0.8,
                label=_plot.once(ax, "shipped run (examples/runs)"))
    counts = np.array([np.asarray(r["worst_counts"]) for r in recs])               # (n_d, 3)
    worst = None
    if counts.size and counts.sum() > 0:
        per_d = [sm.HEADS[int(np.argmax(c))] if c.sum() else "-" for c in counts]
        worst = ", ".join(f"d={int(x)}: {h}" for x, h in zip(d, per_d))
        worst = ("chain at every d (" if all(h == "chain" for h in per_d if h != "-") else "mixed (") + worst + ")"
    return {"d": d, "found": found, "fit": _fit(d, mean, found), "worst": worst,
            "success": np.array([float(r["success_fraction"]) for r in recs]), "shipped": d[ship],
            "missed": missed}
