"""Starting points of post-training, shared by the RL experiments and the ``star``/``pg`` commands."""
from __future__ import annotations

import numpy as np

from .. import closed_form as cf
from .._checks import check_d, check_int, check_prob
from ..heads import lam_triple
from ..simulate import BatchedAR, pretrain

__all__ = ["initial_models"]


def initial_models(d, p_cot, pretrain_steps, lam, replicates=1, rng=None) -> tuple[BatchedAR, np.ndarray]:
    """Starting models of post-training and the reduced state the closed form starts from.

    ``pretrain_steps`` None: the exact regularised NTP optimum ``closed_form.ntp_optimum`` (a
    length-calibrated model) on the full weights, for every replicate. An int T >= 1: R replicates of
    Algorithm 3 (``linparity.simulate.ntp.pretrain``) with T samples; the closed form then starts from
    the mean of their reduced coordinates.

    Returns (BatchedAR, theta0 ``(d+2,)``).
    """
    d = check_d(d, 3)
    p = check_prob("p_cot", p_cot)
    R = check_int("replicates", replicates, 1)
    lams = lam_triple(lam, positive=True)
    if pretrain_steps is None:
        theta0 = cf.ntp_optimum(d, p, lams)
        return BatchedAR.from_reduced(theta0, d, R), theta0
    T = check_int("pretrain_steps", pretrain_steps, 1)
    res = pretrain(d, p, T, lams, replicates=R, rng=rng)
    return BatchedAR.stack(res.models_), res.theta_.mean(0)
