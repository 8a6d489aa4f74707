"""The extensions of THEORY §8 and the edges of Theorems 1-2, each by the three routes.

* Noisy long demonstrations (``Mixture(d, p, noise, noise_kind)``): what NTP learns --
  closed form (:func:`linparity.closed_form.noisy_ntp_optimum`, per-head targets), exact
  enumeration (every head refit on the FULL weights to the enumerated noisy mixture: this is what
  establishes whether the reduced subspace still holds) and simulation (Algorithm 3 on sampled
  noisy data) -- and what STaR and GRPO do after it.
* Length penalty r_beta = r - beta (|y| - 2)/(d - 1) for REINFORCE/GRPO: the exact finite-lambda
  threshold beta* (closed form), the expected dynamics on both sides of it (closed form and, for
  REINFORCE, enumeration on full weights) and simulation.
* Theorem 1's edges (p = 1/3 exactly, p in [3/4, 1)) and Theorem 2's two steps (calibration to the
  kept mixture, and drift of the kept mixture from the ideal recursion), per round.

Every function returns plain arrays/dicts; figures plot them (no maths in figures/).
"""
from __future__ import annotations

import numpy as np

from .. import closed_form as cf
from .. import exact
from .. import simulate as sim
from ..exact import api as exact_api
from ..simulate import api as sim_api
from .._checks import check_d, check_int, spawn
from ..data import long_response, short_response, all_inputs
from ..heads import lam_triple
from ..measures import evaluate, evaluate_models
from ..model import LinearAR
from ..theory import prop2_bounds, regularisation_bias

__all__ = ["exact_noisy_optimum", "noisy_initial_models", "noise_ntp", "noise_post_training",
           "penalised_reward", "length_penalty_thresholds", "length_penalty_run", "theorem1_edges",
           "theorem2_steps", "reduced_metrics"]


def reduced_metrics(theta, d) -> dict:
    """pi_long, greedy accuracy and mean length (tau = 1) of a reduced state (closed form)."""
    tp = cf.trajectory_probs(theta, d)
    return {"pi_long": tp.pi_long, "greedy_accuracy": cf.greedy_probs(theta, d).p_correct,
            "mean_length": tp.mean_length, "p_long": tp.p_long}


# ----------------------------------------------------------------------------- noise
exact_noisy_optimum = exact_api.noisy_ntp_optimum


def noisy_initial_models(d, p, noise, noise_kind, pretrain_steps, lam, replicates=1, rng=None):
    """Starting models pre-trained on the noisy mixture: (BatchedAR, theta0 ``(d+2,)``).

    ``pretrain_steps`` None: the closed-form noisy optimum on every replicate; an int T: Algorithm 3
    (``simulate.fit_samples``, batch size 1) on T samples of the noisy mixture, replicate r drawing
    from child r of ``rng`` (theta0 = mean reduced coordinates); :func:`linparity.simulate.api.mixture_start`.
    """
    d = check_d(d, 3)
    lams = lam_triple(lam, positive=True)
    if pretrain_steps is None:
        s = sim_api.start(d, p, lams, None, optimum=cf.noisy_ntp_optimum(d, p, lams, noise, noise_kind),
                          replicates=replicates)
    else:   # the mixture's sample stream at every noise rate, 0 included
        s = sim_api.mixture_start(d, p, lams, pretrain_steps, noise, noise_kind, replicates, rng)
    return s.models, s.theta


def noise_ntp(d, p, lam, noises, noise_kind, steps=None, replicates=0, rng=None, n_mc=2000) -> dict:
    """What NTP learns from noisy demonstrations, per noise rate (arrays ``(len(noises),)``).

    Closed form: ``cf_pi_long``, ``cf_greedy``, ``cf_chain_last`` (c_d), ``cf_u`` (stop logit after
    y_1 = x_1). Enumeration (d <= 12): ``ex_pi_long``, ``ex_greedy``, ``ex_off`` (norm of the exact
    optimum off the reduced subspace), ``ex_vs_cf`` (max |reduced(exact) - closed form|). Simulation
    (``replicates`` > 0, ``steps`` Algorithm 3 samples): ``sim_pi_long`` and ``sim_greedy`` ``(R, n)``.
    pi_long is pi(L(x)|x) of the clean chain.
    """
    d = check_d(d, 3)
    lams = lam_triple(lam, positive=True)
    out = {k: [] for k in ("cf_pi_long", "cf_greedy", "cf_chain_last", "cf_u", "ex_pi_long",
                           "ex_greedy", "ex_off", "ex_vs_cf")}
    for eps in noises:
        th = cf.noisy_ntp_optimum(d, p, lams, eps, noise_kind)
        m = reduced_metrics(th, d)
        out["cf_pi_long"].append(m["pi_long"])
        out["cf_greedy"].append(m["greedy_accuracy"])
        out["cf_chain_last"].append(th[-1])
        out["cf_u"].append(th[1] + th[2])
        if d <= 12:
            ex = exact_noisy_optimum(d, p, lams, eps, noise_kind)
            em = exact.exact_metrics(ex, p)
            r = ex.reduced()
            out["ex_pi_long"].append(em["pi_long"])
            out["ex_greedy"].append(em["greedy_accuracy"])
            out["ex_off"].append(r.off_subspace_norm)
            out["ex_vs_cf"].append(float(np.max(np.abs(r.theta - th))))
    res = {k: np.array(v) for k, v in out.items()}
    if replicates:
        steps = check_int("steps", steps, 1)
        pl, ga = np.zeros((replicates, len(noises))), np.zeros((replicates, len(noises)))
        for j, (eps, g) in enumerate(zip(noises, spawn(rng, len(noises)))):
            W, _ = noisy_initial_models(d, p, eps, noise_kind, steps, lams, replicates, g)
            for r, mdl in enumerate(W.models()):
                e = evaluate(mdl, p, n_mc=n_mc, rng=0)
                pl[r, j], ga[r, j] = e["pi_long"], e["greedy_accuracy"]
        res["sim_pi_long"], res["sim_greedy"] = pl, ga
    return res


def noise_post_training(d, p, lam, noise, noise_kind, rounds, samples, pg_steps, pg_lr, replicates, rng,
                        pretrain_steps=None, group_size=8, batch_size=128) -> dict:
    """STaR (reward cot, 'continue' variant of simulate.FIGURE_STAR_OPTIONS) and GRPO after NTP on the
    noisy mixture. Closed form from the noisy optimum (or the replicate-mean reduced start when
    ``pretrain_steps`` is given): ``map_pi_long``/``map_greedy`` (STaR map, ``(rounds+1,)``), ``grpo_cf_pi_long``/
    ``grpo_cf_greedy`` (``(pg_steps+1,)``). Simulation: ``star_pi_long``, ``star_greedy``
    ``(R, rounds+1)``, ``grpo_pi_long``, ``grpo_greedy`` ``(R, pg_steps+1)``.
    """
    lams = lam_triple(lam, positive=True)
    g0, g1, g2 = spawn(rng, 3)
    W0, th0 = noisy_initial_models(d, p, noise, noise_kind, pretrain_steps, lams, replicates, g0)
    mp = cf.star_map(th0, d, lams, rounds)
    traj = cf.pg_discrete(th0, d, pg_lr, pg_steps, "cot", 1.0, "grpo", group_size)
    cfg = sim.StarConfig(rounds=rounds, samples=samples, lam=lams, n_eval=1024, **sim.FIGURE_STAR_OPTIONS)
    st = sim.run_star(W0, cfg, g1)
    pc = sim.PGConfig(algo="grpo", steps=pg_steps, lr=pg_lr, batch_size=batch_size, group_size=group_size,
                      n_eval=1024)
    pg = sim.run_pg(W0, pc, g2)
    return {"theta0": th0, "map_pi_long": mp.pi_long, "map_greedy": mp.greedy_accuracy,
            "grpo_cf_pi_long": np.array([reduced_metrics(t, d)["pi_long"] for t in traj]),
            "grpo_cf_greedy": np.array([reduced_metrics(t, d)["greedy_accuracy"] for t in traj]),
            "star_pi_long": st.pi_long_, "star_greedy": st.greedy_accuracy_,
            "grpo_pi_long": pg.pi_long_, "grpo_greedy": pg.greedy_accuracy_}


# ----------------------------------------------------------------------------- length penalty
penalised_reward = exact_api.penalised_reward


def length_penalty_thresholds(d, p, lam, group_size=8) -> dict:
    """beta* from the calibrated NTP optimum (closed form), for REINFORCE and GRPO, with the
    chain factor prod kappa_l and the beta -> 1/2 limit."""
    th = cf.ntp_optimum(d, p, lam_triple(lam, positive=True))
    return {"theta0": th, "chain_right": float(np.prod(1 / (1 + np.exp(-th[3:])))),
            "reinforce": cf.length_penalty_threshold(th, d),
            "grpo": cf.length_penalty_threshold(th, d, algo="grpo", group_size=group_size), "limit": 0.5}


def length_penalty_run(d, p, lam, beta, algo, steps, lr, replicates, rng, batch_size=256, group_size=8,
                       with_exact=False) -> dict:
    """Policy gradient on r_beta from the calibrated optimum: closed form (``cf_u``: stop logit
    after y_1 = x_1, ``cf_pi_long``, ``cf_p_long``, ``(steps+1,)``), optional exact REINFORCE ascent on
    full weights (``ex_pi_long``), and simulation (``sim_u``, ``sim_pi_long`` ``(R, steps+1)``)."""
    lams = lam_triple(lam, positive=True)
    th = cf.ntp_optimum(d, p, lams)
    G = group_size if algo == "grpo" else None
    traj = cf.pg_discrete(th, d, lr, steps, "cot", 1.0, algo, G, length_penalty=beta)
    out = {"cf_u": traj[:, 1] + traj[:, 2],
           "cf_pi_long": np.array([reduced_metrics(t, d)["pi_long"] for t in traj]),
           "cf_p_long": np.array([reduced_metrics(t, d)["p_long"] for t in traj])}
    if with_exact and algo == "reinforce":
        ex = exact.pg_ascent(LinearAR.from_reduced(d, th[0], th[1], th[2], th[3:]), lr, steps,
                             penalised_reward("cot", beta))
        out["ex_pi_long"] = ex["pi_long"]
    if replicates:
        cfg = sim.PGConfig(algo=algo, steps=steps, lr=lr, batch_size=batch_size, group_size=group_size,
                           length_penalty=beta, n_eval=1024)
        res = sim.run_pg(sim.BatchedAR.from_reduced(th, d, replicates), cfg, rng)
        out["sim_u"] = res.theta_[..., 1] + res.theta_[..., 2]
        out["sim_pi_long"] = res.pi_long_
    return out


# ----------------------------------------------------------------------------- Theorem 1's edges
def theorem1_edges(d, lam, ps, steps, replicates, rng, n_mc=2000) -> list[dict]:
    """Theorem 1 at p = 1/3 and p in [3/4, 1): per p, the exact regularised optimum in closed form
    (``cf``: stop logit u after y_1 = x_1, pi_long, greedy accuracy, calibration error |pi(L) - p|,
    |pi(S|x) - (1-p)/2| per class, the factors of pi(L) = alpha (1-beta) prod kappa, and Prop 2's
    bias terms as stated (theory.prop2_bounds with ``steps``, delta = 0.1) next to the exact bias), by enumeration on full weights (``ex``, d <= 12) and Algorithm 3
    (``sim``: per replicate u, pi_long, greedy accuracy, calibration errors)."""
    lams = lam_triple(lam, positive=True)
    rows = []
    for p, g in zip(ps, spawn(rng, len(ps))):
        th = cf.ntp_optimum(d, p, lams)
        tp = cf.trajectory_probs(th, d)
        sig = lambda z: float(1 / (1 + np.exp(-z)))  # noqa: E731
        pb = prop2_bounds(d, p, lams[1], steps, 0.1) if 0 < p < 1 else {}
        rb = regularisation_bias(d, p, lams) if 0 < p < 1 else {}
        row = {"p": p, "cf": {"u": th[1] + th[2], "pi_long": tp.pi_long,
                              # pi(L) = alpha (1-beta) prod kappa against (1+p)/2, 2p/(1+p), 1
                              "alpha": sig(th[0]), "go_on": 1 - sig(th[1] + th[2]),
                              "chain_right": float(np.prod([sig(c) for c in th[3:]])),
                              "prop2_bias_eq": pb.get("bias_eq"), "prop2_bias_neq": pb.get("bias_neq"),
                              "exact_bias_eq": rb.get("prop2_eq"), "exact_bias_neq": rb.get("prop2_neq"),
                              "greedy_accuracy": cf.greedy_probs(th, d).p_correct,
                              "calibration_error": abs(tp.pi_long - p),
                              "calibration_error_short": max(abs(tp.pi_short_eq - (1 - p) / 2),
                                                             abs(tp.pi_short_neq - (1 - p) / 2))}}
        if d <= 12:
            ex = exact.exact_ntp_optimum(d, p, lams)
            em = exact.exact_metrics(ex, p)
            r = ex.reduced()
            row["ex"] = {"u": r.b + r.c, "pi_long": em["pi_long"], "greedy_accuracy": em["greedy_accuracy"],
                         "calibration_error": em["calibration_error"],
                         "calibration_error_short": em["calibration_error_short"]}
        if replicates:
            res = sim.pretrain(d, p, steps, lams, replicates=replicates, rng=g)
            evs = evaluate_models(res.models_, p, n_mc=n_mc, rng=0)
            row["sim"] = {"u": (res.theta_[:, 1] + res.theta_[:, 2]).tolist(),
                          **{k: [e[k] for e in evs] for k in ("pi_long", "greedy_accuracy", "calibration_error",
                                                              "calibration_error_short")}}
        rows.append(row)
    return rows


# ----------------------------------------------------------------------------- Theorem 2's two steps
def theorem2_steps(d, p, lam, rounds, samples, replicates, rng, **star_options) -> dict:
    """Theorem 2's two steps per round n = 1..rounds, by the three routes (THEORY §6).

    q_n is the long share of round n's kept set (sampled from the model after round n-1), h(n) the
    model after round n. Step 1: |pi_{h(n)}(L) - q_n| (calibration to the effective mixture);
    step 2: |q_n - p_n| with p_n the ideal recursion.

    Closed form: the exact finite-lambda map (``refit`` in the infinite-sample limit); enumeration: the
    same refit on full weights (kept set weights pi(L(x)|x), pi(S(x)|x) at tau = 1); simulation: STaR
    (``star_options``, default simulate.FIGURE_STAR_OPTIONS: 'continue') with measured kept shares.
    Returns dict of ``(rounds,)`` arrays ``cf_q``, ``cf_pi``, ``ex_q``, ``ex_pi``, ``p_ideal`` and
    ``(R, rounds)`` ``sim_q``, ``sim_pi``; plus the variant.
    """
    lams = lam_triple(lam, positive=True)
    th = cf.ntp_optimum(d, p, lams)
    mp = cf.star_map(th, d, lams, rounds)
    out = {"p_ideal": cf.ideal_recursion(p, rounds)[1:], "cf_q": mp.q[:-1], "cf_pi": mp.pi_long[1:]}
    if d <= 12:
        X = all_inputs(d)
        XX, YY = np.vstack([X, X]), np.vstack([long_response(X), short_response(X)])
        m = LinearAR.from_reduced(d, th[0], th[1], th[2], th[3:])
        q, pi = [], []
        for _ in range(rounds):
            e = exact.exact_metrics(m, p)
            wl, ws = e["pi_long_x"], e["pi_short_x"]
            q.append(wl.sum() / (wl.sum() + ws.sum()))
            m = exact.fit_weighted(XX, YY, np.concatenate([wl, ws]), lams, 1e-12)
            pi.append(exact.exact_metrics(m, p)["pi_long"])
        out["ex_q"], out["ex_pi"] = np.array(q), np.array(pi)
    if replicates:
        opts = {**sim.FIGURE_STAR_OPTIONS, **star_options}
        cfg = sim.StarConfig(rounds=rounds, samples=samples, lam=lams, n_eval=1024, **opts)
        res = sim.run_star(sim.BatchedAR.from_reduced(th, d, replicates), cfg, rng)
        out["sim_q"], out["sim_pi"] = res.kept_q_, res.pi_long_[:, 1:]
        out["variant"] = cfg.variant
    return out
