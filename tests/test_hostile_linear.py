"""Hostile input to the linear commands, the figures, the studies, the proofs and the public API.

Each class of bad input is one table run through one harness: the API refuses with a ValueError
whose message starts with the argument's name; a command prints one line on stderr and exits with
status 2 (bad input, unusable stdout) or 130 (Ctrl-C), never a traceback.
"""
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import linparity.closed_form as cf
import linparity.exact as ex
import linparity.measures as ms
import linparity.simulate as sim
from linparity import LinearAR

from _helpers import assert_refused_naming

D = 4
M = LinearAR.zeros(D)
W = sim.BatchedAR.stack([M, M])
X = np.ones((3, D), dtype=np.int8)
TH = cf.ntp_optimum(D, 0.5, (0.01, 0.01, 0.01))
GENS = [np.random.default_rng(0), np.random.default_rng(1)]

#: bad call -> the argument its ValueError must name first
BAD_API = {
    # closed-form per-head losses and optima: points finite, probabilities and weights in [0, 1], lam >= 0
    "head1_loss a None": (lambda: cf.head1_loss(None, 0.5, 0.01), "a"),
    "head1_loss pi1 nan": (lambda: cf.head1_loss(0.1, np.nan, 0.01), "pi1"),
    "head1_grad lam1 negative": (lambda: cf.head1_grad(0.1, 0.5, -1.0), "lam1"),
    "head2a_loss q 2": (lambda: cf.head2a_loss(0.1, 0.1, 2.0, 0.5, 0.01), "q"),
    "head2a_grad r None": (lambda: cf.head2a_grad(0.1, 0.1, 0.5, None, 0.01), "r"),
    "chain_loss c object": (lambda: cf.chain_loss(object(), 0.01), "c"),
    "chain_grad lam nan": (lambda: cf.chain_grad(0.1, np.nan), "lam"),
    "head1_optimum pi1 inf": (lambda: cf.head1_optimum(np.inf, 0.01), "pi1"),
    "head1_optimum lam1 None": (lambda: cf.head1_optimum(0.5, None), "lam1"),
    "head2a_optimum q inf": (lambda: cf.head2a_optimum(np.inf, 0.5, 0.01), "q"),
    "stop_branch_root A 1e300": (lambda: cf.stop_branch_root(1e300, 0.5, 0.01), "A"),
    "stop_branch_root lam negative": (lambda: cf.stop_branch_root(0.5, 0.5, -1), "lam"),
    "chain_optimum lam negative": (lambda: cf.chain_optimum(-0.5), "lam"),
    "grpo_weight rho None": (lambda: cf.grpo_weight(None, 4), "rho"),
    "grpo_weight rho negative": (lambda: cf.grpo_weight(-0.5, 4), "rho"),
    "ideal_p n None": (lambda: cf.ideal_p(0.1, None), "n"),
    "ideal_p n negative": (lambda: cf.ideal_p(0.1, -1), "n"),
    "gradient_flow t empty": (lambda: cf.gradient_flow(D, 0.5, 0.01, []), "t"),
    "gradient_flow t inf": (lambda: cf.gradient_flow(D, 0.5, 0.01, [np.inf]), "t"),
    "length_penalty_threshold beta_max 0": (lambda: cf.length_penalty_threshold(TH, D, beta_max=0), "beta_max"),
    # simulate: models, configurations, generators and responses of the wrong type or shape
    "run_star W0 not a BatchedAR": (lambda: sim.run_star(M, sim.StarConfig(rounds=1, samples=4), 0), "W0"),
    "run_star cfg a PGConfig": (lambda: sim.run_star(W, sim.PGConfig(algo="grpo", steps=1), 0), "cfg"),
    "run_pg W0 None": (lambda: sim.run_pg(None, sim.PGConfig(algo="grpo", steps=1), 0), "W0"),
    "run_pg cfg a dict": (lambda: sim.run_pg(W, {"algo": "grpo"}, 0), "cfg"),
    "sample_responses W a LinearAR": (lambda: sim.sample_responses(M, X, GENS), "W"),
    "sample_responses gens None": (lambda: sim.sample_responses(W, X, None), "gens"),
    "sample_responses gens of ints": (lambda: sim.sample_responses(W, X, [0, 1]), "gens"),
    "log_prob Y None": (lambda: sim.log_prob(W, X, None), "Y"),
    "log_prob Y of 2s": (lambda: sim.log_prob(W, X, np.full((3, D + 1), 2)), "Y"),
    "log_prob Y of another n": (lambda: sim.log_prob(W, X, np.zeros((5, D + 1))), "Y"),
    "log_prob X not +-1": (lambda: sim.log_prob(W, np.zeros((3, D)), M.greedy(X)), "X"),
    "StarConfig variant an array": (lambda: sim.StarConfig(rounds=1, samples=4, variant=np.zeros(2)), "variant"),
    "PGConfig algo an array": (lambda: sim.PGConfig(algo=np.zeros(2), steps=1), "algo"),
    "PGConfig length_penalty None": (lambda: sim.PGConfig(algo="grpo", steps=1, length_penalty=None), "length_penalty"),
    "eval_inputs d None": (lambda: sim.eval_inputs(None, 16, np.random.default_rng(0)), "d"),
    # exact: rates, reward names, enumeration sizes
    "pg_ascent lr negative": (lambda: ex.pg_ascent(M, -1.0, 2), "lr"),
    "pg_ascent lr None": (lambda: ex.pg_ascent(M, None, 2), "lr"),
    "expected_reward reward a list": (lambda: ex.expected_reward(M, []), "reward"),
    "all_responses d None": (lambda: ex.all_responses(None), "d"),
    "all_responses d 2^70": (lambda: ex.all_responses(2 ** 70), "d"),
    "all_responses d 60": (lambda: ex.all_responses(60), "d"),
    # measures and the model's constructors
    "first_at_least level nan": (lambda: ms.first_at_least([0.5, 1.0], np.nan), "level"),
    "first_at_least values nan": (lambda: ms.first_at_least([np.nan, 1.0]), "values"),
    "first_at_least values 2-d": (lambda: ms.first_at_least(np.ones((2, 2))), "values"),
    "evaluate_models models None": (lambda: ms.evaluate_models(None, 0.5), "models"),
    "evaluate_models one model": (lambda: ms.evaluate_models(M, 0.5), "models"),
    "inputs_for d None": (lambda: ms.inputs_for(None), "d"),
    "from_theta object": (lambda: LinearAR.from_theta(object()), "theta"),
    "from_vector nan": (lambda: LinearAR.from_vector(D, np.full(LinearAR.n_params(D), np.nan)), "theta"),
}


@pytest.mark.parametrize("case", list(BAD_API))
def test_bad_api_call_is_a_value_error_naming_its_argument(case):
    assert_refused_naming(*BAD_API[case])


#: a step count refused by the library routes a command calls -> (sub-command, its option): the
#: library names the argument as the CLI does, so the CLI's error line names the option with no
#: translation table
STEP_COUNTS = {
    "simulate.pretrain steps 0": (lambda: sim.pretrain(D, 0.25, 0), "pretrain", "--steps"),
    "pretrain_checkpoint steps -1": (lambda: cf.pretrain_checkpoint(D, 0.25, 0.01, -1), "pretrain", "--steps"),
    "discrete_dynamics steps -1": (lambda: cf.discrete_dynamics(D, 0.25, 0.01, -1), "pretrain", "--steps"),
    "train_exact steps 1.5": (lambda: ex.train_exact(M, 0.25, 0.01, 1.5), "pretrain", "--steps"),
    "closed-form star_map rounds -1": (lambda: cf.star_map(TH, D, 0.01, -1), "star", "--rounds"),
    "exact star_map rounds -1": (lambda: ex.star_map(M, 0.25, 0.01, -1), "star", "--rounds"),
    "StarConfig samples 0": (lambda: sim.StarConfig(rounds=1, samples=0), "star", "--samples"),
    "pg_discrete steps -1": (lambda: cf.pg_discrete(TH, D, 0.1, -1), "pg", "--steps"),
}


@pytest.mark.parametrize("case", list(STEP_COUNTS))
def test_library_step_counts_are_named_as_the_cli_options(case):
    from linparity.cli import _one_line
    from linparity.cli.parse import build_parser, option_names
    call, command, option = STEP_COUNTS[case]
    with pytest.raises(ValueError) as e:
        call()
    assert _one_line(e.value, option_names(build_parser(), [command])).startswith(f"{option}: "), str(e.value)


def test_checked_functions_still_compute():
    """The checks refuse only bad input: the boundary values still give finite results."""
    assert np.isfinite(cf.head1_loss(np.array([0.0, 1.0]), 1.0, 0.0)).all()
    assert cf.stop_branch_root(0.0, 0.0, 0.01) == 0.0 and cf.chain_optimum(0.0) == np.inf
    np.testing.assert_allclose(cf.ideal_p(0.2, [0, 1, 2]), cf.ideal_recursion(0.2, 2), rtol=1e-14)
    assert cf.ideal_p(0.1, 1e6) == 1.0 and cf.ideal_p(0.0, 5) == 0.0
    assert np.isfinite(cf.grpo_weight(np.array([0.0, 0.5, 1.0]), 4)).all()
    assert ms.first_at_least([0.5, 0.995]) == 1 and ms.first_at_least([]) is None
    assert sim.log_prob(W, X, M.greedy(X)).shape == (2, 3)
    assert ex.all_responses(3).shape == (10, 4)


ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([os.getcwd(), os.environ.get("PYTHONPATH", "")])}


def _cli(module, *args, stdout=subprocess.PIPE):
    return subprocess.run([sys.executable, "-m", module, *args], stdout=stdout, stderr=subprocess.PIPE, text=True,
                          timeout=120, env=ENV)


#: (module, argv, the option the one line must start with)
BAD_CLI = {
    "argparse type error names the option": ("linparity", ["pretrain", "--d", "abc", "--p-cot", "0.5"], "--d"),
    "argparse choice error names the option": ("linparity", ["star", "--d", "4", "--p-cot", "0.5", "--rounds", "1",
                                                             "--method", "foo"], "--method"),
    "per-head limit with noise names it": ("linparity", ["pretrain", "--d", "4", "--p-cot", "0.5", "--steps", "10",
                                                         "--noise", "0.1", "--T-chain", "3"], "--T-chain"),
    "figures --jobs not an int": ("linparity.figures", ["--jobs", "x"], "--jobs"),
    "figures --scale unknown": ("linparity.figures", ["--scale", "huge"], "--scale"),
    "studies --only unknown": ("linparity.studies", ["--only", "x"], "--only"),
    "proofs --only unknown row": ("proofs", ["--only", "9z"], "--only"),
    "proofs --only only commas": ("proofs", ["--only", ",,"], "--only"),
    "figures --out a dangling link": ("linparity.figures", ["--only", "F1", "--out", "{dangling}"], "--out"),
}


MAINS = {"linparity": "linparity.cli", "linparity.figures": "linparity.figures.cli",
         "linparity.studies": "linparity.studies.__main__", "proofs": "proofs.__main__"}


@pytest.mark.parametrize("case", list(BAD_CLI))
def test_bad_cli_input_is_one_line_naming_the_option(case, tmp_path, capsys):
    """In process (each refusal comes before any work): the command's main with argv."""
    import importlib
    module, argv, option = BAD_CLI[case]
    os.symlink(tmp_path / "missing", tmp_path / "dangling")
    main = importlib.import_module(MAINS[module]).main
    try:
        code = main([a.replace("{dangling}", str(tmp_path / "dangling")) for a in argv])
    except SystemExit as e:   # the studies' parser exits itself
        code = e.code
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert code == 2 and out == "" and len(lines) == 1 and lines[0].startswith(f"error: {option}: "), err


#: commands whose stdout may be unusable: it is refused before any work (the proofs take seconds)
OUTPUTS = {"studies": ("linparity.studies", ["--only", "d2"]), "proofs": ("proofs", ["--only", "1a"])}


@pytest.mark.parametrize("target", ["/dev/full", "closed"])
@pytest.mark.parametrize("case", [pytest.param(c, marks=pytest.mark.slow) if c != "studies" else c for c in OUTPUTS])
def test_unusable_stdout_is_one_line_exit_2(case, target):
    if target == "/dev/full" and not os.path.exists("/dev/full"):
        pytest.skip("this platform has no /dev/full, the device on which every write fails (Linux has it)")
    module, argv = OUTPUTS[case]
    if target == "closed":
        r = subprocess.run(f"{sys.executable} -m {module} {' '.join(argv)} >&-", shell=True, stderr=subprocess.PIPE,
                           text=True, timeout=120, env=ENV)
    else:
        with open(target, "w") as f:
            r = _cli(module, *argv, stdout=f)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: stdout: "), r.stderr


@pytest.mark.slow
@pytest.mark.parametrize("cmd", [["linparity.studies"], ["proofs"],
                                 ["linparity", "star", "--d", "8", "--p-cot", "0.5", "--rounds", "1000",
                                  "--samples", "100000", "--pretrain-steps", "1000"]])
def test_sigint_is_one_line_exit_130(cmd):
    p = subprocess.Popen([sys.executable, "-m", *cmd], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=ENV, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    time.sleep(4)   # past the imports, inside the work
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 130 and err.strip().splitlines() == ["error: interrupted"], err
