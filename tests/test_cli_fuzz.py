"""Hypothesis fuzz of the CLI: every numeric option, values from its declared range plus hostile ones.

The promise (README "Conventions"): the CLI exits 0 with finite JSON, or 2 with exactly one line on
stderr naming the option; never a traceback. Work is bounded by the size estimator
(``linparity.cli.work.check_work``): the test lowers the time limit to 2 estimated seconds with
``LINPARITY_MAX_SECONDS``, so a value that is in range but large (``--steps 10**12``) must be refused
by name instead of run. Runs in-process (``cli.main`` with capsys); two subprocess cases check the
no-traceback guarantee end to end.
"""
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linparity import cli
from linparity._validate import RANGES

from _fuzz import HOSTILE, null_keys, value_in

ROOT = Path(__file__).resolve().parents[1]

#: small, fast base commands (each well under a second of work)
BASES = {
    "pretrain-sgd": ["pretrain", "--d", "4", "--p-cot", "0.25", "--steps", "300"],
    "pretrain-cf": ["pretrain", "--d", "4", "--p-cot", "0.25", "--steps", "300", "--method", "closed-form"],
    "pretrain-exact": ["pretrain", "--d", "3", "--p-cot", "0.25", "--steps", "20", "--method", "exact"],
    "star-sgd": ["star", "--d", "3", "--p-cot", "0.2", "--rounds", "1", "--samples", "100",
                 "--pretrain-steps", "300"],
    "star-cf": ["star", "--d", "3", "--p-cot", "0.2", "--rounds", "1",
                "--pretrain-steps", "300", "--method", "closed-form"],
    "pg-reinforce": ["pg", "--d", "3", "--p-cot", "0.2", "--steps", "2", "--batch-size", "16",
                     "--pretrain-steps", "300"],
    "star-exact": ["star", "--d", "3", "--p-cot", "0.2", "--rounds", "1",
                   "--pretrain-steps", "300", "--method", "exact"],
    "pg-exact": ["pg", "--d", "3", "--p-cot", "0.2", "--steps", "2", "--pretrain-steps", "300", "--method", "exact"],
    "pg-grpo": ["pg", "--algo", "grpo", "--d", "3", "--p-cot", "0.2", "--steps", "2", "--batch-size", "8",
                "--group-size", "2", "--pretrain-steps", "300"],
}
COMMON = {"--d": "d", "--p-cot": "p_cot", "--lam": "lam", "--lam1": "lam", "--lam2a": "lam",
          "--lam-chain": "lam", "--replicates": "replicates", "--seed": "seed"}
#: option -> key of RANGES, per base command
OPTIONS = {
    "pretrain": {**COMMON, "--steps": "steps", "--T1": "T1", "--T2a": "T2a", "--T-chain": "T_chain",
                 "--delta": "delta", "--noise": "noise"},
    "star": {**COMMON, "--rounds": "rounds", "--samples": "samples", "--temperature": "temperature",
             "--pretrain-steps": "pretrain_steps", "--epochs": "epochs", "--lr": "lr", "--batch-size": "batch_size",
             "--noise": "noise"},
    "pg": {**COMMON, "--steps": "pg_steps", "--lr": "lr", "--batch-size": "batch_size",
           "--group-size": "group_size", "--temperature": "temperature", "--pretrain-steps": "pretrain_steps",
           "--length-penalty": "length_penalty", "--noise": "noise"},
}
#: keys whose value may be JSON null by documentation
NULLABLE = {"group_size", "rounds_to_generalize", "n_star", "pretrain_steps", "kept_fraction", "samples",
            "distinct_inputs", "distinct_inputs_expected", "distinct_inputs_pretrain_expected", "noise_kind",
            "length_penalty_threshold", "n_star_start", "n_star_start_replicates", "log_odds_gain_se"}


@st.composite
def cases(draw):
    base = draw(st.sampled_from(sorted(BASES)))
    cmd = BASES[base][0]
    opt = draw(st.sampled_from(sorted(OPTIONS[cmd])))
    val = draw(st.one_of(value_in(RANGES[OPTIONS[cmd][opt]]), st.sampled_from(HOSTILE)))
    return base, opt, val


def _run(argv, capsys):
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def check_case(argv, opt, capsys):
    code, out, err = _run(argv, capsys)
    assert "Traceback" not in err, err
    if code == 0:
        res = json.loads(out, parse_constant=lambda c: pytest.fail(f"non-finite {c} in {argv}"))
        bad = [k for k in null_keys(res) if k not in NULLABLE]
        assert not bad, (argv, bad)
        # stderr: nothing, the documented one-line convergence warning, or the note that a
        # population method ignores --samples
        assert all(ln.startswith(("warning: not converged", "note: --samples is ignored"))
                   for ln in err.splitlines()), (argv, err)
    else:
        assert code == 2, (argv, code, err)
        lines = err.strip("\n").split("\n")
        assert len(lines) == 1 and lines[0].startswith("error: "), (argv, err)
        # the option itself, or (a constraint between options) its name in words, e.g. "noise > 0"
        assert opt in lines[0] or opt.lstrip("-").replace("-", "_") in lines[0], (argv, err)
    return code


@pytest.fixture
def bounded(monkeypatch):
    """Anything estimated above 2 s (or 2 GiB) is refused: the fuzz never runs heavy work."""
    monkeypatch.setenv("LINPARITY_MAX_SECONDS", "2")
    monkeypatch.setenv("LINPARITY_MAX_BYTES", str(2 * 2 ** 30))


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(case=cases())
def test_cli_fuzz(case, capsys, bounded):
    base, opt, val = case
    argv = BASES[base] + [opt, val, "--json"]   # a later option overrides the base's value
    check_case(argv, opt, capsys)
    # memory bound: the whole test process stays far below the machine (ru_maxrss is KiB on Linux)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss < 3 * 2 ** 20


@pytest.mark.parametrize("argv, opt", [
    # the issue's table, one per class
    (["pretrain", "--d", "5", "--p-cot", "0.25", "--steps", "99999999999999999999999"], "--steps"),
    (["pretrain", "--d", "99999999999999999999999", "--p-cot", "0.25"], "--d"),
    (["star", "--d", "5", "--p-cot", "0.1", "--rounds", "1", "--samples", "10",
      "--replicates", "99999999999999999999999"], "--replicates"),
    (["pretrain", "--d", "5", "--p-cot", "0.25", "--T-chain", "99999999999999999999999"], "--T-chain"),
    (["pg", "--algo", "grpo", "--d", "5", "--p-cot", "0.1", "--steps", "1",
      "--group-size", "99999999999999999999999"], "--group-size"),
    (["pretrain", "--d", "100000", "--p-cot", "0.25"], "--d"),
    # a round streams its inputs (memory bounded), so a huge --samples is refused for time
    (["star", "--d", "8", "--p-cot", "0.1", "--rounds", "2", "--samples", "10000000000"], "--samples"),
    (["pg", "--d", "8", "--p-cot", "0.1", "--steps", "2", "--batch-size", "1000000000"], "--batch-size"),
    (["pretrain", "--d", "8", "--p-cot", "0.1", "--replicates", "1000000000"], "--replicates"),
    (["pg", "--algo", "grpo", "--d", "8", "--p-cot", "0.1", "--steps", "2", "--group-size", "1000000000"],
     "--group-size"),
    (["pretrain", "--d", "5", "--p-cot", "0.25", "--method", "closed-form", "--steps", str(10 ** 15)], "--steps"),
    (["pg", "--d", "8", "--p-cot", "0.1", "--steps", str(10 ** 15)], "--steps"),
    (["star", "--d", "8", "--p-cot", "0.1", "--rounds", str(10 ** 9), "--samples", "1000"], "--rounds"),
    (["pretrain", "--d", "8", "--p-cot", "0.1", "--method", "exact", "--steps", str(10 ** 15)], "--steps"),
    (["pg", "--d", "5", "--p-cot", "0.1", "--steps", "2", "--lam", "1e-320"], "--lam"),
    (["pretrain", "--d", "5", "--p-cot", "0.25", "--lam", "1e-320"], "--lam"),
    (["star", "--d", "5", "--p-cot", "0.1", "--rounds", "1", "--samples", "10", "--lam", "1e-320"], "--lam"),
    (["pretrain", "--d", "5", "--p-cot", "0.25", "--delta", "1e-320"], "--delta"),
    (["pretrain", "--d", "13", "--p-cot", "0.25", "--method", "exact"], "--d"),
    (["star", "--d", "2", "--p-cot", "0.25", "--rounds", "1", "--samples", "10"], "--d"),
])
def test_issue_cases_refused_by_name(argv, opt, capsys):
    """Each case of the issue's table: exit 2, one line naming the option (today: tracebacks,
    OverflowError, minutes of silence or > 8 GB). The estimator refuses before any work."""
    assert check_case(argv, opt, capsys) == 2


@pytest.mark.parametrize("argv", [
    ["pretrain", "--d", "5", "--p-cot", "0", "--method", "closed-form", "--steps", "50"],  # p = 0 is legal
    ["pretrain", "--d", "5", "--p-cot", "1e-12", "--steps", "300"],
    ["pretrain", "--d", "5", "--p-cot", "0.25", "--steps", "1"],
    ["pretrain", "--d", "5", "--p-cot", "0.25", "--steps", "300", "--T-chain", "0"],
    ["pretrain", "--d", "5", "--p-cot", "0.25", "--steps", "300", "--delta", "1e-100"],
    ["pretrain", "--d", "5", "--p-cot", "0.25", "--steps", "300", "--lam", "1e-12"],
    ["pg", "--d", "4", "--p-cot", "0.2", "--steps", "2", "--batch-size", "16", "--pretrain-steps", "300",
     "--lam", "1e-12"],
    ["star", "--d", "4", "--p-cot", "0.2", "--rounds", "1", "--samples", "100", "--pretrain-steps", "300",
     "--lam", "1e-12"],
])
def test_edges_give_finite_json(argv, capsys, bounded):
    """Documented edges run and print finite JSON; an infinite Prop bound says why (a string)."""
    code, out, err = _run(argv + ["--json"], capsys)
    assert code == 0 and all(ln.startswith("warning: not converged") for ln in err.splitlines()), err
    res = json.loads(out, parse_constant=lambda c: pytest.fail(f"non-finite {c}"))
    assert not [k for k in null_keys(res) if k not in NULLABLE]
    for name, row in res.get("bounds", {}).items():
        assert isinstance(row["bound"], (float, str)), (name, row)


def test_table_says_which_bounds_are_infinite(capsys):
    code, out, _ = _run(["pretrain", "--d", "4", "--p-cot", "0.25", "--steps", "300", "--T-chain", "0"], capsys)
    assert code == 0
    line = next(ln for ln in out.splitlines() if ln.startswith("exceedances"))
    assert "infinite" in line and "prop3_l2" in line


def _subprocess(args, **kw):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "linparity", *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=120, **kw)


def test_subprocess_huge_integer_no_traceback():
    r = _subprocess(["pretrain", "--d", "5", "--p-cot", "0.25", "--steps", "99999999999999999999999"])
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and "--steps" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.skipif(not os.path.exists("/dev/full"),
                    reason="this platform has no /dev/full, the device on which every write fails (Linux has it)")
def test_subprocess_dev_full_refused_before_computing():
    with open("/dev/full", "w") as full:
        r = subprocess.run([sys.executable, "-m", "linparity", "pretrain", "--d", "5", "--p-cot", "0.25"],
                           stdout=full, stderr=subprocess.PIPE, text=True, timeout=120,
                           env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "stdout" in r.stderr
