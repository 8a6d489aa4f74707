"""The closed-form route: reduced coordinates theta = (a, b, c, c_2..c_d) of THEORY §4, no sampling.

* :mod:`linparity.closed_form.ntp`: next-token prediction (per-head losses, root-finding optima,
  gradient flow and discrete Pegasos steps, trajectory-type probabilities);
* :mod:`linparity.closed_form.rl`: RL (ideal recursion, kept-set statistics, exact finite-lambda
  STaR map, expected reward, policy-gradient dynamics, amplification conditions).

Imports only the shared core; never the exact route or the simulation (import-linter contracts).
"""
from . import ntp, rl
from .ntp import *  # noqa: F401,F403
from .rl import *  # noqa: F401,F403

__all__ = ntp.__all__ + rl.__all__
