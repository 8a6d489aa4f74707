"""Starting points of post-training, shared by the RL experiments and the ``star``/``pg`` commands."""
from __future__ import annotations

import numpy as np

from .. import closed_form as cf
from .._checks import check_d, check_prob
from ..heads import lam_triple
from ..simulate import BatchedAR
from ..simulate import api as sim_api

__all__ = ["initial_models"]


def initial_models(d, p_cot, pretrain_steps, lam, replicates=1, rng=None) -> tuple[BatchedAR, np.ndarray]:
    """Starting models of post-training and the reduced state the closed form starts from.

    ``pretrain_steps`` None: the exact regularised NTP optimum ``closed_form.ntp_optimum`` (a
    length-calibrated model) on the full weights, for every replicate. An int T >= 1: R replicates of
    Algorithm 3 (``linparity.simulate.ntp.pretrain``) with T samples; the closed form then starts from
    the mean of their reduced coordinates (:func:`linparity.simulate.api.start`).

    Returns (BatchedAR, theta0 ``(d+2,)``).
    """
    d = check_d(d, 3)
    p = check_prob("p_cot", p_cot)
    lams = lam_triple(lam, positive=True)
    s = sim_api.start(d, p, lams, pretrain_steps, optimum=cf.ntp_optimum(d, p, lams) if pretrain_steps is None else None,
                      replicates=replicates, rng=rng)
    return s.models, s.theta
