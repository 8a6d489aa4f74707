"""Head 1's regularised optimum is a(lam1) = a* - 4 lam1 a*/(1-p^2) + O(lam1^2); Prop 1's transcribed bias term 4 a*/((1-p^2) lam1) has lam1 inverted and is no bound for lam1 > 4/(1-p^2)."""
from __future__ import annotations

import mpmath as mp
import sympy as sp

from linparity import theory

from ._report import DIGITS, P_GRID, agree, all_true, positive, settle, sigma, zero

a, lam, o, t = sp.symbols("a lambda o t", positive=True)   # o = p/(1-p) > 0 (0 < p < 1); t = e^a - 1 >= 0
p = o / (1 + o)
a_star = sp.log((1 + p) / (1 - p))
F = sigma(a) - (1 + p) / 2 + lam * a                     # f_1'(a); a(lam) is its root (f_1'' > 0)
LAMS = [sp.Rational(x) for x in ("1e-6", "1e-3", "1/10", "1", "5/4", "2", "4", "6", "10", "100", "1000")]
D, T_INF, DELTA = 5, 1e300, 0.1                          # estimation term of Prop 1 ~ 0 at T = 1e300


def _mpf(x):
    return mp.mpf(x.p) / x.q if isinstance(x, sp.Rational) else mp.mpf(x)


def exact_bias(pv, lv):
    """|a(lam) - a*| at DIGITS digits: mpmath root of sigma(a) - (1+p)/2 + lam a on [0, a*]."""
    with mp.workdps(DIGITS):
        pv, lv = _mpf(pv), _mpf(lv)
        ast = mp.log((1 + pv) / (1 - pv))
        root = mp.findroot(lambda x: 1 / (1 + mp.exp(-x)) - (1 + pv) / 2 + lv * x, (mp.mpf(0), ast), solver="anderson")
        return ast - root, ast


def crossover(pv):
    """lam1 at which the transcribed term equals the exact bias (it is violated above)."""
    with mp.workdps(DIGITS):
        q = _mpf(pv)
        g = lambda lv: exact_bias(pv, lv)[0] * lv * (1 - q ** 2) - 4 * exact_bias(pv, 1)[1]  # noqa: E731
        return mp.findroot(g, (4 / (1 - q ** 2), mp.mpf(10) ** 6), solver="anderson")


def check():
    a1 = (-sp.diff(F, lam) / sp.diff(F, a)).subs({lam: 0}).subs(a, a_star)    # implicit da/dlam at lam = 0
    first = zero(a1 + 4 * a_star / (1 - p ** 2))
    inside = all_true(positive(-F.subs(a, 0)), positive(F.subs(a, a_star)))   # 0 < a(lam) < a*
    slope = sp.diff(sigma(a), a).subs(a, a_star)
    concave = positive(-sp.diff(sigma(a), a, 2).subs(a, sp.log(1 + t)))       # sigma'' <= 0 on a >= 0
    bad1, bad_t, bad_c, cross = [], [], [], []
    for pv in P_GRID:
        for lv in LAMS:
            bias, ast = exact_bias(pv, lv)
            where = f"p={pv}, lam1={lv}"
            bad1.append(agree("theory.regularisation_bias prop1", theory.regularisation_bias(D, float(pv), (float(lv), 1, 1))["prop1"],
                              sp.Float(bias, DIGITS), where, rtol=1e-8))
            term = theory.prop1_bound(D, float(pv), float(lv), T_INF, DELTA)["bias"]
            bad1.append(agree("theory.prop1_bound bias", term, 4 * sp.Float(ast, DIGITS) / ((1 - pv ** 2) * lv), where))
            if not bias <= term:
                bad_t.append(f"exact bias {float(bias):.4g} > transcribed term {term:.4g} at {where}")
            if not bias <= 4 * lv * ast / (1 - pv ** 2):
                bad_c.append(f"exact bias {float(bias):.4g} > 4 lam a*/(1-p^2) at {where}")
            if lv <= 4 / (1 - pv ** 2) and not bias <= term:
                cross.append(f"violated below 4/(1-p^2) at {where}")
        with mp.workdps(DIGITS):   # first order: (a(lam) - a*)/lam -> -4 a*/(1-p^2) as lam -> 0
            b, ast = exact_bias(pv, sp.Rational(1, 10 ** 20))
            bad1.append(agree("slope", -b * 10 ** 20, -4 * sp.Float(ast, DIGITS) / (1 - pv ** 2), f"p={pv}", rtol=1e-15))
    lam_grid = f"lam1 in {{{', '.join(map(str, LAMS))}}} x p grid, mpmath {DIGITS} digits"
    return [
        settle("9a head 1: a(lam1) = a* - 4 lam1 a*/(1-p^2) + O(lam1^2)", first, bad1,
               "implicit differentiation of sigma(a) - (1+p)/2 + lam1 a = 0 at (a*, 0); library regularisation_bias "
               f"and prop1_bound agree with mpmath on {lam_grid}"),
        settle("9b Prop 1 bias term 4 a*/((1-p^2) lam1) (as transcribed) bounds |a(lam1) - a*| for all lam1 > 0",
               None, bad_t, f"transcribed term (theory.prop1_bound at T = {T_INF:g}) vs exact bias on {lam_grid}; "
               "Algorithm 3's average iterate tends to a(lam1) as T -> inf while the estimation term -> 0, so "
               "Prop 1 as a whole fails there too; the term has lam1 inverted (9a, 9d)"),
        settle("9c ... it does bound it where lam1 <= 4/(1-p^2) (there it exceeds a* >= the bias)",
               all_true(inside), cross, "F(0) = -p/2 < 0 < F(a*) = lam1 a*, so 0 < a(lam1) < a*; exact grid agrees; "
               "violated above lam_c(p) = " + ", ".join(f"{float(crossover(q)):.4g} (p={q})" for q in P_GRID[2::3])),
        settle("9d corrected term 4 lam1 a*/(1-p^2) bounds |a(lam1) - a*| for all lam1 > 0",
               all_true(inside, concave, zero(slope - (1 - p ** 2) / 4)), bad_c,
               "sigma concave on a >= 0 and sigma'(a*) = (1-p^2)/4 give a* - a = lam1 a/sigma'(xi) <= 4 lam1 a*/(1-p^2); "
               "exact grid agrees; tight to first order (9a)")]
