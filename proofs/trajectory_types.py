"""Trajectory types: in reduced coordinates the response probabilities sum to 1 and P(final answer correct) = alpha beta/2 + (1-alpha) gamma/2 + alpha (1-beta) E_even + (1-alpha)(1-gamma) E_odd."""
from __future__ import annotations

import itertools

import numpy as np
import sympy as sp

from linparity import closed_form as cf

from ._report import agree, all_true, settle, sigma, value

D_SYM = (3, 4, 5)   # d values enumerated symbolically over every input and every response


def _enumerate(d):
    """Exact sums over x in {+-1}^d and every response y, from the head definitions of THEORY §2.

    P(y_1 | x) = alpha if y_1 = x_1 else 1-alpha (logit a x_1); P(EOS | x, y_1) = beta if y_1 x_1 = 1
    else gamma (logit b + c y_1 x_1); P(y_l | prefix) = kappa_l if y_l = y_{l-1} x_l else 1-kappa_l.
    """
    al, be, ga = sp.symbols("alpha beta gamma", positive=True)
    ka = sp.symbols(f"kappa2:{d + 1}", positive=True)
    tots, correct, long_ok, short, length = [], *[sp.Integer(0)] * 4   # tots: per-input total mass
    w = sp.Rational(1, 2 ** d)                            # uniform x
    for x in itertools.product((1, -1), repeat=d):
        chi, tot = int(np.prod(x)), sp.Integer(0)
        for y1 in (1, -1):
            p1 = al if y1 == x[0] else 1 - al
            stop = be if y1 * x[0] == 1 else ga
            tot, short, length = tot + p1 * stop, short + w * p1 * stop, length + w * 2 * p1 * stop
            correct += w * p1 * stop * int(y1 == chi)
            for rest in itertools.product((1, -1), repeat=d - 1):
                y, pr = (y1,) + rest, p1 * (1 - stop)
                for l in range(1, d):
                    pr *= ka[l - 1] if y[l] == y[l - 1] * x[l] else 1 - ka[l - 1]
                tot, length = tot + pr, length + w * (d + 1) * pr
                correct += w * pr * int(y[-1] == chi)
                long_ok += w * pr * int(y == tuple(np.cumprod(x)))
        tots.append(tot)
    return (al, be, ga, ka), tots, correct, long_ok, short, length


def formulas(al, be, ga, ka, d):
    """THEORY §4's closed forms (P(correct), P(long exactly correct), P(short), mean length)."""
    e_even = (1 + sp.prod([2 * k - 1 for k in ka])) / 2
    p_short = al * be + (1 - al) * ga
    p_correct = p_short / 2 + al * (1 - be) * e_even + (1 - al) * (1 - ga) * (1 - e_even)
    return p_correct, al * (1 - be) * sp.prod(ka), p_short, 2 * p_short + (d + 1) * (1 - p_short)


def check():
    sums, forms = [], []
    for d in D_SYM:
        (al, be, ga, ka), tots, correct, long_ok, short, length = _enumerate(d)
        sums += [sp.expand(t - 1).is_zero for t in tots]                 # for every input x
        forms += [sp.expand(e - f).is_zero for e, f in zip((correct, long_ok, short, length),
                                                            formulas(al, be, ga, ka, d))]
    bad = []
    a, b, c = sp.Rational(7, 10), sp.Rational(-3, 2), sp.Rational(1, 4)
    chain = [sp.Rational(k, 3) for k in (5, -1, 2, 0, 4)]
    for d, tau in itertools.product(D_SYM, (sp.Rational(1, 2), 1, 2)):
        ka = [sigma(x / tau) for x in chain[:d - 1]]
        ex = formulas(sigma(a / tau), sigma((b + c) / tau), sigma((b - c) / tau), ka, d)
        tp = cf.trajectory_probs(np.array([float(t) for t in (a, b, c, *chain[:d - 1])]), d, float(tau))
        for name, e in zip(("p_correct", "pi_long", "p_short", "mean_length"), ex):
            bad.append(agree(f"trajectory_probs.{name}", getattr(tp, name), value(e, {}), f"d={d}, tau={tau}"))
    how = (f"expand(enumerated - formula) = 0 over all x and responses, d in {D_SYM} (general d: the sums factor "
           "as prod(kappa_l + (1-kappa_l)) and prod(kappa_l - (1-kappa_l))); library trajectory_probs agrees "
           "at a fixed rational theta, tau in {1/2, 1, 2}")
    return [settle("6a trajectory types: response probabilities sum to 1", all_true(*sums), [], how),
            settle("6b trajectory types: P(final answer correct), P(L), P(short), mean length formulas",
                   all_true(*forms), bad, how)]
