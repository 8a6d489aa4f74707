"""Head 1 at finite lambda_1 (THEORY §3-5), shared by claims 9 and 10: exact optimum, Prop 1 as stated, counterexample.

Everything is evaluated with mpmath at DIGITS digits from exact rational inputs. The regularised
optimum a(lam1) is the root of F(a) = sigma(a) - (1+p)/2 + lam1 a on [0, a*] (THEORY §4, f_1' = F),
found here independently of linparity.closed_form.
"""
from __future__ import annotations

import mpmath as mp
import sympy as sp

from ._report import DIGITS, ell, sigma, zero

#: the counterexample to both stated Prop 1 forms: p, d, lambda_1, T_1 (head-1 steps), delta
CX = {"p": sp.Rational(1, 2), "d": 5, "lam1": sp.Integer(10), "T": 10 ** 4, "delta": sp.Rational(1, 10)}


def mpf(x):
    """An exact sympy Rational / int as an mpmath number at the current precision."""
    return mp.mpf(x.p) / x.q if isinstance(x, sp.Rational) else mp.mpf(x)


def optimum(pv, lv):
    """(a(lam1), a*) at DIGITS digits: mpmath root of sigma(a) - (1+p)/2 + lam1 a on [0, a*]."""
    with mp.workdps(DIGITS):
        pv, lv = mpf(pv), mpf(lv)
        ast = mp.log((1 + pv) / (1 - pv))
        return mp.findroot(lambda x: 1 / (1 + mp.exp(-x)) - (1 + pv) / 2 + lv * x, (mp.mpf(0), ast),
                           solver="anderson"), ast


def exact_bias(pv, lv):
    """(|a(lam1) - a*|, a*): the logit-form bias of the regularised optimum."""
    a, ast = optimum(pv, lv)
    return ast - a, ast


def stated(p, d, lam1, T, delta):
    """Prop 1 as THEORY §5 states it: (logit-form bound, probability-form bound), DIGITS digits."""
    with mp.workdps(DIGITS):
        p, lam1, delta, T = mpf(p), mpf(lam1), mpf(delta), mp.mpf(T)
        r = mp.sqrt((1 + mp.log(T)) / (delta * T))
        g = mp.log((1 + p) / (1 - p)) / (1 - p ** 2)
        return 2 * d / lam1 * r + 4 * g / lam1, d / (2 * lam1) * r + g / lam1


def floors(p, lam1):
    """Lower bounds on Prop 1's two measured quantities that hold for EVERY run of Algorithm 3.

    Lemma (:func:`box_lemma`): every coordinate of head 1's iterates, hence of its average, has
    |w_j| <= 1/lam1. So max_x |<w - a* e_1, x>| = |w - a* e_1|_1 >= a* - 1/lam1, and at x_1 = +1,
    x_j = -sign(w_j) (j > 1): <w, x> <= w_1 <= 1/lam1, so max_x |sigma(<w,x>) - (1+p x_1)/2| >=
    (1+p)/2 - sigma(1/lam1). Returns (logit floor, probability floor).
    """
    with mp.workdps(DIGITS):
        p, lam1 = mpf(p), mpf(lam1)
        return mp.log((1 + p) / (1 - p)) - 1 / lam1, (1 + p) / 2 - 1 / (1 + mp.exp(-1 / lam1))


def box_lemma():
    """sympy's answer to the two steps of the lemma |w_j| <= 1/lam1 (Pegasos, step 1/(lam1 t), w = 0 at t = 1).

    (i) |d ell(m)/dm| = sigma(-m) <= 1; the gradient coordinate is y x_j ell'(.) with |y x_j| = 1.
    (ii) w_{t+1} = (1 - 1/t) w_t - g_t/(lam1 t): if |w_t| <= 1/lam1 and |g_t| <= 1 then |w_{t+1}| <=
    (1 - 1/t)/lam1 + 1/(lam1 t) = 1/lam1 (t >= 1; at t = 1 the first term vanishes). The average
    iterate is a mean of iterates, so it obeys the same bound.
    """
    m = sp.Symbol("m", real=True)
    t, lam = sp.symbols("t lambda_1", positive=True)
    grad = zero(sp.diff(ell(m), m) + sigma(-m))              # ell'(m) = -sigma(-m)
    unit = sp.simplify(1 - sigma(-m)).is_positive            # sigma(-m) < 1
    step = zero((1 - 1 / t) / lam + 1 / (lam * t) - 1 / lam)
    return [grad, unit, step]
