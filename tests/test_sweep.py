"""Tests of the sweep engine linparity.sweep.

Reference values: seeds are checked against numpy's own ``SeedSequence(seed).spawn(n)[i]``;
stored results are checked against calling the task directly with that child's Generator;
parallel and Dask runs are checked bit-for-bit against the serial run. No statistics and no
wall-clock assertions.
"""
from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import linparity
import linparity.experiments  # noqa: F401 -- registers the tasks in the real TASKS (tests below patch a copy)
from linparity import sweep
from linparity.sweep import (TASKS, SweepSpec, load_results, load_spec, register_task,
                             run_sweep)

REPO_ROOT = Path(linparity.__file__).resolve().parents[1]


def _spec(tmp_path, name="out", **kw):
    fields = dict(task="demo", grid={"n": [2, 5], "mu": [0.0, -1.5, 3.0]}, replicates=3,
                  seed=2024, out=tmp_path / name)
    fields.update(kw)
    return SweepSpec(**fields)


def _task_files(out: Path) -> list[Path]:
    """Task files (npz and sidecars), without spec.json and the lock."""
    return sorted(p for p in out.iterdir() if p.name[:6].isdigit())


def _assert_bit_identical(a, b, keys=("x", "mean")):
    assert a.points == b.points
    for key in keys:
        for xa, xb in zip(a.to_arrays(key), b.to_arrays(key)):
            assert xa.dtype == xb.dtype and xa.shape == xb.shape
            assert xa.tobytes() == xb.tobytes()  # bit-identical, not merely close


# ----------------------------------------------------------------- ordering and seeds

def test_point_order_is_grid_product_then_explicit_points(tmp_path):
    spec = _spec(tmp_path, grid={"a": [1, 2], "b": ["x", "y", "z"]},
                 points=[{"a": 9, "b": "w"}], replicates=2)
    expected = [{"a": a, "b": b} for a in (1, 2) for b in "xyz"] + [{"a": 9, "b": "w"}]
    assert spec.point_list() == expected  # last grid key varies fastest, explicit points last
    assert spec.n_points == 7 and spec.n_tasks == 14
    tasks = spec.tasks()
    assert [t.index for t in tasks] == list(range(14))
    assert [(t.point_index, t.replicate) for t in tasks] == [(p, r) for p in range(7)
                                                             for r in range(2)]


def test_task_seed_is_the_spawned_child(tmp_path):
    """Task i uses exactly SeedSequence(seed).spawn(n_tasks)[i] (numpy's own spawn)."""
    spec = _spec(tmp_path)
    children = np.random.SeedSequence(spec.seed).spawn(spec.n_tasks)
    for task, child in zip(spec.tasks(), children):
        assert np.array_equal(task.seed_sequence().generate_state(8), child.generate_state(8))


def test_stored_results_equal_direct_calls(tmp_path):
    spec = _spec(tmp_path)
    res = run_sweep(spec, progress=False)
    assert len(res.computed) == spec.n_tasks
    for task in spec.tasks():
        rng = np.random.default_rng(np.random.SeedSequence(spec.seed).spawn(spec.n_tasks)[
            task.index])
        ref = TASKS["demo"](dict(task.params), rng)
        got = res.results[task.point_index][task.replicate]
        assert got["x"].tobytes() == ref["x"].tobytes()
        assert got["mean"] == ref["mean"] and got["mean"].shape == ()


def test_jobs_and_dask_give_bit_identical_results(tmp_path):
    """jobs=1 (in process), jobs=2 (joblib/loky) and Dask (local cluster) agree bit for bit."""
    distributed = pytest.importorskip("distributed", reason="the Dask comparison needs the extra: pip install -e .[cluster]")
    spec = _spec(tmp_path, "serial")
    serial = run_sweep(spec, jobs=1, progress=False)
    par = run_sweep(_spec(tmp_path, "jobs2"), jobs=2, progress=False)
    _assert_bit_identical(serial, par)
    assert len(par.computed) == spec.n_tasks
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        dask_res = run_sweep(_spec(tmp_path, "dask"), backend="dask",
                             scheduler=cluster.scheduler_address, progress=False)
    assert len(dask_res.computed) == spec.n_tasks
    _assert_bit_identical(serial, dask_res)
    # identical arrays on disk, byte for byte, whatever produced them
    for a, b in zip(_task_files(tmp_path / "serial"), _task_files(tmp_path / "dask")):
        if a.suffix == ".npz":
            assert a.name == b.name and a.read_bytes() == b.read_bytes()


@given(sizes=st.lists(st.integers(1, 4), min_size=1, max_size=3),
       n_explicit=st.integers(0, 3), replicates=st.integers(1, 4),
       seed=st.integers(0, 2**70))
def test_task_keys_unique_and_indexed(sizes, n_explicit, replicates, seed):
    grid = {f"k{j}": list(range(s)) for j, s in enumerate(sizes)}
    points = [{"explicit": j} for j in range(n_explicit)]
    spec = SweepSpec("demo", grid=grid, points=points, replicates=replicates, seed=seed,
                     out="unused")
    tasks = spec.tasks()
    assert len(tasks) == (int(np.prod(sizes)) + n_explicit) * replicates == spec.n_tasks
    assert len({t.key for t in tasks}) == len(tasks)
    for t in tasks:
        assert t.index == t.point_index * replicates + t.replicate
        assert t.key.startswith(f"{t.index:06d}-")


# ----------------------------------------------------------------- storage

def test_sidecar_records_provenance(tmp_path):
    spec = _spec(tmp_path, replicates=1)
    run_sweep(spec, progress=False)
    out = spec.out
    for task in spec.tasks():
        meta = json.loads((out / f"{task.key}.json").read_text())
        assert meta["params"] == task.params
        assert meta["seed"] == {"entropy": spec.seed, "spawn_key": [task.index]}
        assert meta["version"] == linparity.__version__
        rev = meta["git_revision"]
        assert rev is None or (len(rev) == 40 and int(rev, 16) >= 0)
        with np.load(out / f"{task.key}.npz", allow_pickle=False) as npz:
            assert sorted(npz.files) == ["mean", "x"]
            assert meta["arrays"]["x"] == {"shape": [task.params["n"]], "dtype": "<f8"}
    assert not list(out.glob(".tmp-*"))
    assert json.loads((out / "spec.json").read_text())["grid"] == spec.grid


def test_failed_write_leaves_no_file(tmp_path, monkeypatch):
    """A crash in the middle of writing an npz leaves neither the npz nor a temp file."""
    spec = _spec(tmp_path, grid={"n": [3]}, replicates=1)
    real = np.lib.format.write_array

    def half_write(fh, arr, **kw):
        fh.write(b"\x93NUMPY partial")
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(np.lib.format, "write_array", half_write)
    with pytest.raises(OSError, match="simulated"):
        run_sweep(spec, progress=False)
    assert _task_files(spec.out) == [] and not list(spec.out.glob(".tmp-*"))
    monkeypatch.setattr(np.lib.format, "write_array", real)
    res = run_sweep(spec, progress=False)
    assert len(res.computed) == 1


def test_resume_skips_finished_and_redoes_broken(tmp_path):
    spec = _spec(tmp_path)
    run_sweep(spec, progress=False)
    tasks = spec.tasks()
    out = spec.out
    stat = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in _task_files(out)}
    (out / f"{tasks[0].key}.json").unlink()  # npz without sidecar: unfinished
    (out / f"{tasks[1].key}.json").write_text('{"key": "trunc')  # truncated sidecar
    (out / f"{tasks[2].key}.npz").write_bytes(b"short")  # npz of the wrong size
    (out / ".tmp-leftover.npz.abc").write_bytes(b"junk")
    res = run_sweep(spec, progress=False)
    assert sorted(res.computed) == sorted(t.key for t in tasks[:3])
    assert not list(out.glob(".tmp-*"))
    for p in _task_files(out):
        if not p.name.startswith(tuple(t.key for t in tasks[:3])):
            assert (p.stat().st_ino, p.stat().st_mtime_ns) == stat[p.name]
    _assert_bit_identical(res, run_sweep(_spec(tmp_path, "fresh"), progress=False))


@pytest.mark.parametrize("change", [{"seed": 2}, {"replicates": 2}, {"grid": {"n": [2, 5], "mu": [0.0]}},
                                    {"grid": {"n": [2, 5], "mu": [0.0, -1.5, 3.0, 4.0]}}, {"task": "slow_neighbour"}])
def test_another_spec_into_a_folder_with_results_is_refused(tmp_path, change, monkeypatch):
    """A spec whose tasks do not cover the stored results would make them unreachable: refused naming
    the folder, before anything is written; the first sweep's results and spec stay readable."""
    monkeypatch.setattr(sweep.registry, "TASKS", dict(TASKS))
    register_task("slow_neighbour")(lambda params, rng: {"v": 1.0})
    first = run_sweep(_spec(tmp_path, seed=1), progress=False)
    before = {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir() if p.is_file() and p.name != ".lock"}
    with pytest.raises(ValueError, match=r"out: the folder .*out'.* another sweep spec"):
        run_sweep(_spec(tmp_path, **{"seed": 1, **change}), progress=False)
    assert {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir() if p.is_file() and p.name != ".lock"} == before
    _assert_bit_identical(first, load_results(tmp_path / "out"))


def test_same_spec_or_appended_points_resume(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.json").write_text("{}")          # not a result: does not block the folder
    first = run_sweep(_spec(tmp_path, seed=1), progress=False)
    assert run_sweep(_spec(tmp_path, seed=1), progress=False).computed == []
    more = run_sweep(_spec(tmp_path, seed=1, points=[{"n": 3, "mu": 9.0}]), progress=False)
    assert len(more.computed) == 3                            # only the appended point's replicates
    assert load_results(tmp_path / "out").spec.points == [{"n": 3, "mu": 9.0}]
    _assert_bit_identical(first, dataclasses.replace(more, points=more.points[:-1], results=more.results[:-1]))


SLOW_MODULE = '''
import os, time
import numpy as np
from linparity.sweep import register_task

@register_task("slow_test")
def slow_test(params, rng):
    """Logs each call; with SWEEP_TEST_HANG=1 it hangs from point 3 on."""
    with open(os.environ["SWEEP_TEST_LOG"], "a") as fh:
        fh.write(f"{params['i']}\\n")
    if os.environ.get("SWEEP_TEST_HANG") == "1" and params["i"] >= 3:
        time.sleep(120)
    return {"v": rng.standard_normal(3), "i": params["i"]}
'''


def test_resume_after_sigkill(tmp_path):
    """Kill a running sweep with SIGKILL, rerun it: finished points are not recomputed,
    broken ones are, and every result is complete and equals the direct computation."""
    (tmp_path / "slowtask_mod.py").write_text(SLOW_MODULE)
    spec_file = tmp_path / "slow.json"
    spec_file.write_text(json.dumps({"task": "slow_test", "grid": {"i": list(range(6))},
                                     "seed": 11, "out": "out", "imports": ["slowtask_mod"]}))
    out = tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO_ROOT), str(tmp_path)]))
    cmd = [sys.executable, "-c",
           "import sys; from linparity.sweep import run_sweep; "
           "run_sweep(sys.argv[1], progress=False)", str(spec_file)]

    proc = subprocess.Popen(cmd, env=dict(env, SWEEP_TEST_HANG="1",
                                          SWEEP_TEST_LOG=str(tmp_path / "log1")),
                            stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120  # a guard against a hang, not a timing assertion
        while len(list(out.glob("0*.json"))) < 3:
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "the sweep never stored 3 points"
            time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL

    partial = load_results(out, allow_missing=True)  # readable without the task registered
    assert [len(r) for r in partial.results] == [1, 1, 1, 0, 0, 0]
    assert len(partial.missing) == 3
    finished = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in _task_files(out)
                if p.name.startswith(tuple(m["key"] for [m] in partial.meta[:3]))}
    assert len(finished) == 6  # 3 npz + 3 sidecars
    # what a kill at a worse moment could leave: an npz without sidecar, a temp file
    (out / f"{partial.missing[0]}.npz").write_bytes(b"PK\x03\x04 torn")
    (out / f".tmp-{partial.missing[1]}.npz.deadbeef").write_bytes(b"torn")
    with pytest.raises(ValueError, match="not complete"):
        load_results(out)

    done = subprocess.run(cmd, env=dict(env, SWEEP_TEST_LOG=str(tmp_path / "log2")),
                          capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    recomputed = sorted(int(s) for s in (tmp_path / "log2").read_text().split())
    assert recomputed == [3, 4, 5]  # finished points 0-2 were not run again
    for name, st_ in finished.items():
        assert ((out / name).stat().st_ino, (out / name).stat().st_mtime_ns) == st_
    assert not list(out.glob(".tmp-*"))
    res = load_results(out)
    for j in range(6):
        child = np.random.SeedSequence(11).spawn(6)[j]
        assert res.results[j][0]["v"].tobytes() == \
            np.random.default_rng(child).standard_normal(3).tobytes()
        assert res.results[j][0]["i"] == j


# ----------------------------------------------------------------- results table

def test_result_table(tmp_path):
    spec = _spec(tmp_path, grid={"mu": [0.0, 1.0]}, points=[{"mu": 2.0, "n": 7}])
    res = run_sweep(spec, progress=False)
    assert len(res) == 3
    assert [a.shape for a in res.to_arrays("x")] == [(3, 4), (3, 4), (3, 7)]
    assert res.stack("mean").shape == (3, 3)
    assert res.column("mu").tolist() == [0.0, 1.0, 2.0]
    with pytest.raises(ValueError, match="key"):
        res.stack("x")  # ragged across points
    with pytest.raises(ValueError, match="key"):
        res.to_arrays("nope")
    again = load_results(spec.out)
    _assert_bit_identical(res, again)
    assert again.meta[2][1]["replicate"] == 1 and again.computed == []


def test_task_error_keeps_finished_results(tmp_path, monkeypatch):
    monkeypatch.setattr(sweep.registry, "TASKS", dict(TASKS))

    @register_task("fails_at_2")
    def fails(params, rng):
        if params["i"] == 2:
            raise RuntimeError("boom")
        return {"i": params["i"]}

    spec = SweepSpec("fails_at_2", grid={"i": [0, 1, 2, 3]}, out=tmp_path / "o")
    with pytest.raises(RuntimeError, match="boom") as info:
        run_sweep(spec, progress=False)
    assert "2 task(s) stored" in "".join(getattr(info.value, "__notes__", ["2 task(s) stored"]))
    assert len(load_results(spec.out, allow_missing=True).missing) == 2


def test_bad_task_output_raises(tmp_path, monkeypatch):
    monkeypatch.setattr(sweep.registry, "TASKS", dict(TASKS))
    register_task("objects")(lambda params, rng: {"a": np.array([{}, 1], dtype=object)})
    register_task("not_dict")(lambda params, rng: [1, 2])
    for name in ("objects", "not_dict"):
        with pytest.raises(ValueError, match="result"):
            run_sweep(SweepSpec(name, grid={"i": [0]}, out=tmp_path / name), progress=False)


def test_progress_bar(tmp_path, capsys):
    run_sweep(_spec(tmp_path, "a", replicates=1), progress=True)
    assert "sweep demo" in capsys.readouterr().err
    run_sweep(_spec(tmp_path, "b", replicates=1), progress=False)
    assert capsys.readouterr().err == ""


# ----------------------------------------------------------------- spec files and validation

def test_load_spec_json_and_toml(tmp_path):
    (tmp_path / "s.toml").write_text(textwrap.dedent("""
        task = "demo"
        replicates = 2
        seed = 5
        out = "runs/demo"
        [grid]
        n = [2, 3]
        mu = [0.5]
        [[points]]
        n = 4
        mu = -1.0
    """))
    toml_spec = load_spec(tmp_path / "s.toml")
    (tmp_path / "s.json").write_text(json.dumps({
        "task": "demo", "replicates": 2, "seed": 5, "out": "runs/demo",
        "grid": {"n": [2, 3], "mu": [0.5]}, "points": [{"n": 4, "mu": -1.0}]}))
    json_spec = load_spec(tmp_path / "s.json")
    assert toml_spec == json_spec
    assert toml_spec.out == tmp_path / "runs" / "demo"  # relative to the spec file
    assert [t.key for t in toml_spec.tasks()] == [t.key for t in json_spec.tasks()]
    (tmp_path / "noout.json").write_text('{"task": "demo", "grid": {"n": [1]}}')
    assert load_spec(tmp_path / "noout.json").out == tmp_path / "noout"
    res = run_sweep(tmp_path / "s.toml", progress=False)  # a path is accepted too
    assert res.stack("mean").shape == (3, 2)


def test_numpy_parameters_are_canonicalised(tmp_path):
    spec = _spec(tmp_path, grid={"n": np.arange(2, 4), "mu": (np.float64(0.25),)})
    assert spec.grid == {"n": [2, 3], "mu": [0.25]}
    assert type(spec.grid["n"][0]) is int


@pytest.mark.parametrize("kw, field", [
    ({"task": "no_such_task"}, "task"),
    ({"task": 3}, "task"),
    ({"grid": {}, "points": []}, "grid"),
    ({"grid": {"n": []}}, "grid"),
    ({"grid": {"n": 3}}, "grid"),
    ({"grid": [1, 2]}, "grid"),
    ({"grid": {"mu": [float("nan")]}}, "grid"),
    ({"points": [3]}, r"points\[0\]"),
    ({"grid": {"n": [2]}, "points": [{"n": 2}]}, "points"),
    ({"replicates": 0}, "replicates"),
    ({"replicates": 1.5}, "replicates"),
    ({"seed": -1}, "seed"),
    ({"out": ""}, "out"),
    ({"imports": ["no_such_module_xyz"]}, "imports"),
])
def test_spec_validation(tmp_path, kw, field):
    with pytest.raises(ValueError, match=field):
        _spec(tmp_path, **kw)


def test_run_and_file_validation(tmp_path):
    spec = _spec(tmp_path)
    with pytest.raises(ValueError, match="backend"):
        run_sweep(spec, backend="mpi")
    with pytest.raises(ValueError, match="jobs"):
        run_sweep(spec, jobs=0)
    with pytest.raises(ValueError, match="scheduler"):
        run_sweep(spec, backend="dask")
    with pytest.raises(ValueError, match="spec"):
        run_sweep(42)
    (tmp_path / "s.yaml").write_text("task: demo")
    with pytest.raises(ValueError, match="path"):
        load_spec(tmp_path / "s.yaml")
    (tmp_path / "bad.json").write_text('{"task": "demo", "grdi": {"n": [1]}}')
    with pytest.raises(ValueError, match="grdi"):
        load_spec(tmp_path / "bad.json")
    (tmp_path / "broken.toml").write_text("task = ")
    with pytest.raises(ValueError, match="path"):
        load_spec(tmp_path / "broken.toml")
    with pytest.raises(ValueError, match="out_dir"):
        load_results(tmp_path / "nothing_here")


def test_register_task_refuses_a_taken_name(monkeypatch):
    monkeypatch.setattr(sweep.registry, "TASKS", dict(TASKS))
    with pytest.raises(ValueError, match="already registered"):
        register_task("demo")(lambda params, rng: {})
    with pytest.raises(ValueError, match="name"):
        register_task("")


# ----------------------------------------------------------------- corruption
# Reference values: a clean run of the same spec in another folder (bit-identical numbers,
# since a task's seed depends only on its index); the stored sha256 is hashlib's own.

def _flip2(path: Path) -> None:
    """Flip two bytes in the middle of the file (inside the array data, same size)."""
    b = bytearray(path.read_bytes())
    for j in (len(b) // 2, len(b) // 2 + 7):
        b[j] ^= 0xFF
    path.write_bytes(bytes(b))


def _corrupt(out: Path, key: str, how: str) -> str:
    """Damage task ``key`` in ``out``; returns the suffix of the file the error must name."""
    npz, side = out / f"{key}.npz", out / f"{key}.json"
    if how == "flip2":
        _flip2(npz)
    elif how == "truncate":
        npz.write_bytes(npz.read_bytes()[:-40])
    elif how == "overwrite_same_size":  # e.g. junk written over it: today "pickled data"
        npz.write_bytes(bytes(range(256)) * (npz.stat().st_size // 256)
                        + b"\0" * (npz.stat().st_size % 256))
    elif how == "other_npz":  # a valid npz of another task with the same size
        other = sorted(p for p in out.glob("*.npz") if p != npz
                       and p.stat().st_size == npz.stat().st_size)[0]
        npz.write_bytes(other.read_bytes())
    elif how == "npz_deleted":
        npz.unlink()
    elif how == "sidecar_garbled":
        side.write_bytes(side.read_bytes()[:25] + b"\xff\xfe garbage")
    elif how == "sidecar_digit":  # still valid JSON: only the sidecar's own checksum sees it
        meta = json.loads(side.read_text())
        meta["elapsed_s"] = meta["elapsed_s"] + 1.0
        side.write_text(json.dumps(meta))
        return ".json"
    elif how == "sidecar_missing":
        side.unlink()
        return ".npz"
    else:
        raise AssertionError(how)
    return ".json" if how == "sidecar_garbled" else ".npz"


CORRUPTIONS = ["flip2", "truncate", "overwrite_same_size", "other_npz", "npz_deleted",
               "sidecar_garbled", "sidecar_digit", "sidecar_missing"]


@pytest.mark.parametrize("how", CORRUPTIONS)
def test_corrupt_result_is_moved_aside_and_recomputed(tmp_path, capsys, how):
    spec = _spec(tmp_path, grid={"n": [5], "mu": [0.0, 1.0]}, replicates=2)
    clean = run_sweep(_spec(tmp_path, "clean", grid=spec.grid, replicates=2), progress=False)
    run_sweep(spec, progress=False)
    task = spec.tasks()[1]
    suffix = _corrupt(spec.out, task.key, how)
    capsys.readouterr()

    if how == "sidecar_missing":  # an interrupted write looks the same: not complete yet
        with pytest.raises(ValueError, match="not complete"):
            load_results(spec.out)
    else:
        with pytest.raises(sweep.CorruptResultError) as info:
            load_results(spec.out, allow_missing=True)
        assert str(info.value.path).endswith(task.key + suffix)
        assert task.key + suffix in str(info.value) and "\n" not in str(info.value)

    res = run_sweep(spec, progress=False)  # the resume
    assert res.computed == [task.key]
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and task.key in err[0] and "corrupt" in err[0]  # one line per task
    moved = sorted(p.name for p in (spec.out / "corrupt").iterdir())
    assert moved and all(name.endswith((task.key + ".npz", task.key + ".json")) for name in moved)
    _assert_bit_identical(res, clean)  # the same numbers as a clean run
    assert load_results(spec.out).computed == []
    assert run_sweep(spec, progress=False).computed == []  # and it stays fixed


def test_sidecar_records_sha256(tmp_path):
    import hashlib
    spec = _spec(tmp_path, grid={"n": [3]}, replicates=1)
    run_sweep(spec, progress=False)
    key = spec.tasks()[0].key
    meta = json.loads((spec.out / f"{key}.json").read_text())
    assert meta["sha256"] == hashlib.sha256((spec.out / f"{key}.npz").read_bytes()).hexdigest()


def test_sidecar_without_checksum_is_checked_by_crc(tmp_path, capsys):
    """Sweeps stored before checksums existed: flipped bytes are found by the zip CRC-32."""
    spec = _spec(tmp_path, grid={"n": [50]}, replicates=1)
    run_sweep(spec, progress=False)
    key = spec.tasks()[0].key
    side = spec.out / f"{key}.json"
    meta = json.loads(side.read_text())
    del meta["sha256"], meta["sidecar_sha256"]
    side.write_text(json.dumps(meta))
    assert load_results(spec.out).computed == []  # an intact old result still loads
    _flip2(spec.out / f"{key}.npz")
    with pytest.raises(sweep.CorruptResultError, match="Bad CRC"):
        load_results(spec.out)
    capsys.readouterr()
    assert run_sweep(spec, progress=False).computed == [key]
    assert "Bad CRC" in capsys.readouterr().err


# ----------------------------------------------------------------- CLI errors

def _cli(argv, capsys):
    """Run the CLI in process; returns (status, stdout, stderr lines)."""
    from linparity.cli import main
    status = main([str(a) for a in argv])
    cap = capsys.readouterr()
    return status, cap.out, cap.err.strip().splitlines()


def _one_line_error(argv, capsys, *needles):
    status, _, err = _cli(argv, capsys)
    assert status == 2
    assert len(err) == 1 and err[0].startswith("error:"), err  # one line, no traceback
    for needle in needles:
        assert needle in err[0], err[0]
    return err[0]


@pytest.fixture
def counting_task(monkeypatch):
    """A registered task ``counting`` whose calls are counted (nothing may run on bad input)."""
    monkeypatch.setattr(sweep.registry, "TASKS", dict(TASKS))
    calls = []

    @register_task("counting")
    def counting(params, rng):
        calls.append(params)
        return {"v": rng.standard_normal(2)}

    return calls


def _write_spec(tmp_path, data, name="s.json"):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


SPEC_ERRORS = [
    ({"grid": {"i": [1]}}, "task"),  # missing key
    ({"task": "counting", "grid": {"i": [1]}, "replicate": 2}, "replicate"),  # unknown key
    ({"task": "counting", "grid": {"i": [1]}, "replicates": "2"}, "replicates"),  # wrong type
    ({"task": "counting", "grid": {"i": 1}}, "grid"),  # wrong type
    ({"task": "counting", "grid": {"i": [1]}, "imports": "mod"}, "imports"),  # wrong type
    ({"task": "counting", "points": {"i": 1}}, "points"),  # a table, not a list of tables
    ({"task": "no_such_task", "grid": {"i": [1]}}, "no_such_task"),  # unknown task
]


@pytest.mark.parametrize("data, needle", SPEC_ERRORS)
def test_cli_spec_errors_are_one_line(tmp_path, capsys, counting_task, data, needle):
    _one_line_error(["sweep", _write_spec(tmp_path, {"out": "o", **data})], capsys, needle)
    assert counting_task == [] and not (tmp_path / "o").exists()


def test_cli_spec_file_errors_are_one_line(tmp_path, capsys):
    _one_line_error(["sweep", tmp_path / "nope.toml"], capsys, "nope.toml", "does not exist")
    _one_line_error(["sweep", tmp_path], capsys, "not a file")
    _one_line_error(["sweep", _write_spec(tmp_path, 'task = "demo\ngrid = 3', "bad.toml")],
                    capsys, "bad.toml", "not valid TOML")
    _one_line_error(["sweep", _write_spec(tmp_path, '{"task": "demo",', "bad.json")],
                    capsys, "bad.json", "not valid JSON")
    _one_line_error(["sweep", _write_spec(tmp_path, "task: demo", "s.yaml")], capsys, "s.yaml")


def test_cli_task_parameter_errors_are_one_line(tmp_path, capsys):
    """A point lacking a parameter the task reads, or of the wrong type, is one line naming the
    parameter and the point (refused by the task's check, before any task runs)."""
    point = {"kappa": 1.0, "d": 8, "lam": [0.01, 0.01, 0.00125], "replicates": 2, "n_max": 5,
             "b0": 8, "cap": 64}
    base = {"task": "linparity.f5", "imports": ["linparity.experiments"], "out": "o"}
    no_d = {k: v for k, v in point.items() if k != "d"}
    _one_line_error(["sweep", _write_spec(tmp_path, {**base, "points": [no_d]}), "--no-progress"],
                    capsys, "params", "'d'")
    bad_lam = {**point, "lam": 0.01}
    _one_line_error(["sweep", _write_spec(tmp_path, {**base, "points": [bad_lam]}),
                     "--no-progress"], capsys, "point 0", "lam: must be a list of 3")
    assert not (tmp_path / "o").exists()


def test_cli_dask_errors_are_one_line(tmp_path, capsys, monkeypatch, counting_task):
    spec = _write_spec(tmp_path, {"task": "counting", "grid": {"i": [1, 2]}, "out": "o"})
    _one_line_error(["sweep", spec, "--backend", "dask"], capsys, "scheduler")
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    _one_line_error(["sweep", spec, "--backend", "dask", "--scheduler", "tcp://127.0.0.1:1"],
                    capsys, "dask.distributed", "not installed")
    assert counting_task == [] and not (tmp_path / "o").exists()


@pytest.mark.parametrize("where", ["existing_file", "dev_full", "proc", "no_access"])
def test_cli_unwritable_out_is_refused_before_computing(tmp_path, capsys, monkeypatch,
                                                         counting_task, where):
    """Tests run as root, which chmod does not stop: a file, /dev/full (a device), /proc (a
    kernel file system) and a monkeypatched os.access stand in for an unwritable folder."""
    out = {"existing_file": tmp_path / "taken", "dev_full": Path("/dev/full"),
           "proc": Path("/proc/linparity-sweep-test"), "no_access": tmp_path / "ro"}[where]
    if where == "existing_file":
        out.write_text("not a folder")
    if where == "proc" and not Path("/proc/self").exists():
        pytest.skip("this platform has no /proc file system, the unwritable target of this case")
    if where == "no_access":
        real = os.access
        monkeypatch.setattr(os, "access",
                            lambda p, mode, **kw: False if Path(p) == out else real(p, mode, **kw))
    spec = _write_spec(tmp_path, {"task": "counting", "grid": {"i": [1, 2]}, "out": str(out)})
    _one_line_error(["sweep", spec, "--no-progress"], capsys, "out:", str(out))
    assert counting_task == []


def test_cli_concurrent_sweep_is_one_line(tmp_path, capsys, monkeypatch):
    """While a sweep runs (in a thread, its task blocked), a second one into the same folder
    fails in one line that names the folder and the holder; afterwards a rerun works."""
    import threading
    monkeypatch.setattr(sweep.registry, "TASKS", dict(TASKS))
    release, started = threading.Event(), threading.Event()

    @register_task("blocking")
    def blocking(params, rng):
        started.set()
        assert release.wait(60), "never released"  # a guard against a hang, not a timing check
        return {"v": rng.standard_normal(2)}

    spec = _write_spec(tmp_path, {"task": "blocking", "grid": {"i": [1, 2]}, "out": "o"})
    out = tmp_path / "o"
    first = threading.Thread(target=run_sweep, args=(spec,), kwargs={"progress": False})
    first.start()
    try:
        assert started.wait(60)
        line = _one_line_error(["sweep", spec, "--no-progress"], capsys, "another sweep",
                               str(out), ".lock", f"pid {os.getpid()}")
    finally:
        release.set()
        first.join()
    assert "since" in line and len(load_results(out).computed) == 0
    status, _, _ = _cli(["sweep", spec, "--no-progress"], capsys)
    assert status == 0  # the lock was released


# ----------------------------------------------------------------- reading results

def test_cli_show_table_and_json(tmp_path, capsys):
    spec = _write_spec(tmp_path, {"task": "demo", "grid": {"n": [2, 3], "mu": [0.0, 1.5]},
                                  "replicates": 2, "seed": 3, "out": "o"})
    status, _, _ = _cli(["sweep", spec, "--no-progress"], capsys)
    assert status == 0
    out = tmp_path / "o"
    (out / f"{load_spec(spec).tasks()[7].key}.json").unlink()  # one unfinished task

    status, text, err = _cli(["sweep", "--show", out], capsys)
    assert status == 0 and err == []
    lines = text.splitlines()
    header = next(ln for ln in lines if ln.startswith("#"))
    assert header.split() == ["#", "n", "mu", "rep", "mean", "seconds"]
    rows = [ln.split() for ln in lines[lines.index(header) + 1:]]
    ref = load_results(out, allow_missing=True)
    assert len(rows) == 7  # one line per finished task
    for row, (p, r) in zip(rows, [(p, r) for p in range(4) for r in range(2)][:7]):
        assert row[0] == str(2 * p + r)
        assert (int(row[1]), float(row[2]), int(row[3])) == (ref.points[p]["n"],
                                                            ref.points[p]["mu"], r)
        assert float(row[4]) == pytest.approx(float(ref.results[p][r]["mean"]), rel=1e-3)
    assert any(ln.split() == ["finished", "7"] for ln in lines)

    status, text, _ = _cli(["sweep", "--show", out, "--json"], capsys)
    data = json.loads(text)
    assert status == 0 and data["tasks"] == 8 and data["finished"] == 7
    assert data["missing"] == [load_spec(spec).tasks()[7].key]
    first = data["results"][0]
    assert first["params"] == {"n": 2, "mu": 0.0} and first["arrays"] == {"x": [2]}
    assert first["scalars"]["mean"] == float(ref.results[0][0]["mean"])  # exact through JSON
    assert first["seconds"] >= 0

    _corrupt(out, load_spec(spec).tasks()[2].key, "flip2")
    _one_line_error(["sweep", "--show", out], capsys, "corrupt", load_spec(spec).tasks()[2].key)
    _one_line_error(["sweep", "--show", tmp_path / "empty"], capsys, "spec.json")
    _one_line_error(["sweep"], capsys, "--show")
    _one_line_error(["sweep", spec, "--show", out], capsys, "not both")


F5_EXAMPLE = {"task": "linparity.f5", "imports": ["linparity.experiments"], "replicates": 1,
              "seed": 0, "out": "runs/f5",
              "points": [{"kappa": 1.0, "d": 128, "lam": [0.01, 0.01, 7.8125e-05],
                          "replicates": 40, "n_max": 60, "b0": 8, "cap": 134217728}]}


def test_example_f5_spec_loads_and_a_tiny_variant_runs(tmp_path, capsys):
    """examples/f5.toml is the README's F5 spec; it is only loaded here (the slow README examples in
    tests/test_readme_examples.py run it). A tiny variant of it (d = 8, cap 256) runs through the CLI and --show reads it."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    path = REPO_ROOT / "examples" / "f5.toml"
    assert tomllib.loads(path.read_text()) == F5_EXAMPLE
    spec = load_spec(path)
    assert sweep.get_task(spec.task) is TASKS["linparity.f5"]
    assert spec.out == path.parent / "runs" / "f5" and spec.n_tasks == 1

    tiny = path.read_text().replace("d = 128", "d = 8").replace("replicates = 40",
                                                               "replicates = 3")
    tiny = tiny.replace("cap = 134217728", "cap = 256").replace("n_max = 60", "n_max = 8")
    tiny_path = _write_spec(tmp_path, tiny, "f5-tiny.toml")
    status, text, _ = _cli(["sweep", tiny_path, "--no-progress", "--json"], capsys)
    assert status == 0 and json.loads(text)["computed"] == 1
    status, text, _ = _cli(["sweep", "--show", tmp_path / "runs" / "f5"], capsys)
    assert status == 0
    header = next(ln for ln in text.splitlines() if ln.startswith("#"))
    assert header.split()[-3:] == ["budget", "p", "seconds"]
    res = load_results(tmp_path / "runs" / "f5")
    assert float(res.results[0][0]["p"]) == 1 / 8  # p = d^-kappa


# ----------------------------------------------------------------- sizes, folders and --show, by class

def _huge_grid(tmp_path):   # 20 keys x 10 values: 1e20 points, refused before the product is formed
    return ["sweep", _write_spec(tmp_path, {"task": "counting", "out": "o",
                                            "grid": {f"k{i}": list(range(10)) for i in range(20)}})]


def _many_replicates(tmp_path):
    return ["sweep", _write_spec(tmp_path, {"task": "counting", "grid": {"i": [1]}, "replicates": 10 ** 11,
                                            "out": "o"})]


def _other_spec_into_a_used_folder(tmp_path):
    first = _write_spec(tmp_path, {"task": "counting", "grid": {"i": [1, 2]}, "seed": 1, "out": "o"}, "a.json")
    assert main([str(first), "--no-progress"], "sweep") == 0
    return ["sweep", _write_spec(tmp_path, {"task": "counting", "grid": {"i": [1, 2]}, "seed": 2, "out": "o"},
                                 "b.json"), "--no-progress"]


def _spec_file(tmp_path):
    return _write_spec(tmp_path, {"task": "counting", "grid": {"i": [1, 2]}, "out": "o"})


def _not_a_sweep(tmp_path):
    (tmp_path / "plain").mkdir()
    return ["sweep", "--show", tmp_path / "plain"]


def _garbled_spec_json(tmp_path):
    (tmp_path / "g").mkdir()
    (tmp_path / "g" / "spec.json").write_text("{not json")
    return ["sweep", "--show", tmp_path / "g"]


SWEEP_CLI_CASES = {
    "1e20-point grid": (_huge_grid, ["grid:", "1e+20 points"]),
    "1e400-point grid": (lambda t: ["sweep", _write_spec(t, {"task": "counting", "out": "o", "grid": {
        f"k{i}": list(range(10)) for i in range(400)}})], ["grid:", "10^400 points"]),
    "1e11 replicates": (_many_replicates, ["replicates:", "1e+11 tasks"]),
    "another spec into a used folder": (_other_spec_into_a_used_folder, ["another sweep spec", "/o'"]),
    "--show missing folder": (lambda t: ["sweep", "--show", t / "absent"], ["--show:", "absent"]),
    "--show folder without a sweep": (_not_a_sweep, ["--show:", "spec.json"]),
    "--show garbled spec.json": (_garbled_spec_json, ["--show:", "spec.json"]),
    "--show a file": (lambda t: ["sweep", "--show", _spec_file(t)], ["--show:"]),
    "--jobs 0": (lambda t: ["sweep", _spec_file(t), "--jobs", "0"], ["--jobs"]),
    "--jobs -1": (lambda t: ["sweep", _spec_file(t), "--jobs", "-1"], ["--jobs"]),
    "--jobs above the cores": (lambda t: ["sweep", _spec_file(t), "--jobs", str((os.cpu_count() or 1) + 1)],
                               ["--jobs", f"[1, {os.cpu_count() or 1}]"]),
    "--jobs huge": (lambda t: ["sweep", _spec_file(t), "--jobs", "1e12"], ["--jobs"]),
    "--backend unknown": (lambda t: ["sweep", _spec_file(t), "--backend", "mpi"], ["--backend", "joblib"]),
}


def main(argv, command):
    from linparity.cli import main as cli_main
    return cli_main([command, *map(str, argv)])


@pytest.mark.parametrize("case", SWEEP_CLI_CASES)
def test_sweep_cli_bad_input_by_class(case, tmp_path, capsys, counting_task):
    """Sizes counted before the grid is expanded, a folder holding another spec's results, --show on
    what is not a sweep, and the ranges and choices of the options: one line naming the option or
    the spec field, exit 2; nothing runs (the first sweep of the 'used folder' case aside)."""
    build, needles = SWEEP_CLI_CASES[case]
    argv = build(tmp_path)
    before = len(counting_task)
    capsys.readouterr()
    _one_line_error(argv, capsys, *needles)
    assert len(counting_task) == before


def test_show_prints_null_for_nan_and_inf(tmp_path, capsys, monkeypatch):
    """Results holding NaN or +-inf (e.g. a budget past the search's cap): --show --json gives null,
    the table the documented marker null; exit 0 both ways."""
    monkeypatch.setattr(sweep.registry, "TASKS", dict(TASKS))
    register_task("nonfinite")(lambda params, rng: {"budget": np.inf, "mean": np.nan, "low": -np.inf,
                                                    "ok": 1.5, "v": np.array([np.nan, 1.0])})
    run_sweep(SweepSpec(task="nonfinite", grid={"i": [1, 2]}, out=tmp_path / "o"), progress=False)
    status, out, err = _cli(["sweep", "--show", tmp_path / "o", "--json"], capsys)
    assert status == 0, err
    rows = json.loads(out, parse_constant=lambda c: pytest.fail(f"non-finite {c}"))["results"]
    assert [r["scalars"] for r in rows] == [{"budget": None, "mean": None, "low": None, "ok": 1.5}] * 2
    assert rows[0]["arrays"] == {"v": [2]}
    status, out, err = _cli(["sweep", "--show", tmp_path / "o"], capsys)
    assert status == 0, err
    header = next(ln for ln in out.splitlines() if ln.startswith("#")).split()
    body = [ln.split() for ln in out.splitlines() if ln[:1].isdigit()]
    assert header[:6] == ["#", "i", "budget", "mean", "low", "ok"] and len(body) == 2
    assert all(row[2:5] == ["null"] * 3 and row[5] == "1.5" for row in body)
    assert not any(c in ("nan", "inf", "-inf") for row in body for c in row)


@pytest.mark.parametrize("jobs, tasks", [(2, 1), (2, 3), (-1, 3), (1, 3)])
def test_jobs_never_start_more_processes_than_tasks(jobs, tasks, tmp_path, monkeypatch):
    """The joblib backend gets min(jobs, tasks to run) workers (-1: all cores); one task runs here."""
    cores = os.cpu_count() or 1
    seen = []
    monkeypatch.setattr(sweep.run, "_iter_joblib", lambda func, todo, n: seen.append(n) or sweep.run._iter_serial(func, todo))
    run_sweep(SweepSpec(task="demo", grid={"n": list(range(2, 2 + tasks))}, out=tmp_path / "o"), jobs=jobs,
              progress=False)
    expected = min(cores if jobs < 0 else jobs, tasks)
    assert seen == ([] if expected == 1 else [expected])
    with pytest.raises(ValueError, match=rf"jobs: must be an integer in \[-{cores}, {cores}\]"):
        run_sweep(SweepSpec(task="demo", grid={"n": [2]}, out=tmp_path / "p"), jobs=cores + 1, progress=False)
