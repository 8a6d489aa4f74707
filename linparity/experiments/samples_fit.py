"""B90: the budget at which a replicate succeeds with probability 0.9, from a success curve.

Model: every replicate at budget B succeeds independently with probability
``P(B) = sigma(a + b ln B)`` (logistic in log budget). (a, b) are fitted by maximum likelihood over
the replicates of every budget tried (binomial counts: failed replicates count), and
``ln B90 = (logit(0.9) - a) / b`` is where the fitted curve crosses 0.9.

The 95% interval is by profile likelihood (deterministic, no resampling): with the curve written
``logit P = logit(0.9) + beta (ln B - ln B90)``, the profile ``l(ln B90) = max_{beta > 0}`` of the
log likelihood; the interval is ``{ln B90 : 2 (l_max - l(ln B90)) <= chi2_1(0.95) = 3.84}``. An end
is None when the profile stays inside that limit up to 3 times the log range of the budgets
(at least ln 20) beyond the estimate: the data do not bound it there.

No B90 (None, with a reason) when the curve cannot be fitted: fewer than two budgets; every
replicate succeeded, or none did; the successes separated from the failures by a budget (no finite
maximum likelihood: the slope grows without bound); a fitted slope <= 0 (success not rising
with budget).
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import brentq, minimize, minimize_scalar
from scipy.special import expit, logit

__all__ = ["CHI2_95", "check_curve", "fit_b90"]

#: chi-square quantile with one degree of freedom at 0.95 (scipy.stats.chi2.ppf(0.95, 1))
CHI2_95 = 3.841458820694124
_SPAN = 3.0       # how far beyond the estimate an interval end is looked for, in log ranges of the budgets


def check_curve(curve) -> np.ndarray:
    """``curve`` as a float array ``(k, 3)`` of rows [budget > 0, successes in [0, n], replicates n >= 1]
    (successes may be fractional: expected counts); ValueError naming ``curve`` otherwise."""
    c = np.asarray(curve, dtype=np.float64)
    if c.ndim != 2 or c.shape[1] != 3 or c.shape[0] == 0:
        raise ValueError(f"curve: must be rows [budget, successes, replicates], got shape {c.shape}")
    B, s, n = c.T
    if not (np.isfinite(c).all() and (B > 0).all() and (n >= 1).all() and (s >= 0).all() and (s <= n).all()):
        raise ValueError("curve: every budget must be > 0, replicates >= 1 and successes in [0, replicates]")
    return c


def _nll(z, s, n):
    """Minus the binomial log likelihood at logits z: sum of s ln(1 + e^-z) + (n - s) ln(1 + e^z)."""
    return float(np.sum(s * np.logaddexp(0.0, -z) + (n - s) * np.logaddexp(0.0, z)))


def fit_b90(curve, target: float = 0.9) -> dict:
    """The budget where the maximum-likelihood logistic success curve (module docstring) crosses ``target``.

    Parameters
    ----------
    curve : rows [budget, successes, replicates], one per budget tried (:func:`check_curve`)
    target : success probability in (0, 1) at the crossing (0.9)

    Returns
    -------
    dict with ``b90`` (the budget; None where it cannot be fitted), ``b90_ci`` ([low, high], 95%
    profile likelihood; an end None where the data do not bound it; [None, None] without b90),
    ``b90_reason`` (None when fitted, else why not) and ``b90_slope`` (the fitted b per unit ln B).
    """
    c = check_curve(curve)
    if not 0 < float(target) < 1:
        raise ValueError(f"target: must be in (0, 1), got {target}")
    x, s, n = np.log(c[:, 0]), c[:, 1], c[:, 2]
    none = {"b90": None, "b90_ci": [None, None], "b90_slope": None}
    fail_x, succ_x = x[s < n], x[s > 0]
    if np.unique(x).size < 2:
        return {**none, "b90_reason": "one budget: no curve to fit"}
    if fail_x.size == 0 or succ_x.size == 0:
        what = "every replicate succeeded at every budget" if fail_x.size == 0 else "no replicate succeeded at any budget"
        return {**none, "b90_reason": f"{what}: the crossing lies outside the budgets tried"}
    if fail_x.max() <= succ_x.min():
        return {**none, "b90_reason": (f"separated: failures only up to B = {np.exp(fail_x.max()):.6g}, successes "
                                       f"only from B = {np.exp(succ_x.min()):.6g}; the crossing lies between them "
                                       "and the slope is unbounded (more budgets or replicates in between)")}
    xm, L = x.mean(), max(float(np.ptp(x)), np.log(20.0) / _SPAN)

    def f(ab):
        z = ab[0] + ab[1] * (x - xm)
        pr = expit(z)
        return _nll(z, s, n), np.array([np.sum(n * pr - s), np.sum((n * pr - s) * (x - xm))])

    res = minimize(f, np.zeros(2), jac=True, method="BFGS", options={"gtol": 1e-10})
    a, b = res.x
    if not b > 0:
        return {**none, "b90_reason": f"the fitted slope {b:.3g} is not positive: success does not rise with budget"}
    t = logit(float(target))
    x90 = xm + (t - a) / b
    best = res.fun

    def gap(x0):   # 2 (l_max - profile(x0)) - chi2: negative inside the interval
        prof = minimize_scalar(lambda beta: _nll(t + beta * (x - x0), s, n), bounds=(0.0, 100.0 * b + 100.0 / L),
                               method="bounded", options={"xatol": 1e-10})
        return 2.0 * (min(prof.fun, _nll(np.full_like(x, t), s, n)) - best) - CHI2_95

    ends = []
    for sign in (-1.0, 1.0):
        far = x90 + sign * _SPAN * L
        ends.append(float(np.exp(brentq(gap, x90, far, xtol=1e-10))) if gap(far) > 0 else None)
    return {"b90": float(np.exp(x90)), "b90_ci": ends, "b90_reason": None, "b90_slope": float(b)}
