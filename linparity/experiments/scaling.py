"""Sample complexity against d (F5): samples to make greedy decoding correct, p = d^-kappa.

What is measured (and what is not)
----------------------------------
A full-weight STaR simulation costs O(N d^2) per round (about 5e3 samples/s at d = 128 on one
core), too slow for the doubling search below at d = 128 and p = d^-2. F5 therefore counts samples
in the **sufficient-statistics route**: every stage draws its samples' *types* exactly and fits
every head to its regularised optimum on the empirical mixture, in reduced coordinates.

* pre-training with T samples of D(p): n_long ~ Bin(T, p), n_eq ~ Bin(T - n_long, 1/2) short
  samples with chi(x) = x_1; theta = closed_form.ntp_optimum(q = n_long/T, r = n_eq/(T-n_long))
  (chain heads stay 0 when n_long = 0, as Algorithm 3 leaves them);
* each STaR round ('cot' reward) with N fresh inputs: the counts of kept long, kept short with
  chi = x_1, kept short with chi != x_1 are one Multinomial(N, .) draw with the model's exact type
  probabilities (closed_form.kept_stats); the heads are refit to the empirical kept mixture by
  closed_form.refit.

The sampling noise of the mixture weights (which decides whether a round keeps any long chain) is
simulated exactly; the estimation error of the full weight vectors (Props 1-3) is not.
"""
from __future__ import annotations

import numpy as np

from .. import closed_form as cf
from .. import exact
from .. import theory
from .._checks import check_d, check_int, check_nonneg, check_prob, spawn
from ..sweep import check_lam_param, check_param_names, register_task

#: the degree of the polynomial sample bound that Props 1-3 certify (proofs claim 8), plotted in F5
sample_degree = theory.sample_degree

__all__ = ["sample_degree", "sampled_pretrain", "sampled_star_round", "samples_to_generalise", "f5_task",
           "fit_power_law", "ntp_alone_accuracy", "exact_ntp_alone_accuracy", "guide_samples"]


def sampled_pretrain(d, p, lam, steps, rng) -> np.ndarray:
    """Reduced state ``(d+2,)`` after pre-training on ``steps`` samples (sufficient-statistics route)."""
    g = np.random.default_rng(rng)
    steps = check_int("steps", steps, 1)
    n_long = int(g.binomial(steps, check_prob("p", p)))
    n_eq = int(g.binomial(steps - n_long, 0.5))
    r = n_eq / (steps - n_long) if steps > n_long else 0.5
    return cf.ntp_optimum(d, p, lam, q=n_long / steps, r=r)


def sampled_star_round(theta, d, lam, samples, rng) -> np.ndarray:
    """One STaR round with ``samples`` inputs and reward 'cot' (sufficient-statistics route); new ``(d+2,)``.

    Nothing kept: the model is unchanged (the refit has no data).
    """
    s = cf.kept_stats(theta, d, "cot")
    K, q, r = s.kept_fraction, s.q, s.r
    probs = np.clip([K * q, K * (1 - q) * r, K * (1 - q) * (1 - r)], 0.0, 1.0)
    nL, nSe, nSn, _ = np.random.default_rng(rng).multinomial(samples, [*probs, max(0.0, 1 - probs.sum())])
    k = nL + nSe + nSn
    if k == 0:
        return np.asarray(theta, dtype=np.float64).copy()
    stats = cf.KeptStats(kept_fraction=k / samples, q=nL / k, r=nSe / (nSe + nSn) if nSe + nSn else 0.5,
                         pi1=(nL + nSe) / k, stop=np.array([nL, 0, nSe, nSn]) / k,
                         pi_chain=np.ones(d - 1))       # 'cot' keeps correct chains only
    return cf.refit(stats, d, lam)


def samples_to_generalise(d, p, lam, budget, n_max, rng, level=0.99, round_samples=None) -> float:
    """Total samples until greedy accuracy >= level: T = budget pre-training samples, then rounds of
    N = ``round_samples`` inputs (default: budget); T + N rounds at the first success, +inf if none
    within n_max rounds."""
    N = budget if round_samples is None else check_int("round_samples", round_samples, 1)
    gens = spawn(rng, n_max + 1)
    theta = sampled_pretrain(d, p, lam, budget, gens[0])
    for n in range(n_max + 1):
        if cf.greedy_probs(theta, d).p_correct >= level:
            return float(budget + N * n)
        if n < n_max:
            try:
                theta = sampled_star_round(theta, d, lam, N, gens[n + 1])
            except ValueError:       # no reward at all: STaR keeps nothing forever
                return np.inf
    return np.inf


def _check_f5(params: dict) -> None:
    """The checks of :func:`f5_task` on ``params`` (names and ranges), without running it."""
    check_param_names(params, ("d", "kappa", "lam", "replicates", "n_max", "b0", "cap"), ("frac", "level"))
    check_d(params["d"], 3)
    check_nonneg("kappa", params["kappa"])
    check_lam_param(params["lam"])
    for k, lo in (("replicates", 1), ("n_max", 0), ("b0", 1), ("cap", 1)):
        check_int(k, params[k], lo)
    for k in ("frac", "level"):
        if k in params:
            check_prob(k, params[k])


@register_task("linparity.f5", check=_check_f5)
def f5_task(params: dict, rng: np.random.Generator) -> dict:
    """Doubling search for the smallest budget B at which >= ``frac`` of R replicates generalise.

    params: d, kappa (p = d^-kappa), lam (triple), replicates R, n_max (rounds), b0 (first budget),
    cap (largest budget), frac (0.9), level (0.99). Level k uses budget b0 2^k and fresh children
    of the task's stream. Returns ``budget`` (inf if the cap is passed), ``totals`` ``(R,)`` (samples
    used by each replicate at that budget; inf where it failed) and ``tried`` / ``success`` per level.
    """
    d = check_d(params["d"], 3)
    p = float(d) ** -float(params["kappa"])
    R, n_max = check_int("replicates", params["replicates"], 1), check_int("n_max", params["n_max"], 0)
    lam = tuple(params["lam"])
    B, cap = check_int("b0", params["b0"], 1), check_int("cap", params["cap"], 1)
    tried, success = [], []
    totals = np.full(R, np.inf)
    while B <= cap:
        gens = spawn(rng, R)
        tot = np.array([samples_to_generalise(d, p, lam, B, n_max, g, params.get("level", 0.99))
                        for g in gens])
        frac = float(np.mean(np.isfinite(tot)))
        tried.append(B)
        success.append(frac)
        if frac >= params.get("frac", 0.9):
            totals = tot
            break
        B *= 2
    found = bool(success) and success[-1] >= params.get("frac", 0.9)
    return {"budget": float(tried[-1]) if found else np.inf, "totals": totals, "p": p,
            "tried": np.array(tried, dtype=float), "success": np.array(success)}


def fit_power_law(x, y) -> dict:
    """Least squares of log y = s log x + c; slope s, its standard error, intercept c, n points.

    se = sqrt(residual variance / sum (log x - mean)^2) with n - 2 degrees of freedom (nan if n < 3).
    """
    lx, ly = np.log(np.asarray(x, float)), np.log(np.asarray(y, float))
    n = len(lx)
    if n < 2:
        return {"slope": np.nan, "se": np.nan, "intercept": np.nan, "n": n}
    A = np.vstack([lx, np.ones(n)]).T
    (s, c), *_ = np.linalg.lstsq(A, ly, rcond=None)
    se = (np.sqrt(np.sum((ly - A @ [s, c]) ** 2) / (n - 2) / np.sum((lx - lx.mean()) ** 2))
          if n > 2 else np.nan)
    return {"slope": float(s), "se": float(se), "intercept": float(c), "n": n}


def ntp_alone_accuracy(d, p, lam) -> float:
    """Greedy accuracy of next-token prediction alone at its regularised optimum (any T)."""
    return cf.greedy_probs(cf.ntp_optimum(d, p, lam), d).p_correct


def exact_ntp_alone_accuracy(d, p, lam) -> float:
    """The same by exact enumeration: greedy accuracy over all 2^d inputs of the full-weight
    regularised optimum (exact.exact_ntp_optimum, exact_metrics; d <= 12)."""
    return exact.exact_metrics(exact.exact_ntp_optimum(d, p, lam), p)["greedy_accuracy"]


def guide_samples(p) -> float:
    """Closed-form guide (1 + n*(p)) / p: one expected long sample in pre-training and in each of
    the n*(p) STaR rounds of the ideal recursion (closed_form.n_star)."""
    return (1 + cf.n_star(p)) / p
