"""The architecture that keeps the three routes independent, checked.

* the import-linter contracts of setup.cfg hold, and a violating import breaks them (shown on a
  copy of the package with one forbidden import added);
* no private (underscore) name is imported across modules, neither by ``from m import _x`` nor by
  ``module._x`` attribute access on an imported module;
* one step-count name per meaning: no public signature or record field uses a retired spelling
  (``steps``, ``rounds``, ``samples`` and ``pretrain_steps`` are the names, as on the CLI);
* the doctests of the closed-form entry points run.
"""
from __future__ import annotations

import ast
import doctest
import importlib
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("linparity", "proofs")


def _lint(cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command;"
                           " sys.exit(lint_imports_command())", "--config", "setup.cfg", "--no-cache"],
                          cwd=cwd, capture_output=True, text=True, env={"PYTHONPATH": str(cwd), "PATH": ""})


def test_import_contracts_hold():
    res = _lint(ROOT)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "6 kept, 0 broken" in res.stdout, res.stdout


def _lint_with(tmp_path, module: str, line: str) -> subprocess.CompletedProcess:
    """The contracts on a copy of the package with ``line`` appended to ``module`` (a path)."""
    for pkg in PACKAGES:
        shutil.copytree(ROOT / pkg, tmp_path / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "setup.cfg", tmp_path / "setup.cfg")
    target = tmp_path / module
    target.write_text(target.read_text() + f"\n{line}  # noqa: E402,F401\n")
    return _lint(tmp_path)


def test_import_contracts_catch_a_route_importing_another(tmp_path):
    # the closed form reaching into the exact route: the independence, core-only and layer
    # contracts must all report it
    res = _lint_with(tmp_path, "linparity/closed_form/ntp.py", "from ..exact import ntp as _violation")
    assert res.returncode == 1
    assert "linparity.closed_form.ntp -> linparity.exact.ntp" in res.stdout
    assert "4 kept, 2 broken" in res.stdout, res.stdout


def test_import_contracts_catch_commands_importing_the_figure_drivers(tmp_path):
    res = _lint_with(tmp_path, "linparity/commands.py", "from .experiments import extensions as _violation")
    assert res.returncode == 1
    assert "linparity.commands -> linparity.experiments.extensions" in res.stdout
    assert "5 kept, 1 broken" in res.stdout, res.stdout


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _violations(path: Path, source: str | None = None, name: str | None = None) -> list[str]:
    """Private names imported from, or read off, another module in ``path`` (or in ``source``, read
    as module ``name`` at ``path``)."""
    tree = ast.parse(path.read_text() if source is None else source, str(path))
    name = _module_name(path) if name is None else name
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out, modules = [], set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = importlib.util.resolve_name("." * node.level + (node.module or ""), package) \
                if node.level else (node.module or "")
            for a in node.names:
                full = f"{base}.{a.name}"
                is_module = importlib.util.find_spec(full) is not None if base.split(".")[0] in PACKAGES \
                    and _is_package(base) else False
                if is_module:
                    modules.add(a.asname or a.name)
                    # a private module of the same package is that package's own business
                    if _private(a.name) and base != package:
                        out.append(f"{name}: imports private module {full}")
                elif _private(a.name) and base.split(".")[0] in PACKAGES:
                    out.append(f"{name}: imports private name {a.name} from {base}")
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] in PACKAGES:
                    modules.add(a.asname or a.name.split(".")[0])
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id in modules and _private(node.attr)):
            out.append(f"{name}: reads {node.value.id}.{node.attr}")
    return out


def _is_package(modname: str) -> bool:
    try:
        spec = importlib.util.find_spec(modname)
    except (ImportError, ValueError):
        return False
    return spec is not None and spec.submodule_search_locations is not None


def test_no_private_name_crosses_a_module():
    files = [p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))]
    assert len(files) > 40
    bad = [v for p in files for v in _violations(p)]
    assert bad == []


def test_private_name_check_can_fail():
    # the checker itself: a module that reads a private helper of another module is reported (the
    # module is a string read as linparity.experiments._probe; nothing is written into the package)
    v = _violations(ROOT / "linparity" / "experiments" / "_probe.py",
                    "from .. import closed_form as cf\nfrom ..closed_form.ntp import _mixture\nx = cf._types\n",
                    "linparity.experiments._probe")
    assert any("imports private name _mixture" in s for s in v)
    assert any("reads cf._types" in s for s in v)


# retired spellings of a step count, and the name that replaced each (library errors name the
# argument, and the CLI maps that name onto its option, so the two must agree)
RETIRED = {"n_steps": "steps", "n_iter": "steps", "n_rounds": "rounds"}


def _retired_names(path: Path, source: str | None = None) -> list[str]:
    """Public function parameters and class fields in ``path`` (or ``source``) spelled as in RETIRED."""
    tree = ast.parse(path.read_text() if source is None else source, str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not _private(node.name):
            a = node.args
            for arg in a.posonlyargs + a.args + a.kwonlyargs:
                if arg.arg in RETIRED:
                    out.append(f"{path.name}:{node.lineno} {node.name}({arg.arg}): use {RETIRED[arg.arg]}")
        elif isinstance(node, ast.ClassDef) and not _private(node.name):
            for st in node.body:
                if isinstance(st, ast.AnnAssign) and isinstance(st.target, ast.Name) and st.target.id in RETIRED:
                    out.append(f"{path.name}:{st.lineno} {node.name}.{st.target.id}: use {RETIRED[st.target.id]}")
    return out


def test_one_step_count_name_per_meaning():
    files = sorted((ROOT / "linparity").rglob("*.py"))
    assert [v for p in files for v in _retired_names(p)] == []


@pytest.mark.parametrize("source", ["def pretrain(d, p, n_steps):\n    pass\n",
                                    "def f(*, n_iter=1):\n    pass\n",
                                    "class R:\n    n_rounds: int\n"])
def test_step_count_name_check_can_fail(source):
    assert len(_retired_names(ROOT / "linparity" / "_probe.py", source)) == 1


@pytest.mark.parametrize("modname", ["linparity.closed_form.ntp", "linparity.closed_form.rl",
                                     "linparity.heads", "linparity.model"])
def test_doctests(modname):
    mod = importlib.import_module(modname)
    assert isinstance(mod, types.ModuleType)
    res = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert res.failed == 0
    if modname.startswith("linparity.closed_form"):
        assert res.attempted > 0        # every closed-form module carries at least one example


def test_no_module_is_over_500_lines():
    """Modules are split along their seams: none of linparity/ or proofs/ is longer than 500 lines."""
    long = {str(p.relative_to(ROOT)): n for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))
            if (n := len(p.read_text().splitlines())) > 500}
    assert long == {}
