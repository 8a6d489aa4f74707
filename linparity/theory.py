"""Theorem 1's per-head bounds (THEORY §5) as transcribed, and their comparison with measurement.

The bounds are implemented exactly as written in THEORY §5, even where they are wrong (the last
term of both Prop 1 forms grows as lambda_1 -> 0; proofs rows 9b and 10a refute them, and
:func:`prop1_bound` also returns the corrected forms). They are never adjusted to make a check pass; instead
:func:`theorem1_report` lists every bound that a measured quantity exceeds, and by how much, next to
the exact regularised-optimum bias computed independently by :mod:`linparity.closed_form`.

T counts the SGD steps each head took: samples for heads 1 and 2a, long samples for the chain
heads. delta is the failure probability of the high-probability statement.
"""
from __future__ import annotations

import numpy as np
from scipy.special import expit, lambertw

from . import closed_form as cf
from ._checks import check_int, check_positive, check_prob
from .data import long_response
from .heads import lam_triple
from .measures import evaluate, inputs_for
from .model import LinearAR

__all__ = ["sgd_term", "prop1_bound", "prop1_errors", "prop2_bounds", "prop3_bound", "measured_head_errors",
           "regularisation_bias", "theorem1_report", "sample_degree", "steps_for_estimation",
           "certified_pretrain_samples", "rotation_invariant_lower"]


def sgd_term(n_features, lam, T, delta):
    """(2 n_features / lam) sqrt((1 + ln T)/(delta T)): the estimation part of Props 1-3 as written.

    Prop 1 uses n_features = d, Prop 2 d+1, Prop 3 (2d+l-1)/4 (its prefactor is (2d+l-1)/(2 lam)).
    """
    T = np.asarray(T, dtype=np.float64)
    return 2 * n_features / lam * np.sqrt((1 + np.log(T)) / (delta * T))


def prop1_bound(d, p, lam1, T1, delta) -> dict:
    """Prop 1 (head 1, THEORY §5) in both forms the source states, and both with lambda_1 corrected.

    With a* = ln((1+p)/(1-p)) and r_T = sqrt((1+ln T1)/(delta T1)), the source states

    - logit form:       |<w_1 - a* e_1, x>| <= (2d/lam1) r_T + 4 a*/((1-p^2) lam1)
    - probability form: |sigma(<w_1, x>) - (1 + p x_1)/2| < (d/(2 lam1)) r_T + a*/((1-p^2) lam1)

    Both bias terms have lam1 in the denominator, as stated (THEORY §5's known finding: they grow as
    lam1 -> 0 and are no bound for lam1 above about 4/(1-p^2); proofs rows 9b and 10a refute them with
    a counterexample). The corrected bias terms move lam1 to the numerator: 4 lam1 a*/(1-p^2) (logit,
    proofs 9d) and lam1 a*/(1-p^2) (probability, proofs 10b); both bound the exact bias of the
    regularised optimum (:func:`regularisation_bias`) for every lam1 > 0.

    Parameters
    ----------
    d : number of input bits. p : p_cot in [0, 1] (p = 1 gives infinite terms).
    lam1 : head 1's L2 penalty (> 0). T1 : steps head 1 took (>= 1). delta : failure probability.

    Returns
    -------
    dict of floats. Logit form: ``estimation``, ``bias``, ``bound`` (as stated), ``bias_corrected``,
    ``bound_corrected``. Probability form: ``prob_estimation``, ``prob_bias``, ``prob_bound`` (as
    stated), ``prob_bias_corrected``, ``prob_bound_corrected``. ``bound* = estimation + bias*`` of
    the same form; logit quantities are in logit units, probability ones are probabilities.
    """
    p = check_prob("p_cot", p)
    est = float(sgd_term(d, lam1, T1, delta))       # (2d/lam1) r_T
    est_prob = est / 4                               # (d/(2 lam1)) r_T
    a_star = np.log((1 + p) / (1 - p)) if p < 1 else np.inf
    g = a_star / (1 - p * p) if p < 1 else np.inf   # a*/(1-p^2)
    bias, corrected = 4 * g / lam1, 4 * lam1 * g
    return {"estimation": est, "bias": float(bias), "bound": est + float(bias),
            "bias_corrected": float(corrected), "bound_corrected": est + float(corrected),
            "prob_estimation": est_prob, "prob_bias": float(g / lam1), "prob_bound": est_prob + float(g / lam1),
            "prob_bias_corrected": float(lam1 * g), "prob_bound_corrected": est_prob + float(lam1 * g)}


def prop1_errors(model: LinearAR, p, X) -> dict:
    """The two quantities Prop 1 bounds, maximised over the rows of X ``(n, d)``.

    ``logit``: max_x |<w_1 - a* e_1, x>| (= ``measured_head_errors(...)["prop1"]``);
    ``prob``: max_x |sigma(<w_1, x>) - (1 + p x_1)/2| (a probability), a* = ln((1+p)/(1-p)).
    """
    X = np.asarray(X, dtype=np.int8)
    Xf = X.astype(np.float64)                                  # (n, d)
    w = model.w1.copy()
    w[0] -= np.log((1 + p) / (1 - p))
    prob = np.abs(expit(Xf @ model.w1) - (1 + p * Xf[:, 0]) / 2)  # (n,)
    return {"logit": float(np.abs(Xf @ w).max()), "prob": float(prob.max())}


def prop2_bounds(d, p, lam2a, T2a, delta) -> dict:
    """Prop 2 (stop head), two statements sharing the estimation term (2(d+1)/lam2a) sqrt((1+ln T)/(delta T)).

    ``neq``: first token != x_1: P(go on) < est + sqrt(lam2a/(1-p)).
    ``eq``:  first token = x_1: |P(EOS) - (1-p)/(1+p)| < est + lam2a (1+p) |ln(2p/(1-p))| / (8 p (1-p)).
    """
    p = check_prob("p_cot", p)
    est = float(sgd_term(d + 1, lam2a, T2a, delta))
    bias_neq = np.sqrt(lam2a / (1 - p)) if p < 1 else np.inf
    bias_eq = (lam2a * (1 + p) * abs(np.log(2 * p / (1 - p))) / (8 * p * (1 - p))
               if 0 < p < 1 else np.inf)
    return {"estimation": est, "bias_neq": float(bias_neq), "bound_neq": est + float(bias_neq),
            "bias_eq": float(bias_eq), "bound_eq": est + float(bias_eq)}


def prop3_bound(d, lam, T, delta) -> dict:
    """Prop 3 (chain head l = 2..d): P(wrong bit) < ((2d+l-1)/(2 lam)) sqrt((1+ln T)/(delta T)) + sqrt(lam).

    Returns arrays ``(d-1,)`` over l. ``T`` may be a scalar or ``(d-1,)``; T = 0 gives an infinite bound.
    """
    l = np.arange(2, d + 1)
    T = np.broadcast_to(np.asarray(T, dtype=np.float64), l.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        est = np.where(T > 0, (2 * d + l - 1) / (2 * lam) * np.sqrt((1 + np.log(np.maximum(T, 1)))
                                                                    / (delta * np.maximum(T, 1))), np.inf)
    return {"estimation": est, "bias": np.full(l.shape, np.sqrt(lam)), "bound": est + np.sqrt(lam)}


def measured_head_errors(model: LinearAR, p, X) -> dict:
    """The quantities that Props 1-3 bound, maximised over the rows of X.

    prop1: max_x |<w_1 - a* e_1, x>| with a* = ln((1+p)/(1-p)) (unregularised optimum, Lemma 1);
    prop2_neq: max_x P(go on | y_1 = -x_1); prop2_eq: max_x |P(EOS | y_1 = x_1) - (1-p)/(1+p)|;
    prop3: ``(d-1,)`` max_x P(y_l != s_l | correct prefix s_1..s_{l-1}) for each chain head.
    """
    X = np.asarray(X, dtype=np.int8)
    d = model.d
    a_star = np.log((1 + p) / (1 - p))
    w = model.w1.copy()
    w[0] -= a_star
    out = {"prop1": float(np.abs(X @ w).max())}
    Xf = X.astype(np.float64)
    for name, sign in (("eq", 1.0), ("neq", -1.0)):
        y1 = sign * Xf[:, 0]
        u = Xf @ model.w2a[:d] + y1 * model.w2a[d] + y1 * (Xf @ model.w2a[d + 1:]) + model.b2a
        if name == "eq":
            out["prop2_eq"] = float(np.abs(expit(u) - (1 - p) / (1 + p)).max())
        else:
            out["prop2_neq"] = float(expit(-u).max())
    L = long_response(X)
    _, _, uc = model.logits(X, L)                    # (n, d-1) teacher-forced on the correct chain
    wrong = expit(-L[:, 1:d].astype(np.float64) * uc)  # P(y_l != s_l | correct prefix)
    out["prop3"] = wrong.max(axis=0)
    return out


def regularisation_bias(d, p, lam) -> dict:
    """Exact bias of the regularised optimum (closed_form, root finding) in the units of each Prop.

    prop1: |a_lam - a*| (max over x of |<(a_lam - a*) e_1, x>|, Prop 1 logit form);
    prop1_prob: |sigma(a_lam) - (1+p)/2| (= max over x of |sigma(a_lam x_1) - (1 + p x_1)/2|, Prop 1
    probability form; it equals lam1 a_lam at the optimum, proofs 10b); a_lam solves
    sigma(a) - (1+p)/2 + lam1 a = 0 (THEORY §4, :func:`linparity.closed_form.head1_optimum`);
    prop2_eq: |sigma(u_lam) - (1-p)/(1+p)|;
    prop2_neq: sigma(-v_lam) = P(go on | y_1 != x_1); prop3: sigma(-c_lam) = P(wrong bit).
    """
    l1, l2, lc = lam_triple(lam)
    a = cf.head1_optimum((1 + p) / 2, l1)
    u, v = cf.head2a_optimum_uv(p, 0.5, l2)
    c = cf.chain_optimum(lc)
    return {"prop1": abs(a - np.log((1 + p) / (1 - p))), "prop1_prob": abs(float(expit(a)) - (1 + p) / 2),
            "prop2_eq": abs(float(expit(u)) - (1 - p) / (1 + p)),
            "prop2_neq": float(expit(-v)), "prop3": float(expit(-c))}


def theorem1_report(model: LinearAR, p_cot, lam, T, *, delta=0.1, n_mc=20000, rng=None) -> dict:
    """Theorem 1 measurements, Prop 1-3 bounds and every exceedance for one trained model.

    Parameters
    ----------
    lam : scalar or (lam1, lam2a, lam_chain)
    T : (T1, T2a, T_chain): steps taken by head 1, head 2a and each chain head (long samples;
        scalar or ``(d-1,)``).
    delta : failure probability in the bounds.

    Returns
    -------
    dict with ``metrics`` (:func:`linparity.measures.evaluate`), ``bounds`` (each Prop's value, its
    estimation and bias terms, the exact regularisation bias and the measured value) and
    ``exceedances``: a list of {"bound", "measured", "value", "excess"} for every violated bound.
    Prop 1 has four rows: ``prop1`` (logit form as stated), ``prop1_corrected`` (lam1 in the
    numerator), ``prop1_prob`` (probability form as stated) and ``prop1_prob_corrected``.
    """
    p = check_prob("p_cot", p_cot)
    if not 0 < p < 1:
        raise ValueError(f"p_cot: the Prop 1-3 bounds need p in (0, 1), got {p}")
    delta = check_prob("delta", delta)
    check_positive("delta", delta)
    l1, l2, lc = lam_triple(lam, positive=True)
    T1, T2a, Tc = T
    T1, T2a = check_int("T1", T1, 1), check_int("T2a", T2a, 1)
    d = model.d
    X, exact = inputs_for(d, n_mc, rng)
    meas = measured_head_errors(model, p, X)
    m1 = prop1_errors(model, p, X)
    bias = regularisation_bias(d, p, (l1, l2, lc))
    b1, b2, b3 = prop1_bound(d, p, l1, T1, delta), prop2_bounds(d, p, l2, T2a, delta), prop3_bound(d, lc, Tc, delta)
    rows = [("prop1", b1["bound"], meas["prop1"], b1["bias"], bias["prop1"]),
            ("prop1_corrected", b1["bound_corrected"], meas["prop1"], b1["bias_corrected"], bias["prop1"]),
            ("prop1_prob", b1["prob_bound"], m1["prob"], b1["prob_bias"], bias["prop1_prob"]),
            ("prop1_prob_corrected", b1["prob_bound_corrected"], m1["prob"], b1["prob_bias_corrected"],
             bias["prop1_prob"]),
            ("prop2_eq", b2["bound_eq"], meas["prop2_eq"], b2["bias_eq"], bias["prop2_eq"]),
            ("prop2_neq", b2["bound_neq"], meas["prop2_neq"], b2["bias_neq"], bias["prop2_neq"])]
    rows += [(f"prop3_l{l}", float(b3["bound"][l - 2]), float(meas["prop3"][l - 2]),
              float(b3["bias"][l - 2]), bias["prop3"]) for l in range(2, d + 1)]
    bounds, exceed = {}, []
    for name, bound, measured, bias_term, exact_bias in rows:
        bounds[name] = {"bound": bound, "measured": measured, "bias_term": bias_term,
                        "exact_regularisation_bias": exact_bias}
        if measured > bound:
            exceed.append({"bound": name, "measured": measured, "value": bound, "excess": measured - bound})
        if exact_bias > bias_term:
            exceed.append({"bound": name + " (bias term vs exact regularisation bias)",
                           "measured": exact_bias, "value": bias_term, "excess": exact_bias - bias_term})
    return {"metrics": evaluate(model, p, n_mc=n_mc, rng=rng), "bounds": bounds, "exceedances": exceed,
            "max_over_all_inputs": exact, "delta": delta}


def sample_degree(kappa, eps_relative: bool = False) -> float:
    """Degree in d of the sample count that Props 1-3 certify when p = d^-kappa (log factors dropped).

    Each Prop reads (2n/lam) sqrt((1+ln T)/(delta T)) + B(lam); choosing lam with B(lam) = eps/2 and
    T with estimation term eps/2 gives T = Theta~(n^2/(lam^2 eps^2 delta)) (chain heads: divided by p,
    they step on long samples). The largest degree over the heads is 2 + 2 kappa for fixed eps and
    delta (Prop 2 with y_1 = x_1 dominates) and 2 + 7 kappa for eps proportional to p (Prop 3
    dominates); a union bound over the d+1 heads adds 1. Derived symbolically in
    proofs/sample_complexity.py (claim 8), which checks this function.
    """
    kappa = float(kappa)
    if not (np.isfinite(kappa) and kappa >= 0):
        raise ValueError(f"kappa: must be a finite number >= 0, got {kappa}")
    return 2 + 7 * kappa if eps_relative else 2 + 2 * kappa


def steps_for_estimation(coef, margin, delta) -> float:
    """Smallest T >= 1 with coef sqrt((1 + ln T)/(delta T)) <= margin (the estimation term of Props 1-3).

    With y = delta (margin/coef)^2, (1 + ln T)/T = y; T = 1 when y >= 1 (the term is already below the
    margin), else u = 1 + ln T solves u e^(1-u) = y, i.e. u = -W_{-1}(-y/e) (Lambert W, branch -1, the
    root with T > 1) and T = e^(u-1). inf when margin <= 0 (no T certifies it).
    """
    if margin <= 0:
        return np.inf
    y = delta * (margin / coef) ** 2
    if y >= 1:
        return 1.0
    u = -lambertw(-y / np.e, -1).real
    return float(np.exp(u - 1))


def certified_pretrain_samples(d, p, lam, delta=0.1) -> dict:
    """Pre-training samples T at which Props 1-3, at the lambdas ``lam``, certify every head accurate
    enough for generalisation (THEORY §5; the accuracy targets below), with probability 1 - delta each.

    Targets (the margin each head's bound must fall below):

    * head 1, Prop 1 probability form with lambda_1 corrected (proofs 10b):
      (d/(2 lam1)) r_T + lam1 a*/(1-p^2) <= p/2 (greedy y_1 = x_1: sigma stays above 1/2);
    * stop head, Prop 2 'eq': (2(d+1)/lam2a) r_T + bias_eq <= p/(1+p) (half of P(go on | y_1 = x_1) =
      2p/(1+p)), and 'neq': same estimation + sqrt(lam2a/(1-p)) <= 1/2;
    * chain, Prop 3 at its largest prefactor l = d: ((3d-1)/(2 lam_chain)) r_{T_long} + sqrt(lam_chain)
      <= ln 2 / d, the per-bit error at which the long chain is right with probability
      (1 - ln2/d)^(d-1) >= ~1/2 (docs/claims/theorem2.md); T_long = p T long samples.

    r_T = sqrt((1 + ln T)/(delta T)); each T from :func:`steps_for_estimation` (inf where the bias term
    alone exceeds the margin: the bound certifies no T at these lambdas).

    Returns
    -------
    dict of floats: ``head1``, ``stop_eq``, ``stop_neq`` (T), ``chain_long`` (T_long), ``T`` = max(head1,
    stop_eq, stop_neq, chain_long / p) and ``T_long`` = p T.
    """
    d, p = check_int("d", d, 2), check_prob("p_cot", p)
    if not 0 < p < 1:
        raise ValueError(f"p_cot: the Props 1-3 bounds need p in (0, 1), got {p}")
    l1, l2, lc = lam_triple(lam, positive=True)
    delta = check_prob("delta", delta)
    check_positive("delta", delta)
    b2 = prop2_bounds(d, p, l2, 1, delta)
    out = {"head1": steps_for_estimation(d / (2 * l1), p / 2 - prop1_bound(d, p, l1, 1, delta)["prob_bias_corrected"], delta),
           "stop_eq": steps_for_estimation(2 * (d + 1) / l2, p / (1 + p) - b2["bias_eq"], delta),
           "stop_neq": steps_for_estimation(2 * (d + 1) / l2, 0.5 - b2["bias_neq"], delta),
           "chain_long": steps_for_estimation((3 * d - 1) / (2 * lc), np.log(2) / d - np.sqrt(lc), delta)}
    out["T"] = max(out["head1"], out["stop_eq"], out["stop_neq"], out["chain_long"] / p)
    out["T_long"] = p * out["T"]
    return out


def rotation_invariant_lower(d) -> float:
    """Order of the long samples a rotation-invariant learner (e.g. L2-regularised logistic regression)
    needs for a sparse rule over d features: d (Ng 2004, 'Feature selection, L1 vs. L2 regularization,
    and rotational invariance', ICML: the worst-case sample complexity of any rotationally invariant
    algorithm grows at least linearly in d). The constant is not given: a line of slope 1 through
    d long samples, context for a measured floor, not a bound to check against."""
    return float(check_int("d", d, 1))
