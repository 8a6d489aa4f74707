"""STaR (Theorem 2): a calibrated model keeps D(2p/(1+p)); p_n = 2^n p_0/(2^n p_0 + 1 - p_0) (odds double); n* = max(0, floor(log2((1-p_0)/p_0))) = Theta(log((1-p)/p))."""
from __future__ import annotations

from fractions import Fraction

import sympy as sp

from linparity import closed_form as cf
from linparity.closed_form import ntp_optimum

from ._report import P_GRID, agree, all_true, positive, settle, zero

o = sp.Symbol("o", positive=True)              # odds p_0/(1-p_0) > 0  <=>  0 < p_0 < 1
n = sp.Symbol("n", integer=True, nonnegative=True)
p0 = o / (1 + o)
P = lambda k: 2 ** k * p0 / (2 ** k * p0 + 1 - p0)   # noqa: E731  the claimed closed form
LAM = 1e-12                                          # near-unregularised refit in the library's exact map
D = 4


def n_star_formula(q: Fraction) -> int:
    """max(0, floor(log2((1-q)/q))), evaluated exactly (sympy floor of an exact log)."""
    return max(0, int(sp.floor(sp.log(sp.Rational(1 - q) / sp.Rational(q), 2))))


def check():
    # Calibrated model (claim 4): keep L(x) w.p. p (always right), S(x) w.p. (1-p)/2 for every x.
    q = p0 / (p0 + (1 - p0) / 2)
    kept = zero(q - 2 * p0 / (1 + p0))                 # r = 1/2 and P(keep | x) = (1+p)/2 for every x
    bad = []
    for pv in P_GRID:
        th = ntp_optimum(D, float(pv), LAM)
        ks = cf.kept_stats(th, D)
        bad += [agree("kept_stats.q", ks.q, 2 * pv / (1 + pv), f"p={pv}", rtol=1e-8, atol=1e-8),
                agree("kept_stats.r", ks.r, sp.Rational(1, 2), f"p={pv}", rtol=1e-8, atol=1e-8)]
        sm = cf.star_map(th, D, LAM, 4)
        bad += [agree(f"star_map.pi_long[{k}]", sm.pi_long[k], P(k).subs(o, pv / (1 - pv)), f"p={pv}",
                      rtol=1e-8, atol=1e-8) for k in range(5)]
    r1 = settle("5a STaR: kept set of a calibrated model is D(2p/(1+p))", all_true(kept), bad,
                f"q = p/(p+(1-p)/2) simplifies; library kept_stats and star_map (lam={LAM}, d={D}, 4 rounds) "
                "match q and p_n on the p grid to 1e-8")
    rec = zero(P(n + 1) - 2 * P(n) / (1 + P(n)))
    start = zero(P(0) - p0)
    odds = lambda x: x / (1 - x)                        # noqa: E731
    doubles = zero(odds(2 * p0 / (1 + p0)) - 2 * odds(p0))
    bad = []
    for pv in P_GRID:
        exact = [Fraction(pv.p, pv.q)]
        for _ in range(30):
            exact.append(2 * exact[-1] / (1 + exact[-1]))
        it, cf_ = cf.ideal_recursion(float(pv), 30), cf.ideal_p(float(pv), range(31))
        bad += [agree("ideal_recursion", it[k], sp.Rational(exact[k]), f"p0={pv}, n={k}") for k in range(31)]
        bad += [agree("ideal_p", cf_[k], P(k).subs(o, pv / (1 - pv)), f"p0={pv}, n={k}") for k in range(31)]
    r2 = settle("5b STaR: p_n = 2^n p0/(2^n p0 + 1 - p0) solves p_{n+1} = 2p_n/(1+p_n)", all_true(rec, start), bad,
                "P(n+1) - 2P(n)/(1+P(n)) simplifies to 0 for symbolic n; exact Fraction recursion, "
                "library ideal_recursion and ideal_p agree for n = 0..30 on the p grid")
    r3 = settle("5c STaR: the odds p/(1-p) double every round", all_true(doubles), [],
                "odds(2p/(1+p)) = 2 odds(p) simplifies")
    gap = P(n) - sp.Rational(1, 3) - (2 ** (n + 1) * p0 - (1 - p0)) / (3 * (2 ** n * p0 + 1 - p0))
    iff = all_true(zero(gap), positive(2 ** n * p0 + 1 - p0))
    grid = [Fraction(1, 2 ** k + 1) for k in range(1, 12)] + [Fraction(1, 2 ** k + 1) + Fraction(1, 10 ** 9)
                                                             for k in range(1, 12)]
    grid += [Fraction(float(x)) for x in P_GRID] + [Fraction(1, 3), Fraction(1, 2)]
    bad = []
    for g in grid:
        brute = next(k for k in range(200) if 2 ** (k + 1) * g > 1 - g)   # exact definition of n*
        if n_star_formula(g) != brute:
            bad.append(f"formula n*={n_star_formula(g)} != {brute} at p0={g}")
        if g == Fraction(float(g)) and cf.n_star(float(g)) != brute:
            bad.append(f"library n_star={cf.n_star(float(g))} != {brute} at p0={g}")
    r4 = settle("5d n*: p_n > 1/3 iff 2^(n+1) p0 > 1 - p0", iff, [],
                "p_n - 1/3 = (2^(n+1)p0 - (1-p0))/(3(2^n p0 + 1 - p0)), denominator > 0")
    r5 = settle("5e n* = max(0, floor(log2((1-p0)/p0)))", None, bad,
                "exact rationals: boundary p0 = 1/(2^k+1) (p_{k-1} = 1/3 exactly), 1/(2^k+1) + 1e-9, k = 1..11, "
                "the p grid (exact binary values, also vs library n_star)")
    L = sp.log((1 - p0) / p0, 2)
    r6 = settle("5f n* = Theta(log((1-p)/p)) as p -> 0", all_true(zero(sp.limit(sp.floor(L) / L, o, 0, "+") - 1)), [],
                "lim_{p->0} floor(L)/L = 1 with L = log2((1-p)/p), and L-1 < n* <= L for p <= 1/3")
    return [r1, r2, r3, r4, r5, r6]
