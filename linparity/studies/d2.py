"""The d = 2 exception to Theorem 1 (THEORY §10, docs/claims/theorem1.md): exact full-weight NTP at d = 2 vs the reduced model.

A study where two routes meet: exact enumeration (``linparity.exact``) on the full weights at
d = 2, against the reduced closed form (``linparity.closed_form``), whose optimum (a, b, c, c_l)
does not depend on d.
"""
from __future__ import annotations

import numpy as np

from ..closed_form import greedy_probs, ntp_optimum, trajectory_probs
from ..exact import exact_metrics, exact_ntp_optimum, population_ntp_loss, train_exact
from ..heads import default_lam
from ..model import LinearAR

__all__ = ["d2_study", "d2_greedy_threshold", "print_d2_study"]


def d2_study(ps=(0.1, 0.25, 0.3, 0.4, 0.6), lam=None, steps: int = 20000, step: float = 1.0):
    """Exact full-weight NTP followed by greedy decoding at d = 2, against the reduced prediction.

    For each p: :func:`train_exact` from 0 (constant ``step``, ``steps`` steps), its distance to
    the Newton optimum :func:`exact_ntp_optimum`, the off-subspace weights of the stop head, greedy
    accuracy and P(long) (:func:`exact_metrics`), against the same quantities of the reduced
    optimum restricted to the subspace (closed_form.ntp_optimum; its (a, b, c, c_2) do not depend
    on d) with closed_form.greedy_probs.

    ``lam`` None: heads.default_lam(2). Returns a list of dicts, one per p.
    """
    lam = default_lam(2) if lam is None else lam
    out = []
    for p in ps:
        m = train_exact(LinearAR.zeros(2), p, lam, steps, step)
        opt = exact_ntp_optimum(2, p, lam)
        met = exact_metrics(m, p)
        theta3 = ntp_optimum(3, p, lam)                     # (a, b, c, c, c); use (a, b, c, c_2) at d = 2
        red = LinearAR.from_reduced(2, *theta3[:3], theta3[3:4])
        red_met = exact_metrics(red, p)
        out.append({
            "p": p, "lam": lam,
            "dist_to_newton_optimum": float(np.linalg.norm(m.to_vector() - opt.to_vector())),
            "w2a": m.w2a.copy(), "b2a": m.b2a, "w1": m.w1.copy(),
            "off_subspace_norm": m.reduced().off_subspace_norm,
            "greedy_accuracy": met["greedy_accuracy"], "p_long": met["p_long"],
            "p_correct": met["p_correct"], "calibration_error": met["calibration_error"],
            "reduced_greedy_accuracy": greedy_probs(theta3, 3).p_correct,
            "reduced_greedy_accuracy_enum": red_met["greedy_accuracy"],
            "reduced_p_long": trajectory_probs(theta3, 3).p_long,
            "loss_full": float(population_ntp_loss(m, p, lam)[1]),
            "loss_reduced": float(population_ntp_loss(red, p, lam)[1]),
        })
    return out


def d2_greedy_threshold(lam, tol: float = 1e-7, reduced: bool = False) -> float:
    """Smallest p at which greedy decoding of the d = 2 full-weight NTP optimum is always right.

    With ``reduced=True``, the same for the reduced optimum (closed_form.ntp_optimum and
    greedy_probs; its (a, b, c, c_l) do not depend on d), for comparison.

    Bisection on p in (0, 1) of ``exact_metrics(exact_ntp_optimum(2, p, lam), p)['greedy_accuracy'] == 1``
    (below the threshold greedy answers (x_1, EOS) for every x, accuracy 1/2). Assumes the accuracy
    is monotone in p (checked on a grid by the d = 2 study); returns nan if it is 1 already at
    p = tol or not at p = 1 - tol.
    """
    def ok(p):
        if reduced:
            return greedy_probs(ntp_optimum(3, p, lam), 3).p_correct == 1.0
        return exact_metrics(exact_ntp_optimum(2, p, lam), p)["greedy_accuracy"] == 1.0
    lo, hi = tol, 1 - tol
    if ok(lo) or not ok(hi):
        return float("nan")
    while hi - lo > tol:
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if ok(mid) else (mid, hi)
    return hi


def print_d2_study() -> None:
    """Print the d = 2 study, its greedy threshold p_c(lam) and calibration errors."""
    lam = 1e-2
    print(f"\nd = 2: exact full-weight NTP (train_exact from 0, constant step 1, 20000 steps, lam = {lam})")
    print("  p     greedy_acc  reduced_pred  P(long)  red_P(long)  w2a[x2]  w2a[y1 x1]  b2a     "
          "off_norm  |w - w_newton|  calib_err")
    for s in d2_study(lam=lam):
        print(f"  {s['p']:<5} {s['greedy_accuracy']:10.3f}  {s['reduced_greedy_accuracy']:12.3f}  "
              f"{s['p_long']:7.3f}  {s['reduced_p_long']:11.3f}  {s['w2a'][1]:7.3f}  "
              f"{s['w2a'][3]:10.3f}  {s['b2a']:6.3f}  {s['off_subspace_norm']:8.3f}  "
              f"{s['dist_to_newton_optimum']:.1e}       {s['calibration_error']:.3f}")
    print("\nd = 2: greedy threshold p_c(lam) of the full-weight optimum (greedy always right for p > p_c,"
          "\n       1/2 below) against the reduced optimum's step (1/3 as lam -> 0), and max_x |pi(L|x) - p|"
          "\n       at p = 0.25 for the full-weight optimum and the reduced one (lam -> 0 limits: (1-p)/2 = 0.375, 0)")
    for lam in (1.0, 0.1, 1e-2, 1e-3, 1e-4, 1e-6):
        cal = exact_metrics(exact_ntp_optimum(2, 0.25, lam), 0.25)["calibration_error"]
        th = ntp_optimum(3, 0.25, lam)
        cal_red = exact_metrics(LinearAR.from_reduced(2, *th[:3], th[3:4]), 0.25)["calibration_error"]
        print(f"  lam = {lam:<7g} p_c: full {d2_greedy_threshold(lam, 1e-6):.6f}, reduced "
              f"{d2_greedy_threshold(lam, 1e-6, reduced=True):.6f}   calibration error: "
              f"full {cal:.4f}, reduced {cal_red:.4f}")
