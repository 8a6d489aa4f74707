"""F12: rounds to generalise against d per STaR variant (Theorem 2's iteration bound), what limits a round.

The numbers come from :mod:`linparity.experiments.iteration` (task ``linparity.iteration``): the exact
map at every d and the simulated variants at ``s.f12_sim_ds`` are recomputed here (a sweep cached under
``out/sweeps/F12-<mode>``); the simulated variants at the other d are read from the shipped run of
``examples/rounds_d.toml`` (``examples/runs/rounds-d``) in full mode.
"""
from __future__ import annotations

import numpy as np

from ..experiments import iteration as it
from ..sweep import SweepSpec, run_sweep
from . import _plot
from .report import FigureResult, Row, fmt

__all__ = ["f12", "finding_text", "MAIN", "ABLATIONS"]

#: the variants with a REPORT row each (per p), and the settings of the ablation panel (p = 0.25)
MAIN = ("map", "continue-fig", "continue-alg1", "refit")
ABLATIONS = ("continue-fig", "E=1", "E=8", "lr=0.05", it.REMEDY)
_LABEL = {"map": "exact map", "continue-fig": "continue, figures' (lr .5, batch 32, E 2)",
          "continue-alg1": "continue, Alg. 1 (lr .05, batch 1, E 2)", "refit": "refit (Alg. 3 on kept set)",
          "E=1": "continue-fig, E = 1", "E=8": "continue-fig, E = 8", "lr=0.05": "continue-fig, lr 0.05",
          it.REMEDY: "remedy: continue-fig, lr = 4/d"}
_COLOR = {name: f"C{k}" for k, name in enumerate([*MAIN, "E=1", "E=8", "lr=0.05", it.REMEDY])}
_PS = (0.25, 0.1)


def _points(s) -> list:
    """The points F12 recomputes: the map at every d of s.f12_map_ds, the main simulated variants at s.f12_sim_ds."""
    extra = {} if s.f12_n_max is None else {"n_max": s.f12_n_max}
    pts = [it.point("map", d, p, **extra) for d in s.f12_map_ds for p in _PS]
    return pts + [it.point(v, d, p, replicates=s.f12_R, **extra) for d in s.f12_sim_ds for p in _PS for v in MAIN[1:]]


def _row(name, p, sm, by_d) -> Row:
    claim = f"Theorem 2: rounds to generalise do not depend on d ({_LABEL[name]}, p={p})"
    ds = f"d={sm['ds'][0]}-{sm['ds'][-1]}"
    if sm["slope"] is None:
        return Row("F12", claim, f"n*(p) = {int(sm['n_star'])} at every d", "not measured", False,
                   f"fewer than 3 d measured ({ds}); the spec's other points are in examples/rounds_d.toml", skipped=True)
    means = ", ".join(f"{fmt(m)}" for m in sm["mean"])
    gain = "" if sm["a"] is None else f"; gain/round ~ d^-({fmt(sm['a'], 2)} +- {fmt(sm['a_se'], 2)})"
    cens = sum(sm["n_censored"])
    enum = [(d, r["rounds_enum"]) for d, r in sorted(by_d.items()) if "rounds_enum" in r]
    enum = "; enumeration (full weights): " + ", ".join(f"{fmt(float(v))} at d={d}" for d, v in enum) if enum else ""
    return Row("F12", claim, f"slope of rounds on ln d = 0; n*(p) = {int(sm['n_star'])}",
               f"mean rounds {means} at {ds}; slope {fmt(sm['slope'])} +- {fmt(sm['se'], 2)}{gain}"
               + (f"; {cens} censored" if cens else ""), sm["passed"],
               f"criterion (examples/rounds_d.toml): |slope| <= 2 se and no censored replicate; |slope|/se = "
               f"{fmt(abs(sm['slope']) / sm['se']) if sm['se'] else ('0' if sm['slope'] == 0 else 'inf')}, "
               f"{cens} censored of {sum(sm['n'])}{enum}")


def _remedy_row(sm, table) -> Row:
    """The §3 row: the remedy's rounds against d, its samples against continue-fig's, and what limits a round."""
    ds = ", ".join(map(str, sm["ds"]))
    ref = it.summarise(table[("continue-fig", 0.25)]) if ("continue-fig", 0.25) in table else None
    ref_s = {d: x for d, x in zip(ref["ds"], ref["samples"])} if ref else {}
    lim, lim_ref = _limits_by_d(table, it.REMEDY), _limits_by_d(table, "continue-fig")
    norms = lambda lm: ", ".join(fmt(v["off_norm_max"], 2) for v in lm.values())  # noqa: E731
    return Row("F12", "Algorithm 1 with a step size scaled as lr = 4/d: rounds to generalise do not depend on d "
               "(p=0.25, measured)", "slope of rounds on ln d = 0",
               f"mean rounds {', '.join(fmt(m) for m in sm['mean'])} at d={ds}; slope {fmt(sm['slope'])} +- "
               f"{fmt(sm['se'], 2)}; RL samples (N x rounds) " + ", ".join(
                   fmt(x, 2) + (f" (lr 0.5: {fmt(ref_s[d], 2)})" if d in ref_s else "") for d, x in zip(sm["ds"], sm["samples"])),
               sm["passed"], "criterion (examples/rounds_d.toml): |slope| <= 2 se and no censored replicate. What limits a "
               f"round: largest off-subspace norm along a run, lr 0.5: {norms(lim_ref)} at d={', '.join(map(str, lim_ref))}; "
               f"lr = 4/d: {norms(lim)}; on the subspace a round moves the stop logit "
               + ", ".join(fmt(v["stop_move"], 2) for v in lim_ref.values()) + " of the way to the refit's target (lr 0.5); "
               "chain steps per round / (10/lambda_chain) " + ", ".join(fmt(v["chain_steps_ratio"], 2) for v in lim_ref.values()))


def _limits_by_d(table, name, p=0.25) -> dict:
    by_d = table.get((name, p), {})
    return {d: it.limits(res, d, it.point(name, d, p)) for d, res in sorted(by_d.items())}


def finding_text(table) -> str:
    """A short README statement of the measured iteration finding, generated from the runs
    ``table`` (:func:`linparity.experiments.iteration.collect`)."""
    def series(name, p, key="mean"):     # a mean with censored replicates is a lower bound: ">= m (c of n censored)"
        sm = it.summarise(table[(name, p)]) if (name, p) in table else None
        return sm, "" if sm is None else ", ".join(
            f">= {fmt(m)} ({c} of {n} censored)" if c else fmt(m) for m, c, n in zip(sm[key], sm["n_censored"], sm["n"]))
    parts = []
    for p in _PS:
        sm, txt = series("continue-fig", p)
        if sm is None:
            continue
        _, alg1 = series("continue-alg1", p)
        parts.append(f"at p = {p} (n* = {int(sm['n_star'])}), Algorithm 1 as the figures run it (lr 0.5, batch 32, "
                     f"E = 2) needs {txt} rounds at d = {', '.join(map(str, sm['ds']))}"
                     + (f" (the paper's lr 0.05, batch 1: {alg1})" if alg1 else ""))
    rem, rtxt = series(it.REMEDY, 0.25)
    lim_fig, lim_rem = _limits_by_d(table, "continue-fig"), _limits_by_d(table, it.REMEDY)
    maps = [(f"{fmt(sm['mean'][0])} at every d = {sm['ds'][0]}-{sm['ds'][-1]}" if len(set(sm["mean"])) == 1
             else f"{txt} at d = {', '.join(map(str, sm['ds']))}") + f", p = {p} (n* = {int(sm['n_star'])})"
            for p in _PS for sm, txt in [series("map", p)] if sm]
    text = ("Measured, not proved (F12; examples/runs/rounds-d, 10 replicates, converged start, N = 2 x the "
            "pre-training floor): " + "; ".join(parts) + ". The exact map needs " + "; ".join(maps) + ".")
    if lim_fig:
        ds = ", ".join(map(str, lim_fig))
        text += (f" Per figures'-settings run at d = {ds} (p = 0.25): largest norm of the weights off the reduced "
                 "subspace " + ", ".join(fmt(v["off_norm_max"], 2) for v in lim_fig.values())
                 + "; median fraction of the way to the refit's target the stop logit moves in a round "
                 + ", ".join(fmt(v["stop_move"], 2) for v in lim_fig.values()) + ".")
    if rem is not None and rem["slope"] is not None:
        text += (f" Scaling the step size as lr = 4/d (remedy) gives {rtxt} rounds at d = {', '.join(map(str, rem['ds']))} "
                 f"(slope on ln d {fmt(rem['slope'])} +- {fmt(rem['se'], 2)}: "
                 f"{'d-independent' if rem['passed'] else 'still d-dependent'} by the spec's criterion), "
                 "off-subspace norm " + ", ".join(fmt(v["off_norm_max"], 2) for v in lim_rem.values())
                 + ", at " + ", ".join(f"{fmt(x, 2)}" for x in rem["samples"]) + " RL samples in all (N x rounds).")
    return text


def f12(s, ss, out, jobs=1, progress=False) -> FigureResult:
    spec = SweepSpec(task="linparity.iteration", points=_points(s), replicates=1, seed=int(ss.generate_state(1)[0]),
                     out=str(out / "sweeps" / f"F12-{s.name}"), imports=["linparity.experiments"])
    sw = run_sweep(spec, jobs=jobs, progress=progress)
    fresh = [(pt, recs[0]) for pt, recs in zip(sw.points, sw.results)]
    shipped = it.shipped_pairs() if s.f12_shipped else []
    computed = {(it.setting_of(pt), pt["d"]) for pt, _ in fresh}
    table = it.collect([(pt, r) for pt, r in shipped if (it.setting_of(pt), pt["d"]) not in computed] + fresh)
    fig, axes = _plot.new(ncols=2, nrows=2, width=4.6, height=3.4)
    rows, summ, keys = [], {}, []
    for name in MAIN:
        for p, ls in zip(_PS, ("-", "--")):
            if (name, p) not in table:
                continue
            sm = summ[name, p] = it.summarise(table[(name, p)])
            kw = dict(color=_COLOR[name], ls=ls, marker="o", ms=4, capsize=2)
            axes[0].errorbar(sm["ds"], sm["mean"], sm["mean_se"], label=_LABEL[name] if p == 0.25 else None, **kw)
            axes[1].errorbar(sm["ds"], sm["gain"], sm["gain_se"], label=_LABEL[name] if p == 0.25 else None, **kw)
            rows.append(_row(name, p, sm, table[(name, p)]))
            keys.append(f"{name} p={p}")
    ds_all = sorted({d for (_, _), by_d in table.items() for d in by_d})
    for p, ls in zip(_PS, ("-", "--")):
        sm = summ.get(("map", p))
        if sm is not None:
            axes[0].plot(ds_all, [sm["n_star"]] * len(ds_all), ls=ls, color="k", lw=0.8,
                         label="n*(p) (solid p=0.25, dashed p=0.1)" if p == 0.25 else None)
            axes[0].plot(sm["ds"], sm["n_star_start"], ls=ls, color="grey", lw=2.5, alpha=0.5,
                         label="n*(pi_0(L))" if p == 0.25 else None)
    axes[1].axhline(np.log(2), color="k", lw=0.8, label="ln 2 (ideal recursion)")
    for name in ABLATIONS:
        if (name, 0.25) in table:
            sm = it.summarise(table[(name, 0.25)])
            axes[2].errorbar(sm["ds"], sm["mean"], sm["mean_se"], color=_COLOR[name], marker="s", ms=4, capsize=2,
                             label=_LABEL[name])
            lim = _limits_by_d(table, name)
            axes[3].plot(list(lim), [v["off_norm_max"] for v in lim.values()], color=_COLOR[name], marker="s",
                         label=_LABEL[name])
    lim = _limits_by_d(table, "continue-alg1")
    if lim:
        axes[3].plot(list(lim), [v["off_norm_max"] for v in lim.values()], color=_COLOR["continue-alg1"], marker="o",
                     label=_LABEL["continue-alg1"])
    if (it.REMEDY, 0.25) in table:
        sm = it.summarise(table[(it.REMEDY, 0.25)])
        if sm["slope"] is not None:
            rows.append(_remedy_row(sm, table))
            keys.append("remedy")
    for ax, yl in zip(axes, ("rounds to greedy accuracy >= 0.99", "mean log-odds gain per round",
                             "rounds (p = 0.25): ablations, remedy", "largest off-subspace norm (p = 0.25)")):
        ax.set(xscale="log", xlabel="d (log scale)", ylabel=yl)
        ax.set_xticks(ds_all, [str(d) for d in ds_all])
        ax.minorticks_off()
        ax.legend(fontsize=5.5)
    shipped_ds = sorted({int(pt["d"]) for pt, _ in shipped if (it.setting_of(pt), pt["d"]) not in computed})
    src = (f"simulated variants at d = {', '.join(map(str, shipped_ds))} read from the shipped run examples/runs/rounds-d "
           "(examples/rounds_d.toml; points not finished there are absent)" if shipped_ds else "no shipped run read")
    cap = (f"F12. STaR rounds until greedy accuracy >= 0.99 against d from the converged start (the regularised NTP "
           f"optimum), reward cot, N = 2 x the pre-training floor per round, lam = (0.01, 0.01, 0.01/d); mean +- se "
           f"over replicates (censored at the round limit, counted there). Solid p = 0.25, dashed p = 0.1. Recomputed: "
           f"the exact map at d = {', '.join(map(str, s.f12_map_ds))} (and by enumeration at d <= 12: REPORT), the simulated "
           f"variants at d = {', '.join(map(str, s.f12_sim_ds))} ({s.f12_R} replicates); {src}. Panel 2: mean of "
           f"logit(pi_n+1(L)) - logit(pi_n(L)) over the rounds used. Panels 3-4: ablations of E and lr at d = 16, 64 and "
           f"the remedy lr = 4/d, p = 0.25; the largest norm of the weights off the reduced subspace along a run.")
    res = FigureResult("F12", cap, "", rows, _plot.save(fig, out, "F12_rounds_d", cap))
    res.summary = "; ".join(f"{k}: {r.verdict}" for k, r in zip(keys, rows))
    return res
