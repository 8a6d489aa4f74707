"""RL post-training of the linear model by simulation: STaR, REINFORCE and GRPO (THEORY §6).

Everything runs on the **full** weights of :class:`linparity.model.LinearAR`, vectorised over the
samples of a batch and over R independent replicates. The closed form these simulations are
checked against lives in :mod:`linparity.rl_closed_form`.

Batched weights
---------------
:class:`BatchedAR` holds R models in the packed layout of ``LinearAR._packed``: head 1 ``w1 (R, d)``,
stop head ``w2 (R, 2d+1)`` (features x, y_1, y_1 x) and bias ``b2 (R,)``, chain heads
``Wx (R, d-1, d)`` (weights on x), ``Wy (R, d-1, d-1)`` (row l-2: weights on y_1..y_{l-1},
lower-triangular) and ``Wp (R, d-1, d)`` (weights on y_{l-1} x).

Score function
--------------
For a decision with P(t) = sigma(t u / tau) (t = +-1), d log P / d u = t sigma(-t u/tau)/tau. Per
sample we keep these derivatives for head 1, the stop head (t = +1: EOS) and every chain head on
long responses; :func:`_accumulate` turns per-sample coefficients into a weight update with
batched matrix products (sum_i c_i phi_i for each head).

Random streams (numpy SPEC 7)
-----------------------------
``rng`` is split with :func:`linparity._checks.spawn` into children (start, evaluation, run); the
run child is spawned again into one Generator per replicate. Replicate r draws its inputs and its
sampling uniforms from its own Generator, in the order of :meth:`LinearAR.sample` (one uniform per
row for y_1, one per row for the stop decision, one per continuing row for each chain bit), so a
replicate's trajectory does not depend on R, and with R = 1 :func:`sample_responses` reproduces
``LinearAR.sample`` draw for draw.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.special import expit, log_expit

from . import closed_form as cf
from . import rl_closed_form as rc
from ._checks import (as_generator, check_d, check_int, check_positive, check_prob,
                      check_temperature, spawn)
from .data import REWARDS, all_inputs
from .model import LinearAR

__all__ = ["BatchedAR", "sample_responses", "greedy_responses", "log_prob", "score",
           "policy_update", "evaluate_batch", "sample_kept", "fit_algorithm3", "StarConfig", "StarResult",
           "star_round", "run_star", "PGConfig", "PGResult", "pg_step", "run_pg",
           "initial_models", "star_command", "pg_command", "sample_reference",
           "policy_update_reference", "star_round_reference", "pg_steps_reference", "algorithm3_reference",
           "GRPO_EPS"]

#: epsilon of GRPO's standardised advantage (r - mean)/(std + eps), as in rl_closed_form.grpo_weight
GRPO_EPS = 1e-8

#: evaluation averages over all 2^d inputs up to this d, else over ``n_eval`` uniform inputs
EXACT_EVAL_MAX_D = 10


def _check_reward(reward):
    if reward not in REWARDS:
        raise ValueError(f"reward: must be one of {tuple(REWARDS)}, got {reward!r}")
    return reward


# ============================================================================ batched weights
@dataclass
class BatchedAR:
    """R linear autoregressive models in packed layout (see the module docstring)."""
    w1: np.ndarray   # (R, d) head 1
    w2: np.ndarray   # (R, 2d+1) stop head on (x, y_1, y_1 x)
    b2: np.ndarray   # (R,) stop-head bias
    Wx: np.ndarray   # (R, d-1, d) chain head l (row l-2) on x
    Wy: np.ndarray   # (R, d-1, d-1) chain head l on y_1..y_{l-1} (lower-triangular)
    Wp: np.ndarray   # (R, d-1, d) chain head l on y_{l-1} x

    @property
    def R(self) -> int:
        return self.w1.shape[0]

    @property
    def d(self) -> int:
        return self.w1.shape[1]

    @classmethod
    def stack(cls, models) -> "BatchedAR":
        """Stack a list of LinearAR of the same d."""
        models = list(models)
        if not models:
            raise ValueError("models: need at least one model")
        packed = [m._packed() for m in models]
        return cls(np.array([m.w1 for m in models]), np.array([m.w2a for m in models]),
                   np.array([m.b2a for m in models], dtype=np.float64),
                   np.array([p[0] for p in packed]), np.array([p[1] for p in packed]),
                   np.array([p[2] for p in packed]))

    def models(self) -> list[LinearAR]:
        """The R models as LinearAR (chain head l: [x weights, y_1..y_{l-1} weights, y_{l-1} x weights])."""
        d = self.d
        return [LinearAR(self.w1[r], self.w2[r], self.b2[r],
                         [np.concatenate([self.Wx[r, l - 2], self.Wy[r, l - 2, :l - 1], self.Wp[r, l - 2]])
                          for l in range(2, d + 1)]) for r in range(self.R)]

    def copy(self) -> "BatchedAR":
        return BatchedAR(*(a.copy() for a in self._arrays()))

    def _arrays(self):
        return (self.w1, self.w2, self.b2, self.Wx, self.Wy, self.Wp)

    def add_(self, delta: "BatchedAR", scale=1.0) -> "BatchedAR":
        """In place self += scale * delta; ``scale`` a scalar or ``(R,)`` per replicate."""
        s = np.asarray(scale, dtype=np.float64)
        for a, b in zip(self._arrays(), delta._arrays()):
            a += (s.reshape((-1,) + (1,) * (a.ndim - 1)) if s.ndim else s) * b
        return self

    def reduced(self) -> tuple[np.ndarray, np.ndarray]:
        """Reduced coordinates ``(R, d+2)`` (a, b, c, c_2..c_d) and off-subspace norms ``(R,)``."""
        d = self.d
        h = np.arange(d - 1)
        theta = np.column_stack([self.w1[:, 0], self.b2, self.w2[:, d + 1], self.Wp[:, h, h + 1]])
        sq = ((self.w1 ** 2).sum(1) - self.w1[:, 0] ** 2 + (self.w2 ** 2).sum(1) - self.w2[:, d + 1] ** 2
              + (self.Wx ** 2).sum((1, 2)) + (self.Wy ** 2).sum((1, 2)) + (self.Wp ** 2).sum((1, 2))
              - (self.Wp[:, h, h + 1] ** 2).sum(1))
        return theta, np.sqrt(np.maximum(sq, 0.0))

    @classmethod
    def from_reduced(cls, theta, d: int, R: int = 1) -> "BatchedAR":
        """R copies of the reduced-subspace model theta ``(d+2,)`` (or one row per replicate ``(R, d+2)``)."""
        theta = np.broadcast_to(np.asarray(theta, dtype=np.float64), (R, d + 2))
        return cls.stack([LinearAR.from_reduced(d, t[0], t[1], t[2], t[3:]) for t in theta])


# ============================================================================ logits and sampling
def _as_batch(W: BatchedAR, X) -> np.ndarray:
    """Inputs as float ``(R or 1, n, d)``; a 2-d X is shared by all replicates."""
    X = np.asarray(X)
    if X.ndim == 2:
        X = X[None]
    if X.ndim != 3 or X.shape[2] != W.d or X.shape[0] not in (1, W.R):
        raise ValueError(f"X: must have shape (n, {W.d}) or ({W.R}, n, {W.d}), got {X.shape}")
    return X.astype(np.float64)


def _logits(W: BatchedAR, Xf, Yf):
    """Teacher-forced logits: u1 ``(R, n)``, u2 ``(R, n)``, uc ``(R, n, d-1)`` (THEORY §2)."""
    d = W.d
    y1 = Yf[..., 0]
    u1 = np.einsum("rnd,rd->rn", np.broadcast_to(Xf, (W.R,) + Xf.shape[1:]), W.w1)
    u2 = (np.einsum("rnd,rd->rn", np.broadcast_to(Xf, (W.R,) + Xf.shape[1:]), W.w2[:, :d])
          + y1 * W.w2[:, d, None] + y1 * np.einsum("rnd,rd->rn", np.broadcast_to(Xf, (W.R,) + Xf.shape[1:]),
                                                   W.w2[:, d + 1:]) + W.b2[:, None])
    prev = Yf[..., :d - 1]                                           # (R, n, d-1) y_{l-1}
    uc = (Xf @ W.Wx.transpose(0, 2, 1) + prev @ W.Wy.transpose(0, 2, 1)
          + prev * (Xf @ W.Wp.transpose(0, 2, 1)))
    return u1, u2, uc


def _decode(W: BatchedAR, Xf, draw):
    """Autoregressive decoding of every replicate; ``draw(u (R, n), go (R, n) or None, kind)``."""
    R, d = W.R, W.d
    n = Xf.shape[1]
    Xb = np.broadcast_to(Xf, (R, n, d))
    Y = np.zeros((R, n, d + 1), dtype=np.int8)
    y1 = draw(np.einsum("rnd,rd->rn", Xb, W.w1), None, "bit").astype(np.float64)
    Y[..., 0] = y1
    u2 = (np.einsum("rnd,rd->rn", Xb, W.w2[:, :d]) + y1 * W.w2[:, d, None]
          + y1 * np.einsum("rnd,rd->rn", Xb, W.w2[:, d + 1:]) + W.b2[:, None])
    go = ~draw(u2, None, "stop")                                     # (R, n)
    base = Xb @ W.Wx.transpose(0, 2, 1)                              # (R, n, d-1)
    pair = Xb @ W.Wp.transpose(0, 2, 1)                              # (R, n, d-1)
    Yf = np.zeros((R, n, d))
    Yf[..., 0] = y1
    for l in range(2, d + 1):
        prev = Yf[..., l - 2]
        u = base[..., l - 2] + (Yf[..., :l - 1] @ W.Wy[:, l - 2, :l - 1, None])[..., 0] + prev * pair[..., l - 2]
        Yf[..., l - 1] = draw(u, go, "bit")
    Y[..., 1:d] = np.where(go[..., None], Yf[..., 1:], 0).astype(np.int8)
    return Y


def sample_responses(W: BatchedAR, X, gens, temperature: float = 1.0) -> np.ndarray:
    """One response per input and replicate at temperature tau, int8 ``(R, n, d+1)``.

    Parameters
    ----------
    W : BatchedAR with R replicates.
    X : int8 ``(R, n, d)`` (or ``(n, d)`` shared).
    gens : list of R Generators; replicate r draws from ``gens[r]`` in LinearAR.sample's order.
    """
    tau = check_temperature(temperature)
    if len(gens) != W.R:
        raise ValueError(f"gens: need one Generator per replicate ({W.R}), got {len(gens)}")
    Xf = _as_batch(W, X)
    n = Xf.shape[1]

    def draw(u, go, kind):
        U = np.ones(u.shape)
        for r, g in enumerate(gens):
            if go is None:
                U[r] = g.random(n)
            else:
                U[r, go[r]] = g.random(int(go[r].sum()))
        hit = U < expit(u / tau)
        return hit if kind == "stop" else np.where(hit, 1.0, -1.0)
    return _decode(W, Xf, draw)


def greedy_responses(W: BatchedAR, X) -> np.ndarray:
    """Greedy responses ``(R, n, d+1)`` with the tie rules of LinearAR.greedy (bit +1, stop goes on)."""
    def draw(u, go, kind):
        return u > 0 if kind == "stop" else np.where(u >= 0, 1.0, -1.0)
    return _decode(W, _as_batch(W, X), draw)


def score(W: BatchedAR, X, Y, temperature: float = 1.0):
    """Per-sample d log pi_tau(y|x) / d logit of every head.

    Returns g1 ``(R, n)``, g2 ``(R, n)`` (stop head, t = +1 for EOS), gc ``(R, n, d-1)`` (0 on short
    rows), each t sigma(-t u / tau) / tau, and the log-probability ``(R, n)``.
    """
    tau = check_temperature(temperature)
    Xf = _as_batch(W, X)
    Y = np.asarray(Y)
    Yf = Y.astype(np.float64)
    u1, u2, uc = _logits(W, Xf, Yf)
    d = W.d
    short = Y[..., 1] == 0
    t2 = np.where(short, 1.0, -1.0)
    yc = np.where(short[..., None], 1.0, Yf[..., 1:d])               # (R, n, d-1) labels on long rows
    g1 = Yf[..., 0] * expit(-Yf[..., 0] * u1 / tau) / tau
    g2 = t2 * expit(-t2 * u2 / tau) / tau
    gc = np.where(short[..., None], 0.0, yc * expit(-yc * uc / tau) / tau)
    lp = (log_expit(Yf[..., 0] * u1 / tau) + log_expit(t2 * u2 / tau)
          + np.where(short, 0.0, log_expit(yc * uc / tau).sum(-1)))
    return g1, g2, gc, lp


def log_prob(W: BatchedAR, X, Y, temperature: float = 1.0) -> np.ndarray:
    """log pi_tau(Y|X) for every replicate, ``(R, n)`` (responses must be emittable)."""
    return score(W, X, Y, temperature)[3]


def _accumulate(W: BatchedAR, X, Y, c1, c2, cc) -> BatchedAR:
    """sum_i of per-sample coefficients times each head's features, as a BatchedAR.

    c1, c2 ``(R, n)``, cc ``(R, n, d-1)``: head 1 gets sum c1 x, the stop head sum c2 (x, y_1, y_1 x, 1),
    chain head l sum cc_l (x, y_1..y_{l-1}, y_{l-1} x).
    """
    Xf = np.broadcast_to(_as_batch(W, X), (W.R,) + np.shape(c1)[1:] + (W.d,))
    Yf = np.asarray(Y, dtype=np.float64)
    d = W.d
    y1 = Yf[..., 0]
    prev = Yf[..., :d - 1]
    ccT = np.swapaxes(cc, 1, 2)                                      # (R, d-1, n)
    w2 = np.concatenate([np.einsum("rn,rnd->rd", c2, Xf), (c2 * y1).sum(1)[:, None],
                         np.einsum("rn,rnd->rd", c2 * y1, Xf)], axis=1)
    return BatchedAR(np.einsum("rn,rnd->rd", c1, Xf), w2, c2.sum(1), ccT @ Xf,
                     (ccT @ prev) * np.tril(np.ones((d - 1, d - 1))),
                     np.swapaxes(cc * prev, 1, 2) @ Xf)


def policy_update(W: BatchedAR, X, Y, weights, temperature: float = 1.0) -> BatchedAR:
    """sum_i weights_i grad_w log pi_tau(y_i|x_i) for every replicate (weights ``(R, n)``)."""
    g1, g2, gc, _ = score(W, X, Y, temperature)
    w = np.asarray(weights, dtype=np.float64)
    return _accumulate(W, X, Y, w * g1, w * g2, w[..., None] * gc)


# ============================================================================ evaluation
def _eval_inputs(d, n_eval, rng):
    if d <= EXACT_EVAL_MAX_D:
        return all_inputs(d)
    n_eval = check_int("n_eval", n_eval, 2)
    return (1 - 2 * as_generator(rng).integers(0, 2, size=(n_eval, d), dtype=np.int8)).astype(np.int8)


def evaluate_batch(W: BatchedAR, X, reward="cot", temperature: float = 1.0, gens=None) -> dict:
    """Per-replicate metrics ``(R,)`` averaged over the inputs X ``(n, d)``.

    pi_long: mean_x pi(L(x)|x) at tau = 1 (exact per x); mean_length: 2 P(short) + (d+1) P(long) at
    tau = 1 (exact per x); greedy_accuracy: fraction of x whose greedy response ends in chi(x);
    expected_reward: E[r] at the sampling temperature, exact per x for 'cot' (pi_tau(L) + pi_tau(S)),
    for 'e2e' a Monte Carlo estimate with one response per x drawn from ``gens`` (needs gens).
    """
    _check_reward(reward)
    tau = check_temperature(temperature)
    X = np.asarray(X, dtype=np.int8)
    n, d = X.shape
    chi = np.prod(X, axis=1, dtype=np.int8)
    L = np.zeros((n, d + 1), dtype=np.int8)
    L[:, :d] = np.cumprod(X, axis=1, dtype=np.int8)
    S = np.zeros((n, d + 1), dtype=np.int8)
    S[:, 0] = chi
    Xf = _as_batch(W, X)
    u1, u2p, _ = _logits(W, Xf, np.broadcast_to(np.where(np.arange(d + 1) == 0, 1.0, 0.0), (1, n, d + 1)))
    _, u2m, _ = _logits(W, Xf, np.broadcast_to(np.where(np.arange(d + 1) == 0, -1.0, 0.0), (1, n, d + 1)))
    p_short = expit(u1) * expit(u2p) + expit(-u1) * expit(u2m)       # (R, n) at tau = 1
    G = greedy_responses(W, X)
    nb = (G != 0).sum(-1)
    last = np.take_along_axis(G, (nb - 1)[..., None], axis=-1)[..., 0]
    out = {"pi_long": np.exp(log_prob(W, X[None], L[None], 1.0)).mean(1),
           "greedy_accuracy": (last == chi).mean(1),
           "mean_length": (2 * p_short + (d + 1) * (1 - p_short)).mean(1)}
    if reward == "cot":
        out["expected_reward"] = (np.exp(log_prob(W, X[None], L[None], tau))
                                  + np.exp(log_prob(W, X[None], S[None], tau))).mean(1)
    else:
        if gens is None:
            raise ValueError("gens: the 'e2e' expected reward is estimated by sampling and needs Generators")
        Y = sample_responses(W, X, gens, tau)
        out["expected_reward"] = _rewards(reward, np.broadcast_to(X, Y.shape[:2] + (d,)), Y).mean(1)
    return out


def _rewards(reward, X, Y) -> np.ndarray:
    """Reward of every (replicate, sample), ``(R, n)``."""
    R, n, d = X.shape
    return REWARDS[reward](X.reshape(R * n, d), Y.reshape(R * n, d + 1)).reshape(R, n)


# ============================================================================ Algorithm 3 on given samples
def fit_algorithm3(X, Y, lam) -> LinearAR:
    """Algorithm 3 (THEORY §3, batch size 1) run from zero on the given samples, in their order.

    Thin adapter over the compiled kernel of :mod:`linparity.pretrain` (``_sgd_chunk``), which only
    exposes Algorithm 3 on freshly drawn D(p) samples. Every head steps on every sample it sees
    (chain heads on the long ones), with step 1/(lambda k) and average-iterate output; an empty set
    returns the zero model.
    """
    from . import pretrain as pt
    X = np.asarray(X)
    Y = np.asarray(Y)
    d = check_d(X.shape[1])
    K = X.shape[0]
    if K == 0:
        return LinearAR.zeros(d)
    lams = cf.split_lam(lam)
    cfg = pt._make_config(d, 0.5, K, tuple(lams), None, None, None, None, None, None, 1)
    G1, S1 = np.zeros(d), np.zeros(d)                                # (d,)
    G2, S2 = np.zeros(2 * d + 2), np.zeros(2 * d + 2)                # (2d+2,)
    Gx, Gp, Sx, Sp = (np.zeros((d - 1, d)) for _ in range(4))        # (d-1, d)
    Gy, Sy = np.zeros((d - 1, d - 1)), np.zeros((d - 1, d - 1))      # (d-1, d-1)
    t, tl = pt._sgd_chunk(X.astype(np.float64), Y.astype(np.float64), 1, 0, 0, cfg.T1, cfg.T2a,
                          cfg.T_chain, cfg.lam1, cfg.lam2a, cfg.lam_chain, G1, S1, G2, S2,
                          Gx, Gy, Gp, Sx, Sy, Sp, np.zeros(1), np.zeros(1, dtype=np.int64))
    return pt._unpack(cfg, S1, S2, Sx, Sy, Sp, t, t, np.minimum(cfg.T_chain, tl))


# ============================================================================ STaR
@dataclass(frozen=True)
class StarConfig:
    """Settings of Algorithm 1 (STaR)."""
    rounds: int                  # number of rounds n >= 0
    samples: int                 # fresh inputs N per round >= 1
    reward: str = "cot"          # 'cot' or 'e2e'
    temperature: float = 1.0     # sampling temperature tau > 0
    variant: str = "refit"       # 'refit': Algorithm 3 from 0 on the kept set; 'continue': NTP SGD from current weights
    lam: tuple = (0.01, 0.01, 0.01)  # (lam1, lam2a, lam_chain) of the refit / continue losses
    epochs: int = 1              # 'continue': epochs E over the kept set
    lr: float = 1.0              # 'continue': constant SGD step size
    batch_size: int = 64         # 'continue': kept samples per SGD step
    n_eval: int = 2048           # evaluation inputs when d > EXACT_EVAL_MAX_D (all 2^d otherwise)

    def __post_init__(self):
        check_int("rounds", self.rounds, 0)
        check_int("samples", self.samples, 1)
        _check_reward(self.reward)
        check_temperature(self.temperature)
        if self.variant not in ("refit", "continue"):
            raise ValueError(f"variant: must be 'refit' or 'continue', got {self.variant!r}")
        lams = cf.split_lam(self.lam)
        if min(lams) <= 0:
            raise ValueError(f"lam: every lambda must be > 0 for simulation, got {self.lam!r}")
        object.__setattr__(self, "lam", lams)
        check_int("epochs", self.epochs, 1)
        check_positive("lr", self.lr)
        check_int("batch_size", self.batch_size, 1)
        check_int("n_eval", self.n_eval, 2)


@dataclass
class StarResult:
    """Per-round measurements of R STaR replicates; round 0 is the starting model."""
    config: StarConfig
    pi_long_: np.ndarray          # (R, rounds+1) mean_x pi(L(x)|x), tau = 1
    greedy_accuracy_: np.ndarray  # (R, rounds+1)
    mean_length_: np.ndarray      # (R, rounds+1) tau = 1
    expected_reward_: np.ndarray  # (R, rounds+1) at the sampling temperature
    kept_fraction_: np.ndarray    # (R, rounds) fraction of the N responses kept in round n+1
    kept_q_: np.ndarray           # (R, rounds) long share of the kept set
    kept_r_: np.ndarray           # (R, rounds) share of chi(x) = x_1 among kept short answers
    theta_: np.ndarray            # (R, rounds+1, d+2) reduced coordinates of each round's model
    off_subspace_norm_: np.ndarray  # (R, rounds+1)
    models_: list = field(repr=False, default=None)  # R final LinearAR


def _continue_sgd(W: BatchedAR, X, Y, kept, cfg: StarConfig, gens):
    """E epochs of mini-batch NTP SGD on each replicate's kept set, from the current weights.

    Step: w <- w - lr (grad of the mean per-head logistic loss over the step's kept samples
    + lam w); heads 1 and 2a average over the kept samples of the step, chain heads over its kept
    long samples (a head with no sample in the step does not move). Each epoch visits the kept
    samples of replicate r in the order of a fresh permutation from ``gens[r]``; replicates with
    fewer kept samples sit out the last steps.
    """
    R, N = kept.shape
    lam1, lam2a, lamc = cfg.lam
    long_ = Y[..., 1] != 0
    n_kept = kept.sum(1)
    for _ in range(cfg.epochs):
        order = np.empty((R, N), dtype=np.int64)
        for r, g in enumerate(gens):
            idx = np.flatnonzero(kept[r])
            order[r, :idx.size] = idx[g.permutation(idx.size)]
            order[r, idx.size:] = np.flatnonzero(~kept[r])
        for s in range(0, int(n_kept.max()), cfg.batch_size):
            sl = order[:, s:s + cfg.batch_size]                       # (R, B)
            Xb = np.take_along_axis(X, sl[..., None], 1)
            Yb = np.take_along_axis(Y, sl[..., None], 1)
            m = (np.arange(s, s + sl.shape[1])[None] < n_kept[:, None]).astype(np.float64)  # (R, B)
            ml = m * np.take_along_axis(long_, sl, 1)
            nb, nl = m.sum(1), ml.sum(1)
            g1, g2, gc, _ = score(W, Xb, Yb, 1.0)
            inv_b = np.divide(1.0, nb, out=np.zeros(R), where=nb > 0)[:, None]
            inv_l = np.divide(1.0, nl, out=np.zeros(R), where=nl > 0)[:, None, None]
            step = _accumulate(W, Xb, Yb, m * g1 * inv_b, m * g2 * inv_b, ml[..., None] * gc * inv_l)
            on, onl = (nb > 0).astype(float), (nl > 0).astype(float)
            step.w1 -= lam1 * W.w1 * on[:, None]
            step.w2 -= lam2a * W.w2 * on[:, None]
            step.b2 -= lam2a * W.b2 * on
            for name in ("Wx", "Wy", "Wp"):
                getattr(step, name)[...] -= lamc * getattr(W, name) * onl[:, None, None]
            W.add_(step, cfg.lr)
    return W


def sample_kept(W: BatchedAR, samples: int, reward: str, temperature: float, gens):
    """Draw N fresh inputs per replicate, sample one response each and score it (one STaR round's data).

    Returns X ``(R, N, d)``, Y ``(R, N, d+1)``, kept ``(R, N)`` bool (reward 1) and the measured
    kept-set statistics (each ``(R,)``): kept_fraction, q (long share of the kept set) and r (share
    of chi(x) = x_1 among kept short answers), the sample versions of rl_closed_form.kept_stats.
    """
    R, d, N = W.R, W.d, samples
    X = np.stack([(1 - 2 * g.integers(0, 2, size=(N, d), dtype=np.int8)).astype(np.int8) for g in gens])
    Y = sample_responses(W, X, gens, temperature)                    # (R, N, d+1)
    kept = _rewards(reward, X, Y) > 0                                # (R, N)
    long_ = Y[..., 1] != 0
    short_kept = kept & ~long_
    eq = np.prod(X, axis=2, dtype=np.int8) == X[..., 0]
    nk = kept.sum(1)
    stats = {"kept_fraction": nk / N,
             "q": np.divide((kept & long_).sum(1), nk, out=np.full(R, np.nan), where=nk > 0),
             "r": np.divide((short_kept & eq).sum(1), short_kept.sum(1), out=np.full(R, np.nan),
                            where=short_kept.sum(1) > 0)}
    return X, Y, kept, stats


def star_round(W: BatchedAR, cfg: StarConfig, gens) -> tuple[BatchedAR, dict]:
    """One round of Algorithm 1 for every replicate: sample N inputs and responses, keep r = 1, update.

    Returns the new weights and the measured kept-set statistics of :func:`sample_kept`.
    """
    X, Y, kept, stats = sample_kept(W, cfg.samples, cfg.reward, cfg.temperature, gens)
    if cfg.variant == "refit":
        W = BatchedAR.stack([fit_algorithm3(X[r, kept[r]], Y[r, kept[r]], cfg.lam) for r in range(W.R)])
    else:
        W = _continue_sgd(W.copy(), X, Y, kept, cfg, gens)
    return W, stats


def run_star(W0: BatchedAR, cfg: StarConfig, rng=None, *, X_eval=None) -> StarResult:
    """Algorithm 1 for ``cfg.rounds`` rounds from the R models W0 (replicate r uses child r of the run stream).

    rng: None/int/SeedSequence/Generator, split into (evaluation, run) children.
    """
    R, d = W0.R, W0.d
    g_eval, g_run = spawn(rng, 2)
    gens = spawn(g_run, R)
    eval_gens = spawn(g_eval, R + 1)
    X_eval = _eval_inputs(d, cfg.n_eval, eval_gens[R]) if X_eval is None else X_eval
    W = W0.copy()
    rec = {k: [] for k in ("pi_long", "greedy_accuracy", "mean_length", "expected_reward")}
    kept = {k: [] for k in ("kept_fraction", "q", "r")}
    thetas, offs = [], []

    def record(W):
        m = evaluate_batch(W, X_eval, cfg.reward, cfg.temperature, eval_gens[:R])
        for k in rec:
            rec[k].append(m[k])
        th, off = W.reduced()
        thetas.append(th)
        offs.append(off)
    record(W)
    for _ in range(cfg.rounds):
        W, s = star_round(W, cfg, gens)
        for k in kept:
            kept[k].append(s[k])
        record(W)
    col = lambda v: np.array(v).T.reshape(R, -1)  # noqa: E731  (rounds, R) -> (R, rounds)
    return StarResult(cfg, col(rec["pi_long"]), col(rec["greedy_accuracy"]), col(rec["mean_length"]),
                      col(rec["expected_reward"]), col(kept["kept_fraction"]), col(kept["q"]),
                      col(kept["r"]), np.array(thetas).transpose(1, 0, 2), col(offs), W.models())


# ============================================================================ policy gradient
@dataclass(frozen=True)
class PGConfig:
    """Settings of REINFORCE and GRPO."""
    algo: str                    # 'reinforce' or 'grpo'
    steps: int                   # number of updates >= 0
    lr: float = 1.0              # learning rate > 0 (ascent on E[r])
    batch_size: int = 256        # inputs per step B >= 1
    group_size: int = 8          # GRPO responses per input G >= 2
    reward: str = "cot"          # 'cot' or 'e2e'
    temperature: float = 1.0     # sampling temperature tau > 0
    baseline: bool = True        # REINFORCE: subtract a running mean of past batch rewards
    baseline_decay: float = 0.9  # b_{t+1} = decay b_t + (1 - decay) mean(r_t); b_1 = 0
    eval_every: int = 1          # record metrics every this many steps (0: only start and end)
    n_eval: int = 2048           # evaluation inputs when d > EXACT_EVAL_MAX_D

    def __post_init__(self):
        if self.algo not in ("reinforce", "grpo"):
            raise ValueError(f"algo: must be 'reinforce' or 'grpo', got {self.algo!r}")
        check_int("steps", self.steps, 0)
        check_positive("lr", self.lr)
        check_int("batch_size", self.batch_size, 1)
        check_int("group_size", self.group_size, 2)
        _check_reward(self.reward)
        check_temperature(self.temperature)
        if not isinstance(self.baseline, (bool, np.bool_)):
            raise ValueError(f"baseline: must be True or False, got {self.baseline!r}")
        check_prob("baseline_decay", self.baseline_decay)
        check_int("eval_every", self.eval_every, 0)
        check_int("n_eval", self.n_eval, 2)


def pg_step(W: BatchedAR, cfg: PGConfig, gens, baseline=None):
    """One REINFORCE or GRPO update of every replicate, in place.

    REINFORCE: w += lr (1/B) sum_i (r_i - b) grad log pi_tau(y_i|x_i), b the running-mean baseline
    (``baseline`` ``(R,)``, 0 without it). GRPO: each of B inputs gets G responses, advantage
    A_i = (r_i - mean_g)/(std_g + eps) (population std, eps = GRPO_EPS), w += lr (1/(B G)) sum A_i grad log pi.

    Returns the batch mean reward ``(R,)``.
    """
    R, d, B = W.R, W.d, cfg.batch_size
    X = np.stack([(1 - 2 * g.integers(0, 2, size=(B, d), dtype=np.int8)).astype(np.int8) for g in gens])
    if cfg.algo == "grpo":
        X = np.repeat(X, cfg.group_size, axis=1)                     # (R, B G, d), input-major
    Y = sample_responses(W, X, gens, cfg.temperature)
    r = _rewards(cfg.reward, X, Y)                                   # (R, n)
    if cfg.algo == "grpo":
        rg = r.reshape(R, B, cfg.group_size)
        A = ((rg - rg.mean(-1, keepdims=True)) / (rg.std(-1, keepdims=True) + GRPO_EPS)).reshape(R, -1)
        w = A / (B * cfg.group_size)
    else:
        b = np.zeros(R) if baseline is None else np.asarray(baseline, dtype=np.float64)
        w = (r - b[:, None]) / B
    W.add_(policy_update(W, X, Y, w, cfg.temperature), cfg.lr)
    return r.mean(1)


@dataclass
class PGResult:
    """Metrics of R policy-gradient replicates at the recorded steps."""
    config: PGConfig
    steps_: np.ndarray            # (n_rec,) step index of each record (0 = start)
    expected_reward_: np.ndarray  # (R, n_rec) at the sampling temperature
    pi_long_: np.ndarray          # (R, n_rec) tau = 1
    greedy_accuracy_: np.ndarray  # (R, n_rec)
    mean_length_: np.ndarray      # (R, n_rec) tau = 1
    batch_reward_: np.ndarray     # (R, steps) mean reward of each step's batch
    theta_: np.ndarray            # (R, n_rec, d+2) reduced coordinates
    off_subspace_norm_: np.ndarray  # (R, n_rec)
    models_: list = field(repr=False, default=None)


def run_pg(W0: BatchedAR, cfg: PGConfig, rng=None, *, X_eval=None) -> PGResult:
    """REINFORCE or GRPO for ``cfg.steps`` steps from the R models W0 (streams as in :func:`run_star`)."""
    R, d = W0.R, W0.d
    g_eval, g_run = spawn(rng, 2)
    gens = spawn(g_run, R)
    eval_gens = spawn(g_eval, R + 1)
    X_eval = _eval_inputs(d, cfg.n_eval, eval_gens[R]) if X_eval is None else X_eval
    W = W0.copy()
    rec = {k: [] for k in ("expected_reward", "pi_long", "greedy_accuracy", "mean_length")}
    steps, thetas, offs, batch_r = [], [], [], []

    def record(t):
        m = evaluate_batch(W, X_eval, cfg.reward, cfg.temperature, eval_gens[:R])
        for k in rec:
            rec[k].append(m[k])
        th, off = W.reduced()
        steps.append(t)
        thetas.append(th)
        offs.append(off)
    record(0)
    b = np.zeros(R)
    for t in range(1, cfg.steps + 1):
        rmean = pg_step(W, cfg, gens, b if (cfg.algo == "reinforce" and cfg.baseline) else None)
        b = cfg.baseline_decay * b + (1 - cfg.baseline_decay) * rmean
        batch_r.append(rmean)
        if (cfg.eval_every and t % cfg.eval_every == 0) or t == cfg.steps:
            record(t)
    col = lambda v: np.array(v).T.reshape(R, -1)  # noqa: E731
    return PGResult(cfg, np.array(steps), col(rec["expected_reward"]), col(rec["pi_long"]),
                    col(rec["greedy_accuracy"]), col(rec["mean_length"]),
                    np.array(batch_r).T.reshape(R, -1), np.array(thetas).transpose(1, 0, 2), col(offs),
                    W.models())


# ============================================================================ starting points and CLI entry points
def initial_models(d, p_cot, pretrain_steps, lam, replicates=1, rng=None) -> tuple[BatchedAR, np.ndarray]:
    """Starting models of post-training and the reduced state the closed form starts from.

    ``pretrain_steps`` None: the exact regularised NTP optimum ``closed_form.ntp_optimum`` (a
    length-calibrated model) on the full weights, for every replicate. An int T >= 1: R replicates of
    Algorithm 3 (``linparity.pretrain.pretrain``) with T samples; the closed form then starts from
    the mean of their reduced coordinates.

    Returns (BatchedAR, theta0 ``(d+2,)``).
    """
    from .pretrain import pretrain
    d = check_d(d, 3)
    p = check_prob("p_cot", p_cot)
    R = check_int("replicates", replicates, 1)
    lams = cf.split_lam(lam)
    if min(lams) <= 0:
        raise ValueError(f"lam: every lambda must be > 0, got {lam!r}")
    if pretrain_steps is None:
        theta0 = cf.ntp_optimum(d, p, lams)
        return BatchedAR.from_reduced(theta0, d, R), theta0
    T = check_int("pretrain_steps", pretrain_steps, 1)
    res = pretrain(d, p, T, lams, replicates=R, rng=rng)
    return BatchedAR.stack(res.models_), res.theta_.mean(0)


def _first_at_least(acc, level=0.99):
    hit = np.flatnonzero(np.asarray(acc) >= level)
    return int(hit[0]) if hit.size else None


def _lam_arg(lam):
    """The CLI passes a scalar or a triple in which None means 'use the first entry'."""
    if np.ndim(lam) == 0 or lam is None:
        return cf.split_lam(0.01 if lam is None else lam)
    lam = list(lam)
    base = next((x for x in lam if x is not None), 0.01)
    return cf.split_lam([base if x is None else x for x in lam])


def star_command(d, p_cot, rounds, samples, reward="cot", temperature=1.0, variant="refit",
                 pretrain_steps=100_000, lam=0.01, replicates=1, seed=0, method="sgd", **options) -> dict:
    """``python -m linparity star``: STaR per round, with the ideal recursion and the exact map beside it.

    Returns a JSON-able dict with per-round lists (length rounds+1, round 0 = start; replicate means)
    ``pi_long``, ``p_ideal`` (p_n = 2^n p/(2^n p + 1 - p)), ``p_exact_map`` (pi(L) of
    rl_closed_form.star_map from the starting reduced state), ``greedy_accuracy``, ``mean_length``,
    ``kept_fraction`` (E[r] of round n's model at tau: measured fraction kept for n < rounds, the
    evaluation estimate for the last entry), and scalars ``rounds_to_generalize`` (first round with
    greedy accuracy >= 0.99, None if never) and ``n_star``. ``method='closed-form'`` takes the
    measured arrays from the exact map (start: ``pretrain_checkpoint`` after pretrain_steps, or the
    optimum when pretrain_steps is None). ``options`` go to :class:`StarConfig` (epochs, lr, batch_size, n_eval).
    """
    d = check_d(d, 3)
    p = check_prob("p_cot", p_cot)
    if method not in ("sgd", "closed-form"):
        raise ValueError(f"method: must be 'sgd' or 'closed-form', got {method!r}")
    lams = _lam_arg(lam)
    cfg = StarConfig(rounds=rounds, samples=samples, reward=reward, temperature=temperature,
                     variant=variant, lam=lams, **options)
    R = check_int("replicates", replicates, 1)
    seed = check_int("seed", seed, 0)
    g_start, g_run = spawn(np.random.SeedSequence(seed), 2)
    if method == "closed-form":
        theta0 = (cf.ntp_optimum(d, p, lams) if pretrain_steps is None
                  else rc.pretrain_checkpoint(d, p, lams, check_int("pretrain_steps", pretrain_steps, 1)))
        mp = rc.star_map(theta0, d, lams, cfg.rounds, cfg.reward, cfg.temperature)
        pi_long, acc, length, kept = mp.pi_long, mp.greedy_accuracy, mp.mean_length, mp.kept_fraction
    else:
        W0, theta0 = initial_models(d, p, pretrain_steps, lams, R, g_start)
        res = run_star(W0, cfg, g_run)
        mp = rc.star_map(theta0, d, lams, cfg.rounds, cfg.reward, cfg.temperature)
        pi_long, acc = res.pi_long_.mean(0), res.greedy_accuracy_.mean(0)
        length = res.mean_length_.mean(0)
        kept = np.concatenate([res.kept_fraction_.mean(0), res.expected_reward_[:, -1:].mean(0)])
    ns = rc.n_star(p)
    return {"pi_long": _list(pi_long), "p_ideal": _list(rc.ideal_recursion(p, cfg.rounds)),
            "p_exact_map": _list(mp.pi_long), "greedy_accuracy": _list(acc), "mean_length": _list(length),
            "kept_fraction": _list(kept), "rounds_to_generalize": _first_at_least(acc),
            "n_star": None if not np.isfinite(ns) else int(ns)}


def pg_command(algo, d, p_cot, steps, lr=1.0, batch_size=256, group_size=8, reward="cot", temperature=1.0,
               baseline=True, pretrain_steps=100_000, lam=0.01, replicates=1, seed=0, **options) -> dict:
    """``python -m linparity pg``: REINFORCE or GRPO per step, with the closed-form expected dynamics.

    Returns per-step lists (length steps+1; replicate means) ``expected_reward``, ``pi_long``,
    ``greedy_accuracy``, ``mean_length`` and ``closed_form_expected_reward``: E[r] along
    rl_closed_form.pg_discrete from the starting reduced state with the same lr, algorithm,
    group size, reward and temperature. ``options`` go to :class:`PGConfig` (baseline_decay, n_eval).
    """
    d = check_d(d, 3)
    p = check_prob("p_cot", p_cot)
    lams = _lam_arg(lam)
    cfg = PGConfig(algo=algo, steps=steps, lr=lr, batch_size=batch_size, group_size=group_size,
                   reward=reward, temperature=temperature, baseline=baseline, eval_every=1, **options)
    R = check_int("replicates", replicates, 1)
    seed = check_int("seed", seed, 0)
    g_start, g_run = spawn(np.random.SeedSequence(seed), 2)
    W0, theta0 = initial_models(d, p, pretrain_steps, lams, R, g_start)
    res = run_pg(W0, cfg, g_run)
    traj = rc.pg_discrete(theta0, d, cfg.lr, cfg.steps, cfg.reward, cfg.temperature, cfg.algo,
                          cfg.group_size if cfg.algo == "grpo" else None)
    cf_r = [rc.expected_reward(t, d, cfg.reward, cfg.temperature) for t in traj]
    return {"expected_reward": _list(res.expected_reward_.mean(0)), "pi_long": _list(res.pi_long_.mean(0)),
            "greedy_accuracy": _list(res.greedy_accuracy_.mean(0)),
            "mean_length": _list(res.mean_length_.mean(0)), "closed_form_expected_reward": _list(cf_r)}


def _list(a):
    return [float(x) for x in np.asarray(a, dtype=np.float64)]


# ============================================================================ per-sample references
def _phi(z, d):
    """phi(z) = [z_1..z_m, z_m z_1..z_m z_d] (THEORY §2) of one prefix."""
    z = np.asarray(z, dtype=np.float64)
    return np.concatenate([z, z[-1] * z[:d]])


def sample_reference(model: LinearAR, x, u, temperature=1.0):
    """One response by plain per-sample Python, from the uniforms ``u`` (an iterator of floats)."""
    d, tau = model.d, temperature
    y = [1 if next(u) < expit(np.dot(model.w1, x) / tau) else -1]
    if next(u) < expit((np.dot(model.w2a, _phi(np.append(x, y[0]), d)) + model.b2a) / tau):
        return np.array(y + [0] * d, dtype=np.int8)
    for l in range(2, d + 1):
        y.append(1 if next(u) < expit(np.dot(model.chain[l - 2], _phi(np.append(x, y), d)) / tau) else -1)
    return np.array(y + [0], dtype=np.int8)


def policy_update_reference(model: LinearAR, X, Y, weights, temperature=1.0) -> np.ndarray:
    """sum_i weights_i grad log pi_tau(y_i|x_i), per-sample Python; vector in LinearAR.to_vector order."""
    d, tau = model.d, temperature
    g1, g2, gb = np.zeros(d), np.zeros(2 * d + 1), 0.0
    gc = [np.zeros_like(w) for w in model.chain]
    for x, y, w in zip(np.asarray(X, dtype=np.float64), np.asarray(Y), weights):
        g1 += w * y[0] * expit(-y[0] * np.dot(model.w1, x) / tau) / tau * x
        f2 = _phi(np.append(x, y[0]), d)
        t = 1.0 if y[1] == 0 else -1.0
        c = w * t * expit(-t * (np.dot(model.w2a, f2) + model.b2a) / tau) / tau
        g2 += c * f2
        gb += c
        if y[1] != 0:
            for l in range(2, d + 1):
                f = _phi(np.append(x, y[:l - 1]), d)
                gc[l - 2] += w * y[l - 1] * expit(-y[l - 1] * np.dot(model.chain[l - 2], f) / tau) / tau * f
    return np.concatenate([g1, g2, [gb], *gc])


def star_round_reference(model: LinearAR, samples, reward="cot", temperature=1.0, lam=0.01, rng=None):
    """One STaR round with the 'refit' variant in plain per-sample Python (benchmark oracle).

    Samples, rewards and keeps one response per input, then runs Algorithm 3 from zero on the kept
    set by per-sample Pegasos steps (``linparity.pretrain.pretrain_reference``'s step rule).
    """
    g = as_generator(rng)
    d = model.d
    rfn = REWARDS[_check_reward(reward)]
    kept = []
    for _ in range(samples):
        x = (1 - 2 * g.integers(0, 2, size=d)).astype(np.int8)
        y = sample_reference(model, x.astype(np.float64), iter(g.random(d + 1)), temperature)
        if rfn(x[None], y[None])[0] > 0:
            kept.append((x, y))
    Xk = np.array([k[0] for k in kept], dtype=np.int8).reshape(-1, d)
    Yk = np.array([k[1] for k in kept], dtype=np.int8).reshape(-1, d + 1)
    return algorithm3_reference(Xk, Yk, lam), len(kept)


def algorithm3_reference(X, Y, lam) -> LinearAR:
    """Algorithm 3 from zero on the given samples, per-sample Python (oracle for :func:`fit_algorithm3`).

    Uses ``linparity.pretrain``'s Pegasos step rule; chain heads step on long samples only.
    """
    from .pretrain import _pegasos_step
    X, Y = np.asarray(X), np.asarray(Y)
    d = X.shape[1]
    lam1, lam2a, lamc = cf.split_lam(lam)
    w1, w2, chain = np.zeros(d), np.zeros(2 * d + 2), [np.zeros(2 * d + l - 1) for l in range(2, d + 1)]
    s1, s2, sc = np.zeros_like(w1), np.zeros_like(w2), [np.zeros_like(w) for w in chain]
    t = tl = 0
    for x, y in zip(X, Y):
        t += 1
        w1 = _pegasos_step(w1, [x.astype(float)], [float(y[0])], lam1, t)
        s1 += w1
        w2 = _pegasos_step(w2, [np.append(_phi(np.append(x, y[0]), d), 1.0)], [1.0 if y[1] == 0 else -1.0],
                           lam2a, t)
        s2 += w2
        if y[1] != 0:
            tl += 1
            for l in range(2, d + 1):
                chain[l - 2] = _pegasos_step(chain[l - 2], [_phi(np.append(x, y[:l - 1]), d)],
                                             [float(y[l - 1])], lamc, tl)
                sc[l - 2] += chain[l - 2]
    avg = lambda s, k: s / k if k else s  # noqa: E731
    return LinearAR(avg(s1, t), avg(s2, t)[:-1], avg(s2, t)[-1], [avg(s, tl) for s in sc])


def pg_steps_reference(model: LinearAR, steps, lr, batch_size, group_size, reward="cot",
                       temperature=1.0, rng=None) -> LinearAR:
    """GRPO steps in plain per-sample Python (benchmark oracle): same update rule as :func:`pg_step`."""
    g = as_generator(rng)
    d = model.d
    rfn = REWARDS[_check_reward(reward)]
    theta = model.to_vector()
    for _ in range(steps):
        m = LinearAR.from_vector(d, theta)
        X, Y, A = [], [], []
        for _ in range(batch_size):
            x = (1 - 2 * g.integers(0, 2, size=d)).astype(np.int8)
            ys = [sample_reference(m, x.astype(np.float64), iter(g.random(d + 1)), temperature)
                  for _ in range(group_size)]
            r = np.array([rfn(x[None], y[None])[0] for y in ys])
            X += [x] * group_size
            Y += ys
            A += list((r - r.mean()) / (r.std() + GRPO_EPS))
        theta = theta + lr * policy_update_reference(m, X, Y, np.array(A) / (batch_size * group_size),
                                                     temperature)
    return LinearAR.from_vector(d, theta)
