"""Closed form of RL post-training in reduced coordinates (THEORY §4, §6). Nothing here samples.

Notation: theta = (a, b, c, c_2..c_d) ``(d+2,)``; alpha = sigma(a/tau), beta = sigma((b+c)/tau),
gamma = sigma((b-c)/tau), kappa_l = sigma(c_l/tau), m_l = 2 kappa_l - 1, E_even = (1 + prod m_l)/2.

Per-input success probability. On the subspace the model sees x only through whether
chi(x) = x_1; each class has probability 1/2 (d >= 2). With W_long the probability of a long
response that earns the reward,

    rho_eq  = alpha beta       + W_long      (inputs with chi = x_1)
    rho_neq = (1-alpha) gamma  + W_long      (inputs with chi != x_1)
    W_long  = alpha (1-beta) prod kappa_l                                   (reward 'cot')
    W_long  = alpha (1-beta) E_even + (1-alpha)(1-gamma)(1 - E_even)        (reward 'e2e')

and E[r] = (rho_eq + rho_neq)/2.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.special import comb, expit, logit

from .._checks import check_d, check_int, check_nonneg, check_positive, check_prob, check_temperature
from .._validate import check_finite_array
from ..data import check_reward
from ..heads import lam_triple
from . import ntp as cf

__all__ = ["ideal_recursion", "ideal_p", "n_star", "log_odds_gain", "KeptStats", "kept_stats", "refit",
           "RoundPrediction", "star_map", "expected_reward", "reward_gradient", "grpo_weight",
           "expected_update", "pg_discrete", "amplification_margin",
           "stop_gradient_sign", "penalised_values", "stop_update", "length_penalty_threshold",
           "noisy_ntp_stats", "noisy_ntp_optimum"]

# ----------------------------------------------------------------------------- ideal recursion
def ideal_recursion(p0, rounds) -> np.ndarray:
    """Iterate p_{n+1} = 2 p_n / (1 + p_n) (Theorem 2, THEORY §6; discrete rounds); returns
    ``(rounds+1,)`` with p_0 first.

    >>> ideal_recursion(0.2, 2).round(4).tolist()   # odds 1/4 -> 1/2 -> 1
    [0.2, 0.3333, 0.5]
    """
    p = check_prob("p_cot", p0)
    out = [p]
    for _ in range(check_int("rounds", rounds, 0)):
        p = 2 * p / (1 + p)
        out.append(p)
    return np.array(out)


def ideal_p(p0, n):
    """Closed form p_n = 2^n p_0 / (2^n p_0 + 1 - p_0) (the odds p/(1-p) double each round)."""
    p0 = check_prob("p_cot", p0)
    n = check_finite_array("n", n)
    if np.any(n < 0):
        raise ValueError(f"n: every round number must be >= 0, got {n.min():g}")
    return expit(n * np.log(2.0) + logit(p0))   # the odds form: no overflow of 2^n at large n


def n_star(p0) -> float:
    """Smallest n >= 0 with p_n > 1/3, i.e. 2^(n+1) p_0 > 1 - p_0; +inf for p_0 = 0.

    Computed in exact integer/rational arithmetic on the binary value of the float p_0, so the
    boundary cases 2^(n+1) p_0 = 1 - p_0 (p_n exactly 1/3, not > 1/3) are decided exactly.

    >>> n_star(0.1), n_star(0.25)    # p_3 = 8/17 for p_0 = 0.1; p_1 = 2/5 for p_0 = 1/4
    (3, 1)
    """
    from fractions import Fraction
    p = Fraction(check_prob("p_cot", p0))
    if p == 0:
        return np.inf
    n = 0
    while not 2 ** (n + 1) * p > 1 - p:
        n += 1
    return n


def log_odds_gain(pi_long) -> np.ndarray:
    """Per-round change of the long fraction's log-odds, logit(pi_{n+1}) - logit(pi_n).

    The ideal recursion (Theorem 2) doubles the odds every round, so its gain is ln 2 at every
    round; a measured gain below ln 2 is the per-round shortfall that makes a variant need more
    rounds than n*. ``pi_long`` is ``(..., rounds+1)`` (round 0 first); returns ``(..., rounds)``.
    pi is clipped to [1e-12, 1 - 1e-12] first, so a fraction that saturates in floating point
    gives a finite gain (a lower bound on the true one, at most ln(1e12) - ln(1e-12) = 55.3 per round).

    >>> log_odds_gain(ideal_recursion(0.1, 3)).round(6).tolist()   # ln 2 = 0.693147
    [0.693147, 0.693147, 0.693147]
    """
    pi = check_finite_array("pi_long", pi_long)
    if pi.ndim == 0 or pi.shape[-1] < 1 or np.any((pi < 0) | (pi > 1)):
        raise ValueError("pi_long: must be an array (..., rounds+1) of probabilities in [0, 1]")
    return np.diff(logit(np.clip(pi, 1e-12, 1 - 1e-12)), axis=-1)


# ----------------------------------------------------------------------------- kept-set statistics
def _abgk(theta, d, tau):
    theta = cf.check_theta(theta, check_d(d, 3))
    tau = check_temperature(tau)
    a, b, c = theta[:3]
    return (float(expit(a / tau)), float(expit((b + c) / tau)), float(expit((b - c) / tau)),
            expit(theta[3:] / tau))


def _prod_except(m):
    """``out[l] = prod_{k != l} m[k]`` without division (prefix and suffix products)."""
    pre = np.concatenate([[1.0], np.cumprod(m)[:-1]])
    suf = np.concatenate([np.cumprod(m[::-1])[:-1][::-1], [1.0]])
    return pre * suf


class KeptStats(NamedTuple):
    """What the refit sees: the kept set of one STaR round as population statistics."""
    kept_fraction: float   # E[r]: probability that a sampled response is kept
    q: float               # share of long responses in the kept set
    r: float               # among kept short answers, the share with chi(x) = x_1
    pi1: float             # P(y_1 = x_1) in the kept set (head 1's target)
    stop: np.ndarray       # (4,) kept shares of (go on | y1=x1, go on | y1!=x1, EOS | y1=x1, EOS | y1!=x1)
    pi_chain: np.ndarray   # (d-1,) P(y_l = y_{l-1} x_l) among kept long responses (chain targets)


def kept_stats(theta, d, reward="cot", temperature=1.0) -> KeptStats:
    """Population statistics of the responses kept by STaR at temperature tau (THEORY §6).

    Kept long responses with y_1 = x_1 need an even number of chain errors under 'e2e' (none under
    'cot'); with y_1 != x_1 an odd number ('e2e'; never kept under 'cot'). Chain errors are
    independent Bernoulli(1 - kappa_l), so conditioned on the parity of their number
    P(error at l | even) = (1-kappa_l)(1 - M_{-l})/(1 + M), P(error at l | odd) = (1-kappa_l)(1 + M_{-l})/(1 - M),
    with M = prod m_k and M_{-l} = prod_{k != l} m_k.
    """
    check_reward(reward)
    al, be, ga, ka = _abgk(theta, d, temperature)
    m = 2 * ka - 1
    M, M_l = float(np.prod(m)), _prod_except(m)
    short_eq, short_neq = al * be / 2, (1 - al) * ga / 2          # kept short, by class
    if reward == "cot":
        long_eq, long_neq = al * (1 - be) * float(np.prod(ka)), 0.0
        err_eq, err_neq = np.zeros(d - 1), np.zeros(d - 1)
    else:
        e_even = (1 + M) / 2
        long_eq, long_neq = al * (1 - be) * e_even, (1 - al) * (1 - ga) * (1 - e_even)
        err_eq = np.divide((1 - ka) * (1 - M_l), 1 + M, out=np.zeros(d - 1), where=1 + M > 0)
        err_neq = np.divide((1 - ka) * (1 + M_l), 1 - M, out=np.zeros(d - 1), where=1 - M > 0)
    K = short_eq + short_neq + long_eq + long_neq
    if K <= 0:
        raise ValueError("theta: the model earns no reward, so STaR keeps nothing")
    W_long = long_eq + long_neq
    pi_chain = (1 - (long_eq * err_eq + long_neq * err_neq) / W_long) if W_long > 0 else np.ones(d - 1)
    s_short = short_eq + short_neq
    return KeptStats(kept_fraction=K, q=W_long / K, r=short_eq / s_short if s_short > 0 else 0.5,
                     pi1=(long_eq + short_eq) / K,
                     stop=np.array([long_eq, long_neq, short_eq, short_neq]) / K,
                     pi_chain=pi_chain)


def refit(stats: KeptStats, d, lam) -> np.ndarray:
    """Every head refit to its regularised optimum on the kept set (exact, finite lambda).

    head 1: head1_optimum(pi1); chain head l: the same problem with target probability pi_chain[l];
    stop head: per branch u = b+c (y_1 = x_1) and v = b-c (y_1 != x_1), root of
    A sigma(u) - B sigma(-u) + lam2a u/2 with (A, B) the kept shares of (go on, EOS) in that branch.
    A chain head that receives no long sample stays at 0.
    """
    d = check_d(d, 3)
    l1, l2, lc = lam_triple(lam)
    a = cf.head1_optimum(stats.pi1, l1)
    go_eq, go_neq, eos_eq, eos_neq = stats.stop
    u, v = cf.stop_branch_root(go_eq, eos_eq, l2), cf.stop_branch_root(go_neq, eos_neq, l2)
    chain = ([cf.head1_optimum(pc, lc) for pc in stats.pi_chain] if stats.q > 0 else [0.0] * (d - 1))
    return np.array([a, (u + v) / 2, (u - v) / 2, *chain])


class RoundPrediction(NamedTuple):
    """Per-round predictions of the exact map; every array is ``(rounds+1,)``, round 0 = start."""
    theta: np.ndarray            # (rounds+1, d+2) reduced state after each round
    pi_long: np.ndarray          # pi(L(x)|x) at temperature 1
    p_long: np.ndarray           # P(long response) at temperature 1
    greedy_accuracy: np.ndarray  # greedy_probs(theta).p_correct
    mean_length: np.ndarray      # expected tokens incl. EOS at temperature 1
    kept_fraction: np.ndarray    # E[r] at the sampling temperature (what round n+1 keeps)
    q: np.ndarray                # long share of the kept set sampled from round n's model


def star_map(theta0, d, lam, rounds, reward="cot", temperature=1.0) -> RoundPrediction:
    """Iterate the exact finite-lambda STaR population map theta_{n+1} = refit(kept_stats(theta_n)).

    This is the ``refit`` variant of Algorithm 1 in the infinite-sample limit (THEORY §6).
    """
    rounds = check_int("rounds", rounds, 0)
    thetas = [cf.check_theta(theta0, check_d(d, 3)).astype(float)]
    stats = []
    for _ in range(rounds + 1):
        s = kept_stats(thetas[-1], d, reward, temperature)
        stats.append(s)
        if len(thetas) <= rounds:
            thetas.append(refit(s, d, lam))
    T = np.array(thetas)
    tp = [cf.trajectory_probs(t, d) for t in T]
    return RoundPrediction(theta=T, pi_long=np.array([x.pi_long for x in tp]),
                           p_long=np.array([x.p_long for x in tp]),
                           greedy_accuracy=np.array([cf.greedy_probs(t, d).p_correct for t in T]),
                           mean_length=np.array([x.mean_length for x in tp]),
                           kept_fraction=np.array([s.kept_fraction for s in stats]),
                           q=np.array([s.q for s in stats]))


# ----------------------------------------------------------------------------- policy gradient
def _rho_partials(al, be, ga, ka, reward):
    """rho_eq, rho_neq and their partial derivatives w.r.t. (alpha, beta, gamma, kappa)."""
    m = 2 * ka - 1
    if reward == "cot":
        P, P_l = float(np.prod(ka)), _prod_except(ka)
        W = al * (1 - be) * P
        dW = (1 - be) * P, -al * P, 0.0, al * (1 - be) * P_l
    else:
        E, E_l = (1 + float(np.prod(m))) / 2, _prod_except(m)  # dE/dkappa_l = prod_{k!=l} m_k
        W = al * (1 - be) * E + (1 - al) * (1 - ga) * (1 - E)
        dW = ((1 - be) * E - (1 - ga) * (1 - E), -al * E, -(1 - al) * (1 - E),
              (al * (1 - be) - (1 - al) * (1 - ga)) * E_l)
    rho = np.array([al * be + W, (1 - al) * ga + W])
    d_eq = (be + dW[0], al + dW[1], dW[2], dW[3])
    d_neq = (-ga + dW[0], dW[1], (1 - al) + dW[2], dW[3])
    return rho, (d_eq, d_neq)


def _to_theta(partials, al, be, ga, ka, tau):
    """Chain rule from (alpha, beta, gamma, kappa) to theta = (a, b, c, c_l)."""
    da, db, dg, dk = partials
    sa, sb, sg, sk = al * (1 - al) / tau, be * (1 - be) / tau, ga * (1 - ga) / tau, ka * (1 - ka) / tau
    return np.concatenate([[da * sa, db * sb + dg * sg, db * sb - dg * sg], np.asarray(dk) * sk])


def expected_reward(theta, d, reward="cot", temperature=1.0, length_penalty=0.0) -> float:
    """E[r_beta] under the model at temperature tau, beta = ``length_penalty`` >= 0 (THEORY §8).

    beta = 0: E[r] = (rho_eq + rho_neq)/2. beta > 0: E[r] - beta P(long), summed over the outcomes
    of :func:`_categories` with the rewards of :func:`penalised_values`.
    """
    if check_nonneg("length_penalty", length_penalty) > 0:
        P, _ = _categories(theta, d, reward, check_temperature(temperature))
        return float((P @ penalised_values(length_penalty)).mean())
    al, be, ga, ka = _abgk(theta, d, temperature)
    return float(_rho_partials(al, be, ga, ka, check_reward(reward))[0].mean())


def reward_gradient(theta, d, reward="cot", temperature=1.0, *, per_class=False) -> np.ndarray:
    """Exact gradient of E[r] w.r.t. theta ``(d+2,)`` (= the expected REINFORCE gradient).

    With ``per_class=True`` returns ``(rho (2,), grad rho (2, d+2))`` for the classes chi = x_1 and
    chi != x_1.
    """
    tau = check_temperature(temperature)
    al, be, ga, ka = _abgk(theta, d, tau)
    rho, parts = _rho_partials(al, be, ga, ka, check_reward(reward))
    G = np.array([_to_theta(p, al, be, ga, ka, tau) for p in parts])  # (2, d+2)
    return (rho, G) if per_class else G.mean(axis=0)


def grpo_weight(rho, G, eps=1e-8):
    """Expected GRPO step per unit of grad rho for a Bernoulli(rho) reward and group size G.

    GRPO's per-input update is (1/G) sum_i A_i grad log pi(y_i) with A_i = (r_i - mean)/(std + eps)
    (population std, ddof 0). Conditioning on r_i and on k successes among the other G-1 responses,
    E[update] = w(rho) grad rho with
    w(rho) = sum_k Binom(k; G-1, rho) [A(r=1, k) - A(r=0, k)].
    """
    G = check_int("group_size", G, 2)
    rho = check_finite_array("rho", rho)
    if np.any((rho < 0) | (rho > 1)):
        raise ValueError(f"rho: every success probability must be in [0, 1], got {rho[(rho < 0) | (rho > 1)].ravel()[0]:g}")
    k = np.arange(G)
    pmf = comb(G - 1, k) * rho[..., None] ** k * (1 - rho[..., None]) ** (G - 1 - k)

    def adv(r_self, n_succ):  # advantage of a response with reward r_self in a group with n_succ ones
        mean = n_succ / G
        std = np.sqrt(mean * (1 - mean))
        return (r_self - mean) / (std + eps)
    return (pmf * (adv(1.0, k + 1) - adv(0.0, k))).sum(axis=-1)


def expected_update(theta, d, reward="cot", temperature=1.0, algo="reinforce", group_size=None,
                    length_penalty=0.0) -> np.ndarray:
    """Expected parameter direction of one policy-gradient step per unit learning rate ``(d+2,)``,
    under the reward r_beta = r - beta (|y| - 2)/(d - 1), beta = ``length_penalty`` >= 0 (THEORY §8).

    beta = 0 (binary reward): 'reinforce' (with or without baseline): grad E[r]; 'grpo': (1/2) sum
    over the two classes of grpo_weight(rho_class, G) grad rho_class. beta > 0 (four reward values):
    :func:`_outcome_update`, which equals the beta = 0 form in the limit beta -> 0.
    """
    if algo not in ("reinforce", "grpo"):
        raise ValueError(f"algo: must be 'reinforce' or 'grpo', got {algo!r}")
    if check_nonneg("length_penalty", length_penalty) > 0:
        return _outcome_update(theta, d, length_penalty, reward, temperature, algo, group_size)
    if algo == "reinforce":
        return reward_gradient(theta, d, reward, temperature)
    rho, G = reward_gradient(theta, d, reward, temperature, per_class=True)
    return (grpo_weight(rho, group_size)[:, None] * G).mean(axis=0)


def pg_discrete(theta0, d, lr, steps, reward="cot", temperature=1.0, algo="reinforce",
                group_size=None, length_penalty=0.0) -> np.ndarray:
    """Expected policy-gradient ascent in discrete steps theta_{t+1} = theta_t + lr * update(theta_t)
    (:func:`expected_update`, under r_beta with beta = ``length_penalty``).

    Returns ``(steps+1, d+2)``.
    """
    lr = check_positive("lr", lr)
    steps = check_int("steps", steps, 0)
    check_nonneg("length_penalty", length_penalty)
    out = np.empty((steps + 1, check_d(d, 3) + 2))
    out[0] = cf.check_theta(theta0, d)
    for t in range(steps):
        out[t + 1] = out[t] + lr * expected_update(out[t], d, reward, temperature, algo, group_size,
                                                   length_penalty)
    return out


# ----------------------------------------------------------------------------- length-increase mechanism
def amplification_margin(theta, d, reward="cot", temperature=1.0) -> float:
    """P(kept | go on after y_1 = x_1) - P(kept | stop after y_1 = x_1).

    A short answer after y_1 = x_1 is right iff chi = x_1: probability 1/2. A long one is kept with
    probability prod kappa_l ('cot') or E_even ('e2e'). STaR's refit raises the probability of going on
    after y_1 = x_1 iff this margin is > 0: the chain is right more often than a short answer.
    """
    check_reward(reward)
    _, _, _, ka = _abgk(theta, d, temperature)
    chain_right = float(np.prod(ka)) if reward == "cot" else (1 + float(np.prod(2 * ka - 1))) / 2
    return chain_right - 0.5


def stop_gradient_sign(theta, d, reward="cot", temperature=1.0) -> float:
    """Sign of the expected policy gradient on the stop logit u = b + c after y_1 = x_1.

    dE[r]/du = (alpha/2) beta (1-beta)/tau * (1 - 2 P(chain right)) (from rho above), so it is < 0
    (the stop logit decreases and responses lengthen) iff amplification_margin > 0.
    """
    al, be, ga, ka = _abgk(theta, d, temperature)
    _, (d_eq, d_neq) = _rho_partials(al, be, ga, ka, check_reward(reward))
    return float(np.sign((d_eq[1] + d_neq[1]) / 2 * be * (1 - be) / check_temperature(temperature)))


# ----------------------------------------------------------------------------- length penalty (THEORY §8)
def _categories(theta, d, reward, tau):
    """Per-class outcome probabilities and their theta-gradients.

    Outcomes k = (short correct, short wrong, long right, long wrong), per class (chi = x_1,
    chi != x_1). With A = alpha beta, B = (1-alpha) gamma, P_long = alpha(1-beta) + (1-alpha)(1-gamma)
    and W = the rewarded long probability of :func:`_rho_partials`:
    class eq: (A, B, W, P_long - W); class neq: (B, A, W, P_long - W).

    Returns P ``(2, 4)`` and dP ``(2, 4, d+2)``.
    """
    al, be, ga, ka = _abgk(theta, d, tau)
    rho, (d_eq, _) = _rho_partials(al, be, ga, ka, check_reward(reward))
    W = rho[0] - al * be
    dA = (be, al, 0.0, 0.0)
    dB = (-ga, 0.0, 1 - al, 0.0)
    dW = tuple(x - y for x, y in zip(d_eq, dA))
    Pl = al * (1 - be) + (1 - al) * (1 - ga)
    dPl = ((1 - be) - (1 - ga), -al, -(1 - al), 0.0)
    dLw = tuple(x - y for x, y in zip(dPl, dW))
    g = lambda part: _to_theta(part, al, be, ga, ka, tau)  # noqa: E731
    GA, GB, GW, GL = g(dA), g(dB), g(dW), g(dLw)
    P = np.array([[al * be, (1 - al) * ga, W, Pl - W], [(1 - al) * ga, al * be, W, Pl - W]])
    dP = np.array([[GA, GB, GW, GL], [GB, GA, GW, GL]])
    return P, dP


def penalised_values(length_penalty) -> np.ndarray:
    """Rewards r_beta of the outcomes (short correct, short wrong, long right, long wrong) ``(4,)``.

    r_beta(x, y) = r(x, y) - beta (|y| - 2)/(d - 1) (THEORY §8): a long response (d+1 tokens)
    costs beta, a short one nothing.
    """
    beta = check_nonneg("length_penalty", length_penalty)
    return np.array([1.0, 0.0, 1.0 - beta, -beta])


def _grpo_outcome_weights(P, values, G, eps=1e-8):
    """f(v_k) = E[(v_k - mean)/(std + eps)] for a response of outcome k, with the other G-1 responses
    of its group i.i.d. over outcomes with probabilities P ``(4,)`` (multinomial, enumerated);
    mean and population std over the G rewards. Returns ``(4,)``."""
    from itertools import combinations_with_replacement
    from math import factorial
    K = len(values)
    comps = np.array([np.bincount(c, minlength=K) for c in combinations_with_replacement(range(K), G - 1)])
    coef = np.array([factorial(G - 1) / np.prod([factorial(int(n)) for n in c]) for c in comps])
    pmf = coef * np.prod(np.asarray(P)[None, :] ** comps, axis=1)          # (n_comp,)
    s1, s2 = comps @ values, comps @ values ** 2                            # sums over the others
    out = np.empty(K)
    for k, v in enumerate(values):
        mean = (v + s1) / G
        var = np.maximum((v ** 2 + s2) / G - mean ** 2, 0.0)
        out[k] = float(pmf @ ((v - mean) / (np.sqrt(var) + eps)))
    return out


def _outcome_update(theta, d, length_penalty, reward, temperature, algo, group_size) -> np.ndarray:
    """Expected policy-gradient direction per unit learning rate under r_beta, any beta >= 0 ``(d+2,)``.

    REINFORCE (any baseline): grad E[r_beta] = mean over the two classes of sum_k v_k grad P_k.
    GRPO: mean over classes of sum_k f(v_k) grad P_k, f from :func:`_grpo_outcome_weights`
    (E[A grad log pi(y)] = sum_y grad pi(y) E[A | r(y)] for a group of G i.i.d. responses).
    At beta = 0 it equals the binary form of :func:`expected_update` up to rounding.
    """
    tau = check_temperature(temperature)
    vals = penalised_values(length_penalty)
    P, dP = _categories(theta, d, reward, tau)
    if algo == "reinforce":
        return np.einsum("k,ckj->j", vals, dP) / 2
    if algo != "grpo":
        raise ValueError(f"algo: must be 'reinforce' or 'grpo', got {algo!r}")
    G = check_int("group_size", group_size, 2)
    return sum(_grpo_outcome_weights(P[c], vals, G) @ dP[c] for c in range(2)) / 2


def stop_update(theta, d, length_penalty, reward="cot", temperature=1.0, algo="reinforce",
                group_size=None) -> float:
    """Expected change of the stop logit after y_1 = x_1, u = b + c, per unit learning rate:
    update_b + update_c. Negative: responses lengthen.

    One form (:func:`_outcome_update`) at every beta, 0 included, so that the root search of
    :func:`length_penalty_threshold` sees one smooth function of beta."""
    g = _outcome_update(theta, d, length_penalty, reward, temperature, algo, group_size)
    return float(g[1] + g[2])


def length_penalty_threshold(theta, d, reward="cot", temperature=1.0, algo="reinforce",
                             group_size=None, beta_max=2.0) -> float:
    """The exact finite-lambda threshold beta* at ``theta``: the penalty at which the expected
    policy-gradient update of the stop logit after y_1 = x_1 changes sign (lengthening below it).

    REINFORCE, reward cot: dE[r_beta]/d beta_stop = alpha (1/2 - prod kappa_l + beta), so
    beta* = prod kappa_l - 1/2 = :func:`amplification_margin` (-> 1/2 as the chain becomes exact).
    GRPO: the root in beta of :func:`stop_update` (brentq on [0, beta_max]). Returns nan when the
    update does not change sign on [0, beta_max] (e.g. beta* < 0: no lengthening even at beta = 0).
    """
    from scipy.optimize import brentq
    beta_max = check_positive("beta_max", beta_max)
    f = lambda b: stop_update(theta, d, b, reward, temperature, algo, group_size)  # noqa: E731
    lo, hi = f(0.0), f(beta_max)
    if not (lo < 0 < hi):
        return float("nan")
    return float(brentq(f, 0.0, beta_max, xtol=1e-13))


# ----------------------------------------------------------------------------- noisy demonstrations (THEORY §8)
def noisy_ntp_stats(d, p, noise, noise_kind="final") -> KeptStats:
    """Per-head NTP targets on the noisy mixture D(p, eps_n), as the statistics :func:`refit` takes.

    Derivation (THEORY §8; reduced coordinates, assuming the subspace stays invariant, which
    ``linparity.experiments.extensions`` establishes by enumeration):

    * 'final' (s_d flipped with probability eps): only chain head d changes, target probability
      P(y_d = y_{d-1} x_d) = 1 - eps; heads 1 and 2a see D(p).
    * 'carried' (flip at a uniform step j, later steps consistent): head l's label breaks the copy
      rule only when j = l, so chain targets are 1 - eps/d for every l = 2..d; j = 1 gives a long
      sample with y_1 = -x_1, so head 1's target is (1-p)/2 + p(1 - eps/d) and the stop head's
      "go on" shares are p(1 - eps/d) after y_1 = x_1 and p eps/d after y_1 != x_1.
    """
    d = check_d(d, 3)
    p = check_prob("p_cot", p)
    eps = check_prob("noise", noise)
    from ..data import check_noise_kind
    kind = check_noise_kind(noise_kind)
    e1 = eps / d if kind == "carried" else 0.0
    chain = np.full(d - 1, 1 - eps / d) if kind == "carried" else np.r_[np.ones(d - 2), 1 - eps]
    return KeptStats(kept_fraction=1.0, q=p, r=0.5, pi1=(1 - p) / 2 + p * (1 - e1),
                     stop=np.array([p * (1 - e1), p * e1, (1 - p) / 2, (1 - p) / 2]), pi_chain=chain)


def noisy_ntp_optimum(d, p, lam, noise, noise_kind="final") -> np.ndarray:
    """Exact regularised NTP optimum ``(d+2,)`` on the noisy mixture: :func:`refit` of
    :func:`noisy_ntp_stats` (every head to its own target; noise = 0 gives ntp_optimum)."""
    return refit(noisy_ntp_stats(d, p, noise, noise_kind), d, lam)
