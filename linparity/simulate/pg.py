"""Policy gradient (REINFORCE, GRPO) simulated on R replicates of the full linear model (THEORY §6).

REINFORCE: w += lr (1/B) sum_i (r_i - b) grad log pi_tau(y_i|x_i), with b a running mean of past
batch rewards (or 0). GRPO: each of B inputs gets G responses, advantage
A_i = (r_i - mean_g)/(std_g + eps) within the group, w += lr (1/(B G)) sum_i A_i grad log pi_tau.
With ``length_penalty`` beta > 0 the reward is r_beta(x, y) = r(x, y) - beta (|y| - 2)/(d - 1)
(THEORY §8). The expected dynamics in closed form are :func:`linparity.closed_form.pg_discrete`
(its ``length_penalty`` the same beta).

Random streams as in :mod:`linparity.simulate.star`: replicate r draws its inputs and its sampling
uniforms from its own Generator, so its trajectory does not depend on R.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._checks import check_int, check_nonneg, check_positive, check_prob, check_temperature
from .._validate import check_alloc, check_type, pg_step_bytes
from ..data import DistinctInputs, check_reward, response_length, sample_inputs
from .batched import BatchedAR, policy_step_, rewards, sample_with_logits
from .runs import Recorder, run_streams

__all__ = ["GRPO_EPS", "PGConfig", "PGResult", "pg_step", "run_pg"]

#: epsilon of GRPO's standardised advantage (r - mean)/(std + eps), as in closed_form.grpo_weight
GRPO_EPS = 1e-8


@dataclass(frozen=True)
class PGConfig:
    """Settings of REINFORCE and GRPO."""
    algo: str                    # 'reinforce' or 'grpo'
    steps: int                   # number of updates >= 0
    lr: float = 1.0              # learning rate > 0 (ascent on E[r])
    batch_size: int = 256        # inputs per step B >= 1
    group_size: int = 8          # GRPO responses per input G >= 2
    reward: str = "cot"          # 'cot' or 'e2e'
    temperature: float = 1.0     # sampling temperature tau > 0
    baseline: bool = True        # REINFORCE: subtract a running mean of past batch rewards
    baseline_decay: float = 0.9  # b_{t+1} = decay b_t + (1 - decay) mean(r_t); b_1 = 0
    eval_every: int = 1          # record metrics every this many steps (0: only start and end)
    n_eval: int = 2048           # evaluation inputs when d > MAX_ENUM_D
    length_penalty: float = 0.0  # beta >= 0 of r_beta = r - beta (|y| - 2)/(d - 1) (THEORY §8)

    def __post_init__(self):
        if not isinstance(self.algo, str) or self.algo not in ("reinforce", "grpo"):
            raise ValueError(f"algo: must be 'reinforce' or 'grpo', got {self.algo!r}")
        check_int("steps", self.steps, 0)
        check_positive("lr", self.lr)
        check_int("batch_size", self.batch_size, 1)
        check_int("group_size", self.group_size, 2)
        check_reward(self.reward)
        check_temperature(self.temperature)
        if not isinstance(self.baseline, (bool, np.bool_)):
            raise ValueError(f"baseline: must be True or False, got {self.baseline!r}")
        check_prob("baseline_decay", self.baseline_decay)
        check_int("eval_every", self.eval_every, 0)
        check_int("n_eval", self.n_eval, 2)
        check_nonneg("length_penalty", self.length_penalty)


def pg_step(W: BatchedAR, cfg: PGConfig, gens, baseline=None, seen=None):
    """One REINFORCE or GRPO update of every replicate, in place.

    REINFORCE: w += lr (1/B) sum_i (r_i - b) grad log pi_tau(y_i|x_i), b the running-mean baseline
    (``baseline`` ``(R,)``, 0 without it). GRPO: each of B inputs gets G responses, advantage
    A_i = (r_i - mean_g)/(std_g + eps) (population std, eps = GRPO_EPS), w += lr (1/(B G)) sum A_i grad log pi.

    With ``cfg.length_penalty`` = beta the reward is r - beta (|y| - 2)/(d - 1). ``seen``: optional
    list of R data.DistinctInputs, updated with each replicate's B inputs.

    Returns the batch mean reward ``(R,)`` (penalised when beta > 0).
    """
    R, d, B = W.R, W.d, cfg.batch_size
    X = np.stack([sample_inputs(B, d, g) for g in gens])
    for r, sr in enumerate(seen or ()):
        sr.add(X[r])
    if cfg.algo == "grpo":
        X = np.repeat(X, cfg.group_size, axis=1)                     # (R, B G, d), input-major
    Y, u1, u2, uc = sample_with_logits(W, X, gens, cfg.temperature)  # logits of the sampled Y
    r = rewards(cfg.reward, X, Y)                                   # (R, n)
    if cfg.length_penalty:
        r = r - cfg.length_penalty * (response_length(Y.reshape(-1, d + 1)).reshape(r.shape) - 2) / (d - 1)
    if cfg.algo == "grpo":
        rg = r.reshape(R, B, cfg.group_size)
        A = ((rg - rg.mean(-1, keepdims=True)) / (rg.std(-1, keepdims=True) + GRPO_EPS)).reshape(R, -1)
        w = A / (B * cfg.group_size)
    else:
        b = np.zeros(R) if baseline is None else np.asarray(baseline, dtype=np.float64)
        w = (r - b[:, None]) / B
    # W += lr policy_update(W, X, Y, w, tau), compiled, reusing the decoding logits
    policy_step_(W, X, Y, (u1, u2, uc), w, cfg.temperature, cfg.lr)
    return r.mean(1)


@dataclass
class PGResult:
    """Metrics of R policy-gradient replicates at the recorded steps."""
    config: PGConfig
    steps_: np.ndarray            # (n_rec,) step index of each record (0 = start)
    expected_reward_: np.ndarray  # (R, n_rec) at the sampling temperature
    pi_long_: np.ndarray          # (R, n_rec) tau = 1
    greedy_accuracy_: np.ndarray  # (R, n_rec)
    mean_length_: np.ndarray      # (R, n_rec) tau = 1
    batch_reward_: np.ndarray     # (R, steps) mean reward of each step's batch
    distinct_inputs_: np.ndarray  # (R,) distinct inputs x drawn over all steps (THEORY §8)
    theta_: np.ndarray            # (R, n_rec, d+2) reduced coordinates
    off_subspace_norm_: np.ndarray  # (R, n_rec)
    models_: list = field(repr=False, default=None)  # R final LinearAR


def run_pg(W0: BatchedAR, cfg: PGConfig, rng=None, *, X_eval=None) -> PGResult:
    """REINFORCE or GRPO for ``cfg.steps`` steps from the R models W0 (streams as in :func:`run_star`)."""
    check_type("W0", W0, BatchedAR)
    check_type("cfg", cfg, PGConfig)
    R, d = W0.R, W0.d
    G = cfg.group_size if cfg.algo == "grpo" else 1
    # a step's inputs, responses and their float work arrays: refused by name before any work
    check_alloc("batch_size", pg_step_bytes(R, cfg.batch_size * G, d))
    gens, eval_gens, X_eval = run_streams(rng, R, d, cfg.n_eval, X_eval)
    W = W0.copy()
    record = Recorder(X_eval, cfg.reward, cfg.temperature, eval_gens)
    steps, batch_r = [0], []
    record(W)
    b = np.zeros(R)
    seen = [DistinctInputs(W.d) for _ in range(R)]
    for t in range(1, cfg.steps + 1):
        rmean = pg_step(W, cfg, gens, b if (cfg.algo == "reinforce" and cfg.baseline) else None, seen)
        b = cfg.baseline_decay * b + (1 - cfg.baseline_decay) * rmean
        batch_r.append(rmean)
        if (cfg.eval_every and t % cfg.eval_every == 0) or t == cfg.steps:
            record(W)
            steps.append(t)
    return PGResult(cfg, np.array(steps), record.col("expected_reward"), record.col("pi_long"),
                    record.col("greedy_accuracy"), record.col("mean_length"),
                    np.array(batch_r).T.reshape(R, -1), np.array([len(x) for x in seen]), record.theta(),
                    record.off(), W.models())
