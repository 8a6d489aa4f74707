"""F7: REINFORCE and GRPO against the closed-form expected dynamics."""
from __future__ import annotations

import numpy as np

from ..experiments import ntp
from ..experiments import policy as ex
from . import _plot
from .report import FigureResult, Row, fmt, within

__all__ = ["f7", "P_COT", "LR"]

P_COT = 0.1   # starting p_cot of F7
LR = 2.0      # learning rate of every policy-gradient run (ascent on E[r])


def f7(s, ss, out, jobs=1, progress=False) -> FigureResult:
    d, n = s.f7_d, s.f7_steps
    lam = ntp.default_lam(d)
    theta0, m0 = ntp.calibrated_start(d, P_COT, lam)
    every = max(1, n // 10)
    panels = [  # (panel, label, algo, reward, tau, metric)
        (0, "REINFORCE", "reinforce", "cot", 1.0, "mean_length"),
        (0, "GRPO (G=8)", "grpo", "cot", 1.0, "mean_length"),
        (1, "REINFORCE, cot", "reinforce", "cot", 1.0, "greedy_accuracy"),
        (1, "REINFORCE, e2e", "reinforce", "e2e", 1.0, "greedy_accuracy"),
        (2, "tau=0.75", "reinforce", "cot", 0.75, "pi_long"),
        (2, "tau=1", "reinforce", "cot", 1.0, "pi_long"),
        (2, "tau=1.5", "reinforce", "cot", 1.5, "pi_long")]
    fig, axes = _plot.new(ncols=3, width=3.6, height=3.2)
    kids = ss.spawn(len(panels))
    steps = np.arange(n + 1)
    rows, cache, worst_route = [], {}, 0.0
    for k, ((i, label, algo, reward, tau, key), kid) in enumerate(zip(panels, kids)):
        col = f"C{k}"
        cfk = (algo, reward, tau)
        if cfk not in cache:
            res, _ = ex.simulate_pg(d, P_COT, lam, algo, n, s.f7_R, kid, lr=LR, reward=reward, temperature=tau)
            cache[cfk] = (res, ex.closed_form_pg(theta0, d, LR, n, reward, tau, algo, 8))
        res, cf = cache[cfk]
        sim = {"mean_length": res.mean_length_, "greedy_accuracy": res.greedy_accuracy_, "pi_long": res.pi_long_}[key]
        _plot.line(axes[i], steps, cf[key], color=col, label=f"closed form, {label}")
        if algo == "reinforce":
            e = ex.exact_pg(m0, LR, n, reward, tau, every)
            _plot.markers(axes[i], e["step"], e[key], color=col, ms=5)
            worst_route = max(worst_route, float(np.max(np.abs(e["expected_reward"] - cf["expected_reward"][e["step"]]))))
        _plot.band(axes[i], res.steps_, sim, color=col)
        se = float(sim[:, -1].std(ddof=1) / np.sqrt(s.f7_R))
        ok, txt = within(float(sim[:, -1].mean()), float(cf[key][-1]), se)
        rows.append(Row("F7", f"{label} ({algo}, reward {reward}, tau={tau}) simulation = closed-form expected dynamics, "
                        f"{key} after {n} steps, d={d}", fmt(float(cf[key][-1]), 4),
                        f"{fmt(float(sim[:, -1].mean()), 4)} +- {fmt(se, 2)} ({s.f7_R} replicates)", ok, txt))
    rows.append(Row("F7", f"closed-form PG dynamics (reduced) = exact full-weight PG ascent by enumeration, d={d}",
                    "equal", f"max |diff E[r]| = {fmt(worst_route)}", worst_route < 1e-6, "criterion < 1e-6"))
    res, _ = cache[("reinforce", "cot", 1.0)]
    grow = res.mean_length_[:, -1] - res.mean_length_[:, 0]
    se = float(grow.std(ddof=1) / np.sqrt(len(grow)))
    rows.append(Row("F7", "policy gradient lengthens responses (REINFORCE, cot, tau=1)", "mean length grows",
                    f"+{fmt(float(grow.mean()))} +- {fmt(se, 2)} tokens over {n} steps", grow.mean() > 5 * se,
                    "criterion: growth > 5 se"))
    axes[0].set(xlabel="step", ylabel="mean response length (tokens)")
    axes[1].set(xlabel="step", ylabel="greedy accuracy")
    axes[2].set(xlabel="step", ylabel="pi(L(x)|x)  (tau = 1)")
    for ax in axes:
        ax.legend(fontsize=5.5)
    cap = (f"F7. Policy gradient from the calibrated NTP optimum, d={d}, p={P_COT}, lr={LR}, batch 256 inputs "
           f"(GRPO: 8 responses each), REINFORCE with running-mean baseline. Lines: closed-form expected dynamics "
           f"(closed_form.pg_discrete); circles: expected REINFORCE ascent on full weights by enumeration; bands: "
           f"simulation, {s.f7_R} replicates. Left: length, REINFORCE vs GRPO; middle: cot vs e2e reward; right: "
           f"temperatures 0.75, 1, 1.5.")
    out_res = FigureResult("F7", cap, "", rows, _plot.save(fig, out, "F7_policy_gradient", cap))
    out_res.summary = f"{sum(r.passed for r in rows)}/{len(rows)} rows pass; " + rows[-1].measured
    return out_res
