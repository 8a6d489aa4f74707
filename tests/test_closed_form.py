"""Closed form of NTP in reduced coordinates (THEORY §4) against derivations and brute force.

Reference values:
* Lemma 1 (derivation): a* = ln((1+p)/(1-p)); sigma(u*) = (1-p)/(1+p).
* Optima: stationarity of the analytic gradient (root finding must return a zero of it), and the
  gradient against central finite differences of the loss.
* Trajectory types: brute-force sums over every response of the full LinearAR built by
  from_reduced (tests/_helpers.all_responses), independent of the closed-form formulas.
* Dynamics: gradient flow at t = 0 (the start), finite t (against explicit Euler with a small
  step, error O(step)) and t -> infinity (the optimum); a tolerance table by route below.
"""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.special import expit

from linparity import LinearAR
from linparity import closed_form as cf
from linparity.data import all_inputs, long_response, short_response
from _helpers import all_responses

probs = st.floats(0.001, 0.999)
lams = st.floats(1e-6, 1.0)

# tolerance table (absolute) by route
TOL = {"root": 1e-12,         # stationarity of a brentq root at xtol 1e-15
       "enumeration": 1e-12,  # float64 sums of <= 2^8 * 258 terms
       "flow_vs_euler": 5e-3,  # Euler with step 1e-3 over time 10: global error O(step * t)
       "flow_infinity": 1e-7}


@given(p=probs, lam=lams)
def test_optima_are_stationary(p, lam):
    d = 4
    th = cf.ntp_optimum(d, p, lam)
    np.testing.assert_allclose(cf.population_grad(th, d, p, lam), 0.0, atol=TOL["root"])


@given(p=probs, lam=st.floats(1e-4, 1.0), seed=st.integers(0, 1000))
def test_gradient_matches_finite_differences(p, lam, seed):
    d = 3
    th = np.random.default_rng(seed).normal(size=d + 2)
    g = cf.population_grad(th, d, p, lam)
    h = 1e-6
    # head j's loss depends only on its own coordinates: map coordinate -> loss index
    owner = [0, 1, 1, 2, 3]
    fd = [(cf.population_loss(th + h * e, d, p, lam)[o] - cf.population_loss(th - h * e, d, p, lam)[o]) / (2 * h)
          for e, o in zip(np.eye(d + 2), owner)]
    np.testing.assert_allclose(g, fd, atol=1e-8)  # central differences: O(h^2) + rounding/h ~ 1e-10


@given(p=st.floats(0.001, 0.99))
def test_lemma1_unregularised(p):
    """Lemma 1: a* = ln((1+p)/(1-p)) so sigma(a*) = (1+p)/2; sigma(u*) = (1-p)/(1+p), v* = inf."""
    a = cf.head1_optimum((1 + p) / 2, 0.0)
    assert a == pytest.approx(np.log((1 + p) / (1 - p)), rel=1e-12, abs=1e-15)
    u, v = cf.head2a_optimum_uv(p, 0.5, 0.0)
    assert expit(u) == pytest.approx((1 - p) / (1 + p), rel=1e-12)
    assert v == np.inf and cf.chain_optimum(0.0) == np.inf


@pytest.mark.parametrize("p", [0.05, 0.3, 0.7])
def test_regularised_optimum_tends_to_lemma1(p):
    """|a_lam - a*| and |sigma(u_lam) - (1-p)/(1+p)| shrink linearly in lam (first-order bias)."""
    errs = []
    for lam in (1e-2, 1e-3, 1e-4):
        a = cf.head1_optimum((1 + p) / 2, lam)
        u, _ = cf.head2a_optimum_uv(p, 0.5, lam)
        errs.append((abs(a - np.log((1 + p) / (1 - p))), abs(expit(u) - (1 - p) / (1 + p))))
    errs = np.array(errs)
    ratios = errs[:-1] / errs[1:]
    np.testing.assert_allclose(ratios, 10.0, rtol=0.1)  # linear in lam: ratio 10 per decade


def brute_force_types(model, d, tau):
    """Trajectory-type probabilities by summing exp(log_prob) over every response and input."""
    X = all_inputs(d)
    R = all_responses(d)
    P = np.exp(np.stack([model.log_prob(X, np.broadcast_to(r, (len(X), d + 1)), tau) for r in R]))  # (K, 2^d)
    chi = np.prod(X, axis=1)
    short = np.array([r[1] == 0 for r in R])
    last = np.array([r[0] if r[1] == 0 else r[d - 1] for r in R])
    pL = np.exp(model.log_prob(X, long_response(X), tau))
    pS = np.exp(model.log_prob(X, short_response(X), tau))
    eq = chi == X[:, 0]
    return {"pi_long": pL.mean(), "pi_short_correct": pS.mean(), "p_short": P[short].sum(0).mean(),
            "p_correct": (P * (last[:, None] == chi[None])).sum(0).mean(),
            "pi_short_eq": pS[eq].mean(), "pi_short_neq": pS[~eq].mean(),
            "mean_length": (P[short].sum(0) * 2 + P[~short].sum(0) * (d + 1)).mean()}


@given(d=st.integers(3, 7), vals=st.lists(st.floats(-6, 6), min_size=10, max_size=10),
       tau=st.sampled_from([0.5, 1.0, 1.5]))
def test_trajectory_probs_equal_enumeration(d, vals, tau):
    th = np.array(vals[: d + 2])
    ref = brute_force_types(LinearAR.from_reduced(d, th[0], th[1], th[2], th[3:]), d, tau)
    got = cf.trajectory_probs(th, d, tau)._asdict()
    for k, v in ref.items():
        assert got[k] == pytest.approx(v, abs=TOL["enumeration"]), k


@given(d=st.integers(3, 7), vals=st.lists(st.sampled_from([-2.0, -0.5, 0.0, 0.5, 2.0]), min_size=10, max_size=10))
def test_greedy_probs_equal_greedy_decoding(d, vals):
    """Greedy accuracy and length from greedy_probs equal LinearAR.greedy over all inputs, ties included."""
    th = np.array(vals[: d + 2])
    m = LinearAR.from_reduced(d, th[0], th[1], th[2], th[3:])
    X = all_inputs(d)
    G = m.greedy(X)
    short = G[:, 1] == 0
    last = np.where(short, G[:, 0], G[:, d - 1])
    gp = cf.greedy_probs(th, d)
    assert gp.p_correct == pytest.approx(np.mean(last == np.prod(X, axis=1)), abs=1e-15)
    assert gp.p_short == pytest.approx(short.mean(), abs=1e-15)


@pytest.mark.parametrize("lam", [1e-4, 1e-2, 0.3])
def test_greedy_flips_at_one_third(lam):
    """Greedy output after NTP: (x_1, EOS), right half the time, below 1/3; L(x) above (THEORY §5)."""
    d = 6
    for p, acc, length in ((1 / 3 - 1e-6, 0.5, 2.0), (1 / 3 + 1e-6, 1.0, d + 1.0)):
        gp = cf.greedy_probs(cf.ntp_optimum(d, p, lam), d)
        assert gp.p_correct == acc and gp.mean_length == length


def test_flow_start_finite_and_infinity():
    d, p, lam = 4, 0.3, 0.05
    t = np.array([0.0, 10.0, 1e4])
    flow = cf.gradient_flow(d, p, lam, t)
    np.testing.assert_array_equal(flow[0], 0.0)                                   # t = 0
    euler = cf.discrete_dynamics(d, p, lam, 10_000, step=1e-3)[-1]               # time 10
    np.testing.assert_allclose(flow[1], euler, atol=TOL["flow_vs_euler"])
    np.testing.assert_allclose(flow[2], cf.ntp_optimum(d, p, lam), atol=TOL["flow_infinity"])  # t -> inf


def test_flow_at_huge_times_is_the_optimum():
    """Times far past convergence (t = 1e12, where the slowest head, curvature lambda_chain = 1e-3,
    has relaxed for 1e9 of its time constants) give the optimum: the stiff solver does not
    pay for t (an explicit method would take ~1e11 steps and never return within the test)."""
    d, p, lam = 8, 0.25, (0.01, 0.01, 1e-3)
    flow = cf.gradient_flow(d, p, lam, [0.0, 1e6, 1e12])
    np.testing.assert_allclose(flow[1:], np.tile(cf.ntp_optimum(d, p, lam), (2, 1)), atol=TOL["flow_infinity"])


def test_discrete_pegasos_average_converges():
    """Population Pegasos (1/(lam t), average iterate): error O(log T / T) -> shrinks ~10x per decade."""
    d, p, lam = 3, 0.4, 0.1
    opt = cf.ntp_optimum(d, p, lam)
    e = [np.abs(cf.discrete_dynamics(d, p, lam, n)[-1] - opt).max() for n in (100, 1000)]
    assert e[1] < e[0] / 5


def test_discrete_schedules_agree():
    d, p, lam = 3, 0.2, 0.1
    a = cf.discrete_dynamics(d, p, lam, 50, step=0.1)
    b = cf.discrete_dynamics(d, p, lam, 50, step=lambda t: 0.1)
    c = cf.discrete_dynamics(d, p, lam, 50, step=np.full(50, 0.1))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)


@pytest.mark.parametrize("p", [1e-12, 1 - 1e-12, 0.0, 1.0])
@pytest.mark.parametrize("lam", [1e-12, 1.0])
def test_extreme_inputs_finite(p, lam):
    th = cf.ntp_optimum(5, p, lam)
    assert np.all(np.isfinite(th))
    assert np.all(np.isfinite(cf.population_loss(th, 5, p, lam)))
    assert np.isfinite(cf.trajectory_probs(th, 5).p_correct)


@pytest.mark.parametrize("call, name", [
    (lambda: cf.ntp_optimum(2, 0.3, 0.1), "d"),
    (lambda: cf.ntp_optimum(4, 1.3, 0.1), "p_cot"),
    (lambda: cf.ntp_optimum(4, 0.3, -1), "lam"),
    (lambda: cf.ntp_optimum(4, 0.3, (0.1, 0.1)), "lam"),
    (lambda: cf.ntp_optimum(4, 0.3, 0.0), "lam2a"),
    (lambda: cf.trajectory_probs(np.zeros(3), 4), "theta"),
    (lambda: cf.trajectory_probs(np.zeros(6), 4, 0.0), "temperature"),
    (lambda: cf.discrete_dynamics(4, 0.3, 0.1, 10, step="adam"), "step"),
    (lambda: cf.gradient_flow(4, 0.3, 0.1, [1.0, 0.5]), "t")])
def test_bad_input(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_chain_heads_frozen_without_long_samples():
    """p = 0: Algorithm 3 never steps the chain heads, so the dynamics leave them at 0 (= ntp_optimum)."""
    d = 4
    np.testing.assert_array_equal(cf.discrete_dynamics(d, 0.0, 0.1, 20)[-1, 3:], 0.0)
    np.testing.assert_array_equal(cf.gradient_flow(d, 0.0, 0.1, [0.0, 5.0])[-1, 3:], 0.0)
    assert np.all(cf.ntp_optimum(d, 0.0, 0.1)[3:] == 0.0)


def test_pretrain_checkpoint_reads_separate_runs_off_one():
    """The vector form of pretrain_checkpoint (one run, rows T and round(pT)) equals separate runs
    of discrete_dynamics for each head group (reference: the definition, THEORY §3 applied to the
    expected gradient; chain heads take round(p T) steps)."""
    d, p, lam = 5, 0.3, (0.01, 0.01, 0.002)
    Ts = [0, 10, 57]
    got = cf.pretrain_checkpoint(d, p, lam, Ts)
    assert got.shape == (3, d + 2)
    for row, T in zip(got, Ts):
        head = cf.discrete_dynamics(d, p, lam, T)[-1]
        chain = cf.discrete_dynamics(d, p, lam, int(round(p * T)))[-1]
        np.testing.assert_allclose(row, np.concatenate([head[:3], chain[3:]]), rtol=1e-13, atol=0)
    np.testing.assert_array_equal(cf.pretrain_checkpoint(d, p, lam, 57), got[2])
