"""The validation layer at the public API: bad input raises ValueError naming the argument,
NaN never leaves a public function silently, lambda is in its documented range, and the work
estimate refuses what cannot fit. Each test failed on the code before the validation layer (the
failure it had then is in its docstring)."""
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import linparity as lp
from linparity import closed_form as cf
from linparity._validate import LAM_MAX, LAM_MIN
from linparity.cli.work import check_work, estimate_work
from linparity.data import reward_cot, reward_e2e
from linparity.exact import exact_metrics
from linparity.exact.ntp import exact_ntp_optimum
from linparity.measures import evaluate
from linparity.simulate import pretrain
from linparity.model import LinearAR

D = 5
GOOD_X = np.array([[1, -1, 1, 1, -1], [-1, -1, 1, -1, 1]], dtype=np.int8)


@pytest.mark.parametrize("bad", [
    np.full((2, D), 2, dtype=np.int8), np.zeros((2, D)), np.full((2, D), np.nan), np.ones((2, D), dtype=bool),
    np.array([["a"] * D] * 2), np.ones((2, D + 1)), np.ones(D),
])
@pytest.mark.parametrize("method", ["greedy", "sample"])
def test_decoding_refuses_inputs_that_are_not_pm1(bad, method):
    """Was: X with 2, 0 or NaN decoded silently to a wrong answer; bools and strings likewise."""
    with pytest.raises(ValueError, match=r"^X: "):
        getattr(LinearAR.zeros(D), method)(bad)


def test_log_prob_refuses_tokens_outside_pm1_and_eos():
    """Was: a response holding 2 got a finite log-probability."""
    Y = np.zeros((2, D + 1), dtype=np.int8)
    Y[:, 0] = 2
    with pytest.raises(ValueError, match=r"^Y: .*\+1, -1 or 0"):
        LinearAR.zeros(D).log_prob(GOOD_X, Y)
    # responses made of legal tokens that the model cannot emit still get -inf (documented)
    Y[:, 0], Y[:, 2] = 1, 1
    assert np.all(LinearAR.zeros(D).log_prob(GOOD_X, Y) == -np.inf)


@pytest.mark.parametrize("reward", [reward_cot, reward_e2e])
def test_rewards_refuse_mismatched_d_and_garbage(reward):
    """Was: r(X, Y) with Y of the wrong width, or X holding 2, returned 0/1 silently."""
    Y = lp.Mixture(D, 0.5).sample(2, rng=0)[1]
    with pytest.raises(ValueError, match=r"^Y: must have shape"):
        reward(GOOD_X, Y[:, :-1])
    with pytest.raises(ValueError, match=r"^X: "):
        reward(GOOD_X * 2, Y)
    assert reward(GOOD_X, Y).shape == (2,)


@pytest.mark.parametrize("make, name", [
    (lambda: LinearAR(np.full(D, np.nan), np.zeros(2 * D + 1), 0.0,
                      [np.zeros(2 * D + l - 1) for l in range(2, D + 1)]), "w1"),
    (lambda: LinearAR(np.zeros(D), np.zeros(2 * D + 1), np.inf,
                      [np.zeros(2 * D + l - 1) for l in range(2, D + 1)]), "b2a"),
    (lambda: LinearAR(np.zeros(D), np.zeros(2 * D + 1), np.zeros(3),
                      [np.zeros(2 * D + l - 1) for l in range(2, D + 1)]), "b2a"),
    (lambda: LinearAR(np.zeros(D), np.zeros(2 * D + 1), 0.0,
                      [np.full(2 * D + l - 1, np.nan) for l in range(2, D + 1)]), r"chain\[0\]"),
    (lambda: LinearAR.from_reduced(D, np.nan, 0, 0, 1), "a"),
    (lambda: LinearAR.from_reduced(D, 0, 0, 0, [1, 1, np.inf, 1]), "chain"),
    (lambda: LinearAR.from_theta([0, 0, 0, np.nan, 1, 1, 1]), "chain"),
])
def test_weights_must_be_finite(make, name):
    """Was: NaN weights were accepted, then evaluate/exact_metrics/star_map returned NaN;
    ``b2a`` as an array raised TypeError naming nothing."""
    with pytest.raises(ValueError, match=rf"^{name}: "):
        make()


def test_nan_never_leaves_the_maps():
    """Was: star_map and trajectory formulas from a NaN theta returned NaN silently."""
    theta = np.array([1.0, 2.0, 0.5, np.nan, 3.0, 3.0, 3.0])
    with pytest.raises(ValueError, match=r"^theta: "):
        cf.star_map(theta, D, 0.01, 2)
    with pytest.raises(ValueError, match=r"^theta: "):
        cf.trajectory_probs(theta, D)


@pytest.mark.parametrize("call, name", [
    (lambda: LinearAR.zeros(D).sample(GOOD_X, rng="abc"), "rng"),
    (lambda: LinearAR.zeros(D).sample(GOOD_X, rng=1.5), "rng"),
    (lambda: evaluate("x", 0.25), "model"),
    (lambda: exact_metrics("x", 0.25), "model"),
    (lambda: exact_ntp_optimum(3, 0.25, 1e-320), "lam"),
    (lambda: cf.ntp_optimum(D, 0.25, 1e-320), "lam"),
    (lambda: cf.ntp_optimum(D, 0.25, (0.01, 0.01, 1e-300)), "lam_chain"),
    (lambda: pretrain(D, 0.25, 10, 1e-320), "lam"),
])
def test_wrong_exception_types_are_now_valueerrors_naming_the_argument(call, name):
    """Was: TypeError (rng='abc'), AttributeError (evaluate('x')), LinAlgError or brentq
    RuntimeError (lambda = 1e-320), none naming the argument."""
    with pytest.raises(ValueError, match=rf"^{name}: "):
        call()


@pytest.mark.parametrize("lam", [LAM_MIN, 1e-6, 1.0, LAM_MAX])
def test_lambda_over_its_whole_range_is_finite_in_every_route(lam):
    """Lambda in [LAM_MIN, LAM_MAX] works in the closed form, enumeration and simulation with no
    RuntimeWarning and finite results (below LAM_MIN it is refused: test above)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        th = cf.ntp_optimum(D, 0.25, lam)
        assert np.all(np.isfinite(th))
        assert np.all(np.isfinite(cf.pretrain_checkpoint(D, 0.25, lam, 50)))
        m = exact_ntp_optimum(3, 0.25, lam)
        assert np.all(np.isfinite(m.to_vector()))
        res = pretrain(D, 0.25, 200, lam, rng=0)
        ev = evaluate(res.models_[0], 0.25)
        assert all(np.isfinite(v) for v in ev.values() if isinstance(v, float))


def test_closed_form_accepts_lambda_zero_and_p_zero():
    """lam = 0 is the closed form's unregularised limit; p = 0 with the closed-form checkpoint was
    'cannot reshape array of size 0' before discrete_dynamics accepted steps = 0 (regression)."""
    assert np.all(np.isfinite(cf.pretrain_checkpoint(D, 0.0, 0.01, 100)))
    with pytest.raises(ValueError, match=r"^lam: .* or 0"):
        cf.ntp_optimum(D, 0.25, 1e-200)


@given(X=hnp.arrays(dtype=st.sampled_from([np.int8, np.int64, np.float64]), shape=(3, D),
                    elements=st.sampled_from([-1, 1, 0, 2, -2])))
def test_greedy_accepts_exactly_the_pm1_arrays(X):
    """Property: greedy decodes X iff every entry is +-1; otherwise ValueError naming X."""
    ok = np.all(np.abs(X) == 1)
    if ok:
        Y = LinearAR.zeros(D).greedy(X)
        assert Y.shape == (3, D + 1) and set(np.unique(Y)) <= {-1, 0, 1}
    else:
        with pytest.raises(ValueError, match=r"^X: "):
            LinearAR.zeros(D).greedy(X)


def test_work_estimate_refuses_and_force_overrides(monkeypatch):
    monkeypatch.setenv("LINPARITY_MAX_SECONDS", "3600")
    small = dict(d=20, p_cot=0.25, steps=100_000, replicates=4, method="sgd")
    mem, sec = check_work("pretrain", **small)
    assert mem < 2 ** 30 and sec < 60
    with pytest.raises(ValueError, match=r"^--steps: .*would take"):
        check_work("pretrain", **{**small, "steps": 10 ** 12})
    with pytest.raises(ValueError, match=r"^--d: .*memory"):
        check_work("pretrain", **{**small, "d": 100_000})
    check_work("pretrain", force=True, **{**small, "d": 100_000})   # --force: no refusal
    # the estimate grows with every size it depends on
    base = estimate_work("pg", d=8, steps=10, batch_size=64, replicates=1, algo="grpo", group_size=4)
    for k, v in dict(d=16, steps=100, batch_size=512, replicates=4, group_size=16).items():
        more = estimate_work("pg", **{**dict(d=8, steps=10, batch_size=64, replicates=1, algo="grpo",
                                             group_size=4), k: v})
        assert more[1] > base[1], k


# ----------------------------------------------------------------------------- figures: output and report
def test_quick_mode_has_its_own_output_folder():
    """Was: --quick wrote into figures/, overwriting the committed full-mode gallery and REPORT.md."""
    from linparity.figures.cli import default_out
    assert default_out(True) != default_out(False)
    assert default_out(True).parts[:2] == ("figures", "quick")
    gitignore = (Path(__file__).resolve().parents[1] / ".gitignore").read_text().splitlines()
    assert "/figures/quick/" in gitignore


@pytest.mark.parametrize("make", [lambda p: (p / "f").write_text("x") and p / "f",
                                  lambda p: (p / "f").write_text("x") and p / "f" / "sub"])
def test_figures_out_checked_before_computing(tmp_path, capsys, make):
    """Was: an --out that is a file (or below one) computed every figure, then a traceback."""
    from linparity.figures import cli as fcli
    out = make(tmp_path)
    assert fcli.main(["--quick", "--only", "F2", "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: --out")


@pytest.mark.parametrize("call", [lambda: __import__("linparity.data", fromlist=["x"]).sample_inputs(10 ** 12, 50),
                                  lambda: __import__("linparity.data", fromlist=["x"]).Mixture(50, 0.2).sample(10 ** 12)])
def test_api_refuses_an_allocation_that_does_not_fit(call):
    # 10^12 inputs of 50 bits need ~136 TiB: refused by name before numpy tries (it raised
    # numpy's MemoryError / ArrayMemoryError before)
    with pytest.raises(ValueError, match=r"^n: the request needs about .* TiB"):
        call()
