"""Sphinx directive ``cli-help``: the ``--help`` text of an argparse parser and of every sub-command.

Usage (MyST)::

    ```{cli-help} linparity.cli.parse:build_parser
    :prog: python -m linparity
    ```

The argument names a zero-argument callable returning an ``argparse.ArgumentParser``, or a string
attribute holding a usage text (``proofs.__main__:USAGE``). Each parser becomes a section titled by its
command line, holding its help verbatim, so the reference is generated from the parsers the CLI runs.
"""
from __future__ import annotations

import argparse
import importlib
import os

from docutils import nodes
from docutils.parsers.rst import Directive, directives


def _load(target: str):
    module, _, attr = target.partition(":")
    obj = getattr(importlib.import_module(module), attr)
    return obj() if callable(obj) else obj


def _walk(parser: argparse.ArgumentParser, prog: str):
    """(command line, help text) of ``parser`` and, depth first, of each of its sub-commands."""
    parser.prog = prog
    yield prog, parser.format_help()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _walk(sub, f"{prog} {name}")


class CliHelp(Directive):
    required_arguments = 1
    option_spec = {"prog": directives.unchanged_required}

    def run(self):
        os.environ["COLUMNS"] = "100"          # argparse wraps to the terminal width: fix it
        target = _load(self.arguments[0])
        prog = self.options.get("prog", self.arguments[0])
        pairs = [(prog, target)] if isinstance(target, str) else list(_walk(target, prog))
        out = []
        for title, text in pairs:
            section = nodes.section(ids=[nodes.make_id("cli " + title)])
            section += nodes.title(text=title)
            section += nodes.literal_block(text, text)
            out.append(section)
        return out


def setup(app):
    app.add_directive("cli-help", CliHelp)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
