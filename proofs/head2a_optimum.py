"""Head 2a's unregularised optimum: P(EOS | y_1 = x_1) = (1-p)/(1+p), P(go on | y_1 = x_1) = 2p/(1+p), P(EOS | y_1 != x_1) -> 1."""
from __future__ import annotations

import sympy as sp
from scipy.special import expit

from linparity import closed_form as cf

from ._report import P_GRID, agree, all_true, ell, positive, settle, sigma, value, zero

b, c, u, v = sp.symbols("b c u v", real=True)
o = sp.Symbol("o", positive=True)       # odds p/(1-p) > 0  <=>  0 < p < 1
p = o / (1 + o)
f2a = p * ell(-(b + c)) + (1 - p) / 2 * (ell(b + c) + ell(b - c))   # THEORY §4, lambda_2a = 0
g = p * ell(-u) + (1 - p) / 2 * ell(u)      # the y_1 = x_1 branch, u = b + c
h = (1 - p) / 2 * ell(v)                    # the y_1 != x_1 branch, v = b - c (short samples only)
u_star = sp.log((1 - p) / (2 * p))


def check():
    split = zero(f2a - (g.subs(u, b + c) + h.subs(v, b - c)))          # f_2a decouples in (u, v)
    stat = zero(sp.diff(g, u).subs(u, u_star))
    convex = positive(sp.diff(g, u, 2))
    eos = zero(sigma(u_star) - (1 - p) / (1 + p))
    go_on = zero(1 - sigma(u_star) - 2 * p / (1 + p))
    bad = []
    for pv in P_GRID:
        pt = {o: pv / (1 - pv)}
        lu, lv = cf.head2a_optimum_uv(float(pv), 0.5, 0.0)
        bad.append(agree("head2a_optimum_uv u", lu, value(u_star, pt), f"p={pv}"))
        bad.append(agree("sigma(u)", expit(lu), (1 - pv) / (1 + pv), f"p={pv}"))
        bad.append(None if lv == float("inf") else f"library v = {lv} (expected +inf) at p={pv}")
    how = "f_2a = g(b+c) + h(b-c); g'(u*) = 0 at u* = ln((1-p)/(2p)), g'' > 0; library head2a_optimum_uv agrees on the p grid"
    r1 = settle("2a head 2a: P(EOS | y_1 = x_1) = sigma(u*) = (1-p)/(1+p)", all_true(split, stat, convex, eos), bad, how)
    r2 = settle("2b head 2a: P(go on | y_1 = x_1) = 2p/(1+p)", all_true(split, stat, convex, go_on), bad, how)
    # y_1 != x_1: h is strictly decreasing with infimum 0 at v -> +inf, so the optimum has sigma(v) -> 1.
    decreasing = positive(-sp.diff(h, v))
    to_one = zero(sp.limit(sigma(v), v, sp.oo) - 1)
    inf_zero = zero(sp.limit(h, v, sp.oo))
    lam, w = sp.symbols("lambda w", positive=True)
    # Regularised (lam > 0): lam v/2 = w sigma(-v) with w = (1-p)/2 gives v e^v <= 2w/lam, hence
    # 1 - sigma(v_lam) = lam v_lam/(2w) <= (lam/(2w)) ln(2w/lam) once 2w/lam >= e; -> 0 as lam -> 0.
    vanish = zero(sp.limit(lam / (2 * w) * sp.log(2 * w / lam), lam, 0, "+"))
    bad = []
    for pv in P_GRID:
        wv = (1 - pv) / 2
        for k in range(2, 10):
            lv = 10.0 ** -k
            if 2 * wv / lv < sp.E:
                continue
            _, vl = cf.head2a_optimum_uv(float(pv), 0.5, lv)
            bound = float(value(lam / (2 * w) * sp.log(2 * w / lam), {lam: sp.Rational(1, 10 ** k), w: wv}))
            if not float(expit(-vl)) <= bound * (1 + 1e-12):
                bad.append(f"1 - sigma(v) = {expit(-vl):.3e} > {bound:.3e} at p={pv}, lam2a=1e-{k}")
    r3 = settle("2c head 2a: P(EOS | y_1 != x_1) -> 1 (unregularised limit)",
                all_true(decreasing, to_one, inf_zero, vanish), bad,
                "h' < 0 everywhere, lim h = 0, lim sigma(v) = 1 (v -> +inf); regularised library optimum obeys "
                "1 - sigma(v_lam) <= (lam/(1-p)) ln((1-p)/lam) -> 0 for lam2a = 1e-2..1e-9 on the p grid")
    return [r1, r2, r3]
