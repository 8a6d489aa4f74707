"""Closed form of next-token pre-training in the reduced coordinates of THEORY §4.

The reduced state is ``theta = (a, b, c, c_2, ..., c_d)``, a float array ``(d+2,)``: head 1 weight
a on x_1, stop-head bias b and weight c on y_1 x_1, chain weights c_l on y_{l-1} x_l. Nothing here
samples: losses and gradients are exact population expectations (valid for d >= 3, where the
subspace is invariant; THEORY §4, §10), optima come from 1-d root finding, dynamics from
an ODE solver or an explicit recursion.

Regularisation ``lam`` is a scalar used for every head or a triple ``(lam1, lam2a, lam_chain)``.
The closed-form functions accept lam = 0 (the unregularised limit); simulation needs lam > 0.

Generalised mixture. The STaR map (THEORY §6) refits on a mixture that is long with weight q and,
among short answers, has chi(x) = x_1 with fraction r. D(p) is the case q = p, r = 1/2. Then

    head 1:  P(y_1 = x_1) = pi1 = q + (1-q) r
    head 2a: f_2a(b, c) = q ell(-(b+c)) + (1-q) [r ell(b+c) + (1-r) ell(b-c)] + lam (b^2+c^2)/2
    chain:   f_l(c_l)   = ell(c_l) + lam c_l^2 / 2            (on long samples only)

with ell(m) = ln(1 + e^{-m}).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit
from scipy.optimize import brentq
from scipy.special import expit, logit

from .._checks import check_d, check_int, check_prob, check_temperature
from ..heads import ell, lam_triple, step_schedule
from .._validate import check_finite_array, check_lam

__all__ = ["head1_loss", "head1_grad", "head2a_loss", "head2a_grad",
           "chain_loss", "chain_grad", "population_loss", "population_grad", "head1_optimum",
           "head2a_optimum", "head2a_optimum_uv", "stop_branch_root", "check_theta",
           "increasing_root", "pretrain_checkpoint", "chain_optimum", "ntp_optimum", "gradient_flow",
           "discrete_dynamics", "discrete_dynamics_end", "TrajectoryProbs", "trajectory_probs", "greedy_probs"]


def _mixture(p, q, r):
    """(q, r) of the generalised mixture; D(p) when both are None."""
    q = check_prob("p_cot", p) if q is None else check_prob("q", q)
    r = 0.5 if r is None else check_prob("r", r)
    return q, r


# ----------------------------------------------------------------------------- per-head losses

def _head_args(values: dict, probs=(), lams=()) -> list:
    """The arguments of a per-head loss or optimum, checked by name: points (finite arrays),
    probabilities and sample weights in [0, 1], strengths lam in [LAM_MIN, LAM_MAX] or 0; so a NaN,
    None or a probability of 2 is a ValueError naming it, never a NaN or a root-finder error."""
    out = []
    for k, v in values.items():
        out.append(check_prob(k, v) if k in probs else check_lam(k, v, allow_zero=True) if k in lams
                   else check_finite_array(k, v))
    return out


def head1_loss(a, pi1, lam1):
    """f_1(a) = pi1 ell(a) + (1-pi1) ell(-a) + lam1 a^2/2 (THEORY §4 with pi1 = (1+p)/2)."""
    a, pi1, lam1 = _head_args({"a": a, "pi1": pi1, "lam1": lam1}, ("pi1",), ("lam1",))
    return pi1 * ell(a) + (1 - pi1) * ell(-a) + lam1 * a ** 2 / 2


def head1_grad(a, pi1, lam1):
    """f_1'(a) = sigma(a) - pi1 + lam1 a."""
    a, pi1, lam1 = _head_args({"a": a, "pi1": pi1, "lam1": lam1}, ("pi1",), ("lam1",))
    return expit(a) - pi1 + lam1 * a


def head2a_loss(b, c, q, r, lam2a):
    """f_2a(b, c) = q ell(-(b+c)) + (1-q)[r ell(b+c) + (1-r) ell(b-c)] + lam2a (b^2+c^2)/2."""
    b, c, q, r, lam2a = _head_args({"b": b, "c": c, "q": q, "r": r, "lam2a": lam2a}, ("q", "r"), ("lam2a",))
    u, v = b + c, b - c
    return q * ell(-u) + (1 - q) * (r * ell(u) + (1 - r) * ell(v)) + lam2a * (b ** 2 + c ** 2) / 2


def head2a_grad(b, c, q, r, lam2a):
    """(df_2a/db, df_2a/dc), with g_u = q sigma(u) - (1-q) r sigma(-u), g_v = -(1-q)(1-r) sigma(-v):
    df/db = g_u + g_v + lam2a b, df/dc = g_u - g_v + lam2a c, where u = b+c, v = b-c."""
    b, c, q, r, lam2a = _head_args({"b": b, "c": c, "q": q, "r": r, "lam2a": lam2a}, ("q", "r"), ("lam2a",))
    u, v = b + c, b - c
    gu = q * expit(u) - (1 - q) * r * expit(-u)
    gv = -(1 - q) * (1 - r) * expit(-v)
    return gu + gv + lam2a * b, gu - gv + lam2a * c


def chain_loss(c, lam):
    """f_l(c_l) = ell(c_l) + lam c_l^2/2 (population loss of a chain head on long samples)."""
    c, lam = _head_args({"c": c, "lam": lam}, (), ("lam",))
    return ell(c) + lam * c ** 2 / 2


def chain_grad(c, lam):
    """f_l'(c_l) = -sigma(-c_l) + lam c_l."""
    c, lam = _head_args({"c": c, "lam": lam}, (), ("lam",))
    return -expit(-c) + lam * c


def population_loss(theta, d, p, lam, *, q=None, r=None) -> np.ndarray:
    """Per-head population NTP losses ``(d+1,)``: head 1, head 2a, chain heads 2..d (THEORY §4)."""
    d = check_d(d, 3)
    theta = check_theta(theta, d)
    q, r = _mixture(p, q, r)
    l1, l2, lc = lam_triple(lam)
    return np.concatenate([[head1_loss(theta[0], q + (1 - q) * r, l1),
                            head2a_loss(theta[1], theta[2], q, r, l2)],
                           chain_loss(theta[3:], lc)])


def population_grad(theta, d, p, lam, *, q=None, r=None) -> np.ndarray:
    """Gradient ``(d+2,)`` of each head's own population loss w.r.t. its own coordinates."""
    d = check_d(d, 3)
    theta = check_theta(theta, d)
    q, r = _mixture(p, q, r)
    l1, l2, lc = lam_triple(lam)
    gb, gc = head2a_grad(theta[1], theta[2], q, r, l2)
    return np.concatenate([[head1_grad(theta[0], q + (1 - q) * r, l1), gb, gc],
                           chain_grad(theta[3:], lc)])


def check_theta(theta, d):
    """theta = (a, b, c, c_2..c_d) ``(d+2,)``, every entry finite (NaN in, NaN out is refused)."""
    theta = check_finite_array("theta", theta)
    if theta.shape != (d + 2,):
        raise ValueError(f"theta: must have shape (d+2,) = ({d + 2},), got {theta.shape}")
    return theta


# ----------------------------------------------------------------------------- optima
def increasing_root(f, half_width):
    """Root of an increasing function known to lie in [-half_width, half_width]."""
    lo, hi = -half_width, half_width
    if f(lo) > 0 or f(hi) < 0:  # cannot happen for the functions below; guard anyway
        raise RuntimeError("root not bracketed")
    return brentq(f, lo, hi, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=500)


def head1_optimum(pi1, lam1) -> float:
    """argmin f_1: root of sigma(a) - pi1 + lam1 a = 0 (in [-1/lam1, 1/lam1]).

    lam1 = 0 gives a* = logit(pi1) = ln(pi1/(1-pi1)); with pi1 = (1+p)/2 that is Lemma 1's
    ln((1+p)/(1-p)) (+-inf at pi1 = 1 or 0).
    """
    pi1, lam1 = _head_args({"pi1": pi1, "lam1": lam1}, ("pi1",), ("lam1",))
    if lam1 == 0:
        return float(logit(pi1))
    return increasing_root(lambda a: expit(a) - pi1 + lam1 * a, 1.0 / lam1)


def stop_branch_root(A, B, lam) -> float:
    """Root in u of  lam u/2 + A sigma(u) - B sigma(-u) = 0  (stop-head stationarity in one branch).

    A and B are the weights of "go on" and "EOS" among the samples of one branch of the stop head
    (first token equal to x_1, u = b + c; or different, v = b - c), A, B >= 0. With lam = 0 the root
    is logit(B/(A+B)) (+-inf when one weight is 0); a branch without data (A = B = 0) stays at 0.
    """
    A, B, lam = _head_args({"A": A, "B": B, "lam": lam}, ("A", "B"), ("lam",))
    if A == 0 and B == 0:
        return 0.0
    if lam == 0:
        return float(logit(B / (A + B)))
    return increasing_root(lambda u: lam * u / 2 + A * expit(u) - B * expit(-u), 2.0 / lam)


def head2a_optimum_uv(q, r, lam2a) -> tuple[float, float]:
    """argmin f_2a in the coordinates u = b+c (stop logit after y_1 = x_1), v = b-c (after y_1 != x_1).

    The regulariser is lam2a (b^2+c^2)/2 = lam2a (u^2+v^2)/4, so the stationarity conditions decouple
    (:func:`stop_branch_root`): lam2a u/2 + q sigma(u) - (1-q) r sigma(-u) = 0  and
    lam2a v/2 = (1-q)(1-r) sigma(-v).
    lam2a = 0: sigma(u) = (1-q) r / (q + (1-q) r) (= (1-p)/(1+p) on D(p), Lemma 1) and v = +inf
    (v = 0 where the y_1 != x_1 branch has no data).
    """
    q, r = _head_args({"q": q, "r": r}, ("q", "r"))
    return (stop_branch_root(q, (1 - q) * r, lam2a), stop_branch_root(0.0, (1 - q) * (1 - r), lam2a))


def head2a_optimum(q, r, lam2a) -> tuple[float, float]:
    """argmin f_2a as (b, c) = ((u+v)/2, (u-v)/2), see :func:`head2a_optimum_uv`.

    Needs lam2a > 0 whenever the unregularised v is infinite (then b and c are not finite).
    """
    u, v = head2a_optimum_uv(q, r, lam2a)
    if not np.isfinite(v):
        raise ValueError("lam2a: must be > 0 here; the unregularised stop-head optimum lies at "
                         "v = b - c = +inf (use head2a_optimum_uv for the limit)")
    return (u + v) / 2, (u - v) / 2


def chain_optimum(lam) -> float:
    """argmin f_l: root of lam c = sigma(-c) (c > 0); +inf at lam = 0 (the chain is realisable)."""
    if check_lam("lam", lam, allow_zero=True) == 0:
        return np.inf
    return increasing_root(lambda c: lam * c - expit(-c), 1.0 / lam)


def ntp_optimum(d, p, lam, *, q=None, r=None) -> np.ndarray:
    """Exact regularised population optimum theta* ``(d+2,)`` of NTP on D(p) (or on the (q, r) mixture).

    Every head is minimised separately (the heads share no parameters). Where no long samples exist
    (q = 0) the chain heads receive no data and stay at 0, as Algorithm 3 leaves them.
    """
    d = check_d(d, 3)
    q, r = _mixture(p, q, r)
    l1, l2, lc = lam_triple(lam)
    a = head1_optimum(q + (1 - q) * r, l1)
    b, c = head2a_optimum(q, r, l2)
    cl = chain_optimum(lc) if q > 0 else 0.0
    return np.array([a, b, c] + [cl] * (d - 1))


# ----------------------------------------------------------------------------- dynamics
def gradient_flow(d, p, lam, t=None, theta0=None, *, q=None, r=None, rtol=1e-10, atol=1e-12) -> np.ndarray:
    """Population gradient flow d theta/ds = -grad f(theta) (continuous time), evaluated at times ``t``.

    The losses f are THEORY §4's f_1, f_2a, f_l (on the (q, r) mixture of §6 when given).
    ``t=None`` gives the limit s -> infinity, the regularised optimum :func:`ntp_optimum`
    (shape ``(d+2,)``), as neural-tangents' ``predict`` functions do.

    >>> import numpy as np
    >>> th = gradient_flow(3, 0.25, 0.1, [0.0, 1e4])
    >>> np.allclose(th[-1], gradient_flow(3, 0.25, 0.1), atol=1e-8)
    True

    Each head follows its own loss in its own time s (s is "step size x number of steps" of that
    head: chain heads of Algorithm 3 step only on long samples; with no long samples, q = 0, they
    do not move, as in Algorithm 3 and :func:`ntp_optimum`). Solved with LSODA at the stated
    tolerances: the heads' curvatures range from lambda_chain to about 1/4, a stiff system on
    which an explicit method is held to steps of order 4 and so costs time proportional to t
    (DOP853 took 24 s for t = 1e6 at d = 8); LSODA switches to a stiff method and costs about
    the same at t = 1e4 and t = 1e9.

    Returns
    -------
    ndarray ``(len(t), d+2)``, starting from ``theta0`` (default 0) at s = 0.
    """
    d = check_d(d, 3)
    if t is None:
        return ntp_optimum(d, p, lam, q=q, r=r)
    t = np.atleast_1d(check_finite_array("t", t))
    if t.ndim != 1 or t.size == 0 or np.any(t < 0) or np.any(np.diff(t) < 0):
        raise ValueError(f"t: must be a non-empty sequence of finite times >= 0, non-decreasing, got {t.tolist()[:5]}")
    y0 = np.zeros(d + 2) if theta0 is None else check_theta(theta0, d).copy()
    if t[-1] == 0:
        return np.tile(y0, (len(t), 1))
    from scipy.integrate import solve_ivp      # here, not at import: ~0.2 s that every CLI command paid
    active = _active_heads(d, p, q)
    sol = solve_ivp(lambda s, y: -active * population_grad(y, d, p, lam, q=q, r=r), (0.0, t[-1]), y0,
                    method="LSODA", t_eval=t, rtol=rtol, atol=atol)
    if not sol.success:
        raise RuntimeError(f"gradient flow failed: {sol.message}")
    return sol.y.T


def _active_heads(d, p, q) -> np.ndarray:
    """1 for heads that receive data, ``(d+2,)``: chain heads see no sample when there are no long ones."""
    q_eff, _ = _mixture(p, q, None)
    return np.concatenate([np.ones(3), np.full(d - 1, 1.0 if q_eff > 0 else 0.0)])


def _dynamics_setup(d, p, lam, steps, step, theta0, average, q, r):
    """Validated inputs of the recursion of :func:`discrete_dynamics`.

    Returns (d, steps, theta ``(d+2,)`` start, etas ``(steps, d+2)`` or None for the Pegasos
    schedule, per_head lambdas ``(d+2,)``, active ``(d+2,)``, average, chain_same, consts =
    (pi1, q, r, lam1, lam2a, lam_chain)).
    """
    d = check_d(d, 3)
    steps = check_int("steps", steps, 0)
    l1, l2, lc = lam_triple(lam)
    per_head = np.array([l1, l2, l2] + [lc] * (d - 1))
    eta, average = step_schedule(step, steps, lam, average)
    etas = None
    if eta is not None:
        etas = np.array([eta(t) for t in range(1, steps + 1)], dtype=np.float64)
        etas = np.ascontiguousarray(np.broadcast_to(etas.reshape(steps, -1) if steps else np.zeros((0, 1)),
                                                    (steps, d + 2)))
    theta = np.zeros(d + 2) if theta0 is None else check_theta(theta0, d).copy()
    qq, rr = _mixture(p, q, r)
    active = _active_heads(d, p, q)
    # chain coordinates with equal start, lambda and step stay equal: the kernel runs one of them
    chain_same = bool(np.all(theta[3:] == theta[3])
                      and (etas is None or np.all(etas[:, 3:] == etas[:, 3:4])))
    consts = (qq + (1 - qq) * rr, qq, rr, l1, l2, lc)
    return d, steps, theta, etas, per_head, active, bool(average), chain_same, consts


def discrete_dynamics(d, p, lam, steps, step="pegasos", theta0=None, *, average=None,
                      q=None, r=None) -> np.ndarray:
    """Deterministic population gradient descent in reduced coordinates (discrete steps).

    theta_t = theta_{t-1} - eta_t * grad f(theta_{t-1}),  t = 1..steps.

    Parameters
    ----------
    step : "pegasos", float, callable or array
        ``"pegasos"``: eta_t = 1/(lam_head t), each head with its own lambda (Algorithm 3's schedule,
        applied to the expected gradient); a float: constant step; a callable ``t -> eta_t``
        (t = 1, 2, ...); an array ``(steps,)`` or ``(steps, d+2)`` of steps.
    average : bool, optional
        Return the running average of the iterates theta_1..theta_t (the output of Algorithm 3)
        instead of the iterates. Default: True for "pegasos", False otherwise.

    Returns
    -------
    ndarray ``(steps+1, d+2)``: row 0 is theta0 (default 0), row t the iterate (or average) after t steps.
    ``steps=None`` gives the limit t -> infinity of the Pegasos schedule, the regularised optimum
    :func:`ntp_optimum` ``(d+2,)``.

    >>> import numpy as np
    >>> th = discrete_dynamics(3, 0.25, 0.1, 20000)
    >>> th.shape, bool(np.allclose(th[-1], discrete_dynamics(3, 0.25, 0.1, None), atol=1e-3))
    ((20001, 5), True)

    Notes
    -----
    The recursion runs in a compiled loop (:func:`_dynamics_kernel`) with the arithmetic of
    :func:`population_grad` in the same order (equal to the plain numpy loop to 1e-12, tested);
    chain coordinates that start equal with equal steps are advanced once. For the end point
    only, :func:`discrete_dynamics_end` avoids the ``(steps+1, d+2)`` output.
    """
    if steps is None:
        return ntp_optimum(d, p, lam, q=q, r=r)
    d, steps, theta, etas, per_head, active, average, chain_same, consts = _dynamics_setup(
        d, p, lam, steps, step, theta0, average, q, r)
    out = np.empty((steps + 1, d + 2))
    out[0] = theta
    _dynamics_kernel(theta, steps, etas if etas is not None else np.empty((0, d + 2)),
                     per_head, active, *consts, average, chain_same, out)
    return out


def pretrain_checkpoint(d, p, lam, steps) -> np.ndarray:
    """Deterministic stand-in for an Algorithm 3 checkpoint after ``steps`` samples.

    Population Pegasos steps (:func:`discrete_dynamics`, discrete steps 1/(lambda t), average
    iterate; THEORY §3 applied to the expected gradient): heads 1 and 2a take T = ``steps``
    steps, the chain heads round(p T) (they step on long samples only).

    ``steps`` is one T (returns ``(d+2,)``) or a sequence of T (returns ``(len(steps), d+2)``,
    every checkpoint read off one run).
    """
    p = check_prob("p_cot", p)
    if np.ndim(steps) == 0:                  # one checkpoint: O(d) memory (1e7 steps in < 1 s)
        T = check_int("steps", steps, 0)
        head = discrete_dynamics_end(d, p, lam, T)
        chain = discrete_dynamics_end(d, p, lam, int(round(p * T)))
        return np.concatenate([head[:3], chain[3:]])
    Ts = [check_int("steps", T, 0) for T in steps]
    traj = discrete_dynamics(d, p, lam, max(Ts))                             # (max T + 1, d+2)
    out = np.array([np.concatenate([traj[T, :3], traj[int(round(p * T)), 3:]]) for T in Ts])
    return out


def discrete_dynamics_end(d, p, lam, steps, step="pegasos", theta0=None, *, average=None,
                          q=None, r=None) -> np.ndarray:
    """Last row of :func:`discrete_dynamics` (same arguments), ``(d+2,)``, in O(d) memory.

    1e7 Pegasos steps take well under a second (BENCHMARKS.md).
    """
    if steps is None:
        return ntp_optimum(d, p, lam, q=q, r=r)
    d, steps, theta, etas, per_head, active, average, chain_same, consts = _dynamics_setup(
        d, p, lam, steps, step, theta0, average, q, r)
    out = theta[None, :].copy()                                   # (1, d+2): only the end
    _dynamics_kernel(theta, steps, etas if etas is not None else np.empty((0, d + 2)),
                     per_head, active, *consts, average, chain_same, out)
    return out[0]


@njit(cache=True, nogil=True)
def _expit(x):
    """sigma(x) = 1 / (1 + e^-x), the formula of scipy.special.expit."""
    return 1.0 / (1.0 + math.exp(-x))


@njit(cache=True, nogil=True)
def _dynamics_kernel(theta, steps, etas, per_head, active, pi1, q, r, l1, l2, lc, average,
                     chain_same, out):
    """theta_t = theta_{t-1} - eta_t grad f(theta_{t-1}) for t = 1..steps (see discrete_dynamics).

    theta ``(D,)`` (D = d+2) is updated in place; etas ``(steps, D)`` or ``(0, D)`` for the
    Pegasos schedule eta_t = 1/(per_head t); active ``(D,)`` zeroes heads without data. Row t of
    out ``(steps+1, D)`` gets the iterate or running mean; with out ``(1, D)`` only the end is
    written. The gradient is population_grad's, term for term in its order of operations.
    """
    D = theta.shape[0]
    nc = 1 if chain_same else D - 3               # chain coordinates advanced
    mean = np.zeros(D)
    grad = np.empty(D)
    pegasos = etas.shape[0] == 0
    full = out.shape[0] > 1
    for t in range(1, steps + 1):
        a, b, c = theta[0], theta[1], theta[2]
        grad[0] = _expit(a) - pi1 + l1 * a
        u, v = b + c, b - c
        gu = q * _expit(u) - (1 - q) * r * _expit(-u)
        gv = -(1 - q) * (1 - r) * _expit(-v)
        grad[1] = gu + gv + l2 * b
        grad[2] = gu - gv + l2 * c
        for h in range(3, 3 + nc):
            grad[h] = -_expit(-theta[h]) + lc * theta[h]
        for h in range(3 + nc):
            eta = 1.0 / (per_head[h] * t) if pegasos else etas[t - 1, h]
            theta[h] = theta[h] - eta * active[h] * grad[h]
            mean[h] += (theta[h] - mean[h]) / t
        if chain_same:
            for h in range(4, D):
                theta[h] = theta[3]
                mean[h] = mean[3]
        if full:
            src = mean if average else theta
            for h in range(D):
                out[t, h] = src[h]
    if not full and steps > 0:
        src = mean if average else theta
        for h in range(D):
            out[0, h] = src[h]


# ----------------------------------------------------------------------------- trajectory types
class TrajectoryProbs(NamedTuple):
    """Probabilities of the response types of THEORY §4, averaged over uniform x."""
    pi_long: float   # P(response is exactly L(x)) = pi(L(x)|x), the same for every x
    pi_short_correct: float  # P(response is exactly S(x)), mean over x
    p_short: float          # P(response is short)
    p_long: float           # 1 - p_short
    p_correct: float        # P(last bit of the response = chi(x))
    mean_length: float      # expected number of tokens including EOS
    pi_short_eq: float      # pi(S(x)|x) for inputs with chi(x) = x_1
    pi_short_neq: float     # pi(S(x)|x) for inputs with chi(x) != x_1


def _types(alpha, beta, gamma, kappa, d) -> TrajectoryProbs:
    p_short = alpha * beta + (1 - alpha) * gamma
    prod_k = float(np.prod(kappa))
    e_even = (1 + float(np.prod(2 * np.asarray(kappa) - 1))) / 2
    pi_short_correct = p_short / 2
    p_correct = (pi_short_correct + alpha * (1 - beta) * e_even
                 + (1 - alpha) * (1 - gamma) * (1 - e_even))
    return TrajectoryProbs(
        pi_long=alpha * (1 - beta) * prod_k, pi_short_correct=pi_short_correct,
        p_short=p_short, p_long=1 - p_short, p_correct=p_correct,
        mean_length=2 * p_short + (d + 1) * (1 - p_short),
        pi_short_eq=alpha * beta, pi_short_neq=(1 - alpha) * gamma)


def trajectory_probs(theta, d, temperature: float = 1.0) -> TrajectoryProbs:
    """Trajectory-type probabilities at temperature tau (THEORY §4).

    alpha = sigma(a/tau), beta = sigma((b+c)/tau), gamma = sigma((b-c)/tau), kappa_l = sigma(c_l/tau);
    P(long correct) = alpha (1-beta) prod kappa_l; P(short correct) = [alpha beta + (1-alpha) gamma]/2;
    P(correct) = P(short correct) + alpha(1-beta) E_even + (1-alpha)(1-gamma)(1-E_even),
    E_even = (1 + prod(2 kappa_l - 1))/2; mean length = 2 P(short) + (d+1)(1 - P(short)).
    """
    d = check_d(d, 3)
    theta = check_theta(theta, d)
    tau = check_temperature(temperature)
    a, b, c = theta[:3]
    return _types(float(expit(a / tau)), float(expit((b + c) / tau)), float(expit((b - c) / tau)),
                  expit(theta[3:] / tau), d)


def greedy_probs(theta, d) -> TrajectoryProbs:
    """The tau -> 0 limit with the tie conventions of THEORY §2, as fractions of inputs x.

    A bit logit of 0 emits +1, which equals the wanted bit for half of the inputs: alpha or
    kappa_l = 1/2 at a = 0 or c_l = 0. A stop logit of 0 goes on: beta = 1[b+c > 0],
    gamma = 1[b-c > 0].
    """
    d = check_d(d, 3)
    theta = check_theta(theta, d)
    a, b, c = theta[:3]
    step = lambda z: np.where(z > 0, 1.0, np.where(z < 0, 0.0, 0.5))  # noqa: E731
    return _types(float(step(a)), float(b + c > 0), float(b - c > 0), step(theta[3:]), d)
