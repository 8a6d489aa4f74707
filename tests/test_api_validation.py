"""Bad input to the public API: a ValueError naming the argument, never an IndexError, numpy's
message or a number computed from inputs that are not +-1.

One table of bad calls through one harness (each row: the call and the argument its message must
name), and a property test that arbitrary integer inputs with an entry other than +-1 are refused
by every entry point that takes inputs X.
"""
import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra.numpy import arrays

from linparity.model import LinearAR
from linparity.simulate import BatchedAR, PGConfig, StarConfig, greedy_responses, run_pg, run_star
from linparity.simulate.batched import evaluate_batch

from _helpers import assert_refused_naming

D = 4
W = BatchedAR.stack([LinearAR.zeros(D), LinearAR.zeros(D)])
PACKED = LinearAR.zeros(D).packed()                # Wx (3, 4), Wy (3, 3), Wp (3, 4)
W1, W2A = np.zeros(D), np.zeros(2 * D + 1)
PG = PGConfig(algo="reinforce", steps=1, batch_size=4)
STAR = StarConfig(rounds=1, samples=4)
X_GOOD = np.ones((3, D), dtype=np.int8)


def _half(shape):
    X = np.ones(shape)
    X.flat[-1] = 0.5
    return X


BAD_CALLS = {
    # LinearAR.from_packed: shapes checked before indexing
    "from_packed Wx too few rows": (lambda: LinearAR.from_packed(W1, W2A, 0.0, PACKED[0][:1], *PACKED[1:]), "Wx"),
    "from_packed Wx 1-d": (lambda: LinearAR.from_packed(W1, W2A, 0.0, np.zeros(3), *PACKED[1:]), "Wx"),
    "from_packed Wy wrong width": (lambda: LinearAR.from_packed(W1, W2A, 0.0, PACKED[0], np.zeros((3, 1)),
                                                                PACKED[2]), "Wy"),
    "from_packed Wp for another d": (lambda: LinearAR.from_packed(W1, W2A, 0.0, *PACKED[:2], np.zeros((7, 8))), "Wp"),
    "from_packed w1 2-d": (lambda: LinearAR.from_packed(np.zeros((2, 2)), W2A, 0.0, *PACKED), "w1"),
    "from_packed w1 of length 1": (lambda: LinearAR.from_packed(np.zeros(1), W2A, 0.0, *PACKED), "d"),
    "from_packed Wx NaN": (lambda: LinearAR.from_packed(W1, W2A, 0.0, np.full((3, 4), np.nan), *PACKED[1:]), "Wx"),
    # BatchedAR.stack: every model a LinearAR of one d
    "stack of two d": (lambda: BatchedAR.stack([LinearAR.zeros(4), LinearAR.zeros(5)]), "models"),
    "stack of a non-model": (lambda: BatchedAR.stack([LinearAR.zeros(4), np.zeros(4)]), "models"),
    # evaluation inputs of the runs
    "run_star X_eval of another d": (lambda: run_star(W, STAR, 0, X_eval=np.ones((5, D + 1))), "X_eval"),
    "run_star X_eval not +-1": (lambda: run_star(W, STAR, 0, X_eval=_half((5, D))), "X_eval"),
    "run_pg X_eval not +-1": (lambda: run_pg(W, PG, 0, X_eval=_half((5, D))), "X_eval"),
    "run_pg X_eval of zeros": (lambda: run_pg(W, PG, 0, X_eval=np.zeros((5, D), dtype=np.int8)), "X_eval"),
    "run_pg X_eval 1-d": (lambda: run_pg(W, PG, 0, X_eval=np.ones(D)), "X_eval"),
    # inputs of the batched decoder and the evaluation
    "greedy_responses X not +-1": (lambda: greedy_responses(W, _half((3, D))), "X"),
    "greedy_responses X of 2s (R, n, d)": (lambda: greedy_responses(W, np.full((2, 3, D), 2)), "X"),
    "greedy_responses X of another d": (lambda: greedy_responses(W, np.ones((3, D + 2))), "X"),
    "greedy_responses X strings": (lambda: greedy_responses(W, np.full((3, D), "a")), "X"),
    "evaluate_batch X not +-1": (lambda: evaluate_batch(W, _half((3, D))), "X"),
    # sizes that cannot fit: refused by the argument that makes them large, before any work
    "run_star samples beyond memory": (lambda: run_star(W, StarConfig(rounds=1, samples=2 ** 53), 0), "samples"),
    "run_pg batch beyond memory": (lambda: run_pg(W, PGConfig(algo="grpo", steps=1, batch_size=2 ** 50,
                                                              group_size=8), 0), "batch_size"),
}


@pytest.mark.parametrize("case", list(BAD_CALLS))
def test_bad_api_call_names_its_argument(case):
    assert_refused_naming(*BAD_CALLS[case])


def test_good_calls_still_run():
    """The checks refuse only bad input: the same calls with valid arguments return results."""
    m = LinearAR.from_packed(W1, W2A, 0.0, *PACKED)
    assert m.d == D
    assert greedy_responses(W, X_GOOD).shape == (2, 3, D + 1)
    assert greedy_responses(W, np.stack([X_GOOD, -X_GOOD])).shape == (2, 3, D + 1)
    assert run_pg(W, PG, 0, X_eval=X_GOOD).pi_long_.shape == (2, 2)


# integer arrays (n, D) with at least one entry other than +-1
_not_pm1 = arrays(np.int64, st.tuples(st.integers(1, 6), st.just(D)),
                  elements=st.integers(-3, 3)).filter(lambda X: not np.isin(X, (-1, 1)).all())


@given(_not_pm1)
def test_inputs_that_are_not_pm1_are_refused(X):
    for call, name in ((lambda: greedy_responses(W, X), "X"), (lambda: evaluate_batch(W, X), "X"),
                       (lambda: run_pg(W, PG, 0, X_eval=X), "X_eval")):
        with pytest.raises(ValueError, match=f"^{name}: entries must be \\+1 or -1"):
            call()
