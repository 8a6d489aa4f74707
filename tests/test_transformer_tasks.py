"""The multiplication task (linparity.transformer.tasks) and its plugging into the transformer route.

References: the arithmetic of each demonstration is re-derived here with Python integers from the
documented format (partial product P_j = a * b_{j-1}, running sum S_j = S_{j-1} + 10^{j-1} P_j,
least-significant digit first), independently of the task's numpy construction.
"""
import json

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from linparity.transformer.limits import estimate_work
from linparity.transformer.tasks import MAX_DIGITS, Multiplication, Parity, make_task

torch = pytest.importorskip("torch", reason="the transformer route needs torch (pip install -e .[transformer])")


def _number(tokens) -> int:
    """The integer written least-significant digit first by ``tokens`` (each 0..9)."""
    assert all(0 <= t <= 9 for t in tokens), tokens
    return sum(int(t) * 10 ** i for i, t in enumerate(tokens))


def _parse_long(y, n):
    """[(P_j, S_j)] of a long response ``y`` (token ids), checking separators and the final EOS."""
    steps, pos = [], 0
    for j in range(1, n + 1):
        p = _number(y[pos:pos + n + 1])
        s = _number(y[pos + n + 1:pos + 3 * n + 1])
        steps.append((p, s))
        pos += 3 * n + 1
        if j < n:
            assert y[pos] == Multiplication.STEP
            pos += 1
    assert y[pos] == Multiplication.EOS and pos + 1 == len(y)
    return steps


def _operands(n):
    return st.tuples(st.integers(10 ** (n - 1), 10 ** n - 1), st.integers(10 ** (n - 1), 10 ** n - 1))


@settings(max_examples=60, deadline=None)
@given(st.integers(1, MAX_DIGITS).flatmap(lambda n: st.tuples(st.just(n), _operands(n))))
def test_long_demonstration_is_right_step_by_step(case):
    n, (a, b) = case
    t = Multiplication(n)
    X = np.array([[a, b]])
    y = t.long_response(X)[0]
    assert len(y) == t.response_len == 3 * n * n + 2 * n
    running = 0
    for j, (p, s) in enumerate(_parse_long(list(y), n), start=1):
        bj = (b // 10 ** (j - 1)) % 10
        assert p == a * bj                      # the partial product of step j
        running += 10 ** (j - 1) * p
        assert s == running                     # the running sum after step j
    assert running == a * b                     # ends in the product
    short = t.short_response(X)[0]
    assert _number(short[:2 * n]) == a * b and short[2 * n] == t.EOS and np.all(short[2 * n:] == t.EOS)
    assert t.reward_cot(X, y[None])[0] == t.reward_e2e(X, y[None])[0] == 1.0
    assert t.reward_cot(X, short[None])[0] == t.reward_e2e(X, short[None])[0] == 1.0


@settings(max_examples=40, deadline=None)
@given(st.integers(1, MAX_DIGITS).flatmap(lambda n: st.tuples(st.just(n), _operands(n))))
def test_tokenisation_round_trips(case):
    n, (a, b) = case
    t = Multiplication(n, 0.5)
    X = np.array([[a, b]])
    ids = t.prompt_ids(X)[0]
    assert len(ids) == t.prompt_len == 2 * n + 2
    assert _number(ids[:n]) == a and ids[n] == t.TIMES and _number(ids[n + 1:2 * n + 1]) == b
    assert ids[-1] == t.EQUALS
    for Y in (t.long_response(X), t.short_response(X)):
        assert np.array_equal(t.responses(t.response_ids(Y)), Y)
    assert t.n_out == t.EOS + 1 and t.n_in == t.EQUALS + 1   # response ids are fed back unchanged


def test_lengths_long_and_garbage_after_eos():
    t = Multiplication(2)
    X = np.array([[12, 34], [99, 99]])
    L, S = t.long_response(X), t.short_response(X)
    assert list(t.length(L)) == [16, 16] and list(t.length(S)) == [5, 5]
    assert list(t.is_long(L)) == [True, True] and list(t.is_long(S)) == [False, False]
    g = S.copy()
    g[:, 6] = 3                      # a token after EOS: generated garbage, not part of the response
    assert np.array_equal(t.responses(g), S)
    no_eos = np.zeros((1, t.response_len), dtype=np.int64)
    assert t.length(no_eos)[0] == t.response_len and t.reward_e2e(X[:1], no_eos)[0] == 0.0


def test_rewards_tell_a_wrong_step_from_a_wrong_answer():
    t = Multiplication(3)
    X = np.array([[123, 456]])
    y = t.long_response(X).copy()
    y[0, 1] = (y[0, 1] + 1) % 10     # a wrong digit in the first partial product, right final answer
    assert t.reward_cot(X, y)[0] == 0.0 and t.reward_e2e(X, y)[0] == 1.0
    s = t.short_response(X).copy()
    s[0, 0] = (s[0, 0] + 1) % 10     # a wrong digit of the product
    assert t.reward_cot(X, s)[0] == 0.0 and t.reward_e2e(X, s)[0] == 0.0
    early = np.full_like(s, t.EOS)    # EOS before 2n digits: no answer
    assert t.reward_e2e(X, early)[0] == 0.0
    with pytest.raises(ValueError, match="reward"):
        t.reward("x")


def test_mixture_draws_long_with_probability_p():
    p, n = 0.3, 4000
    X, Y = Multiplication(2, p).sample(n, np.random.default_rng(5))
    assert np.all((X >= 10) & (X <= 99))
    frac = Multiplication(2).is_long(Y).mean()
    se = np.sqrt(p * (1 - p) / n)    # binomial standard error
    assert abs(frac - p) <= 4 * se
    assert np.all(Multiplication(2).reward_cot(X, Y) == 1.0)


@pytest.mark.parametrize("kw, match", [(dict(digits=0), "digits"), (dict(digits=MAX_DIGITS + 1), "digits"),
                                       (dict(digits=2, p_cot=1.5), "p_cot")])
def test_multiplication_refuses_bad_values(kw, match):
    with pytest.raises(ValueError, match=match):
        Multiplication(**kw)


def test_make_task_and_parity_delegate():
    assert make_task("parity", 5) == Parity(5) and make_task("multiplication", 2, 0.1) == Multiplication(2, 0.1)
    with pytest.raises(ValueError, match="task"):
        make_task("addition", 2)
    with pytest.raises(ValueError, match="chain"):
        make_task("multiplication", 2, chain="leap2")


def test_work_estimate_grows_with_the_chain_length():
    # the context of n-digit multiplication holds 3n^2+4n+1 tokens: 7 digits cost far more than 2
    s2 = estimate_work("pretrain", task="multiplication", digits=2, steps=100, batch_size=64)[1]
    s7 = estimate_work("pretrain", task="multiplication", digits=7, steps=100, batch_size=64)[1]
    assert s7 > 10 * s2


# ------------------------------------------------------------------------ the model and the loops
@pytest.fixture
def tiny():
    from linparity.transformer.model import TransformerConfig, build_model
    return build_model(TransformerConfig(d=2, depth=1, width=16, heads=2, task="multiplication"), rng=0)


def test_decoders_agree_and_log_probs_match(tiny):
    from linparity.transformer.model import generate, generate_uncached, sequence_log_prob
    X = Multiplication(2).inputs(12, 1)
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    Y, lp = generate(tiny, X, generator=g1, return_log_prob=True)
    assert np.array_equal(Y, generate_uncached(tiny, X, generator=g2))
    assert Y.shape == (12, Multiplication(2).response_len)
    np.testing.assert_allclose(lp, sequence_log_prob(tiny, X, Y).double().detach().numpy(), atol=1e-4)


def test_loops_take_the_multiplication_task(tiny):
    from linparity.transformer.train import grpo, pretrain, reinforce, star
    log = pretrain(tiny, 0.5, steps=2, batch_size=8, n_eval=8, rng=1)
    assert log["pi_long"] == [None] * 3 and 0 <= log["long_fraction"][-1] <= 1
    for fn, kw in ((star, dict(rounds=1, samples=8)), (grpo, dict(steps=1, batch_size=2, group=4)),
                   (reinforce, dict(steps=1, batch_size=4))):
        out = fn(tiny, n_eval=8, rng=2, reward="e2e", **kw)
        assert len(out["greedy_accuracy"]) == 2


def test_cli_every_command_takes_the_task(tmp_path, capsys):
    from linparity.cli import main
    tiny_args = ["--depth", "1", "--width", "16", "--heads", "2", "--n-eval", "8", "--quiet", "--json"]
    ck = tmp_path / "ck"
    assert main(["transformer", "pretrain", "--task", "multiplication", "--digits", "2", "--steps", "2",
                 "--batch-size", "8", "--checkpoint-dir", str(ck), *tiny_args]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["task"], out["digits"], "d" in out) == ("multiplication", 2, False)
    for cmd, extra in (("star", ["--rounds", "1", "--samples", "8"]), ("grpo", ["--steps", "1", "--batch-size", "2"]),
                       ("reinforce", ["--steps", "1", "--batch-size", "4"])):
        assert main(["transformer", cmd, "--checkpoint", str(ck / "final.pt"), "--n-eval", "8", "--quiet",
                     "--json", *extra]) == 0
        out = json.loads(capsys.readouterr().out)
        assert (out["task"], out["digits"]) == ("multiplication", 2)
    assert main(["transformer", "star", "--checkpoint", str(ck / "final.pt"), "--task", "parity"]) == 2
    assert "--task: 'parity' conflicts with --checkpoint" in capsys.readouterr().err


def test_cli_refuses_multiplication_work_by_digits(monkeypatch, capsys):
    from linparity.cli import main
    monkeypatch.setenv("LINPARITY_MAX_SECONDS", "2")
    # 9 digits: a 288-token context; lowering --digits to 1 shrinks the estimate the most
    assert main(["transformer", "pretrain", "--task", "multiplication", "--digits", "9", "--steps", "50"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "--digits" in err[0]


def test_a_manifest_from_before_the_task_options_is_a_parity_run(tmp_path):
    from linparity.transformer.experiment import prepare
    folder = tmp_path / "ck"
    o = prepare("pretrain", checkpoint_dir=str(folder), steps=1)
    opts = {k: v for k, v in o["manifest"]["options"].items() if k not in ("task", "digits")}
    (folder / "pretrain.run.json").write_text(json.dumps({"command": "pretrain", "options": opts}))
    prepare("pretrain", checkpoint_dir=str(folder), steps=1)   # the same run: accepted
    with pytest.raises(ValueError, match="--task"):
        prepare("pretrain", checkpoint_dir=str(folder), steps=1, task="multiplication", option=lambda n: "--" + n)
