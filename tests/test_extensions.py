"""THEORY §8 extensions: noisy demonstrations, length penalty, distinct prompts; and the CLI routes.

Provenance of reference values: derivations in the docstrings of linparity.closed_form.rl
(noisy_ntp_stats, length_penalty_threshold) restated next to each assertion, exact enumeration over
all 2^d inputs on full weights, and seeded simulation with 5-sigma tolerances.
"""
import json

import numpy as np
import pytest
from scipy.special import expit

from linparity import closed_form as cf
from linparity import commands, exact
from linparity import simulate as sim
from linparity.cli import main
from linparity.data import (DistinctInputs, Mixture, expected_distinct, prefix_parities,
                            sample_inputs)
from linparity.experiments import extensions as ex
from linparity.model import LinearAR

LAM = (0.01, 0.01, 0.002)


# ----------------------------------------------------------------------------- noisy mixture
def test_noise_zero_keeps_the_documented_stream():
    # the clean stream: n*d input bits, then n uniforms (u < p: long); nothing else is drawn
    n, d, p = 500, 6, 0.3
    X, Y = Mixture(d, p, noise=0.0, noise_kind="carried").sample(n, rng=11)
    g = np.random.default_rng(11)
    X0 = sample_inputs(n, d, g)
    long_ = g.random(n) < p
    S = prefix_parities(X0)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(Y[long_, :-1], S[long_])
    np.testing.assert_array_equal(Y[~long_, 0], S[~long_, -1])
    assert np.all(Y[~long_, 1:] == 0)


@pytest.mark.parametrize("kind", ["final", "carried"])
def test_noisy_samples_follow_the_definition(kind):
    n, d, p, eps = 40_000, 5, 0.5, 0.3
    X, Y = Mixture(d, p, eps, kind).sample(n, rng=3)
    long_ = Y[:, 1] != 0
    S = prefix_parities(X)
    wrong = np.any(Y[:, :d] != S, axis=1) & long_
    # corruption rate among long rows: Binomial, 5 sigma
    m = long_.sum()
    assert abs(wrong.sum() / m - eps) < 5 * np.sqrt(eps * (1 - eps) / m)
    assert np.all(Y[~long_, 0] == S[~long_, -1])                  # short answers stay clean
    assert np.all(Y[wrong, d - 1] == -S[wrong, d - 1])            # every corruption makes the answer wrong
    if kind == "final":
        np.testing.assert_array_equal(Y[wrong, :d - 1], S[wrong, :d - 1])
    else:
        j = np.argmax(Y[wrong, :d] != S[wrong], axis=1)          # first flipped step (0-based)
        Yw, Xw = Y[wrong, :d].astype(int), X[wrong].astype(int)
        k = np.arange(d)[None, :]
        # after the flip the chain is consistent: y_k = y_{k-1} x_k for k > j
        cons = Yw[:, 1:] == Yw[:, :-1] * Xw[:, 1:]
        assert np.all(cons | (k[:, 1:] <= j[:, None]))
        # the flip step is uniform on 1..d: chi-square-free check, each count within 5 sigma of n/d
        cnt = np.bincount(j, minlength=d)
        assert np.all(np.abs(cnt - cnt.sum() / d) < 5 * np.sqrt(cnt.sum() / d))


@pytest.mark.parametrize("kind", ["final", "carried"])
def test_enumeration_gives_the_per_head_targets(kind):
    # the closed form's per-head targets (noisy_ntp_stats) computed from the enumerated distribution
    d, p, eps = 5, 0.4, 0.35
    X, Y, w = Mixture(d, p, eps, kind).enumerate()
    assert abs(w.sum() - 1) < 1e-12
    st = cf.noisy_ntp_stats(d, p, eps, kind)
    assert abs(w[Y[:, 0] == X[:, 0]].sum() - st.pi1) < 1e-12
    L = Y[:, 1] != 0
    wl = w[L] / w[L].sum()
    for l in range(2, d + 1):
        copy = Y[L, l - 1] == Y[L, l - 2] * X[L, l - 1]
        assert abs(wl[copy].sum() - st.pi_chain[l - 2]) < 1e-12
    go_neq = w[L & (Y[:, 0] != X[:, 0])].sum()
    assert abs(go_neq - st.stop[1]) < 1e-12


@pytest.mark.parametrize("kind", ["final", "carried"])
@pytest.mark.parametrize("d", [3, 5])
def test_subspace_survives_noise_by_enumeration(kind, d):
    # the exact full-weight optimum on the enumerated noisy mixture lies on the reduced subspace and
    # equals the closed form with per-head targets
    for eps in (0.1, 0.5, 0.9):
        m = ex.exact_noisy_optimum(d, 0.3, LAM, eps, kind)
        r = m.reduced()
        assert r.off_subspace_norm < 1e-10
        np.testing.assert_allclose(r.theta, cf.noisy_ntp_optimum(d, 0.3, LAM, eps, kind), atol=1e-8)


def test_final_noise_flips_greedy_above_one_half():
    # chain head d's target is 1 - eps: its optimum logit changes sign at eps = 1/2, and with p > 1/3
    # the greedy answer is right iff eps < 1/2 (closed form, enumeration agrees)
    d, p = 5, 0.5
    for eps, want in ((0.45, 1.0), (0.55, 0.0)):
        th = cf.noisy_ntp_optimum(d, p, LAM, eps, "final")
        assert cf.greedy_probs(th, d).p_correct == want
        assert exact.exact_metrics(ex.exact_noisy_optimum(d, p, LAM, eps, "final"), p)["greedy_accuracy"] == want


def test_noisy_algorithm3_matches_closed_form():
    # Algorithm 3 on noisy samples converges to the noisy optimum: lam = 0.05 so T = 40000 >> 10/lam
    # per head; the chain-last logit c_d (target 1 - eps = 0.7) within 0.15 of the closed form
    # (measured: ~0.05; Pegasos error ~ 1/sqrt(lam T)); and the stub 'noise ignored' would give
    # c_d ~ chain_optimum(0.05) = 2.7 against 0.71
    d, p, eps, lam = 4, 0.5, 0.3, 0.05
    W, th = ex.noisy_initial_models(d, p, eps, "final", 40_000, lam, 2, np.random.SeedSequence(5))
    want = cf.noisy_ntp_optimum(d, p, lam, eps, "final")
    assert abs(th[-1] - want[-1]) < 0.15
    assert abs(want[-1] - cf.chain_optimum(lam)) > 1


# ----------------------------------------------------------------------------- length penalty
@pytest.mark.parametrize("algo,G", [("reinforce", None), ("grpo", 6)])
@pytest.mark.parametrize("reward", ["cot", "e2e"])
def test_penalised_update_tends_to_the_binary_form_as_beta_tends_to_zero(algo, G, reward):
    # expected_update takes the four-valued outcome form for beta > 0 and the binary-reward form
    # (reward_gradient, grpo_weight) at beta = 0: a tiny beta must land on the beta = 0 values,
    # and so must stop_update, which uses the outcome form at every beta
    th = np.array([0.3, 0.5, -0.4, 1.0, 0.6, 1.4])
    at0 = cf.expected_update(th, 4, reward, 1.2, algo, G)
    np.testing.assert_allclose(cf.expected_update(th, 4, reward, 1.2, algo, G, length_penalty=1e-300),
                               at0, atol=1e-14)
    assert cf.stop_update(th, 4, 0.0, reward, 1.2, algo, G) == pytest.approx(at0[1] + at0[2], abs=1e-14)
    assert cf.expected_reward(th, 4, reward, 1.2, length_penalty=1e-300) == \
        pytest.approx(cf.expected_reward(th, 4, reward, 1.2), abs=1e-14)


@pytest.mark.parametrize("bad", [-0.1, float("nan"), float("inf"), "x", None])
@pytest.mark.parametrize("func", ["expected_update", "expected_reward", "pg_discrete"])
def test_closed_form_refuses_a_bad_length_penalty(func, bad):
    th = np.array([0.3, 0.5, -0.4, 1.0, 0.6, 1.4])
    args = (th, 4, 0.1, 2) if func == "pg_discrete" else (th, 4)
    with pytest.raises(ValueError, match="length_penalty: must be a finite number >= 0"):
        getattr(cf, func)(*args, length_penalty=bad)


def test_penalised_gradient_is_the_gradient_of_penalised_reward_and_matches_enumeration():
    d, beta, tau = 4, 0.35, 0.8
    th = np.array([0.3, 0.5, -0.4, 1.0, 0.6, 1.4])
    g = cf.expected_update(th, d, "cot", tau, length_penalty=beta)
    f = lambda t: cf.expected_reward(t, d, "cot", tau, length_penalty=beta)  # noqa: E731
    num = np.array([(f(th + 1e-6 * e) - f(th - 1e-6 * e)) / 2e-6 for e in np.eye(d + 2)])
    np.testing.assert_allclose(g, num, atol=1e-8)                  # central differences, O(h^2)
    # exact: E[r_beta] and its full-weight gradient by enumeration, lifted to reduced coordinates
    m = LinearAR.from_reduced(d, *th[:3], th[3:])
    rb = ex.penalised_reward("cot", beta)
    assert abs(exact.expected_reward(m, rb, tau) - f(th)) < 1e-12
    G = exact.policy_gradient(m, rb, tau)
    want = LinearAR.from_reduced(d, g[0], g[1], g[2], g[3:])
    np.testing.assert_allclose(G.to_vector(), want.to_vector(), atol=1e-12)


def test_reinforce_threshold_is_chain_right_minus_half():
    # derivation: dE[r_beta]/d beta_stop = alpha (1/2 - prod kappa + beta) (cot), so beta* = prod kappa - 1/2
    d = 6
    th = cf.ntp_optimum(d, 0.1, 0.01)
    b = cf.length_penalty_threshold(th, d)
    assert abs(b - (np.prod(expit(th[3:])) - 0.5)) < 1e-10
    assert cf.stop_update(th, d, b - 1e-4) < 0 < cf.stop_update(th, d, b + 1e-4)
    bg = cf.length_penalty_threshold(th, d, algo="grpo", group_size=8)
    assert cf.stop_update(th, d, bg - 1e-4, algo="grpo", group_size=8) < 0 < \
        cf.stop_update(th, d, bg + 1e-4, algo="grpo", group_size=8)
    assert 0 < b < 0.5 and 0 < bg < 0.5                       # finite lambda: below the limit 1/2


@pytest.mark.parametrize("algo", ["reinforce", "grpo"])
def test_simulated_penalised_update_matches_closed_form(algo):
    # K one-step replicates from one reduced point; mean update within 5 standard errors per coordinate
    d, K, beta = 4, 300, 0.4
    theta = np.array([0.3, 0.5, -0.4, 1.0, 0.6, 1.4])
    cfg = sim.PGConfig(algo=algo, steps=1, lr=1.0, batch_size=300, group_size=6, baseline=False,
                      length_penalty=beta)
    W = sim.BatchedAR.from_reduced(theta, d, K)
    before = np.array([m.to_vector() for m in W.models()])
    sim.pg_step(W, cfg, [np.random.default_rng([9, k]) for k in range(K)])
    upd = np.array([m.to_vector() for m in W.models()]) - before
    e = cf.expected_update(theta, d, "cot", 1.0, algo, 6 if algo == "grpo" else None, length_penalty=beta)
    want = LinearAR.from_reduced(d, e[0], e[1], e[2], e[3:]).to_vector()
    se = upd.std(axis=0, ddof=1) / np.sqrt(K)
    assert np.all(np.abs(upd.mean(0) - want) <= 5 * se + 1e-12)
    # power: the penalty's effect on the stop logit (beta * grad P(long)) is resolved
    e0 = cf.expected_update(theta, d, "cot", 1.0, algo, 6 if algo == "grpo" else None)
    w0 = LinearAR.from_reduced(d, e0[0], e0[1], e0[2], e0[3:]).to_vector()
    assert np.max(np.abs(want - w0) / (se + 1e-300)) > 5


# ----------------------------------------------------------------------------- distinct prompts
def test_distinct_inputs_counts():
    X = sample_inputs(300, 5, 0)
    seen = DistinctInputs(5)
    seen.add(X)
    assert len(seen) == len(np.unique(X, axis=0))
    assert abs(expected_distinct(4, 1) - 1) < 1e-12 and expected_distinct(4, 10 ** 6) == pytest.approx(16)
    cfg = sim.StarConfig(rounds=2, samples=400, variant="refit", lam=LAM)
    res = sim.run_star(sim.BatchedAR.from_reduced(cf.ntp_optimum(4, 0.3, LAM), 4, 2), cfg, rng=0)
    assert list(res.distinct_inputs_) == [16, 16]                # 800 draws of 16 inputs: all seen
    pg = sim.run_pg(sim.BatchedAR.from_reduced(cf.ntp_optimum(8, 0.3, LAM), 8, 1),
                   sim.PGConfig(algo="reinforce", steps=2, batch_size=20), rng=0)
    assert 30 <= pg.distinct_inputs_[0] <= 40                    # 40 draws of 256: ~37 distinct


# ----------------------------------------------------------------------------- STaR default, CLI routes
def test_star_default_lambdas_are_default_lam_of_the_run():
    from linparity.heads import default_lam
    W = sim.BatchedAR.from_reduced(cf.ntp_optimum(5, 0.3, LAM), 5, 1)
    dflt = sim.run_star(W, sim.StarConfig(rounds=1, samples=50, variant="refit"), rng=3)
    given = sim.run_star(W, sim.StarConfig(rounds=1, samples=50, variant="refit", lam=default_lam(5)), rng=3)
    assert dflt.config.lam == default_lam(5) == (0.01, 0.01, 0.002)
    np.testing.assert_array_equal(dflt.theta_, given.theta_)
    # the 'continue' decay bound lr x lam < 2 holds for the defaults too, checked before any work
    with pytest.raises(ValueError, match="lam1: the 'continue' variant needs lr x lam1 < 2"):
        sim.run_star(W, sim.StarConfig(rounds=1, samples=2 ** 50, lr=300.0), rng=3)

def test_star_default_is_the_papers_continue_variant():
    cfg = sim.StarConfig(rounds=1, samples=10)
    assert (cfg.variant, cfg.batch_size, cfg.epochs, cfg.lr) == ("continue", 1, 2, 0.05)
    # the figures' settings, named as such: same variant and epochs, 10x the step, batch 32
    assert dict(sim.FIGURE_STAR_OPTIONS) == {"variant": "continue", "epochs": 2, "lr": 0.5, "batch_size": 32}
    out = commands.star_command(4, 0.2, 1, 300, pretrain_steps=None, seed=0)
    assert out["variant"] == "continue" and out["continue_settings"]["batch_size"] == 1
    assert out["distinct_inputs"] == 16


def _cli(capsys, *argv):
    rc = main(list(argv))
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def test_cli_help_names_the_variants_and_new_options(capsys):
    with pytest.raises(SystemExit):
        main(["star", "--help"])
    h = capsys.readouterr().out
    assert "continue (default" in h and "--method" in h and "exact" in h and "--noise-kind" in h
    with pytest.raises(SystemExit):
        main(["pg", "--help"])
    h = capsys.readouterr().out
    assert "--length-penalty" in h and "closed-form" in h


def test_pg_three_routes_agree(capsys):
    # REINFORCE expected dynamics: closed form and full-weight enumeration; both from the exact optimum
    args = ["pg", "--d", "4", "--p-cot", "0.2", "--steps", "3", "--pretrain-steps", "0", "--json",
            "--length-penalty", "0.3"]
    outs = {}
    for m in ("closed-form", "exact"):
        rc, o, _ = _cli(capsys, *args, "--method", m)
        assert rc == 0
        outs[m] = json.loads(o)
    np.testing.assert_allclose(outs["exact"]["pi_long"], outs["closed-form"]["pi_long"], atol=1e-10)
    assert outs["exact"]["length_penalty"] == 0.3
    assert outs["closed-form"]["distinct_inputs"] is None
    rc, o, _ = _cli(capsys, *args, "--method", "sgd", "--batch-size", "32")
    assert rc == 0 and json.loads(o)["distinct_inputs"] == 16


def test_star_exact_method_equals_the_map(capsys):
    rc, o, _ = _cli(capsys, "star", "--d", "4", "--p-cot", "0.2", "--rounds", "2", "--samples", "10",
                    "--pretrain-steps", "0", "--method", "exact", "--json")
    assert rc == 0
    out = json.loads(o)
    np.testing.assert_allclose(out["pi_long"], out["p_exact_map"], atol=1e-9)
    assert out["variant"] == "refit (population)"


def test_unconverged_start_is_flagged(capsys):
    # lam = 1e-6 needs 1e7 steps per head; 100000 are far too few: the start is pi_long ~ 0
    rc, o, err = _cli(capsys, "star", "--d", "5", "--p-cot", "0.1", "--rounds", "1", "--samples", "10",
                      "--method", "closed-form", "--lam", "1e-6", "--json")
    out = json.loads(o)
    assert rc == 0 and out["converged"] is False and set(out["unconverged_heads"]) == {"head1", "stop", "chain"}
    assert "not converged" in err
    # default lam_chain = 0.01/d = 0.002 needs 5000 chain steps: 20000 samples give p T = 6000
    rc, o, err = _cli(capsys, "pretrain", "--d", "5", "--p-cot", "0.3", "--method", "closed-form",
                      "--steps", "20000", "--json")
    assert json.loads(o)["converged"] is True and err == ""


def test_pretrain_noise_cli(capsys):
    rc, o, _ = _cli(capsys, "pretrain", "--d", "5", "--p-cot", "0.4", "--method", "exact", "--noise", "0.3",
                    "--noise-kind", "carried", "--json")
    out = json.loads(o)
    assert rc == 0 and out["noise"] == 0.3 and out["off_subspace_norm"] < 1e-10
    th = cf.noisy_ntp_optimum(5, 0.4, (0.01, 0.01, 0.01 / 5), 0.3, "carried")  # the CLI default lambdas
    assert abs(out["pi_long"] - cf.trajectory_probs(th, 5).pi_long) < 1e-10


@pytest.mark.parametrize("argv,name", [
    (["pretrain", "--d", "4", "--p-cot", "0.2", "--noise-kind", "middle"], "--noise-kind"),
    (["pretrain", "--d", "4", "--p-cot", "0.2", "--noise", "1.5"], "noise"),
    (["pg", "--d", "4", "--p-cot", "0.2", "--steps", "1", "--length-penalty", "-1"], "--length-penalty"),
    (["pg", "--d", "4", "--p-cot", "0.2", "--steps", "1", "--method", "exact", "--algo", "grpo"], "algo"),
    (["star", "--d", "4", "--p-cot", "0.2", "--rounds", "1", "--samples", "5", "--method", "x"], "method"),
])
def test_bad_new_options_one_line_exit_2(capsys, argv, name):
    rc, _, err = _cli(capsys, *argv)
    assert rc == 2 and name in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("noise", [0.0, 0.2])
def test_noisy_start_draws_the_mixture_stream_at_every_noise_rate(noise):
    """F9's Algorithm 3 points: replicate r is fit_samples on T samples of Mixture(d, p, noise) drawn
    from child r of rng, at noise 0 too (the clean pretrain's stream would give other numbers)."""
    from linparity._checks import spawn
    from linparity.data import Mixture
    from linparity.experiments.extensions import noisy_initial_models
    d, p, T, lams = 5, 0.4, 3000, (0.01, 0.01, 0.002)
    W, theta = noisy_initial_models(d, p, noise, "final", T, lams, replicates=2, rng=7)
    mix = Mixture(d, p, noise, "final")
    ref = [sim.fit_samples(*mix.sample(T, g), lams) for g in spawn(7, 2)]
    for m, r in zip(W.models(), ref):
        np.testing.assert_array_equal(m.to_vector(), r.to_vector())
