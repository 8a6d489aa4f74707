"""The README's command examples run, and print what the README's table says they print.

The commands are read from the ``bash`` block under "## Command line" of README.md, and the expected
values from the table "What the examples print" below it, so neither can drift from the code. Each
command runs in-process through its module's ``main``; the slow ones (listed in ``SLOW``, each
measured at several seconds or more) are marked ``slow``, and every command is parsed by the quick
tests, so a command that cannot run fails at once. A table row names its command (without
``--json``) and gives ``key value`` pairs in backticks: ``A -> B`` is the first and last value of a
series; a number holds to the digits it is written with.
"""
from __future__ import annotations

import io
import json
import math
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SECTION = "## Command line"

#: commands measured at several seconds or more (README's times), run under ``-m slow``
SLOW = {
    "python -m linparity pretrain --d 10 --p-cot 0.4 --method exact",
    "python -m linparity samples --d 16 --p-cot 0.25 --route full --json",
    "python -m linparity sweep examples/f5.toml --jobs 2",
    "python -m linparity sweep --show examples/runs/f5",   # reads what the line above writes
    "python -m linparity transformer pretrain --d 16 --p-cot 0.2 --json",
    "python -m linparity.studies",
    "python -m proofs",
}


def _section() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(f"\n{SECTION}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end >= 0 else None]


def readme_commands() -> list[str]:
    """The command lines of the section's bash block, comments removed (a comment-only line is none)."""
    block = re.search(r"```bash\n(.*?)```", _section(), re.S)
    assert block, f"README: no bash block under {SECTION!r}"
    lines = [ln.split("#", 1)[0].strip() for ln in block.group(1).splitlines()]
    return [ln for ln in lines if ln]


def readme_rows() -> list[tuple[str, dict]]:
    """(command line, {key: expected text}) of each row of the table under "What the examples print"."""
    sec = _section()
    table = sec[sec.index("What the examples print"):]
    rows = []
    for ln in table.splitlines():
        if not ln.startswith("|"):
            if rows:
                break
            continue
        cells = [c.strip() for c in ln.strip("|").split("|")]
        if cells[0] == "command" or set(cells[0]) <= set("-"):
            continue
        cmd = re.fullmatch(r"`([^`]+)`", cells[0])
        assert cmd, f"README table: the first cell must be one command in backticks, got {cells[0]!r}"
        pairs = [p.split(" ", 1) for c in cells[1:] for p in re.findall(r"`([^`]+)`", c) if " " in p]
        rows.append((f"python -m linparity {cmd.group(1)}", dict(pairs)))
    return rows


def _argv(line: str) -> tuple[str, list[str]]:
    words = line.split()
    assert words[:2] == ["python", "-m"] and len(words) > 2, f"README: not a 'python -m' command: {line!r}"
    return words[2], words[3:]


def _main(module: str):
    if module == "linparity":
        from linparity.cli import main
    elif module == "linparity.studies":
        from linparity.studies.__main__ import main
    elif module == "proofs":
        from proofs.__main__ import main
    else:
        raise AssertionError(f"README: a command of an unknown module {module!r}")
    return main


def _run(line: str, capsys) -> str:
    module, argv = _argv(line)
    code = _main(module)(argv)
    out, err = capsys.readouterr()
    assert code in (0, None), f"{line}: exit {code}: {err}"
    assert "Traceback" not in err and out.strip(), (line, err)
    return out


# ----------------------------------------------------------------------------- reading the output
def _printed(out: str) -> dict:
    """The printed result as {key: value}: JSON as it is; a table's lines as {key: text}."""
    if out.lstrip().startswith("{"):
        return json.loads(out)
    return {k: v.strip() for k, _, v in (ln.partition(" ") for ln in out.splitlines() if ln.strip())}


def _series_ends(v) -> tuple[str, str]:
    """First and last value of a printed series: a JSON list, or a table's ``[a, b, ... (N more) ..., z]``."""
    if isinstance(v, list):
        return v[0], v[-1]
    items = [x.strip() for x in v.strip("[]").split(",")]
    return items[0], items[-1]


def _agrees(want: str, got) -> bool:
    """``got`` (printed) agrees with ``want`` (README text): the same string, or the same number to
    the digits ``want`` is written with."""
    got = "null" if got is None else str(got).lower() if isinstance(got, bool) else got
    try:
        w, g = float(want), float(got)
    except (TypeError, ValueError):
        return str(got) == want
    decimals = len(want.split(".")[1]) if "." in want else 0
    return math.isclose(g, w, abs_tol=0.5 * 10.0 ** -decimals + 1e-12 * abs(w))


def check_row(printed: dict, expected: dict, line: str) -> None:
    for key, want in expected.items():
        assert key in printed, f"README table: {line!r} prints no key {key!r}"
        got = printed[key]
        if " -> " in want:
            ends = [w.strip() for w in want.split(" -> ")]
            assert all(_agrees(w, g) for w, g in zip(ends, _series_ends(got))), (line, key, want, got)
        else:
            assert _agrees(want, got), f"README table: {line!r}: {key} is {want}, printed {got}"


# ----------------------------------------------------------------------------- the tests
COMMANDS = readme_commands()
ROWS = dict(readme_rows())
QUICK = [c for c in COMMANDS if c not in SLOW]


def test_the_readme_names_its_commands_and_rows_consistently():
    assert len(COMMANDS) >= 10, COMMANDS
    assert SLOW <= set(COMMANDS), f"SLOW names commands the README no longer has: {SLOW - set(COMMANDS)}"
    plain = {c.replace(" --json", "") for c in COMMANDS}
    assert not set(ROWS) - plain, f"README table rows without a command above: {set(ROWS) - plain}"
    assert all(ROWS.values()), "every README table row gives at least one `key value`"


@pytest.mark.parametrize("line", COMMANDS)
def test_every_command_parses(line):
    """Every command, slow ones too, is accepted by its parser (a quick check of the slow ones)."""
    module, argv = _argv(line)
    if module == "linparity":
        from linparity.cli import build_parser
        build_parser(with_transformer=argv[:1] == ["transformer"]).parse_args(argv)
    elif module == "linparity.studies":
        from linparity.studies.__main__ import build_parser
        build_parser().parse_args(argv)
    else:
        from proofs.__main__ import parse
        parse(argv)


def _check(line: str, capsys) -> None:
    printed = _printed(_run(line, capsys))
    row = ROWS.get(line.replace(" --json", ""))
    if row is not None:
        check_row(printed, row, line)


@pytest.mark.parametrize("line", QUICK)
def test_quick_command_prints_the_table(line, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    _check(line, capsys)


@pytest.mark.slow
@pytest.mark.parametrize("line", sorted(c for c in SLOW if " sweep " not in c))
def test_slow_command_prints_the_table(line, capsys, monkeypatch):
    if " transformer " in line:
        pytest.importorskip("torch", reason="the transformer example needs the transformer extra (torch): "
                                             "pip install -e '.[transformer]'")
    monkeypatch.chdir(ROOT)
    _check(line, capsys)


@pytest.mark.slow
def test_sweep_example_runs_and_shows(tmp_path, capsys, monkeypatch):
    """The sweep lines in README order, in a copy of examples/ (the spec writes next to itself)."""
    (tmp_path / "examples").mkdir()
    shutil.copy(ROOT / "examples" / "f5.toml", tmp_path / "examples" / "f5.toml")
    monkeypatch.chdir(tmp_path)
    for line in (c for c in COMMANDS if " sweep " in c):
        _check(line, capsys)
    assert (tmp_path / "examples" / "runs" / "f5").is_dir()


@pytest.mark.parametrize("out,key,want,ok", [
    ('{"a": 0.24891}', "a", "0.2489", True),
    ('{"a": 0.24896}', "a", "0.2489", False),
    ('{"a": null}', "a", "null", True),
    ('{"a": 0}', "a", "null", False),
    ('{"a": [0.1, 0.5, 0.853]}', "a", "0.1 -> 0.853", True),
    ('{"a": [0.1, 0.5, 0.86]}', "a", "0.1 -> 0.853", False),
    ("a    [0.1, 0.2, ... (3 more; --json for all) ..., 0.853]\nb  refit (population)", "a", "0.1 -> 0.853", True),
    ("a    [0.1, 0.2, ... (3 more; --json for all) ..., 0.853]\nb  refit (population)", "b",
     "refit (population)", True),
    ("a    1\nb  true", "b", "true", True),
    ("a    1\nb  true", "c", "1", False),
])
def test_the_row_check_can_fail(out, key, want, ok):
    """The checker itself: a value off in its last written digit, or a missing key, fails."""
    if ok:
        check_row(_printed(out), {key: want}, "example")
    else:
        with pytest.raises(AssertionError):
            check_row(_printed(out), {key: want}, "example")


def test_the_f5_output_folder_is_ignored_and_shipped_results_are_not():
    """examples/f5.toml writes examples/runs/f5 (a run, git-ignored); the other folders there are
    committed results of the other specs and must stay tracked."""
    git = shutil.which("git")
    if git is None or not (ROOT / ".git").exists():
        pytest.skip("needs git and a git checkout (a source archive has no .git): what git ignores cannot be "
                    "asked otherwise")
    ignored = subprocess.run([git, "check-ignore", "-q", "examples/runs/f5/x.npz"], cwd=ROOT)
    assert ignored.returncode == 0
    shipped = subprocess.run([git, "ls-files", "examples/runs"], cwd=ROOT, capture_output=True, text=True).stdout
    first = shipped.splitlines()[0]
    assert subprocess.run([git, "check-ignore", "-q", "--no-index", first], cwd=ROOT).returncode == 1


class _Terminal(io.StringIO):
    """A stderr that says it is a terminal, as the README's long commands see one."""

    def isatty(self):
        return True


@pytest.mark.parametrize("argv,shows", [
    (["pretrain", "--d", "4", "--p-cot", "0.3", "--method", "exact", "--steps", "50"], "exact NTP d=4"),
    (["star", "--d", "4", "--p-cot", "0.3", "--rounds", "2", "--samples", "50", "--pretrain-steps", "0"],
     "2/2 rounds"),
])
def test_long_commands_show_progress_on_a_terminal(argv, shows, monkeypatch, capsys):
    """The README's progress promise (``pretrain --method exact`` at d = 10 runs ~1 min): on a
    terminal stderr shows it; captured, stderr stays clean (checked by the commands above)."""
    from linparity.cli import main
    err = _Terminal()
    monkeypatch.setattr("sys.stderr", err)
    assert main(argv) == 0
    assert shows in err.getvalue()


STAR = ["star", "--d", "4", "--p-cot", "0.3", "--rounds", "1", "--pretrain-steps", "0"]


@pytest.mark.parametrize("extra,code,err", [
    ([], 2, "error: --samples: required with method 'sgd'"),
    (["--method", "sgd"], 2, "error: --samples: required with method 'sgd'"),
    (["--method", "closed-form"], 0, ""),
    (["--method", "exact"], 0, ""),
    (["--method", "closed-form", "--samples", "10"], 0, "note: --samples is ignored by --method closed-form"),
    (["--method", "exact", "--samples", "10"], 0, "note: --samples is ignored by --method exact"),
    (["--method", "sgd", "--samples", "10"], 0, ""),
])
def test_star_samples_is_for_sgd_only(extra, code, err, capsys):
    """``--samples`` is required with sgd (one line naming it, exit 2) and ignored, with a note, by
    the population methods, which report ``samples`` null."""
    from linparity.cli import main
    assert main(STAR + extra + ["--json"]) == code
    out, got = capsys.readouterr()
    lines = got.strip().splitlines()
    assert len(lines) == (1 if err else 0) and (not err or lines[0].startswith(err)), got
    if code == 0:
        assert (json.loads(out)["samples"] is None) == ("sgd" not in extra)


@pytest.mark.parametrize("n", [0, 1, 12, 13, 50])
def test_the_table_shows_null_true_and_how_many_values_it_leaves_out(n):
    from linparity.cli.output import table
    series = [float(i) for i in range(n)]
    text = table({"a": None, "b": True, "s": series, "o": {"x": None, "y": [1.0, 2.0]}})
    got = dict(ln.split(None, 1) for ln in text.splitlines())
    assert got["a"] == "null" and got["b"] == "true" and got["o"] == "x=null, y=[1, 2]"
    if n <= 12:
        assert got["s"] == "[" + ", ".join(f"{i}" for i in range(n)) + "]"
    else:
        assert f"... ({n - 12} more; --json for all) ..." in got["s"]
        assert got["s"].startswith("[0, 1,") and got["s"].endswith(f", {n - 1}]")
