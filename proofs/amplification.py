"""Length increase: STaR raises P(go on | y_1 = x_1), and the expected REINFORCE gradient lowers the stop logit u = b+c, iff the chain is right more often than a short answer (W > 1/2: W = prod kappa_l for 'cot', E_even for 'e2e')."""
from __future__ import annotations

import itertools

import numpy as np
import sympy as sp

from linparity import closed_form as cf

from ._report import agree, all_true, positive, settle, sigma, value, zero
from .trajectory_types import formulas

al, W, s, tau = sp.symbols("alpha W s tau", positive=True)
u, v = sp.symbols("u v", real=True)
be = s / (1 + s)                       # beta in (0, 1) through s = beta/(1-beta) > 0
D = 4
GRID = list(itertools.product((-1, sp.Rational(1, 2)), (-1, 1), (sp.Rational(1, 3),),
                              (0, sp.Rational(1, 2), 1, 2, 3, 5), (1, 2)))   # (a, b, c, chain c_l, tau)


def check():
    # Kept shares after y_1 = x_1: go on and right, A = alpha (1-beta) W; stop and right, B = alpha beta/2.
    A, B = al * (1 - be) * W, al * be / 2
    shift = A / (A + B) - (1 - be)     # unregularised refit: new P(go on | y_1 = x_1) = A/(A+B)
    star = all_true(zero(shift - al * be * (1 - be) * (W - sp.Rational(1, 2)) / (A + B)),
                    positive(al * be * (1 - be) / (A + B)))
    # E[r] from claim 6: 'cot' keeps exactly L(x) or S(x); 'e2e' rewards a correct last bit.
    ga = sp.Symbol("gamma", positive=True)
    ka = sp.symbols(f"kappa2:{D + 1}", positive=True)
    p_corr, p_long_ok, p_short, _ = formulas(al, sigma(u / tau), ga, ka, D)
    rewards = {"cot": (p_long_ok + p_short / 2, sp.prod(ka)), "e2e": (p_corr, (1 + sp.prod([2 * k - 1 for k in ka])) / 2)}
    b_u = sigma(u / tau)
    grads = [zero(sp.diff(Er, u) - al * b_u * (1 - b_u) * (1 - 2 * w) / (2 * tau)) for Er, w in rewards.values()]
    grads.append(positive((al * be * (1 - be) / (2 * tau))))
    bad_star, bad_pg = [], []
    for (a, b, c, cl, t), rew in itertools.product(GRID, rewards):
        th = np.array([float(a), float(b), float(c)] + [float(cl)] * (D - 1))
        pt = {al: sigma(a / t), u: b + c, tau: t, **{k: sigma(sp.sympify(cl) / t) for k in ka}}
        w_ex = value(rewards[rew][1], pt)
        where = f"theta=({a},{b},{c},{cl}), tau={t}, {rew}"
        bad_star.append(agree("amplification_margin", cf.amplification_margin(th, D, rew, float(t)), w_ex - 0.5, where))
        ks = cf.kept_stats(th, D, rew, float(t))
        A_ex, B_ex = value(A.subs({s: sp.exp((b + c) / t), W: w_ex}), pt), value(B.subs(s, sp.exp((b + c) / t)), pt)
        bad_star.append(agree("kept_stats go-on share", ks.stop[0] / (ks.stop[0] + ks.stop[2]), A_ex / (A_ex + B_ex), where))
        th2 = cf.refit(ks, D, (1e-9, 1e-9, 1e-9))            # the library's refit moves u the same way
        up = float(value(sigma(-(th2[1] + th2[2])) - (1 - sigma((b + c) / t)), {}))
        if abs(w_ex - 0.5) > 1e-6 and np.sign(up) != np.sign(float(w_ex - 0.5)):
            bad_star.append(f"refit moves P(go on) by {up:.3g} but W - 1/2 = {float(w_ex - 0.5):.3g} at {where}")
        g = cf.reward_gradient(th, D, rew, float(t))
        dEdu = value(sp.diff(rewards[rew][0], u), pt)
        bad_pg.append(agree("reward_gradient dE/du = (g_b+g_c)/2", (g[1] + g[2]) / 2, dEdu, where))
        if abs(w_ex - 0.5) > 1e-9 and cf.stop_gradient_sign(th, D, rew, float(t)) != np.sign(float(0.5 - w_ex)):
            bad_pg.append(f"stop_gradient_sign = {cf.stop_gradient_sign(th, D, rew, float(t))} at {where}")
    grid = "theta grid a in {-1,1/2}, b in {-1,1}, c = 1/3, c_l in {0,1/2,1,2,3,5}, tau in {1,2}, d=4, both rewards"
    return [settle("7a STaR raises P(go on | y_1 = x_1) iff W > 1/2 (chain beats a short answer)", star, bad_star,
                   "A/(A+B) - (1-beta) = alpha beta (1-beta)(W-1/2)/(A+B); library amplification_margin, kept_stats, "
                   "refit (lam = 1e-9) agree on the " + grid),
            settle("7b dE[r]/d(b+c) < 0 iff W > 1/2 (REINFORCE lowers the stop logit)", all_true(*grads), bad_pg,
                   "dE[r]/du = alpha beta (1-beta)(1 - 2W)/(2 tau) from claim 6's E[r], both rewards; library "
                   "reward_gradient and stop_gradient_sign agree on the " + grid)]
