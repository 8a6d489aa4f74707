"""Policy-gradient experiments (F7): REINFORCE and GRPO against their closed-form expected dynamics.

* closed form: rl_closed_form.pg_discrete (expected update per step, reduced coordinates, the
  same learning rate), measured by closed_form.trajectory_probs / greedy_probs;
* exact enumeration: expected REINFORCE ascent on the FULL weights, w <- w + lr grad E[r] with
  the exact gradient of enumeration.policy_gradient (d <= 12);
* simulation: rl.run_pg, R replicates.
"""
from __future__ import annotations

import numpy as np

from .. import closed_form as cf
from .. import enumeration as en
from .. import rl
from .. import rl_closed_form as rc
from .._checks import check_int, spawn
from ..model import LinearAR

__all__ = ["closed_form_pg", "exact_pg", "simulate_pg"]


def _metrics(theta, d, reward, tau) -> dict:
    tp, gp = cf.trajectory_probs(theta, d), cf.greedy_probs(theta, d)
    return {"expected_reward": rc.expected_reward(theta, d, reward, tau), "pi_long": tp.p_long_correct,
            "mean_length": tp.mean_length, "greedy_accuracy": gp.p_correct}


def closed_form_pg(theta0, d, lr, steps, reward="cot", temperature=1.0, algo="reinforce",
                   group_size=None) -> dict:
    """Expected discrete policy-gradient dynamics from theta0; arrays ``(steps+1,)`` of
    expected_reward (at tau), pi_long, mean_length (tau = 1) and greedy_accuracy."""
    traj = rc.pg_discrete(theta0, d, lr, steps, reward, temperature, algo,
                          group_size if algo == "grpo" else None)
    ms = [_metrics(t, d, reward, temperature) for t in traj]
    return {k: np.array([m[k] for m in ms]) for k in ms[0]}


def exact_pg(model0: LinearAR, lr, steps, reward="cot", temperature=1.0, every=1) -> dict:
    """Expected REINFORCE ascent on the full weights (enumeration.policy_gradient), recorded every
    ``every`` steps: arrays over records of step, expected_reward, pi_long, mean_length,
    greedy_accuracy and off_norm (norm off the reduced subspace)."""
    steps, every = check_int("steps", steps, 0), check_int("every", every, 1)
    d = model0.d
    vec = model0.to_vector()
    rec = {k: [] for k in ("step", "expected_reward", "pi_long", "mean_length", "greedy_accuracy", "off_norm")}
    for t in range(steps + 1):
        m = LinearAR.from_vector(d, vec)
        g, val = en.policy_gradient(m, reward, temperature, return_value=True)
        if t % every == 0 or t == steps:
            e = en.exact_metrics(m, 0.5)
            rec["step"].append(t)
            rec["expected_reward"].append(val)
            rec["pi_long"].append(e["p_long_correct"])
            rec["mean_length"].append(e["mean_length"])
            rec["greedy_accuracy"].append(e["greedy_accuracy"])
            rec["off_norm"].append(m.reduced().off_subspace_norm)
        vec = vec + lr * g.to_vector()
    return {k: np.array(v) for k, v in rec.items()}


def simulate_pg(d, p, lam, algo, steps, replicates, rng, *, lr=1.0, batch_size=256, group_size=8,
                reward="cot", temperature=1.0, eval_every=1, n_eval=1024) -> tuple[rl.PGResult, np.ndarray]:
    """REINFORCE (with the running-mean baseline) or GRPO by simulation (rl.run_pg), R replicates
    started at the exact NTP optimum (rl.initial_models). Returns (PGResult, theta0)."""
    g_start, g_run = spawn(rng, 2)
    W0, theta0 = rl.initial_models(d, p, None, lam, replicates, g_start)
    cfg = rl.PGConfig(algo=algo, steps=steps, lr=lr, batch_size=batch_size, group_size=group_size,
                      reward=reward, temperature=temperature, eval_every=eval_every, n_eval=n_eval)
    return rl.run_pg(W0, cfg, g_run), theta0
