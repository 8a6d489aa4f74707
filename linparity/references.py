"""Plain per-sample Python references of the RL simulations: oracles for tests and benchmarks.

Each one implements the same algorithm as its vectorised counterpart sample by sample, with
``np.dot`` on explicit feature vectors phi (THEORY §2) and no batching:

* :func:`sample_reference`: one response, from given uniforms, as :meth:`LinearAR.sample`;
* :func:`policy_update_reference`: sum_i w_i grad log pi_tau(y_i|x_i), as ``simulate.batched.policy_update``;
* :func:`star_round_reference`: one STaR round, variant refit, as ``simulate.star.star_round``;
* :func:`continue_sgd_reference`: the 'continue' variant's mini-batch NTP SGD on a kept set;
* :func:`pg_steps_reference`: GRPO steps, as ``simulate.pg.pg_step``;
* :func:`algorithm3_reference`: Algorithm 3 from zero on given samples
  (:func:`linparity.simulate.ntp.fit_samples_reference`).

The references draw their random numbers per sample, so their streams differ from the vectorised
code's; they are compared on given inputs (tests) or by rate (benchmarks/bench_rl.py).
"""
from __future__ import annotations

import numpy as np
from scipy.special import expit

from ._checks import as_generator
from .data import REWARDS, check_reward, sample_inputs
from .heads import default_lam, lam_triple
from .model import LinearAR, phi
from .simulate.ntp import fit_samples_reference
from .simulate.pg import GRPO_EPS

__all__ = ["sample_reference", "policy_update_reference", "star_round_reference", "pg_steps_reference",
           "algorithm3_reference", "continue_sgd_reference"]


def algorithm3_reference(X, Y, lam) -> LinearAR:
    """Algorithm 3 from zero on the given samples, per-sample Python (oracle for ``fit_algorithm3``).

    ``lam`` a scalar or (lam1, lam2a, lam_chain); same as
    ``linparity.simulate.ntp.fit_samples_reference(X, Y, lam)``.
    """
    return fit_samples_reference(X, Y, lam_triple(lam))


def sample_reference(model: LinearAR, x, u, temperature=1.0):
    """One response by plain per-sample Python, from the uniforms ``u`` (an iterator of floats)."""
    d, tau = model.d, temperature
    y = [1 if next(u) < expit(np.dot(model.w1, x) / tau) else -1]
    if next(u) < expit((np.dot(model.w2a, phi(np.append(x, y[0]), d)) + model.b2a) / tau):
        return np.array(y + [0] * d, dtype=np.int8)
    for l in range(2, d + 1):
        y.append(1 if next(u) < expit(np.dot(model.chain[l - 2], phi(np.append(x, y), d)) / tau) else -1)
    return np.array(y + [0], dtype=np.int8)


def policy_update_reference(model: LinearAR, X, Y, weights, temperature=1.0) -> np.ndarray:
    """sum_i weights_i grad log pi_tau(y_i|x_i), per-sample Python; vector in LinearAR.to_vector order."""
    d, tau = model.d, temperature
    g1, g2, gb = np.zeros(d), np.zeros(2 * d + 1), 0.0
    gc = [np.zeros_like(w) for w in model.chain]
    for x, y, w in zip(np.asarray(X, dtype=np.float64), np.asarray(Y), weights):
        g1 += w * y[0] * expit(-y[0] * np.dot(model.w1, x) / tau) / tau * x
        f2 = phi(np.append(x, y[0]), d)
        t = 1.0 if y[1] == 0 else -1.0
        c = w * t * expit(-t * (np.dot(model.w2a, f2) + model.b2a) / tau) / tau
        g2 += c * f2
        gb += c
        if y[1] != 0:
            for l in range(2, d + 1):
                f = phi(np.append(x, y[:l - 1]), d)
                gc[l - 2] += w * y[l - 1] * expit(-y[l - 1] * np.dot(model.chain[l - 2], f) / tau) / tau * f
    return np.concatenate([g1, g2, [gb], *gc])


def star_round_reference(model: LinearAR, samples, reward="cot", temperature=1.0, lam=None, rng=None):
    """One STaR round with the 'refit' variant in plain per-sample Python (benchmark oracle).

    Samples, rewards and keeps one response per input, then runs Algorithm 3 from zero on the kept
    set by per-sample Pegasos steps (:func:`linparity.simulate.ntp.fit_samples_reference`);
    ``lam`` None: heads.default_lam(d).
    """
    g = as_generator(rng)
    d = model.d
    rfn = REWARDS[check_reward(reward)]
    kept = []
    for _ in range(samples):
        x = sample_inputs(1, d, g)[0]
        y = sample_reference(model, x.astype(np.float64), iter(g.random(d + 1)), temperature)
        if rfn(x[None], y[None])[0] > 0:
            kept.append((x, y))
    Xk = np.array([k[0] for k in kept], dtype=np.int8).reshape(-1, d)
    Yk = np.array([k[1] for k in kept], dtype=np.int8).reshape(-1, d + 1)
    return fit_samples_reference(Xk, Yk, lam_triple(default_lam(d) if lam is None else lam)), len(kept)


def continue_sgd_reference(model: LinearAR, X, Y, batches, lr, lam) -> LinearAR:
    """Mini-batch NTP SGD of the STaR 'continue' variant, per-sample Python (oracle for
    ``simulate.star.star_round`` with variant 'continue').

    ``batches``: lists of row indices of the kept set X ``(K, d)``, Y ``(K, d+1)``, in visiting
    order. Step on a batch: w <- w + lr (mean over the batch of grad log pi(y|x) - lam w), the mean
    over all its samples for heads 1 and 2a (and the stop bias), over its long samples for the chain
    heads; a head with no sample in the batch does not move.
    """
    d = model.d
    l1, l2, lc = lam_triple(lam)
    n12 = 3 * d + 2                                                # w1 (d), w2a (2d+1), b2a: vector order
    theta = model.to_vector()
    X, Y = np.asarray(X), np.asarray(Y)
    for idx in batches:
        m = LinearAR.from_vector(d, theta)
        Xb, Yb = X[idx], Y[idx]
        n_long = int((Yb[:, 1] != 0).sum())
        g12 = policy_update_reference(m, Xb, Yb, np.full(len(idx), 1.0 / len(idx)))[:n12]
        gc = (policy_update_reference(m, Xb, Yb, np.full(len(idx), 1.0 / n_long))[n12:] if n_long
              else np.zeros(theta.size - n12))
        reg = np.concatenate([np.full(d, l1), np.full(2 * d + 2, l2),
                              np.full(theta.size - n12, lc if n_long else 0.0)])
        theta = theta + lr * (np.concatenate([g12, gc]) - reg * theta)
    return LinearAR.from_vector(d, theta)


def pg_steps_reference(model: LinearAR, steps, lr, batch_size, group_size, reward="cot",
                       temperature=1.0, rng=None) -> LinearAR:
    """GRPO steps in plain per-sample Python (benchmark oracle): same update rule as :func:`pg_step`."""
    g = as_generator(rng)
    d = model.d
    rfn = REWARDS[check_reward(reward)]
    theta = model.to_vector()
    for _ in range(steps):
        m = LinearAR.from_vector(d, theta)
        X, Y, A = [], [], []
        for _ in range(batch_size):
            x = sample_inputs(1, d, g)[0]
            ys = [sample_reference(m, x.astype(np.float64), iter(g.random(d + 1)), temperature)
                  for _ in range(group_size)]
            r = np.array([rfn(x[None], y[None])[0] for y in ys])
            X += [x] * group_size
            Y += ys
            A += list((r - r.mean()) / (r.std() + GRPO_EPS))
        theta = theta + lr * policy_update_reference(m, X, Y, np.array(A) / (batch_size * group_size),
                                                     temperature)
    return LinearAR.from_vector(d, theta)
