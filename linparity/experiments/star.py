"""STaR experiments (F3, F4, F8): ideal recursion, exact finite-lambda map, enumeration, simulation.

* closed form: closed_form.ideal_recursion / n_star (Theorem 2) and closed_form.star_map
  (every head refit to its regularised optimum on the population kept set, reduced coordinates);
* exact enumeration: exact.star_map, the same refit on the FULL weights over all 2^d
  inputs (no reduced coordinates), so it also tests the subspace invariance the map relies on;
* simulation: simulate.run_star on sampled data (full weights, R replicates).
"""
from __future__ import annotations

import numpy as np

from .. import closed_form as cf
from .. import exact
from .. import simulate as sim
from .._checks import check_d, check_int, check_prob, spawn
from ..heads import CONVERGENCE_FACTOR
from ..measures import first_at_least
from ..sweep import register_task
from ..studies.start import initial_models

# the maths the STaR figures (F3, F4, F8) plot, named for them (figures import experiments only)
n_star = cf.n_star
closed_form_map = cf.star_map
exact_map = exact.star_map

__all__ = ["n_star", "closed_form_map", "exact_map", "ideal_curves", "simulate_star",
           "map_rounds", "map_generalises", "start_pi_long", "pooled_offset", "f8_task", "f8_boundary",
           "f8_finite_n", "switch_point"]

def ideal_curves(p0, d, rounds) -> dict:
    """The ideal recursion p_{n+1} = 2 p_n/(1+p_n) (Theorem 2, closed_form.ideal_recursion)
    from p_0 and what it implies per round, arrays ``(rounds+1,)``.

    ``pi_long`` = p_n; ``greedy_accuracy`` = 1 once p_n > 1/3, else 1/2 (Theorem 1's threshold);
    ``mean_length`` = 2 (1 - p_n) + (d + 1) p_n tokens (a short response is a bit and EOS, a long
    one d+1 tokens).
    """
    p = cf.ideal_recursion(p0, rounds)                                        # (rounds+1,)
    return {"pi_long": p, "greedy_accuracy": np.where(p > 1 / 3, 1.0, 0.5),
            "mean_length": 2 * (1 - p) + (d + 1) * p}


def simulate_star(d, p, lam, rounds, samples, replicates, rng, pretrain_steps=None,
                  n_eval=1024, **options) -> tuple[sim.StarResult, np.ndarray]:
    """STaR by simulation (sim.run_star) from R starting models (studies.start.initial_models).

    ``pretrain_steps`` None starts from the exact NTP optimum (calibrated), an int from Algorithm 3
    with that many samples. ``options`` override simulate.FIGURE_STAR_OPTIONS. Returns (StarResult, theta0).
    """
    res, theta0, _ = _simulate_star(d, p, lam, rounds, samples, replicates, rng, pretrain_steps, n_eval, **options)
    return res, theta0


def _simulate_star(d, p, lam, rounds, samples, replicates, rng, pretrain_steps, n_eval, **options):
    """:func:`simulate_star` that also returns the R starting models (list of LinearAR)."""
    g_start, g_run = spawn(rng, 2)
    W0, theta0 = initial_models(d, p, pretrain_steps, lam, replicates, g_start)
    cfg = sim.StarConfig(rounds=rounds, samples=samples, lam=tuple(lam), n_eval=n_eval,
                        **{**sim.FIGURE_STAR_OPTIONS, **options})
    return sim.run_star(W0, cfg, g_run), theta0, W0.models()


def map_rounds(theta0, d, lam, n_max, level=0.99) -> float:
    """First round at which the exact map's greedy accuracy is >= level; inf if not by n_max (a
    number for the figures, which leave inf off the axes)."""
    r = first_at_least(cf.star_map(theta0, d, lam, n_max).greedy_accuracy, level)
    return np.inf if r is None else float(r)


def map_generalises(theta0, d, lam, n_max, level=0.99) -> bool:
    """Whether the exact map from theta0 reaches greedy accuracy >= level within n_max rounds
    (False when the start earns no reward, so that STaR keeps nothing)."""
    try:
        return map_rounds(theta0, d, lam, n_max, level) <= n_max
    except ValueError:          # the model earns no reward: STaR keeps nothing
        return False


def start_pi_long(theta0, d) -> float:
    """pi(L(x)|x) at temperature 1 of the reduced start theta0 ``(d+2,)`` (closed_form.trajectory_probs):
    the measured start whose n*(pi_0(L)) predicts the rounds where the start is not calibrated."""
    return float(cf.trajectory_probs(theta0, d).pi_long)


def pooled_offset(rounds, predicted) -> tuple[float, float]:
    """Offset of measured rounds from a prediction, pooled across p, and its standard error.

    rounds ``(k, R)``: rounds to generalise of R replicates at each of k values of p (inf: never);
    predicted ``(k,)`` (one prediction per p, e.g. n*(p)) or ``(k, R)`` (per replicate, e.g.
    n*(pi_0(L)) of each replicate's start). The offset o = rounds - predicted is averaged per p,
    m_i = mean_r o_ir with se_i = std_r(o_ir)/sqrt(R), then over p with equal weights:
    offset = mean_i m_i, se = sqrt(sum_i se_i^2)/k (a stratified mean: the differences between p are
    not noise). Needs R >= 2. Returns (inf, inf) when a replicate never generalised.
    """
    r = np.asarray(rounds, dtype=np.float64)
    if r.ndim != 2 or r.shape[1] < 2:
        raise ValueError(f"rounds: need shape (k, R) with R >= 2 replicates, got {r.shape}")
    pred = np.asarray(predicted, dtype=np.float64)
    off = r - (pred[:, None] if pred.ndim == 1 else pred)
    if not np.all(np.isfinite(off)):
        return np.inf, np.inf
    se_i = off.std(1, ddof=1) / np.sqrt(r.shape[1])
    return float(off.mean()), float(np.sqrt(np.sum(se_i ** 2)) / len(off))


@register_task("linparity.f8")
def f8_task(params: dict, rng: np.random.Generator) -> dict:
    """Pre-train T samples (Algorithm 3), then STaR (simulation, 'continue' variant).

    params: d, p, T, lam (triple), rounds, samples and, optionally, exact_map (default True).
    Returns greedy_accuracy, pi_long and mean_length ``(rounds+1,)``, the starting reduced state
    theta0 ``(d+2,)`` and, with exact_map, by enumeration (d <= 12), the greedy accuracy
    ``(rounds+1,)`` of exact.star_map started from the checkpoint's FULL weights
    (``exact_greedy_accuracy``; all 1/2 when the checkpoint earns no reward).
    """
    d, p = check_d(params["d"], 3), check_prob("p", params["p"])
    lam, rounds = tuple(params["lam"]), params["rounds"]
    res, theta0, (m0,) = _simulate_star(d, p, lam, rounds, params["samples"], 1, rng,
                                        check_int("T", params["T"], 1), 1024)
    out = {"greedy_accuracy": res.greedy_accuracy_[0], "pi_long": res.pi_long_[0],
           "mean_length": res.mean_length_[0], "theta0": theta0}
    if params.get("exact_map", True):
        try:
            out["exact_greedy_accuracy"] = exact.star_map(m0, p, lam, rounds)["greedy_accuracy"]
        except (ValueError, RuntimeError):   # nothing kept, or the refit did not converge
            out["exact_greedy_accuracy"] = np.full(rounds + 1, np.nan)
    return out


def f8_boundary(d, ps, Ts, lam, n_max, level=0.99) -> np.ndarray:
    """Whether the exact map from the population Pegasos checkpoint after T samples generalises
    within n_max rounds, ``(len(ps), len(Ts))`` bool (closed form: closed_form.pretrain_checkpoint +
    :func:`map_generalises`)."""
    out = np.zeros((len(ps), len(Ts)), dtype=bool)
    for i, p in enumerate(ps):
        for j, th in enumerate(cf.pretrain_checkpoint(d, p, lam, Ts)):
            out[i, j] = map_generalises(th, d, lam, n_max, level)
    return out


def f8_finite_n(start_pi_long, lam, Ns) -> dict:
    """The finite-N predictor of whether STaR recovers from a checkpoint: the expected correct long
    samples kept per round, N W_long, against the steps a chain head needs to converge,
    CONVERGENCE_FACTOR / lambda_chain (= 10/lambda_chain, the Pegasos yardstick of
    ``commands.convergence``, heads.CONVERGENCE_FACTOR).

    W_long is the probability that a response sampled at tau = 1 is long and kept by r_cot, i.e.
    exactly L(x): the start's pi(L(x)|x) averaged over x, ``start_pi_long`` ``(n_T, R)`` as measured
    on the full weights of R replicates at each of n_T pre-training sizes (the closed form at the
    replicate's reduced coordinates drops its off-subspace noise and overstates W_long at small T).
    Ns ``(n_N,)``. Returns ``w_long`` ``(n_T,)`` (mean over replicates), ``kept`` ``(n_N, n_T)`` =
    N w_long, ``need`` (float), ``predicted`` ``(n_N, n_T)`` bool (kept >= need) and ``n_boundary``
    ``(n_T,)`` = need / w_long (inf where w_long = 0), the N where the predictor switches to success.
    """
    w = np.asarray(start_pi_long, dtype=np.float64).mean(1)
    need = CONVERGENCE_FACTOR / lam[2]
    kept = np.asarray(Ns, dtype=np.float64)[:, None] * w[None, :]
    with np.errstate(divide="ignore"):
        n_boundary = need / w
    return {"w_long": w, "kept": kept, "need": need, "predicted": kept >= need, "n_boundary": n_boundary}


def switch_point(values, success) -> float | None:
    """The smallest of the increasing grid ``values`` from which on every ``success`` (bool, same
    length) holds: where a sweep switches from failure to success; None when the largest fails."""
    ok = np.asarray(success, dtype=bool)
    if ok.size == 0 or not ok[-1]:
        return None
    fails = np.flatnonzero(~ok)
    return float(values[fails[-1] + 1]) if fails.size else float(values[0])
