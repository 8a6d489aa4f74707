"""Greedy decoding of the NTP optimum goes on (output L(x)) iff p > 1/3, and the regularised threshold is exactly 1/3 for every lambda_2a > 0."""
from __future__ import annotations

import sympy as sp

from linparity import closed_form as cf

from ._report import P_GRID, all_true, positive, settle, sigma, theta_uv, value, zero

u, v = sp.symbols("u v", real=True)
o, lam = sp.symbols("o lambda", positive=True)   # o = p/(1-p) > 0 (0 < p < 1); lam = lambda_2a > 0
p = o / (1 + o)
u_star = sp.log((1 - p) / (2 * p))               # unregularised stop logit after y_1 = x_1 (claim 2)
D = 5                                            # d for the library's greedy decoding (any d >= 3)


def check():
    # Unregularised: u* decreases in p (o increases with p) and vanishes at p = 1/3 (o = 1/2).
    decreasing = positive(-sp.diff(u_star, o))
    root = zero(u_star.subs(o, sp.Rational(1, 2)))
    bad = []
    for pv in P_GRID:    # library greedy decoding at the optimum (v, c_l -> +inf taken as 60)
        uv = value(u_star, {o: pv / (1 - pv)})
        gp = cf.greedy_probs(theta_uv(value(sp.log((1 + p) / (1 - p)), {o: pv / (1 - pv)}), uv, 60, 60, D), D)
        want = 1.0 if pv >= sp.Rational(1, 3) else 0.5     # at p = 1/3, u* = 0 exactly: tie -> go on
        if gp.p_correct != want or (gp.p_long == 1.0) != (pv >= sp.Rational(1, 3)):
            bad.append(f"greedy_probs p_correct={gp.p_correct}, p_long={gp.p_long} at p={pv}")
    r1 = settle("3a greedy at the optimum: (x_1, EOS) if p < 1/3, L(x) if p > 1/3", all_true(decreasing, root), bad,
                "du*/dp < 0 and u*(1/3) = 0, a* > 0, chain -> +inf; at p = 1/3 exactly u* = 0 and THEORY §2's "
                "tie rule goes on, so the go-on set is p >= 1/3; library greedy_probs agrees on the p grid")
    # Regularised: the regulariser lam (b^2+c^2)/2 equals lam (u^2+v^2)/4, so the u-stationarity is
    # F(u) = lam u/2 + p sigma(u) - (1-p)/2 sigma(-u) = 0 with F increasing; u_lam < 0 iff F(0) > 0.
    b, c = (u + v) / 2, (u - v) / 2
    reg = zero((b ** 2 + c ** 2) / 2 - (u ** 2 + v ** 2) / 4)
    F = lam * u / 2 + p * sigma(u) - (1 - p) / 2 * sigma(-u)
    F_up = positive(sp.diff(F, u))
    F0 = zero(F.subs(u, 0) - (3 * p - 1) / 4)          # no lam: the threshold is p = 1/3 for every lam
    a_pos = zero((sigma(0) - (1 + p) / 2) + p / 2)     # head 1: sigma(0) - pi1 = -p/2 < 0 => a_lam > 0
    bad = []
    for lv in (1e-3, 0.1, 1.0, 10.0, 100.0):
        for pv, want in ((1 / 3 - 1e-6, 0.5), (1 / 3 + 1e-6, 1.0), (0.1, 0.5), (0.9, 1.0)):
            gp = cf.greedy_probs(cf.ntp_optimum(D, pv, (lv, lv, lv)), D)
            if gp.p_correct != want:
                bad.append(f"greedy p_correct={gp.p_correct} != {want} at p={pv}, lam={lv}")
        u13 = cf.head2a_optimum_uv(1 / 3, 0.5, lv)[0]
        if not abs(u13) <= 1e-12:
            bad.append(f"u_lam(p=1/3) = {u13} != 0 at lam2a={lv}")
    r2 = settle("3b regularised optimum: threshold p = 1/3 exactly, for every lambda_2a > 0",
                all_true(reg, F_up, F0, a_pos), bad,
                "(b^2+c^2)/2 = (u^2+v^2)/4, F' > 0, F(0) = (3p-1)/4 free of lambda; head 1 and chain logits > 0; "
                "library ntp_optimum+greedy_probs: p = 1/3 -+ 1e-6 flips at lam = 1e-3..100, u_lam(1/3) = 0")
    return [r1, r2]
