"""Is the reduced subspace of THEORY §4 invariant? Exact full-weight gradients at reduced points.

A study where two routes meet: points come from the closed form's reduced coordinates, gradients
from exact enumeration on the full weights (``linparity.exact``). Run ``python -m linparity.studies``.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._checks import as_generator, check_int
from ..data import MAX_ENUM_D
from ..exact import policy_gradient, population_ntp_grad
from ..model import LinearAR

__all__ = ["InvarianceRow", "random_reduced_points", "invariance_table", "print_invariance_table"]


class InvarianceRow(NamedTuple):
    """Largest off-subspace gradient norms over random reduced points, for one d."""
    d: int
    ntp_off: float       # max off-subspace norm of the exact NTP gradient on D(p)
    ntp_scale: float     # max full norm of that gradient (for scale)
    pg_off: dict         # (reward, tau) -> max off-subspace norm of the exact policy gradient
    pg_scale: dict       # (reward, tau) -> max full norm of that policy gradient


def random_reduced_points(d, n_points, rng):
    """Hypothesis-like reduced points: (a, b, c) and each c_l uniform in [-3, 3], p uniform in
    [0, 1], one lambda log-uniform in [1e-3, 1]."""
    rng = as_generator(rng)
    for _ in range(n_points):
        a, b, c = rng.uniform(-3, 3, 3)
        chain = rng.uniform(-3, 3, d - 1)
        yield (LinearAR.from_reduced(d, a, b, c, chain), float(rng.uniform()),
               float(10 ** rng.uniform(-3, 0)))


def invariance_table(ds=range(2, 9), rng=None, n_points: int = 8,
                     temperatures=(0.75, 1.0, 1.5), rewards=("cot", "e2e")) -> list[InvarianceRow]:
    """For each d, the largest off-subspace component of the exact gradients at random reduced points.

    At ``n_points`` random points of the reduced subspace of THEORY §4 (see
    ``random_reduced_points``; a fresh SeedSequence child of ``rng`` per d, so rows do not depend
    on which d are asked for), compute the full-weight exact NTP gradient on D(p)
    (:func:`population_ntp_grad`) and the exact policy gradient (:func:`policy_gradient`) for
    each reward and temperature, and report the maximum of
    ``LinearAR.reduced().off_subspace_norm`` over the points. The subspace is invariant where this
    is zero up to floating-point rounding (about 1e-16 times the gradient scale).
    """
    ds = [check_int("d", d, 2, MAX_ENUM_D) for d in ds]
    ss = rng if isinstance(rng, np.random.SeedSequence) else np.random.SeedSequence(
        as_generator(rng).integers(2 ** 63))
    rows = []
    for d in ds:
        child = np.random.default_rng(np.random.SeedSequence(ss.entropy, spawn_key=ss.spawn_key + (d,)))
        ntp_off = ntp_scale = 0.0
        pg_off = {(r, t): 0.0 for r in rewards for t in temperatures}
        pg_scale = dict(pg_off)
        for model, p, lam in random_reduced_points(d, n_points, child):
            g = population_ntp_grad(model, p, lam)
            ntp_off = max(ntp_off, g.reduced().off_subspace_norm)
            ntp_scale = max(ntp_scale, float(np.linalg.norm(g.to_vector())))
            for r in rewards:
                for t in temperatures:
                    pg = policy_gradient(model, r, t)
                    pg_off[r, t] = max(pg_off[r, t], pg.reduced().off_subspace_norm)
                    pg_scale[r, t] = max(pg_scale[r, t], float(np.linalg.norm(pg.to_vector())))
        rows.append(InvarianceRow(d, ntp_off, ntp_scale, pg_off, pg_scale))
    return rows


def print_invariance_table() -> None:
    """Print the invariance table for d = 2..8 (8 random reduced points per d, seed 20260)."""
    temps = (0.75, 1.0, 1.5)
    rows = invariance_table(range(2, 9), rng=20260, n_points=8, temperatures=temps)
    print("Max off-subspace norm of the exact gradient at 8 random reduced points per d")
    print("(scale = max full gradient norm; invariant <=> off ~ 1e-16 x scale)")
    head = "  d   NTP off (scale)        " + "  ".join(f"PG {r} tau={t:<4}" for r in ("cot", "e2e")
                                                          for t in temps)
    print(head)
    for r in rows:
        cells = "  ".join(f"{r.pg_off[k, t]:14.2e}" for k in ("cot", "e2e") for t in temps)
        print(f"{r.d:3d}   {r.ntp_off:9.2e} ({r.ntp_scale:6.3f})  {cells}")
