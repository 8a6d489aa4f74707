"""Hypothesis fuzz of ``python -m linparity transformer pretrain|star|grpo|reinforce``.

The promise of tests/test_cli_fuzz.py, for the transformer: every numeric option (taken from the
parser, so a new option is fuzzed too) with values from its documented range
(:data:`linparity.transformer.limits.RANGES`) plus hostile ones; the CLI exits 0 with finite JSON
(null only where documented) or 2 with exactly one line on stderr naming the option. Work is
bounded by the transformer's work estimate: the time limit is lowered to 2 estimated seconds, so a
value in range but large must be refused by name instead of run. The models are tiny (d = 4,
width 8, 2 heads, 1 block, a few steps).
"""
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch", reason="needs the transformer extra (torch): pip install -e '.[transformer]'")

from linparity import cli  # noqa: E402
from linparity.transformer.limits import RANGES  # noqa: E402

from _fuzz import HOSTILE, null_keys, value_in  # noqa: E402

TINY = ["--d", "4", "--width", "8", "--heads", "2", "--depth", "1", "--n-eval", "8", "--batch-size", "8",
        "--quiet", "--json"]
BASES = {
    "pretrain": ["transformer", "pretrain", *TINY, "--steps", "3"],
    "star": ["transformer", "star", *TINY, "--pretrain-steps", "2", "--rounds", "1", "--samples", "8"],
    "reinforce": ["transformer", "reinforce", *TINY, "--pretrain-steps", "2", "--steps", "2"],
    "grpo": ["transformer", "grpo", *TINY, "--pretrain-steps", "2", "--steps", "2", "--group", "2"],
}
#: result keys that may be null by documentation (a STaR round that kept nothing)
NULLABLE = {"loss", "kept_long_fraction"}


def _options(cmd: str) -> dict:
    """option string -> RANGES key of every numeric option of ``transformer cmd``, from the parser."""
    top = cli.build_parser()
    sub = next(a for a in top._actions if getattr(a, "choices", None))
    tsub = next(a for a in sub.choices["transformer"]._actions if getattr(a, "choices", None))
    return {a.option_strings[-1]: a.dest for a in tsub.choices[cmd]._actions if a.dest in RANGES}


OPTIONS = {cmd: _options(cmd) for cmd in BASES}


@st.composite
def cases(draw):
    cmd = draw(st.sampled_from(sorted(BASES)))
    opt = draw(st.sampled_from(sorted(OPTIONS[cmd])))
    val = draw(st.one_of(value_in(RANGES[OPTIONS[cmd][opt]]), st.sampled_from(HOSTILE)))
    return cmd, opt, val


@pytest.fixture
def bounded(monkeypatch):
    """Anything estimated above 2 s (or 2 GiB) is refused; torch's thread count is restored."""
    monkeypatch.setenv("LINPARITY_MAX_SECONDS", "2")
    monkeypatch.setenv("LINPARITY_MAX_BYTES", str(2 * 2 ** 30))
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def check_case(argv, opt, capsys):
    code = cli.main(argv)
    out, err = capsys.readouterr()
    assert "Traceback" not in err, err
    if code == 0:
        res = json.loads(out, parse_constant=lambda c: pytest.fail(f"non-finite {c} in {argv}"))
        bad = [k for k in null_keys(res) if k not in NULLABLE]
        assert not bad, (argv, bad)
        assert err == "", (argv, err)
    else:
        lines = err.strip("\n").split("\n")
        assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), (argv, code, err)
        assert opt in lines[0], (argv, err)
    return code


def test_every_numeric_option_is_fuzzed():
    """The parser's numeric options are the table's (no option escapes its range)."""
    assert set(OPTIONS["grpo"].values()) >= {"d", "width", "heads", "depth", "steps", "batch_size", "lr",
                                             "eval_every", "n_eval", "threads", "seed", "pretrain_steps", "pretrain_lr", "temperature", "group", "p_cot"}
    assert {"warmup", "weight_decay", "checkpoint_every"} <= set(OPTIONS["pretrain"].values())
    assert {"rounds", "samples", "epochs"} <= set(OPTIONS["star"].values())


@settings(max_examples=20, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(case=cases())
def test_transformer_cli_fuzz(case, capsys, bounded):
    cmd, opt, val = case
    check_case(BASES[cmd] + [opt, val], opt, capsys)   # a later option overrides the base's value


@pytest.mark.parametrize("cmd", sorted(BASES))
def test_bases_run(cmd, capsys, bounded):
    """Each base command runs (so the fuzz's exit-0 branch is exercised)."""
    assert check_case(BASES[cmd], "", capsys) == 0
