"""Exact enumeration over all 2^d inputs, on the FULL weight vectors (d <= MAX_ENUM_D = 12).

Nothing here samples. Every expectation is a finite sum over the 2^d inputs x (uniform) and, for
next-token prediction (NTP), over the two responses L(x), S(x) of D(p) (THEORY §1), or, for the
model's own distribution, over every response it can emit: (y_1, EOS) with y_1 = +-1 and the 2^d
long strings (y_1, ..., y_d, EOS) (THEORY §2).

This is the second of the three routes (closed form, enumeration, simulation). It does not use the
reduced coordinates of THEORY §4 except to report them, so it can test them: in particular
:func:`invariance_table` measures whether the reduced subspace is invariant under the exact
population gradients (see ``docs/findings_invariance.md``; run ``python -m linparity.enumeration``).

Conventions
-----------
* Long bit strings are indexed like :func:`linparity.data.all_inputs`: index i holds bit j = -1
  where bit j (most significant first) of i is 1. :func:`bit_index` maps strings to indices.
* ``lam`` is a scalar for every head or a triple (lam1, lam2a, lam_chain), as in closed_form.
* Chain-head NTP losses are conditional on a long sample (see :func:`population_ntp_loss`).
"""
from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np
from scipy.special import expit, log_expit
from tqdm.auto import tqdm

from ._checks import as_generator, check_int, check_prob, check_temperature
from .closed_form import ell, greedy_probs, ntp_optimum, split_lam, trajectory_probs
from .data import MAX_ENUM_D, REWARDS, Mixture, all_inputs, is_long, reward_e2e, reward_function
from .model import LinearAR, features

__all__ = ["features", "fit_logistic", "bit_index", "population_ntp_loss", "population_ntp_grad",
           "exact_ntp_optimum", "train_exact", "ExactTrajectory", "ResponseDistribution",
           "response_distribution", "exact_metrics", "log_prob_grad", "expected_reward",
           "policy_gradient", "InvarianceRow", "invariance_table", "d2_study", "d2_greedy_threshold",
           "main"]


# ----------------------------------------------------------------------------- checks, features
def _check_model(model) -> LinearAR:
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
    model = _check_model(model)
    p = check_prob("p_cot", p_cot)
    return model, p, split_lam(lam)


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


def _head_slices(d: int) -> list[slice]:
    """Slices of :meth:`LinearAR.to_vector` per head: head 1, head 2a (w2a and bias), chain 2..d."""
    sizes = [d, 2 * d + 2] + [2 * d + l - 1 for l in range(2, d + 1)]
    ends = np.cumsum(sizes)
    return [slice(int(e - s), int(e)) for s, e in zip(sizes, ends)]


def exact_ntp_optimum(d, p_cot, lam, tol: float = 1e-13, max_iter: int = 100) -> LinearAR:
    """The regularised population NTP optimum on the full weights, by Newton's method per head.

    Each head's loss (:func:`population_ntp_loss`) is strictly convex for lam > 0, with Hessian
    Phi^T diag(omega sigma(u) sigma(-u)) Phi + lam I (omega the row weights). Newton steps are
    halved until the loss does not increase (up to rounding); iteration stops when the gradient norm is below
    ``tol``. Where p = 0 the chain heads get no data and stay at 0, as Algorithm 3 leaves them
    (and as closed_form.ntp_optimum does). An independent check of :func:`train_exact` and of
    closed_form.ntp_optimum (no reduced coordinates are used).

    Parameters
    ----------
    d : int in [2, 12]. p_cot : float in [0, 1]. lam : float or triple, every entry > 0.

    Returns
    -------
    LinearAR holding the optimum.
    """
    d = check_int("d", d, 2, MAX_ENUM_D)
    p = check_prob("p_cot", p_cot)
    lams = split_lam(lam)
    if min(lams) <= 0:
        raise ValueError(f"lam: exact_ntp_optimum needs every lambda > 0 (the optimum is "
                         f"infinite otherwise), got {lam!r}")
    X, Y, w, label, long_, phi2, phis = _ntp_design(d, p)
    y = Y.astype(np.float64)
    n_long = int(long_.sum())
    problems = [(X.astype(np.float64), y[:, 0], w, lams[0]),
                (np.hstack([phi2, np.ones((phi2.shape[0], 1))]), label, w, lams[1])]
    if p > 0:
        problems += [(phis[l - 2], y[long_, l - 1], np.full(n_long, 1.0 / n_long), lams[2])
                     for l in range(2, d + 1)]
    sol = [fit_logistic(*prob, tol, max_iter) for prob in problems]
    chain = sol[2:] if p > 0 else [np.zeros(2 * d + l - 1) for l in range(2, d + 1)]
    return LinearAR(sol[0], sol[1][:-1], sol[1][-1], chain)


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
    theta: np.ndarray     # (n_iter+1, d+2) reduced coordinates (a, b, c, c_2..c_d) of the output
    off_norm: np.ndarray  # (n_iter+1,) norm of the output's weight off the reduced subspace


def train_exact(model0, p_cot, lam, n_iter, step="pegasos", *, average=None,
                return_trajectory: bool = False, progress: bool = False):
    """Deterministic full-weight gradient descent on the exact population NTP loss on D(p).

    w_t = w_{t-1} - eta_t * grad L(w_{t-1}),  t = 1..n_iter, each head on its own loss
    (:func:`population_ntp_grad`). This is Algorithm 3 with the stochastic gradient replaced by
    its expectation; like the closed-form ``discrete_dynamics``, each head runs on its own clock
    t = 1..n_iter (chain heads' steps count long samples). At p = 0 there are no long samples and
    the chain heads do not move (as in Algorithm 3).

    Parameters
    ----------
    model0 : LinearAR, the start (``LinearAR.zeros(d)`` for Algorithm 3); d <= 12.
    p_cot : float in [0, 1].
    lam : float or (lam1, lam2a, lam_chain), each >= 0 (> 0 for 'pegasos').
    n_iter : int >= 0, number of steps.
    step : "pegasos", float or callable
        "pegasos": eta_t = 1/(lam_head t) with each head's own lambda; a float: constant step;
        a callable t -> eta_t (t = 1, 2, ...), the same for every head.
    average : bool, optional
        Output the running average of the iterates w_1..w_t (Algorithm 3's output) instead of
        w_t. Default True for "pegasos", False otherwise.
    return_trajectory : bool
        Also return an :class:`ExactTrajectory` of the output after every step (row 0 = model0).
    progress : bool
        Show a tqdm progress bar over the steps (each costs O(2^d d^2): ~20 ms at d = 12).

    Returns
    -------
    LinearAR (the output after n_iter steps), or (LinearAR, ExactTrajectory).
    """
    model0 = _check_model(model0)
    p = check_prob("p_cot", p_cot)
    n_iter = check_int("n_iter", n_iter, 0)
    lams = split_lam(lam)
    d = model0.d
    sl = _head_slices(d)
    head_lam = np.empty(LinearAR.n_params(d))               # (n_params,) lambda of each weight's head
    head_lam[sl[0]], head_lam[sl[1]] = lams[0], lams[1]
    for s in sl[2:]:
        head_lam[s] = lams[2]
    frozen = np.zeros(head_lam.shape, dtype=bool)            # chain heads get no data at p = 0
    if p == 0:
        for s in sl[2:]:
            frozen[s] = True
    if isinstance(step, str):
        if step != "pegasos":
            raise ValueError(f"step: must be 'pegasos', a number or a callable, got {step!r}")
        if min(lams) <= 0:
            raise ValueError(f"lam: the 'pegasos' schedule 1/(lambda t) needs every lambda > 0, got {lam!r}")
        eta = lambda t: 1.0 / (head_lam * t)  # noqa: E731
        average = True if average is None else average
    elif callable(step):
        eta = step
    else:
        try:
            const = float(step)
        except (TypeError, ValueError):
            raise ValueError(f"step: must be 'pegasos', a number or a callable, got {step!r}") from None
        eta = lambda t: const  # noqa: E731
    average = bool(average)
    theta = model0.to_vector()
    mean = np.zeros_like(theta)
    out = theta
    traj_theta = np.empty((n_iter + 1, d + 2)) if return_trajectory else None
    traj_off = np.empty(n_iter + 1) if return_trajectory else None

    def record(t, vec):
        if return_trajectory:
            r = LinearAR.from_vector(d, vec).reduced()
            traj_theta[t] = np.concatenate([[r.a, r.b, r.c], r.chain])
            traj_off[t] = r.off_subspace_norm
    record(0, theta)
    for t in tqdm(range(1, n_iter + 1), disable=not progress, desc=f"exact NTP d={d}", unit="step"):
        g = population_ntp_grad(LinearAR.from_vector(d, theta), p, lams).to_vector()
        theta = theta - np.where(frozen, 0.0, eta(t) * g)
        mean += (theta - mean) / t
        out = mean if average else theta
        record(t, out)
    final = LinearAR.from_vector(d, out)
    return (final, ExactTrajectory(traj_theta, traj_off)) if return_trajectory else final


# ----------------------------------------------------------------------------- model's own distribution
class _Forward(NamedTuple):
    """Quantities of the prefix-by-prefix pass (N = 2^d inputs, tau the temperature)."""
    X: np.ndarray          # (N, d) float inputs in all_inputs order
    u1: np.ndarray         # (N,) head 1 logit
    u2a: np.ndarray        # (N, 2) stop logit after y_1 = +1 (col 0) and y_1 = -1 (col 1)
    log_y1: np.ndarray     # (N, 2) log P(y_1 | x)
    log_short: np.ndarray  # (N, 2) log pi((y_1, EOS) | x)
    uc: list               # uc[l-2]: (N, 2^(l-1)) logit of head l after each prefix y_1..y_{l-1}
    reach: list            # reach[l-2]: (N, 2^(l-1)) log P(y_1, go on, y_2..y_{l-1} | x)
    prefixes: list         # prefixes[l-2]: (2^(l-1), l-1) the prefixes y_1..y_{l-1}
    log_long: np.ndarray   # (N, 2^d) log pi((y_1..y_d, EOS) | x), strings in all_inputs order


def _forward(model: LinearAR, tau: float, keep_levels: bool) -> _Forward:
    """Log-probabilities of every prefix, built position by position (vectorised over x and prefixes)."""
    d = model.d
    X = all_inputs(d).astype(np.float64)                    # (N, d)
    y1 = np.array([1.0, -1.0])                              # (2,)
    u1 = X @ model.w1                                       # (N,)
    log_y1 = log_expit(y1[None, :] * u1[:, None] / tau)     # (N, 2)
    w2a = model.w2a
    u2a = (X @ w2a[:d] + model.b2a)[:, None] + y1[None, :] * (w2a[d] + X @ w2a[d + 1:])[:, None]
    log_short = log_y1 + log_expit(u2a / tau)               # (N, 2)
    reach = log_y1 + log_expit(-u2a / tau)                  # (N, 2): prefix (y_1), go on
    P = y1[:, None]                                         # (2, 1) prefixes of length 1
    ucs, reaches, prefixes = [], [], []
    for l in range(2, d + 1):
        w = model.chain[l - 2]
        u = ((X @ w[:d])[:, None] + (P @ w[d:d + l - 1])[None, :]
             + P[:, -1][None, :] * (X @ w[d + l - 1:])[:, None])  # (N, 2^(l-1))
        if keep_levels:
            ucs.append(u), reaches.append(reach), prefixes.append(P)
        reach = np.stack([reach + log_expit(u / tau), reach + log_expit(-u / tau)],
                         axis=-1).reshape(X.shape[0], -1)   # (N, 2^l), new bit least significant
        P = np.hstack([np.repeat(P, 2, axis=0), np.tile(y1, P.shape[0])[:, None]])  # (2^l, l)
    return _Forward(X, u1, u2a, log_y1, log_short, ucs, reaches, prefixes, reach)


class ResponseDistribution(NamedTuple):
    """Exact response distribution pi_tau(y | x) for every input (see :func:`response_distribution`)."""
    X: np.ndarray          # (2^d, d) int8 inputs, all_inputs(d) order
    bits: np.ndarray       # (2^d, d) int8 long bit strings y_1..y_d, all_inputs(d) order
    log_short: np.ndarray  # (2^d, 2) log pi((y_1, EOS)|x); column 0: y_1 = +1, column 1: y_1 = -1
    log_long: np.ndarray   # (2^d, 2^d) log pi((bits[j], EOS)|x) in column j
    temperature: float     # tau

    @property
    def short(self) -> np.ndarray:
        """pi((y_1, EOS)|x), ``(2^d, 2)``."""
        return np.exp(self.log_short)

    @property
    def long(self) -> np.ndarray:
        """pi((bits[j], EOS)|x), ``(2^d, 2^d)``."""
        return np.exp(self.log_long)

    def log_prob(self, X, Y) -> np.ndarray:
        """Look up log pi(Y|X) ``(n,)`` for rows of X (inputs) and Y (responses, data.py format)."""
        X, Y = np.asarray(X), np.asarray(Y)
        i = bit_index(X)
        long_ = is_long(Y)
        return np.where(long_, self.log_long[i, bit_index(np.where(Y[:, :-1] == 0, 1, Y[:, :-1]))],
                        self.log_short[i, (Y[:, 0] < 0).astype(np.int64)])


def response_distribution(model, temperature: float = 1.0) -> ResponseDistribution:
    """Exact probability of every response for every input, at temperature tau (THEORY §2).

    pi((y_1, EOS)|x)        = sigma(y_1 u_1/tau) sigma(u_2a/tau)
    pi((y_1..y_d, EOS)|x)   = sigma(y_1 u_1/tau) sigma(-u_2a/tau) prod_{l=2..d} sigma(y_l u_l/tau)

    built prefix by prefix in log space (log_expit, finite for extreme logits): at position l the
    (2^d, 2^(l-1)) array of prefix log-probabilities is extended by both values of y_l. Vectorised
    over inputs and prefixes; the only Python loop is over positions. Memory at d = 12: two
    (4096, 4096) float64 arrays (128 MB each).

    Parameters
    ----------
    model : LinearAR with d <= 12. temperature : float > 0.
    """
    model = _check_model(model)
    tau = check_temperature(temperature)
    fw = _forward(model, tau, keep_levels=False)
    Xa = all_inputs(model.d)
    return ResponseDistribution(Xa, Xa.copy(), fw.log_short, fw.log_long, tau)


def exact_metrics(model, p_cot, temperature: float = 1.0) -> dict:
    """Exact response statistics of ``model`` on all 2^d inputs (THEORY §4-5).

    Returns a dict with

    * ``pi_long_x``, ``pi_short_x``: ``(2^d,)`` pi(L(x)|x) and pi(S(x)|x) at temperature tau;
    * ``calibration_error`` / ``calibration_error_mean``: max / mean over x of |pi(L(x)|x) - p|;
      ``calibration_error_short`` / ``calibration_error_short_mean``: of |pi(S(x)|x) - (1-p)/2|;
    * the trajectory types, named as closed_form.TrajectoryProbs: ``p_long_correct`` (mean
      pi(L|x)), ``p_short_correct`` (mean pi(S|x) = P(short and correct)), ``p_short``, ``p_long``,
      ``p_correct`` (P(last bit of the response = chi(x))), ``mean_length`` (tokens incl. EOS:
      2 P(short) + (d+1) P(long)), ``pi_short_eq`` / ``pi_short_neq`` (mean pi(S(x)|x) over the x
      with chi(x) = x_1 / chi(x) != x_1);
    * ``greedy_accuracy``: fraction of x whose greedy response (:meth:`LinearAR.greedy`, tie
      conventions of THEORY §2) ends in chi(x), i.e. mean r_e2e.

    Every mean is over uniform x.
    """
    model = _check_model(model)
    p = check_prob("p_cot", p_cot)
    dist = response_distribution(model, temperature)
    X = dist.X
    chi = np.prod(X, axis=1, dtype=np.int8)                 # (N,)
    rows = np.arange(X.shape[0])
    pi_long_x = np.exp(dist.log_long[rows, bit_index(np.cumprod(X, axis=1))])
    short = dist.short                                      # (N, 2)
    pi_short_x = short[rows, (chi < 0).astype(np.int64)]
    long_ = dist.long                                       # (N, 2^d)
    last = dist.bits[:, -1]                                 # (2^d,)
    p_long_last_ok = np.where(last[None, :] == chi[:, None], long_, 0.0).sum(axis=1)
    p_long = long_.sum(axis=1).mean()
    p_short = short.sum(axis=1).mean()
    eq = chi == X[:, 0]
    return {
        "pi_long_x": pi_long_x, "pi_short_x": pi_short_x,
        "calibration_error": float(np.max(np.abs(pi_long_x - p))),
        "calibration_error_mean": float(np.mean(np.abs(pi_long_x - p))),
        "calibration_error_short": float(np.max(np.abs(pi_short_x - (1 - p) / 2))),
        "calibration_error_short_mean": float(np.mean(np.abs(pi_short_x - (1 - p) / 2))),
        "p_long_correct": float(pi_long_x.mean()), "p_short_correct": float(pi_short_x.mean()),
        "p_short": float(p_short), "p_long": float(p_long),
        "p_correct": float((pi_short_x + p_long_last_ok).mean()),
        "mean_length": float(2 * p_short + (model.d + 1) * p_long),
        "pi_short_eq": float(pi_short_x[eq].mean()), "pi_short_neq": float(pi_short_x[~eq].mean()),
        "greedy_accuracy": float(reward_e2e(X, model.greedy(X)).mean()),
    }


# ----------------------------------------------------------------------------- rewards, policy gradient
def _all_responses(d: int) -> np.ndarray:
    """Every response the model can emit, ``(2^d + 2, d+1)`` int8: the 2^d long strings, then (+1, EOS), (-1, EOS)."""
    Y = np.zeros((2 ** d + 2, d + 1), dtype=np.int8)
    Y[:2 ** d, :d] = all_inputs(d)
    Y[2 ** d:, 0] = [1, -1]
    return Y


def _reward_tables(d: int, reward):
    """Reward of every (x, response): long ``(2^d, 2^d)`` and short ``(2^d, 2)`` (columns y_1 = +1, -1).

    Computed by calling the reward function of linparity.data itself on every pair (in chunks of
    inputs), so the conventions cannot drift. Cached for the named rewards.
    """
    if isinstance(reward, str):
        reward_function(reward)
        return _reward_tables_named(d, reward)
    return _reward_tables_compute(d, reward_function(reward))


@lru_cache(maxsize=8)
def _reward_tables_named(d, name):
    long_, short = _reward_tables_compute(d, REWARDS[name])
    if np.all((long_ == 0) | (long_ == 1)) and np.all((short == 0) | (short == 1)):
        long_, short = long_.astype(bool), short.astype(bool)  # 0/1 rewards: 8x less cached memory
    long_.flags.writeable = short.flags.writeable = False
    return long_, short


def _reward_tables_compute(d, fn):
    X = all_inputs(d)
    Yall = _all_responses(d)                                # (M, d+1)
    M, N = Yall.shape[0], X.shape[0]
    R = np.empty((N, M))                                    # float: a callable reward may be graded
    chunk = max(1, (1 << 20) // M)
    for s in range(0, N, chunk):
        Xc = X[s:s + chunk]
        R[s:s + chunk] = np.asarray(fn(np.repeat(Xc, M, axis=0), np.tile(Yall, (Xc.shape[0], 1))),
                                    dtype=np.float64).reshape(Xc.shape[0], M)
    return R[:, :N], R[:, N:]


def expected_reward(model, reward="cot", temperature: float = 1.0) -> float:
    """Exact E_x E_{y ~ pi_tau(.|x)} r(x, y), x uniform on {+-1}^d (THEORY §6).

    A finite sum over all 2^d inputs and 2^d + 2 responses of :func:`response_distribution` times
    the reward table. ``reward``: 'cot', 'e2e' (linparity.data.REWARDS) or a callable r(X, Y).
    """
    model = _check_model(model)
    R_long, R_short = _reward_tables(model.d, reward)
    dist = response_distribution(model, temperature)
    return float(((dist.long * R_long).sum(axis=1) + (dist.short * R_short).sum(axis=1)).mean())


def policy_gradient(model, reward="cot", temperature: float = 1.0, *, return_value: bool = False):
    """Exact gradient of E[r] w.r.t. every weight of the model, as a LinearAR.

    grad E[r] = E_x E_{y ~ pi_tau} [ r(x,y) grad log pi_tau(y|x) ]  (score-function identity),
    computed exactly by backward induction over the decision tree of each x instead of a sum over
    responses: with Q(h, a) the expected reward after decision a at node h and V(h) its mean,
    a binary decision with P(a = +) = sigma(u/tau) contributes

        d E[r] / d u(h) = P(reach h | x) (1/tau) sigma(u/tau) sigma(-u/tau) (Q(h,+) - Q(h,-)) / 2^d

    (for the stop head, + is EOS), and the weight gradient is sum_h (dE[r]/du(h)) phi(h). The
    identity with the score-function form is tested against :func:`log_prob_grad` summed over all
    responses. Cost O(2^d 2^d) time and memory.

    Parameters
    ----------
    model : LinearAR with d <= 12.
    reward : 'cot', 'e2e' or a callable r(X, Y) -> (n,).
    temperature : float > 0; the logits are divided by it.
    return_value : also return E[r] (computed by the same backward pass).

    Returns
    -------
    LinearAR gradient, or (LinearAR, float).
    """
    model = _check_model(model)
    tau = check_temperature(temperature)
    d = model.d
    R_long, R_short = _reward_tables(d, reward)
    fw = _forward(model, tau, keep_levels=True)
    X, N = fw.X, fw.X.shape[0]
    V = R_long.astype(np.float64)                           # (N, 2^d) value of each full string
    R_short = R_short.astype(np.float64)                    # (N, 2)
    chain = [None] * (d - 1)
    for l in range(d, 1, -1):
        u, P = fw.uc[l - 2], fw.prefixes[l - 2]             # (N, 2^(l-1)), (2^(l-1), l-1)
        Vr = V.reshape(N, -1, 2)                            # (N, 2^(l-1), 2): y_l = +1, -1
        sp = expit(u / tau)
        G = np.exp(fw.reach[l - 2]) * sp * expit(-u / tau) / tau * (Vr[..., 0] - Vr[..., 1]) / N
        chain[l - 2] = np.concatenate([X.T @ G.sum(axis=1), G.sum(axis=0) @ P, X.T @ (G @ P[:, -1])])
        V = sp * Vr[..., 0] + (1 - sp) * Vr[..., 1]         # (N, 2^(l-1))
    y1 = np.array([1.0, -1.0])
    s = expit(fw.u2a / tau)                                 # (N, 2) P(EOS | x, y_1)
    G2 = np.exp(fw.log_y1) * s * expit(-fw.u2a / tau) / tau * (R_short - V) / N   # (N, 2)
    g2a = np.concatenate([X.T @ G2.sum(axis=1), [(G2 @ y1).sum()], X.T @ (G2 @ y1)])
    V1 = s * R_short + (1 - s) * V                          # (N, 2) value after y_1
    al = expit(fw.u1 / tau)
    G1 = al * expit(-fw.u1 / tau) / tau * (V1[:, 0] - V1[:, 1]) / N
    grad = LinearAR(X.T @ G1, g2a, G2.sum(), chain)
    if return_value:
        return grad, float((al * V1[:, 0] + (1 - al) * V1[:, 1]).mean())
    return grad


def log_prob_grad(model, X, Y, temperature: float = 1.0) -> np.ndarray:
    """Score vectors grad_w log pi_tau(Y_i|X_i), ``(n, n_params)`` in :meth:`LinearAR.to_vector` order.

    d/dw log sigma(t u/tau) = (t/tau) sigma(-t u/tau) phi for each decision of the response
    (t = y_1 for head 1; t = +1 (EOS) or -1 (go on) for the stop head with features (phi_2, 1);
    t = y_l for chain head l, long responses only). Responses must be ones the model can emit.
    """
    model = _check_model(model)
    tau = check_temperature(temperature)
    X, Y = np.asarray(X), np.asarray(Y)
    if not np.all(np.isfinite(model.log_prob(X, Y))):
        raise ValueError("Y: every response must be (y_1, EOS) or (y_1, ..., y_d, EOS) with +-1 bits")
    d = model.d
    u1, u2a, uc = model.logits(X, Y)
    y = Y.astype(np.float64)
    long_ = is_long(Y).astype(np.float64)
    t2 = 1.0 - 2.0 * long_                                  # +1 stop, -1 go on
    c1 = y[:, 0] * expit(-y[:, 0] * u1 / tau) / tau
    c2 = t2 * expit(-t2 * u2a / tau) / tau
    cols = [c1[:, None] * X, c2[:, None] * features(X, Y, 2), c2[:, None]]
    for l in range(2, d + 1):
        yl = np.where(long_ > 0, y[:, l - 1], 1.0)
        cl = long_ * yl * expit(-yl * uc[:, l - 2] / tau) / tau
        cols.append(cl[:, None] * features(X, np.where(Y == 0, 1, Y), l))
    return np.hstack(cols)


# ----------------------------------------------------------------------------- invariance
class InvarianceRow(NamedTuple):
    """Largest off-subspace gradient norms over random reduced points, for one d."""
    d: int
    ntp_off: float       # max off-subspace norm of the exact NTP gradient on D(p)
    ntp_scale: float     # max full norm of that gradient (for scale)
    pg_off: dict         # (reward, tau) -> max off-subspace norm of the exact policy gradient
    pg_scale: dict       # (reward, tau) -> max full norm of that policy gradient


def _random_reduced_points(d, n_points, rng):
    """Hypothesis-like reduced points: (a, b, c) and each c_l uniform in [-3, 3], p uniform in
    [0, 1], one lambda log-uniform in [1e-3, 1]."""
    rng = as_generator(rng)
    for _ in range(n_points):
        a, b, c = rng.uniform(-3, 3, 3)
        chain = rng.uniform(-3, 3, d - 1)
        yield (LinearAR.from_reduced(d, a, b, c, chain), float(rng.uniform()),
               float(10 ** rng.uniform(-3, 0)))


def invariance_table(ds=range(2, 9), rng=None, n_points: int = 8,
                     temperatures=(0.75, 1.0, 1.5), rewards=("cot", "e2e")) -> list[InvarianceRow]:
    """For each d, the largest off-subspace component of the exact gradients at random reduced points.

    At ``n_points`` random points of the reduced subspace of THEORY §4 (see
    ``_random_reduced_points``; a fresh SeedSequence child of ``rng`` per d, so rows do not depend
    on which d are asked for), compute the full-weight exact NTP gradient on D(p)
    (:func:`population_ntp_grad`) and the exact policy gradient (:func:`policy_gradient`) for
    each reward and temperature, and report the maximum of
    ``LinearAR.reduced().off_subspace_norm`` over the points. The subspace is invariant where this
    is zero up to floating-point rounding (about 1e-16 times the gradient scale).
    """
    ds = [check_int("d", d, 2, MAX_ENUM_D) for d in ds]
    ss = rng if isinstance(rng, np.random.SeedSequence) else np.random.SeedSequence(
        as_generator(rng).integers(2 ** 63))
    rows = []
    for d in ds:
        child = np.random.default_rng(np.random.SeedSequence(ss.entropy, spawn_key=ss.spawn_key + (d,)))
        ntp_off = ntp_scale = 0.0
        pg_off = {(r, t): 0.0 for r in rewards for t in temperatures}
        pg_scale = dict(pg_off)
        for model, p, lam in _random_reduced_points(d, n_points, child):
            g = population_ntp_grad(model, p, lam)
            ntp_off = max(ntp_off, g.reduced().off_subspace_norm)
            ntp_scale = max(ntp_scale, float(np.linalg.norm(g.to_vector())))
            for r in rewards:
                for t in temperatures:
                    pg = policy_gradient(model, r, t)
                    pg_off[r, t] = max(pg_off[r, t], pg.reduced().off_subspace_norm)
                    pg_scale[r, t] = max(pg_scale[r, t], float(np.linalg.norm(pg.to_vector())))
        rows.append(InvarianceRow(d, ntp_off, ntp_scale, pg_off, pg_scale))
    return rows


# ----------------------------------------------------------------------------- d = 2 study
def d2_study(ps=(0.1, 0.25, 0.3, 0.4, 0.6), lam=1e-2, n_iter: int = 20000, step: float = 1.0):
    """Exact full-weight NTP followed by greedy decoding at d = 2, against the reduced prediction.

    For each p: :func:`train_exact` from 0 (constant ``step``, ``n_iter`` steps), its distance to
    the Newton optimum :func:`exact_ntp_optimum`, the off-subspace weights of the stop head, greedy
    accuracy and P(long) (:func:`exact_metrics`), against the same quantities of the reduced
    optimum restricted to the subspace (closed_form.ntp_optimum; its (a, b, c, c_2) do not depend
    on d) with closed_form.greedy_probs.

    Returns a list of dicts, one per p.
    """
    out = []
    for p in ps:
        m = train_exact(LinearAR.zeros(2), p, lam, n_iter, step)
        opt = exact_ntp_optimum(2, p, lam)
        met = exact_metrics(m, p)
        theta3 = ntp_optimum(3, p, lam)                     # (a, b, c, c, c); use (a, b, c, c_2) at d = 2
        red = LinearAR.from_reduced(2, *theta3[:3], theta3[3:4])
        red_met = exact_metrics(red, p)
        out.append({
            "p": p, "lam": lam,
            "dist_to_newton_optimum": float(np.linalg.norm(m.to_vector() - opt.to_vector())),
            "w2a": m.w2a.copy(), "b2a": m.b2a, "w1": m.w1.copy(),
            "off_subspace_norm": m.reduced().off_subspace_norm,
            "greedy_accuracy": met["greedy_accuracy"], "p_long": met["p_long"],
            "p_correct": met["p_correct"], "calibration_error": met["calibration_error"],
            "reduced_greedy_accuracy": greedy_probs(theta3, 3).p_correct,
            "reduced_greedy_accuracy_enum": red_met["greedy_accuracy"],
            "reduced_p_long": trajectory_probs(theta3, 3).p_long,
            "loss_full": float(population_ntp_loss(m, p, lam)[1]),
            "loss_reduced": float(population_ntp_loss(red, p, lam)[1]),
        })
    return out


def d2_greedy_threshold(lam, tol: float = 1e-7, reduced: bool = False) -> float:
    """Smallest p at which greedy decoding of the d = 2 full-weight NTP optimum is always right.

    With ``reduced=True``, the same for the reduced optimum (closed_form.ntp_optimum and
    greedy_probs; its (a, b, c, c_l) do not depend on d), for comparison.

    Bisection on p in (0, 1) of ``exact_metrics(exact_ntp_optimum(2, p, lam), p)['greedy_accuracy'] == 1``
    (below the threshold greedy answers (x_1, EOS) for every x, accuracy 1/2). Assumes the accuracy
    is monotone in p (checked on a grid by the d = 2 study); returns nan if it is 1 already at
    p = tol or not at p = 1 - tol.
    """
    def ok(p):
        if reduced:
            return greedy_probs(ntp_optimum(3, p, lam), 3).p_correct == 1.0
        return exact_metrics(exact_ntp_optimum(2, p, lam), p)["greedy_accuracy"] == 1.0
    lo, hi = tol, 1 - tol
    if ok(lo) or not ok(hi):
        return float("nan")
    while hi - lo > tol:
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if ok(mid) else (mid, hi)
    return hi


def main() -> None:
    """Print the invariance table and the d = 2 study (``python -m linparity.enumeration``)."""
    temps = (0.75, 1.0, 1.5)
    rows = invariance_table(range(2, 9), rng=20260, n_points=8, temperatures=temps)
    print("Max off-subspace norm of the exact gradient at 8 random reduced points per d")
    print("(scale = max full gradient norm; invariant <=> off ~ 1e-16 x scale)")
    head = "  d   NTP off (scale)        " + "  ".join(f"PG {r} tau={t:<4}" for r in ("cot", "e2e")
                                                          for t in temps)
    print(head)
    for r in rows:
        cells = "  ".join(f"{r.pg_off[k, t]:14.2e}" for k in ("cot", "e2e") for t in temps)
        print(f"{r.d:3d}   {r.ntp_off:9.2e} ({r.ntp_scale:6.3f})  {cells}")
    lam = 1e-2
    print(f"\nd = 2: exact full-weight NTP (train_exact from 0, constant step 1, 20000 steps, lam = {lam})")
    print("  p     greedy_acc  reduced_pred  P(long)  red_P(long)  w2a[x2]  w2a[y1 x1]  b2a     "
          "off_norm  |w - w_newton|  calib_err")
    for s in d2_study(lam=lam):
        print(f"  {s['p']:<5} {s['greedy_accuracy']:10.3f}  {s['reduced_greedy_accuracy']:12.3f}  "
              f"{s['p_long']:7.3f}  {s['reduced_p_long']:11.3f}  {s['w2a'][1]:7.3f}  "
              f"{s['w2a'][3]:10.3f}  {s['b2a']:6.3f}  {s['off_subspace_norm']:8.3f}  "
              f"{s['dist_to_newton_optimum']:.1e}       {s['calibration_error']:.3f}")
    print("\nd = 2: greedy threshold p_c(lam) of the full-weight optimum (greedy always right for p > p_c,"
          "\n       1/2 below) against the reduced optimum's step (1/3 as lam -> 0), and max_x |pi(L|x) - p|"
          "\n       at p = 0.25 for the full-weight optimum and the reduced one (lam -> 0 limits: (1-p)/2 = 0.375, 0)")
    for lam in (1.0, 0.1, 1e-2, 1e-3, 1e-4, 1e-6):
        cal = exact_metrics(exact_ntp_optimum(2, 0.25, lam), 0.25)["calibration_error"]
        th = ntp_optimum(3, 0.25, lam)
        cal_red = exact_metrics(LinearAR.from_reduced(2, *th[:3], th[3:4]), 0.25)["calibration_error"]
        print(f"  lam = {lam:<7g} p_c: full {d2_greedy_threshold(lam, 1e-6):.6f}, reduced "
              f"{d2_greedy_threshold(lam, 1e-6, reduced=True):.6f}   calibration error: "
              f"full {cal:.4f}, reduced {cal_red:.4f}")


if __name__ == "__main__":
    main()
