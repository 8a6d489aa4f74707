"""Per-head primitives shared by every route (THEORY §3): the logistic loss, the lambda triple, Pegasos.

Each of the three routes (closed form, exact enumeration, simulation) trains the same per-head
regularised logistic losses of THEORY §3; what they share is defined once here and nowhere else.

* ``ell(m) = ln(1 + e^{-m})``, the logistic loss of a margin m;
* ``lam`` is a scalar for every head or a triple ``(lam1, lam2a, lam_chain)``: :func:`lam_triple`
  is the one parser (the CLI's per-head overrides included);
* the Pegasos step size of a head at its k-th step is ``1/(lam k)`` (:func:`pegasos_step_size`);
  :func:`step_schedule` parses the step-size option of the population descents.
"""
from __future__ import annotations

import numpy as np

from ._checks import check_int
from ._validate import check_lam

__all__ = ["ell", "lam_triple", "default_lam", "pegasos_step_size", "step_schedule", "LAM_NAMES",
           "CONVERGENCE_FACTOR"]

#: the names of the three regularisation strengths, in the order of a lambda triple
LAM_NAMES = ("lam1", "lam2a", "lam_chain")

#: a Pegasos head counts as converged after at least this many / lambda steps (its distance to the
#: optimum decays like 1/(lambda T)): the yardstick of ``commands.convergence`` and of F8's predictor
CONVERGENCE_FACTOR = 10.0


def ell(m):
    """Logistic loss ell(m) = ln(1 + e^{-m}) (THEORY §3), stable for any m (``logaddexp``)."""
    return np.logaddexp(0.0, -np.asarray(m, dtype=np.float64))


def lam_triple(lam, lam1=None, lam2a=None, lam_chain=None, *, positive: bool = False
               ) -> tuple[float, float, float]:
    """``lam`` (a scalar or a triple) as ``(lam1, lam2a, lam_chain)``, with per-head overrides.

    Parameters
    ----------
    lam : float or sequence of 3 floats
        Strength of every head, or ``(lam1, lam2a, lam_chain)``. Entries of a triple that are
        None take the first entry that is not (the CLI's "default: --lam").
    lam1, lam2a, lam_chain : float, optional
        Override one head's strength.
    positive : bool
        Require every strength in [LAM_MIN, LAM_MAX] = [1e-12, 1e12] (simulation and the Pegasos
        schedule need lam > 0); otherwise 0 (the closed form's unregularised limit) is also accepted.
        Strengths between 0 and 1e-12 are refused: there the Pegasos step 1/(lam k) and the
        closed-form root lam c = sigma(-c) leave double precision (``linparity._validate``).

    Returns
    -------
    tuple of 3 floats in range; ValueError naming the head otherwise.
    """
    try:
        scalar = lam is None or np.ndim(lam) == 0
    except ValueError:                       # a ragged nested sequence
        raise ValueError(f"lam: must be a number or a triple (lam1, lam2a, lam_chain), got {lam!r}") from None
    if scalar:
        lams = [lam] * 3
    else:
        lams = list(lam)
        if len(lams) != 3:
            raise ValueError(f"lam: must be a number or a triple (lam1, lam2a, lam_chain), got {lam!r}")
    base = next((x for x in lams if x is not None), None)
    if base is None:
        raise ValueError("lam: must be a number or a triple (lam1, lam2a, lam_chain), got None")
    lams = [base if x is None else x for x in lams]
    # an error names what the user passed: 'lam' for a shared scalar, else the head's own name
    names = [("lam" if scalar else n) if o is None else n for n, o in zip(LAM_NAMES, (lam1, lam2a, lam_chain))]
    lams = [x if o is None else o for x, o in zip(lams, (lam1, lam2a, lam_chain))]
    return tuple(check_lam(n, x, allow_zero=not positive) for n, x in zip(names, lams))


def default_lam(d: int) -> tuple[float, float, float]:
    """The default per-head lambdas, the figures': (lam1, lam2a, lam_chain) = (0.01, 0.01, 0.01/d).

    Chain calibration needs lam_chain << 1/d (THEORY §10): at the optimum lam c* = sigma(-c*),
    each chain bit is wrong with probability sigma(-c*), and pi(L) carries the factor
    (1 - sigma(-c*))^(d-1). With lam_chain = 0.01/d, (d-1) sigma(-c*) is about 0.07 for d in
    [5, 128] (pi(L) ~ 0.93 p).
    """
    d = check_int("d", d, 2)
    return (0.01, 0.01, 0.01 / d)


def pegasos_step_size(lam, k):
    """Step size 1/(lam k) of a head at its k-th step (k >= 1) of Algorithm 3 (THEORY §3)."""
    return 1.0 / (lam * np.asarray(k, dtype=np.float64))


_STEP_KINDS = "'pegasos', a number, a callable or an array of steps"


def step_schedule(step, steps, lam, average=None):
    """The step-size option of a population descent on the per-head losses, parsed once for every
    route (closed_form.discrete_dynamics, exact.train_exact).

    Parameters
    ----------
    step : 'pegasos', float, callable or array
        'pegasos': eta_t = 1/(lambda t) for each head (:func:`pegasos_step_size`; every lambda must
        be > 0); a number: that constant step; a callable: eta_t = step(t), t = 1..steps (a number,
        or one step per coordinate); an array: eta_t is its row t-1 (first axis steps).
    steps : int
        Number of steps (validated by the caller).
    lam : float or sequence of 3 floats
        The strengths (:func:`lam_triple`); checked > 0 for 'pegasos'.
    average : bool or None
        Return the running mean of the iterates; None: on for 'pegasos' (Algorithm 3), off otherwise.

    Returns
    -------
    (eta, average): ``eta`` None for 'pegasos' (each route applies 1/(lambda t) to its own
    coordinates), else the function t -> eta_t; ``average`` a bool.
    """
    if isinstance(step, str):
        if step != "pegasos":
            raise ValueError(f"step: must be {_STEP_KINDS}, got {step!r}")
        lam_triple(lam, positive=True)              # 1/(lambda t) needs every lambda > 0
        return None, True if average is None else bool(average)
    if callable(step):
        return step, bool(average)
    try:
        etas = np.asarray(step, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"step: must be {_STEP_KINDS}, got {step!r}") from None
    if etas.ndim == 0:
        const = float(etas)
        return (lambda t: const), bool(average)
    if etas.shape[0] != steps:
        raise ValueError(f"step: an array of steps needs one row per step ({steps}), got shape {etas.shape}")
    return (lambda t: etas[t - 1]), bool(average)
