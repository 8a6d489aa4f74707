"""The sub-commands' computations (``pretrain``, ``star``, ``pg``), as JSON-able summaries.

``cli.py`` only parses and prints; everything it reports is computed here, each command by any of
the three routes (``method``), named in the output.

``pretrain`` (Theorem 1), ``method``:

* ``"sgd"``: Algorithm 3 on sampled data (:func:`linparity.simulate.ntp.pretrain`), R replicates;
  measurements by :func:`linparity.measures.evaluate` (exact over x for d <= 12, else Monte Carlo).
* ``"closed-form"``: population Pegasos dynamics in reduced coordinates for the same number of
  steps (:func:`linparity.closed_form.pretrain_checkpoint`), measured by the trajectory-type
  formulas (no sampling, d >= 3); the exact regularised optimum is reported beside it.
* ``"exact"``: population Pegasos on the FULL weights over all 2^d inputs
  (:func:`linparity.exact.train_exact`, d <= 12).
"""
from __future__ import annotations

import numpy as np

from . import closed_form as cf
from ._checks import check_d, check_int, check_prob, spawn
from .data import MAX_ENUM_D
from .experiments.start import initial_models
from .heads import lam_triple
from .measures import evaluate, first_at_least
from .model import LinearAR
from .simulate import PGConfig, StarConfig, run_pg, run_star
from .theory import theorem1_report

__all__ = ["METHODS", "pretrain_summary", "star_command", "pg_command"]

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
    lams = lam_triple(lam, lam1, lam2a, lam_chain, positive=True)
    out = {"d": d, "p_cot": p, "method": method, "steps": steps, "lam": list(lams)}
    if d >= 3:
        th = cf.ntp_optimum(d, p, lams)
        out["optimum"] = {"a": th[0], "b": th[1], "c": th[2], "chain": th[3]}
    if method == "sgd":
        from .simulate import pretrain
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
            out["bounds"], out["exceedances"] = _finite_bounds(rep["bounds"], T_steps, delta), rep["exceedances"]
        return out
    if method == "closed-form":
        th = cf.pretrain_checkpoint(d, p, lams, steps)
        tp, gp = cf.trajectory_probs(th, d), cf.greedy_probs(th, d)
        out.update(pi_long=tp.pi_long, pi_short_correct=tp.pi_short_correct,
                   calibration_error=abs(tp.pi_long - p),
                   calibration_error_short=max(abs(tp.pi_short_eq - (1 - p) / 2),
                                               abs(tp.pi_short_neq - (1 - p) / 2)),
                   greedy_accuracy=gp.p_correct, mean_length=tp.mean_length,
                   reduced={"a": th[0], "b": th[1], "c": th[2], "chain_mean": float(np.mean(th[3:]))},
                   off_subspace_norm=0.0)
        return out
    from .exact import train_exact
    model = train_exact(LinearAR.zeros(d), p, lams, steps, "pegasos", progress=progress)
    ev = evaluate(model, p)
    out.update({k: v for k, v in ev.items() if isinstance(v, float)})
    out["reduced"], out["off_subspace_norm"] = _reduced_dict(model)
    return out


def star_command(d, p_cot, rounds, samples, reward="cot", temperature=1.0, variant="refit",
                 pretrain_steps=100_000, lam=0.01, replicates=1, seed=0, method="sgd", **options) -> dict:
    """``python -m linparity star``: STaR per round, with the ideal recursion and the exact map beside it.

    Returns a JSON-able dict with per-round lists (length rounds+1, round 0 = start; replicate means)
    ``pi_long``, ``p_ideal`` (p_n = 2^n p/(2^n p + 1 - p)), ``p_exact_map`` (pi(L) of
    closed_form.star_map from the starting reduced state), ``greedy_accuracy``, ``mean_length``,
    ``kept_fraction`` (E[r] of round n's model at tau: measured fraction kept for n < rounds, the
    evaluation estimate for the last entry), and scalars ``rounds_to_generalize`` (first round with
    greedy accuracy >= 0.99, None if never) and ``n_star``. ``method='closed-form'`` takes the
    measured arrays from the exact map (start: ``pretrain_checkpoint`` after pretrain_steps, or the
    optimum when pretrain_steps is None). ``options`` go to :class:`StarConfig` (epochs, lr, batch_size, n_eval).
    """
    d = check_d(d, 3)
    p = check_prob("p_cot", p_cot)
    if method not in ("sgd", "closed-form"):
        raise ValueError(f"method: must be 'sgd' or 'closed-form', got {method!r}")
    lams = lam_triple(lam, positive=True)
    cfg = StarConfig(rounds=rounds, samples=samples, reward=reward, temperature=temperature,
                     variant=variant, lam=lams, **options)
    R = check_int("replicates", replicates, 1)
    seed = check_int("seed", seed, 0)
    g_start, g_run = spawn(np.random.SeedSequence(seed), 2)
    if method == "closed-form":
        theta0 = (cf.ntp_optimum(d, p, lams) if pretrain_steps is None
                  else cf.pretrain_checkpoint(d, p, lams, check_int("pretrain_steps", pretrain_steps, 1)))
        mp = cf.star_map(theta0, d, lams, cfg.rounds, cfg.reward, cfg.temperature)
        pi_long, acc, length, kept = mp.pi_long, mp.greedy_accuracy, mp.mean_length, mp.kept_fraction
    else:
        W0, theta0 = initial_models(d, p, pretrain_steps, lams, R, g_start)
        res = run_star(W0, cfg, g_run)
        mp = cf.star_map(theta0, d, lams, cfg.rounds, cfg.reward, cfg.temperature)
        pi_long, acc = res.pi_long_.mean(0), res.greedy_accuracy_.mean(0)
        length = res.mean_length_.mean(0)
        kept = np.concatenate([res.kept_fraction_.mean(0), res.expected_reward_[:, -1:].mean(0)])
    ns = cf.n_star(p)
    return {"d": d, "p_cot": p, "method": method, "reward": cfg.reward, "temperature": cfg.temperature,
            "variant": cfg.variant, "rounds": cfg.rounds, "samples": cfg.samples, "lam": list(lams),
            "pretrain_steps": pretrain_steps, "replicates": R, "seed": seed,
            "pi_long": _list(pi_long), "p_ideal": _list(cf.ideal_recursion(p, cfg.rounds)),
            "p_exact_map": _list(mp.pi_long), "greedy_accuracy": _list(acc), "mean_length": _list(length),
            "kept_fraction": _list(kept), "rounds_to_generalize": first_at_least(acc),
            "n_star": None if not np.isfinite(ns) else int(ns)}


def pg_command(algo, d, p_cot, steps, lr=1.0, batch_size=256, group_size=8, reward="cot", temperature=1.0,
               baseline=True, pretrain_steps=100_000, lam=0.01, replicates=1, seed=0, **options) -> dict:
    """``python -m linparity pg``: REINFORCE or GRPO per step, with the closed-form expected dynamics.

    Returns per-step lists (length steps+1; replicate means) ``expected_reward``, ``pi_long``,
    ``greedy_accuracy``, ``mean_length`` and ``closed_form_expected_reward``: E[r] along
    closed_form.pg_discrete from the starting reduced state with the same lr, algorithm,
    group size, reward and temperature. ``options`` go to :class:`PGConfig` (baseline_decay, n_eval).
    """
    d = check_d(d, 3)
    p = check_prob("p_cot", p_cot)
    lams = lam_triple(lam, positive=True)
    cfg = PGConfig(algo=algo, steps=steps, lr=lr, batch_size=batch_size, group_size=group_size,
                   reward=reward, temperature=temperature, baseline=baseline, eval_every=1, **options)
    R = check_int("replicates", replicates, 1)
    seed = check_int("seed", seed, 0)
    g_start, g_run = spawn(np.random.SeedSequence(seed), 2)
    W0, theta0 = initial_models(d, p, pretrain_steps, lams, R, g_start)
    res = run_pg(W0, cfg, g_run)
    traj = cf.pg_discrete(theta0, d, cfg.lr, cfg.steps, cfg.reward, cfg.temperature, cfg.algo,
                          cfg.group_size if cfg.algo == "grpo" else None)
    cf_r = [cf.expected_reward(t, d, cfg.reward, cfg.temperature) for t in traj]
    return {"d": d, "p_cot": p, "algo": cfg.algo, "reward": cfg.reward, "temperature": cfg.temperature,
            "steps": cfg.steps, "lr": cfg.lr, "batch_size": cfg.batch_size,
            "group_size": cfg.group_size if cfg.algo == "grpo" else None, "baseline": cfg.baseline,
            "lam": list(lams), "pretrain_steps": pretrain_steps, "replicates": R, "seed": seed,
            "expected_reward": _list(res.expected_reward_.mean(0)), "pi_long": _list(res.pi_long_.mean(0)),
            "greedy_accuracy": _list(res.greedy_accuracy_.mean(0)),
            "mean_length": _list(res.mean_length_.mean(0)), "closed_form_expected_reward": _list(cf_r)}


def _finite_bounds(bounds: dict, T_steps, delta) -> dict:
    """The Prop 1-3 rows whose bound is finite; an infinite (vacuous) bound gets its reason instead.

    A bound is infinite when its head took no step (T = 0: a chain head with no long sample, e.g.
    p_cot tiny, --steps 1 or --T-chain 0) or when 1/(delta T) overflows; JSON has no infinity, and
    a silent null would hide why.
    """
    out = {}
    for name, row in bounds.items():
        if np.isfinite(row["bound"]):
            out[name] = row
            continue
        T = T_steps[0] if name.startswith("prop1") else T_steps[1] if name.startswith("prop2") else \
            np.atleast_1d(T_steps[2])[min(int(name.rsplit("_l", 1)[1]) - 2, np.size(T_steps[2]) - 1)]
        why = (f"infinite: the head took no step (T = 0)" if T == 0 else
               f"infinite: 1/(delta T) overflows at delta = {delta:g}")
        out[name] = {k: v for k, v in row.items() if k != "bound" and np.isfinite(v)} | {"bound": why}
    return out


def _list(a):
    return np.asarray(a, dtype=np.float64).tolist()
