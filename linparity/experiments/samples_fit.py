"""B90: the budget at which a replicate succeeds with probability 0.9, from a success curve.

Model: every replicate at budget B succeeds independently with probability
``P(B) = sigma(a + b ln B)`` (logistic in log budget). (a, b) maximise the binomial log likelihood of
the counts with ``c`` pseudo-counts (``smoothing``), ``sum_k (s_k + c) ln P(B_k) + (n_k - s_k + c)
ln(1 - P(B_k))`` over the replicates of every budget tried (failed replicates count), and
``ln B90 = (logit(0.9) - a) / b`` is where the fitted curve crosses 0.9. One fitter serves both
settings: Newton's method from (0, 0) in the standardised log budget, vectorised over a batch of
curves (:func:`bootstrap_b90` refits thousands at once), each step halved while it lowers the
likelihood (the objective is concave, so the iteration converges wherever a maximum exists).

* ``smoothing = 0`` (the ``samples`` command's B90): plain maximum likelihood. There is no finite
  maximum when the successes are separated from the failures by a budget, so those curves are
  recognised before Newton's method runs and get no B90 (None, with a reason): fewer than two
  budgets; every replicate succeeded, or none did; separated (the slope grows without bound); a
  fitted slope <= 0 (success not rising with budget). A crossing outside the budgets tried is
  extrapolated along the fitted curve. The 95% interval is by profile likelihood (deterministic, no
  resampling): with the curve written ``logit P = logit(0.9) + beta (ln B - ln B90)``, the profile
  ``l(ln B90) = max_{beta > 0}`` of the log likelihood; the interval is ``{ln B90 : 2 (l_max -
  l(ln B90)) <= chi2_1(0.95) = 3.84}``. An end is None when the profile stays inside that limit up to
  3 times the log range of the budgets (at least ln 20) beyond the estimate: the data do not bound it.
* ``smoothing = 1/2`` (the designed analysis, :mod:`linparity.experiments.design`): Jeffreys'
  half-counts, s + 1/2 successes of n + 1, so that every curve, a separated one or a bootstrap
  resample included, has a finite fit. The half-counts pull the fit towards P = 1/2, most where the
  data say least: beyond the budgets tried. So a crossing outside the grid is not extrapolated: B90
  is None there, with the side named ('above': the fit has not reached 0.9 at the largest budget,
  'below': it is above 0.9 at the smallest). The pseudo-counts are not data, so there is no
  likelihood interval: the interval is the bootstrap's (:func:`bootstrap_b90`).
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import brentq, minimize_scalar
from scipy.special import logit

from .._checks import check_int, check_nonneg

__all__ = ["CHI2_95", "check_curve", "fit_b90", "bootstrap_b90"]

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
    """Minus the binomial log likelihood at logits z ``(..., k)``: sum over k of s ln(1 + e^-z) +
    (n - s) ln(1 + e^z); shape ``(...)``."""
    return np.sum(s * np.logaddexp(0.0, -z) + (n - s) * np.logaddexp(0.0, z), axis=-1)


def _logistic_ab(x, s, n, smoothing, iters=100) -> tuple[np.ndarray, np.ndarray]:
    """(a, b) maximising the log likelihood of the module docstring with ``smoothing`` pseudo-counts, for a
    batch of curves on one grid: x ``(k,)`` ln budgets (>= 2 distinct), s and n ``(..., k)``; returns a and
    b of shape ``(...)``. Newton's method from 0 in z = standardised x; where a full step lowers the
    likelihood by more than rounding, it is halved (at most 40 times). Needs a finite maximum: smoothing
    > 0, or a curve that is not separated (:func:`fit_b90` checks)."""
    sp, rp = np.asarray(s, float) + smoothing, np.asarray(n, float) + 2.0 * smoothing
    xm, xs = x.mean(), x.std() or 1.0
    z = (x - xm) / xs                                   # standardised: a well-conditioned problem
    ab = np.zeros(sp.shape[:-1] + (2,))
    f = _nll(np.zeros_like(sp), sp, rp)
    for _ in range(iters):
        with np.errstate(over="ignore"):
            pr = 1 / (1 + np.exp(-(ab[..., :1] + ab[..., 1:] * z)))             # (..., k)
        g = sp - rp * pr                                                        # gradient terms
        w = rp * pr * (1 - pr)
        h00, h01, h11 = w.sum(-1), (w * z).sum(-1), (w * z * z).sum(-1)
        g0, g1 = g.sum(-1), (g * z).sum(-1)
        det = h00 * h11 - h01 * h01
        step = np.stack([(h11 * g0 - h01 * g1) / det, (h00 * g1 - h01 * g0) / det], axis=-1)
        for _ in range(40):
            new = ab + step
            fn = _nll(new[..., :1] + new[..., 1:] * z, sp, rp)
            worse = ~(fn <= f + 1e-12 * (1.0 + np.abs(f)))
            if not worse.any():
                break
            step = np.where(worse[..., None], step / 2, step)
        ab, f = new, fn
        if np.all(np.abs(step) < 1e-12):
            break
    return ab[..., 0] - ab[..., 1] * xm / xs, ab[..., 1] / xs


def _crossing(a, b, x, t) -> tuple[np.ndarray, np.ndarray]:
    """ln B90 of fitted curves (a, b) at logit level t (+-inf for a slope <= 0: the side the curve stays on)
    and where it lies: 'inside', 'above' or 'below' the grid x = ln budgets."""
    with np.errstate(divide="ignore", invalid="ignore"):
        lx = np.where(b > 0, (t - a) / b, np.where(a + b * x.min() >= t, -np.inf, np.inf))
    return lx, np.where(lx < x.min(), "below", np.where(lx > x.max(), "above", "inside"))


def _degenerate(x, s, n) -> str | None:
    """Why plain maximum likelihood has no finite fit (module docstring), or None."""
    fail_x, succ_x = x[s < n], x[s > 0]
    if fail_x.size == 0 or succ_x.size == 0:
        what = ("every replicate succeeded at every budget" if fail_x.size == 0
                else "no replicate succeeded at any budget")
        return f"{what}: the crossing lies outside the budgets tried"
    if fail_x.max() <= succ_x.min():
        return (f"separated: failures only up to B = {np.exp(fail_x.max()):.6g}, successes only from B = "
                f"{np.exp(succ_x.min()):.6g}; the crossing lies between them and the slope is unbounded (more "
                "budgets or replicates in between)")
    return None


def fit_b90(curve, target: float = 0.9, smoothing: float = 0.0) -> dict:
    """The budget where the logistic success curve fitted with ``smoothing`` pseudo-counts (module
    docstring) crosses ``target``.

    Parameters
    ----------
    curve : rows [budget, successes, replicates], one per budget tried, in any order (:func:`check_curve`)
    target : success probability in (0, 1) at the crossing (0.9)
    smoothing : pseudo-counts c >= 0 added to the successes and to the failures of every budget: 0 plain
        maximum likelihood with a profile-likelihood interval; 1/2 Jeffreys' half-counts, read inside
        the grid only

    Returns
    -------
    dict with ``b90`` (the budget; None where it cannot be fitted, or at ``smoothing > 0`` where it
    lies outside the grid), ``b90_ci`` ([low, high], 95% profile likelihood at ``smoothing = 0``; an
    end None where the data do not bound it; [None, None] without b90 or at ``smoothing > 0``),
    ``b90_reason`` (None when b90 is given, else why not), ``b90_slope`` (the fitted b per unit ln B;
    None without a fit) and ``where`` ('inside', 'above' or 'below' the budgets tried: the side of the
    fitted crossing; None without a fit).
    """
    c = check_curve(curve)
    if not 0 < float(target) < 1:
        raise ValueError(f"target: must be in (0, 1), got {target}")
    smoothing = check_nonneg("smoothing", smoothing)
    x, s, n = np.log(c[:, 0]), c[:, 1], c[:, 2]
    none = {"b90": None, "b90_ci": [None, None], "b90_slope": None, "where": None}
    why = "one budget: no curve to fit" if np.unique(x).size < 2 else None if smoothing else _degenerate(x, s, n)
    if why:
        return {**none, "b90_reason": why}
    t = logit(float(target))
    a, b = (float(v) for v in _logistic_ab(x, s, n, smoothing))
    lx, where = (v.item() for v in _crossing(np.float64(a), np.float64(b), x, t))
    out = {**none, "b90_slope": b, "where": where, "b90_reason": None}
    if smoothing:
        if where != "inside":
            side = f"{'above the largest' if where == 'above' else 'below the smallest'} budget tried"
            return {**out, "b90_reason": f"the fitted curve crosses {target:g} {side} (not extrapolated)"}
        return {**out, "b90": float(np.exp(lx))}
    if not b > 0:
        return {**out, "b90_reason": f"the fitted slope {b:.3g} is not positive: success does not rise with budget"}
    L = max(float(np.ptp(x)), np.log(20.0) / _SPAN)
    best = float(_nll(a + b * x, s, n))

    def gap(x0):   # 2 (l_max - profile(x0)) - chi2: negative inside the interval
        prof = minimize_scalar(lambda beta: float(_nll(t + beta * (x - x0), s, n)),
                               bounds=(0.0, 100.0 * b + 100.0 / L), method="bounded", options={"xatol": 1e-10})
        return 2.0 * (min(prof.fun, float(_nll(np.full_like(x, t), s, n))) - best) - CHI2_95

    ends = []
    for sign in (-1.0, 1.0):
        far = lx + sign * _SPAN * L
        ends.append(float(np.exp(brentq(gap, lx, far, xtol=1e-10))) if gap(far) > 0 else None)
    return {**out, "b90": float(np.exp(lx)), "b90_ci": ends}


def bootstrap_b90(curves, n_boot=2000, rng=None, target=0.9, smoothing=0.5) -> np.ma.MaskedArray:
    """Whole-curve bootstrap of b90: a masked array ``(n_boot, n_curves)``, masked where a resample's b90
    lies outside its curve's grid (the mask, not NaN, says so: a resample outside the grid has no b90).

    Resample i redraws every budget of every curve, successes* ~ Bin(n, s/n) (resampling the n binary
    outcomes of that budget with replacement), and refits every resample of a curve at once with the
    fitter of :func:`fit_b90` at ``smoothing`` (> 0: a resample may be separated), read inside the grid.
    Each curve needs >= 2 distinct budgets (ValueError naming ``curves``).
    """
    n_boot = check_int("n_boot", n_boot, 1)
    if not 0 < float(target) < 1:
        raise ValueError(f"target: must be in (0, 1), got {target}")
    if not check_nonneg("smoothing", smoothing) > 0:
        raise ValueError("smoothing: must be > 0 for a bootstrap (a resample may be separated), got 0")
    parsed = [check_curve(c) for c in curves]
    if any(np.unique(c[:, 0]).size < 2 for c in parsed):
        raise ValueError("curves: every curve needs >= 2 distinct budgets")
    g = np.random.default_rng(rng)
    lx, inside = np.empty((n_boot, len(parsed))), np.empty((n_boot, len(parsed)), bool)
    for j, (b, s, r) in enumerate(c.T for c in parsed):
        draws = g.binomial(r.astype(np.int64), s / r, size=(n_boot, b.size))     # (n_boot, k)
        x = np.log(b)
        lx[:, j], where = _crossing(*_logistic_ab(x, draws, np.broadcast_to(r, draws.shape), smoothing), x,
                                    logit(float(target)))
        inside[:, j] = where == "inside"
    return np.ma.masked_array(np.exp(np.where(inside, lx, 0.0)), mask=~inside)
