"""Next-token pre-training experiments (F1, F2, F6): the three routes side by side.

closed form: the regularised population optimum or population Pegasos checkpoints in reduced
coordinates (:mod:`linparity.closed_form`); exact enumeration: the same on the full weights over
all 2^d inputs (:mod:`linparity.exact`); simulation: Algorithm 3 (:func:`linparity.simulate.ntp.pretrain`)
measured by :func:`linparity.measures.evaluate` or :func:`linparity.theory.measured_head_errors`.
"""
from __future__ import annotations

import numpy as np
from scipy.special import expit

from .. import closed_form as cf
from .. import exact
from .. import theory
from .._checks import check_d, check_int, check_prob
from ..data import all_inputs
from ..heads import default_lam, lam_triple
from ..measures import evaluate
from ..model import LinearAR
from ..simulate import pretrain
from ..sweep import check_lam_param, check_param_names, register_task

__all__ = ["default_lam", "calibrated_start", "optimum_curves", "exact_optimum_curves", "simulate_pretraining",
           "reduced_head_errors", "checkpoint_head_errors", "exact_checkpoints", "bound_curves", "bias_terms",
           "f6_task"]


def calibrated_start(d, p, lam) -> tuple[np.ndarray, LinearAR]:
    """The regularised NTP optimum (closed_form.ntp_optimum) where post-training starts: reduced
    state theta0 ``(d+2,)`` and the same point as a full-weight LinearAR (from_reduced)."""
    theta0 = cf.ntp_optimum(d, p, lam)
    return theta0, LinearAR.from_theta(theta0)


def optimum_curves(d, ps, lam) -> dict:
    """Closed form at the regularised NTP optimum (T -> infinity) for every p in ``ps``.

    Returns arrays ``(len(ps),)``: ``greedy_accuracy`` (closed_form.greedy_probs), ``pi_long``,
    ``pi_short_correct`` (closed_form.trajectory_probs at tau = 1).
    """
    th = [cf.ntp_optimum(d, p, lam) for p in ps]
    tp = [cf.trajectory_probs(t, d) for t in th]
    return {"greedy_accuracy": np.array([cf.greedy_probs(t, d).p_correct for t in th]),
            "pi_long": np.array([x.pi_long for x in tp]),
            "pi_short_correct": np.array([x.pi_short_correct for x in tp])}


def exact_optimum_curves(d, ps, lam) -> dict:
    """Exact enumeration at the full-weight regularised optimum (exact.exact_ntp_optimum),
    measured by exact.exact_metrics over all 2^d inputs; arrays ``(len(ps),)``."""
    ms = [exact.exact_metrics(exact.exact_ntp_optimum(d, p, lam), p) for p in ps]
    return {"greedy_accuracy": np.array([m["greedy_accuracy"] for m in ms]),
            "pi_long": np.array([m["pi_long"] for m in ms]),
            "pi_short_correct": np.array([m["pi_short_correct"] for m in ms])}


def simulate_pretraining(d, p, steps, lam, replicates, rng, n_mc=2000) -> dict:
    """Algorithm 3 with ``steps`` samples, R replicates, each measured by metrics.evaluate.

    Returns arrays ``(R,)``: ``greedy_accuracy``, ``pi_long``, ``pi_short_correct`` (means over x:
    exact for d <= 12, else over n_mc uniform inputs) and ``n_long`` (long samples seen).
    """
    res = pretrain(d, p, steps, lam, replicates=replicates, rng=rng)
    ev = [evaluate(m, p, n_mc=n_mc, rng=np.random.default_rng(r)) for r, m in enumerate(res.models_)]
    out = {k: np.array([e[k] for e in ev]) for k in ("greedy_accuracy", "pi_long", "pi_short_correct")}
    out["n_long"] = res.n_long_.astype(float)
    return out


# ----------------------------------------------------------------------------- F6
def reduced_head_errors(theta, p) -> dict:
    """The quantities Props 1-3 bound, for a model on the reduced subspace (theta ``(d+2,)``).

    On the subspace every input gives the same value up to sign, so the max over x is:
    prop1 = |a - a*| with a* = ln((1+p)/(1-p)); prop2_eq = |sigma(b+c) - (1-p)/(1+p)|;
    prop2_neq = sigma(-(b-c)) (P(go on | y_1 != x_1)); prop3 = max_l sigma(-c_l) (P(wrong bit)).
    These equal theory.measured_head_errors of LinearAR.from_reduced(theta) (tested).
    """
    theta = np.asarray(theta, dtype=np.float64)
    a, b, c = theta[:3]
    return {"prop1": abs(a - np.log((1 + p) / (1 - p))),
            "prop2_eq": abs(float(expit(b + c)) - (1 - p) / (1 + p)),
            "prop2_neq": float(expit(-(b - c))), "prop3": float(np.max(expit(-theta[3:])))}


def checkpoint_head_errors(d, p, lam, Ts) -> list[dict]:
    """:func:`reduced_head_errors` at the closed-form checkpoints closed_form.pretrain_checkpoint(T)
    for every T in ``Ts`` (one population Pegasos run)."""
    return [reduced_head_errors(th, p) for th in cf.pretrain_checkpoint(d, p, lam, Ts)]


def exact_checkpoints(d, p, lam, Ts) -> tuple[np.ndarray, np.ndarray]:
    """The same checkpoints from population Pegasos on the FULL weights (exact.train_exact).

    Returns (theta ``(len(Ts), d+2)`` reduced coordinates, off ``(len(Ts),)`` max off-subspace norm
    of the two rows used).
    """
    Ts = [check_int("T", T, 0) for T in Ts]
    _, tr = exact.train_exact(LinearAR.zeros(d), p, lam, max(Ts), return_trajectory=True)
    off = np.array([max(tr.off_norm[T], tr.off_norm[int(round(p * T))]) for T in Ts])
    # heads 1, 2a from row T, chain heads from row round(p T): they step on long samples only
    theta = np.array([np.concatenate([tr.theta[T, :3], tr.theta[int(round(p * T)), 3:]]) for T in Ts])
    return theta, off


def bound_curves(d, p, lam, Ts, delta) -> dict:
    """Props 1-3 as transcribed (linparity.theory) at T samples; chain heads at T_long = p T.

    Returns arrays ``(len(Ts),)``: prop1, prop2_eq, prop2_neq, and prop3 = the bound of chain
    head l = 2 (the smallest over l); ``prop3_l`` ``(len(Ts), d-1)`` has every head's bound.
    """
    l1, l2, lc = lam_triple(lam)
    out = {k: [] for k in ("prop1", "prop2_eq", "prop2_neq", "prop3", "prop3_l")}
    for T in Ts:
        out["prop1"].append(theory.prop1_bound(d, p, l1, T, delta)["bound"])
        b2 = theory.prop2_bounds(d, p, l2, T, delta)
        out["prop2_eq"].append(b2["bound_eq"])
        out["prop2_neq"].append(b2["bound_neq"])
        b3 = theory.prop3_bound(d, lc, max(1, round(p * T)), delta)["bound"]    # (d-1,)
        out["prop3"].append(float(np.min(b3)))
        out["prop3_l"].append(b3)
    return {k: np.array(v) for k, v in out.items()}


def _check_f6(params: dict) -> None:
    """The checks of :func:`f6_task` on ``params`` (names and ranges), without running it."""
    check_param_names(params, ("d", "p", "T", "lam"))
    check_d(params["d"], 2, 12)
    check_prob("p", params["p"])
    check_int("T", params["T"], 1)
    check_lam_param(params["lam"])


@register_task("linparity.f6", check=_check_f6)
def f6_task(params: dict, rng: np.random.Generator) -> dict:
    """One Algorithm 3 run; the Prop 1-3 quantities maximised over all 2^d inputs.

    params: d (<= 12), p, T, lam (triple). Returns prop1, prop2_eq, prop2_neq, prop3 (max over l)
    and prop3_l ``(d-1,)``, from theory.measured_head_errors.
    """
    d = check_d(params["d"], 2, 12)
    p = check_prob("p", params["p"])
    res = pretrain(d, p, check_int("T", params["T"], 1), tuple(params["lam"]), rng=rng)
    m = theory.measured_head_errors(res.models_[0], p, all_inputs(d))
    return {"prop1": m["prop1"], "prop2_eq": m["prop2_eq"], "prop2_neq": m["prop2_neq"],
            "prop3": float(np.max(m["prop3"])), "prop3_l": np.asarray(m["prop3"]),
            "n_long": float(res.n_long_[0])}


def bias_terms(d, p, lam, delta) -> tuple[dict, dict]:
    """The exact regularisation bias of each head (theory.regularisation_bias, closed-form optimum)
    and the bias term of Props 1-3 as transcribed (theory.prop*_bound, T-independent part), keyed
    prop1, prop2_eq, prop2_neq, prop3 (chain head l = 2)."""
    l1, l2, lc = lam_triple(lam)
    terms = {"prop1": theory.prop1_bound(d, p, l1, 10, delta)["bias"],
             "prop2_eq": theory.prop2_bounds(d, p, l2, 10, delta)["bias_eq"],
             "prop2_neq": theory.prop2_bounds(d, p, l2, 10, delta)["bias_neq"],
             "prop3": float(theory.prop3_bound(d, lc, 10, delta)["bias"][0])}
    return theory.regularisation_bias(d, p, lam), terms
