"""One measurement vocabulary for every route, its records, and the measurement of one LinearAR (THEORY §4-5).

Every route reports what it measures as :class:`Measures` (one model; its fields are :data:`KEYS`)
or :class:`Trajectory` (a run: a series per field, with the route, algorithm and variant), through
the same verbs on every route (``linparity.<route>.api``: ``measure``, ``pretrain``, ``star``,
``pg``), so results of different routes are compared key by key, never mapped by hand. What only
one route has goes to ``Trajectory.extra``.

:func:`evaluate` computes everything that depends on one x exactly from the model's probabilities;
only the average over x is either exact (all 2^d inputs, d <= ``exact_max_d``) or Monte Carlo over
``n_mc`` uniform inputs, in which case a standard error is reported. Its dict holds :data:`KEYS`
names, their standard errors ``<key>_se`` and the two descriptors of :data:`EVALUATE_INFO`.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields

import numpy as np
from numba import njit

from ._checks import as_generator, check_d, check_int, check_prob, check_temperature
from .data import MAX_ENUM_D, all_inputs, sample_inputs
from .model import LinearAR, chain_decode, log_sigmoid
from ._validate import check_finite_array, check_finite_scalar, check_pm1

__all__ = ["KEYS", "Measures", "Trajectory", "Start", "EVALUATE_INFO", "check_supported", "per_input", "evaluate", "evaluate_models", "bootstrap_max_se", "inputs_for", "first_at_least"]

def _key(doc: str):
    """A field of :class:`Measures`: a float (or an array of them in a :class:`Trajectory`), None where
    the route does not compute it; ``doc`` says what it measures (collected in :data:`KEYS`)."""
    return field(default=None, metadata={"doc": doc})


@dataclass(frozen=True)
class Measures:
    """One model's measurements (means over uniform x), under the one name each has on every route.

    A field is None where the route does not compute it (e.g. :func:`evaluate` draws no response, so
    it has no ``expected_reward``); routes are compared on the fields both compute. In a
    :class:`Trajectory` each field is a series ``(n,)`` instead of a float.
    """
    pi_long: object = _key("pi(L(x)|x) at temperature tau: the probability of exactly the long chain")
    pi_short_correct: object = _key("pi(S(x)|x): the probability of exactly the correct short answer")
    calibration_error: object = _key("max over x of |pi(L(x)|x) - p| (Theorem 1)")
    calibration_error_mean: object = _key("mean over x of |pi(L(x)|x) - p|")
    calibration_error_short: object = _key("max over x of |pi(S(x)|x) - (1-p)/2| (Theorem 1)")
    calibration_error_short_mean: object = _key("mean over x of |pi(S(x)|x) - (1-p)/2|")
    greedy_accuracy: object = _key("fraction of x whose greedy response ends in chi(x) (ties: THEORY §2)")
    mean_length: object = _key("expected tokens including EOS: 2 p_short + (d+1) p_long")
    p_short: object = _key("P(short response) = sum over y_1 of pi((y_1, EOS)|x)")
    p_long: object = _key("P(long response) = 1 - p_short")
    p_correct: object = _key("P(last bit of a sampled response = chi(x))")
    expected_reward: object = _key("E[r] at the sampling temperature (reward 'cot' or 'e2e', THEORY §6)")

    @classmethod
    def of(cls, values: Mapping) -> "Measures":
        """The :data:`KEYS` entries of ``values`` (a route's dict; other keys are not measurements)."""
        return cls(**{k: values[k] for k in KEYS if k in values})

    def as_dict(self) -> dict:
        """The computed fields (not None), in :data:`KEYS` order."""
        return {k: getattr(self, k) for k in KEYS if getattr(self, k) is not None}

    def one_replicate(self) -> "Measures":
        """Series ``(n,)`` of a route without replicates as one replicate, each ``(1, n)``
        (:attr:`Trajectory.replicates` of the exact routes)."""
        return Measures(**{k: np.asarray(v)[None] for k, v in self.as_dict().items()})


#: the measurement vocabulary: every route's name for each quantity (means over uniform x), the
#: fields of :class:`Measures` with their meaning (one definition: this is read off the dataclass)
KEYS = {f.name: f.metadata["doc"] for f in fields(Measures)}


@dataclass(frozen=True)
class Trajectory:
    """A route's measurements along a run: one :class:`Measures` of series per recorded step or round.

    Attributes
    ----------
    route : str
        The route that computed it, named as the commands' ``method``: 'sgd' (simulation),
        'closed-form' or 'exact'.
    method : str
        The algorithm: 'pegasos' (pre-training, Algorithm 3 or its population dynamics), 'star',
        'reinforce' or 'grpo'.
    variant : str or None
        STaR's variant ('continue', 'refit', 'refit (population)'); None elsewhere.
    t : ndarray ``(n,)`` int
        The step or round index of each record (round 0 / step 0 = the start).
    mean : Measures
        Each computed field a series ``(n,)`` (the mean over replicates where the route runs several).
    se : Measures
        Standard errors ``(n,)`` of the fields that the route averages over replicates or Monte Carlo
        inputs; every field None where the route is exact.
    extra : dict
        What only this route has (models, reduced coordinates, kept-set statistics, distinct inputs...).
    replicates : Measures
        Each field a series ``(R, n)`` per replicate (``star`` fills it on every route: the
        simulation's R replicates, one replicate ``(1, n)`` equal to ``mean`` on the exact routes);
        every field None where a verb does not record it.
    """
    route: str
    method: str
    variant: str | None
    t: np.ndarray
    mean: Measures
    se: Measures = Measures()
    extra: dict = field(default_factory=dict)
    replicates: Measures = Measures()

    def __getitem__(self, key: str):
        """The mean series of measurement ``key`` (a :data:`KEYS` name), None where not computed."""
        if key not in KEYS:
            raise KeyError(f"{key!r} is not a measurement (KEYS: {', '.join(KEYS)})")
        return getattr(self.mean, key)


def check_supported(route: str, supports: dict, verb: str, **settings) -> None:
    """ValueError naming the first of ``settings`` that the route's table ``supports``
    ({verb: {setting: (allowed values, why)}}) excludes for ``verb``."""
    for name, (allowed, why) in supports.get(verb, {}).items():
        if name in settings and settings[name] not in allowed:
            raise ValueError(f"{name}: --method {route} supports {name} {' or '.join(map(repr, allowed))} only"
                             f"{f' ({why})' if why else ''}, got {settings[name]!r}")


#: the keys of :func:`evaluate` that describe the average rather than measure the model
EVALUATE_INFO = ("exact", "n_inputs")


@dataclass(frozen=True)
class Start:
    """Where post-training starts, as the routes need it.

    ``models``: the route's starting weights (the simulation: a ``BatchedAR`` of R replicates; the
    exact route: one LinearAR; the closed form: None, it needs only ``theta``); ``theta`` ``(d+2,)``: the reduced start of the closed-form reference
    (the exact map, the expected policy-gradient dynamics) reported beside the route; ``extra``:
    what only the route knows of its pre-training (``chain_steps``: steps each chain head took, where
    that is every step; ``distinct_inputs_expected``: expected distinct inputs among the samples).
    """
    models: object
    theta: np.ndarray
    extra: dict = field(default_factory=dict)


def inputs_for(d: int, n_mc: int = 20000, rng=None, exact_max_d: int = MAX_ENUM_D):
    """All 2^d inputs when d <= exact_max_d (returns ``(X, True)``), else n_mc uniform ones ``(X, False)``."""
    if check_d(d) <= check_int("exact_max_d", exact_max_d, 0, MAX_ENUM_D):
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

    Computed in one pass (the same formulas as :meth:`LinearAR.log_prob` and
    :meth:`LinearAR.greedy`, equal to them to rounding; tested): the short responses need only
    the head 1 logit u_1 = <w_1, x> and the stop logits u_2a(y_1) for y_1 = +-1; the long
    response L(x) = (s_1, ..., s_d) and greedy decoding share one GEMM
    X ``(n, d)`` @ [W_x; W_p]^T ``(d, 2d-2)`` for the chain heads' x-parts.
    """
    tau = check_temperature(temperature)
    model = _check_model(model)
    return _per_input_blocks([model], _blocks(check_pm1("X", X, model.d)), tau)[0]


def _blocks(X) -> list:
    """X ``(n, d)`` cut into row blocks of :data:`_ROWS`, each (X int8, X float, parities int8,
    parities float) (:func:`_float_and_parities`): computed once, shared by every model evaluated."""
    X = np.asarray(X).astype(np.int8)
    return [(X[a:a + _ROWS],) + _float_and_parities(X[a:a + _ROWS]) for a in range(0, len(X), _ROWS)]


def _per_input_blocks(models, blocks, tau) -> list[dict[str, np.ndarray]]:
    """:func:`per_input` of every model over precomputed row blocks (:func:`_blocks`): blocks
    outside, models inside, so each block's inputs stay in cache while every model reads them."""
    n = sum(len(b[0]) for b in blocks)
    mats = [_weights(m) for m in models]
    outs = [{k: np.empty(n) for k in ("pi_long", "pi_short_correct", "p_short", "mean_length",
                                      "greedy_correct")} for _ in models]
    start = 0
    for block in blocks:                                          # rows are independent
        stop = start + len(block[0])
        for model, mat, out in zip(models, mats, outs):
            for k, v in _per_input_rows(model, block, tau, mat).items():
                out[k][start:stop] = v
        start = stop
    return outs


def _weights(model: LinearAR):
    """(the x-parts' weights ``(d, 2d+1)``, W_y^T) of one model for :func:`_per_input_rows`:
    every x-part in one GEMM, the chain heads' <W_x[l], x> and <W_p[l], x>, then head 1's
    <w_1, x> and the stop head's two x-parts."""
    d = model.d
    Wx, Wy, Wp = model.packed()                                   # (d-1, d), (d-1, d-1), (d-1, d)
    WW = np.vstack([Wx, Wp, model.w1, model.w2a[:d], model.w2a[d + 1:]]).T.copy()   # (d, 2d+1)
    return WW, Wy.T.copy()


#: rows per block of :func:`per_input` (temporaries ~ _ROWS * 2d floats stay in L2)
_ROWS = 2048


def _per_input_rows(model: LinearAR, block, tau, mats) -> dict[str, np.ndarray]:
    """:func:`per_input` on one block of rows (:func:`_blocks`); mats from :func:`_weights`."""
    X, Xf, S, Sf = block                                          # (n, d) int8, float, int8, float
    n, d = X.shape
    WW, WyT = mats
    chi = S[:, -1]
    XW = Xf @ WW                                                  # (n, 2d+1)
    base, pair = XW[:, :d - 1], XW[:, d - 1:2 * d - 2]            # <W_x[l], x>, <W_p[l], x>
    u1, ua, uc_x = XW[:, 2 * d - 2:].T.copy()                   # (n,) each, contiguous

    def stop_logit(y1):                                           # as in LinearAR.logits
        return ua + y1 * model.w2a[d] + y1 * uc_x + model.b2a

    lp_short = {}
    for y1 in (1.0, -1.0):                                        # log pi((y_1, EOS) | x)
        lp_short[y1] = log_sigmoid(y1 * u1 / tau) + log_sigmoid(stop_logit(y1) / tau)
    p_short = np.exp(lp_short[1.0]) + np.exp(lp_short[-1.0])
    pi_short_correct = np.exp(np.where(chi > 0, lp_short[1.0], lp_short[-1.0]))
    # long response L(x): y_l = s_l; chain margins m_l = s_l u_l with
    # u_l = base_l + sum_{k<l} W_y[l, k] s_k + s_{l-1} pair_l  (as in LinearAR.logits)
    s1 = Sf[:, 0]
    wys = Sf[:, :d - 1] @ WyT                                     # (n, d-1)
    y1 = np.where(u1 >= 0, 1, -1).astype(np.int8)                 # greedy y_1
    go = ~(stop_logit(y1.astype(np.float64)) > 0)                 # greedy goes on (logit 0: on)
    # sum_l log sigma(m_l / tau) = sum_l min(m_l/tau, 0) - log prod_l (1 + exp(-|m_l/tau|)): the
    # kernel sums the first terms and leaves -|m/tau| in T for numpy's vectorised exp; the product
    # of d-1 factors in (1, 2] cannot overflow
    neg_min_sum, T = _chain_pass(base, pair, wys, S, 1.0 / tau)
    greedy_last = _greedy_last(base, pair, WyT, y1, go)
    np.exp(T, out=T)
    lp_chain = neg_min_sum - _log_prod_1p(T)
    lp_long = log_sigmoid(s1 * u1 / tau) + (log_sigmoid(-stop_logit(s1) / tau) + lp_chain)
    return {"pi_long": np.exp(lp_long),
            "pi_short_correct": pi_short_correct,
            "p_short": p_short,
            "mean_length": 2 * p_short + (d + 1) * (1 - p_short),
            "greedy_correct": (greedy_last == chi).astype(np.float64)}


@njit(cache=True, nogil=True)
def _log_prod_1p(E):
    """log prod_l (1 + E[i, l]) of every row, ``(n,)``, for E ``(n, m)`` in [0, 1] (then each
    factor is in [1, 2]: no overflow for m < 1023). Equal to sum_l log1p(E[i, l]) up to two
    roundings per factor (1 + E, then the product; relative 1.1e-16 each): absolute <= 2.3e-16 m."""
    n, m = E.shape
    out = np.empty(n)
    for i in range(n):
        q = 1.0
        for h in range(m):
            q *= 1.0 + E[i, h]
        out[i] = math.log(q)
    return out


@njit(cache=True, nogil=True)
def _float_and_parities(X):
    """X as float64, and the prefix parities s_j = x_1 ... x_j (data.prefix_parities) as int8
    and float64, each ``(n, d)``, in one pass."""
    n, d = X.shape
    Xf = np.empty((n, d))
    S = np.empty((n, d), dtype=np.int8)
    Sf = np.empty((n, d))
    for i in range(n):
        s = 1.0
        for j in range(d):
            x = float(X[i, j])
            s *= x
            Xf[i, j] = x
            Sf[i, j] = s
    for i in range(n):
        for j in range(d):
            S[i, j] = np.int8(Sf[i, j])
    return Xf, S, Sf


@njit(cache=True, nogil=True)
def _chain_pass(base, pair, wys, S, inv_tau):
    """The margins of L(x) for the chain heads (THEORY §2 logits), one pass over the rows.

    base, pair, wys ``(n, m)`` (m = d-1 heads): <W_x[l], x>, <W_p[l], x> and
    sum_{k<l} W_y[l, k] s_k; S ``(n, d)`` int8 prefix parities.

    Returns sum_l min(m_l / tau, 0) ``(n,)`` and T = -|m_l / tau| ``(n, m)`` with
    m_l = s_l (base_l + wys_l + s_{l-1} pair_l).
    """
    n, m = base.shape
    neg = np.zeros(n)
    T = np.empty((n, m))
    for i in range(n):
        acc_min = 0.0
        for h in range(m):                         # head l = h + 2: label s_l, prev s_{l-1}
            sp = float(S[i, h])
            u = base[i, h] + wys[i, h] + sp * pair[i, h]
            mm = float(S[i, h + 1]) * u * inv_tau
            acc_min += min(mm, 0.0)                # no branch on the sign (unpredictable)
            T[i, h] = -abs(mm)
        neg[i] = acc_min
    return neg, T


#: no uniforms / no stored logits for chain_decode's greedy calls
_NO_U = np.empty((0, 0))


def _greedy_last(base, pair, WyT, y1, go):
    """The last bit of the greedy response ``(n,)`` int8: y_1 where greedy stops (go False), else
    y_d of the chain decoded greedily from y_1 (:func:`linparity.model.chain_decode`, the order and
    tie rules of LinearAR.greedy). base, pair ``(n, d-1)``; WyT ``(d-1, d-1)``; y1 int8, go bool ``(n,)``."""
    last = y1.copy()
    rows = np.flatnonzero(go)
    if rows.size:
        dm1 = base.shape[1]
        Y = np.zeros((rows.size, dm1 + 2), dtype=np.int8)        # the go rows' responses
        Y[:, 0] = y1[rows]
        chain_decode(np.arange(rows.size), base[rows], pair[rows], WyT, _NO_U, 1.0, True, Y, _NO_U)
        last[rows] = Y[:, dm1]
    return last


def evaluate(model: LinearAR, p_cot: float, *, n_mc: int = 20000, rng=None,
             exact_max_d: int = MAX_ENUM_D) -> dict:
    """Theorem 1 measurements of one model on D(p), at temperature 1.

    Returns a dict (:data:`KEYS` names; ``p_short``, ``p_long``, ``p_correct`` and ``expected_reward``
    are not computed here) with ``pi_long`` and ``pi_short_correct`` (means over x), ``calibration_error``
    (max over x of |pi(L|x) - p|), ``calibration_error_mean``, ``calibration_error_short`` (max over x
    of |pi(S|x) - (1-p)/2|) and its mean, ``greedy_accuracy``, ``mean_length``, ``exact`` (True when
    averaged over all 2^d inputs) and, for Monte Carlo averages, ``*_se`` standard errors (the max over
    sampled x is then a lower estimate of the max over all x; ``calibration_error_se`` is the exact
    bootstrap standard error of that sampled max, :func:`bootstrap_max_se`).
    """
    return evaluate_models([model], p_cot, n_mc=n_mc, rng=rng, exact_max_d=exact_max_d)[0]


def evaluate_models(models, p_cot: float, *, n_mc: int = 20000, rng=None, exact_max_d: int = MAX_ENUM_D) -> list:
    """:func:`evaluate` of every model on ONE draw of inputs (all 2^d when d <= exact_max_d, else n_mc
    drawn from ``rng`` once); a list of dicts. With an int seed this equals
    ``[evaluate(m, p_cot, n_mc=n_mc, rng=seed) for m in models]`` (tested), without re-drawing and
    re-converting the inputs for each model."""
    if isinstance(models, (LinearAR, str, bytes)) or not hasattr(models, "__iter__"):
        raise ValueError(f"models: must be a sequence of LinearAR, got {type(models).__name__}")
    models = [_check_model(m) for m in models]
    if not models:
        raise ValueError("models: need at least one model")
    if len({m.d for m in models}) > 1:
        raise ValueError(f"models: must share one d, got {sorted({m.d for m in models})}")
    p = check_prob("p_cot", p_cot)
    X, exact = inputs_for(models[0].d, n_mc, as_generator(rng), exact_max_d)
    return [_measures(q, p, exact) for q in _per_input_blocks(models, _blocks(X), 1.0)]


def _measures(q, p, exact) -> dict:
    """:func:`evaluate`'s dict from the per-input values q (:func:`per_input`)."""
    errL = np.abs(q["pi_long"] - p)
    errS = np.abs(q["pi_short_correct"] - (1 - p) / 2)
    out = {"pi_long": q["pi_long"].mean(), "pi_short_correct": q["pi_short_correct"].mean(),
           "calibration_error": errL.max(), "calibration_error_mean": errL.mean(),
           "calibration_error_short": errS.max(), "calibration_error_short_mean": errS.mean(),
           "greedy_accuracy": q["greedy_correct"].mean(), "mean_length": q["mean_length"].mean(),
           "exact": exact, "n_inputs": len(errL)}
    if not exact:
        se = lambda v: float(v.std(ddof=1) / np.sqrt(len(v)))  # noqa: E731
        out.update(pi_long_se=se(q["pi_long"]), pi_short_correct_se=se(q["pi_short_correct"]),
                   calibration_error_mean_se=se(errL), calibration_error_se=bootstrap_max_se(errL),
                   greedy_accuracy_se=se(q["greedy_correct"]), mean_length_se=se(q["mean_length"]))
    return {k: (float(v) if isinstance(v, (np.floating, float)) else v) for k, v in out.items()}


def bootstrap_max_se(v, top: int = 64) -> float:
    """Exact (ideal, infinitely many resamples) bootstrap standard error of max(v), v ``(n,)``.

    A resample of n values drawn with replacement from v has its max <= v_(i) (the i-th smallest)
    with probability (i/n)^n, so the max takes the value v_(i) with probability
    (i/n)^n - ((i-1)/n)^n; the result is the standard deviation of that distribution (Efron and
    Tibshirani, *An Introduction to the Bootstrap*, 1993, the ideal bootstrap estimate). Only the
    ``top`` largest values are kept apart; the mass ((n-top)/n)^n <= e^-top of the rest is put on
    v_(n-top), which moves the variance by at most ~3 e^-top range(v)^2, the result by at most
    ~2 e^(-top/2) range(v) (3e-14 of the range at top = 64).
    """
    v = np.asarray(v, dtype=np.float64).ravel()
    n = v.size
    if n < 2:
        raise ValueError(f"v: need >= 2 values, got {n}")
    if not np.isfinite(v).all():
        raise ValueError("v: must be finite (found NaN or inf)")
    k = min(n, check_int("top", top, 1) + 1)
    vs = np.sort(np.partition(v, n - k)[n - k:])                  # (k,) the k largest, ascending
    i = np.arange(n - k + 1, n + 1, dtype=np.float64)             # their ranks
    cdf = np.exp(n * np.log(i / n))                               # P(max <= v_(i)) = (i/n)^n
    w = np.diff(cdf, prepend=0.0)                                 # lowest kept value takes the rest
    mean = w @ vs
    return float(np.sqrt(max(w @ (vs - mean) ** 2, 0.0)))


def first_at_least(values, level: float = 0.99) -> int | None:
    """Index of the first entry of the 1-d ``values`` that is >= level (e.g. the first STaR round whose
    greedy accuracy reaches 0.99); None if there is none."""
    values = check_finite_array("values", values)
    if values.ndim != 1:
        raise ValueError(f"values: must be 1-d, got shape {values.shape}")
    hit = np.flatnonzero(values >= check_finite_scalar("level", level))
    return int(hit[0]) if hit.size else None
