"""theory.certified_pretrain_samples: the T at which Props 1-3 certify the accuracy generalisation needs.

References: mpmath's root finder on the estimation term written out again from THEORY §5 (independent of
the Lambert-W closed form), and theory.prop1_bound / prop2_bounds / prop3_bound (the transcribed bounds)
evaluated at the returned T, which must sit exactly on each head's margin.
"""
import math

import mpmath as mp
import numpy as np
import pytest

from linparity import theory

mp.mp.dps = 30


@pytest.mark.parametrize("coef, margin, delta", [(100.0, 0.01, 0.1), (1.0, 0.5, 0.05), (3e4, 1e-3, 0.1), (50.0, 0.2, 1.0)])
def test_steps_for_estimation_against_mpmath(coef, margin, delta):
    T = theory.steps_for_estimation(coef, margin, delta)
    f = lambda t: coef * mp.sqrt((1 + mp.log(t)) / (delta * t)) - margin
    lo, hi = mp.mpf(0), mp.mpf(200)                                          # bisection in ln T: f(e^lo) > 0 > f(e^hi)
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if f(mp.e ** mid) > 0 else (lo, mid)
    assert T == pytest.approx(float(mp.e ** lo), rel=1e-9)
    assert f(T * 0.999) > 0 > f(T * 1.001)                                  # the smallest T: decreasing term


def test_steps_for_estimation_edges():
    assert theory.steps_for_estimation(1.0, 10.0, 0.1) == 1.0               # below the margin at T = 1
    assert theory.steps_for_estimation(1.0, 0.0, 0.1) == np.inf and theory.steps_for_estimation(1.0, -1, 0.1) == np.inf


@pytest.mark.parametrize("d, p", [(8, 0.25), (16, 0.1), (32, 32 ** -0.5), (24, 1 / 24)])
def test_each_head_sits_on_its_margin(d, p):
    lam = (0.01, 0.01, 0.01 / d)
    c = theory.certified_pretrain_samples(d, p, lam, delta=0.1)
    b1 = theory.prop1_bound(d, p, lam[0], c["head1"], 0.1)
    assert b1["prob_bound_corrected"] == pytest.approx(p / 2, rel=1e-8)
    if np.isfinite(c["stop_eq"]):
        assert theory.prop2_bounds(d, p, lam[1], c["stop_eq"], 0.1)["bound_eq"] == pytest.approx(p / (1 + p), rel=1e-8)
    assert theory.prop2_bounds(d, p, lam[1], c["stop_neq"], 0.1)["bound_neq"] == pytest.approx(0.5, rel=1e-8)
    chain = theory.prop3_bound(d, lam[2], c["chain_long"], 0.1)["bound"]       # (d-1,), l = 2..d
    assert chain[-1] == pytest.approx(math.log(2) / d, rel=1e-8) and np.all(chain <= chain[-1])
    assert c["T"] == max(c["head1"], c["stop_eq"], c["stop_neq"], c["chain_long"] / p) and c["T_long"] == p * c["T"]


def test_no_T_certifies_when_the_bias_exceeds_the_margin():
    """lam_chain = 0.01/d: sqrt(lam_chain) = 0.1/sqrt(d) exceeds ln 2/d from d = 49 on (0.1 sqrt(d) > ln 2)."""
    assert np.isfinite(theory.certified_pretrain_samples(48, 0.25, (0.01, 0.01, 0.01 / 48))["T"])
    assert theory.certified_pretrain_samples(49, 0.25, (0.01, 0.01, 0.01 / 49))["chain_long"] == np.inf


@pytest.mark.parametrize("kw, match", [({"p": 0.0}, "p_cot"), ({"p": 1.0}, "p_cot"), ({"d": 1}, "d"),
                                       ({"lam": (0.01, 0.0, 0.01)}, "lam"), ({"delta": 0.0}, "delta")])
def test_certified_refuses_bad_input(kw, match):
    args = {"d": 8, "p": 0.25, "lam": (0.01, 0.01, 0.001), "delta": 0.1, **kw}
    with pytest.raises(ValueError, match=match):
        theory.certified_pretrain_samples(**args)


def test_rotation_invariant_lower_is_d():
    assert theory.rotation_invariant_lower(64) == 64.0
