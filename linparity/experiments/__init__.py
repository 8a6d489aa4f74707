"""Experiment drivers behind ``python -m linparity.figures``.

Every number a figure draws comes from here, and everything here is assembled from the library
(closed_form, exact, simulate, theory, measures): it is the one place the figures get numbers
from, so figure code holds no maths. The sweep tasks
behind F5, F6 and F8 are registered with :mod:`linparity.sweep` on import:

* ``linparity.f5``: samples to generalise at one (kappa, d) point (:mod:`.scaling`);
* ``linparity.f6``: Prop 1-3 measurements of one Algorithm 3 run (:mod:`.ntp`);
* ``linparity.f8``: pre-train T steps, then STaR (:mod:`.star`);
* ``linparity.samples``: sample complexity on full weights or sufficient statistics (:mod:`.samples`);
* ``linparity.iteration``: rounds to generalise of one STaR variant at one (d, p) (:mod:`.iteration`).
"""
from . import iteration, ntp, policy, samples, scaling, star  # noqa: F401  (registers the sweep tasks)
from .ntp import default_lam

__all__ = ["ntp", "star", "scaling", "samples", "policy", "iteration", "default_lam"]
