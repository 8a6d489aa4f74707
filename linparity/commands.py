"""The sub-commands' computations (``pretrain``, ``star``, ``pg``), as JSON-able summaries.

The CLI (``linparity.cli``) only parses and prints; everything it reports is computed here, each
command by any of the three routes (``method``), named in the output.

``pretrain`` (Theorem 1), ``method``:

* ``"sgd"``: Algorithm 3 on sampled data (:func:`linparity.simulate.ntp.pretrain`), R replicates;
  measurements by :func:`linparity.measures.evaluate` (exact over x for d <= 12, else Monte Carlo).
* ``"closed-form"``: population Pegasos dynamics in reduced coordinates for the same number of
  steps (:func:`linparity.closed_form.pretrain_checkpoint`), measured by the trajectory-type
  formulas (no sampling, d >= 3); the exact regularised optimum is reported beside it.
* ``"exact"``: population Pegasos on the FULL weights over all 2^d inputs
  (:func:`linparity.exact.train_exact`, d <= 12).

``star`` and ``pg`` take the same three methods: ``sgd`` simulates the algorithm, ``closed-form``
iterates the population dynamics in reduced coordinates (the exact STaR map; the expected
policy-gradient steps), ``exact`` does the same on the full weights by enumeration (d <= 12).

Every command reports ``converged`` (with ``unconverged_heads``): Pegasos with step 1/(lambda t)
needs T >~ 10/lambda steps per head to forget its start, so a head with fewer steps is flagged
(:func:`convergence`). Sample counts come with distinct-input counts (THEORY §8): ``distinct_inputs``
where the inputs are drawn and counted (``star``/``pg`` with ``sgd``: the mean over replicates),
``distinct_inputs_expected`` / ``distinct_inputs_pretrain_expected`` where only the expectation
2^d (1 - (1-2^-d)^T) is known (Algorithm 3 pre-training, which does not hand its samples out).
"""
from __future__ import annotations

import numpy as np

from . import closed_form as cf
from ._checks import check_d, check_int, check_prob, spawn
from .closed_form import api as closed_form_api
from .data import Mixture
from .exact import api as exact_api
from .heads import CONVERGENCE_FACTOR, default_lam, lam_triple
from .measures import Measures, check_supported, first_at_least
from .model import LinearAR
from .simulate import PGConfig, StarConfig
from .simulate import api as simulate_api
from .theory import theorem1_report

__all__ = ["METHODS", "CONVERGENCE_FACTOR", "convergence", "pretrain_summary", "star_command", "pg_command"]

#: each method's route: a module with the shared verbs (measure, start, pretrain, star, pg) and its
#: limits (MIN_D, MAX_D, SAMPLED, SUPPORTS)
ROUTES = {"sgd": simulate_api, "closed-form": closed_form_api, "exact": exact_api}
METHODS = tuple(ROUTES)


def convergence(p, lams, steps, T1=None, T2a=None, T_chain=None, chain_steps=None) -> dict:
    """Whether each head of Algorithm 3 (or its population dynamics) ran long enough to forget its start.

    Pegasos with step 1/(lambda t) averages the iterates; its distance to the optimum decays like
    1/(lambda T), so a head is flagged when its step count T_h < CONVERGENCE_FACTOR / lambda_h
    (factor 10). Steps: head 1 min(T1, steps), head 2a min(T2a, steps), chain heads ``chain_steps``
    (default p * steps, the expected number of long samples, capped by T_chain).

    Returns {"converged": bool, "unconverged_heads": [names], "head_steps": {name: T_h},
    "steps_needed": {name: 10/lambda_h}}.
    """
    l1, l2, lc = lams
    t1 = steps if T1 is None else min(T1, steps)
    t2 = steps if T2a is None else min(T2a, steps)
    tc = p * steps if chain_steps is None else chain_steps
    if T_chain is not None:
        tc = min(tc, T_chain)
    steps_h = {"head1": float(t1), "stop": float(t2), "chain": float(tc)}
    need = {"head1": CONVERGENCE_FACTOR / l1, "stop": CONVERGENCE_FACTOR / l2, "chain": CONVERGENCE_FACTOR / lc}
    if p == 0:  # no long samples: the chain heads are untrained by definition, not unconverged
        steps_h.pop("chain"), need.pop("chain")
    bad = [h for h in steps_h if steps_h[h] < need[h]]
    return {"converged": not bad, "unconverged_heads": bad, "head_steps": steps_h, "steps_needed": need}


def _start_convergence(p, lams, pretrain_steps, start) -> dict:
    """Convergence of the pre-training that gives the RL start (None: the exact optimum, converged)."""
    if pretrain_steps is None:
        return {"converged": True, "unconverged_heads": []}
    return convergence(p, lams, pretrain_steps, chain_steps=start.extra.get("chain_steps"))


def _noise_keys(noisy) -> dict:
    """The JSON keys ``noise`` and ``noise_kind`` of a noisy mixture spec (or of none)."""
    return {"noise": 0.0 if noisy is None else noisy.noise, "noise_kind": None if noisy is None else noisy.noise_kind}


def _noisy(noise, noise_kind) -> Mixture | None:
    """A validated noisy mixture spec (d, p filled later), or None without noise."""
    m = Mixture(3, 0.5, noise, noise_kind)
    return None if m.noise == 0 else m


def _noise_args(noisy) -> dict:
    """The routes' ``noise``/``noise_kind`` arguments of a noisy mixture spec (or of none)."""
    return {"noise": 0.0, "noise_kind": "final"} if noisy is None else {"noise": noisy.noise,
                                                                        "noise_kind": noisy.noise_kind}


def _reduced_dict(model: LinearAR) -> tuple[dict, float]:
    r = model.reduced()
    return {"a": r.a, "b": r.b, "c": r.c, "chain_mean": float(np.mean(r.chain))}, r.off_subspace_norm


def _reduced(extra: dict) -> tuple[dict, float]:
    """Mean reduced coordinates {a, b, c, chain_mean} and off-subspace norm of a run's ``models``
    (the closed form's ``theta`` where it has no models: on the subspace)."""
    if "models" not in extra:
        th = extra["theta"]
        return {"a": th[0], "b": th[1], "c": th[2], "chain_mean": float(np.mean(th[3:]))}, 0.0
    reds = [_reduced_dict(m) for m in extra["models"]]
    if len(reds) == 1:
        return reds[0]
    return ({k: float(np.mean([r[0][k] for r in reds])) for k in reds[0][0]},
            float(np.mean([r[1] for r in reds])))


def _last(m: Measures, suffix: str = "") -> dict:
    """The last record of each computed series of a Trajectory's Measures, as floats."""
    return {k + suffix: float(v[-1]) for k, v in m.as_dict().items()}


def pretrain_summary(d, p_cot, method="sgd", steps=100_000, lam=None, *, lam1=None, lam2a=None,
                     lam_chain=None, T1=None, T2a=None, T_chain=None, replicates=1, seed=0,
                     delta=0.1, n_mc=20000, progress=False, noise=0.0, noise_kind="final") -> dict:
    """Pre-train by ``method`` (its route's ``pretrain`` verb, :data:`ROUTES`) and report Theorem 1's quantities.

    With ``noise`` = eps_n > 0 the data are ``Mixture(d, p, noise, noise_kind)`` (THEORY §8): ``sgd``
    runs Algorithm 3 (batch 1) on sampled noisy data (``simulate.fit_samples``; T1/T2a/T_chain are
    not supported there), ``closed-form`` reports the exact regularised optimum with the noisy
    per-head targets (``closed_form.noisy_ntp_optimum``; ``steps`` unused) and ``exact`` the
    full-weight optimum on the enumerated noisy mixture (``exact.fit_weighted``; ``steps`` unused).
    Measurements stay those of D(p) (pi_long is the clean chain's probability).

    Returns
    -------
    dict with keys ``d``, ``p_cot``, ``method``, ``steps``, ``lam`` (lam1, lam2a, lam_chain),
    ``pi_long``, ``pi_short_correct``, ``calibration_error`` (max over x of |pi(L|x) - p|),
    ``calibration_error_se`` (Monte Carlo only), ``greedy_accuracy``, ``mean_length`` (temperature 1),
    ``reduced`` {a, b, c, chain_mean}, ``off_subspace_norm``, ``optimum`` (exact regularised optimum,
    d >= 3) and, for ``sgd``, ``bounds``/``exceedances`` of Props 1-3 for replicate 0 and
    ``replicate_std`` (std over replicates of each scalar metric); ``converged``/``unconverged_heads``
    (:func:`convergence`) and ``distinct_inputs_expected`` (``sgd``: the EXPECTED number of distinct x
    among the T samples, 2^d (1 - (1-2^-d)^T), as Algorithm 3 does not hand its samples out, so it is
    not an integer; None for the population methods, which average over every x).
    """
    if method not in METHODS:
        raise ValueError(f"method: must be one of {', '.join(METHODS)}, got {method!r}")
    route = ROUTES[method]
    d = check_d(d, route.MIN_D, route.MAX_D)
    p = check_prob("p_cot", p_cot)
    steps = check_int("steps", steps, 1)
    lams = lam_triple(default_lam(d) if lam is None else lam, lam1, lam2a, lam_chain, positive=True)
    noisy = _noisy(noise, noise_kind)
    out = {"d": d, "p_cot": p, "method": method, "steps": steps, "lam": list(lams),
           **_noise_keys(noisy)}
    if d >= 3:
        th = cf.ntp_optimum(d, p, lams)
        out["optimum"] = {"a": th[0], "b": th[1], "c": th[2], "chain": th[3]}
    if noisy is not None:
        given = [k for k, t in zip(("T1", "T2a", "T_chain"), (T1, T2a, T_chain)) if t is not None]
        if given:   # named as the first one given, so the CLI spells its option (--T1, --T-chain)
            raise ValueError(f"{given[0]}: per-head step limits are not supported with noise > 0 (Algorithm 3 "
                             "runs on all samples)")
        d = check_d(d, 3, route.MAX_D)
    traj = route.pretrain(d, p, lams, steps, **_noise_args(noisy), replicates=replicates, T1=T1, T2a=T2a,
                          T_chain=T_chain, n_mc=n_mc, progress=progress, rng=seed)
    ex = traj.extra
    if ex.get("at_optimum"):
        th = cf.noisy_ntp_optimum(d, p, lams, noisy.noise, noisy.noise_kind)
        out["noisy_optimum"] = {"a": th[0], "b": th[1], "c": th[2], "chain": th[3:].tolist()}
        out.update(converged=True, unconverged_heads=[], distinct_inputs_expected=None,
                   note="noise > 0: the exact regularised optimum is reported (steps unused)")
    else:
        out.update(convergence(p, lams, steps, T1, T2a, T_chain, chain_steps=ex.get("chain_steps")))
        out["distinct_inputs_expected"] = ex.get("distinct_inputs_expected")
    out.update(_last(traj.mean))
    if noisy is None:   # the noisy mixture's summary has never carried Monte Carlo standard errors
        out.update(_last(traj.se, "_se"))
    if "replicate_std" in ex:
        out["replicate_std"] = ex["replicate_std"]
    out["reduced"], out["off_subspace_norm"] = _reduced(ex)
    if "n_long" in ex:
        out["n_long"] = ex["n_long"]
    T_steps = ex.get("head_steps")     # steps each head of replicate 0 took (the bounds need at least one)
    if T_steps is not None and 0 < p < 1 and min(T_steps[0], T_steps[1]) >= 1:
        rep = theorem1_report(ex["models"][0], p, lams, T_steps, delta=delta, n_mc=n_mc, rng=seed)
        out["bounds"], out["exceedances"] = _finite_bounds(rep["bounds"], T_steps, delta), rep["exceedances"]
    return out


STAR_VARIANT_HELP = ("continue (default; the source's Algorithm 1: E epochs of one NTP gradient step per kept "
                     "pair from the current weights, constant step size --lr) | refit (Algorithm 3 from zero on "
                     "the kept set: the variant the population map assumes)")

#: the per-round / per-step measurements that ``star`` and ``pg`` report, where the route computes them
RL_KEYS = ("expected_reward", "pi_long", "greedy_accuracy", "mean_length")


def _route_keys(traj, names) -> dict:
    """The route-only series/values of ``traj.extra`` among ``names`` that the route has (arrays as lists)."""
    return {k: (_list(traj.extra[k]) if isinstance(traj.extra[k], np.ndarray) else traj.extra[k])
            for k in names if k in traj.extra}


def star_command(d, p_cot, rounds, samples=None, reward="cot", temperature=1.0, variant="continue",
                 pretrain_steps=100_000, lam=None, replicates=1, seed=0, method="sgd", noise=0.0,
                 noise_kind="final", progress=False, **options) -> dict:
    """``python -m linparity star``: STaR per round, with the ideal recursion and the exact map beside it.

    ``variant`` 'continue' (default) is the source's Algorithm 1: for E = ``epochs`` epochs one NTP
    gradient step per kept pair (``batch_size`` 1) with constant step size ``lr``, from the current
    weights (StarConfig defaults: E = 2, lr = 0.05); 'refit' re-fits every head from zero by
    Algorithm 3 on the kept set (what the population map assumes). The JSON names the variant
    and its settings. ``method`` 'closed-form' iterates the exact map in reduced coordinates,
    'exact' the same refit on full weights by enumeration (d <= 12, reward 'cot'); both are the
    ``refit`` variant in the infinite-sample limit (``variant`` is then reported as 'refit (population)').

    Returns a JSON-able dict with per-round lists (length rounds+1, round 0 = start; replicate means)
    ``pi_long``, ``p_ideal`` (p_n = 2^n p/(2^n p + 1 - p)), ``p_exact_map`` (pi(L) of
    closed_form.star_map from the starting reduced state), ``greedy_accuracy``, ``mean_length``,
    ``kept_fraction`` (E[r] of round n's model at tau: measured fraction kept for n < rounds, the
    evaluation estimate for the last entry), ``log_odds_gain`` (length rounds: logit(pi_{n+1}(L)) -
    logit(pi_n(L)), the mean over replicates of each replicate's gain; ln 2 under the ideal
    recursion) with ``log_odds_gain_replicates`` and ``log_odds_gain_se``, and scalars
    ``rounds_to_generalize`` (first round with greedy accuracy >= 0.99, None if never), ``n_star``
    (n*(p)) and ``n_star_start`` (n*(pi_0(L)) at the measured start's replicate mean, with
    ``n_star_start_replicates`` per replicate; :func:`_iteration_keys`). ``method='closed-form'`` takes the
    measured arrays from the exact map (start: ``pretrain_checkpoint`` after pretrain_steps, or the
    optimum when pretrain_steps is None). ``options`` go to :class:`StarConfig` (epochs, lr, batch_size, n_eval).

    ``samples`` (N, fresh inputs per round) is required by ``method='sgd'`` and ignored by the
    population methods, which average over every input (reported as ``samples`` None).
    """
    if method not in METHODS:
        raise ValueError(f"method: must be one of {', '.join(METHODS)}, got {method!r}")
    route = ROUTES[method]
    d = check_d(d, 3, route.MAX_D)
    p = check_prob("p_cot", p_cot)
    if route.SAMPLED and samples is None:
        raise ValueError(f"samples: required with method {method!r} (fresh inputs N >= 1 per round); "
                         "the population methods closed-form and exact draw none")
    lams = lam_triple(default_lam(d) if lam is None else lam, positive=True)
    # a given N is validated even where ignored; the population methods never read StarConfig's N
    cfg = StarConfig(rounds=rounds, samples=1 if samples is None else samples, reward=reward,
                     temperature=temperature, variant=variant, lam=lams, **options)
    check_supported(method, route.SUPPORTS, "star", reward=cfg.reward)
    R, seed, pretrain_steps, noisy, start, g_run = _rl_setup(route, d, p, pretrain_steps, lams, replicates, seed,
                                                             noise, noise_kind)
    traj = route.star(d, p, lams, cfg.rounds, start, samples=samples, reward=cfg.reward, temperature=cfg.temperature,
                      variant=cfg.variant, rng=g_run, progress=progress, **options)
    mp = cf.star_map(start.theta, d, lams, cfg.rounds, cfg.reward, cfg.temperature)
    kept = traj.extra.get("kept_fraction")
    return {"d": d, "p_cot": p, "method": method, "reward": cfg.reward, "temperature": cfg.temperature,
            "variant": traj.variant, "rounds": cfg.rounds, "samples": cfg.samples if route.SAMPLED else None,
            "lam": list(lams), "pretrain_steps": pretrain_steps, "replicates": R, "seed": seed,
            **_noise_keys(noisy),
            **_start_convergence(p, lams, pretrain_steps, start),
            "pi_long": _list(traj["pi_long"]), "p_ideal": _list(cf.ideal_recursion(p, cfg.rounds)),
            "p_exact_map": _list(mp.pi_long), "greedy_accuracy": _list(traj["greedy_accuracy"]),
            "mean_length": _list(traj["mean_length"]),
            "kept_fraction": None if kept is None else _list(kept),   # JSON null where not computed, never NaN
            "rounds_to_generalize": first_at_least(traj["greedy_accuracy"]),
            "n_star": _n_star(p), **_iteration_keys(traj),
            **_route_keys(traj, ("off_subspace_norm",)),
            "distinct_inputs": traj.extra.get("distinct_inputs"),
            **_route_keys(traj, ("rl_samples", "continue_settings")),
            "distinct_inputs_pretrain_expected": start.extra.get("distinct_inputs_expected")}


def _n_star(p) -> int | None:
    """n*(p) of the ideal recursion (closed_form.n_star); None (JSON null) where it is infinite (p = 0)."""
    ns = cf.n_star(p)
    return int(ns) if np.isfinite(ns) else None


def _iteration_keys(traj) -> dict:
    """What a STaR run says about Theorem 2's iteration count, from its per-replicate pi(L) series
    ``traj.replicates.pi_long`` ``(R, rounds+1)`` (R = 1 on the population routes).

    ``n_star_start``: n*(pi_0) at the replicate mean pi_0 of the measured start (round 0 of
    ``pi_long``), the rounds the ideal recursion needs from where the run really starts (n*(p) is the
    yardstick only for a calibrated start); ``n_star_start_replicates``: n*(pi_0) of each
    replicate's own start ``(R,)``. ``log_odds_gain_replicates`` ``(R, rounds)``:
    logit(pi_{n+1}) - logit(pi_n) per replicate (closed_form.log_odds_gain; ln 2 under the
    ideal recursion); ``log_odds_gain``: its mean over replicates ``(rounds,)`` and
    ``log_odds_gain_se`` the standard error of that mean (None for R = 1).
    """
    pi = np.asarray(traj.replicates.pi_long, dtype=np.float64)             # (R, rounds+1)
    gain = cf.log_odds_gain(pi)                                            # (R, rounds)
    R = len(gain)
    return {"n_star_start": _n_star(float(pi[:, 0].mean())),
            "n_star_start_replicates": [_n_star(float(x)) for x in pi[:, 0]],
            "log_odds_gain": _list(gain.mean(0)), "log_odds_gain_replicates": gain.tolist(),
            "log_odds_gain_se": _list(gain.std(0, ddof=1) / np.sqrt(R)) if R > 1 else None}


def _rl_setup(route, d, p, pretrain_steps, lams, replicates, seed, noise, noise_kind):
    """Validated replicates, seed, pre-training steps and noise of ``star``/``pg``, the route's start
    (its ``start`` verb, from the seed's first child) and the run's Generator (its second child).

    Without pre-training steps the start is the regularised optimum of the (noisy) pre-training
    data; its closed form ``closed_form.ntp_optimum`` / ``noisy_ntp_optimum`` is handed to the route
    (the simulation starts every replicate there; the exact route starts at its own full-weight optimum).
    """
    R = check_int("replicates", replicates, 1)
    seed = check_int("seed", seed, 0)
    if pretrain_steps is not None:
        pretrain_steps = check_int("pretrain_steps", pretrain_steps, 1)
    noisy = _noisy(noise, noise_kind)
    g_start, g_run = spawn(np.random.SeedSequence(seed), 2)
    optimum = None
    if pretrain_steps is None:
        optimum = (cf.ntp_optimum(d, p, lams) if noisy is None
                   else cf.noisy_ntp_optimum(d, p, lams, noisy.noise, noisy.noise_kind))
    start = route.start(d, p, lams, pretrain_steps, optimum=optimum, **_noise_args(noisy), replicates=R,
                        rng=g_start)
    return R, seed, pretrain_steps, noisy, start, g_run


def pg_command(algo, d, p_cot, steps, lr=1.0, batch_size=256, group_size=8, reward="cot", temperature=1.0,
               baseline=True, pretrain_steps=100_000, lam=None, replicates=1, seed=0, method="sgd",
               length_penalty=0.0, noise=0.0, noise_kind="final", **options) -> dict:
    """``python -m linparity pg``: REINFORCE or GRPO per step, with the closed-form expected dynamics.

    Returns per-step lists (length steps+1; replicate means) ``expected_reward`` (E[r] without the
    length penalty), ``pi_long``, ``greedy_accuracy``, ``mean_length`` and
    ``closed_form_expected_reward``: E[r] along the closed-form expected dynamics
    (closed_form.pg_discrete, under the length penalty when there is one) from the starting
    reduced state with the same lr, algorithm, group size, reward and temperature. ``method``:
    'sgd' simulates; 'closed-form' reports the closed-form expected dynamics as the measured
    arrays; 'exact' runs the expected REINFORCE ascent on full weights by enumeration
    (exact.pg_ascent; REINFORCE only, d <= 12; with a length penalty it reports
    ``expected_penalised_reward``, E[r_beta] of the reward it ascends, instead of ``expected_reward``).
    ``length_penalty`` beta: reward r - beta (|y| - 2)/(d - 1) (THEORY §8);
    ``length_penalty_threshold`` beta* at the start is reported (None when the stop update does not change
    sign on [0, 2]: no penalty in that range switches lengthening on or off; JSON has no NaN).
    ``options`` go to :class:`PGConfig` (baseline_decay, n_eval).
    """
    if method not in METHODS:
        raise ValueError(f"method: must be one of {', '.join(METHODS)}, got {method!r}")
    route = ROUTES[method]
    d = check_d(d, 3, route.MAX_D)
    p = check_prob("p_cot", p_cot)
    lams = lam_triple(default_lam(d) if lam is None else lam, positive=True)
    cfg = PGConfig(algo=algo, steps=steps, lr=lr, batch_size=batch_size, group_size=group_size,
                   reward=reward, temperature=temperature, baseline=baseline, eval_every=1,
                   length_penalty=length_penalty, **options)
    check_supported(method, route.SUPPORTS, "pg", algo=cfg.algo)
    R, seed, pretrain_steps, noisy, start, g_run = _rl_setup(route, d, p, pretrain_steps, lams, replicates, seed,
                                                             noise, noise_kind)
    G = cfg.group_size if cfg.algo == "grpo" else None
    beta = float(cfg.length_penalty)
    theta0 = start.theta
    ref = cf.pg_discrete(theta0, d, cfg.lr, cfg.steps, cfg.reward, cfg.temperature, cfg.algo, G, length_penalty=beta)
    traj = route.pg(d, p, lams, cfg.steps, start, algo=cfg.algo, lr=cfg.lr, batch_size=cfg.batch_size,
                    group_size=cfg.group_size, reward=cfg.reward, temperature=cfg.temperature, baseline=cfg.baseline,
                    length_penalty=beta, rng=g_run, **options)
    return {"d": d, "p_cot": p, "method": method, "algo": cfg.algo, "reward": cfg.reward,
            "temperature": cfg.temperature, "steps": cfg.steps, "lr": cfg.lr, "batch_size": cfg.batch_size,
            "group_size": G, "baseline": cfg.baseline, "length_penalty": beta,
            "length_penalty_threshold": _finite_or_none(cf.length_penalty_threshold(theta0, d, cfg.reward,
                                                                                    cfg.temperature, cfg.algo, G)),
            "lam": list(lams), "pretrain_steps": pretrain_steps, "replicates": R, "seed": seed,
            **_noise_keys(noisy),
            **_start_convergence(p, lams, pretrain_steps, start),
            **{k: _list(traj[k]) for k in RL_KEYS if traj[k] is not None},
            **_route_keys(traj, ("off_subspace_norm",)),
            "distinct_inputs": traj.extra.get("distinct_inputs"),
            **_route_keys(traj, ("expected_penalised_reward", "rl_samples", "rl_distinct_draws")),
            "distinct_inputs_pretrain_expected": start.extra.get("distinct_inputs_expected"),
            "closed_form_expected_reward": _list([cf.expected_reward(t, d, cfg.reward, cfg.temperature) for t in ref])}


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
        why = ("infinite: the head took no step (T = 0)" if T == 0 else
               f"infinite: 1/(delta T) overflows at delta = {delta:g}")
        out[name] = {k: v for k, v in row.items() if k != "bound" and np.isfinite(v)} | {"bound": why}
    return out


def _finite_or_none(x):
    """A float, or None where the library returns NaN to mean "does not exist"."""
    return float(x) if np.isfinite(x) else None


def _list(a):
    return np.asarray(a, dtype=np.float64).tolist()
