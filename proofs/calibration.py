"""Calibration: at the unregularised NTP optimum, pi(L(x)|x) = p and pi(S(x)|x) = (1-p)/2 for every input x."""
from __future__ import annotations

import numpy as np
import sympy as sp

from linparity import closed_form as cf
from linparity.data import all_inputs, long_response, short_response
from linparity.model import LinearAR

from ._report import P_GRID, agree, all_true, settle, sigma, theta_uv, value, zero

o = sp.Symbol("o", positive=True)   # odds p/(1-p) > 0  <=>  0 < p < 1
p = o / (1 + o)
a_star, u_star = sp.log((1 + p) / (1 - p)), sp.log((1 - p) / (2 * p))   # claims 1 and 2
alpha, beta = sigma(a_star), sigma(u_star)
gamma = kappa = sp.Integer(1)       # limits v -> +inf (claim 2c) and c_l -> +inf (chain realisable)
BIG = 60                            # finite stand-in for +inf in float64: e^-60 ~ 1e-26 is below rounding
D_ENUM = (3, 4, 6)                  # d values enumerated over all 2^d inputs with the full LinearAR model


def _model(pv, d):
    th = theta_uv(value(a_star, {o: pv / (1 - pv)}), value(u_star, {o: pv / (1 - pv)}), BIG, BIG, d)
    return th, LinearAR.from_reduced(d, th[0], th[1], th[2], th[3:])


def check():
    # The model sees x only through whether chi(x) = x_1. L(x) starts with y_1 = x_1 and goes on;
    # S(x) = (chi, EOS) starts with x_1 when chi = x_1 (probability alpha beta) and -x_1 otherwise ((1-alpha) gamma).
    long_ = zero(alpha * (1 - beta) * kappa - p)
    short_eq = zero(alpha * beta - (1 - p) / 2)
    short_neq = zero((1 - alpha) * gamma - (1 - p) / 2)
    bad_l, bad_s = [], []
    for pv in P_GRID:
        for d in D_ENUM:
            th, m = _model(pv, d)
            X = all_inputs(d)                                            # (2^d, d)
            piL = np.exp(m.log_prob(X, long_response(X)))                # (2^d,)
            piS = np.exp(m.log_prob(X, short_response(X)))               # (2^d,)
            bad_l += [agree(f"pi(L(x)|x), x={X[i]}", piL[i], pv, f"p={pv}, d={d}", rtol=1e-11)
                      for i in range(len(X))]
            bad_s += [agree(f"pi(S(x)|x), x={X[i]}", piS[i], (1 - pv) / 2, f"p={pv}, d={d}", rtol=1e-11)
                      for i in range(len(X))]
            tp = cf.trajectory_probs(th, d)
            bad_l.append(agree("trajectory_probs.pi_long", tp.pi_long, pv, f"p={pv}, d={d}"))
            bad_s += [agree("trajectory_probs.pi_short_eq", tp.pi_short_eq, (1 - pv) / 2, f"p={pv}, d={d}"),
                      agree("trajectory_probs.pi_short_neq", tp.pi_short_neq, (1 - pv) / 2, f"p={pv}, d={d}")]
    how = (f"reduced formulas simplify exactly; LinearAR.from_reduced at the optimum (v, c_l = {BIG}) "
           f"gives the same value for all 2^d inputs, d in {D_ENUM}, p grid; trajectory_probs agrees")
    return [settle("4a calibration: pi(L(x)|x) = p for every x", all_true(long_), bad_l, how),
            settle("4b calibration: pi(S(x)|x) = (1-p)/2 for every x", all_true(short_eq, short_neq), bad_s, how)]
