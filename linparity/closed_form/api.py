"""The closed-form route behind the verbs every route shares (``measure``, ``start``, ``pretrain``,
``star``, ``pg``), returning the core's records (:class:`linparity.measures.Measures`,
:class:`~linparity.measures.Trajectory`, :class:`~linparity.measures.Start`).

Each verb calls this route's own functions (no number differs from calling them directly); what only
this route has keeps its own name in :mod:`linparity.closed_form`.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from .._checks import check_prob
from ..heads import lam_triple
from ..measures import Measures, Start, Trajectory, evaluate_models
from ..model import LinearAR
from . import ntp, rl

__all__ = ["ROUTE", "MIN_D", "MAX_D", "SAMPLED", "SUPPORTS", "measure", "ntp_optimum", "start", "pretrain", "star", "pg"]

#: the route's name (the commands' ``method``)
ROUTE = "closed-form"
#: dimensions the route computes (the reduced coordinates need d >= 3; no upper limit)
MIN_D, MAX_D = 3, None
#: whether the route draws samples (no: population quantities in closed form)
SAMPLED = False
#: settings the route restricts, per verb (none: every reward and algorithm has a closed form)
SUPPORTS: dict = {}

#: the closed-form regularised NTP optimum theta ``(d+2,)`` (same verb as ``exact.api.ntp_optimum``)
ntp_optimum = ntp.ntp_optimum


def _measures(theta, d, p_cot=None, temperature=1.0, reward=None) -> Measures:
    """Measures of the reduced state theta; calibration only with p_cot, E[r] only with a reward."""
    tp = ntp.trajectory_probs(theta, d, temperature)
    cal = {}
    if p_cot is not None:
        p = check_prob("p_cot", p_cot)
        cal = {"calibration_error": abs(tp.pi_long - p),   # pi(L(x)|x) is the same for every x
               "calibration_error_short": max(abs(tp.pi_short_eq - (1 - p) / 2), abs(tp.pi_short_neq - (1 - p) / 2))}
    # greedy_probs is the tau -> 0 limit as trajectory types: its p_correct is the greedy accuracy
    return Measures(pi_long=tp.pi_long, pi_short_correct=tp.pi_short_correct, p_short=tp.p_short,
                    p_long=tp.p_long, p_correct=tp.p_correct, mean_length=tp.mean_length,
                    greedy_accuracy=ntp.greedy_probs(theta, d).p_correct,
                    expected_reward=None if reward is None else rl.expected_reward(theta, d, reward, temperature),
                    **cal)


def measure(model: LinearAR, p_cot, *, temperature=1.0, reward="cot", rng=None, n_mc=20000) -> tuple[Measures, Measures]:
    """Measures of a model on the reduced subspace, exactly; (means, standard errors: all None).

    ``rng`` and ``n_mc`` are unused (nothing is sampled). A model off the subspace has no closed form: ValueError.
    """
    r = model.reduced()
    if r.off_subspace_norm > 1e-9 * max(1.0, float(np.linalg.norm(r.theta))):
        raise ValueError(f"model: the closed form needs a model on the reduced subspace, got one "
                         f"{r.off_subspace_norm:.3g} off it")
    return _measures(r.theta, model.d, p_cot, temperature, reward), Measures()


def _series(rows) -> Measures:
    """One Measures of series ``(n,)`` from n Measures of floats."""
    return Measures(**{k: np.array([getattr(m, k) for m in rows]) for k in rows[0].as_dict()})


def start(d, p_cot, lam, pretrain_steps, *, optimum=None, noise=0.0, noise_kind="final", replicates=1,
          rng=None) -> Start:
    """The reduced start of post-training: the optimum (``pretrain_steps`` None; ``optimum`` when
    given, else :func:`ntp_optimum`) or the population Pegasos checkpoint after pretrain_steps
    (:func:`linparity.closed_form.pretrain_checkpoint`). With noise the start is the noisy optimum
    (pretrain_steps must be None). ``replicates`` and ``rng`` are unused (no sampling)."""
    lams = lam_triple(lam, positive=True)
    if noise and pretrain_steps is not None:
        raise ValueError("pretrain_steps: with noise > 0 and a population method the start is the "
                         "noisy optimum; pass pretrain_steps=None (CLI: --pretrain-steps 0)")
    if pretrain_steps is not None:
        return Start(None, ntp.pretrain_checkpoint(d, p_cot, lams, pretrain_steps))
    if optimum is None:
        optimum = (rl.noisy_ntp_optimum(d, p_cot, lams, noise, noise_kind) if noise
                   else ntp.ntp_optimum(d, p_cot, lams))
    return Start(None, np.asarray(optimum, dtype=np.float64))


def pretrain(d, p_cot, lam, steps, *, noise=0.0, noise_kind="final", replicates=1, T1=None, T2a=None,
             T_chain=None, n_mc=20000, progress=False, rng=None) -> Trajectory:
    """Pre-training by the population Pegasos dynamics in reduced coordinates, ``steps`` steps
    (:func:`linparity.closed_form.pretrain_checkpoint`), measured by the trajectory-type formulas;
    a one-record Trajectory at t = steps. With noise > 0: the noisy regularised optimum
    (``steps`` unused; ``extra['at_optimum']``), measured by :func:`linparity.measures.evaluate`
    on its full weights (n_mc inputs from ``rng`` when d > 12). ``replicates``, ``T1``/``T2a``/
    ``T_chain`` (Algorithm 3's per-head caps) and ``progress`` are unused here."""
    lams = lam_triple(lam, positive=True)
    t = np.array([steps])
    if noise:
        th = rl.noisy_ntp_optimum(d, p_cot, lams, noise, noise_kind)
        model = LinearAR.from_reduced(d, th[0], th[1], th[2], th[3:])
        ev = evaluate_models([model], p_cot, n_mc=n_mc, rng=rng)[0]
        return Trajectory(ROUTE, "pegasos", None, t, _series([Measures.of(ev)]),
                          extra={"models": [model], "theta": th, "at_optimum": True})
    th = ntp.pretrain_checkpoint(d, p_cot, lams, steps)
    m = _measures(th, d, p_cot)
    keep = ("pi_long", "pi_short_correct", "calibration_error", "calibration_error_short", "greedy_accuracy",
            "mean_length")   # the Theorem 1 measurements at temperature 1
    return Trajectory(ROUTE, "pegasos", None, t, _series([Measures(**{k: getattr(m, k) for k in keep})]),
                      extra={"theta": th})


def star(d, p_cot, lam, rounds, start: Start, *, samples=None, reward="cot", temperature=1.0,
         variant="continue", rng=None, progress=False, **options) -> Trajectory:
    """STaR in the infinite-sample limit: the exact finite-lambda map from ``start.theta``
    (:func:`linparity.closed_form.star_map`; the ``refit`` variant, reported as 'refit
    (population)'). ``samples``, ``variant``, ``rng``, ``progress`` and ``options`` are unused."""
    mp = rl.star_map(start.theta, d, lam_triple(lam, positive=True), rounds, reward, temperature)
    mean = Measures(pi_long=mp.pi_long, p_long=mp.p_long, greedy_accuracy=mp.greedy_accuracy,
                    mean_length=mp.mean_length, expected_reward=mp.kept_fraction)
    return Trajectory(ROUTE, "star", "refit (population)", np.arange(len(mp.pi_long)), mean,
                      extra={"kept_fraction": mp.kept_fraction, "kept_q": mp.q, "theta": mp.theta},
                      replicates=mean.one_replicate())


def pg(d, p_cot, lam, steps, start: Start, *, algo="reinforce", lr=1.0, batch_size=256, group_size=8,
       reward="cot", temperature=1.0, baseline=True, length_penalty=0.0, rng=None, **options) -> Trajectory:
    """The expected policy-gradient dynamics from ``start.theta`` in discrete steps
    (:func:`linparity.closed_form.pg_discrete` with its ``length_penalty``);
    ``expected_reward`` is E[r] without the penalty. ``batch_size``, ``baseline``, ``rng`` and
    ``options`` are unused (the expectation has no batch)."""
    G = group_size if algo == "grpo" else None
    traj = rl.pg_discrete(start.theta, d, lr, steps, reward, temperature, algo, G, length_penalty=length_penalty)
    # E[r] at the sampling temperature, the other measurements at tau = 1
    mean = _series([replace(_measures(t, d), expected_reward=rl.expected_reward(t, d, reward, temperature))
                    for t in traj])
    return Trajectory(ROUTE, algo, None, np.arange(len(traj)), mean, extra={"theta": traj})
