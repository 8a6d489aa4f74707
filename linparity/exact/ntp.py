"""Exact next-token prediction over all 2^d inputs, on the FULL weight vectors (d <= MAX_ENUM_D = 12).

Nothing here samples. Every expectation is a finite sum over the 2^d inputs x (uniform) and the two
responses L(x), S(x) of D(p) (THEORY §1), or over any weighted data set given row by row.

This is the exact-enumeration route (closed form, enumeration, simulation). It imports only the
shared core (data, model, heads, measures): it does not use the reduced coordinates of THEORY §4
except to report them, so it can test them (``linparity.studies.invariance``).

Conventions
-----------
* Long bit strings are indexed like :func:`linparity.data.all_inputs`: index i holds bit j = -1
  where bit j (most significant first) of i is 1. :func:`bit_index` maps strings to indices.
* ``lam`` is a scalar for every head or a triple (lam1, lam2a, lam_chain) (:func:`linparity.heads.lam_triple`).
* Chain-head NTP losses are conditional on a long sample (see :func:`population_ntp_loss`).
"""
from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np
from scipy.special import expit

from .._checks import check_int, check_prob
from .._progress import Progress
from ..data import MAX_ENUM_D, Mixture, is_long
from ..heads import ell, lam_triple, pegasos_step_size, step_schedule
from ..model import LinearAR, features

__all__ = ["check_model", "bit_index", "population_ntp_loss", "population_ntp_grad",
           "exact_ntp_optimum", "fit_weighted", "fit_logistic", "train_exact", "ExactTrajectory"]


def check_model(model) -> LinearAR:
    """``model`` if it is a LinearAR with d <= MAX_ENUM_D (affordable to enumerate); ValueError otherwise."""
    if not isinstance(model, LinearAR):
        raise ValueError(f"model: must be a linparity.LinearAR, got {type(model).__name__}")
    if model.d > MAX_ENUM_D:
        raise ValueError(f"model: exact enumeration needs d in [2, {MAX_ENUM_D}], got d={model.d}")
    return model


def bit_index(B) -> np.ndarray:
    """Index ``(n,)`` of +-1 bit strings B ``(n, k)`` in the order of ``all_inputs(k)``.

    i = sum_j [B_j = -1] 2^(k-1-j) (most significant bit first).
    """
    B = np.asarray(B)
    k = B.shape[1]
    return ((B < 0).astype(np.int64) << np.arange(k - 1, -1, -1)).sum(axis=1)


# ----------------------------------------------------------------------------- NTP on D(p)
@lru_cache(maxsize=16)
def _ntp_design(d: int, p: float):
    """Enumeration rows of D(p) and their feature matrices (cached; read-only arrays).

    Returns X ``(2N, d)``, Y ``(2N, d+1)``, weight ``(2N,)`` (Mixture.enumerate, long rows first),
    the stop label ``(2N,)`` (+1 for EOS at position 2), the long-row mask ``(2N,)``, phi_2 on every
    row ``(2N, 2d+1)`` and the list of chain feature matrices ``phi_l`` on the long rows,
    ``(N, 2d+l-1)`` for l = 2..d.
    """
    X, Y, w = Mixture(d, p).enumerate()
    label = np.where(Y[:, 1] == 0, 1.0, -1.0)
    long_ = is_long(Y)
    phi2 = features(X, Y, 2)
    phis = [features(X[long_], Y[long_], l) for l in range(2, d + 1)]
    for arr in (X, Y, w, label, long_, phi2, *phis):
        arr.flags.writeable = False
    return X, Y, w, label, long_, phi2, phis


def _check_ntp_args(model, p_cot, lam):
    model = check_model(model)
    p = check_prob("p_cot", p_cot)
    return model, p, lam_triple(lam)


def population_ntp_loss(model, p_cot, lam=0.0) -> np.ndarray:
    """Exact per-head population NTP losses on D(p) (THEORY §3), ``(d+1,)``.

    Entries: head 1, head 2a, chain heads l = 2..d::

        L_1  = E_{D(p)} ell(y_1 <w_1, x>)                          + lam1/2 |w_1|^2
        L_2a = E_{D(p)} ell(label (<w_2a, phi_2> + b))               + lam2a/2 (|w_2a|^2 + b^2)
        L_l  = E_x ell(s_l(x) <w_l, phi_l(x, s_1..s_{l-1})>)         + lam_chain/2 |w_l|^2

    with ell(m) = ln(1 + e^-m), label = +1 if y_2 = EOS else -1, x uniform on {+-1}^d.
    A chain head sees long samples only, so L_l is the expectation **conditional on a long sample**
    (THEORY §4's f_l). The conditional law of the response given "long" is L(x) whatever p is, so
    L_l does not depend on p and is defined by that same formula at p = 0, where no long samples
    exist (the p -> 0+ limit). Expectations are exact sums over all 2^d inputs.

    Parameters
    ----------
    model : LinearAR with d <= 12.
    p_cot : float in [0, 1].
    lam : float or (lam1, lam2a, lam_chain), each >= 0.
    """
    model, p, (l1, l2, lc) = _check_ntp_args(model, p_cot, lam)
    X, Y, w, label, long_, _, _ = _ntp_design(model.d, p)
    u1, u2a, uc = model.logits(X, Y)                       # (2N,), (2N,), (2N, d-1)
    y = Y.astype(np.float64)
    loss1 = w @ ell(y[:, 0] * u1) + l1 / 2 * model.w1 @ model.w1
    loss2 = w @ ell(label * u2a) + l2 / 2 * (model.w2a @ model.w2a + model.b2a ** 2)
    chain = ell(y[long_, 1:model.d] * uc[long_]).mean(axis=0)  # (d-1,)
    chain = chain + lc / 2 * np.array([wl @ wl for wl in model.chain])
    return np.concatenate([[loss1, loss2], chain])


def population_ntp_grad(model, p_cot, lam=0.0) -> LinearAR:
    """Exact gradient of each head's own population NTP loss w.r.t. its own full weights.

    With d ell(m)/dm = -sigma(-m) (THEORY §3, loss conventions of :func:`population_ntp_loss`)::

        dL_1/dw_1   = -E[y_1 sigma(-y_1 u_1) x]                 + lam1 w_1
        dL_2a/dw_2a = -E[label sigma(-label u_2a) phi_2]        + lam2a w_2a  (bias: feature 1, + lam2a b)
        dL_l/dw_l   = -E_x[s_l sigma(-s_l u_l) phi_l]           + lam_chain w_l

    Returns
    -------
    LinearAR with the same shapes as ``model`` holding the gradient (w1, w2a, b2a, chain).
    """
    model, p, (l1, l2, lc) = _check_ntp_args(model, p_cot, lam)
    d = model.d
    X, Y, w, label, long_, phi2, phis = _ntp_design(d, p)
    u1, u2a, uc = model.logits(X, Y)
    y = Y.astype(np.float64)
    g1 = -w * y[:, 0] * expit(-y[:, 0] * u1)               # (2N,) weighted d loss / d u1
    g2 = -w * label * expit(-label * u2a)                   # (2N,)
    yl = y[long_, 1:d]                                      # (N, d-1) targets s_2..s_d
    gc = -yl * expit(-yl * uc[long_]) / yl.shape[0]         # (N, d-1)
    return LinearAR(X.T.astype(np.float64) @ g1 + l1 * model.w1,
                    phi2.T @ g2 + l2 * model.w2a,
                    g2.sum() + l2 * model.b2a,
                    [phis[l - 2].T @ gc[:, l - 2] + lc * model.chain[l - 2] for l in range(2, d + 1)])


def fit_weighted(X, Y, w, lam, tol: float = 1e-13, max_iter: int = 100) -> LinearAR:
    """Every head refit to its regularised optimum on weighted rows (X, Y, w), by Newton's method.

    The per-head losses of THEORY §3 with the expectation taken over the rows with weights w
    (normalised to sum 1): head 1 on ell(y_1 <w_1, x>), the stop head on ell(label (<w_2a, phi_2> + b))
    (label +1 for EOS at position 2), chain head l on ell(y_l <w_l, phi_l>) over the long rows only,
    with weights w restricted to them and renormalised (the chain loss is conditional on a long
    sample). Chain heads with no long weight get no data and stay at 0, as Algorithm 3 leaves them.
    Each head is :func:`fit_logistic`.

    Parameters
    ----------
    X : int8 ``(n, d)``; Y : int8 ``(n, d+1)``, responses of length 2 or d+1; w : float ``(n,)`` >= 0,
    sum > 0; lam : float or triple, every entry > 0.

    Returns
    -------
    LinearAR holding the optimum.
    """
    X = np.asarray(X)
    Y = np.asarray(Y)
    w = np.asarray(w, dtype=np.float64)
    d = X.shape[1]
    lams = lam_triple(lam, positive=True)
    if w.shape != (X.shape[0],) or not (np.all(w >= 0) and w.sum() > 0):
        raise ValueError(f"w: must be ({X.shape[0]},) non-negative weights with a positive sum")
    w = w / w.sum()
    Yf = Y.astype(np.float64)
    w1 = fit_logistic(X.astype(np.float64), Yf[:, 0], w, lams[0], tol, max_iter)
    label = np.where(Y[:, 1] == 0, 1.0, -1.0)                                  # +1: EOS
    phi2 = np.hstack([features(X, Y, 2), np.ones((len(X), 1))])
    w2 = fit_logistic(phi2, label, w, lams[1], tol, max_iter)
    long_ = is_long(Y)
    if w[long_].sum() > 0:
        wl = w[long_] / w[long_].sum()                                         # (n_long,)
        chain = [fit_logistic(features(X[long_], Y[long_], l), Yf[long_, l - 1], wl, lams[2], tol, max_iter)
                 for l in range(2, d + 1)]
    else:
        chain = [np.zeros(2 * d + l - 1) for l in range(2, d + 1)]
    return LinearAR(w1, w2[:-1], w2[-1], chain)


def exact_ntp_optimum(d, p_cot, lam, tol: float = 1e-13, max_iter: int = 100) -> LinearAR:
    """The regularised population NTP optimum on the full weights, by Newton's method per head.

    :func:`fit_weighted` on the enumeration of D(p) (``Mixture.enumerate``): each head's loss
    (:func:`population_ntp_loss`) is strictly convex for lam > 0. Where p = 0 the chain heads get no
    data and stay at 0, as Algorithm 3 leaves them. An independent check of :func:`train_exact` and
    of the closed form's ``ntp_optimum`` (no reduced coordinates are used).

    Parameters
    ----------
    d : int in [2, 12]. p_cot : float in [0, 1]. lam : float or triple, every entry > 0.

    Returns
    -------
    LinearAR holding the optimum.
    """
    d = check_int("d", d, 2, MAX_ENUM_D)
    p = check_prob("p_cot", p_cot)
    lams = lam_triple(lam, positive=True)         # the optimum is infinite at lambda = 0
    X, Y, w = Mixture(d, p).enumerate()
    return fit_weighted(X, Y, w, lams, tol, max_iter)


def fit_logistic(Phi, t, omega, lam, tol: float = 1e-13, max_iter: int = 100) -> np.ndarray:
    """Weighted L2-regularised logistic regression by damped Newton (exact, deterministic).

    argmin_w sum_i omega_i ell(t_i <w, Phi_i>) + (lam/2)|w|^2, ell(m) = ln(1 + e^{-m}).

    Parameters
    ----------
    Phi : ``(n, k)`` features. t : ``(n,)`` labels +-1. omega : ``(n,)`` non-negative row weights
    (probabilities of a population, or 1/n). lam : > 0. tol : stop when |gradient| < tol.

    Returns
    -------
    ``(k,)`` the minimiser; RuntimeError if ``max_iter`` Newton steps do not reach ``tol``.
    """
    def f(wv):
        return omega @ ell(t * (Phi @ wv)) + lam / 2 * wv @ wv
    wv = np.zeros(Phi.shape[1])
    for _ in range(max_iter):
        m = t * (Phi @ wv)
        g = Phi.T @ (-omega * t * expit(-m)) + lam * wv
        if np.linalg.norm(g) < tol:
            break
        H = (Phi * (omega * expit(m) * expit(-m))[:, None]).T @ Phi + lam * np.eye(Phi.shape[1])
        step = np.linalg.solve(H, g)
        f0, s = f(wv), 1.0
        while f(wv - s * step) > f0 + 8 * np.finfo(float).eps * abs(f0) and s > 1e-10:  # rounding slack
            s /= 2
        wv = wv - s * step
    else:
        raise RuntimeError(f"Newton's method did not reach |grad| < {tol} in {max_iter} steps")
    return wv


class ExactTrajectory(NamedTuple):
    """Reduced view of a full-weight trajectory of :func:`train_exact`."""
    theta: np.ndarray     # (steps+1, d+2) reduced coordinates (a, b, c, c_2..c_d) of the output
    off_norm: np.ndarray  # (steps+1,) norm of the output's weight off the reduced subspace


def train_exact(model0, p_cot, lam, steps, step="pegasos", *, average=None,
                return_trajectory: bool = False, progress: bool = False):
    """Deterministic full-weight gradient descent on the exact population NTP loss on D(p).

    w_t = w_{t-1} - eta_t * grad L(w_{t-1}),  t = 1..steps, each head on its own loss
    (:func:`population_ntp_grad`). This is Algorithm 3 with the stochastic gradient replaced by
    its expectation; like the closed-form ``discrete_dynamics``, each head runs on its own clock
    t = 1..steps (chain heads' steps count long samples). At p = 0 there are no long samples and
    the chain heads do not move (as in Algorithm 3).

    Parameters
    ----------
    model0 : LinearAR, the start (``LinearAR.zeros(d)`` for Algorithm 3); d <= 12.
    p_cot : float in [0, 1].
    lam : float or (lam1, lam2a, lam_chain), each >= 0 (> 0 for 'pegasos').
    steps : int >= 0, number of steps.
    step : "pegasos", float, callable or array
        "pegasos": eta_t = 1/(lam_head t) with each head's own lambda; a float: constant step;
        a callable t -> eta_t (t = 1, 2, ...) or an array of ``steps`` step sizes, the same for every head
        (parsed by heads.step_schedule, as in the closed form).
    average : bool, optional
        Output the running average of the iterates w_1..w_t (Algorithm 3's output) instead of
        w_t. Default True for "pegasos", False otherwise.
    return_trajectory : bool
        Also return an :class:`ExactTrajectory` of the output after every step (row 0 = model0).
    progress : bool
        Show progress over the steps on stderr (each costs O(2^d d^2): ~20 ms at d = 12).

    Returns
    -------
    LinearAR (the output after ``steps`` steps), or (LinearAR, ExactTrajectory).
    """
    model0 = check_model(model0)
    p = check_prob("p_cot", p_cot)
    steps = check_int("steps", steps, 0)
    lams = lam_triple(lam)
    d = model0.d
    sl = LinearAR.head_slices(d)
    head_lam = np.empty(LinearAR.n_params(d))               # (n_params,) lambda of each weight's head
    head_lam[sl[0]], head_lam[sl[1]] = lams[0], lams[1]
    for s in sl[2:]:
        head_lam[s] = lams[2]
    frozen = np.zeros(head_lam.shape, dtype=bool)            # chain heads get no data at p = 0
    if p == 0:
        for s in sl[2:]:
            frozen[s] = True
    eta, average = step_schedule(step, steps, lam, average)
    if eta is None:
        eta = lambda t: pegasos_step_size(head_lam, t)  # noqa: E731
    theta = model0.to_vector()
    mean = np.zeros_like(theta)
    out = theta
    traj_theta = np.empty((steps + 1, d + 2)) if return_trajectory else None
    traj_off = np.empty(steps + 1) if return_trajectory else None

    def record(t, vec):
        if return_trajectory:
            r = LinearAR.from_vector(d, vec).reduced()
            traj_theta[t] = r.theta
            traj_off[t] = r.off_subspace_norm
    record(0, theta)
    with Progress(steps, f"exact NTP d={d}", "steps", progress) as bar:
        for t in range(1, steps + 1):
            g = population_ntp_grad(LinearAR.from_vector(d, theta), p, lams).to_vector()
            theta = theta - np.where(frozen, 0.0, eta(t) * g)
            mean += (theta - mean) / t
            out = mean if average else theta
            record(t, out)
            bar.update()
    final = LinearAR.from_vector(d, out)
    return (final, ExactTrajectory(traj_theta, traj_off)) if return_trajectory else final

