"""Tests of RL post-training: simulation (linparity.simulate) against closed form (closed_form.rl) and
exact enumeration (linparity.exact). Reference values: the ideal recursion (THEORY §6,
derivation), the exact map (closed_form.rl), full enumeration of all responses (exact/sim.py),
and LinearAR's own sampler / log-probabilities for the vectorised code.
"""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.special import expit

from linparity import closed_form as cf
from linparity import commands, references
from linparity import exact
from linparity import simulate as sim
from linparity.simulate import batched
from linparity.data import Mixture
from linparity.model import LinearAR

LAM = (0.01, 0.01, 0.01)


def _random_models(d, R, rng, scale=1.0):
    return [LinearAR.from_vector(d, scale * rng.normal(size=LinearAR.n_params(d))) for _ in range(R)]


# ----------------------------------------------------------------------------- closed form
@given(st.floats(1e-6, 1 - 1e-6), st.integers(0, 40))
def test_ideal_closed_form_equals_iterated_recursion(p, n):
    # reference: iterating p <- 2p/(1+p) by hand; closed form p_n = 2^n p/(2^n p + 1 - p)
    it = cf.ideal_recursion(p, n)
    assert it[-1] == pytest.approx(float(cf.ideal_p(p, n)), rel=1e-12, abs=1e-15)
    assert np.allclose(it, cf.ideal_p(p, np.arange(n + 1)), rtol=1e-12, atol=1e-15)


def test_n_star_is_first_round_past_one_third():
    # reference: the definition, checked on the iterated recursion (away from exact ties)
    for p in (0.01, 0.05, 0.1, 0.2, 0.3, 0.34):
        ps = cf.ideal_recursion(p, 20)
        assert cf.n_star(p) == int(np.flatnonzero(ps > 1 / 3)[0])


def test_exact_map_reduces_to_ideal_recursion_as_lam_to_zero():
    # Calibrated start (the regularised NTP optimum). As lam -> 0 the exact map's pi(L) must
    # approach p_n: the error shrinks monotonically with lam and is small at the end.
    d, p, n = 6, 0.05, 8
    ideal = cf.ideal_recursion(p, n)
    errs = []
    for lam in (1e-2, 1e-3, 1e-4, 1e-5, 1e-6):
        mp = cf.star_map(cf.ntp_optimum(d, p, lam), d, lam, n)
        errs.append(np.max(np.abs(mp.pi_long - ideal)))
    assert all(a > b for a, b in zip(errs, errs[1:])), errs
    # measured: 0.27, 0.043, 5.9e-3, 7.6e-4, 9.4e-5 (about x8 per decade of lam); 1e-3 at lam = 1e-6
    # leaves a factor 10 and fails if the map's lam -> 0 limit is not the ideal recursion
    assert errs[-1] < 1e-3, errs


# ----------------------------------------------------------------------------- vectorised model
def test_batched_model_matches_linear_ar_draw_for_draw():
    # reference: LinearAR.sample / greedy / log_prob on each replicate with the same Generator
    rng = np.random.default_rng(3)
    d, R, n, tau = 6, 3, 50, 1.3
    ms = _random_models(d, R, rng)
    W = sim.BatchedAR.stack(ms)
    assert all(np.array_equal(a.to_vector(), b.to_vector()) for a, b in zip(W.models(), ms))
    X = (1 - 2 * rng.integers(0, 2, size=(R, n, d))).astype(np.int8)
    Y = sim.sample_responses(W, X, [np.random.default_rng(10 + r) for r in range(R)], tau)
    G = sim.greedy_responses(W, X)
    lp = sim.log_prob(W, X, Y, tau)
    th, off = W.reduced()
    for r, m in enumerate(ms):
        assert np.array_equal(Y[r], m.sample(X[r], np.random.default_rng(10 + r), tau))
        assert np.array_equal(G[r], m.greedy(X[r]))
        assert np.allclose(lp[r], m.log_prob(X[r], Y[r], tau), rtol=1e-12)
        red = m.reduced()
        assert np.array_equal(th[r], [red.a, red.b, red.c, *red.chain])  # the same stored weights
        assert off[r] == pytest.approx(red.off_subspace_norm, rel=1e-12)


@pytest.mark.parametrize("d,tau,rows", [(3, 0.75, None), (50, 1.0, None), (50, 0.5, None), (50, 1.0, 7),
                                        (3, 0.75, 333), (50, 1.0, 65536)])
def test_compiled_decoder_matches_linear_ar_draw_for_draw(d, tau, rows, monkeypatch):
    # reference: LinearAR.sample / greedy (numpy, one rng.random call per chain position). The
    # compiled chain decoder draws all chain uniforms in one call and must make the same decisions,
    # whatever the number of rows decoded per call (rows: DECODE_ROWS, default 1024 < 2000; 65536: one call).
    if rows is not None:
        monkeypatch.setattr(batched, "DECODE_ROWS", rows)
    rng = np.random.default_rng(d)
    ms = _random_models(d, 2, rng, scale=0.3)
    ms[1] = LinearAR.from_reduced(d, 2.0, -1.0, -1.5, 2.0)        # mostly long responses
    W = sim.BatchedAR.stack(ms)
    X = (1 - 2 * rng.integers(0, 2, size=(2000, d))).astype(np.int8)
    Y = sim.sample_responses(W, X, [np.random.default_rng(20 + r) for r in range(2)], tau)
    G = sim.greedy_responses(W, X)
    for r, m in enumerate(ms):
        assert np.array_equal(Y[r], m.sample(X, np.random.default_rng(20 + r), tau))
        assert np.array_equal(G[r], m.greedy(X))
        assert (Y[r, :, 1] != 0).sum() > 100                     # the chain decoder really ran


@given(d=st.integers(3, 8), seed=st.integers(0, 2 ** 32 - 1))
def test_compiled_rewards_equal_the_data_module(d, seed):
    # reference: data.reward_cot / reward_e2e (numpy) on the same rows; the rows mix the correct long
    # and short responses, single flipped bits of them, and arbitrary {-1, 0, +1} rows
    from linparity.data import REWARDS, long_response, short_response
    rng = np.random.default_rng(seed)
    X = (1 - 2 * rng.integers(0, 2, size=(2, 60, d))).astype(np.int8)
    Y = rng.integers(-1, 2, size=(2, 60, d + 1)).astype(np.int8)
    Xf = X.reshape(-1, d)
    L, S = long_response(Xf).reshape(Y.shape), short_response(Xf).reshape(Y.shape)
    Y[:, :20], Y[:, 20:40] = L[:, :20], S[:, 20:40]
    flip = rng.integers(0, d + 1, size=2)
    Y[0, :40, flip[0]] *= -1                  # replicate 0: one bit of each right answer flipped
    for reward, fn in REWARDS.items():
        got = batched.rewards(reward, X, Y)
        want = fn(Xf, Y.reshape(-1, d + 1)).reshape(2, 60)
        assert np.array_equal(got, want), reward
    assert batched.rewards("cot", X, Y)[1, :40].all()   # the unflipped right answers are rewarded


@pytest.mark.parametrize("algo,reward,tau", [("grpo", "e2e", 0.75), ("reinforce", "cot", 1.3)])
def test_pg_step_equals_sample_then_policy_update(algo, reward, tau):
    # reference: the step written out with the public pieces (inputs drawn as pg_step draws them,
    # sample_responses, rewards, advantages, policy_update); pg_step reuses the decoding logits
    # instead of recomputing them, which may only change rounding.
    d, R, B, G, lr = 6, 2, 32, 4, 0.7
    cfg = sim.PGConfig(algo=algo, steps=1, lr=lr, batch_size=B, group_size=G, reward=reward, temperature=tau)
    W0 = sim.BatchedAR.stack(_random_models(d, R, np.random.default_rng(8), scale=0.5))
    base = np.array([0.2, 0.4])
    W = W0.copy()
    rmean = sim.pg_step(W, cfg, [np.random.default_rng(30 + r) for r in range(R)],
                       base if algo == "reinforce" else None)
    gens = [np.random.default_rng(30 + r) for r in range(R)]
    X = np.stack([(1 - 2 * g.integers(0, 2, size=(B, d), dtype=np.int8)).astype(np.int8) for g in gens])
    if algo == "grpo":
        X = np.repeat(X, G, axis=1)
    Y = sim.sample_responses(W0, X, gens, tau)
    r = batched.rewards(reward, X, Y)
    if algo == "grpo":
        rg = r.reshape(R, B, G)
        A = (rg - rg.mean(-1, keepdims=True)) / (rg.std(-1, keepdims=True) + sim.GRPO_EPS)
        w = A.reshape(R, -1) / (B * G)
    else:
        w = (r - base[:, None]) / B
    expected = W0.copy().add_(sim.policy_update(W0, X, Y, w, tau), lr)
    assert np.allclose(rmean, r.mean(1), rtol=0, atol=0)
    for a, b in zip(W.models(), expected.models()):
        assert np.allclose(a.to_vector(), b.to_vector(), rtol=1e-12, atol=1e-14)
    assert not np.allclose(W.w1, W0.w1)                            # the step moved the weights


@pytest.mark.parametrize("tau", [0.75, 1.0, 1.5])
def test_policy_update_equals_enumeration_score_and_reference(tau):
    # reference: enumeration.log_prob_grad (score vectors) and the per-sample Python loop
    rng = np.random.default_rng(4)
    d, R, n = 5, 2, 40
    ms = _random_models(d, R, rng)
    W = sim.BatchedAR.stack(ms)
    X = (1 - 2 * rng.integers(0, 2, size=(R, n, d))).astype(np.int8)
    Y = sim.sample_responses(W, X, [np.random.default_rng(r) for r in range(R)], tau)
    w = rng.normal(size=(R, n))
    U = sim.policy_update(W, X, Y, w, tau).models()
    for r, m in enumerate(ms):
        ref = w[r] @ exact.log_prob_grad(m, X[r], Y[r], tau)
        assert np.allclose(U[r].to_vector(), ref, rtol=1e-10, atol=1e-12)
        assert np.allclose(references.policy_update_reference(m, X[r], Y[r], w[r], tau), ref, rtol=1e-10, atol=1e-12)


def test_fit_algorithm3_equals_per_sample_reference():
    # reference: per-sample Pegasos in plain Python (pretrain's step rule)
    X, Y = Mixture(5, 0.3).sample(400, np.random.default_rng(0))
    lam = (0.01, 0.02, 0.03)
    a = sim.fit_algorithm3(X, Y, lam).to_vector()
    b = references.algorithm3_reference(X, Y, lam).to_vector()
    assert np.allclose(a, b, rtol=1e-10, atol=1e-10)


# ----------------------------------------------------------------------------- policy gradient: closed form = enumeration
@pytest.mark.parametrize("d", [3, 4, 5, 6, 7, 8])
@pytest.mark.parametrize("reward", ["cot", "e2e"])
def test_reward_gradient_equals_enumeration(d, reward):
    # reference: exact enumeration of every response (enumeration.policy_gradient / expected_reward)
    rng = np.random.default_rng(d)
    for tau in (0.75, 1.0, 1.5):
        theta = rng.normal(scale=1.5, size=d + 2)
        m = LinearAR.from_reduced(d, theta[0], theta[1], theta[2], theta[3:])
        g = exact.policy_gradient(m, reward, tau)
        red = g.reduced()
        assert np.allclose([red.a, red.b, red.c, *red.chain], cf.reward_gradient(theta, d, reward, tau),
                           rtol=1e-9, atol=1e-12)
        assert red.off_subspace_norm < 1e-12  # no component off the subspace (d >= 3)
        assert exact.expected_reward(m, reward, tau) == pytest.approx(cf.expected_reward(theta, d, reward, tau),
                                                                   rel=1e-10)
        ev = sim.evaluate_batch(sim.BatchedAR.stack([m]), sim.eval_inputs(d, 2, None), "cot", tau)
        if reward == "cot":  # the simulation's exact per-x evaluation agrees too
            assert ev["expected_reward"][0] == pytest.approx(cf.expected_reward(theta, d, "cot", tau), rel=1e-10)


# ----------------------------------------------------------------------------- kept set vs (q, r)
@pytest.mark.parametrize("reward,tau", [("cot", 1.0), ("e2e", 1.0), ("cot", 1.5), ("e2e", 0.75)])
def test_simulated_kept_set_matches_kept_stats(reward, tau):
    d, N = 6, 100_000
    theta = cf.pretrain_checkpoint(d, 0.2, 0.01, 200)
    W = sim.BatchedAR.from_reduced(theta, d, 1)
    _, _, kept, s = sim.sample_kept(W, N, reward, tau, [np.random.default_rng(11)])
    ks = cf.kept_stats(theta, d, reward, tau)
    K = kept.sum()
    # binomial standard errors; tolerance 5 sigma
    se_f = np.sqrt(ks.kept_fraction * (1 - ks.kept_fraction) / N)
    se_q = np.sqrt(ks.q * (1 - ks.q) / K)
    n_short = K * (1 - ks.q)
    se_r = np.sqrt(ks.r * (1 - ks.r) / n_short)
    assert abs(s["kept_fraction"][0] - ks.kept_fraction) < 5 * se_f
    assert abs(s["q"][0] - ks.q) < 5 * se_q
    assert abs(s["r"][0] - ks.r) < 5 * se_r


# ----------------------------------------------------------------------------- Theorem 2
def test_star_from_calibrated_model_generalises_in_n_star_rounds():
    d, p = 5, 0.05
    ns = cf.n_star(p)                                      # = 4
    theta0 = cf.ntp_optimum(d, p, LAM)
    mp = cf.star_map(theta0, d, LAM, ns + 2)
    assert int(np.flatnonzero(mp.greedy_accuracy >= 0.99)[0]) == ns
    out = commands.star_command(d, p, ns + 1, 20_000, pretrain_steps=None, lam=LAM, seed=0, variant="refit")
    assert out["n_star"] == ns
    # greedy accuracy reaches 0.99 within the ns + 1 simulated rounds (measured: at round ns + 1,
    # one round after the exact map above)
    assert out["rounds_to_generalize"] is not None


def test_early_checkpoint_predicted_not_to_amplify():
    # A checkpoint whose chain heads never trained (T_chain = 0): amplification margin < 0, so the
    # exact map lowers P(go on | y_1 = x_1) in round 1, and so does the simulation.
    from linparity.simulate import pretrain
    d, p = 6, 0.2
    res = pretrain(d, p, 20_000, LAM, T_chain=0, rng=1)
    theta0 = res.theta_[0]
    assert cf.amplification_margin(theta0, d) <= 0
    assert cf.stop_gradient_sign(theta0, d) > 0         # the policy gradient also pushes to stop
    go = lambda th: 1 - float(expit(th[1] + th[2]))  # noqa: E731  P(go on | y_1 = x_1)
    mp = cf.star_map(theta0, d, LAM, 1)
    assert go(mp.theta[1]) < go(mp.theta[0])
    cfg = sim.StarConfig(rounds=1, samples=20_000, variant="refit", lam=LAM)
    run = sim.run_star(sim.BatchedAR.stack(res.models_), cfg, rng=2)
    # the drop predicted by the map is large (~x0.05); a 50% drop is far outside the noise of N = 20000
    assert go(run.theta_[0, 1]) < 0.5 * go(run.theta_[0, 0])
    assert go(mp.theta[1]) < 0.5 * go(mp.theta[0])


# ----------------------------------------------------------------------------- expected update
@pytest.mark.parametrize("algo,baseline,reward,tau", [("reinforce", None, "cot", 1.0),
                                                       ("reinforce", 0.3, "e2e", 1.5),
                                                       ("grpo", None, "cot", 1.0),
                                                       ("grpo", None, "e2e", 0.75)])
def test_simulated_mean_update_matches_expected_update(algo, baseline, reward, tau):
    # K independent one-step replicates from the same subspace point; the per-replicate updates are
    # i.i.d., so their mean has standard error std/sqrt(K). Tolerance: 5 sigma per coordinate.
    d, K = 4, 400
    theta = np.array([0.3, 0.5, -0.4, 1.0, 0.6, 1.4])
    cfg = sim.PGConfig(algo=algo, steps=1, lr=1.0, batch_size=400, group_size=6, reward=reward,
                      temperature=tau, baseline=baseline is not None)
    W = sim.BatchedAR.from_reduced(theta, d, K)
    before = np.array([m.to_vector() for m in W.models()])
    sim.pg_step(W, cfg, [np.random.default_rng([5, k]) for k in range(K)],
               None if baseline is None else np.full(K, baseline))
    upd = np.array([m.to_vector() for m in W.models()]) - before          # (K, n_params)
    e = cf.expected_update(theta, d, reward, tau, algo, cfg.group_size if algo == "grpo" else None)
    expected = LinearAR.from_reduced(d, e[0], e[1], e[2], e[3:]).to_vector()
    se = upd.std(axis=0, ddof=1) / np.sqrt(K)
    assert np.all(np.abs(upd.mean(0) - expected) <= 5 * se + 1e-12)
    assert np.any(np.abs(expected) > 4 * se)  # the check has power: some coordinate resolved at 4 sigma


# ----------------------------------------------------------------------------- CLI entry points
def test_commands_return_the_issue_keys():
    out = commands.star_command(4, 0.2, 2, 2000, pretrain_steps=2000, lam=0.01, seed=1)
    assert set(out) >= {"pi_long", "p_ideal", "p_exact_map", "greedy_accuracy", "mean_length",
                        "kept_fraction", "rounds_to_generalize", "n_star", "d", "p_cot", "reward"}
    assert (out["d"], out["p_cot"], out["rounds"]) == (4, 0.2, 2)
    assert all(len(out[k]) == 3 for k in ("pi_long", "p_ideal", "greedy_accuracy", "kept_fraction"))
    cfo = commands.star_command(4, 0.2, 2, 2000, pretrain_steps=2000, lam=0.01, method="closed-form")
    assert cfo["pi_long"] == cfo["p_exact_map"]
    pg = commands.pg_command("grpo", 4, 0.2, 3, 0.5, batch_size=16, group_size=4, pretrain_steps=1000, seed=0)
    arrays = ("expected_reward", "pi_long", "greedy_accuracy", "mean_length", "closed_form_expected_reward")
    assert set(pg) >= set(arrays) | {"d", "p_cot", "algo", "group_size"}
    assert all(len(pg[k]) == 4 for k in arrays)


@pytest.mark.parametrize("kwargs,name", [({"variant": "x"}, "variant"), ({"reward": "y"}, "reward"),
                                         ({"temperature": 0}, "temperature"), ({"samples": 0}, "samples"),
                                         ({"method": "z"}, "method"), ({"p_cot": 2}, "p_cot"),
                                         ({"d": 2}, "d"), ({"replicates": 0}, "replicates")])
def test_star_command_bad_input(kwargs, name):
    args = dict(d=4, p_cot=0.2, rounds=1, samples=10, pretrain_steps=None)
    args.update(kwargs)
    with pytest.raises(ValueError, match=name):
        commands.star_command(**args)


@pytest.mark.parametrize("kwargs,name", [({"algo": "ppo"}, "algo"), ({"lr": -1}, "lr"),
                                         ({"group_size": 1}, "group_size"), ({"steps": -1}, "steps"),
                                         ({"batch_size": 0}, "batch_size")])
def test_pg_command_bad_input(kwargs, name):
    args = dict(algo="grpo", d=4, p_cot=0.2, steps=1, lr=0.1, pretrain_steps=None)
    args.update(kwargs)
    with pytest.raises(ValueError, match=name):
        commands.pg_command(**args)


def test_replicate_stream_independent_of_R():
    # SPEC 7: replicate r uses child r, so replicate 0 is the same with R = 1 or R = 3
    d = 4
    cfg = sim.StarConfig(rounds=2, samples=500, variant="continue", lam=LAM)
    a = sim.run_star(sim.BatchedAR.from_reduced(cf.ntp_optimum(d, 0.2, LAM), d, 1), cfg, rng=7)
    b = sim.run_star(sim.BatchedAR.from_reduced(cf.ntp_optimum(d, 0.2, LAM), d, 3), cfg, rng=7)
    # same arithmetic on the same stream whatever R (measured: bit-identical); 1e-12 absolute only
    # allows for BLAS blocking, a stream that depended on R would move theta by O(0.1)
    np.testing.assert_allclose(a.theta_[0], b.theta_[0], rtol=0, atol=1e-12)


def test_theorem2_report_smoke():
    # small run: the per-round estimation error is recomputed here from the measured pi(L) series
    # q_n by its definition eps_n = |q_{n+1} - 2 q_n/(1 + q_n)| (module docstring), and the
    # deviation column from the ideal recursion p_n = 2^n p/(2^n p + 1 - p) (THEORY §6)
    from linparity.studies.theorem2 import format_report, theorem2_report
    rep = theorem2_report(4, 0.2, 0.01, 2000, rounds=2, early_steps=(500,), temperatures=(1.0,),
                          pg_steps=4, pg_batch=32)
    m = rep["main"]
    q = np.array(m["pi_long"])
    np.testing.assert_allclose(m["eps_per_round"], np.abs(q[1:] - 2 * q[:-1] / (1 + q[:-1])), rtol=1e-12)
    assert m["eps"] == pytest.approx(max(m["eps_per_round"]), rel=1e-12)
    n = np.arange(3)
    np.testing.assert_allclose(m["abs_q_minus_p"], np.abs(q - 2.0 ** n * 0.2 / (2.0 ** n * 0.2 + 0.8)),
                               rtol=1e-12, atol=1e-15)
    assert len(rep["early"]) == 4 and len(rep["rewards"]) == 2
    assert "Theorem 2" in format_report(rep)


@pytest.mark.parametrize("d, batch_size, epochs", [(4, 1, 2), (5, 32, 2), (6, 7, 3), (24, 32, 1)])
def test_continue_round_equals_per_sample_reference(d, batch_size, epochs):
    # reference: references.continue_sgd_reference, per-sample Python gradients (policy_update_reference)
    # on the same kept set in the same visiting order: the kept set is redrawn by sample_kept from a
    # copy of each replicate's stream, and the epoch permutations are the next draws of that stream
    import copy
    rng = np.random.default_rng(3)
    models = _random_models(d, 2, rng, scale=0.5)
    cfg = sim.StarConfig(rounds=1, samples=300, variant="continue", lam=(0.02, 0.03, 0.01), epochs=epochs,
                        lr=0.3, batch_size=batch_size)
    gens = [np.random.default_rng(s) for s in (11, 12)]
    twins = copy.deepcopy(gens)
    W, _ = sim.star_round(sim.BatchedAR.stack(models), cfg, gens)
    X, Y, kept, _ = sim.sample_kept(sim.BatchedAR.stack(models), cfg.samples, cfg.reward, cfg.temperature, twins)
    for r, g in enumerate(twins):
        idx = np.flatnonzero(kept[r])
        order = np.concatenate([idx[g.permutation(idx.size)] for _ in range(epochs)])
        batches = [order[e * idx.size:(e + 1) * idx.size][s:s + batch_size]
                   for e in range(epochs) for s in range(0, idx.size, batch_size)]
        ref = references.continue_sgd_reference(models[r], X[r], Y[r], batches, cfg.lr, cfg.lam)
        # same arithmetic up to summation order: 1e-12 relative to the weights' scale
        np.testing.assert_allclose(W.models()[r].to_vector(), ref.to_vector(), rtol=0,
                                   atol=1e-12 * max(1.0, np.abs(ref.to_vector()).max()))


@pytest.mark.parametrize("which, name", [("X", "X"), ("Y", "Y"), ("kept", "kept"), ("gens", "gens")])
def test_continue_sgd_refuses_mismatched_shapes_by_name(which, name):
    W = sim.BatchedAR.stack(_random_models(4, 2, np.random.default_rng(0)))
    cfg = sim.StarConfig(rounds=1, samples=5, variant="continue", lam=LAM)
    args = {"X": np.ones((2, 5, 4)), "Y": np.zeros((2, 5, 5)), "kept": np.ones((2, 5), bool),
            "gens": [np.random.default_rng(0), np.random.default_rng(1)]}
    args[which] = args[which][:1]                  # one replicate short (R = 2 from W)
    with pytest.raises(ValueError, match=name):
        sim.continue_sgd(W, args["X"], args["Y"], args["kept"], cfg, args["gens"])
