"""Sphinx configuration of the linparity documentation (``python -m sphinx -W -b html docs <out>``)."""
import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))                      # document this checkout, not an installed copy
sys.path.insert(0, str(Path(__file__).parent / "_ext"))

project = "linparity"
author = "linparity contributors"
release = "0.1.0"

extensions = ["myst_parser", "sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.mathjax", "clihelp"]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build"]
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3
# GitHub's slugs, so that the links of REPORT.md's contents table work on GitHub and here alike
myst_heading_slug_func = "github"

# The docstrings are numpydoc; they write maths as plain text (|x|, a*), which reST would read as
# substitutions and emphasis: _plain_maths keeps it literal.
napoleon_google_docstring = False
napoleon_numpy_docstring = True
autodoc_default_options = {"members": True, "ignore-module-all": True, "member-order": "bysource"}
autodoc_typehints = "none"
if importlib.util.find_spec("torch") is None:      # the transformer extra is optional
    autodoc_mock_imports = ["torch"]

html_theme = "alabaster"
html_title = "linparity"


def _plain_maths(app, what, name, obj, options, lines):
    """Escape ``|`` outside inline literals, so that |x| in a docstring stays an absolute value."""
    for i, line in enumerate(lines):
        parts = line.split("``")
        lines[i] = "``".join(p if k % 2 else p.replace("|", r"\|") for k, p in enumerate(parts))


def setup(app):
    app.connect("autodoc-process-docstring", _plain_maths)
