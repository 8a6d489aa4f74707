"""Policy-gradient experiments (F7): REINFORCE and GRPO against their closed-form expected dynamics.

* closed form: closed_form.pg_discrete (expected update per step, reduced coordinates, the
  same learning rate), measured by closed_form.trajectory_probs / greedy_probs;
* exact enumeration: expected REINFORCE ascent on the FULL weights, w <- w + lr grad E[r] with
  the exact gradient of exact.policy_gradient (d <= 12);
* simulation: sim.run_pg, R replicates.
"""
from __future__ import annotations

import numpy as np

from .. import closed_form as cf
from .. import exact
from .. import simulate as sim
from .._checks import spawn
from ..studies.start import initial_models

#: the exact route of F7: expected REINFORCE ascent on the full weights (exact.pg_ascent, d <= 12)
exact_pg = exact.pg_ascent

__all__ = ["closed_form_pg", "exact_pg", "simulate_pg"]


def _metrics(theta, d, reward, tau) -> dict:
    tp, gp = cf.trajectory_probs(theta, d), cf.greedy_probs(theta, d)
    return {"expected_reward": cf.expected_reward(theta, d, reward, tau), "pi_long": tp.pi_long,
            "mean_length": tp.mean_length, "greedy_accuracy": gp.p_correct}


def closed_form_pg(theta0, d, lr, steps, reward="cot", temperature=1.0, algo="reinforce",
                   group_size=None) -> dict:
    """Expected discrete policy-gradient dynamics from theta0; arrays ``(steps+1,)`` of
    expected_reward (at tau), pi_long, mean_length (tau = 1) and greedy_accuracy."""
    traj = cf.pg_discrete(theta0, d, lr, steps, reward, temperature, algo,
                          group_size if algo == "grpo" else None)
    ms = [_metrics(t, d, reward, temperature) for t in traj]
    return {k: np.array([m[k] for m in ms]) for k in ms[0]}


def simulate_pg(d, p, lam, algo, steps, replicates, rng, *, lr=1.0, batch_size=256, group_size=8,
                reward="cot", temperature=1.0, eval_every=1, n_eval=1024) -> tuple[sim.PGResult, np.ndarray]:
    """REINFORCE (with the running-mean baseline) or GRPO by simulation (sim.run_pg), R replicates
    started at the exact NTP optimum (studies.start.initial_models). Returns (PGResult, theta0)."""
    g_start, g_run = spawn(rng, 2)
    W0, theta0 = initial_models(d, p, None, lam, replicates, g_start)
    cfg = sim.PGConfig(algo=algo, steps=steps, lr=lr, batch_size=batch_size, group_size=group_size,
                      reward=reward, temperature=temperature, eval_every=eval_every, n_eval=n_eval)
    return sim.run_pg(W0, cfg, g_run), theta0
