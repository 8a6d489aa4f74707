"""Exact enumeration on the full weights (linparity.exact) against the closed form and itself.

Reference values come from: (i) the definition of the model (log_prob, sample), (ii) the closed
form of THEORY §4 (linparity.closed_form, derived independently in reduced coordinates), (iii)
central finite differences, (iv) derivations written next to the assertions (d = 2 off-subspace
gradients, the p = 1/3 greedy step).
"""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.special import expit
from scipy.stats import chi2, norm

from linparity import closed_form as cf
from linparity.data import MAX_ENUM_D, REWARDS, all_inputs, long_response, short_response
from linparity.exact import (all_responses, bit_index, exact_metrics, exact_ntp_optimum, expected_reward,
                             log_prob_grad, policy_gradient, population_ntp_grad, population_ntp_loss,
                             response_distribution, train_exact)
from linparity.model import LinearAR, features
from linparity.studies.d2 import d2_greedy_threshold
from linparity.studies.invariance import invariance_table

from _helpers import random_model

coord = st.floats(-4, 4, allow_nan=False)
prob = st.floats(0, 1, allow_nan=False)
temp = st.floats(0.2, 3.0)
# lambda's documented range: 0 (closed form's unregularised limit) or [LAM_MIN, LAM_MAX] (linparity._validate)
lam_one = st.one_of(st.just(0.0), st.floats(1e-12, 1))
lam_st = st.one_of(lam_one, st.tuples(lam_one, lam_one, lam_one))


@st.composite
def reduced_point(draw, dmin=3, dmax=8):
    d = draw(st.integers(dmin, dmax))
    a, b, c = draw(coord), draw(coord), draw(coord)
    chain = np.array(draw(st.lists(coord, min_size=d - 1, max_size=d - 1)))
    return d, np.concatenate([[a, b, c], chain])


def reduced_vec(g):
    r = g.reduced()
    return np.concatenate([[r.a, r.b, r.c], r.chain])


# ----------------------------------------------------------------------------- response distribution
@given(d=st.integers(2, 6), seed=st.integers(0, 2 ** 32 - 1), tau=temp, scale=st.floats(0.1, 5))
def test_response_distribution_sums_to_one(d, seed, tau, scale):
    dist = response_distribution(random_model(d, seed, scale), tau)
    total = dist.short.sum(axis=1) + dist.long.sum(axis=1)   # (2^d,)
    # a sum of 2^d + 2 probabilities each with relative error ~1e-16: 1e-12 is generous
    np.testing.assert_allclose(total, 1.0, rtol=0, atol=1e-12)


@given(d=st.integers(2, 5), seed=st.integers(0, 2 ** 32 - 1), tau=temp)
def test_distribution_entries_equal_model_log_prob(d, seed, tau):
    """Every entry (all x, all 2^d + 2 responses) equals LinearAR.log_prob (the model's definition)."""
    m = random_model(d, seed, 1.5)
    dist = response_distribution(m, tau)
    X = all_inputs(d)
    Ya = all_responses(d)
    Xr, Yr = np.repeat(X, len(Ya), axis=0), np.tile(Ya, (len(X), 1))
    table = np.hstack([dist.log_long, dist.log_short]).ravel()
    np.testing.assert_allclose(table, m.log_prob(Xr, Yr, tau), rtol=1e-12, atol=1e-12)
    for Y in (long_response(X), short_response(X)):  # the lookup used by exact_metrics
        np.testing.assert_allclose(dist.log_prob(X, Y), m.log_prob(X, Y, tau), rtol=1e-12, atol=1e-12)


def test_extreme_logits_stay_finite():
    m = random_model(4, 1, scale=1e3)
    dist = response_distribution(m, 0.1)
    assert np.all(np.isfinite(dist.short.sum(1) + dist.long.sum(1)))
    np.testing.assert_allclose(dist.short.sum(1) + dist.long.sum(1), 1.0, atol=1e-12)
    assert np.all(np.isfinite(policy_gradient(m, "cot", 0.1).to_vector()))
    assert np.all(np.isfinite(population_ntp_grad(m, 1e-12, 1e-12).to_vector()))
    assert np.all(np.isfinite(population_ntp_loss(m, 1 - 1e-12, 0.0)))


def test_sampled_frequencies_match_exact_distribution():
    """Goodness of fit at a fixed seed: counts of (x, y) from LinearAR.sample against the exact table.

    Pearson chi^2 over cells with expected count >= 5 (the rest pooled); the assertion fails only
    beyond the 5-sigma quantile (tail probability 2.9e-7) of chi^2 with k-1 degrees of freedom.
    """
    d, tau, reps = 3, 1.0, 4000
    m = random_model(d, 7, scale=0.8)
    dist = response_distribution(m, tau)
    X = np.repeat(all_inputs(d), reps, axis=0)
    Y = m.sample(X, rng=12345, temperature=tau)
    long_ = Y[:, 1] != 0
    col = np.where(long_, bit_index(np.where(Y[:, :d] == 0, 1, Y[:, :d])), 2 ** d + (Y[:, 0] < 0))
    counts = np.zeros((2 ** d, 2 ** d + 2))
    np.add.at(counts, (bit_index(X), col), 1)
    expected = reps * np.hstack([dist.long, dist.short])
    big = expected >= 5
    obs = np.r_[counts[big], counts[~big].sum()]
    exp = np.r_[expected[big], expected[~big].sum()]
    stat = ((obs - exp) ** 2 / exp).sum()
    assert stat < chi2.isf(norm.sf(5), obs.size - 1)


# ----------------------------------------------------------------------------- NTP: closed form vs enumeration
@given(pt=reduced_point(), p=prob, lam=lam_st)
def test_ntp_gradient_and_loss_equal_closed_form(pt, p, lam):
    d, theta = pt
    m = LinearAR.from_reduced(d, *theta[:3], theta[3:])
    g = population_ntp_grad(m, p, lam)
    # closed form (THEORY §4) derived independently; agreement to 1e-12 absolute
    np.testing.assert_allclose(reduced_vec(g), cf.population_grad(theta, d, p, lam), rtol=0, atol=1e-12)
    assert g.reduced().off_subspace_norm < 1e-12          # invariance at d >= 3
    np.testing.assert_allclose(population_ntp_loss(m, p, lam), cf.population_loss(theta, d, p, lam),
                               rtol=1e-12, atol=1e-12)


@given(pt=reduced_point(), tau=temp)
def test_trajectory_probs_equal_enumeration(pt, tau):
    d, theta = pt
    m = LinearAR.from_reduced(d, *theta[:3], theta[3:])
    met = exact_metrics(m, 0.3, tau)
    tp = cf.trajectory_probs(theta, d, tau)
    for k, v in tp._asdict().items():
        assert met[k] == pytest.approx(v, abs=1e-12), k
    # on the subspace pi(L(x)|x) is the same for every x (THEORY §4)
    np.testing.assert_allclose(met["pi_long_x"], tp.pi_long, rtol=0, atol=1e-12)
    # greedy decoding with the tie conventions of THEORY §2, two implementations
    assert met["greedy_accuracy"] == pytest.approx(cf.greedy_probs(theta, d).p_correct, abs=1e-12)


def _central_fd(f, v, h):
    out = np.empty_like(v)
    for i in range(v.size):
        e = np.zeros_like(v)
        e[i] = h
        out[i] = (f(v + e) - f(v - e)) / (2 * h)
    return out


@pytest.mark.parametrize("d", [2, 3, 4])
def test_ntp_gradient_finite_differences(d):
    """Central differences with h = 1e-5: truncation ~h^2 |f'''| <~ 1e-10, rounding ~eps/h ~ 1e-11;
    tolerance 1e-8."""
    m = random_model(d, 11 + d, 1.5)
    p, lam = 0.3, (0.1, 0.2, 0.05)
    g = population_ntp_grad(m, p, lam).to_vector()
    v = m.to_vector()
    for k, s in enumerate(LinearAR.head_slices(d)):  # each head's own loss, its own weights
        def f(w, k=k, s=s):
            u = v.copy()
            u[s] = w
            return population_ntp_loss(LinearAR.from_vector(d, u), p, lam)[k]
        np.testing.assert_allclose(g[s], _central_fd(f, v[s].copy(), 1e-5), rtol=0, atol=1e-8)


@pytest.mark.parametrize("d,reward,tau", [(2, "cot", 1.0), (3, "e2e", 0.75), (4, "cot", 1.5)])
def test_policy_gradient_finite_differences(d, reward, tau):
    """Same differences and tolerance (1e-8) as the NTP check, on E[r] of expected_reward."""
    m = random_model(d, 5 + d, 1.5)
    g, val = policy_gradient(m, reward, tau, return_value=True)
    assert val == pytest.approx(expected_reward(m, reward, tau), abs=1e-14)
    fd = _central_fd(lambda w: expected_reward(LinearAR.from_vector(d, w), reward, tau),
                     m.to_vector(), 1e-5)
    np.testing.assert_allclose(g.to_vector(), fd, rtol=0, atol=1e-8)


@pytest.mark.parametrize("d", [2, 3, 4])
@pytest.mark.parametrize("reward", sorted(REWARDS))
def test_policy_gradient_equals_score_function_sum(d, reward):
    """grad E[r] = E[r grad log pi] summed over every (x, y) with log_prob_grad (no backward pass)."""
    m, tau = random_model(d, 3 * d, 1.5), 0.9
    X, Ya = all_inputs(d), all_responses(d)
    Xr, Yr = np.repeat(X, len(Ya), axis=0), np.tile(Ya, (len(X), 1))
    w = np.exp(m.log_prob(Xr, Yr, tau)) * REWARDS[reward](Xr, Yr) / len(X)
    np.testing.assert_allclose(w @ log_prob_grad(m, Xr, Yr, tau),
                               policy_gradient(m, reward, tau).to_vector(), rtol=0, atol=1e-14)


# ----------------------------------------------------------------------------- invariance
@given(pt=reduced_point(), tau=temp, reward=st.sampled_from(sorted(REWARDS)))
def test_policy_gradient_stays_on_subspace_for_d_ge_3(pt, tau, reward):
    d, theta = pt
    g = policy_gradient(LinearAR.from_reduced(d, *theta[:3], theta[3:]), reward, tau)
    assert g.reduced().off_subspace_norm < 1e-13


@given(pt=reduced_point(), tau=temp, reward=st.sampled_from(sorted(REWARDS)))
def test_policy_gradient_equals_closed_form(pt, tau, reward):
    """closed_form.rl's E[r] and its gradient in reduced coordinates (THEORY §6) against enumeration."""
    d, theta = pt
    g, val = policy_gradient(LinearAR.from_reduced(d, *theta[:3], theta[3:]), reward, tau, return_value=True)
    assert val == pytest.approx(cf.expected_reward(theta, d, reward, tau), abs=1e-12)
    np.testing.assert_allclose(reduced_vec(g), cf.reward_gradient(theta, d, reward, tau), rtol=0, atol=1e-12)


def _d2_off_components(theta, p, tau):
    """Derived off-subspace gradient components at d = 2 (only the stop head's weight on x_2).

    NTP: on short samples y_1 x_1 = x_2 (y_1 = chi = x_1 x_2), so the stop logit is b + c x_2 and
      E[d ell / d u * x_2] = (1-p)/2 [sigma(c-b) - sigma(-(b+c))]; long samples give 0 (x_2 free).
    PG (either reward): with alpha = sigma(a/tau), s(u) = sigma(u/tau) sigma(-u/tau),
      d E[r] / d w_2a[x_2] = [alpha s(b+c) - (1-alpha) s(b-c)] / (2 tau)
      (Q(stop) - Q(go) has x_2-mean +1/2 after y_1 = x_1 and -1/2 after y_1 = -x_1).
    """
    a, b, c = theta[:3]
    ntp = (1 - p) / 2 * (expit(c - b) - expit(-(b + c)))
    al = expit(a / tau)
    s = lambda u: expit(u / tau) * expit(-u / tau)  # noqa: E731
    return ntp, (al * s(b + c) - (1 - al) * s(b - c)) / (2 * tau)


@given(theta=st.lists(coord, min_size=4, max_size=4), p=prob, tau=temp, lam=lam_st,
       reward=st.sampled_from(sorted(REWARDS)))
def test_d2_off_subspace_gradient_equals_derivation(theta, p, tau, lam, reward):
    theta = np.array(theta)
    m = LinearAR.from_reduced(2, *theta[:3], theta[3:])
    ntp, pg = _d2_off_components(theta, p, tau)
    for g, want in ((population_ntp_grad(m, p, lam), ntp), (policy_gradient(m, reward, tau), pg)):
        assert g.w2a[1] == pytest.approx(want, abs=1e-14)          # feature x_2 of phi_2
        assert g.reduced().off_subspace_norm == pytest.approx(abs(want), abs=1e-14)  # nothing else


def test_d2_off_subspace_gradient_has_definite_lower_bound():
    """At a = 2, b = 0, c = 1, c_2 = 0, p = 0, tau = 1 the derived components are
    NTP: (1/2)(sigma(1) - sigma(-1)) = tanh(1/2)/2 = 0.23106;
    PG:  (sigma(2) - sigma(-2)) sigma(1) sigma(-1) / 2 = 0.07487. Asserted as lower bounds."""
    m = LinearAR.from_reduced(2, 2.0, 0.0, 1.0, [0.0])
    assert population_ntp_grad(m, 0.0, 0.1).reduced().off_subspace_norm >= 0.2310
    for r in REWARDS:
        assert policy_gradient(m, r, 1.0).reduced().off_subspace_norm >= 0.0748


def test_invariance_table_zero_for_d_ge_3_nonzero_at_2():
    rows = invariance_table(range(2, 6), rng=3, n_points=3, temperatures=(0.75, 1.5))
    for r in rows:
        offs = [r.ntp_off, *r.pg_off.values()]
        if r.d == 2:
            assert min(offs) > 1e-3     # random points: derived components are O(0.1), see above
        else:
            assert max(offs) < 1e-14    # rounding of sums of O(1) terms


# ----------------------------------------------------------------------------- training
@pytest.mark.parametrize("d", [3, 4, 5])
@pytest.mark.parametrize("lam", [0.1, (0.05, 0.1, 0.2)])
def test_train_exact_converges_to_closed_form_optimum(d, lam):
    """Constant step 1 for 400 steps: the slowest contraction is 1 - eta lam_min = 0.95 per step,
    0.95^400 ~ 1e-9 times an O(1) start, so |theta - theta*| < 1e-8 (root finding gives theta* to ~1e-15)."""
    p = 0.3
    m, tr = train_exact(LinearAR.zeros(d), p, lam, 400, 1.0, return_trajectory=True)
    np.testing.assert_allclose(reduced_vec(m), cf.ntp_optimum(d, p, lam), rtol=0, atol=1e-8)
    assert tr.off_norm.max() < 1e-14                       # never leaves the subspace
    # the full-weight Newton optimum (no reduced coordinates used) agrees too: |grad| < 1e-13
    # and curvature >= lam_min = 0.05 bound its error by 2e-12
    opt = exact_ntp_optimum(d, p, lam)
    np.testing.assert_allclose(reduced_vec(opt), cf.ntp_optimum(d, p, lam), rtol=0, atol=1e-11)
    assert opt.reduced().off_subspace_norm < 1e-14


@pytest.mark.parametrize("step", ["pegasos", 0.7, lambda t: 2.0 / (t + 3), np.linspace(1.0, 0.2, 150)])
def test_train_exact_trajectory_equals_closed_form_dynamics(step):
    d, p, lam = 4, 0.2, (0.05, 0.1, 0.2)
    _, tr = train_exact(LinearAR.zeros(d), p, lam, 150, step, return_trajectory=True)
    # same recursion in reduced coordinates; only rounding differs (150 steps x 1e-16)
    np.testing.assert_allclose(tr.theta, cf.discrete_dynamics(d, p, lam, 150, step), rtol=0, atol=1e-12)


# one parser (heads.step_schedule) for both routes: the same bad step is refused by the same name
_ROUTES = {"closed form": lambda step, lam: cf.discrete_dynamics(4, 0.2, lam, 5, step),
           "exact": lambda step, lam: train_exact(LinearAR.zeros(4), 0.2, lam, 5, step)}


@pytest.mark.parametrize("route", list(_ROUTES))
@pytest.mark.parametrize("step, lam, name", [
    ("adam", 0.1, "step: must be 'pegasos', a number"),
    (object(), 0.1, "step: must be 'pegasos', a number"),
    (np.ones(4), 0.1, r"step: an array of steps needs one row per step \(5\)"),
    (np.ones((6, 2)), 0.1, r"step: an array of steps needs one row per step \(5\)"),
    ("pegasos", 0.0, "lam: must be in"),
    ("pegasos", (0.1, 0.0, 0.1), "lam2a: must be in")])
def test_both_routes_refuse_a_bad_step_schedule_alike(route, step, lam, name):
    with pytest.raises(ValueError, match=name):
        _ROUTES[route](step, lam)


def test_train_exact_reaches_full_optimum_at_d2_off_the_subspace():
    p, lam = 0.25, 0.01
    m = train_exact(LinearAR.zeros(2), p, lam, 20000, 1.0)
    opt = exact_ntp_optimum(2, p, lam)
    # contraction 1 - 0.01 per step: 0.99^20000 ~ 2e-88; rounding-limited
    np.testing.assert_allclose(m.to_vector(), opt.to_vector(), rtol=0, atol=1e-10)
    assert m.reduced().off_subspace_norm > 1.0   # stop head weight on x_2 is 1.350 here


def test_p_zero_chain_heads():
    """p = 0: the chain loss is the conditional (p-independent) one; training leaves chain heads at 0."""
    m = random_model(3, 2, 1.5)
    np.testing.assert_allclose(population_ntp_loss(m, 0.0, 0.1)[2:], population_ntp_loss(m, 0.7, 0.1)[2:],
                               rtol=0, atol=1e-15)
    t = train_exact(LinearAR.zeros(3), 0.0, 0.1, 50, 0.5)
    assert all(np.all(w == 0) for w in t.chain)             # as Algorithm 3 and cf.ntp_optimum
    assert np.all(cf.ntp_optimum(3, 0.0, 0.1)[3:] == 0)
    # heads 1 and 2a follow the closed-form recursion (its chain coordinates move at p = 0: the
    # closed-form discrete_dynamics uses the conditional chain gradient there; reported to the lead)
    np.testing.assert_allclose(reduced_vec(t)[:3], cf.discrete_dynamics(3, 0.0, 0.1, 50, 0.5)[-1, :3],
                               rtol=0, atol=1e-13)


# ----------------------------------------------------------------------------- greedy decoding
@pytest.mark.parametrize("d", [3, 5, 8])
@pytest.mark.parametrize("lam", [1e-6, 0.5])
def test_greedy_step_at_one_third(d, lam):
    """Given y_1 = x_1 the stop logit is u = b + c; at the optimum lam u/2 + p sigma(u) - (1-p)/2 sigma(-u) = 0
    (closed_form.head2a_optimum_uv), so u = 0 exactly when p/2 = (1-p)/4, i.e. p = 1/3, for EVERY lam.
    Greedy therefore answers (x_1, EOS) (right for half the inputs) for p < 1/3 and L(x) (a > 0, c_l > 0)
    for p > 1/3; checked by enumeration 1e-6 either side."""
    for p, want in ((1 / 3 - 1e-6, 0.5), (1 / 3 + 1e-6, 1.0), (0.1, 0.5), (0.6, 1.0)):
        theta = cf.ntp_optimum(d, p, lam)
        met = exact_metrics(LinearAR.from_reduced(d, *theta[:3], theta[3:]), p)
        assert met["greedy_accuracy"] == want, p
        if lam < 1e-3:
            assert met["calibration_error"] < 1e-4         # calibrated: pi(L|x) = p up to O(lam)
    # the full-weight Newton optimum at d = 3 shows the same step
    assert exact_metrics(exact_ntp_optimum(3, 0.33, lam), 0.33)["greedy_accuracy"] == 0.5
    assert exact_metrics(exact_ntp_optimum(3, 0.34, lam), 0.34)["greedy_accuracy"] == 1.0


def test_d2_ntp_greedy_generalises_below_one_third():
    """Finding (docs/claims/theorem1.md, d = 2): at d = 2 the full-weight NTP optimum uses the stop head's
    weight on x_2 and greedy decoding is always right at p = 0.25, where the reduced prediction is 1/2."""
    p, lam = 0.25, 0.01
    assert exact_metrics(exact_ntp_optimum(2, p, lam), p)["greedy_accuracy"] == 1.0
    theta = cf.ntp_optimum(3, p, lam)                       # (a, b, c, c_l) do not depend on d
    assert cf.greedy_probs(theta, 3).p_correct == 0.5
    assert exact_metrics(LinearAR.from_reduced(2, *theta[:3], theta[3:4]), p)["greedy_accuracy"] == 0.5


def test_d2_unregularised_limit_and_threshold():
    """Derived lam -> 0 limit at d = 2 (docs/claims/theorem1.md): head 1 stays at P(y_1 = x_1) = (1+p)/2;
    the stop head fits the three observed cells (y_1 x_1, x_2) = (+1,+1): P(EOS) = 1-p, (+1,-1): 0,
    (-1,-1): 1; chain exact. So pi(L(x)|x) = (1+p)p/2 (x_2 = +1) or (1+p)/2 (x_2 = -1):
    max_x |pi(L|x) - p| = (1-p)/2, P(long correct) = (1+p)^2/4, and greedy is always right (p > 0).
    At lam = 1e-6 the regularisation bias measured is <= 5e-5 (1e-4: 3e-3); tolerance 1e-3."""
    for p in (0.1, 0.25, 0.6):
        met = exact_metrics(exact_ntp_optimum(2, p, 1e-6), p)
        assert met["calibration_error"] == pytest.approx((1 - p) / 2, abs=1e-3)
        assert met["pi_long"] == pytest.approx((1 + p) ** 2 / 4, abs=1e-3)
        assert met["greedy_accuracy"] == 1.0
    pc = d2_greedy_threshold(0.01, 1e-6)
    assert 0.0 < pc < 1 / 3                                  # measured 0.05358
    for p, want in ((pc - 1e-4, 0.5), (pc + 1e-4, 1.0)):      # the step, via the other route
        assert exact_metrics(train_exact(LinearAR.zeros(2), p, 0.01, 20000, 1.0), p)["greedy_accuracy"] == want


# ----------------------------------------------------------------------------- misc
def test_features_match_model_logits():
    d = 4
    m = random_model(d, 9, 1.5)
    X, Y = all_inputs(d), long_response(all_inputs(d))
    u1, u2a, uc = m.logits(X, Y)
    np.testing.assert_allclose(features(X, Y, 2) @ m.w2a + m.b2a, u2a, atol=1e-13)
    for l in range(2, d + 1):
        np.testing.assert_allclose(features(X, Y, l) @ m.chain[l - 2], uc[:, l - 2], atol=1e-13)


def test_bad_inputs_raise_value_error_naming_argument():
    m = LinearAR.zeros(3)
    with pytest.raises(ValueError, match="model"):
        response_distribution(LinearAR.zeros(MAX_ENUM_D + 1))
    with pytest.raises(ValueError, match="model"):
        population_ntp_grad("not a model", 0.3, 0.1)
    with pytest.raises(ValueError, match="p_cot"):
        population_ntp_loss(m, 1.5, 0.1)
    with pytest.raises(ValueError, match="lam"):
        population_ntp_grad(m, 0.3, -0.1)
    with pytest.raises(ValueError, match="temperature"):
        response_distribution(m, 0.0)
    with pytest.raises(ValueError, match="reward"):
        expected_reward(m, "nope")
    with pytest.raises(ValueError, match="step"):
        train_exact(m, 0.3, 0.1, 10, "adam")
    with pytest.raises(ValueError, match="lam"):
        train_exact(m, 0.3, 0.0, 10, "pegasos")
    with pytest.raises(ValueError, match="steps"):
        train_exact(m, 0.3, 0.1, -1, 0.1)
    with pytest.raises(ValueError, match="lam"):
        exact_ntp_optimum(3, 0.3, 0.0)
    with pytest.raises(ValueError, match="d"):
        exact_ntp_optimum(MAX_ENUM_D + 1, 0.3, 0.1)
