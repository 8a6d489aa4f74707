"""The exact-enumeration route behind the verbs every route shares (``measure``, ``start``,
``pretrain``, ``star``, ``pg``), returning the core's records (:class:`linparity.measures.Measures`,
:class:`~linparity.measures.Trajectory`, :class:`~linparity.measures.Start`).

Each verb calls this route's own functions (no number differs from calling them directly); what only
this route has keeps its own name in :mod:`linparity.exact`. Every verb needs d <= 12.
"""
from __future__ import annotations

import numpy as np

from ..data import MAX_ENUM_D, Mixture, response_length, reward_function
from ..heads import lam_triple
from ..measures import Measures, Start, Trajectory, check_supported, evaluate, evaluate_models
from ..model import LinearAR
from . import ntp, rl

__all__ = ["ROUTE", "MIN_D", "MAX_D", "SAMPLED", "SUPPORTS", "measure", "ntp_optimum",
           "noisy_ntp_optimum", "penalised_reward", "start", "pretrain", "star", "pg"]

#: the route's name (the commands' ``method``)
ROUTE = "exact"
#: dimensions the route computes (every sum runs over the 2^d inputs)
MIN_D, MAX_D = 2, MAX_ENUM_D
#: whether the route draws samples (no: every expectation is a finite sum)
SAMPLED = False
#: settings the route restricts, per verb: {setting: (allowed values, why)}
SUPPORTS = {"star": {"reward": (("cot",), "")},
            "pg": {"algo": (("reinforce",), "expected GRPO on full weights is not implemented")}}

#: the full-weight regularised NTP optimum, a LinearAR (same verb as ``closed_form.api.ntp_optimum``)
ntp_optimum = ntp.exact_ntp_optimum


def noisy_ntp_optimum(d, p, lam, noise, noise_kind="final") -> LinearAR:
    """The regularised NTP optimum on the FULL weights for the noisy mixture, by enumeration.

    Every (x, response) of ``Mixture(d, p, noise, noise_kind).enumerate()`` with its exact weight;
    each head fit by Newton's method (:func:`linparity.exact.fit_weighted`). No reduced coordinates
    are assumed, so ``.reduced().off_subspace_norm`` of the result says whether the subspace holds.
    """
    X, Y, w = Mixture(d, p, noise, noise_kind).enumerate()
    return ntp.fit_weighted(X, Y, w, lam_triple(lam, positive=True))


def penalised_reward(reward, beta):
    """r_beta(X, Y) = r(X, Y) - beta (|y| - 2)/(d - 1) as a callable (THEORY §8)."""
    r = reward_function(reward)

    def r_beta(X, Y):
        d = np.asarray(X).shape[1]
        return r(X, Y) - beta * (response_length(Y) - 2) / (d - 1)
    return r_beta


def measure(model: LinearAR, p_cot, *, temperature=1.0, reward="cot", rng=None, n_mc=20000) -> tuple[Measures, Measures]:
    """Measures of a model by summing over all 2^d inputs and every response
    (:func:`linparity.exact.exact_metrics`, :func:`linparity.exact.expected_reward`); (means,
    standard errors: all None). ``rng`` and ``n_mc`` are unused."""
    m = Measures.of(rl.exact_metrics(model, p_cot, temperature))
    return Measures(**(m.as_dict() | {"expected_reward": rl.expected_reward(model, reward, temperature)})), Measures()


def start(d, p_cot, lam, pretrain_steps, *, optimum=None, noise=0.0, noise_kind="final", replicates=1,
          rng=None) -> Start:
    """The full-weight start of post-training: the exact optimum (``pretrain_steps`` None; the noisy
    one with noise > 0) or population Pegasos on the full weights for pretrain_steps steps from zero
    (:func:`linparity.exact.train_exact`; its chain heads count every step: ``extra['chain_steps']``).

    ``theta`` is the start's reduced coordinates; with noise, where the exact optimum leaves the
    reduced subspace, it is the given closed-form ``optimum`` (the reference's start).
    ``replicates`` and ``rng`` are unused (nothing is sampled).
    """
    lams = lam_triple(lam, positive=True)
    if noise:
        if pretrain_steps is not None:
            raise ValueError("pretrain_steps: with noise > 0 and a population method the start is the "
                             "noisy optimum; pass pretrain_steps=None (CLI: --pretrain-steps 0)")
        m = noisy_ntp_optimum(d, p_cot, lams, noise, noise_kind)
        return Start(m, m.reduced().theta if optimum is None else np.asarray(optimum, dtype=np.float64))
    if pretrain_steps is None:
        m = ntp.exact_ntp_optimum(d, p_cot, lams)
        return Start(m, m.reduced().theta)
    m = ntp.train_exact(LinearAR.zeros(d), p_cot, lams, pretrain_steps, "pegasos")
    return Start(m, m.reduced().theta, {"chain_steps": pretrain_steps})


def pretrain(d, p_cot, lam, steps, *, noise=0.0, noise_kind="final", replicates=1, T1=None, T2a=None,
             T_chain=None, n_mc=20000, progress=False, rng=None) -> Trajectory:
    """Population Pegasos on the FULL weights over all 2^d inputs for ``steps`` steps
    (:func:`linparity.exact.train_exact`), measured by :func:`linparity.measures.evaluate`; a
    one-record Trajectory at t = steps. With noise > 0: the full-weight noisy optimum (``steps``
    unused; ``extra['at_optimum']``). ``replicates``, ``T1``/``T2a``/``T_chain`` (Algorithm 3's
    per-head caps), ``n_mc`` and ``rng`` are unused (every sum is exact)."""
    lams = lam_triple(lam, positive=True)
    t = np.array([steps])
    if noise:
        model = noisy_ntp_optimum(d, p_cot, lams, noise, noise_kind)
        ev = evaluate_models([model], p_cot, n_mc=n_mc, rng=rng)[0]
        extra = {"at_optimum": True}
    else:
        model = ntp.train_exact(LinearAR.zeros(d), p_cot, lams, steps, "pegasos", progress=progress)
        ev = evaluate(model, p_cot)
        extra = {"chain_steps": steps}
    mean = Measures(**{k: np.array([v]) for k, v in Measures.of(ev).as_dict().items()})
    return Trajectory(ROUTE, "pegasos", None, t, mean, extra=extra | {"models": [model]})


def star(d, p_cot, lam, rounds, start: Start, *, samples=None, reward="cot", temperature=1.0,
         variant="continue", rng=None, progress=False, **options) -> Trajectory:
    """STaR in the infinite-sample limit on the full weights from ``start.models``, by enumeration
    (:func:`linparity.exact.star_map`; the ``refit`` variant, reported as 'refit (population)';
    reward 'cot' only). ``samples``, ``variant``, ``rng``, ``progress`` and ``options`` are unused."""
    check_supported(ROUTE, SUPPORTS, "star", reward=reward)
    em = rl.star_map(start.models, p_cot, lam_triple(lam, positive=True), rounds, temperature)
    mean = Measures(pi_long=em["pi_long"], greedy_accuracy=em["greedy_accuracy"], mean_length=em["mean_length"])
    return Trajectory(ROUTE, "star", "refit (population)", np.arange(len(em["pi_long"])), mean,
                      extra={"off_subspace_norm": em["off_norm"], "theta": em["theta"]},
                      replicates=mean.one_replicate())


def pg(d, p_cot, lam, steps, start: Start, *, algo="reinforce", lr=1.0, batch_size=256, group_size=8,
       reward="cot", temperature=1.0, baseline=True, length_penalty=0.0, rng=None, **options) -> Trajectory:
    """Expected REINFORCE ascent on the full weights from ``start.models``, by enumeration
    (:func:`linparity.exact.pg_ascent`; REINFORCE only). With a length penalty beta > 0 the ascent
    records E[r_beta] of the reward it ascends: ``extra['expected_penalised_reward']``, and
    ``expected_reward`` is None. ``batch_size``, ``group_size``, ``baseline``, ``rng`` and ``options``
    are unused (the expectation has no batch)."""
    check_supported(ROUTE, SUPPORTS, "pg", algo=algo)
    ex = rl.pg_ascent(start.models, lr, steps, penalised_reward(reward, length_penalty) if length_penalty > 0
                      else reward, temperature)
    er = {"expected_reward": ex["expected_reward"]} if length_penalty == 0 else {}
    mean = Measures(pi_long=ex["pi_long"], greedy_accuracy=ex["greedy_accuracy"], mean_length=ex["mean_length"], **er)
    extra = {"off_subspace_norm": ex["off_norm"]}
    if length_penalty > 0:
        extra["expected_penalised_reward"] = ex["expected_reward"]
    return Trajectory(ROUTE, algo, None, ex["step"], mean, extra=extra)
