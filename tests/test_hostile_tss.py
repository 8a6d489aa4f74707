"""Hostile input to ``transformer``, ``samples`` and ``sweep``, by class: each bad case is refused
with one line naming what is wrong (exit 2 on the CLI, ValueError in the library), before any work.

Classes: the sweep's points are checked before the folder is touched or a task runs (unknown
parameters were silently ignored, bad ones found only when their task ran); a ``spec.json`` that is
valid JSON but no spec; a checkpoint folder's manifest that is valid JSON of the wrong shape; a
checkpoint whose config does not match its weights (refused before a model of the config's size is
allocated); ``--device`` strings torch would refuse only at the first tensor.
"""
import json

import pytest

import linparity.experiments  # noqa: F401  (registers the sweep tasks)
from linparity import cli
from linparity.sweep import CHECKS, SweepSpec, load_results, register_task, run_sweep

SAMPLES = {"task": "linparity.samples", "imports": ["linparity.experiments"], "seed": 0}


def one_line_exit2(argv, capsys, *names):
    """``cli.main(argv)`` exits 2 with one stderr line 'error: ...' naming each of ``names``."""
    code = cli.main(argv)
    out, err = capsys.readouterr()
    lines = err.strip("\n").split("\n")
    assert code == 2 and out == "" and len(lines) == 1 and lines[0].startswith("error: "), (argv, code, err)
    for n in names:
        assert n in lines[0], (n, lines[0])
    return lines[0]


# --------------------------------------------------------------------------- sweep points

#: a bad point of the samples task -> the parameter its refusal names
BAD_POINTS = [
    ({"d": 3, "p": 0.5, "bogus": 1}, "bogus"),           # a typo used to run the default silently
    ({"d": 3, "p": 0.5, "kappa": 1.0}, "kappa"),         # kappa used to win silently over p
    ({"d": 3}, "kappa"),
    ({"p": 0.5}, "missing parameter(s) ['d']"),
    ({"d": "x", "p": 0.5}, "d:"),
    ({"d": 3, "p": 5}, "p:"),
    ({"d": 3, "kappa": -1}, "kappa:"),
    ({"d": 3, "p": 0.5, "cap": 1e30}, "cap:"),
    ({"d": 3, "p": 0.5, "b0": 64, "cap": 16}, "cap"),
    ({"d": 3, "p": 0.5, "replicates": 1e11, "cap": 16}, "replicates:"),
    ({"d": 10 ** 8, "p": 0.5}, "d:"),
    ({"d": 3, "p": 0.5, "route": "xx"}, "route:"),
    ({"d": 3, "p": 0.5, "variant": "bogus"}, "variant:"),
    ({"d": 3, "p": 0.5, "lam": [0.1, -1, 0.1]}, "lam"),
    ({"d": 3, "p": 0.5, "budgets": [16, 8]}, "budgets:"),               # not increasing
    ({"d": 3, "p": 0.5, "budgets": "8,16"}, "budgets:"),                # a string, not a list
    ({"d": 3, "p": 0.5, "budgets": [8, 16], "b0": 8}, "b0:"),           # a grid replaces the doubling search
    ({"d": 3, "p": 0.5, "budgets": [8, 16], "pretrain_samples": 8, "round_samples": 8}, "budgets:"),
    ({"d": 3, "p": 0.5, "pretrain_samples": 0}, "pretrain_samples:"),
    ({"d": 3, "p": 0.5, "round_samples": 2.5}, "round_samples:"),
    ({"d": 3, "p": 0.5, "round_samples": 2 ** 52, "cap": 16}, "round_samples:"),
]


@pytest.mark.parametrize("point, name", BAD_POINTS, ids=[str(p) for p, _ in BAD_POINTS])
def test_sweep_refuses_a_bad_point_before_any_task(point, name, tmp_path):
    # the bad point comes after a good one: nothing is computed, not even the folder is made
    out = tmp_path / "out"
    good = {"d": 3, "p": 0.5, "replicates": 2, "cap": 16, "route": "stats"}
    spec = SweepSpec.from_dict({**SAMPLES, "points": [good, point], "out": str(out)})
    with pytest.raises(ValueError, match="point 1") as e:
        run_sweep(spec, progress=False)
    assert name in str(e.value) and "\n" not in str(e.value)
    assert not out.exists()


def test_sweep_cli_names_the_point(tmp_path, capsys):
    spec = tmp_path / "a spec.toml"
    spec.write_text('task = "linparity.samples"\nimports = ["linparity.experiments"]\nout = "r"\n'
                    '[grid]\nd = [3]\np = [0.5]\nbogus = [1]\n')
    one_line_exit2(["sweep", str(spec), "--no-progress"], capsys, "bogus", "point 0")
    assert not (tmp_path / "r").exists()


def test_every_shipped_spec_passes_its_checks():
    from pathlib import Path

    from linparity.sweep import load_spec
    specs = sorted(Path(__file__).parent.parent.glob("examples/*.toml"))
    assert specs
    for f in specs:
        s = load_spec(f)
        for pt in s.point_list():
            CHECKS.get(s.task, lambda p: None)(dict(pt))


def test_register_task_check_is_replaced_with_the_task():
    def f(params, rng):
        return {"x": 1.0}
    register_task("test.hostile.checked", check=lambda p: None)(f)
    assert "test.hostile.checked" in CHECKS
    register_task("test.hostile.checked")(f)      # re-registered without a check: none is left
    assert "test.hostile.checked" not in CHECKS


# --------------------------------------------------------------------------- stored spec.json

STORED_SPECS = ["[]", '"x"', "5", "null", '{"task": "linparity.samples"}',
                '{"task": "linparity.samples", "grid": {"d": [3]}, "replicates": -1}', '{"bogus": 1}']


@pytest.mark.parametrize("body", STORED_SPECS)
def test_show_refuses_a_stored_spec_that_is_no_spec(body, tmp_path, capsys):
    (tmp_path / "spec.json").write_text(body)
    with pytest.raises(ValueError, match="spec.json") as e:
        load_results(tmp_path, allow_missing=True)
    assert "\n" not in str(e.value)
    for extra in ([], ["--json"]):
        one_line_exit2(["sweep", "--show", str(tmp_path), *extra], capsys, "--show", "spec.json")


# --------------------------------------------------------------------------- transformer

@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    torch = pytest.importorskip("torch", reason="needs the transformer extra (torch): pip install -e '.[transformer]'")
    from linparity.transformer.model import TransformerConfig, build_model
    from linparity.transformer.train import save_checkpoint
    path = tmp_path_factory.mktemp("ck") / "tiny.pt"
    save_checkpoint(path, build_model(TransformerConfig(d=4, depth=1, width=8, heads=2), rng=0), step=0, p_cot=0.2)
    return path, torch.load(path, weights_only=True)


#: a config that does not match the weights (d = 10^7 would need a 640 MB position table) -> the weight named
BAD_CONFIGS = [({"d": 10 ** 7}, "'pos.weight' is (9, 8)"), ({"depth": 16, "width": 1024, "mlp_ratio": 16}, "is "),
               ({"width": 16}, "'tok.weight' is (4, 8)"), ({"heads": 4}, None), ({"mlp_ratio": 2}, "linear1")]


@pytest.mark.parametrize("change, named", BAD_CONFIGS, ids=[str(c) for c, _ in BAD_CONFIGS])
def test_checkpoint_config_is_checked_against_its_weights(change, named, tiny_checkpoint, tmp_path, capsys):
    import torch

    from linparity.transformer.train import load_checkpoint
    _, blob = tiny_checkpoint
    path = tmp_path / "bad.pt"
    torch.save({**blob, "config": {**blob["config"], **change}}, path)
    if named is None:   # same shapes (heads only splits the width): a valid checkpoint
        load_checkpoint(path)
        return
    with pytest.raises(ValueError, match="checkpoint: .*weights do not match its config") as e:
        load_checkpoint(path)
    assert named in str(e.value)
    one_line_exit2(["transformer", "reinforce", "--checkpoint", str(path), "--steps", "1", "--quiet"], capsys,
                   "--checkpoint")


MANIFESTS = ["[1, 2]", '{"options": 5}', "null", '"x"', "3", '{"command": "pretrain"}']


@pytest.mark.parametrize("body", MANIFESTS)
def test_checkpoint_dir_manifest_of_the_wrong_shape(body, tmp_path, capsys):
    pytest.importorskip("torch", reason="needs the transformer extra (torch): pip install -e '.[transformer]'")
    (tmp_path / "pretrain.run.json").write_text(body)
    argv = ["transformer", "pretrain", "--d", "4", "--width", "8", "--heads", "2", "--depth", "1",
            "--steps", "1", "--quiet", "--checkpoint-dir", str(tmp_path)]
    one_line_exit2(argv, capsys, "--checkpoint-dir", "manifest")
    assert (tmp_path / "pretrain.run.json").read_text() == body      # left as it was


BAD_DEVICES = ["cudax", "cuda:", "cuda:0x", "cuda:-1", " cuda", "CUDA", "cuda:99999", "cuda:1:2", "cpu:0", "gpu"]


@pytest.mark.parametrize("device", BAD_DEVICES)
def test_device_string_refused_whatever_the_machine(device, monkeypatch):
    torch = pytest.importorskip("torch", reason="needs the transformer extra (torch): pip install -e '.[transformer]'")
    from linparity.transformer.train import resolve_device
    for avail in (False, True):
        monkeypatch.setattr(torch.cuda, "is_available", lambda: avail)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
        with pytest.raises(ValueError, match="^device: "):
            resolve_device(device)


@pytest.mark.parametrize("device, ok", [("cuda", True), ("cuda:0", True), ("cuda:1", True), ("cuda:2", False),
                                        ("cuda:99", False)])
def test_device_index_checked_against_the_visible_gpus(device, ok, monkeypatch):
    torch = pytest.importorskip("torch", reason="needs the transformer extra (torch): pip install -e '.[transformer]'")
    from linparity.transformer.train import resolve_device
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    if ok:
        assert resolve_device(device) == device
    else:
        with pytest.raises(ValueError, match="no visible GPU"):
            resolve_device(device)


def test_json_manifest_round_trip_is_accepted(tmp_path, capsys):
    """The manifest a run writes is accepted by the same run again (the shape check is not too strict)."""
    pytest.importorskip("torch", reason="needs the transformer extra (torch): pip install -e '.[transformer]'")
    argv = ["transformer", "pretrain", "--d", "4", "--width", "8", "--heads", "2", "--depth", "1", "--n-eval", "8",
            "--batch-size", "8", "--steps", "1", "--quiet", "--json", "--checkpoint-dir", str(tmp_path)]
    for _ in range(2):
        assert cli.main(argv) == 0
        json.loads(capsys.readouterr().out)


# --------------------------------------------------------------------------- samples: the memory culprit

#: sizes whose search does not fit -> the option the refusal must name (b0 = cap used to name --p-cot:
#: lowering --cap alone was counted as no gain, so the round limit was blamed)
TOO_BIG = [(["--b0", str(2 ** 53), "--cap", str(2 ** 53)], "--cap"), (["--cap", str(2 ** 53)], "--cap"),
           (["--b0", str(2 ** 40), "--cap", str(2 ** 41)], "--cap"), (["--d", "100000"], "--d"),
           (["--replicates", str(10 ** 9), "--cap", "8"], "--replicates"),
           (["--pretrain-samples", str(2 ** 50), "--cap", "8"], "--pretrain-samples"),
           (["--round-samples", str(2 ** 50), "--pretrain-samples", "8"], "--round-samples"),
           (["--grid", f"8,{2 ** 50}"], "--grid")]


@pytest.mark.parametrize("extra, name", TOO_BIG, ids=[" ".join(e) for e, _ in TOO_BIG])
def test_samples_memory_refusal_names_the_option_that_makes_it_large(extra, name, capsys):
    line = one_line_exit2(["samples", "--d", "3", "--p-cot", "0.5", *extra], capsys)
    assert line.startswith(f"error: {name}: the search needs"), line


#: a good point of each sweep task with a check, and bad changes -> the parameter the refusal names
TASK_GOOD = {"linparity.f5": {"d": 8, "kappa": 1.0, "lam": [0.01, 0.01, 0.001], "replicates": 2, "n_max": 10,
                              "b0": 8, "cap": 16},
             "linparity.f6": {"d": 4, "p": 0.25, "T": 100, "lam": [0.01, 0.01, 0.001]}}
TASK_BAD = [("linparity.f5", {"bogus": 1}, "bogus"), ("linparity.f5", {"kappa": None}, "kappa"),
            ("linparity.f5", {"lam": 0.01}, "lam"), ("linparity.f5", {"lam": [0.01, -1, 0.01]}, "lam"),
            ("linparity.f5", {"replicates": 0}, "replicates"), ("linparity.f5", {"cap": 1e30}, "cap"),
            ("linparity.f5", {"frac": 2}, "frac"), ("linparity.f5", {"d": 2}, "d"),
            ("linparity.f6", {"bogus": 1}, "bogus"), ("linparity.f6", {"d": 13}, "d"),
            ("linparity.f6", {"p": 1.5}, "p"), ("linparity.f6", {"T": 0}, "T"),
            ("linparity.f6", {"lam": [0.01, 0.01]}, "lam"), ("linparity.f6", {"lam": [0.01, 0.01, 0]}, "lam")]


@pytest.mark.parametrize("task, change, name", TASK_BAD, ids=[f"{t} {c}" for t, c, _ in TASK_BAD])
def test_sweep_task_refuses_a_bad_point_before_any_task(task, change, name, tmp_path):
    out, good = tmp_path / "out", TASK_GOOD[task]
    spec = SweepSpec.from_dict({**SAMPLES, "task": task, "out": str(out), "points": [good, {**good, **change}]})
    with pytest.raises(ValueError, match="point 1") as e:
        run_sweep(spec, progress=False)
    assert name in str(e.value) and not out.exists()
    CHECKS[task](dict(good))      # the good point passes


SPEC_FILES = [("missing.toml", None), ("folder.toml/", None), ("plain.txt", "x = 1"), ("bad.toml", "a = = b"),
              ("bad.json", "{"), ("list.json", "[1]")]


@pytest.mark.parametrize("name, body", SPEC_FILES, ids=[n for n, _ in SPEC_FILES])
def test_sweep_names_the_spec_argument(name, body, tmp_path, capsys):
    path = tmp_path / name.rstrip("/")
    if name.endswith("/"):
        path.mkdir()
    elif body is not None:
        path.write_text(body)
    line = one_line_exit2(["sweep", str(path), "--no-progress"], capsys, str(path))
    assert line.startswith(("error: spec: ", "error: spec ")), line


@pytest.mark.parametrize("how", ["relative", "absolute", "via --out"])
def test_rerun_of_a_finished_sweep_leaves_its_spec_json_as_it_is(how, tmp_path, monkeypatch, capsys):
    """A committed result folder (examples/runs/*) is not rewritten by a rerun that computes nothing,
    however its spec or folder is named (spec.json used to be rewritten with this machine's path)."""
    (tmp_path / "s.toml").write_text('task = "linparity.samples"\nimports = ["linparity.experiments"]\n'
                                     'out = "runs/x"\n[grid]\nd = [3]\np = [0.5]\ncap = [16]\nreplicates = [2]\n'
                                     'route = ["stats"]\n')
    monkeypatch.chdir(tmp_path)
    assert cli.main(["sweep", "s.toml", "--no-progress"]) == 0
    stored = (tmp_path / "runs/x/spec.json").read_bytes()
    argv = {"relative": ["sweep", "s.toml"], "absolute": ["sweep", str(tmp_path / "s.toml")],
            "via --out": ["sweep", "s.toml", "--out", str(tmp_path / "runs" / "." / "x")]}[how]
    assert cli.main([*argv, "--no-progress", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["computed"] == 0
    assert (tmp_path / "runs/x/spec.json").read_bytes() == stored
