"""Theorem 2 (THEORY §6), checked: STaR's doubling of the long-response odds, by simulation against
the ideal recursion and the exact finite-lambda map, plus early checkpoints and cot vs e2e rewards.

Definitions used in the report
------------------------------
* q_n: measured pi(L) = mean_x pi(L(x)|x) of round n's model (tau = 1), replicate mean.
* p_n: the ideal recursion from p_0 = p; exact map: closed_form.star_map from the measured start.
* eps_n (per-round estimation error): |q_{n+1} - 2 q_n/(1 + q_n)|, the distance of one simulated
  round from the ideal update applied to the measured state; eps = max_n eps_n. Theorem 2 states
  |q_n - p_n| <~ 2^n eps; the report gives the ratio |q_n - p_n| / (2^n eps) per round.
* Theorem 2's two steps as THEORY §6 states them, with q_n now the long share of round n's KEPT set
  (sampled from the model after round n-1), n = 1..rounds: ``step1_calibration`` =
  |pi_{h(n)}(L) - q_n| (the model after round n against the mixture it was trained on) and
  ``step2_drift`` = |q_n - p_n|, measured (simulation) and for the exact map (``*_map``).
* A run "generalises" when greedy accuracy reaches 0.99; "collapse" when the final pi(L) is below
  half of its maximum over the run.
"""
from __future__ import annotations

import numpy as np

from .. import closed_form as cf
from .. import simulate as sim
from .._checks import check_d, check_int, check_prob, spawn
from .start import initial_models
from ..heads import default_lam, lam_triple
from ..measures import first_at_least
from ..simulate import pretrain


def _list(a):
    return np.asarray(a, dtype=np.float64).tolist()

__all__ = ["theorem2_report", "format_report"]


def _outcome(pi_long, acc) -> dict:
    pi_long = np.asarray(pi_long)
    return {"generalises": bool(np.asarray(acc)[-1] >= 0.99), "first_round_0.99": first_at_least(acc),
            "pi_long_max": float(pi_long.max()), "pi_long_final": float(pi_long[-1]),
            "collapse": bool(pi_long[-1] < 0.5 * pi_long.max()),
            "greedy_accuracy_final": float(np.asarray(acc)[-1])}


def theorem2_report(d, p, lam=None, N=20_000, tau=1.0, *, rounds=None, reward="cot", variant="refit",
                    replicates=1, seed=0, pretrain_steps=None, early_steps=(200, 2000),
                    temperatures=(0.75, 1.0, 1.5), compare_rewards=True, pg_steps=300, pg_lr=2.0,
                    pg_batch=256) -> dict:
    """Theorem 2 measurements for one (d, p, lam, N, tau); returns a JSON-able dict.

    Parameters
    ----------
    d, p, lam : bits (>= 3), long share of the pre-training mixture, L2 strength (> 0, scalar or triple;
        default heads.default_lam(d)).
    N : fresh inputs per STaR round.
    tau : sampling temperature of the main run.
    rounds : STaR rounds (default n* + 4; 8 when n* is infinite, p = 0).
    pretrain_steps : None starts from the exact regularised NTP optimum (calibrated); an int runs
        Algorithm 3 for that many samples.
    early_steps : Algorithm 3 lengths of the under-trained starts; the last of them (2000 if empty)
        is also run with the chain heads untrained (T_chain = 0), the extreme early checkpoint.
    temperatures, compare_rewards : grid of the cot-vs-e2e comparison (STaR simulation + exact map,
        and REINFORCE simulation + closed-form expected dynamics with ``pg_steps``, ``pg_lr``, ``pg_batch``).

    Returns
    -------
    dict with keys ``settings``, ``main`` (per-round arrays and the bound check), ``early``
    (list of runs) and ``rewards`` (list of rows).
    """
    d = check_d(d, 3)
    p = check_prob("p_cot", p)
    lams = lam_triple(default_lam(d) if lam is None else lam, positive=True)
    ns = cf.n_star(p)
    rounds = (int(ns) + 4 if np.isfinite(ns) else 8) if rounds is None else check_int("rounds", rounds, 1)
    g_main, g_early, g_rw = spawn(np.random.SeedSequence(check_int("seed", seed, 0)), 3)
    cfg = sim.StarConfig(rounds=rounds, samples=N, reward=reward, temperature=tau, variant=variant, lam=lams)

    # ------------------------------------------------------------------ main run
    gs, gr = spawn(g_main, 2)
    W0, theta0 = initial_models(d, p, pretrain_steps, lams, replicates, gs)
    res = sim.run_star(W0, cfg, gr)
    q = res.pi_long_.mean(0)                                         # (rounds+1,)
    p_n = cf.ideal_recursion(p, rounds)
    mp = cf.star_map(theta0, d, lams, rounds, reward, tau)
    eps_n = np.abs(q[1:] - 2 * q[:-1] / (1 + q[:-1]))                # (rounds,)
    # one-step error against the exact map from each measured (replicate-mean) reduced state
    th = res.theta_.mean(0)
    eps_exact = np.array([abs(cf.star_map(th[n], d, lams, 1, reward, tau).pi_long[1] - q[n + 1])
                          for n in range(rounds)])
    eps = float(eps_n.max())
    bound = (2.0 ** np.arange(rounds + 1)) * eps
    dev = np.abs(q - p_n)
    kq = res.kept_q_.mean(0)                                         # (rounds,) q_1..q_rounds
    main = {"step1_calibration": _list(np.abs(q[1:] - kq)), "step2_drift": _list(np.abs(kq - p_n[1:])),
            "step1_calibration_map": _list(np.abs(mp.pi_long[1:] - mp.q[:-1])),
            "step2_drift_map": _list(np.abs(mp.q[:-1] - p_n[1:])),
            "pi_long": _list(q), "p_ideal": _list(p_n), "p_exact_map": _list(mp.pi_long),
            "greedy_accuracy": _list(res.greedy_accuracy_.mean(0)),
            "greedy_accuracy_map": _list(mp.greedy_accuracy),
            "mean_length": _list(res.mean_length_.mean(0)), "mean_length_map": _list(mp.mean_length),
            "kept_q": _list(res.kept_q_.mean(0)), "kept_q_map": _list(mp.q[:-1]),
            "abs_q_minus_p": _list(dev), "eps_per_round": _list(eps_n), "eps_vs_exact_map": _list(eps_exact),
            "eps": eps, "bound_2n_eps": _list(bound),
            "ratio_to_bound": _list(np.divide(dev, bound, out=np.full_like(dev, np.nan), where=bound > 0)),
            "off_subspace_norm": _list(res.off_subspace_norm_.mean(0)),
            "rounds_to_generalize": first_at_least(res.greedy_accuracy_.mean(0)),
            "rounds_to_generalize_map": first_at_least(mp.greedy_accuracy),
            "n_star": None if not np.isfinite(ns) else int(ns),
            "amplification_margin_start": float(cf.amplification_margin(theta0, d, reward, tau))}

    # ------------------------------------------------------------------ early checkpoints
    early = []
    runs = [(T, None) for T in early_steps] + [(early_steps[-1] if early_steps else 2000, 0)]
    for (T, Tc), g in zip(runs, spawn(g_early, len(runs))):
        gp, gq = spawn(g, 2)
        pre = pretrain(d, p, check_int("early_steps", T, 1), lams, T_chain=Tc, replicates=replicates, rng=gp)
        t0 = pre.theta_.mean(0)
        for rw in ("cot", "e2e"):
            c = sim.StarConfig(rounds=rounds, samples=N, reward=rw, temperature=tau, variant=variant, lam=lams)
            run = sim.run_star(sim.BatchedAR.stack(pre.models_), c, gq)
            m = cf.star_map(t0, d, lams, rounds, rw, tau)
            so, mo = _outcome(run.pi_long_.mean(0), run.greedy_accuracy_.mean(0)), \
                _outcome(m.pi_long, m.greedy_accuracy)
            early.append({"pretrain_steps": int(T), "T_chain": Tc, "reward": rw,
                          "amplification_margin": float(cf.amplification_margin(t0, d, rw, tau)),
                          "start_pi_long": float(run.pi_long_.mean(0)[0]),
                          "simulated": so, "map": mo, "map_predicted_correctly": so["generalises"] == mo["generalises"],
                          "pi_long": _list(run.pi_long_.mean(0)), "pi_long_map": _list(m.pi_long),
                          "mean_length": _list(run.mean_length_.mean(0))})

    # ------------------------------------------------------------------ cot vs e2e
    rows = []
    if compare_rewards:
        grid = [(rw, t) for t in temperatures for rw in ("cot", "e2e")]
        for (rw, t), g in zip(grid, spawn(g_rw, len(grid))):
            ga, gb = spawn(g, 2)
            c = sim.StarConfig(rounds=rounds, samples=N, reward=rw, temperature=t, variant=variant, lam=lams)
            run = sim.run_star(W0, c, ga)
            m = cf.star_map(theta0, d, lams, rounds, rw, t)
            pc = sim.PGConfig(algo="reinforce", steps=pg_steps, lr=pg_lr, batch_size=pg_batch, reward=rw,
                             temperature=t, eval_every=max(1, pg_steps // 10))
            pg = sim.run_pg(W0, pc, gb)
            traj = cf.pg_discrete(theta0, d, pg_lr, pg_steps, rw, t)
            pgm = [cf.greedy_probs(x, d).p_correct for x in traj]
            pgl = [cf.trajectory_probs(x, d).pi_long for x in traj]
            rows.append({"reward": rw, "temperature": t,
                         "star": _outcome(run.pi_long_.mean(0), run.greedy_accuracy_.mean(0)),
                         "star_map": _outcome(m.pi_long, m.greedy_accuracy),
                         "star_margin_start": float(cf.amplification_margin(theta0, d, rw, t)),
                         "star_margin_end_map": float(cf.amplification_margin(m.theta[-1], d, rw, t)),
                         "star_pi_long": _list(run.pi_long_.mean(0)), "star_pi_long_map": _list(m.pi_long),
                         "pg": _outcome(pg.pi_long_.mean(0), pg.greedy_accuracy_.mean(0)),
                         "pg_closed_form": _outcome(pgl, pgm),
                         "pg_expected_reward_final": float(pg.expected_reward_.mean(0)[-1]),
                         "pg_expected_reward_final_closed_form": float(cf.expected_reward(traj[-1], d, rw, t))})
    return {"settings": {"d": d, "p": p, "lam": list(lams), "N": N, "tau": tau, "rounds": rounds,
                         "reward": reward, "variant": variant, "replicates": replicates, "seed": seed,
                         "pretrain_steps": pretrain_steps, "pg_steps": pg_steps, "pg_lr": pg_lr,
                         "pg_batch": pg_batch},
            "main": main, "early": early, "rewards": rows}


def format_report(rep: dict) -> str:
    """A short text table of :func:`theorem2_report`'s result."""
    s, m = rep["settings"], rep["main"]
    out = [f"Theorem 2  d={s['d']} p={s['p']} lam={s['lam']} N={s['N']} tau={s['tau']} "
           f"reward={s['reward']} variant={s['variant']} R={s['replicates']}",
           f"{'n':>3} {'pi(L)':>7} {'p_n':>7} {'map':>7} {'|q-p|':>7} {'2^n eps':>8} {'greedy':>7} {'length':>7}"]
    for n in range(len(m["pi_long"])):
        out.append(f"{n:>3} {m['pi_long'][n]:7.3f} {m['p_ideal'][n]:7.3f} {m['p_exact_map'][n]:7.3f} "
                   f"{m['abs_q_minus_p'][n]:7.3f} {m['bound_2n_eps'][n]:8.3f} {m['greedy_accuracy'][n]:7.3f} "
                   f"{m['mean_length'][n]:7.2f}")
    out.append("two steps (q_n = kept long share of round n): n |pi_h(n)(L)-q_n| (map) |q_n-p_n| (map)")
    for n, (a, b, c, e) in enumerate(zip(m["step1_calibration"], m["step1_calibration_map"], m["step2_drift"],
                                         m["step2_drift_map"]), 1):
        out.append(f"{n:>3} {a:7.3f} ({b:.3f}) {c:7.3f} ({e:.3f})")
    out.append(f"eps = {m['eps']:.4f}; greedy >= 0.99 at round {m['rounds_to_generalize']} "
               f"(map {m['rounds_to_generalize_map']}, n* = {m['n_star']})")
    if rep["early"]:
        out.append("early checkpoints: steps T_chain reward margin | sim gen/collapse | map gen/collapse")
        for e in rep["early"]:
            out.append(f"  {e['pretrain_steps']:>6} {str(e['T_chain']):>5} {e['reward']:>4} {e['amplification_margin']:+.3f} | "
                       f"{e['simulated']['generalises']!s:>5}/{e['simulated']['collapse']!s:<5} | "
                       f"{e['map']['generalises']!s:>5}/{e['map']['collapse']!s:<5}")
    if rep["rewards"]:
        out.append("reward tau | STaR sim gen/collapse (pi max->final) | map gen/collapse | REINFORCE sim gen | closed form gen")
        for r in rep["rewards"]:
            st, sm = r["star"], r["star_map"]
            out.append(f"  {r['reward']:>4} {r['temperature']:<4} | {st['generalises']!s:>5}/{st['collapse']!s:<5} "
                       f"({st['pi_long_max']:.3f}->{st['pi_long_final']:.3f}) | {sm['generalises']!s:>5}/"
                       f"{sm['collapse']!s:<5} ({sm['pi_long_max']:.3f}->{sm['pi_long_final']:.3f}) | "
                       f"{r['pg']['generalises']!s:>5} | {r['pg_closed_form']['generalises']!s:>5}")
    return "\n".join(out)
