"""Plain per-sample Python references of the simulations: oracles for tests and benchmarks.

Each one implements the same algorithm as its compiled or vectorised counterpart sample by sample,
with ``np.dot`` on explicit feature vectors phi (THEORY §2) and no batching:

* :func:`pretrain_reference`: Algorithm 3 on fresh samples, as ``simulate.pretrain`` (the same
  samples for the same seed);
* :func:`fit_samples_reference`: Algorithm 3 on given samples with warm starts, as
  ``simulate.fit_samples``;
* :func:`sample_reference`: one response, from given uniforms, as :meth:`LinearAR.sample`;
* :func:`policy_update_reference`: sum_i w_i grad log pi_tau(y_i|x_i), as ``simulate.batched.policy_update``;
* :func:`star_round_reference`: one STaR round, variant refit, as ``simulate.star.star_round``;
* :func:`continue_sgd_reference`: the 'continue' variant's mini-batch NTP SGD on a kept set;
* :func:`pg_steps_reference`: GRPO steps, as ``simulate.pg.pg_step``;
* :func:`algorithm3_reference`: Algorithm 3 from zero on given samples (:func:`fit_samples_reference`).

The Algorithm 3 references share their argument checks and sample stream with the compiled path
(:mod:`linparity.simulate.ntp_config`), so they are compared on the same samples. The RL
references draw their random numbers per sample, so their streams differ from the vectorised
code's; they are compared on given inputs (tests) or by rate (benchmarks/bench_rl.py).
"""
from __future__ import annotations

import numpy as np
from scipy.special import expit

from ._checks import as_generator, spawn
from .data import REWARDS, check_reward, sample_inputs
from .heads import default_lam, lam_triple
from .model import LinearAR, phi
from .simulate.ntp_config import (PretrainConfig, check_init, check_samples, make_config, sample_chunks,
                                  samples_config)
from .simulate.pg import GRPO_EPS

__all__ = ["pretrain_reference", "fit_samples_reference", "sample_reference", "policy_update_reference",
           "star_round_reference", "pg_steps_reference", "algorithm3_reference", "continue_sgd_reference"]


# ============================================================================ Algorithm 3
def _pegasos_step(w: np.ndarray, Phi: list, labels: list, lam: float, k: int) -> np.ndarray:
    """One step w - (1/(lam k)) grad of  mean_i ell(u_i <w, phi_i>) + (lam/2)|w|^2."""
    g = np.zeros_like(w)
    for f, u in zip(Phi, labels):
        g += expit(-u * np.dot(w, f)) * u * f   # -d/dw ell(u <w, f>)
    grad = lam * w - g / len(Phi)
    return w - grad / (lam * k)


class _ReferenceRun:
    """Per-sample state of Algorithm 3: current iterates, sums of iterates, step counters.

    Heads start at ``init`` (zeros if None) having taken ``k0`` (heads 1, 2a) and ``kl0`` (chain
    heads) steps; :meth:`step` applies one (mini-)batch step, :meth:`models` returns the average
    iterate over the steps taken here (a head that took none keeps its initial weights).
    """

    def __init__(self, cfg: PretrainConfig, init: LinearAR | None = None, k0: int = 0, kl0: int = 0):
        d = cfg.d
        m = LinearAR.zeros(d) if init is None else init
        self.cfg, self.d = cfg, d
        self.w1 = m.w1.copy()                                        # (d,) head 1
        self.w2 = np.append(m.w2a, m.b2a)                            # (2d+2,) head 2a: phi_2, bias
        self.chain = [w.copy() for w in m.chain]                     # heads l = 2..d, (2d+l-1,)
        self.init = (self.w1.copy(), self.w2.copy(), [w.copy() for w in self.chain])
        self.s1, self.s2 = np.zeros_like(self.w1), np.zeros_like(self.w2)
        self.sc = [np.zeros_like(w) for w in self.chain]
        self.k1 = self.k2 = 0
        self.kc = [0] * (d - 1)
        self.t, self.t_long = k0, kl0
        self.lamc, self.Tc = cfg.lam_chain.tolist(), cfg.T_chain.tolist()   # Python scalars: fast

    def step(self, xb: np.ndarray, yb: np.ndarray) -> None:
        """One step on the batch xb ``(B, d)``, yb ``(B, d+1)`` (THEORY §3; B = 1: Algorithm 3)."""
        cfg, d = self.cfg, self.d
        self.t += 1
        t = self.t
        if t <= cfg.T1:
            self.w1 = _pegasos_step(self.w1, list(xb), [y[0] for y in yb], cfg.lam1, t)
            self.s1 += self.w1
            self.k1 += 1
        if t <= cfg.T2a:
            Phi = [np.append(phi(np.append(x, y[0]), d), 1.0) for x, y in zip(xb, yb)]
            labels = [1.0 if y[1] == 0 else -1.0 for y in yb]        # +1: y_2 = EOS
            self.w2 = _pegasos_step(self.w2, Phi, labels, cfg.lam2a, t)
            self.s2 += self.w2
            self.k2 += 1
        longs = [(x, y) for x, y in zip(xb, yb) if y[1] != 0]
        if not longs:
            return
        self.t_long += 1
        for l in range(2, d + 1):
            if self.t_long <= self.Tc[l - 2]:
                Phi = [phi(np.append(x, y[:l - 1]), d) for x, y in longs]
                labels = [float(y[l - 1]) for _, y in longs]
                self.chain[l - 2] = _pegasos_step(self.chain[l - 2], Phi, labels,
                                                  self.lamc[l - 2], self.t_long)
                self.sc[l - 2] += self.chain[l - 2]
                self.kc[l - 2] += 1

    def models(self) -> tuple[LinearAR, LinearAR]:
        """(average iterate, last iterate) as LinearAR."""
        def avg(s, k, w0):
            return s / k if k > 0 else w0.copy()
        i1, i2, ic = self.init
        w2 = avg(self.s2, self.k2, i2)
        mean = LinearAR(avg(self.s1, self.k1, i1), w2[:-1], w2[-1],
                        [avg(s, k, w0) for s, k, w0 in zip(self.sc, self.kc, ic)])
        return mean, LinearAR(self.w1, self.w2[:-1], self.w2[-1], self.chain)


def pretrain_reference(d, p_cot, steps, lam=None, *, lam1=None, lam2a=None,
                       lam_chain=None, T1=None, T2a=None, T_chain=None, batch_size=1,
                       rng=None, return_last=False):
    """Algorithm 3 (THEORY §3), plain per-sample Python: the oracle for ``simulate.pretrain``.

    One run, on the samples replicate 0 of ``simulate.pretrain`` sees for the same ``rng``; the
    arguments ``d`` .. ``batch_size`` are those of ``linparity.simulate.pretrain`` (see
    :mod:`linparity.simulate.ntp` for the algorithm, the mini-batch step and the random stream).

    Parameters
    ----------
    rng : None, int, SeedSequence or Generator
        Samples come from child 0 of ``spawn(rng, 1)``.
    return_last : bool
        Also return the last iterates.

    Returns
    -------
    LinearAR
        The average iterate of every head; with ``return_last`` a pair (average, last).
    """
    cfg = make_config(d, p_cot, steps, lam, lam1, lam2a, lam_chain, T1, T2a, T_chain,
                      batch_size)
    gen = spawn(rng, 1)[0]
    run = _ReferenceRun(cfg)
    B = cfg.batch_size
    for X, Y in sample_chunks(cfg, gen):
        for start in range(0, X.shape[0], B):
            run.step(X[start:start + B], Y[start:start + B])
    mean, last = run.models()
    return (mean, last) if return_last else mean


def fit_samples_reference(X, Y, lam=None, *, lam1=None, lam2a=None, lam_chain=None,
                          init=None, init_steps=0, return_last=False):
    """``simulate.fit_samples`` in plain per-sample Python (its oracle); same arguments and output."""
    Xf, Yf = check_samples(X, Y)
    k0, kl0 = check_init(init, Xf.shape[1], init_steps)
    cfg = samples_config(Xf, Yf, lam, lam1, lam2a, lam_chain, k0, kl0)
    run = _ReferenceRun(cfg, init, k0, kl0)
    for i in range(Xf.shape[0]):
        run.step(Xf[i:i + 1], Yf[i:i + 1])
    mean, last = run.models()
    return (mean, last) if return_last else mean


def algorithm3_reference(X, Y, lam) -> LinearAR:
    """Algorithm 3 from zero on the given samples, per-sample Python (oracle for ``fit_algorithm3``).

    ``lam`` a scalar or (lam1, lam2a, lam_chain); same as :func:`fit_samples_reference`.
    """
    return fit_samples_reference(X, Y, lam_triple(lam))


# ============================================================================ RL
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
    set by per-sample Pegasos steps (:func:`fit_samples_reference`);
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
