"""STaR (Algorithm 1 of THEORY §6) simulated on R replicates of the full linear model.

Each round draws N fresh inputs per replicate, samples one response each at temperature tau,
keeps those with reward 1 and updates. Variant ``continue`` (the default: the source's Algorithm 1)
runs E epochs of constant-step NTP SGD on the kept set from the current weights
(:func:`continue_sgd`); with the default batch size 1 that is one gradient step per kept pair, step
size ``lr`` (default 0.05, E = 2). Variant ``refit`` runs Algorithm 3 from zero on the kept set
(:func:`linparity.simulate.ntp.fit_samples`): the variant the population map assumes. The closed form these
runs are checked against is :func:`linparity.closed_form.star_map`.

Random streams: ``rng`` is split into (evaluation, run) children; the run child is spawned into one
Generator per replicate, which draws that replicate's inputs, sampling uniforms and epoch
permutations, so a replicate's trajectory does not depend on R (numpy SPEC 7).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from types import MappingProxyType

import numpy as np
from numba import njit

from .._checks import check_int, check_positive, check_temperature
from .._progress import Progress
from .._validate import check_alloc, check_type, star_round_bytes
from ..data import DistinctInputs, check_reward, sample_inputs
from ..heads import default_lam, lam_triple
from ..model import LinearAR
from .ntp import fit_sample_chunks, fit_samples
from .batched import BatchedAR, rewards, sample_responses
from .runs import Recorder, run_streams

__all__ = ["StarConfig", "STREAM_CHUNK", "STREAM_CACHE_BYTES", "stream_order_bytes", "stream_cache_bytes",
           "resampled_inputs", "FIGURE_STAR_OPTIONS", "StarResult", "fit_algorithm3", "sample_kept", "continue_sgd",
           "star_round", "run_star"]


def fit_algorithm3(X, Y, lam) -> LinearAR:
    """Algorithm 3 (THEORY §3, batch size 1) from zero on the samples X ``(K, d)``, Y ``(K, d+1)``.

    ``lam`` is a scalar or (lam1, lam2a, lam_chain), each > 0. Same as
    ``linparity.simulate.ntp.fit_samples(X, Y, lam)``; an empty set gives the zero model.
    """
    return fit_samples(X, Y, lam_triple(lam))


#: inputs a STaR round holds at a time (StarConfig.chunk); a round of N <= STREAM_CHUNK is drawn whole
STREAM_CHUNK = 2 ** 16
#: bytes of kept pairs a streamed 'continue' round keeps from its first epoch for the later ones
#: (StarConfig.cache_bytes); the chunks past it are sampled again (the numbers are the same either way)
STREAM_CACHE_BYTES = 2 ** 29


@dataclass(frozen=True)
class StarConfig:
    """Settings of Algorithm 1 (STaR). The defaults are the paper's Algorithm 1, the CLI's
    ``star``: the 'continue' variant, E = 2 epochs of SGD with lr 0.05 and batch 1 (one step per
    kept pair). The figures run :data:`FIGURE_STAR_OPTIONS` instead."""
    rounds: int                  # number of rounds n >= 0
    samples: int                 # fresh inputs N per round >= 1
    reward: str = "cot"          # 'cot' or 'e2e'
    temperature: float = 1.0     # sampling temperature tau > 0
    variant: str = "continue"    # 'continue' (Algorithm 1): NTP SGD from current weights; 'refit': Algorithm 3 from 0
    lam: tuple | None = None     # (lam1, lam2a, lam_chain) of the refit / continue losses; None: heads.default_lam(d)
    epochs: int = 2              # 'continue': epochs E over the kept set
    lr: float = 0.05             # 'continue': constant SGD step size
    batch_size: int = 1          # 'continue': kept samples per SGD step (1: one step per kept pair)
    n_eval: int = 2048           # evaluation inputs when d > MAX_ENUM_D (all 2^d otherwise)
    chunk: int = STREAM_CHUNK    # inputs a round holds at a time (STREAM_CHUNK); N > chunk is streamed (star_round)
    cache_bytes: int = STREAM_CACHE_BYTES  # streamed 'continue': kept pairs held for the later epochs (bytes)

    def __post_init__(self):
        check_int("rounds", self.rounds, 0)
        check_int("samples", self.samples, 1)
        check_reward(self.reward)
        check_temperature(self.temperature)
        if not isinstance(self.variant, str) or self.variant not in ("refit", "continue"):
            raise ValueError(f"variant: must be 'refit' or 'continue', got {self.variant!r}")
        check_int("epochs", self.epochs, 1)
        check_positive("lr", self.lr)
        check_int("batch_size", self.batch_size, 1)
        check_int("n_eval", self.n_eval, 2)
        check_int("chunk", self.chunk, 1)
        check_int("cache_bytes", self.cache_bytes, 0)
        if self.lam is not None:
            object.__setattr__(self, "lam", lam_triple(self.lam, positive=True))
            self._check_decay(self.lam)

    def lams(self, d: int) -> tuple[float, float, float]:
        """The strengths of a run on d bits: ``lam``, or heads.default_lam(d) when it is None."""
        if self.lam is not None:
            return self.lam
        lams = default_lam(d)
        self._check_decay(lams)
        return lams

    def _check_decay(self, lams):
        if self.variant == "continue":
            # the decay part of a step is w (1 - lr lam): |1 - lr lam| < 1 needs lr lam < 2, else the
            # weights grow geometrically to inf (found by the CLI fuzz test)
            k = int(np.argmax(lams))
            if self.lr * lams[k] >= 2:
                name = ("lam1", "lam2a", "lam_chain")[k]
                raise ValueError(f"{name}: the 'continue' variant needs lr x {name} < 2 (its weight-decay "
                                 f"factor 1 - lr lam must be in (-1, 1)), got lr {self.lr:g} x {name} "
                                 f"{lams[k]:g} = {self.lr * lams[k]:g}; lower {name} or lr")


#: The figures' STaR settings (F3, F4, F8-F10, the samples study): the 'continue' variant with
#: E = 2 epochs of NTP SGD on the kept set from the current weights, lr 0.5 and 32 kept samples
#: per step (Algorithm 1 itself, StarConfig's defaults, takes lr 0.05 and batch 1). The 'refit'
#: variant (Algorithm 3 from zero on the kept set) loses the chain at the figures' N: see REPORT.md.
FIGURE_STAR_OPTIONS = MappingProxyType({"variant": "continue", "epochs": 2, "lr": 0.5, "batch_size": 32})


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


def continue_sgd(W: BatchedAR, X, Y, kept, cfg: StarConfig, gens) -> BatchedAR:
    """The update of STaR's 'continue' variant: E epochs of mini-batch NTP SGD on each replicate's
    kept set, from the current weights, in place.

    Step on a batch of ``cfg.batch_size`` kept samples: w <- w + lr (mean over the batch of
    grad log pi(y|x) - lam w) at tau = 1, the mean over all its samples for heads 1 and 2a, over
    its long samples for the chain heads (a head with no sample in the batch does not move;
    ``references.continue_sgd_reference`` is the per-sample oracle). Each epoch visits the kept
    samples of replicate r in the order of a fresh permutation from ``gens[r]``; replicates are
    independent (one compiled :func:`_continue_steps` call per replicate and epoch), so a
    replicate's weights do not depend on R.

    Parameters
    ----------
    W : BatchedAR of R replicates (updated in place and returned)
    X : ``(R, N, d)`` inputs +-1; Y : ``(R, N, d+1)`` responses; kept : ``(R, N)`` bool, the pairs to fit
    cfg : StarConfig (lam, epochs, lr, batch_size); gens : R Generators (the epoch permutations)
    """
    R, d = W.R, W.d
    X, Y, kept = np.asarray(X, dtype=np.int8), np.asarray(Y, dtype=np.int8), np.asarray(kept, dtype=bool)
    N = kept.shape[-1]
    for name, a, shape in (("X", X, (R, N, d)), ("Y", Y, (R, N, d + 1)), ("kept", kept, (R, N))):
        if a.shape != shape:
            raise ValueError(f"{name}: must have shape {shape} (R, N from W and kept), got {a.shape}")
    if len(gens) != R:
        raise ValueError(f"gens: need one Generator per replicate ({R}), got {len(gens)}")
    lam1, lam2a, lamc = cfg.lams(d)
    for _ in range(cfg.epochs):
        orders = []
        for r, g in enumerate(gens):
            idx = np.flatnonzero(kept[r])
            orders.append(idx[g.permutation(idx.size)])
        for r in range(R):
            _continue_steps(X[r], Y[r], orders[r], cfg.batch_size, cfg.lr, lam1, lam2a, lamc,
                            W.w1[r], W.w2[r], W.b2[r:r + 1], W.Wx[r], W.Wy[r], W.Wp[r])
    return W


@njit(cache=True, nogil=True)
def _continue_steps(X, Y, order, bs, lr, lam1, lam2a, lamc, w1, w2, b2, Wx, Wy, Wp):
    """The SGD steps of one replicate over one epoch, in place (see :func:`continue_sgd`).

    X ``(N, d)``, Y ``(N, d+1)`` int8; order ``(K,)`` the kept rows in visiting order, steps on
    order[s:s+bs]. w1 ``(d,)``, w2 ``(2d+1,)``, b2 ``(1,)``, Wx, Wp ``(d-1, d)``, Wy ``(d-1, d-1)``
    lower triangular. Heads 1 and 2a: per-sample loops, gradient y sigma(-y u) phi. Chain heads on
    the step's n_l long rows: logits u = X_L Wx^T + P_L Wy^T + P_L * (X_L Wp^T) with P_L the previous
    bits y_1..y_{d-1} ``(n_l, d-1)``; coefficients c = y sigma(-y u) / n_l; gradients c^T X_L,
    lower(c^T P_L), (c * P_L)^T X_L: six BLAS products, three forward and three backward, each
    ~2 n_l d^2 flops, as the per-sample rule. Then w <- w + lr (g - lam w) per head, one pass.
    """
    K = order.size
    d = X.shape[1]
    m = d - 1
    XL, PL, YL = np.empty((bs, d)), np.empty((bs, m)), np.empty((bs, m))
    cc, ccp = np.empty((bs, m)), np.empty((bs, m))
    base, pair, yw = np.empty((bs, m)), np.empty((bs, m)), np.empty((bs, m))
    gx, gy, gp = np.empty((m, d)), np.empty((m, m)), np.empty((m, d))
    g1, g2 = np.empty(d), np.empty(2 * d + 1)
    xf = np.empty(d)
    for s in range(0, K, bs):
        nb = min(K, s + bs) - s
        g1[:] = 0.0
        g2[:] = 0.0
        gb = 0.0
        nl = 0
        for i in range(nb):
            row = order[s + i]
            a1 = 0.0
            a2 = 0.0
            ap = 0.0
            for j in range(d):
                xf[j] = float(X[row, j])
                a1 += xf[j] * w1[j]
                a2 += xf[j] * w2[j]
                ap += xf[j] * w2[d + 1 + j]
            y1 = float(Y[row, 0])
            t = 1.0 if Y[row, 1] == 0 else -1.0          # +1: EOS
            c1 = y1 / (1.0 + math.exp(y1 * a1))            # y sigma(-y u)
            c2 = t / (1.0 + math.exp(t * (a2 + y1 * w2[d] + y1 * ap + b2[0])))
            for j in range(d):
                g1[j] += c1 * xf[j]
                g2[j] += c2 * xf[j]
                g2[d + 1 + j] += c2 * y1 * xf[j]
            g2[d] += c2 * y1
            gb += c2
            if t < 0.0:
                for j in range(d):
                    XL[nl, j] = xf[j]
                for h in range(m):
                    PL[nl, h] = float(Y[row, h])
                    YL[nl, h] = float(Y[row, h + 1])
                nl += 1
        inv = 1.0 / nb
        for j in range(d):
            w1[j] += lr * (g1[j] * inv - lam1 * w1[j])
        for j in range(2 * d + 1):
            w2[j] += lr * (g2[j] * inv - lam2a * w2[j])
        b2[0] += lr * (gb * inv - lam2a * b2[0])
        if nl == 0:
            continue
        xl, pl = XL[:nl], PL[:nl]
        np.dot(xl, Wx.T, base[:nl])
        np.dot(xl, Wp.T, pair[:nl])
        np.dot(pl, Wy.T, yw[:nl])
        inv = 1.0 / nl
        for i in range(nl):
            for h in range(m):
                y = YL[i, h]
                c = y / (1.0 + math.exp(y * (base[i, h] + yw[i, h] + pl[i, h] * pair[i, h]))) * inv
                cc[i, h] = c
                ccp[i, h] = c * pl[i, h]
        np.dot(cc[:nl].T, xl, gx)
        np.dot(cc[:nl].T, pl, gy)
        np.dot(ccp[:nl].T, xl, gp)
        for h in range(m):
            for j in range(d):
                Wx[h, j] += lr * (gx[h, j] - lamc * Wx[h, j])
                Wp[h, j] += lr * (gp[h, j] - lamc * Wp[h, j])
            for k in range(h + 1):
                Wy[h, k] += lr * (gy[h, k] - lamc * Wy[h, k])


def sample_kept(W: BatchedAR, samples: int, reward: str, temperature: float, gens):
    """Draw N fresh inputs per replicate, sample one response each and score it (one STaR round's data).

    Returns X ``(R, N, d)``, Y ``(R, N, d+1)``, kept ``(R, N)`` bool (reward 1) and the measured
    kept-set statistics (each ``(R,)``): kept_fraction, q (long share of the kept set) and r (share
    of chi(x) = x_1 among kept short answers), the sample versions of closed_form.kept_stats.
    """
    d, N = W.d, samples
    X = np.stack([sample_inputs(N, d, g) for g in gens])
    Y = sample_responses(W, X, gens, temperature)                    # (R, N, d+1)
    kept = rewards(reward, X, Y) > 0                                # (R, N)
    return X, Y, kept, _kept_stats(_kept_counts(X, Y, kept))


def _kept_counts(X, Y, kept) -> np.ndarray:
    """``(R, 5)`` counts per replicate: inputs, kept, kept long, kept short, kept short with chi(x) = x_1."""
    long_ = Y[..., 1] != 0
    short_kept = kept & ~long_
    eq = np.prod(X, axis=2, dtype=np.int8) == X[..., 0]
    return np.stack([np.full(kept.shape[0], kept.shape[1]), kept.sum(1), (kept & long_).sum(1), short_kept.sum(1),
                     (short_kept & eq).sum(1)], axis=1)


def _kept_stats(counts) -> dict:
    """The kept-set statistics of :func:`sample_kept` from :func:`_kept_counts` ``(R, 5)``."""
    n, nk, nl, ns, ne = (counts[:, i] for i in range(5))
    R = counts.shape[0]
    return {"kept_fraction": nk / n, "q": np.divide(nl, nk, out=np.full(R, np.nan), where=nk > 0),
            "r": np.divide(ne, ns, out=np.full(R, np.nan), where=ns > 0)}


def star_round(W: BatchedAR, cfg: StarConfig, gens, seen=None) -> tuple[BatchedAR, dict]:
    """One round of Algorithm 1 for every replicate: sample N inputs and responses, keep r = 1, update.

    Returns the new weights and the measured kept-set statistics of :func:`sample_kept`.
    ``seen``: optional list of R data.DistinctInputs, updated with each replicate's inputs.
    A round of N > ``cfg.chunk`` inputs is streamed (:func:`_streamed_round`): it holds one chunk
    at a time, so its memory does not grow with N; a round of N <= chunk draws all N at once.
    """
    if cfg.samples > cfg.chunk:
        return _streamed_round(W, cfg, gens, seen)
    X, Y, kept, stats = sample_kept(W, cfg.samples, cfg.reward, cfg.temperature, gens)
    for r, sr in enumerate(seen or ()):
        sr.add(X[r])
    if cfg.variant == "refit":
        lams = cfg.lams(W.d)
        W = BatchedAR.stack([fit_samples(X[r, kept[r]], Y[r, kept[r]], lams) for r in range(W.R)])
    else:
        W = continue_sgd(W.copy(), X, Y, kept, cfg, gens)
    return W, stats


def stream_order_bytes(samples, chunk) -> float:
    """Bytes of a streamed round's chunk order: a permutation of its ceil(N / chunk) chunks (int64,
    and its temporary); 0 for a round of N <= chunk, which is drawn whole."""
    return 16.0 * -(-samples // chunk) if samples > chunk else 0.0


def stream_cache_bytes(samples, d, chunk=STREAM_CHUNK, cache=STREAM_CACHE_BYTES) -> float:
    """Bytes of a streamed 'continue' round's cache of kept pairs: at most ``cache``, and at most N
    kept pairs of 2d + 1 int8 each (input and response); 0 for a round of N <= chunk."""
    return float(min(cache, samples * (2 * d + 1))) if samples > chunk else 0.0


def resampled_inputs(samples, d, epochs, chunk=STREAM_CHUNK, cache=STREAM_CACHE_BYTES) -> float:
    """Inputs a streamed 'continue' round samples again in its later epochs, at most: the chunks past
    the cache, counting every pair of a chunk as kept (fewer kept pairs leave room for more chunks)."""
    if samples <= chunk:
        return 0.0
    cached = chunk * (cache // (chunk * (2 * d + 1)))
    return float((epochs - 1) * max(0, samples - cached))


def _streamed_round(W: BatchedAR, cfg: StarConfig, gens, seen=None) -> tuple[BatchedAR, dict]:
    """:func:`star_round` holding ``cfg.chunk`` inputs at a time (N split into K = ceil(N / chunk) chunks).

    Replicate r first draws a key (two integers) from ``gens[r]``; chunk c's inputs, responses and
    kept set are drawn by :func:`sample_kept` from the round-start model with the Generator seeded by
    (key, c), so any pass can regenerate them exactly. 'continue': each of the E epochs visits the
    chunks in a fresh order (a permutation from ``gens[r]``) and each chunk's kept pairs in a fresh
    order (likewise); the first epoch keeps each chunk's kept pairs while they fit in ``cfg.cache_bytes``
    and the later epochs regenerate only the chunks past it, which draws the same pairs; mini-batches run across chunk boundaries (the < B rows
    left at the end of a chunk open the next one's first batch), so an epoch takes ceil(K / B) steps
    on its K kept pairs as :func:`continue_sgd` does: the same update rule on the same distribution
    of data, in another visiting order and random stream, at E times the sampling cost. 'refit': Algorithm 3 from zero on the kept pairs in
    chunk order (:func:`linparity.simulate.ntp.fit_sample_chunks`: one pass, as
    ``fit_samples`` on their concatenation). The statistics and ``seen`` count every input once.
    """
    R, d, N, ch = W.R, W.d, cfg.samples, cfg.chunk
    K = -(-N // ch)
    check_alloc("samples", stream_order_bytes(N, ch))        # the epochs' chunk orders, before any work
    lam1, lam2a, lamc = cfg.lams(d)
    counts = np.zeros((R, 5), dtype=np.int64)
    new = W.copy()
    models = []
    for r, g in enumerate(gens):
        W0 = BatchedAR(*(a[r:r + 1] for a in W._arrays()))     # the round-start model (a view, never written)
        key = g.integers(0, 2 ** 63, size=2)

        def chunk(c, first):
            X, Y, kept, _ = sample_kept(W0, min(ch, N - c * ch), cfg.reward, cfg.temperature,
                                        [np.random.default_rng([*key, c])])
            if first:                                           # the first visit counts the inputs
                counts[r] += _kept_counts(X, Y, kept)[0]
                if seen:
                    seen[r].add(X[0])
            return X[0], Y[0], kept[0]
        if cfg.variant == "refit":
            models.append(fit_sample_chunks(((X[k], Y[k]) for X, Y, k in (chunk(c, True) for c in range(K))),
                                            d, cfg.lams(d), N))
            continue
        def steps(X, Y, n):       # SGD steps on the first n rows of X, Y in row order
            _continue_steps(X, Y, np.arange(n), cfg.batch_size, cfg.lr, lam1, lam2a, lamc,
                            new.w1[r], new.w2[r], new.b2[r:r + 1], new.Wx[r], new.Wy[r], new.Wp[r])
        cache, room = {}, cfg.cache_bytes if cfg.epochs > 1 else 0      # chunk -> its kept pairs (X, Y)

        def kept_pairs(c, first):
            nonlocal room
            if c in cache:
                return cache[c]
            X, Y, kept = chunk(c, first)
            X, Y = X[kept], Y[kept]
            if first and X.nbytes + Y.nbytes <= room:
                cache[c], room = (X, Y), room - X.nbytes - Y.nbytes
            return X, Y
        for e in range(cfg.epochs):
            XL, YL = np.empty((0, d), np.int8), np.empty((0, d + 1), np.int8)   # kept rows not yet stepped on
            for c in g.permutation(K):
                X, Y = kept_pairs(c, e == 0)
                idx = g.permutation(X.shape[0])
                X, Y = np.concatenate([XL, X[idx]]), np.concatenate([YL, Y[idx]])
                full = X.shape[0] - X.shape[0] % cfg.batch_size        # whole batches now, the rest with the next
                steps(X, Y, full)
                XL, YL = X[full:], Y[full:]
            steps(XL, YL, XL.shape[0])
    return (BatchedAR.stack(models) if models else new), _kept_stats(counts)


def run_star(W0: BatchedAR, cfg: StarConfig, rng=None, *, X_eval=None, progress: bool = False) -> StarResult:
    """Algorithm 1 for ``cfg.rounds`` rounds from the R models W0 (replicate r uses child r of the run stream).

    rng: None/int/SeedSequence/Generator, split into (evaluation, run) children. ``progress``:
    show the rounds done on stderr (:class:`linparity._progress.Progress`).
    """
    check_type("W0", W0, BatchedAR)
    check_type("cfg", cfg, StarConfig)
    R, d = W0.R, W0.d
    cfg = replace(cfg, lam=cfg.lams(d))    # the result records the lambdas it ran with
    # a round's (or its chunk's) inputs, responses and their float work arrays: refused by name before any work
    cache = stream_cache_bytes(cfg.samples, d, cfg.chunk, cfg.cache_bytes) if cfg.variant == "continue" else 0.0
    check_alloc("samples", star_round_bytes(R, min(cfg.samples, cfg.chunk), d)
                + stream_order_bytes(cfg.samples, cfg.chunk) + cache)
    gens, eval_gens, X_eval = run_streams(rng, R, d, cfg.n_eval, X_eval)
    W = W0.copy()
    record = Recorder(X_eval, cfg.reward, cfg.temperature, eval_gens)
    kept = {k: [] for k in ("kept_fraction", "q", "r")}
    record(W)
    seen = [DistinctInputs(W.d) for _ in range(R)]
    with Progress(cfg.rounds, "star", "rounds", progress) as bar:
        for _ in range(cfg.rounds):
            W, s = star_round(W, cfg, gens, seen)
            for k in kept:
                kept[k].append(s[k])
            record(W)
            bar.update()
    col = lambda v: np.array(v).T.reshape(R, -1)  # noqa: E731  (rounds, R) -> (R, rounds)
    return StarResult(cfg, record.col("pi_long"), record.col("greedy_accuracy"), record.col("mean_length"),
                      record.col("expected_reward"), col(kept["kept_fraction"]), col(kept["q"]),
                      col(kept["r"]), np.array([len(x) for x in seen]), record.theta(), record.off(),
                      W.models())
