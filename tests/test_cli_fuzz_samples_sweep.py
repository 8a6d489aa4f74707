"""Hypothesis fuzz of the ``samples`` and ``sweep`` sub-commands: every option and spec field, values
from its declared range plus hostile ones.

The promise is the one tests/test_cli_fuzz.py checks for the linear commands: exit 0 with finite JSON
(null only where documented), or exit 2 with exactly one line on stderr naming the option (or the spec
field); never a traceback. Work is bounded by the estimates: ``LINPARITY_MAX_SECONDS`` = 2 and
``LINPARITY_MAX_BYTES`` = 2 GiB, so a value in range but large must be refused by name, not run.
The base commands are tiny (well under a second each).
"""
import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linparity import cli
from linparity._validate import RANGES
from linparity.sweep import MAX_TASKS

from _fuzz import HOSTILE, null_keys, value_in


#: samples: a search that succeeds or stops within a few milliseconds per budget
SAMPLES_BASE = ["samples", "--d", "3", "--p-cot", "0.6", "--replicates", "2", "--cap", "16"]
SAMPLES_OPTIONS = {"--d": "d", "--p-cot": "p_cot", "--replicates": "replicates", "--seed": "seed",
                   "--n-max": "n_max", "--b0": "b0", "--cap": "cap", "--grid": "budgets",
                   "--pretrain-samples": "pretrain_samples", "--round-samples": "round_samples", "--lam": "lam",
                   "--lam1": "lam", "--lam2a": "lam", "--lam-chain": "lam"}
#: keys whose value is null by documentation (samples_search: undefined where no replicate succeeded, the
#: sizes that are searched, B90 where the success curve cannot be fitted and the interval ends it does not bound)
SAMPLES_NULLABLE = {"budget", "total_samples_mean", "total_samples_se", "rounds_mean", "rounds_se", "totals", "head1",
                    "stop", "chain", "pretrain_samples", "round_samples", "long_pretrain_samples", "rounds_curve",
                    "b90", "b90_ci", "b90_slope", "b90_reason"}


@pytest.fixture
def bounded(monkeypatch):
    monkeypatch.setenv("LINPARITY_MAX_SECONDS", "2")
    monkeypatch.setenv("LINPARITY_MAX_BYTES", str(2 * 2 ** 30))


def check(argv, names, capsys, nullable=frozenset()):
    """One CLI run: exit 0 with finite JSON (null only under ``nullable`` keys), or exit 2 with one
    line naming one of ``names``."""
    code = cli.main(argv)
    out, err = capsys.readouterr()
    assert "Traceback" not in err, err
    if code == 0:
        res = json.loads(out, parse_constant=lambda c: pytest.fail(f"non-finite {c} in {argv}"))
        assert not [k for k in null_keys(res) if k not in nullable], (argv, res)
    else:
        lines = err.strip("\n").split("\n")
        assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), (argv, code, err)
        assert any(n in lines[0] for n in names), (argv, err)
    return code


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(opt=st.sampled_from(sorted(SAMPLES_OPTIONS)), data=st.data())
def test_samples_fuzz(opt, data, capsys, bounded):
    val = data.draw(st.one_of(value_in(RANGES[SAMPLES_OPTIONS[opt]]), st.sampled_from(HOSTILE)))
    base = SAMPLES_BASE[:-2] if opt == "--grid" else SAMPLES_BASE     # a grid with the base's --cap is refused
    argv = base + [opt, val, "--json"]          # a later option overrides the base's value
    # the option itself; b0 > cap names both (--b0 given too large, or --cap below the base's b0)
    check(argv, [opt], capsys, SAMPLES_NULLABLE | {"below"})


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(vals=st.lists(st.one_of(st.integers(1, 64).map(str), value_in(RANGES["budgets"]), st.sampled_from(HOSTILE)),
                     min_size=1, max_size=5),
       extra=st.sampled_from([[], ["--b0", "8"], ["--cap", "16"], ["--pretrain-samples", "8"],
                              ["--pretrain-samples", "8", "--round-samples", "8"]]))
def test_samples_grid_fuzz(vals, extra, capsys, bounded):
    """--grid with lists of in-range and hostile budgets (not increasing, empty entries), alone or with an
    option it cannot go with: the grid runs, or one line names --grid or the option it conflicts with."""
    check(SAMPLES_BASE[:-2] + ["--grid", ",".join(vals), *extra, "--json"], ["--grid", *extra[:1]], capsys,
          SAMPLES_NULLABLE | {"below"})


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(opt=st.sampled_from(["--route", "--variant"]),
       val=st.one_of(st.sampled_from(["full", "stats", "continue", "refit", "optimum", ""]), st.text(max_size=8)))
def test_samples_choices_fuzz(opt, val, capsys, bounded):
    check(SAMPLES_BASE + [opt, val, "--json"], [opt], capsys, SAMPLES_NULLABLE | {"below"})


#: sweep spec fields and their hostile JSON values (beside in-range ones)
FIELD_VALUES = {
    "replicates": st.one_of(st.integers(1, 3), st.integers(MAX_TASKS + 1, 2 ** 80), st.integers(-5, 0),
                            st.sampled_from([1.5, "2", None, float("nan"), [2], True])),
    "seed": st.one_of(st.integers(0, 2 ** 53), st.integers(-2 ** 70, -1), st.integers(2 ** 53 + 1, 2 ** 90),
                      st.sampled_from([0.5, "1", None, float("inf"), {}])),
    "grid": st.one_of(st.integers(1, 3).map(lambda n: {"n": [2 + i for i in range(n)]}),
                      st.integers(7, 30).map(lambda k: {f"k{i}": list(range(10)) for i in range(k)}),
                      st.sampled_from([{}, {"n": []}, {"n": 3}, [], "n", {"": [1]}])),
}


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(field=st.sampled_from(sorted(FIELD_VALUES)), data=st.data(),
       jobs=st.one_of(st.none(), value_in(RANGES["jobs"]), st.sampled_from(HOSTILE)),
       backend=st.one_of(st.none(), st.sampled_from(["joblib", "dask", "mpi", ""])))
def test_sweep_fuzz(field, data, jobs, backend, capsys, bounded):
    """A spec with one fuzzed field (tiny demo tasks otherwise), with or without --jobs/--backend: the
    sweep runs, or one line names the field or the option."""
    value = data.draw(FIELD_VALUES[field])
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "s.json"
        spec.write_text(json.dumps({"task": "demo", "grid": {"n": [2]}, "replicates": 1, "out": "o",
                                    field: value}))
        argv = ["sweep", str(spec), "--no-progress", "--json"]
        names = [field, "points"]     # an empty grid is named as 'grid' (the sweep has no points)
        if jobs is not None:
            argv += ["--jobs", jobs]
            names.append("--jobs")
        if backend is not None:
            argv += ["--backend", backend]
            names += ["--backend", "scheduler"]        # dask without a scheduler names --scheduler
        if check(argv, names, capsys) == 0:
            assert cli.main(["sweep", "--show", str(Path(tmp) / "o"), "--json"]) == 0
            assert json.loads(capsys.readouterr().out)["finished"] >= 1


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00/"), min_size=1,
                    max_size=12))
def test_sweep_show_fuzz(name, capsys):
    """--show on a folder that holds no sweep (absent, empty, or a file): one line naming --show."""
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / name
        if name not in (".", ".."):
            target.write_text("not a sweep") if len(name) % 2 else target.mkdir()
        check(["sweep", "--show", str(target)], ["--show"], capsys)
