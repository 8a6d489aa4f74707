"""Symbolic (sympy) checks of every closed-form claim of THEORY.md, one small module per claim.

Each module has a one-sentence docstring stating its claim and a ``check() -> list[Result]``
that derives the claim with declared assumptions and evaluates it against linparity's own
closed-form functions. Run them all with ``python -m proofs``; pytest collects the same checks
(tests/test_proofs.py).
"""
from __future__ import annotations

import importlib

from ._report import Result, Status, table

#: claim modules in THEORY order (claims 1-9 of issue 4)
CLAIM_MODULES = ("lemma1_head1", "head2a_optimum", "greedy_threshold", "calibration", "star_recursion",
                 "trajectory_types", "amplification", "sample_complexity", "regularisation_bias")

__all__ = ["CLAIM_MODULES", "Result", "Status", "run_module", "run_all", "table"]


def run_module(name: str) -> list[Result]:
    """Run one claim module; an exception inside a proof is reported as a FAILED row."""
    try:
        return list(importlib.import_module(f"{__name__}.{name}").check())
    except Exception as exc:  # noqa: BLE001 - a crashing proof is a failed proof, reported not raised
        return [Result(name, Status.FAILED, f"raised {type(exc).__name__}: {exc}")]


def run_all() -> list[Result]:
    """Every row of every claim module, in CLAIM_MODULES order."""
    return [r for name in CLAIM_MODULES for r in run_module(name)]
