"""``python -m linparity.figures``: the theorem figures F1-F11, T1-T6 and figures/REPORT.md.

Each figure module draws what :mod:`linparity.experiments` computes (no model maths here) and
returns :class:`linparity.figures.report.FigureResult` with its caption, a one-line summary and
the REPORT.md rows of the claims it checks. :mod:`~linparity.figures.sections` sorts the rows into
the report's sections by theorem; :mod:`~linparity.figures.findings` generates the README's verdict
tables and numbers from the record. See :mod:`linparity.figures.cli` for the flags.
"""
from .cli import FIGURES, main, run_figures

__all__ = ["FIGURES", "main", "run_figures"]
