"""``python -m linparity transformer ...`` on bad input, by class: every case exits 0 with finite JSON
or 2 with one stderr line naming the option as spelled, and every check runs before any training.

A: a STaR round that keeps nothing is a result (null loss), not an error. B: every option has a
documented range (checked while parsing, shown in --help). C: checkpoints that are not ours, or
conflict with explicit options. D: messages name the option as the user spelled it. E: the work
estimate refuses runaway sizes before anything is allocated. F: an unusable --checkpoint-dir is
refused before training. M: two runs never mix in one --checkpoint-dir; stale temporary files go.
"""
import json
import pickle

import pytest

torch = pytest.importorskip("torch", reason="needs the transformer extra (torch): pip install -e '.[transformer]'")

from linparity import cli  # noqa: E402
from linparity.transformer import train  # noqa: E402
from linparity.transformer.experiment import prepare, run_experiment  # noqa: E402
from linparity.transformer.limits import RANGES, estimate_work  # noqa: E402

TINY = ["--d", "4", "--width", "8", "--heads", "2", "--depth", "1", "--n-eval", "8", "--batch-size", "8",
        "--quiet"]
#: a tiny run of each sub-command (well under a second of work)
BASE = {
    "pretrain": ["transformer", "pretrain", *TINY, "--steps", "3"],
    "star": ["transformer", "star", *TINY, "--pretrain-steps", "2", "--rounds", "1", "--samples", "8"],
    "reinforce": ["transformer", "reinforce", *TINY, "--pretrain-steps", "2", "--steps", "2"],
    "grpo": ["transformer", "grpo", *TINY, "--pretrain-steps", "2", "--steps", "2", "--group", "2"],
}


def main(argv, capsys):
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def refused(argv, capsys, *names):
    """Exit 2, one line on stderr that starts with 'error: ' and names every option in ``names``."""
    code, out, err = main(argv, capsys)
    lines = err.strip("\n").split("\n")
    assert code == 2 and out == "" and len(lines) == 1 and lines[0].startswith("error: "), (argv, code, err)
    for n in names:
        assert n in lines[0], (n, lines[0])
    return lines[0]


@pytest.fixture
def no_work(monkeypatch):
    """Any training started fails the test: the refusals must come before any work."""
    def boom(*a, **k):
        raise AssertionError("training started before the options were checked")
    for name in ("pretrain", "star", "reinforce", "grpo"):
        monkeypatch.setattr(train, name, boom)


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    """A tiny pre-trained checkpoint (d = 4, width 8, p_cot 0.2) and its loaded blob."""
    folder = tmp_path_factory.mktemp("ckpt")
    run_experiment("pretrain", d=4, width=8, heads=2, depth=1, steps=2, batch_size=8, n_eval=8, quiet=True,
                   checkpoint_dir=str(folder))
    path = folder / "final.pt"
    return path, torch.load(path, weights_only=True)


# ------------------------------------------------------------------------------------------- A
@pytest.mark.parametrize("seed", [0, 1])
def test_A_star_round_that_keeps_nothing_has_a_null_loss(seed, capsys):
    """One sample per round from an untrained model at d = 16 keeps nothing: the round is recorded
    with loss null, and every round still runs (the issue's command, smaller held-out set)."""
    code, out, err = main(["transformer", "star", "--d", "16", "--pretrain-steps", "0", "--rounds", "3",
                           "--samples", "1", "--batch-size", "8", "--width", "16", "--heads", "2", "--depth", "1",
                           "--n-eval", "16", "--seed", str(seed), "--quiet", "--json"], capsys)
    assert code == 0, err
    res = json.loads(out, parse_constant=lambda c: pytest.fail(f"non-finite {c}"))
    assert res["eval_steps"] == [0, 1, 2, 3] and len(res["loss"]) == 3
    empty = [i for i, k in enumerate(res["kept_fraction"]) if k == 0]
    assert empty, "the case must keep nothing in some round"
    for i, (loss, kept) in enumerate(zip(res["loss"], res["kept_fraction"])):
        assert (loss is None) == (kept == 0) and (res["kept_long_fraction"][i] is None) == (kept == 0)


# ------------------------------------------------------------------------------------------- B
#: (sub-command, option, value out of its documented range)
OUT_OF_RANGE = [
    ("pretrain", "--lr", "1e30"), ("pretrain", "--lr", "nan"), ("pretrain", "--lr", "0"),
    ("pretrain", "--weight-decay", "1e30"), ("pretrain", "--weight-decay", "-1"),
    ("pretrain", "--warmup", "-1"), ("pretrain", "--steps", "-1"), ("pretrain", "--d", "1"),
    ("pretrain", "--width", "4"), ("pretrain", "--heads", "0"), ("pretrain", "--depth", "17"),
    ("pretrain", "--threads", "10000000000"), ("pretrain", "--threads", "0"), ("pretrain", "--seed", "-1"),
    ("pretrain", "--n-eval", "0"), ("pretrain", "--eval-every", "0"), ("pretrain", "--checkpoint-every", "0"),
    ("pretrain", "--p-cot", "1.5"), ("star", "--temperature", "1e-300"), ("star", "--temperature", "0"),
    ("star", "--rounds", "-1"), ("star", "--samples", "0"), ("star", "--epochs", "0"),
    ("star", "--pretrain-steps", "-1"), ("star", "--pretrain-lr", "nan"), ("grpo", "--group", "1"),
    ("reinforce", "--batch-size", "0"), ("reinforce", "--temperature", "inf"),
]


@pytest.mark.parametrize("cmd, opt, val", OUT_OF_RANGE)
def test_B_every_option_out_of_range_is_refused_by_name(cmd, opt, val, capsys, no_work):
    refused(BASE[cmd] + [opt, val], capsys, opt)


@pytest.mark.parametrize("cmd", sorted(BASE))
def test_B_help_shows_every_range_and_default(cmd):
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if hasattr(a, "choices") and a.choices)  # noqa: SLF001
    tsub = next(a for a in sub.choices["transformer"]._actions if hasattr(a, "choices") and a.choices)
    p = tsub.choices[cmd]
    numeric = [a for a in p._actions if a.dest in RANGES]
    assert len(numeric) >= 12
    for a in numeric:
        assert "in [" in a.help and "default" in a.help, (a.dest, a.help)


# ------------------------------------------------------------------------------------------- C
def _write_bad(kind, ckpt, path):
    good, blob = ckpt
    if kind == "random bytes":
        path.write_bytes(bytes(range(256)) * 3)
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "truncated":
        path.write_bytes(good.read_bytes()[:300])
    elif kind == "pickled object":
        path.write_bytes(pickle.dumps(ValueError("not weights")))
    else:
        b = {**blob, "config": dict(blob["config"]), "meta": dict(blob["meta"]),
             "state_dict": dict(blob["state_dict"])}
        if kind == "no config":
            del b["config"]
        elif kind == "config not matching the weights":
            b["config"]["width"] = 16
        elif kind == "invalid config":
            b["config"]["width"] = 7
        elif kind == "NaN in the metadata":
            b["meta"]["p_cot"] = float("nan")
        elif kind == "a tensor in the metadata":
            b["meta"]["step"] = torch.zeros(2)
        elif kind == "an unknown config key":
            b["config"]["dropout"] = 0.1
        elif kind == "a float d in the config":
            b["config"]["d"] = 4.5
        elif kind == "NaN weights":
            k = next(iter(b["state_dict"]))
            b["state_dict"][k] = torch.full_like(b["state_dict"][k], float("nan"))
        torch.save(b, path)


@pytest.mark.parametrize("kind", ["random bytes", "empty", "truncated", "pickled object", "no config",
                                  "config not matching the weights", "invalid config", "NaN in the metadata",
                                  "NaN weights", "a tensor in the metadata", "an unknown config key",
                                  "a float d in the config"])
@pytest.mark.parametrize("cmd", ["star", "grpo"])
def test_C_a_file_that_is_not_our_checkpoint_is_refused_naming_checkpoint(kind, cmd, ckpt, tmp_path, capsys,
                                                                         no_work):
    path = tmp_path / "bad.pt"
    _write_bad(kind, ckpt, path)
    argv = ["transformer", cmd, "--checkpoint", str(path), "--quiet"]
    line = refused(argv, capsys, "--checkpoint")
    assert line.startswith("error: --checkpoint:") and "--width" not in line


@pytest.mark.parametrize("opt, val", [("--d", "8"), ("--p-cot", "0.5"), ("--width", "16"), ("--heads", "4"),
                                      ("--depth", "2")])
def test_C_explicit_option_conflicting_with_the_checkpoint_names_both(opt, val, ckpt, capsys, no_work):
    refused(["transformer", "star", "--checkpoint", str(ckpt[0]), opt, val, "--quiet"], capsys, opt, "--checkpoint")


@pytest.mark.parametrize("opt, val", [("--pretrain-steps", "5"), ("--pretrain-lr", "0.01")])
def test_C_pretraining_options_with_a_checkpoint_are_refused(opt, val, ckpt, capsys, no_work):
    refused(["transformer", "reinforce", "--checkpoint", str(ckpt[0]), opt, val, "--quiet"], capsys,
            opt, "--checkpoint")


def test_C_options_not_given_take_the_checkpoints_values(ckpt, capsys):
    code, out, err = main(["transformer", "reinforce", "--checkpoint", str(ckpt[0]), "--steps", "1",
                           "--batch-size", "4", "--n-eval", "8", "--p-cot", "0.2", "--d", "4", "--quiet", "--json"],
                          capsys)
    assert code == 0, err
    res = json.loads(out)
    assert res["config"] == ckpt[1]["config"] and res["p_cot"] == 0.2


# ------------------------------------------------------------------------------------------- D
@pytest.mark.parametrize("name, value, spelled", [
    ("pretrain_steps", -1, "pretrain_steps"), ("pretrain_lr", float("nan"), "pretrain_lr"),
    ("weight_decay", -1.0, "weight_decay"), ("temperature", 0.0, "temperature"), ("group", 1, "group"),
    ("threads", 10 ** 10, "threads"),
])
def test_D_library_messages_name_the_argument_passed(name, value, spelled, no_work):
    """The library names the argument as passed (the CLI maps dest names to options, e.g.
    pretrain_steps -> --pretrain-steps), not the name of an inner function's argument."""
    cmd = "grpo" if name == "group" else "star" if name != "weight_decay" else "pretrain"
    with pytest.raises(ValueError, match=rf"^{spelled}:"):
        prepare(cmd, d=4, width=8, heads=2, depth=1, **{name: value})


@pytest.mark.parametrize("argv, opt", [
    (BASE["star"] + ["--pretrain-steps", "-1"], "--pretrain-steps"),
    (BASE["star"] + ["--pretrain-lr", "nan"], "--pretrain-lr"),
    (BASE["pretrain"] + ["--weight-decay", "-1"], "--weight-decay"),
    (["transformer", "pretrain", "--width", "12", "--heads", "8", "--quiet"], "--width"),
    (["transformer", "star", "--checkpoint", "/no/such/file.pt", "--quiet"], "--checkpoint"),
    (["transformer", "pretrain", "--device", "tpu", "--quiet"], "--device"),
])
def test_D_cli_messages_name_the_option_as_spelled(argv, opt, capsys, no_work):
    line = refused(argv, capsys, opt)
    assert line.startswith(f"error: {opt}") or f"argument {opt}:" in line, line


# ------------------------------------------------------------------------------------------- E
@pytest.mark.parametrize("argv, opt", [
    (BASE["pretrain"] + ["--steps", str(10 ** 12)], "--steps"),
    (BASE["reinforce"] + ["--steps", "1e12"], "--steps"),
    (BASE["star"] + ["--rounds", str(10 ** 12)], "--rounds"),
    (BASE["star"] + ["--rounds", "1e12"], "--rounds"),
    (BASE["star"] + ["--samples", str(10 ** 12)], "--samples"),
    (BASE["star"] + ["--pretrain-steps", str(10 ** 12)], "--pretrain-steps"),
    (BASE["grpo"] + ["--group", str(10 ** 9)], "--group"),
    (BASE["pretrain"] + ["--n-eval", str(10 ** 12)], "--n-eval"),
    (["transformer", "pretrain", "--d", "3000", "--quiet"], "--d"),
    (["transformer", "pretrain", "--width", "1024", "--depth", "16", "--quiet"], "--width"),
    (BASE["star"] + ["--temperature", "0"], "--temperature"),   # refused before pre-training
    (BASE["grpo"] + ["--group", "1"], "--group"),
])
def test_E_every_check_and_the_work_estimate_run_before_any_work(argv, opt, capsys, no_work):
    refused(argv, capsys, opt)


def test_E_force_skips_the_estimate_only():
    big = dict(d=4, width=8, heads=2, depth=1, steps=10 ** 12)
    with pytest.raises(ValueError, match="^steps: the requested work would take"):
        prepare("pretrain", **big)
    assert prepare("pretrain", force=True, **big)["steps"] == 10 ** 12


@pytest.mark.parametrize("cmd, name", [
    (c, n) for c in ("pretrain", "star", "reinforce", "grpo")
    for n in ("d", "width", "depth", "steps", "batch_size", "rounds", "samples", "n_eval", "pretrain_steps", "group")
    if (c, n) != ("star", "batch_size")])
def test_E_estimate_grows_with_every_size(cmd, name):
    """Doubling any size never lowers the estimate, and raises the time of the sizes the command uses
    (except STaR's --batch-size, a minibatch of the kept set: larger ones take fewer steps)."""
    o = dict(d=8, width=16, heads=2, depth=1, steps=10, batch_size=8, rounds=2, samples=16, n_eval=16,
             pretrain_steps=10, group=2, epochs=1)
    m0, s0, _ = estimate_work(cmd, **o)
    m1, s1, drivers = estimate_work(cmd, **{**o, name: o[name] * 2})
    assert m1 >= m0 and s1 >= s0
    if name in drivers:
        assert s1 > s0


# ------------------------------------------------------------------------------------------- F
@pytest.mark.parametrize("kind", ["a file", "under a file", "under /proc", "empty"])
def test_F_unusable_checkpoint_dir_is_refused_before_training(kind, tmp_path, capsys, no_work):
    (tmp_path / "f").write_text("x")
    path = {"a file": tmp_path / "f", "under a file": tmp_path / "f" / "sub", "under /proc": "/proc/x",
            "empty": ""}[kind]
    for cmd in ("pretrain", "star"):
        refused(BASE[cmd] + ["--checkpoint-dir", str(path)], capsys, "--checkpoint-dir")


def test_F_read_only_checkpoint_dir_is_refused_before_training(tmp_path, capsys, no_work, monkeypatch):
    # a folder in which creating a file fails as in a read-only folder (EACCES); chmod alone cannot
    # show it where the tests run as root, who may write anywhere
    import tempfile

    def refuse(*a, **k):
        raise PermissionError(13, "Permission denied")
    monkeypatch.setattr(tempfile, "NamedTemporaryFile", refuse)
    refused(BASE["pretrain"] + ["--checkpoint-dir", str(tmp_path / "sub")], capsys, "--checkpoint-dir")


# ------------------------------------------------------------------------------------------- M
def test_M_checkpoint_folder_holds_one_run_per_command(tmp_path, capsys):
    folder = str(tmp_path / "run")
    first = BASE["pretrain"] + ["--checkpoint-dir", folder, "--json"]
    code, out, err = main(first, capsys)
    assert code == 0, err
    weights = (tmp_path / "run" / "final.pt").read_bytes()
    # a killed save leaves a temporary file: the next run of the command removes it
    stale = tmp_path / "run" / ".tmp-final.pt.0123456789abcdef0123456789abcdef"
    stale.write_bytes(b"half")
    assert main(first, capsys)[0] == 0 and not stale.exists()       # identical: rewrites the same files
    assert (tmp_path / "run" / "final.pt").read_bytes() == weights
    for change in (["--steps", "4"], ["--seed", "1"]):
        refused(first + change, capsys, "--checkpoint-dir", change[0])
    # another command shares the folder (its own files and manifest); RL from the folder's checkpoint
    code, _, err = main(["transformer", "star", "--checkpoint", f"{folder}/final.pt", "--rounds", "1",
                         "--samples", "4", "--batch-size", "4", "--n-eval", "8", "--quiet",
                         "--checkpoint-dir", folder], capsys)
    assert code == 0, err
    assert {p.name for p in (tmp_path / "run").iterdir()} == {"final.pt", "pretrain.run.json", "star_final.pt",
                                                             "star.run.json"}


def test_M_checkpoints_without_a_manifest_are_not_overwritten(tmp_path, capsys, no_work):
    (tmp_path / "step_0000001.pt").write_bytes(b"an earlier run")
    refused(BASE["pretrain"] + ["--checkpoint-dir", str(tmp_path)], capsys, "--checkpoint-dir")
    assert (tmp_path / "step_0000001.pt").read_bytes() == b"an earlier run"
