"""What every simulated run shares: its random streams, its evaluation inputs and the record of its
evaluations along the run (:class:`Recorder`, over :func:`linparity.simulate.batched.evaluate_batch`)."""
from __future__ import annotations

import numpy as np

from .._checks import check_d, check_int, spawn
from .._validate import check_pm1
from ..data import MAX_ENUM_D, all_inputs, sample_inputs
from .batched import BatchedAR, evaluate_batch

__all__ = ["Recorder", "run_streams", "eval_inputs"]


class Recorder:
    """Evaluations of R replicates along a run: :func:`evaluate_batch` metrics and reduced coordinates.

    Calling ``rec(W)`` appends one evaluation; ``col(key)`` gives ``(R, n_rec)``, ``theta()``
    ``(R, n_rec, d+2)`` and ``off()`` ``(R, n_rec)``. The evaluation streams are consumed in call order.
    """
    KEYS = ("expected_reward", "pi_long", "greedy_accuracy", "mean_length")

    def __init__(self, X_eval, reward, temperature, eval_gens):
        self.args = (X_eval, reward, temperature, eval_gens)
        self.rec = {k: [] for k in self.KEYS}
        self.thetas, self.offs = [], []

    def __call__(self, W: BatchedAR) -> None:
        m = evaluate_batch(W, *self.args)
        for k in self.rec:
            self.rec[k].append(m[k])
        th, off = W.reduced()
        self.thetas.append(th)
        self.offs.append(off)

    def col(self, key) -> np.ndarray:
        return np.array(self.rec[key]).T                 # (n_rec, R) -> (R, n_rec)

    def theta(self) -> np.ndarray:
        return np.array(self.thetas).transpose(1, 0, 2)  # (R, n_rec, d+2)

    def off(self) -> np.ndarray:
        return np.array(self.offs).T                     # (R, n_rec)


def run_streams(rng, R, d, n_eval, X_eval=None):
    """Random streams of a run over R replicates: (per-replicate run Generators, per-replicate
    evaluation Generators, evaluation inputs). The run and evaluation streams are children 1 and 0
    of ``rng``, so evaluating more or less often never changes the training stream."""
    g_eval, g_run = spawn(rng, 2)
    gens = spawn(g_run, R)
    eval_gens = spawn(g_eval, R + 1)
    X_eval = eval_inputs(d, n_eval, eval_gens[R]) if X_eval is None else check_pm1("X_eval", X_eval, d)
    return gens, eval_gens[:R], X_eval


def eval_inputs(d, n_eval, rng):
    """Evaluation inputs: all 2^d when d <= MAX_ENUM_D, else ``n_eval`` uniform ones (``sample_inputs``)."""
    if check_d(d) <= MAX_ENUM_D:
        return all_inputs(d)
    n_eval = check_int("n_eval", n_eval, 2)
    return sample_inputs(n_eval, d, rng)
