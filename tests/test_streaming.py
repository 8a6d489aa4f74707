"""Streamed STaR rounds and pre-training (linparity.simulate.star_round with N > StarConfig.chunk,
linparity.simulate.fit_sample_chunks, the samples search's levels): memory bounded by the chunk,
the same computation as the unstreamed one where it is defined to be.

References: fit_samples on the concatenated samples (the unstreamed Algorithm 3); the kept sets
regenerated independently from the documented chunk seeds (key from the replicate's Generator,
then default_rng([key, c])); the unstreamed round's distribution (two-sample comparison with the
standard errors next to the assertion); tracemalloc's peak of traced allocations (numpy's arrays).
"""
from __future__ import annotations

import copy
import tracemalloc

import numpy as np
import pytest

from linparity import closed_form as cf
from linparity import simulate as sim
from linparity._checks import spawn
from linparity.data import DistinctInputs, Mixture
from linparity.experiments import ntp
from linparity.experiments import samples as sm


def _start(d, p=0.2, R=1):
    return sim.BatchedAR.from_reduced(cf.ntp_optimum(d, p, ntp.default_lam(d)), d, R)


@pytest.mark.parametrize("sizes", [[300], [100, 57, 143], [1, 1, 298]])
def test_fit_sample_chunks_is_fit_samples_on_the_concatenation(sizes):
    """d = 6 (the per-sample kernel, no blocked regrouping): the same steps in the same order, so the
    same model to rounding (one chunk: bit for bit)."""
    X, Y = Mixture(6, 0.3).sample(sum(sizes), np.random.default_rng(4))
    lam = ntp.default_lam(6)
    cuts = np.cumsum([0, *sizes])
    got = sim.fit_sample_chunks(((X[a:b], Y[a:b]) for a, b in zip(cuts, cuts[1:])), 6, lam, len(X))
    ref = sim.fit_samples(X, Y, lam)
    for g, r in zip(sim.BatchedAR.stack([got])._arrays(), sim.BatchedAR.stack([ref])._arrays()):
        np.testing.assert_allclose(g, r, rtol=1e-13, atol=1e-15) if len(sizes) > 1 else np.testing.assert_array_equal(g, r)


def test_fit_sample_chunks_refuses_more_than_n_max():
    X, Y = Mixture(4, 0.3).sample(10, np.random.default_rng(0))
    with pytest.raises(ValueError, match="chunks:"):
        sim.fit_sample_chunks([(X, Y)], 4, 0.01, 9)


def _regenerated(W, cfg, g):
    """The chunks of a streamed round rebuilt from the documented seeds (a copy of the replicate's Generator)."""
    key = copy.deepcopy(g).integers(0, 2 ** 63, size=2)
    sizes = [min(cfg.chunk, cfg.samples - s) for s in range(0, cfg.samples, cfg.chunk)]
    return [sim.sample_kept(W, n, cfg.reward, cfg.temperature, [np.random.default_rng([*key, c])])
            for c, n in enumerate(sizes)]


def test_streamed_refit_round_is_algorithm3_on_the_regenerated_kept_chunks():
    d, W = 6, _start(6)
    cfg = sim.StarConfig(rounds=1, samples=1000, variant="refit", lam=ntp.default_lam(6), chunk=256)
    g = np.random.default_rng(8)
    chunks = _regenerated(W, cfg, g)
    seen = [DistinctInputs(d)]
    new, stats = sim.star_round(W, cfg, [g], seen)
    X = np.concatenate([c[0][0][c[2][0]] for c in chunks])
    Y = np.concatenate([c[1][0][c[2][0]] for c in chunks])
    ref = sim.BatchedAR.stack([sim.fit_samples(X, Y, cfg.lam)])
    for a, b in zip(new._arrays(), ref._arrays()):
        np.testing.assert_array_equal(a, b)
    kept = sum(int(c[2].sum()) for c in chunks)
    assert stats["kept_fraction"][0] == kept / 1000
    allX = np.concatenate([c[0][0] for c in chunks])
    assert len(seen[0]) == len({tuple(x) for x in allX})        # every input counted once


def test_streamed_continue_round_matches_the_unstreamed_in_distribution():
    """One 'continue' round from the same start, 24 replicates, N = 2000: streamed (chunks of 250) and
    unstreamed give the same mean reduced coordinates within 4 standard errors of the difference
    (each replicate's own random stream differs by design)."""
    d, R, N = 6, 24, 2000
    W = _start(d, R=R)
    out = {}
    for chunk in (2 ** 16, 250):
        cfg = sim.StarConfig(rounds=1, samples=N, lam=ntp.default_lam(d), chunk=chunk, **sim.FIGURE_STAR_OPTIONS)
        new, _ = sim.star_round(W, cfg, spawn(np.random.SeedSequence(chunk), R))
        out[chunk] = new.reduced()[0]                                    # (R, d+2)
    a, b = out[2 ** 16], out[250]
    se = np.sqrt(a.var(0, ddof=1) / R + b.var(0, ddof=1) / R)
    assert np.all(np.abs(a.mean(0) - b.mean(0)) <= 4 * se + 1e-12), (a.mean(0), b.mean(0), se)


@pytest.mark.parametrize("epochs", [1, 2, 3])
def test_the_cache_of_kept_pairs_leaves_the_numbers_unchanged(epochs):
    """A streamed 'continue' round (d = 6, N = 2000 in chunks of 250, batch 7 so batches straddle chunks)
    with no cache, a cache that holds some chunks (2000 bytes, about 3 of 8 chunks' kept pairs at 13
    bytes a pair) and one that holds all: bit for bit the same model and statistics, since a cached
    chunk's kept pairs are the ones its seed regenerates."""
    d, W = 6, _start(6, R=2)
    out = []
    for cache in (0, 2000, 2 ** 20):
        cfg = sim.StarConfig(rounds=1, samples=2000, lam=ntp.default_lam(d), chunk=250, cache_bytes=cache,
                             epochs=epochs, lr=0.5, batch_size=7)
        out.append(sim.star_round(W, cfg, spawn(np.random.SeedSequence(5), 2)))
    for new, stats in out[1:]:
        for a, b in zip(new._arrays(), out[0][0]._arrays()):
            np.testing.assert_array_equal(a, b)
        for k in stats:
            np.testing.assert_array_equal(stats[k], out[0][1][k])


def test_the_cache_of_kept_pairs_is_bounded():
    """d = 16, N = 2^15 in chunks of 2^11, two epochs: the traced peak with a cache of 2^18 bytes exceeds
    the peak without one by at most those bytes, and by more than half of them (the kept pairs, about
    2^15 x 0.5 x 33 bytes, overflow it: the cache fills). The bound stream_cache_bytes charges is the
    cache size."""
    d, W = 16, _start(16)

    def round_(cache):
        cfg = sim.StarConfig(rounds=1, samples=2 ** 15, lam=ntp.default_lam(d), chunk=2 ** 11, cache_bytes=cache,
                             **sim.FIGURE_STAR_OPTIONS)
        return lambda: sim.star_round(W, cfg, [np.random.default_rng(0)])
    round_(0)()
    none, some = _peak(round_(0)), _peak(round_(2 ** 18))
    assert 2 ** 17 < some - none <= 2 ** 18, (none, some)
    assert sim.stream_cache_bytes(2 ** 15, d, 2 ** 11, 2 ** 18) == 2 ** 18
    assert sim.stream_cache_bytes(2 ** 11, d, 2 ** 11, 2 ** 18) == 0          # one chunk: drawn whole


def test_resampled_inputs_counts_the_chunks_past_the_cache():
    """Derivation: chunks of 2^11 pairs of 2d + 1 = 33 bytes; a cache of 10 chunks' bytes holds 10 chunks,
    so of N = 2^15 (16 chunks) 6 chunks are sampled again in each later epoch; none when N <= chunk."""
    c = 2 ** 11
    assert sim.resampled_inputs(2 ** 15, 16, 2, c, 10 * c * 33) == 6 * c
    assert sim.resampled_inputs(2 ** 15, 16, 3, c, 10 * c * 33 + 5) == 2 * 6 * c
    assert sim.resampled_inputs(2 ** 15, 16, 1, c, 0) == 0
    assert sim.resampled_inputs(c, 16, 2, c, 0) == 0


def _peak(fn) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_streamed_round_holds_one_chunk():
    """d = 16, chunk 2^11, no cache of kept pairs: the traced peak of a round of N = 2^14 and of N = 2^15 inputs is the same
    (within 25%: it does not grow with N), and well below the unstreamed round of N = 2^15 (< 1/4)."""
    d, W = 16, _start(16)

    def round_(N, chunk):
        cfg = sim.StarConfig(rounds=1, samples=N, lam=ntp.default_lam(d), chunk=chunk, cache_bytes=0,
                             **sim.FIGURE_STAR_OPTIONS)
        return lambda: sim.star_round(W, cfg, [np.random.default_rng(0)])
    round_(2 ** 11, 2 ** 11)()                                            # compile outside the measurement
    small, large, whole = _peak(round_(2 ** 14, 2 ** 11)), _peak(round_(2 ** 15, 2 ** 11)), _peak(round_(2 ** 15, 2 ** 16))
    assert large <= 1.25 * small and large < whole / 4, (small, large, whole)


def test_a_streamed_level_holds_one_chunk(monkeypatch):
    """The samples level (pre-training and rounds) at d = 16 with the chunk set to 2^11 and the distinct
    inputs counted as drawn (as from d = 128 on): the traced peak at T = N = 2^15 is within 25% of the
    one at 2^14 and below full_level_bytes' bound."""
    from linparity.experiments import samples_work
    monkeypatch.setattr(sim, "STREAM_CHUNK", 2 ** 11)
    for mod in (sm, samples_work):
        monkeypatch.setattr(mod, "EXACT_DISTINCT_D", 16)
    monkeypatch.setattr(sim.StarConfig, "__init__", _with_chunk(sim.StarConfig.__init__, 2 ** 11))
    lam = ntp.default_lam(16)

    def level(B):
        return lambda: sm.full_weight_level(16, 0.25, lam, B, 1, [np.random.default_rng(1)], level=1.01)
    level(2 ** 11)()
    small, large = _peak(level(2 ** 14)), _peak(level(2 ** 15))
    assert large <= 1.25 * small and large <= sm.full_level_bytes(16, 2 ** 15, 1), (small, large)


def _with_chunk(init, chunk):
    def wrapped(self, *a, **k):
        k.setdefault("chunk", chunk)
        k.setdefault("cache_bytes", 0)          # the chunk's bound alone (the cache has its own test)
        init(self, *a, **k)
    return wrapped


def test_distinct_inputs_are_counted_as_drawn_from_d_128():
    """d = 128: the count is T + N rounds (exact but for P <= n^2 / 2^129); below, the exact count."""
    lv = sm.full_weight_level(128, 0.5, ntp.default_lam(128), 64, 1, [np.random.default_rng(1)], n_eval=4096,
                              round_samples=32)
    assert lv["distinct"][0] == 64 + 32 * lv["rounds"][0]
