"""F13: total samples against d with local slopes and intervals; and F5's designed-floor layer.

Reads the shipped runs (examples/runs, :func:`linparity.experiments.samples_runs.runs_dir`): the
designed runs (``design-floor``, ``design-total``, ``design-lambda``: success curves, b90 with
bootstrap intervals, :mod:`linparity.experiments.design`) when present, and otherwise the older
T = N = B runs (the smallest mean total per d, :func:`~linparity.experiments.samples_runs.smallest_totals`).
Nothing here is a simulation: the bootstrap and the bound (theory.certified_pretrain_samples) are
recomputed, the runs are read.
"""
from __future__ import annotations

import numpy as np
from matplotlib.lines import Line2D

from ..experiments import design as dz
from ..experiments import floor_n as fn
from ..experiments import samples_runs as sr
from ..experiments.samples_fit import fit_b90
from . import _plot
from .report import FigureResult, Row, fmt

__all__ = ["f13", "floor_layer", "DESIGNED", "N_BOOT"]

#: the designed runs under the runs folder (examples/design_*.toml)
DESIGNED = {"floor": "design-floor", "total": "design-total", "lambda": "design-lambda"}
N_BOOT = 2000
#: what a missing value (report.fmt's n/a) in a designed row means
NA = "; n/a: b90 outside the budget grid (no budget reached 90%, or the fit crossed outside it; not extrapolated)"


def _label(key) -> str:
    return f"p = d^-{key[1]:g}" if key[0] == "kappa" else f"p = {key[1]:g}"


def _slopes(local) -> str:
    if not local:
        return "none (one d)"
    return ", ".join(f"{int(l['d'][0])}->{int(l['d'][1])}: {fmt(l['slope'])} [{fmt(l['ci'][0])}, {fmt(l['ci'][1])}]"
                     for l in local)


def floor_layer(ax, ax_n=None, runs=None, rng=0) -> tuple[list, str]:
    """Draw the designed floor p T_90(d) with its intervals, the Props 1-3 T_long at the run's own lambdas
    and the order-d lower line on ``ax``, and T_90 against N on ``ax_n`` (when given); returns (REPORT rows,
    caption text). The floor is the second stage's (design_fine.toml, N = 4 B(d)) where it is shipped, else
    the first stage's (N = B(d)). Nothing when no designed run is shipped."""
    first = dz.designed_points(DESIGNED["floor"], runs)
    by_run = fn.fine_runs(runs)
    fine = [x for pts in by_run.values() for x in pts]
    if not first and not fine:
        return [], ""
    g = np.random.default_rng(rng)
    stage1 = dz.group_curves(first)
    groups, n_rule = fn.floor_groups(first, fine)
    rows = []
    for k, (key, grp) in enumerate(sorted(groups.items())):
        fl = dz.floor_fit(grp, N_BOOT, g)
        d = np.asarray(fl["d"])
        ref = dz.floor_references(grp)
        cert = ref["certified"]
        long, long_ci = np.array(fl["long"], float), np.array(fl["long_ci"], float)     # None -> nan: not drawn
        ok = np.isfinite(long)
        ax.errorbar(d[ok], long[ok], yerr=np.abs(long_ci[ok].T - long[ok]), fmt="o-", color=f"C{k}",
                    ms=4, capsize=2, label=f"p T_90, {_label(key)}")
        if fine and key in stage1:       # context line: the first stage's point estimates, no bootstrap needed
            f1 = stage1[key]
            long1 = [pp * (fit_b90(c, smoothing=dz.JEFFREYS)["b90"] or np.nan) for pp, c in zip(f1["p"], f1["curve"])]
            ax.plot(np.asarray(f1["d"]), long1, "--", color=f"C{k}", lw=0.8, alpha=0.6,
                    label=_plot.once(ax, "dashed: N = B(d) (first stage)"))
        hi = [c[1] for c in fl["long_ci"]]
        passed = all(h is not None and h <= c for h, c in zip(hi, cert))
        fit = fl["fit"]
        rows.append(Row("F5", f"Props 1-3 at the run's own lambdas certify the floor, {_label(key)}, {n_rule}: long "
                        "pre-training samples p T_90 <= certified T_long at every d",
                        "certified T_long: " + ", ".join(f"d={int(x)}: {fmt(c)}" for x, c in zip(d, cert)),
                        f"p T_90 95% upper ends {', '.join(fmt(x) for x in hi)}; exponent {fmt(fit['exponent'])} "
                        f"[{fmt(fit['ci'][0])}, {fmt(fit['ci'][1])}]; local {_slopes(fit['local'])}; lower line "
                        f"(order d, Ng 2004): {', '.join(fmt(x) for x in ref['lower'])}" + _limit_text(grp),
                        passed, f"criterion ({'design_fine' if fine else 'design_floor'}.toml): every d's bootstrap "
                        "95% upper end <= certified (inf: no T certifies); a b90 outside the grid fails" + NA))
    for key, grp in sorted(stage1.items()):
        for dc, N, curve in grp["checks"]:
            i = list(grp["d"]).index(dc)
            c1, c2 = (dz.floor_fit({**grp, "d": [dc], "p": [1.0], "curve": [c]}, N_BOOT, g)["b90_ci"][0]
                      for c in (grp["curve"][i], curve))
            rows.append(Row("F5", f"The floor is not bound by N, {_label(key)}, d = {int(dc)}: T_90 at N = "
                            f"{fmt(grp['N'][i])} and at {fmt(N)} agree", "overlapping 95% intervals",
                            f"[{fmt(c1[0])}, {fmt(c1[1])}] vs [{fmt(c2[0])}, {fmt(c2[1])}]",
                            None not in (*c1, *c2) and c1[0] <= c2[1] and c2[0] <= c1[1],
                            "criterion (design_floor.toml): the two intervals overlap"))
    if fine:
        rows += _n_rows(ax_n, fn.pooled_curves(first + fine), g)
    dl = np.geomspace(min(p[0]["d"] for p in first + fine), max(p[0]["d"] for p in first + fine), 20)
    ax.plot(dl, dl, "k:", lw=1, label="order d (rotation-invariant lower line)")
    rows += _lambda_rows(runs, g)
    src = "examples/runs/" + ", ".join(["design-floor", *by_run])
    return rows, (f" Designed floor ({src}, read): p T_90 at {n_rule} with 95% bootstrap intervals over whole "
                  "success curves (recomputed); dotted: order-d lower line."
                  + (" Last panel: T_90 against N = m B(d) at fixed d (both stages' curves pooled by N)." if fine else ""))


def _limit_text(grp) -> str:
    """The rounds the generalising replicates used at the first budget with >= 90% success, against the round
    limit (design_fine.toml reports them: where they come near the limit, the limit raises T_90)."""
    if "rounds_at_90" not in grp:
        return ""
    return (f"; mean rounds at the first budget with >= 90% success {', '.join(fmt(x) for x in grp['rounds_at_90'])} "
            f"(round limit {', '.join(fmt(x) for x in grp['n_max'])})")


def _d_colour(d) -> str:
    return f"C{int(np.log2(d / 8)) % 10}"


def _n_rows(ax, pooled, g) -> list:
    """T_90 against N per (setting, d) on ``ax``, and the design_fine.toml row: the floor does not depend on N
    from N = 4 B(d) on (p = 0.25: no doubling from m = 4 moves the b90 interval wholly below)."""
    parts, context, binds, marks, seen_d, seen_key = [], [], [], iter("osD^v"), set(), {}
    for key in sorted(pooled):
        deps = {d: fn.n_dependence(by_n, N_BOOT, g) for d, by_n in sorted(pooled[key].items()) if len(by_n) >= 2}
        mk = next(marks) if deps else None
        for d, nd in deps.items():
            m = np.asarray(nd["N"]) / fn.prior_budget(d, key)
            b90, ci = np.array(nd["b90"], float), np.array(nd["b90_ci"], float)     # None -> nan: not drawn
            ok = np.isfinite(b90)
            if ax is not None and ok.any():
                ax.errorbar(m[ok], b90[ok], yerr=np.abs(ci[ok].T - b90[ok]), fmt=mk + "-", color=_d_colour(d), ms=4,
                            capsize=2, mfc="none" if key != ("p", 0.25) else None)
                seen_d.add(d)
                seen_key[key] = mk
            text = (f"d={int(d)}: T_90 {', '.join(fmt(x) for x in nd['b90'])} at m = {', '.join(fmt(x) for x in m)}; "
                    f"beta {fmt(nd['beta'])} [{fmt(nd['beta_ci'][0])}, {fmt(nd['beta_ci'][1])}]; rounds at 90% "
                    f"{', '.join(fmt(x, 2) for x in nd['rounds_at_90'])}")
            if key == ("p", 0.25):
                parts.append(text)
                binds += [(d, N / fn.prior_budget(d, key), b) for N, b in nd["binds"]]
            else:
                context.append(f"{_label(key)}, {text}")
    if ax is not None:
        ax.set_xscale("log", base=2)
        ax.set(yscale="log", xlabel="m = N / B(d) (colour: d; marker: setting)", ylabel="T_90 (pre-training samples)",
               title="the floor against the round inputs N")
        ax.title.set_fontsize(7.5)
        if seen_d:            # one entry per colour (d) and per marker (setting): at most 4 + 4
            ax.legend(handles=[Line2D([], [], color=_d_colour(d), label=f"d = {int(d)}") for d in sorted(seen_d)]
                      + [Line2D([], [], marker=mk, ls="none", color="k", mfc="none" if key != ("p", 0.25) else None,
                                label=_label(key)) for key, mk in seen_key.items()], fontsize=5)
    decide = [b for _, m, b in binds if m == fn.FLOOR_M]            # the spec's verdict: the doubling from m = 4
    if not decide:
        return []
    bound = [f"d={int(d)} at m={fmt(m)}" for d, m, b in binds if b]
    unknown = [f"d={int(d)} at m={fmt(m)}" for d, m, b in binds if b is None]
    return [Row("F5", f"The floor does not depend on N from N = {fn.FLOOR_M} B(d) on, p = 0.25: T_90 at N and 2N agree",
                f"no doubling of N from {fn.FLOOR_M} B(d) lowers the b90 interval wholly below the one before",
                "; ".join(parts) + (f". N binds (interval at 2N wholly below): {', '.join(bound)}" if bound
                                    else ". N binds nowhere")
                + (f"; undecided (b90 outside the grid): {', '.join(unknown)}" if unknown else "")
                + (f". Context, no criterion: {'; '.join(context)}" if context else ""),
                not any(decide) and None not in decide,
                f"criterion (design_fine.toml): N does not bind at m = {fn.FLOOR_M} at every d where m = {2 * fn.FLOOR_M} "
                "ran; beta: T_90 ~ N^-beta, least squares on ln N with a whole-curve bootstrap interval" + NA)]


def _lambda_rows(runs, g) -> list:
    """Rows of each shipped lambda-schedule stage (design_lambda.toml at N = B(d), design_lambda_fine.toml at
    N = 4 B(d); today's schedule from the floor runs at the same N, :func:`floor_n.schedule_stages`)."""
    return [row for st in fn.schedule_stages(runs) for row in _stage_rows(st, g)]


def _stage_rows(stage, g) -> list:
    fits = {k: dz.floor_fit(grp, N_BOOT, g) for k, grp in stage["groups"].items()}
    base = fits.get(("c/d", 0.01))
    n_rule = fn.n_rule(stage["m"])
    rows = []
    for (name, c), fl in fits.items():
        rows.append(Row("F5", f"Lambda schedule lam_chain = {name}, c = {c:g}, p = 0.25, {n_rule}: exponent of p T_90 "
                        "(does d^2 persist?)", "measured, with interval", f"exponent {fmt(fl['fit']['exponent'])} "
                        f"[{fmt(fl['fit']['ci'][0])}, {fmt(fl['fit']['ci'][1])}], d in {[int(x) for x in fl['d']]}",
                        fl["fit"]["exponent"] is not None,
                        "criterion: an exponent is defined (>= 2 d inside the grid)" + NA))
    if base is not None:
        low = {x: c[0] for x, c in zip(base["d"], base["b90_ci"]) if c[0] is not None}     # today's lower ends
        better = [f"{n} c={c:g} at d={int(x)}" for (n, c), fl in fits.items() if (n, c) != ("c/d", 0.01)
                  for x, (_, hi) in zip(fl["d"], fl["b90_ci"]) if x in low and hi is not None and hi < low[x]]
        rows.append(Row("F5", "Today's lam_chain = 0.01/d needs no more pre-training samples than any other schedule "
                        f"at any d (p = 0.25, {n_rule})", "no schedule's T_90 interval entirely below today's",
                        "; ".join(better) or "none below", not better, f"criterion ({stage['spec']})"))
    return rows


def _old_rows(ax, runs, names) -> list:
    """The older T = N = B runs: smallest mean total per d (an upper bound on the minimum over the power-of-2
    grid), local slopes with delta-method intervals, and Thm 2's rounds claim on the rounds those totals used."""
    rows = []
    for k, (key, mins) in enumerate(sorted(sr.smallest_totals(names, runs).items())):
        if len(mins) < 2:
            continue
        d = np.array([m["d"] for m in mins], float)
        mean, se = np.array([m["mean"] for m in mins]), np.array([m["se"] for m in mins])
        rounds = mean / np.array([m["budget"] for m in mins]) - 1
        ax.errorbar(d, mean, yerr=se, fmt="s--", color=f"C{k}", ms=4, capsize=2, label=f"T = N = B, {_label(key)}")
        rl = dz.local_slopes_from_means(d, rounds, se / np.array([m["budget"] for m in mins]))
        grow = [l for l in rl if l["ci"][0] > 0]
        rows.append(Row("F13", f"Thm 2: STaR's rounds do not grow with d, {_label(key)} (shipped T = N = B runs, at "
                        "the smallest total per d)", "local slopes of rounds against d with 0 in their intervals",
                        f"totals local {_slopes(dz.local_slopes_from_means(d, mean, se))}; rounds "
                        f"{', '.join(fmt(r) for r in rounds)}, local {_slopes(rl)}", not grow,
                        "criterion: no rounds slope's 95% interval (delta method) above 0; budgets on a power-of-2 grid"))
    return rows


def _designed_rows(ax, runs, g) -> list:
    tot = dz.designed_points(DESIGNED["total"], runs)
    floor = dz.group_curves(dz.designed_points(DESIGNED["floor"], runs))
    rows = []
    for k, (key, grp) in enumerate(sorted(dz.group_curves(tot).items())):
        t = dz.total_fit(grp, N_BOOT, g)
        d = np.asarray(t["d"])
        total, total_ci = np.array(t["total"], float), np.array(t["total_ci"], float)  # None -> nan: not drawn
        ax.errorbar(d, total, yerr=np.abs(total_ci.T - total), fmt="o-", color=f"C{k}", ms=4,
                    capsize=2, label=f"designed, {_label(key)}")
        fl = dz.floor_fit(floor[key], N_BOOT, g) if key in floor else None
        common = [x for x in d if fl is not None and x in fl["d"]]
        if len(common) >= 2:
            it, jf = [list(d).index(x) for x in common], [fl["d"].index(x) for x in common]
            diff = dz.exponent_difference([t["total"][i] for i in it], t["boot"][:, it], [fl["b90"][j] for j in jf],
                                          fl["boot"][:, jf], common)
        else:
            diff = {"diff": None, "ci": [None, None]}
        rows.append(Row("F13", f"Thm 2: the rounds add no power of d to the total, {_label(key)}: total exponent = "
                        "floor exponent", "0 in the interval of (total - floor exponent)",
                        f"total exponent {fmt(t['fit']['exponent'])} [{fmt(t['fit']['ci'][0])}, {fmt(t['fit']['ci'][1])}], "
                        f"difference {fmt(diff['diff'])} [{fmt(diff['ci'][0])}, {fmt(diff['ci'][1])}]; rounds' share "
                        f"{', '.join(fmt(x, 2) for x in t['rounds_share'])}; local {_slopes(t['fit']['local'])}",
                        None not in diff["ci"] and diff["ci"][0] <= 0 <= diff["ci"][1],
                        "criterion (design_total.toml)" + NA))
    return rows


def f13(s, ss, out, jobs=1, progress=False, runs=None) -> FigureResult:
    """F13: total samples against d, local slopes with intervals (module docstring); reads the shipped runs."""
    g = np.random.default_rng(ss)
    fig, (ax, ax2) = _plot.new(ncols=2, width=4.2, height=3.8)
    rows = _old_rows(ax, runs, s.f5_shipped + s.f5_more_rounds)
    rows += _designed_rows(ax2, runs, g)
    for a, t in ((ax, "shipped T = N = B runs (smallest total per d)"), (ax2, "designed: N fixed, T at b90")):
        a.set(xscale="log", yscale="log", xlabel="d (input bits)", ylabel="total samples", title=t)
        a.title.set_fontsize(7.5)
        if a.get_legend_handles_labels()[0]:
            a.legend(fontsize=5)
    cap = ("F13. Total samples (pre-training + STaR rounds) to greedy accuracy >= 0.99 in >= 90% of replicates "
           "against d, read from the shipped runs (examples/runs; not recomputed). Left: the older T = N = B runs, "
           "smallest mean total per d +- se over the budgets tried (an upper bound on the minimum over a power-of-2 "
           "grid); REPORT gives local slopes with delta-method intervals. Right: the designed runs (design_total.toml), "
           "T_90 + rounds N with 95% bootstrap intervals over whole success curves (recomputed), when shipped.")
    return FigureResult("F13", cap, f"{len(rows)} rows", rows, _plot.save(fig, out, "F13_totals", cap))
