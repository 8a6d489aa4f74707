"""One measurement vocabulary for every route, and the measurement of one LinearAR (THEORY §4-5).

Every route reports what it measures under the names of :data:`KEYS` (closed form:
``TrajectoryProbs``; exact enumeration: ``exact_metrics``; simulation: ``evaluate_batch``; this
module: :func:`evaluate`), so results of different routes are compared key by key, never mapped by
hand. Standard errors of Monte Carlo averages carry the suffix ``_se``.

:func:`evaluate` computes everything that depends on one x exactly from the model's probabilities;
only the average over x is either exact (all 2^d inputs, d <= ``exact_max_d``) or Monte Carlo over
``n_mc`` uniform inputs, in which case a standard error is reported.
"""
from __future__ import annotations

import numpy as np

from ._checks import as_generator, check_int, check_prob, check_temperature
from .data import MAX_ENUM_D, all_inputs, long_response, sample_inputs, short_response
from .model import LinearAR
from ._validate import check_pm1

__all__ = ["KEYS", "per_input", "evaluate", "inputs_for", "first_at_least"]

#: the measurement record: every route's name for each quantity (means over uniform x)
KEYS = {
    "pi_long": "pi(L(x)|x) at temperature 1: the probability of exactly the long chain",
    "pi_short_correct": "pi(S(x)|x): the probability of exactly the correct short answer",
    "p_short": "P(short response) = sum over y_1 of pi((y_1, EOS)|x)",
    "p_long": "P(long response) = 1 - p_short",
    "p_correct": "P(last bit of a sampled response = chi(x))",
    "greedy_accuracy": "fraction of x whose greedy response ends in chi(x) (ties: THEORY §2)",
    "mean_length": "expected tokens including EOS: 2 p_short + (d+1) p_long",
    "expected_reward": "E[r] at the sampling temperature (reward 'cot' or 'e2e', THEORY §6)",
    "calibration_error": "max over x of |pi(L(x)|x) - p| (Theorem 1)",
    "calibration_error_short": "max over x of |pi(S(x)|x) - (1-p)/2| (Theorem 1)",
}


def inputs_for(d: int, n_mc: int = 20000, rng=None, exact_max_d: int = MAX_ENUM_D):
    """All 2^d inputs when d <= exact_max_d (returns ``(X, True)``), else n_mc uniform ones ``(X, False)``."""
    if d <= exact_max_d:
        return all_inputs(d), True
    return sample_inputs(check_int("n_mc", n_mc, 2), d, rng), False


def _check_model(model) -> LinearAR:
    if not isinstance(model, LinearAR):
        raise ValueError(f"model: must be a linparity.LinearAR, got {type(model).__name__}")
    return model


def per_input(model: LinearAR, X, temperature: float = 1.0) -> dict[str, np.ndarray]:
    """Exact per-input probabilities, each ``(n,)``.

    pi_long = pi(L(x)|x); pi_short_correct = pi(S(x)|x); p_short = sum_{y_1} pi((y_1, EOS)|x);
    mean_length = 2 p_short + (d+1)(1 - p_short); greedy_correct = 1 if the last bit of the greedy
    response equals chi(x).
    """
    tau = check_temperature(temperature)
    model = _check_model(model)
    X = check_pm1("X", X, model.d).astype(np.int8)
    n, d = X.shape
    p_short = np.zeros(n)
    for y1 in (1, -1):
        Y = np.zeros((n, d + 1), dtype=np.int8)
        Y[:, 0] = y1
        p_short += np.exp(model.log_prob(X, Y, tau))
    G = model.greedy(X)
    nbits = (G != 0).sum(axis=1)
    last = G[np.arange(n), nbits - 1]
    return {"pi_long": np.exp(model.log_prob(X, long_response(X), tau)),
            "pi_short_correct": np.exp(model.log_prob(X, short_response(X), tau)),
            "p_short": p_short,
            "mean_length": 2 * p_short + (d + 1) * (1 - p_short),
            "greedy_correct": (last == np.prod(X, axis=1)).astype(np.float64)}


def evaluate(model: LinearAR, p_cot: float, *, n_mc: int = 20000, rng=None,
             exact_max_d: int = MAX_ENUM_D) -> dict:
    """Theorem 1 measurements of one model on D(p), at temperature 1.

    Returns a dict with ``pi_long`` and ``pi_short_correct`` (means over x), ``calibration_error``
    (max over x of |pi(L|x) - p|), ``calibration_error_mean``, ``calibration_error_short`` (max over x
    of |pi(S|x) - (1-p)/2|) and its mean, ``greedy_accuracy``, ``mean_length``, ``exact`` (True when
    averaged over all 2^d inputs) and, for Monte Carlo averages, ``*_se`` standard errors (the max over
    sampled x is then a lower estimate of the max over all x; ``calibration_error_se`` is the bootstrap
    standard error of that sampled max, 200 resamples).
    """
    model = _check_model(model)
    p = check_prob("p_cot", p_cot)
    rng = as_generator(rng)
    X, exact = inputs_for(model.d, n_mc, rng, exact_max_d)
    q = per_input(model, X)
    errL = np.abs(q["pi_long"] - p)
    errS = np.abs(q["pi_short_correct"] - (1 - p) / 2)
    out = {"pi_long": q["pi_long"].mean(), "pi_short_correct": q["pi_short_correct"].mean(),
           "calibration_error": errL.max(), "calibration_error_mean": errL.mean(),
           "calibration_error_short": errS.max(), "calibration_error_short_mean": errS.mean(),
           "greedy_accuracy": q["greedy_correct"].mean(), "mean_length": q["mean_length"].mean(),
           "exact": exact, "n_inputs": len(X)}
    if not exact:
        se = lambda v: float(v.std(ddof=1) / np.sqrt(len(v)))  # noqa: E731
        out.update(pi_long_se=se(q["pi_long"]), pi_short_correct_se=se(q["pi_short_correct"]),
                   calibration_error_mean_se=se(errL), calibration_error_se=_bootstrap_max_se(errL, rng),
                   greedy_accuracy_se=se(q["greedy_correct"]), mean_length_se=se(q["mean_length"]))
    return {k: (float(v) if isinstance(v, (np.floating, float)) else v) for k, v in out.items()}


def _bootstrap_max_se(v: np.ndarray, rng, n_boot: int = 200) -> float:
    """Bootstrap standard error of max(v) over ``n_boot`` resamples of v."""
    idx = rng.integers(0, len(v), size=(n_boot, len(v)))
    return float(v[idx].max(axis=1).std(ddof=1))


def first_at_least(values, level: float = 0.99) -> int | None:
    """Index of the first entry of the 1-d ``values`` that is >= level (e.g. the first STaR round whose
    greedy accuracy reaches 0.99); None if there is none."""
    hit = np.flatnonzero(np.asarray(values, dtype=np.float64) >= level)
    return int(hit[0]) if hit.size else None
