"""The simulation route: the algorithms themselves on sampled data, every head a full weight vector.

* :mod:`linparity.simulate.ntp`: Algorithm 3 (compiled fast path, replicates, mini-batches, fitting
  given samples; its configuration in ``ntp_config``, its kernel in ``ntp_kernel`` and
  ``blocked``, its per-sample reference in :mod:`linparity.references`);
* :mod:`linparity.simulate.batched`: R models in packed layout, sampling, greedy decoding, score
  function, policy update, evaluation;
* :mod:`linparity.simulate.runs`: a run's random streams, evaluation inputs and record of evaluations;
* :mod:`linparity.simulate.star`: STaR (Algorithm 1), variants ``continue`` (the paper's) and ``refit``;
* :mod:`linparity.simulate.pg`: REINFORCE and GRPO.

Imports only the shared core; never the closed form or the exact route (import-linter contracts).
"""
from . import batched, ntp, pg, runs, star
from .batched import *  # noqa: F401,F403
from .ntp import *  # noqa: F401,F403
from .pg import *  # noqa: F401,F403
from .runs import *  # noqa: F401,F403
from .star import *  # noqa: F401,F403

__all__ = ntp.__all__ + batched.__all__ + runs.__all__ + star.__all__ + pg.__all__
