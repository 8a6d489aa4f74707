"""The simulation route behind the verbs every route shares (``measure``, ``start``, ``pretrain``,
``star``, ``pg``), returning the core's records (:class:`linparity.measures.Measures`,
:class:`~linparity.measures.Trajectory`, :class:`~linparity.measures.Start`).

Each verb calls this route's own functions (no number differs from calling them directly); what only
this route has keeps its own name in :mod:`linparity.simulate` (``simulate.pretrain`` is Algorithm 3
itself, returning its :class:`~linparity.simulate.PretrainResult`; the verb here measures it).
Series of R replicates are their means, with standard errors std / sqrt(R) where R > 1.
"""
from __future__ import annotations

import numpy as np

from .._checks import check_int, spawn
from ..data import Mixture, expected_distinct, long_response, reward_function, sample_inputs, short_response
from ..heads import lam_triple
from ..measures import Measures, Start, Trajectory, evaluate_models
from ..model import LinearAR
from . import ntp
from .batched import BatchedAR, greedy_responses, sample_responses
from .pg import PGConfig, run_pg
from .star import StarConfig, run_star

__all__ = ["ROUTE", "MIN_D", "MAX_D", "SAMPLED", "SUPPORTS", "measure", "start", "mixture_start", "pretrain", "star", "pg"]

#: the route's name (the commands' ``method``)
ROUTE = "sgd"
#: dimensions the route computes (no upper limit: averages over x are Monte Carlo beyond d = 12)
MIN_D, MAX_D = 2, None
#: whether the route draws samples (yes: STaR needs the number of fresh inputs per round)
SAMPLED = True
#: settings the route restricts, per verb (none)
SUPPORTS: dict = {}


def measure(model: LinearAR, p_cot, *, temperature=1.0, reward="cot", rng=None, n_mc=20000
            ) -> tuple[Measures, Measures]:
    """Measures of a model by counting n_mc sampled (x, y) and greedy responses: (means, standard
    errors of the means). ``p_cot`` is unused (calibration needs pi(L(x)|x), which is not sampled)."""
    n = check_int("n_mc", n_mc, 2)
    d = model.d
    X = sample_inputs(n, d, rng)
    W = BatchedAR.stack([model])
    Y = sample_responses(W, X[None], [rng], temperature)[0]                     # (n, d+1)
    G = greedy_responses(W, X[None])[0]
    short = Y[:, 1] == 0
    ind = {"pi_long": np.all(Y == long_response(X), axis=1),
           "pi_short_correct": np.all(Y == short_response(X), axis=1),
           "p_short": short, "p_long": ~short,
           "p_correct": reward_function("e2e")(X, Y),
           "mean_length": np.where(short, 2.0, d + 1.0),
           "greedy_accuracy": reward_function("e2e")(X, G),
           "expected_reward": reward_function(reward)(X, Y)}
    ind = {k: np.asarray(v, dtype=np.float64) for k, v in ind.items()}
    return (Measures(**{k: float(v.mean()) for k, v in ind.items()}),
            Measures(**{k: float(v.std(ddof=1) / np.sqrt(n)) for k, v in ind.items()}))


def _series(res, keys) -> tuple[Measures, Measures, Measures]:
    """Replicate means ``(n,)`` of the result's ``<key>_`` arrays ``(R, n)``, their standard errors
    (None for R = 1) and the arrays themselves (per replicate)."""
    cols = {k: getattr(res, k + "_") for k in keys}
    R = next(iter(cols.values())).shape[0]
    se = Measures(**{k: v.std(0, ddof=1) / np.sqrt(R) for k, v in cols.items()}) if R > 1 else Measures()
    return Measures(**{k: v.mean(0) for k, v in cols.items()}), se, Measures(**cols)


def start(d, p_cot, lam, pretrain_steps, *, optimum=None, noise=0.0, noise_kind="final", replicates=1,
          rng=None) -> Start:
    """R starting models of post-training, as a :class:`BatchedAR`, and their mean reduced state.

    ``pretrain_steps`` None: every replicate at the reduced ``optimum`` (required: the closed-form
    regularised optimum of the pre-training data, which this route does not compute). An int T:
    R replicates of Algorithm 3 (:func:`linparity.simulate.pretrain`) on T samples of D(p), or with
    noise > 0 on T samples of ``Mixture(d, p, noise, noise_kind)`` (``fit_samples``, batch size 1),
    replicate r drawing from child r of ``rng``; ``extra['distinct_inputs_expected']`` is then
    2^d (1 - (1-2^-d)^T).
    """
    R = check_int("replicates", replicates, 1)
    lams = lam_triple(lam, positive=True)
    if pretrain_steps is None:
        if optimum is None:
            raise ValueError("optimum: the simulation starts at a given reduced optimum when pretrain_steps is None")
        return Start(BatchedAR.from_reduced(optimum, d, R), np.asarray(optimum, dtype=np.float64))
    T = check_int("pretrain_steps", pretrain_steps, 1)
    if noise:
        return mixture_start(d, p_cot, lams, T, noise, noise_kind, R, rng)
    res = ntp.pretrain(d, p_cot, T, lams, replicates=R, rng=rng)
    return Start(BatchedAR.stack(res.models_), res.theta_.mean(0), {"distinct_inputs_expected": expected_distinct(d, T)})


def mixture_start(d, p_cot, lam, pretrain_steps, noise=0.0, noise_kind="final", replicates=1, rng=None) -> Start:
    """R models of Algorithm 3 (``fit_samples``, batch size 1) on ``pretrain_steps`` samples of
    ``Mixture(d, p_cot, noise, noise_kind)`` (also at noise 0: the mixture's own sample stream),
    replicate r drawing from child r of ``rng``; theta is their mean reduced state."""
    R = check_int("replicates", replicates, 1)
    lams = lam_triple(lam, positive=True)
    T = check_int("pretrain_steps", pretrain_steps, 1)
    mix = Mixture(d, p_cot, noise, noise_kind)
    models = [ntp.fit_samples(*mix.sample(T, g), lams) for g in spawn(rng, R)]
    return Start(BatchedAR.stack(models), np.mean([m.reduced().theta for m in models], axis=0),
                 {"distinct_inputs_expected": expected_distinct(d, T)})


def pretrain(d, p_cot, lam, steps, *, noise=0.0, noise_kind="final", replicates=1, T1=None, T2a=None,
             T_chain=None, n_mc=20000, progress=False, rng=None) -> Trajectory:
    """Algorithm 3 on sampled data, R replicates (:func:`linparity.simulate.pretrain`; with noise > 0
    on the noisy mixture, :func:`start`), measured by :func:`linparity.measures.evaluate` (exact over
    x for d <= 12, else n_mc inputs from ``rng``); a one-record Trajectory at t = steps.

    ``mean``: replicate means; ``se``: the Monte Carlo standard errors of those means (None when
    exact). ``extra``: ``models``, ``distinct_inputs_expected`` and, without noise, ``n_long`` (long
    samples per replicate), ``head_steps`` (steps each head took in replicate 0) and, for R > 1,
    ``replicate_std`` (std over replicates of each measurement).
    """
    R = check_int("replicates", replicates, 1)
    lams = lam_triple(lam, positive=True)
    extra = {}
    if noise:
        s = start(d, p_cot, lams, steps, noise=noise, noise_kind=noise_kind, replicates=R, rng=rng)
        models = s.models.models()
        extra.update(s.extra)
    else:
        res = ntp.pretrain(d, p_cot, steps, lams, T1=T1, T2a=T2a, T_chain=T_chain, replicates=R, rng=rng,
                           progress=progress)
        models = res.models_
        extra.update(distinct_inputs_expected=expected_distinct(d, steps), n_long=[int(n) for n in res.n_long_],
                     head_steps=(min(res.T1, steps), min(res.T2a, steps),
                                 np.minimum(res.T_chain, res.n_chain_steps_[0])))
    evals = evaluate_models(models, p_cot, n_mc=n_mc, rng=rng)
    keys = list(Measures.of(evals[0]).as_dict())
    mean = Measures(**{k: np.array([np.mean([e[k] for e in evals])]) for k in keys})
    # standard error of the mean over replicates of Monte Carlo estimates
    se = Measures(**{k: np.array([np.sqrt(np.mean([e[k + "_se"] ** 2 for e in evals]) / len(evals))])
                     for k in keys if evals[0].get(k + "_se") is not None})
    if R > 1 and not noise:
        extra["replicate_std"] = {k: float(np.std([e[k] for e in evals], ddof=1)) for k in keys}
    return Trajectory(ROUTE, "pegasos", None, np.array([steps]), mean, se, extra | {"models": models})


def star(d, p_cot, lam, rounds, start: Start, *, samples=None, reward="cot", temperature=1.0,
         variant="continue", rng=None, progress=False, **options) -> Trajectory:
    """Algorithm 1 (STaR) by simulation from the R models ``start.models``
    (:func:`linparity.simulate.run_star`; ``options`` go to :class:`StarConfig`: epochs, lr,
    batch_size, n_eval). ``extra``: ``kept_fraction`` ``(rounds+1,)`` (the measured fraction kept in
    rounds 1..n, then E[r] of the last model), ``distinct_inputs`` (mean over replicates),
    ``rl_samples``, ``continue_settings`` (variant 'continue'), ``models``; ``replicates``: the R
    series ``(R, rounds+1)`` whose means are ``mean``."""
    cfg = StarConfig(rounds=rounds, samples=samples, reward=reward, temperature=temperature, variant=variant,
                     lam=lam_triple(lam, positive=True), **options)
    res = run_star(start.models, cfg, rng, progress=progress)
    mean, se, reps = _series(res, ("pi_long", "greedy_accuracy", "mean_length", "expected_reward"))
    extra = {"kept_fraction": np.concatenate([res.kept_fraction_.mean(0), res.expected_reward_[:, -1:].mean(0)]),
             "distinct_inputs": float(res.distinct_inputs_.mean()), "rl_samples": cfg.rounds * cfg.samples,
             "models": res.models_}
    if cfg.variant == "continue":
        extra["continue_settings"] = {"epochs": cfg.epochs, "lr": cfg.lr, "batch_size": cfg.batch_size}
    return Trajectory(ROUTE, "star", cfg.variant, np.arange(cfg.rounds + 1), mean, se, extra, reps)


def pg(d, p_cot, lam, steps, start: Start, *, algo="reinforce", lr=1.0, batch_size=256, group_size=8,
       reward="cot", temperature=1.0, baseline=True, length_penalty=0.0, rng=None, **options) -> Trajectory:
    """REINFORCE or GRPO by simulation from the R models ``start.models``, evaluated every step
    (:func:`linparity.simulate.run_pg`; ``options`` go to :class:`PGConfig`: baseline_decay, n_eval).
    ``expected_reward`` is E[r] without the length penalty. ``extra``: ``distinct_inputs``,
    ``rl_samples`` (responses drawn), ``rl_distinct_draws`` (inputs drawn), ``models``."""
    cfg = PGConfig(algo=algo, steps=steps, lr=lr, batch_size=batch_size, group_size=group_size, reward=reward,
                   temperature=temperature, baseline=baseline, eval_every=1, length_penalty=length_penalty,
                   **options)
    res = run_pg(start.models, cfg, rng)
    mean, se, _ = _series(res, ("expected_reward", "pi_long", "greedy_accuracy", "mean_length"))
    extra = {"distinct_inputs": float(res.distinct_inputs_.mean()),
             "rl_samples": cfg.steps * cfg.batch_size * (cfg.group_size if cfg.algo == "grpo" else 1),
             "rl_distinct_draws": cfg.steps * cfg.batch_size, "models": res.models_}
    return Trajectory(ROUTE, cfg.algo, None, res.steps_, mean, se, extra)
