"""Exact RL quantities over all 2^d inputs and all responses, on the FULL weights (d <= 12).

The model's own response distribution (every (y_1, EOS) and every long string), the exact expected
reward and policy gradient (THEORY §6), the exact STaR map on full weights (every head refit to its
regularised optimum on the exact kept set, the ``refit`` variant in the infinite-sample limit) and
exact policy-gradient ascent. Nothing samples; nothing uses the reduced coordinates.
"""
from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np
from scipy.special import expit, log_expit

from .._checks import check_d, check_positive, check_prob, check_temperature
from .._validate import check_alloc
from .._checks import check_int
from ..data import REWARDS, all_inputs, is_long, long_response, reward_e2e, reward_function, short_response
from ..model import LinearAR, features
from .ntp import bit_index, check_model, fit_weighted

__all__ = ["ResponseDistribution", "response_distribution", "exact_metrics", "log_prob_grad",
           "expected_reward", "policy_gradient", "all_responses", "star_map", "pg_ascent"]


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
    model = check_model(model)
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
    * the trajectory types, named as closed_form.TrajectoryProbs: ``pi_long`` (mean
      pi(L|x)), ``pi_short_correct`` (mean pi(S|x) = P(short and correct)), ``p_short``, ``p_long``,
      ``p_correct`` (P(last bit of the response = chi(x))), ``mean_length`` (tokens incl. EOS:
      2 P(short) + (d+1) P(long)), ``pi_short_eq`` / ``pi_short_neq`` (mean pi(S(x)|x) over the x
      with chi(x) = x_1 / chi(x) != x_1);
    * ``greedy_accuracy``: fraction of x whose greedy response (:meth:`LinearAR.greedy`, tie
      conventions of THEORY §2) ends in chi(x), i.e. mean r_e2e.

    Every mean is over uniform x.
    """
    model = check_model(model)
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
        "pi_long": float(pi_long_x.mean()), "pi_short_correct": float(pi_short_x.mean()),
        "p_short": float(p_short), "p_long": float(p_long),
        "p_correct": float((pi_short_x + p_long_last_ok).mean()),
        "mean_length": float(2 * p_short + (model.d + 1) * p_long),
        "pi_short_eq": float(pi_short_x[eq].mean()), "pi_short_neq": float(pi_short_x[~eq].mean()),
        "greedy_accuracy": float(reward_e2e(X, model.greedy(X)).mean()),
    }


# ----------------------------------------------------------------------------- rewards, policy gradient
def all_responses(d: int) -> np.ndarray:
    """Every response the model can emit, ``(2^d + 2, d+1)`` int8: the 2^d long strings, then (+1, EOS), (-1, EOS)."""
    d = check_d(d, 2, 62)
    check_alloc("d", (2.0 ** d + 2) * (d + 1) * 2)    # the table and all_inputs' block
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
    Yall = all_responses(d)                                # (M, d+1)
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
    model = check_model(model)
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
    model = check_model(model)
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
    model = check_model(model)
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


# ----------------------------------------------------------------------------- RL dynamics on full weights
def star_map(model0: LinearAR, p_cot, lam, rounds, temperature=1.0) -> dict:
    """The STaR population map with reward 'cot' on the full weights, by enumeration (d <= 12).

    Round n -> n+1 (THEORY §6, the ``refit`` variant in the infinite-sample limit): the kept set
    holds (x, L(x)) with weight pi_tau(L(x)|x) and (x, S(x)) with weight pi_tau(S(x)|x), x uniform
    (:func:`exact_metrics`); every head is refit to its exact regularised optimum on it
    (:func:`linparity.exact.ntp.fit_weighted`; chain heads on the kept long rows).

    Returns
    -------
    dict of arrays ``(rounds+1,)``: pi_long (tau = 1), greedy_accuracy, mean_length, off_norm (norm
    off the reduced subspace) and theta ``(rounds+1, d+2)`` (reduced coordinates, reported only).
    """
    model0 = check_model(model0)
    d = model0.d
    X = all_inputs(d)
    XX, YY = np.vstack([X, X]), np.vstack([long_response(X), short_response(X)])
    out = {k: [] for k in ("pi_long", "greedy_accuracy", "mean_length", "off_norm", "theta")}
    m = model0
    rounds = check_int("rounds", rounds, 0)
    for n in range(rounds + 1):
        e1 = exact_metrics(m, p_cot)
        r = m.reduced()
        for k in ("pi_long", "greedy_accuracy", "mean_length"):
            out[k].append(e1[k])
        out["off_norm"].append(r.off_subspace_norm)
        out["theta"].append(r.theta)
        if n == rounds:
            break
        et = e1 if temperature == 1.0 else exact_metrics(m, p_cot, temperature)
        m = fit_weighted(XX, YY, np.concatenate([et["pi_long_x"], et["pi_short_x"]]), lam, 1e-12)
    return {k: np.array(v) for k, v in out.items()}


def pg_ascent(model0: LinearAR, lr, steps, reward="cot", temperature=1.0, every=1) -> dict:
    """Expected REINFORCE ascent on the full weights in discrete steps, w_{t+1} = w_t + lr grad E[r](w_t).

    The exact gradient is :func:`policy_gradient` (THEORY §6); recorded every ``every`` steps.

    Returns
    -------
    dict of arrays over the records: step, expected_reward, pi_long, mean_length, greedy_accuracy
    (all at tau = 1 except expected_reward, at ``temperature``) and off_norm (norm off the reduced subspace).
    """
    model0 = check_model(model0)
    steps, every = check_int("steps", steps, 0), check_int("every", every, 1)
    lr = check_positive("lr", lr)
    d = model0.d
    vec = model0.to_vector()
    rec = {k: [] for k in ("step", "expected_reward", "pi_long", "mean_length", "greedy_accuracy", "off_norm")}
    for t in range(steps + 1):
        m = LinearAR.from_vector(d, vec)
        g, val = policy_gradient(m, reward, temperature, return_value=True)
        if t % every == 0 or t == steps:
            e = exact_metrics(m, 0.5)
            rec["step"].append(t)
            rec["expected_reward"].append(val)
            for k in ("pi_long", "mean_length", "greedy_accuracy"):
                rec[k].append(e[k])
            rec["off_norm"].append(m.reduced().off_subspace_norm)
        vec = vec + lr * g.to_vector()
    return {k: np.array(v) for k, v in rec.items()}
