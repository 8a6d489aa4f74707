"""The work estimate (``linparity.cli.work.estimate_work``) against measured runs, method by method.

For every route of ``pretrain``, ``star`` and ``pg`` at two sizes, the command runs in a child
process and its peak memory (``ru_maxrss``) and CPU time are compared with the estimate's work
part (the estimate minus its fixed interpreter-and-imports term): within a factor of 3.

How it is measured: one harness process (this file run as a script) imports the CLI, runs every
case once at its small size in-process (numba kernels compiled or loaded from their cache), then
forks one child per command and reads that child's own rusage with ``os.wait4``: peak RSS and CPU
time of that command alone. A forked child's peak RSS starts at the harness's current RSS, so the
baseline is a child that runs a trivial command; its peak is subtracted. The children run with
one BLAS thread: a threaded BLAS spinning on the small GEMMs of the blocked kernel costs CPU time
that depends on the machine's load, not on the work.

Memory (quick): sizes of a few seconds in all. Time (``slow``): sizes where the work dominates.
Below MEM_FLOOR the peaks are RSS noise, so both sides are raised to it before comparing: the
closed-form methods hold O(d) numbers and must estimate (close to) nothing.
"""
import json
import os
import subprocess
import sys

import pytest

from linparity.cli.work import BASE_BYTES, BASE_SEC, estimate_work

FACTOR = 3.0
MEM_FLOOR = 16 * 2 ** 20
TRIVIAL = ["pretrain", "--d", "3", "--p-cot", "0.5", "--steps", "1", "--method", "closed-form"]


def _run_all(argvs: list[list[str]]) -> list[dict]:
    """Peak RSS above the trivial command's and CPU seconds of each argv, from the harness below
    (warmed up by the small memory cases, which take every code path the others take)."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    warm = [pair[0] for pair in MEM_CASES.values()]
    out = subprocess.run([sys.executable, __file__], input=json.dumps({"warm": warm, "run": argvs}),
                         capture_output=True, text=True, env=env, timeout=1800)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout)


def _options(argv: list[str]) -> tuple[str, dict]:
    """The command and the options the CLI's ``dispatch.work`` passes to the estimate (``check_work``)."""
    from linparity.cli import build_parser, dispatch
    seen = {}

    def capture(command, force=False, **a):
        seen.update(command=command, a=a)
        return 0.0, 0.0
    real, dispatch.check_work = dispatch.check_work, capture
    try:
        dispatch.work(build_parser(with_transformer=False).parse_args(argv))
    finally:
        dispatch.check_work = real
    return seen["command"], seen["a"]


def _within(est: float, meas: float, floor: float = 0.0) -> bool:
    est, meas = max(est, floor), max(meas, floor)
    return meas / FACTOR <= est <= meas * FACTOR


def _case(cmd, **kw):
    argv = [cmd]
    for k, v in kw.items():
        argv += [f"--{k.replace('_', '-')}", str(v)]
    return argv


# route -> (small, large): the memory sizes (quick)
MEM_CASES = {
    "pretrain sgd": (_case("pretrain", d=16, p_cot=0.5, steps=20000),
                     _case("pretrain", d=64, p_cot=0.5, steps=20000, replicates=4)),
    "pretrain closed-form": (_case("pretrain", d=8, p_cot=0.5, steps=10 ** 5, method="closed-form"),
                             _case("pretrain", d=64, p_cot=0.5, steps=3 * 10 ** 6, method="closed-form")),
    "pretrain exact": (_case("pretrain", d=8, p_cot=0.5, steps=20, method="exact"),
                       _case("pretrain", d=12, p_cot=0.5, steps=4, method="exact")),
    "star continue": (_case("star", d=16, p_cot=0.5, rounds=1, samples=2000, pretrain_steps=2000),
                      _case("star", d=32, p_cot=0.5, rounds=2, samples=2 ** 16, pretrain_steps=10 ** 5, replicates=2)),
    "star refit": (_case("star", d=16, p_cot=0.5, rounds=1, samples=2000, pretrain_steps=2000, variant="refit"),
                   _case("star", d=32, p_cot=0.5, rounds=2, samples=2 ** 16, pretrain_steps=10 ** 5, replicates=2,
                         variant="refit")),
    "star closed-form": (_case("star", d=8, p_cot=0.5, rounds=3, samples=1, pretrain_steps=1000, method="closed-form"),
                         _case("star", d=64, p_cot=0.5, rounds=30, samples=10 ** 9, pretrain_steps=3 * 10 ** 6,
                               method="closed-form")),
    "star exact": (_case("star", d=6, p_cot=0.5, rounds=2, samples=1, pretrain_steps=10, method="exact"),
                   _case("star", d=11, p_cot=0.5, rounds=1, samples=1, pretrain_steps=2, method="exact")),
    "pg reinforce": (_case("pg", d=16, p_cot=0.5, steps=2, batch_size=256, pretrain_steps=2000),
                     _case("pg", d=32, p_cot=0.5, steps=2, batch_size=2 ** 16, pretrain_steps=2000, replicates=2)),
    "pg grpo": (_case("pg", d=16, p_cot=0.5, steps=2, batch_size=64, pretrain_steps=2000, algo="grpo"),
                _case("pg", d=32, p_cot=0.5, steps=2, batch_size=4096, pretrain_steps=2000, algo="grpo",
                      group_size=16)),
    "pg closed-form": (_case("pg", d=8, p_cot=0.5, steps=5, pretrain_steps=1000, method="closed-form"),
                       _case("pg", d=64, p_cot=0.5, steps=20, pretrain_steps=3 * 10 ** 6, method="closed-form",
                             batch_size=10 ** 9)),
    "pg exact": (_case("pg", d=6, p_cot=0.5, steps=3, pretrain_steps=10, method="exact"),
                 _case("pg", d=10, p_cot=0.5, steps=1, pretrain_steps=2, method="exact")),
}

# route -> (small, large): the time sizes (slow), each a few seconds of work or more
TIME_CASES = {
    "pretrain sgd": (_case("pretrain", d=32, p_cot=0.5, steps=10 ** 6),
                     _case("pretrain", d=128, p_cot=0.25, steps=3 * 10 ** 5, replicates=2)),
    "pretrain closed-form": (_case("pretrain", d=8, p_cot=0.5, steps=5 * 10 ** 7, method="closed-form"),
                             _case("pretrain", d=64, p_cot=0.5, steps=10 ** 8, method="closed-form")),
    "pretrain exact": (_case("pretrain", d=10, p_cot=0.5, steps=2000, method="exact"),
                       _case("pretrain", d=12, p_cot=0.5, steps=500, method="exact")),
    "star continue": (_case("star", d=32, p_cot=0.5, rounds=10, samples=2 ** 16, pretrain_steps=10 ** 5),
                      _case("star", d=64, p_cot=0.25, rounds=10, samples=65536, pretrain_steps=2 ** 20,
                            replicates=2)),
    "star refit": (_case("star", d=32, p_cot=0.5, rounds=10, samples=2 ** 16, pretrain_steps=10 ** 5,
                         variant="refit"),
                   _case("star", d=64, p_cot=0.25, rounds=10, samples=65536, pretrain_steps=2 ** 20, replicates=2,
                         variant="refit")),
    "star closed-form": (_case("star", d=8, p_cot=0.5, rounds=30, samples=1, pretrain_steps=5 * 10 ** 7,
                               method="closed-form"),
                         _case("star", d=64, p_cot=0.5, rounds=100, samples=1, pretrain_steps=10 ** 8,
                               method="closed-form")),
    "star exact": (_case("star", d=10, p_cot=0.5, rounds=40, samples=1, pretrain_steps=100, method="exact"),
                   _case("star", d=12, p_cot=0.5, rounds=2, samples=1, pretrain_steps=50, method="exact")),
    "pg reinforce": (_case("pg", d=32, p_cot=0.5, steps=200, batch_size=1024, pretrain_steps=10 ** 5),
                     _case("pg", d=64, p_cot=0.5, steps=50, batch_size=8192, pretrain_steps=10 ** 5, replicates=2)),
    "pg grpo": (_case("pg", d=32, p_cot=0.5, steps=100, batch_size=256, pretrain_steps=10 ** 5, algo="grpo"),
                _case("pg", d=64, p_cot=0.5, steps=50, batch_size=1024, pretrain_steps=10 ** 5, algo="grpo")),
    "pg closed-form": (_case("pg", d=8, p_cot=0.5, steps=2000, pretrain_steps=5 * 10 ** 7, method="closed-form"),
                       _case("pg", d=64, p_cot=0.5, steps=5000, pretrain_steps=10 ** 8, method="closed-form",
                             batch_size=10 ** 9)),
    "pg exact": (_case("pg", d=10, p_cot=0.5, steps=40, pretrain_steps=10, method="exact"),
                 _case("pg", d=12, p_cot=0.5, steps=3, pretrain_steps=10, method="exact")),
}


def _compare(cases: dict, what: str) -> list[str]:
    argvs = [argv for pair in cases.values() for argv in pair]
    measured = _run_all(argvs)
    bad = []
    for argv, m in zip(argvs, measured):
        command, options = _options(argv)
        mem, sec, _ = estimate_work(command, **options)
        est_mem, est_sec = mem - BASE_BYTES, sec - BASE_SEC
        ok = (_within(est_mem, m["bytes"], MEM_FLOOR) if what == "memory" else _within(est_sec, m["seconds"]))
        if not ok:
            bad.append(f"{' '.join(argv)}: estimated {est_mem / 2 ** 20:.1f} MiB, {est_sec:.2f} s; "
                       f"measured {m['bytes'] / 2 ** 20:.1f} MiB, {m['seconds']:.2f} s")
    return bad


def test_memory_estimate_within_factor_3_for_every_route():
    bad = _compare(MEM_CASES, "memory")
    assert not bad, "\n".join(bad)


@pytest.mark.slow
def test_time_estimate_within_factor_3_for_every_route():
    bad = _compare(TIME_CASES, "time")
    assert not bad, "\n".join(bad)


@pytest.mark.slow
def test_fixed_term_is_the_trivial_commands_cost():
    """The estimate's fixed term against a fresh interpreter running the trivial command."""
    import resource
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-m", "linparity", *TRIVIAL, "--json"], check=True, capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    assert _within(BASE_SEC, cpu)


# the runs that were refused although they fit (the closed-form routes counted samples and batches
# they never hold): argv -> none refused at a 2 GiB / 1 h limit
FITTING = [
    _case("pretrain", d=64, p_cot=0.5, steps=10 ** 8, method="closed-form"),
    _case("star", d=64, p_cot=0.5, rounds=30, samples=10 ** 9, pretrain_steps=10 ** 8, method="closed-form"),
    _case("pg", d=64, p_cot=0.5, steps=200, pretrain_steps=10 ** 8, method="closed-form", batch_size=10 ** 9),
    _case("star", d=64, p_cot=0.25, rounds=30, samples=65536, pretrain_steps=2 ** 20, replicates=2),
]
# work that does not fit, and the option its refusal must name
TOO_BIG = [
    (_case("pg", d=64, p_cot=0.5, steps=10 ** 12, method="closed-form", batch_size=10 ** 9), "--steps"),
    (_case("pretrain", d=64, p_cot=0.5, steps=10 ** 12, method="closed-form"), "--steps"),
    (_case("star", d=64, p_cot=0.5, rounds=10, samples=10 ** 9), "--samples"),
    (_case("pg", d=12, p_cot=0.5, steps=10 ** 6, pretrain_steps=10, method="exact"), "--steps"),
    (_case("pretrain", d=10 ** 5, p_cot=0.5, steps=10), "--d"),
]


@pytest.fixture
def limits(monkeypatch):
    monkeypatch.setenv("LINPARITY_MAX_BYTES", str(2 * 2 ** 30))
    monkeypatch.setenv("LINPARITY_MAX_SECONDS", "3600")


@pytest.mark.parametrize("argv", FITTING, ids=" ".join)
def test_work_that_fits_is_not_refused(argv, limits):
    from linparity.cli.work import check_work
    command, options = _options(argv)
    check_work(command, **options)


@pytest.mark.parametrize("argv,option", TOO_BIG, ids=lambda v: " ".join(v) if isinstance(v, list) else v)
def test_work_that_does_not_fit_is_refused_naming_its_option(argv, option, limits):
    from linparity.cli.work import check_work
    command, options = _options(argv)
    with pytest.raises(ValueError, match=f"^{option}: the requested work"):
        check_work(command, **options)


# ----------------------------------------------------------------------------- the harness (a script)
def _harness(warm: list[list[str]], run: list[list[str]]) -> list[dict]:
    import contextlib
    import io

    from linparity.cli import main

    def quiet(argv):
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            return main([*argv, "--json", "--force"])

    def child(argv) -> tuple[int, float]:
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                code = quiet(argv)
            finally:
                os._exit(code)
        _, status, ru = os.wait4(pid, 0)
        if status != 0:
            raise SystemExit(f"{' '.join(argv)} failed (status {status})")
        return ru.ru_maxrss * 1024, ru.ru_utime + ru.ru_stime

    for argv in [TRIVIAL, *warm]:          # in-process: numba kernels compiled or loaded from the cache
        if quiet(argv) != 0:
            raise SystemExit(f"{' '.join(argv)} failed")
    base, _ = child(TRIVIAL)
    out = []
    for argv in run:
        rss, cpu = child(argv)
        out.append({"bytes": max(rss - base, 0), "seconds": cpu})
    return out


if __name__ == "__main__":
    json.dump(_harness(**json.loads(sys.stdin.read())), sys.stdout)
