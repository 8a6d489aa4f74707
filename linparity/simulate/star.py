"""STaR (Algorithm 1 of THEORY §6) simulated on R replicates of the full linear model.

Each round draws N fresh inputs per replicate, samples one response each at temperature tau,
keeps those with reward 1 and updates. Variant ``continue`` (the default: the source's Algorithm 1)
runs E epochs of constant-step NTP SGD on the kept set from the current weights
(:func:`_continue_sgd`); with the default batch size 1 that is one gradient step per kept pair, step
size ``lr`` (default 0.05, E = 2). Variant ``refit`` runs Algorithm 3 from zero on the kept set
(:func:`linparity.simulate.ntp.fit_samples`): the variant the population map assumes. The closed form these
runs are checked against is :func:`linparity.closed_form.star_map`.

Random streams: ``rng`` is split into (evaluation, run) children; the run child is spawned into one
Generator per replicate, which draws that replicate's inputs, sampling uniforms and epoch
permutations, so a replicate's trajectory does not depend on R (numpy SPEC 7).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._checks import check_int, check_positive, check_temperature
from ..data import add_distinct, check_reward, sample_inputs
from ..heads import lam_triple
from ..model import LinearAR
from .ntp import fit_samples
from .batched import (BatchedAR, Recorder, accumulate, rewards, run_streams,
                        sample_responses, score)

__all__ = ["StarConfig", "StarResult", "fit_algorithm3", "sample_kept", "star_round", "run_star"]


def fit_algorithm3(X, Y, lam) -> LinearAR:
    """Algorithm 3 (THEORY §3, batch size 1) from zero on the samples X ``(K, d)``, Y ``(K, d+1)``.

    ``lam`` is a scalar or (lam1, lam2a, lam_chain), each > 0. Same as
    ``linparity.simulate.ntp.fit_samples(X, Y, lam)``; an empty set gives the zero model.
    """
    return fit_samples(X, Y, lam_triple(lam))


@dataclass(frozen=True)
class StarConfig:
    """Settings of Algorithm 1 (STaR)."""
    rounds: int                  # number of rounds n >= 0
    samples: int                 # fresh inputs N per round >= 1
    reward: str = "cot"          # 'cot' or 'e2e'
    temperature: float = 1.0     # sampling temperature tau > 0
    variant: str = "continue"    # 'continue' (Algorithm 1): NTP SGD from current weights; 'refit': Algorithm 3 from 0
    lam: tuple = (0.01, 0.01, 0.01)  # (lam1, lam2a, lam_chain) of the refit / continue losses
    epochs: int = 2              # 'continue': epochs E over the kept set
    lr: float = 0.05             # 'continue': constant SGD step size
    batch_size: int = 1          # 'continue': kept samples per SGD step (1: one step per kept pair)
    n_eval: int = 2048           # evaluation inputs when d > MAX_ENUM_D (all 2^d otherwise)

    def __post_init__(self):
        check_int("rounds", self.rounds, 0)
        check_int("samples", self.samples, 1)
        check_reward(self.reward)
        check_temperature(self.temperature)
        if self.variant not in ("refit", "continue"):
            raise ValueError(f"variant: must be 'refit' or 'continue', got {self.variant!r}")
        lams = lam_triple(self.lam)
        if min(lams) <= 0:
            raise ValueError(f"lam: every lambda must be > 0 for simulation, got {self.lam!r}")
        object.__setattr__(self, "lam", lams)
        check_int("epochs", self.epochs, 1)
        check_positive("lr", self.lr)
        check_int("batch_size", self.batch_size, 1)
        check_int("n_eval", self.n_eval, 2)
        if self.variant == "continue":
            # the decay part of a step is w (1 - lr lam): |1 - lr lam| < 1 needs lr lam < 2, else the
            # weights grow geometrically to inf (found by the CLI fuzz test)
            k = int(np.argmax(lams))
            if self.lr * lams[k] >= 2:
                name = ("lam1", "lam2a", "lam_chain")[k]
                raise ValueError(f"{name}: the 'continue' variant needs lr x {name} < 2 (its weight-decay "
                                 f"factor 1 - lr lam must be in (-1, 1)), got lr {self.lr:g} x {name} "
                                 f"{lams[k]:g} = {self.lr * lams[k]:g}; lower {name} or lr")


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
    distinct_inputs_: np.ndarray  # (R,) distinct inputs x drawn over all rounds (THEORY §8)
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
        Xo = np.take_along_axis(X, order[..., None], 1)                 # (R, N, d) in visiting order
        Yo = np.take_along_axis(Y, order[..., None], 1)                 # (R, N, d+1)
        Mo = (np.arange(N)[None] < n_kept[:, None]).astype(np.float64)  # (R, N) 1 on kept samples
        Lo = Mo * np.take_along_axis(long_, order, 1)                   # (R, N) 1 on kept long samples
        bs = cfg.batch_size
        chunk = bs * max(1, 4096 // bs)                 # float copies of 4096-sample slices, not of all N
        for s in range(0, int(n_kept.max()), bs):
            if s % chunk == 0:
                Xc = Xo[:, s:s + chunk].astype(np.float64)                     # (R, chunk, d)
                Yc = Yo[:, s:s + chunk].astype(np.float64)                     # (R, chunk, d+1)
            Xb, Yb = Xc[:, s % chunk:s % chunk + bs], Yc[:, s % chunk:s % chunk + bs]  # (R, b, d), (R, b, d+1)
            m, ml = Mo[:, s:s + bs], Lo[:, s:s + bs]                          # (R, b)
            nb, nl = m.sum(1), ml.sum(1)
            g1, g2, gc, _ = score(W, Xb, Yb, 1.0, log_prob=False)
            inv_b = np.divide(1.0, nb, out=np.zeros(R), where=nb > 0)[:, None]
            inv_l = np.divide(1.0, nl, out=np.zeros(R), where=nl > 0)[:, None, None]
            step = accumulate(W, Xb, Yb, m * g1 * inv_b, m * g2 * inv_b, ml[..., None] * gc * inv_l)
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
    of chi(x) = x_1 among kept short answers), the sample versions of closed_form.kept_stats.
    """
    R, d, N = W.R, W.d, samples
    X = np.stack([sample_inputs(N, d, g) for g in gens])
    Y = sample_responses(W, X, gens, temperature)                    # (R, N, d+1)
    kept = rewards(reward, X, Y) > 0                                # (R, N)
    long_ = Y[..., 1] != 0
    short_kept = kept & ~long_
    eq = np.prod(X, axis=2, dtype=np.int8) == X[..., 0]
    nk = kept.sum(1)
    stats = {"kept_fraction": nk / N,
             "q": np.divide((kept & long_).sum(1), nk, out=np.full(R, np.nan), where=nk > 0),
             "r": np.divide((short_kept & eq).sum(1), short_kept.sum(1), out=np.full(R, np.nan),
                            where=short_kept.sum(1) > 0)}
    return X, Y, kept, stats


def star_round(W: BatchedAR, cfg: StarConfig, gens, seen=None) -> tuple[BatchedAR, dict]:
    """One round of Algorithm 1 for every replicate: sample N inputs and responses, keep r = 1, update.

    Returns the new weights and the measured kept-set statistics of :func:`sample_kept`.
    ``seen``: optional list of R sets, updated with each replicate's inputs (data.add_distinct).
    """
    X, Y, kept, stats = sample_kept(W, cfg.samples, cfg.reward, cfg.temperature, gens)
    for r, sr in enumerate(seen or ()):
        add_distinct(sr, X[r])
    if cfg.variant == "refit":
        W = BatchedAR.stack([fit_samples(X[r, kept[r]], Y[r, kept[r]], cfg.lam) for r in range(W.R)])
    else:
        W = _continue_sgd(W.copy(), X, Y, kept, cfg, gens)
    return W, stats


def run_star(W0: BatchedAR, cfg: StarConfig, rng=None, *, X_eval=None, progress=None) -> StarResult:
    """Algorithm 1 for ``cfg.rounds`` rounds from the R models W0 (replicate r uses child r of the run stream).

    rng: None/int/SeedSequence/Generator, split into (evaluation, run) children. ``progress``:
    optional callable(round, rounds), called after each round (e.g. a line on stderr).
    """
    R, d = W0.R, W0.d
    gens, eval_gens, X_eval = run_streams(rng, R, d, cfg.n_eval, X_eval)
    W = W0.copy()
    record = Recorder(X_eval, cfg.reward, cfg.temperature, eval_gens)
    kept = {k: [] for k in ("kept_fraction", "q", "r")}
    record(W)
    seen = [set() for _ in range(R)]
    for n in range(cfg.rounds):
        W, s = star_round(W, cfg, gens, seen)
        for k in kept:
            kept[k].append(s[k])
        record(W)
        if progress is not None:
            progress(n + 1, cfg.rounds)
    col = lambda v: np.array(v).T.reshape(R, -1)  # noqa: E731  (rounds, R) -> (R, rounds)
    return StarResult(cfg, record.col("pi_long"), record.col("greedy_accuracy"), record.col("mean_length"),
                      record.col("expected_reward"), col(kept["kept_fraction"]), col(kept["q"]),
                      col(kept["r"]), np.array([len(x) for x in seen]), record.theta(), record.off(),
                      W.models())
