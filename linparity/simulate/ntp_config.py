"""Algorithm 3's configuration: argument validation, per-head defaults and the sample stream.

Shared by the compiled path (:mod:`linparity.simulate.ntp`) and the per-sample reference
(:mod:`linparity.references`), so both validate the same arguments the same way and see the same
samples:

* :class:`PretrainConfig` and :func:`make_config`: every argument of :func:`~linparity.simulate.pretrain`
  checked (ValueError naming it), per-head lambdas and step limits resolved;
* :func:`sample_chunks`: the samples of one run, drawn from :meth:`Mixture.sample` in chunks of
  whole batches (``CHUNK_SAMPLES``);
* :func:`check_samples`, :func:`check_init` and :func:`samples_config`: the same for
  :func:`~linparity.simulate.fit_samples` on given samples and warm starts.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._checks import check_d, check_int, check_prob
from .._validate import check_lam
from ..data import Mixture
from ..heads import default_lam, lam_triple
from ..model import LinearAR

__all__ = ["CHUNK_SAMPLES", "PretrainConfig", "make_config", "sample_chunks", "check_samples",
           "check_init", "samples_config"]

#: samples drawn per call of Mixture.sample (rounded down to whole batches, at least one batch)
CHUNK_SAMPLES = 4096


@dataclass(frozen=True)
class PretrainConfig:
    """One run of Algorithm 3, validated (built by :func:`make_config` or :func:`samples_config`)."""
    d: int                     # number of input bits, >= 2
    p_cot: float               # probability of a long response, in [0, 1]
    steps: int               # number of SGD steps T (samples when batch_size = 1), >= 1
    batch_size: int            # samples per step B, >= 1
    lam1: float                # head 1 regularisation, > 0
    lam2a: float               # head 2a regularisation, > 0
    lam_chain: np.ndarray      # (d-1,) chain head l = 2..d regularisation, > 0
    T1: int                    # head 1 steps while t <= T1 (>= 0)
    T2a: int                   # head 2a steps while t <= T2a (>= 0)
    T_chain: np.ndarray        # (d-1,) int64: chain head l steps while t_long <= T_l (>= 0)


def _per_head(name: str, value, d: int, check, default):
    """A scalar or a (d-1,) sequence of per-chain-head values, as a (d-1,) array."""
    if value is None:
        value = default
    try:
        ndim = np.ndim(value)
    except ValueError:                      # ragged nested sequence
        ndim = -1
    if ndim == 0:
        return np.full(d - 1, check(name, value))
    vals = list(np.asarray(value, dtype=object).ravel()) if ndim == 1 else None
    if vals is None or len(vals) != d - 1:
        raise ValueError(f"{name}: must be a scalar or d-1 = {d - 1} values (heads l = 2..d), "
                         f"got {value!r}")
    return np.array([check(name, v) for v in vals])


def make_config(d, p_cot, steps, lam, lam1, lam2a, lam_chain, T1, T2a, T_chain,
                batch_size) -> PretrainConfig:
    """Validate every argument of :func:`~linparity.simulate.pretrain` (ValueError naming it) and
    resolve the per-head defaults (lambdas from ``heads.default_lam(d)``, step limits unlimited)."""
    d = check_d(d)
    p_cot = check_prob("p_cot", p_cot)
    steps = check_int("steps", steps, 1)
    batch_size = check_int("batch_size", batch_size, 1)
    # lam_chain may also be d-1 per-head values: parsed below, after the scalar triple
    lam1, lam2a, lam_c0 = lam_triple(default_lam(d) if lam is None else lam, lam1, lam2a, positive=True)
    lam_c = _per_head("lam_chain", lam_chain, d, check_lam, lam_c0)
    T1 = steps if T1 is None else check_int("T1", T1, 0)
    T2a = steps if T2a is None else check_int("T2a", T2a, 0)
    # "unlimited": t_long never exceeds steps
    T_c = _per_head("T_chain", T_chain, d, lambda n, v: check_int(n, v, 0), steps)
    return PretrainConfig(d, p_cot, steps, batch_size, lam1, lam2a, lam_c.astype(np.float64),
                          T1, T2a, T_c.astype(np.int64))


def sample_chunks(cfg: PretrainConfig, gen: np.random.Generator):
    """Yield (X, Y) chunks of whole batches, steps * B samples in all, from Mixture.sample.

    Both the reference and the fast path draw through this generator, so they see the same
    samples for the same ``gen``: chunks of max(1, CHUNK_SAMPLES // B) steps.
    """
    mix = Mixture(cfg.d, cfg.p_cot)
    spc = max(1, CHUNK_SAMPLES // cfg.batch_size)
    for start in range(0, cfg.steps, spc):
        k = min(spc, cfg.steps - start)
        yield mix.sample(k * cfg.batch_size, gen)


def check_samples(X, Y) -> tuple[np.ndarray, np.ndarray]:
    """X ``(n, d)`` of +-1 and Y ``(n, d+1)`` of responses the model can emit, as int8 (exact).

    A response is short (y_1 = +-1, then zeros) or long (y_1..y_d = +-1, y_{d+1} = 0 = EOS).
    """
    X, Y = np.asarray(X), np.asarray(Y)
    if X.ndim != 2 or X.shape[1] < 2:
        raise ValueError(f"X: must have shape (n, d) with d >= 2, got {X.shape}")
    n, d = X.shape
    if Y.shape != (n, d + 1):
        raise ValueError(f"Y: must have shape ({n}, {d + 1}) for X of shape {X.shape}, got {Y.shape}")
    if not np.all(np.abs(X) == 1):
        raise ValueError("X: entries must be +1 or -1")
    short = Y[:, 1] == 0
    ok = (np.abs(Y[:, 0]) == 1) & np.where(short, np.all(Y[:, 1:] == 0, axis=1),
                                           np.all(np.abs(Y[:, 1:d]) == 1, axis=1) & (Y[:, d] == 0))
    if not np.all(ok):
        raise ValueError(f"Y: row {int(np.flatnonzero(~ok)[0])} is not a response of the model "
                         "(short: y_1 = +-1 then zeros; long: d bits +-1 then 0)")
    return X.astype(np.int8, copy=False), Y.astype(np.int8, copy=False)


def check_init(init, d, init_steps) -> tuple[int, int]:
    """The warm start of :func:`~linparity.simulate.fit_samples`: ``init`` None or a LinearAR of
    dimension d; ``init_steps`` an int or a pair, returned as (k0, k_long0), both 0 without init."""
    if init is not None and (not isinstance(init, LinearAR) or init.d != d):
        raise ValueError(f"init: must be None or a LinearAR with d = {d}, got {init!r}")
    if np.ndim(init_steps) == 0:
        init_steps = (init_steps, init_steps)
    if len(init_steps) != 2:
        raise ValueError(f"init_steps: must be an integer >= 0 or a pair (k0, k_long0), got {init_steps!r}")
    k0, kl0 = (check_int("init_steps", k, 0) for k in init_steps)
    if init is None and (k0 or kl0):
        raise ValueError("init_steps: must be 0 without init (a run from w_0 = 0 has taken no step)")
    return k0, kl0


def samples_config(X, Y, lam, lam1, lam2a, lam_chain, k0, kl0) -> PretrainConfig:
    """The configuration of a run on the given samples X ``(n, d)``, Y: every head steps on every
    sample it sees (no step limits, counting the k0 / kl0 earlier steps); p_cot is unused (0)."""
    n, d = X.shape
    return make_config(d, 0.0, max(n, 1), lam, lam1, lam2a, lam_chain, k0 + n, k0 + n, kl0 + n, 1)
