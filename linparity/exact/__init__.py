"""The exact-enumeration route: every expectation a finite sum over all 2^d inputs, on full weights.

* :mod:`linparity.exact.ntp`: next-token prediction on D(p) (losses, gradients, Newton optima,
  population Pegasos);
* :mod:`linparity.exact.rl`: the model's response distribution, exact measurements, expected
  reward and policy gradient, the STaR map and policy-gradient ascent on full weights.

Imports only the shared core (``linparity.data``, ``model``, ``heads``, ``measures``); never the
closed form or the simulation (import-linter contracts in setup.cfg).
"""
from . import ntp, rl
from .ntp import *  # noqa: F401,F403
from .rl import *  # noqa: F401,F403

__all__ = ntp.__all__ + rl.__all__
