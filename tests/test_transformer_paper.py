"""The GPU path: figures --device/--scale and benchmarks/gpu_paper.py, dry-run on the CPU at toy sizes."""
import importlib.util
import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch", reason="the transformer route needs torch (pip install -e .[transformer])")

from linparity.experiments import transformer as ex  # noqa: E402
from linparity.experiments import transformer_t7 as ex7  # noqa: E402
from linparity.figures import cli as fcli  # noqa: E402

_spec = importlib.util.spec_from_file_location("gpu_paper", Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_paper.py")
gpu_paper = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gpu_paper)


def test_paper_settings_are_the_papers_sizes():
    # THEORY §7: d = 50 (depth 2, width 128 as a first configuration) for T1/T2, d = 25 for T3
    for table in (ex.T1_SETTINGS, ex.T2_SETTINGS):
        s = table["paper"]
        assert (s["d"], s["depth"], s["width"], s["device"]) == (50, 2, 128, "cuda")
    assert (ex.T3_SETTINGS["paper"]["d"], ex.T3_SETTINGS["paper"]["device"]) == (25, "cuda")
    assert ex7.T7_SETTINGS["paper"]["digits"] > ex7.T7_SETTINGS["large"]["digits"] > ex7.T7_SETTINGS["main"]["digits"]
    for name, mode in fcli.SCALES["paper"].items():
        assert mode == "paper" and name in ("T1", "T2", "T3", "T7")


def test_plan_prints_the_figures_command(tmp_path, capsys):
    assert gpu_paper.main(["--out", str(tmp_path), "--plan"]) == 0
    cmd = capsys.readouterr().out
    assert "--only T1,T2,T3,T7 --scale paper --device cuda" in cmd and not any(tmp_path.iterdir())


@pytest.mark.parametrize("argv, flag", [(["--device", "cudax"], "--device"), (["--device", "cuda:99"], "--device")])
def test_figures_refuse_a_bad_device_before_work(tmp_path, capsys, argv, flag):
    code = fcli.main(["--only", "T7", "--out", str(tmp_path), *argv])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith(f"error: {flag}")
    assert not (tmp_path / "REPORT.md").exists()


@pytest.mark.slow
def test_gpu_script_dry_run_on_the_cpu(tmp_path, capsys):
    """The whole script at toy sizes on the CPU (about a minute on 2 shared cores)."""
    out = tmp_path / "run"
    assert gpu_paper.main(["--out", str(out), "--device", "cpu", "--scale", "tiny", "--budget-s", "900"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["figures_exit"] == 0 and summary["device"].startswith("cpu")
    rows = json.loads((out / "throughput.json").read_text())["rows"]
    assert [r["config"] for r in rows] == list(gpu_paper.CONFIGS["tiny"])
    assert all(r["seconds_per_step"] > 0 and r["train_tokens_per_s"] > 0 for r in rows)
    report = (out / "figures" / "REPORT.md").read_text()
    for name in ("T1", "T2", "T3", "T7"):
        assert f"| {name} |" in report or f"{name} (tiny" in report
    assert "multiplication" in report


def test_seeds_and_device_are_settings():
    s = ex.settings_of(ex.T3_SETTINGS, "main", device="cpu", seeds=3)
    assert (s["seeds"], s["device"]) == (3, "cpu") and ex.T3_SETTINGS["main"]["seeds"] == 1   # the table is untouched
    assert ex.settings_of(ex.T3_SETTINGS, "main") == ex.T3_SETTINGS["main"]
    with pytest.raises(ValueError, match="seeds"):
        ex.settings_of(ex.T3_SETTINGS, "main", seeds=0)


def test_figures_refuse_zero_seeds(tmp_path, capsys):
    assert fcli.main(["--only", "T3", "--seeds", "0", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("error: --seeds: must be >= 1")
