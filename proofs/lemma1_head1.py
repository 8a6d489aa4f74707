"""Lemma 1: head 1's unregularised optimum is a* = ln((1+p)/(1-p)), and sigma(a* x_1) = (1 + p x_1)/2."""
from __future__ import annotations

import sympy as sp

from linparity import closed_form as cf

from ._report import P_GRID, agree, all_true, ell, positive, settle, sigma, value, zero

a = sp.Symbol("a", real=True)
o = sp.Symbol("o", positive=True)      # odds p/(1-p) of a long sample: o > 0  <=>  0 < p < 1
p = o / (1 + o)
f1 = (1 + p) / 2 * ell(a) + (1 - p) / 2 * ell(-a)   # THEORY §4, lambda_1 = 0
a_star = sp.log((1 + p) / (1 - p))


def _at(pv):
    return {o: pv / (1 - pv)}


def check():
    g = sp.diff(f1, a)
    grad_form = zero(g - (sigma(a) - (1 + p) / 2))       # f_1'(a) = sigma(a) - (1+p)/2
    stationary = zero(g.subs(a, a_star))
    convex = positive(sp.diff(f1, a, 2))                  # strictly convex => a* is the unique minimiser
    bad = []
    for pv in P_GRID:                                     # library drift: optimum and gradient
        ex = value(a_star, _at(pv))
        bad.append(agree("head1_optimum", cf.head1_optimum(float((1 + pv) / 2), 0.0), ex, f"p={pv}"))
        bad.append(agree("head1_grad", cf.head1_grad(float(ex), float((1 + pv) / 2), 0.0), 0, f"p={pv}",
                         atol=1e-14))
        for av in (-3, 0, sp.Rational(1, 2), 4):
            bad.append(agree("head1_grad", cf.head1_grad(float(av), float((1 + pv) / 2), 0.0),
                             value(g, {a: av, **_at(pv)}), f"a={av}, p={pv}"))
    r1 = settle("1a Lemma 1: argmin f_1 = a* = ln((1+p)/(1-p))", all_true(grad_form, stationary, convex), bad,
                "f_1' = sigma(a)-(1+p)/2 vanishes at a*, f_1'' = sigma(1-sigma) > 0 (o = p/(1-p) > 0); "
                f"library head1_optimum/head1_grad agree on p in {{{', '.join(map(str, P_GRID))}}}")
    proofs = [zero(sigma(a_star * x1) - (1 + p * x1) / 2) for x1 in (1, -1)]
    bad = []
    for pv in P_GRID:
        for x1 in (1, -1):
            lib = float(sp.N(sigma(x1 * cf.head1_optimum(float((1 + pv) / 2), 0.0)), 30))
            bad.append(agree("sigma(head1_optimum x_1)", lib, (1 + pv * x1) / 2, f"p={pv}, x1={x1}"))
    r2 = settle("1b Lemma 1: sigma(a* x_1) = (1 + p x_1)/2, x_1 = +-1", all_true(*proofs), bad,
                "simplify to 0 for x_1 = +1 and -1; library optimum agrees on the p grid")
    return [r1, r2]
