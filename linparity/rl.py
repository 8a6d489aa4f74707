"""RL post-training of the linear model by simulation: STaR, REINFORCE and GRPO (THEORY §6).

The entry points of the ``star`` and ``pg`` sub-commands, and one import place for the pieces,
each in its own module:

* :mod:`linparity.rl_policy`: :class:`BatchedAR` (R models in packed layout), sampling and greedy
  decoding (compiled chain decoder, LinearAR.sample's random stream per replicate), score function,
  policy update, evaluation;
* :mod:`linparity.rl_star`: STaR (Algorithm 1), variants refit and continue;
* :mod:`linparity.rl_pg`: REINFORCE and GRPO;
* :mod:`linparity.rl_reference`: plain per-sample references (test and benchmark oracles);
* :mod:`linparity.rl_closed_form`: the closed form these simulations are checked against.

Random streams (numpy SPEC 7): ``rng`` is split with :func:`linparity._checks.spawn` into children
(start, run); the run child is split again (evaluation, replicate run) and spawned into one
Generator per replicate, so a replicate's trajectory does not depend on R.
"""
from __future__ import annotations

import numpy as np

from . import closed_form as cf
from . import rl_closed_form as rc
from ._checks import check_d, check_int, check_prob, spawn
from .pretrain import pretrain
from .rl_pg import GRPO_EPS, PGConfig, PGResult, pg_step, run_pg
from .rl_policy import (EXACT_EVAL_MAX_D, BatchedAR, evaluate_batch,
                        greedy_responses, log_prob, policy_update, sample_responses, score)
from .rl_reference import (algorithm3_reference, pg_steps_reference, policy_update_reference,
                           sample_reference, star_round_reference)
from .rl_star import StarConfig, StarResult, fit_algorithm3, run_star, sample_kept, star_round

__all__ = ["BatchedAR", "sample_responses", "greedy_responses", "log_prob", "score",
           "policy_update", "evaluate_batch", "sample_kept", "fit_algorithm3", "StarConfig", "StarResult",
           "star_round", "run_star", "PGConfig", "PGResult", "pg_step", "run_pg",
           "initial_models", "star_command", "pg_command", "sample_reference",
           "policy_update_reference", "star_round_reference", "pg_steps_reference", "algorithm3_reference",
           "GRPO_EPS", "EXACT_EVAL_MAX_D"]


# ============================================================================ starting points and CLI entry points
def initial_models(d, p_cot, pretrain_steps, lam, replicates=1, rng=None) -> tuple[BatchedAR, np.ndarray]:
    """Starting models of post-training and the reduced state the closed form starts from.

    ``pretrain_steps`` None: the exact regularised NTP optimum ``closed_form.ntp_optimum`` (a
    length-calibrated model) on the full weights, for every replicate. An int T >= 1: R replicates of
    Algorithm 3 (``linparity.pretrain.pretrain``) with T samples; the closed form then starts from
    the mean of their reduced coordinates.

    Returns (BatchedAR, theta0 ``(d+2,)``).
    """
    d = check_d(d, 3)
    p = check_prob("p_cot", p_cot)
    R = check_int("replicates", replicates, 1)
    lams = cf.split_lam(lam)
    if min(lams) <= 0:
        raise ValueError(f"lam: every lambda must be > 0, got {lam!r}")
    if pretrain_steps is None:
        theta0 = cf.ntp_optimum(d, p, lams)
        return BatchedAR.from_reduced(theta0, d, R), theta0
    T = check_int("pretrain_steps", pretrain_steps, 1)
    res = pretrain(d, p, T, lams, replicates=R, rng=rng)
    return BatchedAR.stack(res.models_), res.theta_.mean(0)


def _first_at_least(acc, level=0.99):
    hit = np.flatnonzero(np.asarray(acc) >= level)
    return int(hit[0]) if hit.size else None


def _lam_arg(lam):
    """The CLI passes a scalar or a triple in which None means 'use the first entry'."""
    if np.ndim(lam) == 0 or lam is None:
        return cf.split_lam(0.01 if lam is None else lam)
    lam = list(lam)
    base = next((x for x in lam if x is not None), 0.01)
    return cf.split_lam([base if x is None else x for x in lam])


def star_command(d, p_cot, rounds, samples, reward="cot", temperature=1.0, variant="refit",
                 pretrain_steps=100_000, lam=0.01, replicates=1, seed=0, method="sgd", **options) -> dict:
    """``python -m linparity star``: STaR per round, with the ideal recursion and the exact map beside it.

    Returns a JSON-able dict with per-round lists (length rounds+1, round 0 = start; replicate means)
    ``pi_long``, ``p_ideal`` (p_n = 2^n p/(2^n p + 1 - p)), ``p_exact_map`` (pi(L) of
    rl_closed_form.star_map from the starting reduced state), ``greedy_accuracy``, ``mean_length``,
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
    lams = _lam_arg(lam)
    cfg = StarConfig(rounds=rounds, samples=samples, reward=reward, temperature=temperature,
                     variant=variant, lam=lams, **options)
    R = check_int("replicates", replicates, 1)
    seed = check_int("seed", seed, 0)
    g_start, g_run = spawn(np.random.SeedSequence(seed), 2)
    if method == "closed-form":
        theta0 = (cf.ntp_optimum(d, p, lams) if pretrain_steps is None
                  else rc.pretrain_checkpoint(d, p, lams, check_int("pretrain_steps", pretrain_steps, 1)))
        mp = rc.star_map(theta0, d, lams, cfg.rounds, cfg.reward, cfg.temperature)
        pi_long, acc, length, kept = mp.pi_long, mp.greedy_accuracy, mp.mean_length, mp.kept_fraction
    else:
        W0, theta0 = initial_models(d, p, pretrain_steps, lams, R, g_start)
        res = run_star(W0, cfg, g_run)
        mp = rc.star_map(theta0, d, lams, cfg.rounds, cfg.reward, cfg.temperature)
        pi_long, acc = res.pi_long_.mean(0), res.greedy_accuracy_.mean(0)
        length = res.mean_length_.mean(0)
        kept = np.concatenate([res.kept_fraction_.mean(0), res.expected_reward_[:, -1:].mean(0)])
    ns = rc.n_star(p)
    return {"d": d, "p_cot": p, "method": method, "reward": cfg.reward, "temperature": cfg.temperature,
            "variant": cfg.variant, "rounds": cfg.rounds, "samples": cfg.samples, "lam": list(lams),
            "pretrain_steps": pretrain_steps, "replicates": R, "seed": seed,
            "pi_long": _list(pi_long), "p_ideal": _list(rc.ideal_recursion(p, cfg.rounds)),
            "p_exact_map": _list(mp.pi_long), "greedy_accuracy": _list(acc), "mean_length": _list(length),
            "kept_fraction": _list(kept), "rounds_to_generalize": _first_at_least(acc),
            "n_star": None if not np.isfinite(ns) else int(ns)}


def pg_command(algo, d, p_cot, steps, lr=1.0, batch_size=256, group_size=8, reward="cot", temperature=1.0,
               baseline=True, pretrain_steps=100_000, lam=0.01, replicates=1, seed=0, **options) -> dict:
    """``python -m linparity pg``: REINFORCE or GRPO per step, with the closed-form expected dynamics.

    Returns per-step lists (length steps+1; replicate means) ``expected_reward``, ``pi_long``,
    ``greedy_accuracy``, ``mean_length`` and ``closed_form_expected_reward``: E[r] along
    rl_closed_form.pg_discrete from the starting reduced state with the same lr, algorithm,
    group size, reward and temperature. ``options`` go to :class:`PGConfig` (baseline_decay, n_eval).
    """
    d = check_d(d, 3)
    p = check_prob("p_cot", p_cot)
    lams = _lam_arg(lam)
    cfg = PGConfig(algo=algo, steps=steps, lr=lr, batch_size=batch_size, group_size=group_size,
                   reward=reward, temperature=temperature, baseline=baseline, eval_every=1, **options)
    R = check_int("replicates", replicates, 1)
    seed = check_int("seed", seed, 0)
    g_start, g_run = spawn(np.random.SeedSequence(seed), 2)
    W0, theta0 = initial_models(d, p, pretrain_steps, lams, R, g_start)
    res = run_pg(W0, cfg, g_run)
    traj = rc.pg_discrete(theta0, d, cfg.lr, cfg.steps, cfg.reward, cfg.temperature, cfg.algo,
                          cfg.group_size if cfg.algo == "grpo" else None)
    cf_r = [rc.expected_reward(t, d, cfg.reward, cfg.temperature) for t in traj]
    return {"d": d, "p_cot": p, "algo": cfg.algo, "reward": cfg.reward, "temperature": cfg.temperature,
            "steps": cfg.steps, "lr": cfg.lr, "batch_size": cfg.batch_size,
            "group_size": cfg.group_size if cfg.algo == "grpo" else None, "baseline": cfg.baseline,
            "lam": list(lams), "pretrain_steps": pretrain_steps, "replicates": R, "seed": seed,
            "expected_reward": _list(res.expected_reward_.mean(0)), "pi_long": _list(res.pi_long_.mean(0)),
            "greedy_accuracy": _list(res.greedy_accuracy_.mean(0)),
            "mean_length": _list(res.mean_length_.mean(0)), "closed_form_expected_reward": _list(cf_r)}


def _list(a):
    return [float(x) for x in np.asarray(a, dtype=np.float64)]
