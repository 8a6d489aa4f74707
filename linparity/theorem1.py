"""Theorem 1 (pre-training) checked by any of the three routes, as one JSON-able summary.

``method``:

* ``"sgd"``: Algorithm 3 on sampled data (:func:`linparity.pretrain.pretrain`), R replicates;
  measurements by :func:`linparity.metrics.evaluate` (exact over x for d <= 12, else Monte Carlo).
* ``"closed-form"``: population Pegasos dynamics in reduced coordinates for the same number of
  steps (:func:`linparity.rl_closed_form.pretrain_checkpoint`), measured by the trajectory-type
  formulas (no sampling, d >= 3); the exact regularised optimum is reported beside it.
* ``"exact"``: population Pegasos on the FULL weights over all 2^d inputs
  (:func:`linparity.enumeration.train_exact`, d <= 12).
"""
from __future__ import annotations

import numpy as np

from . import closed_form as cf
from ._checks import check_d, check_int, check_positive, check_prob
from .data import MAX_ENUM_D
from .metrics import evaluate
from .model import LinearAR
from .theory import theorem1_report

__all__ = ["METHODS", "pretrain_summary"]

METHODS = ("sgd", "closed-form", "exact")


def _reduced_dict(model: LinearAR) -> tuple[dict, float]:
    r = model.reduced()
    return {"a": r.a, "b": r.b, "c": r.c, "chain_mean": float(np.mean(r.chain))}, r.off_subspace_norm


def pretrain_summary(d, p_cot, method="sgd", steps=100_000, lam=0.01, *, lam1=None, lam2a=None,
                     lam_chain=None, T1=None, T2a=None, T_chain=None, replicates=1, seed=0,
                     delta=0.1, n_mc=20000, progress=False) -> dict:
    """Pre-train by ``method`` and report Theorem 1's quantities.

    Returns
    -------
    dict with keys ``d``, ``p_cot``, ``method``, ``steps``, ``lam`` (lam1, lam2a, lam_chain),
    ``pi_long``, ``pi_short_correct``, ``calibration_error`` (max over x of |pi(L|x) - p|),
    ``calibration_error_se`` (Monte Carlo only), ``greedy_accuracy``, ``mean_length`` (temperature 1),
    ``reduced`` {a, b, c, chain_mean}, ``off_subspace_norm``, ``optimum`` (exact regularised optimum,
    d >= 3) and, for ``sgd``, ``bounds``/``exceedances`` of Props 1-3 for replicate 0 and
    ``replicate_std`` (std over replicates of each scalar metric).
    """
    if method not in METHODS:
        raise ValueError(f"method: must be one of {', '.join(METHODS)}, got {method!r}")
    d = check_d(d, 3 if method == "closed-form" else 2, MAX_ENUM_D if method == "exact" else None)
    p = check_prob("p_cot", p_cot)
    steps = check_int("steps", steps, 1)
    if np.ndim(lam) == 0:
        check_positive("lam", lam)
    lams = cf.split_lam(lam)
    lams = tuple(x if o is None else o for x, o in zip(lams, (lam1, lam2a, lam_chain)))
    for name, x in zip(("lam1", "lam2a", "lam_chain"), lams):
        if x <= 0:
            raise ValueError(f"{name}: must be > 0, got {x}")
    out = {"d": d, "p_cot": p, "method": method, "steps": steps, "lam": list(lams)}
    if d >= 3:
        th = cf.ntp_optimum(d, p, lams)
        out["optimum"] = {"a": th[0], "b": th[1], "c": th[2], "chain": th[3]}
    if method == "sgd":
        from .pretrain import pretrain
        res = pretrain(d, p, steps, lams, T1=T1, T2a=T2a, T_chain=T_chain,
                       replicates=check_int("replicates", replicates, 1), rng=seed, progress=progress)
        evals = [evaluate(m, p, n_mc=n_mc, rng=seed) for m in res.models_]
        keys = [k for k, v in evals[0].items() if isinstance(v, float) and not k.endswith("_se")]
        out.update({k: float(np.mean([e[k] for e in evals])) for k in keys})
        for k in (k for k in evals[0] if k.endswith("_se") and evals[0][k] is not None):
            # standard error of the mean over replicates of Monte Carlo estimates
            out[k] = float(np.sqrt(np.mean([e[k] ** 2 for e in evals]) / len(evals)))
        if replicates > 1:
            out["replicate_std"] = {k: float(np.std([e[k] for e in evals], ddof=1)) for k in keys}
        reds = [_reduced_dict(m) for m in res.models_]
        out["reduced"] = {k: float(np.mean([r[0][k] for r in reds])) for k in reds[0][0]}
        out["off_subspace_norm"] = float(np.mean([r[1] for r in reds]))
        out["n_long"] = [int(n) for n in res.n_long_]
        # steps each head actually took in replicate 0 (the bounds need at least one)
        T_steps = (min(res.T1, steps), min(res.T2a, steps), np.minimum(res.T_chain, res.n_chain_steps_[0]))
        if 0 < p < 1 and min(T_steps[0], T_steps[1]) >= 1:
            rep = theorem1_report(res.models_[0], p, lams, T_steps, delta=delta, n_mc=n_mc, rng=seed)
            out["bounds"], out["exceedances"] = rep["bounds"], rep["exceedances"]
        return out
    if method == "closed-form":
        from .rl_closed_form import pretrain_checkpoint
        th = pretrain_checkpoint(d, p, lams, steps)
        tp, gp = cf.trajectory_probs(th, d), cf.greedy_probs(th, d)
        out.update(pi_long=tp.p_long_correct, pi_short_correct=tp.p_short_correct,
                   calibration_error=abs(tp.p_long_correct - p),
                   calibration_error_short=max(abs(tp.pi_short_eq - (1 - p) / 2),
                                               abs(tp.pi_short_neq - (1 - p) / 2)),
                   greedy_accuracy=gp.p_correct, mean_length=tp.mean_length,
                   reduced={"a": th[0], "b": th[1], "c": th[2], "chain_mean": float(np.mean(th[3:]))},
                   off_subspace_norm=0.0)
        return out
    from .enumeration import train_exact
    model = train_exact(LinearAR.zeros(d), p, lams, steps, "pegasos", progress=progress)
    ev = evaluate(model, p)
    out.update({k: v for k, v in ev.items() if isinstance(v, float)})
    out["reduced"], out["off_subspace_norm"] = _reduced_dict(model)
    return out
