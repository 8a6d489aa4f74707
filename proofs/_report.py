"""Result type, sympy three-valued helpers, exact grid checks and the table of ``python -m proofs``.

A claim of ours is PROVED only when sympy answers ``True`` (compared with ``is True``; sympy's
``None``, "cannot decide", never counts), CHECKED when sympy cannot settle it but an exact
evaluation (rationals, or mpmath at 50 digits) on a stated grid confirms it, and FAILED when sympy
refutes it or any grid point, or the library's own closed form, disagrees (the counterexample is
reported). A statement of the SOURCE (THEORY's transcription) that the evidence shows false is
REFUTED, with the counterexample in the row; if the counterexample we claim does not hold, or the
library drifts from the exact values it was computed with, the row is FAILED instead.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import sympy as sp

DIGITS = 50                      # working precision of every numerical evaluation (decimal digits)
ZERO_TOL = sp.Float(10) ** -40   # |value| below this at 50 digits counts as 0 on a grid
#: the p grid used by every claim on D(p): exact rationals in (0, 1), both sides of 1/3
P_GRID = tuple(sp.Rational(n, m) for n, m in
               ((1, 1000), (1, 100), (1, 10), (1, 4), (1, 3), (1, 2), (2, 3), (3, 4), (9, 10), (99, 100)))


class Status(str, Enum):
    PROVED = "PROVED"    # sympy establishes it symbolically (answer ``True``)
    CHECKED = "CHECKED"  # exact / 50-digit evaluation on a stated grid; sympy alone could not decide
    REFUTED = "REFUTED"  # a statement of the source shown false; the detail holds the counterexample
    FAILED = "FAILED"    # a claim of ours did not hold; the detail holds the counterexample


@dataclass(frozen=True)
class Result:
    claim: str      # id and one-line statement, e.g. "1a head-1 optimum a* = ln((1+p)/(1-p))"
    status: Status  # PROVED, CHECKED, REFUTED or FAILED
    detail: str     # how it was settled (or the counterexample)


def sigma(z):
    """Logistic function 1/(1 + e^-z) as a sympy expression."""
    return 1 / (1 + sp.exp(-z))


def ell(m):
    """Logistic loss ln(1 + e^-m) as a sympy expression (THEORY §3)."""
    return sp.log(1 + sp.exp(-m))


def zero(expr):
    """sympy's three-valued answer to 'expr simplifies to 0': True, False or None."""
    return sp.simplify(expr).is_zero


def positive(expr):
    """sympy's three-valued answer to 'expr > 0 for every value the symbols' assumptions allow'."""
    e = sp.simplify(expr)
    return True if e.is_positive is True else (sp.factor(e).is_positive)


def all_true(*answers):
    """Three-valued AND of sympy answers: True if every one ``is True``, False if one is False, else None."""
    if any(x is False or x is sp.false for x in answers):
        return False
    return True if all(x is True or x is sp.true for x in answers) else None


def value(expr, point):
    """``expr`` at ``point`` (a dict symbol -> exact number), evaluated to DIGITS digits."""
    return sp.N(expr.subs(point), DIGITS)


def grid_zero(expr, points, name="expr") -> list[str]:
    """Counterexamples: points where |expr| > ZERO_TOL at 50 digits."""
    bad = []
    for pt in points:
        v = value(expr, pt)
        if not (abs(v) <= ZERO_TOL) is True:
            bad.append(f"{name} = {sp.N(v, 8)} at {pt}")
    return bad


def agree(name, lib, exact, where, rtol=1e-10, atol=1e-12):
    """Drift check of a library float against an exact value: a counterexample string or None."""
    ex = float(sp.N(exact, DIGITS)) if isinstance(exact, sp.Basic) else float(exact)
    if not abs(float(lib) - ex) <= atol + rtol * abs(ex):
        return f"library {name} = {float(lib)!r} != exact {ex!r} at {where}"
    return None


def settle(claim, proof, counterexamples, how) -> Result:
    """Combine sympy's answer ``proof`` (True/False/None) with the grid/library counterexamples.

    FAILED if any counterexample exists or sympy answers False; PROVED only if ``proof is True``;
    otherwise CHECKED (the grid stated in ``how`` carries the claim).
    """
    bad = [c for c in counterexamples if c]
    if bad:
        more = f" (+{len(bad) - 3} more)" if len(bad) > 3 else ""
        return Result(claim, Status.FAILED, "counterexample: " + "; ".join(bad[:3]) + more + " || checked: " + how)
    if proof is False or proof is sp.false:
        return Result(claim, Status.FAILED, "sympy refutes it; " + how)
    if proof is True or proof is sp.true:
        return Result(claim, Status.PROVED, how)
    return Result(claim, Status.CHECKED, "sympy undecided (None); " + how)


def refute(claim, violations, drift, how) -> Result:
    """Verdict on a statement of the source that we claim is false.

    ``violations``: counterexample strings, each already verified (at DIGITS digits) to violate the
    stated claim; ``drift``: counterexamples to our own computations (library vs exact, or a lemma
    the refutation rests on). REFUTED needs at least one violation and no drift; otherwise FAILED,
    because then it is our claim (that the source is wrong, and why) that did not hold.
    """
    drift = [c for c in drift if c]
    if drift:
        return Result(claim, Status.FAILED, "our computation failed: " + "; ".join(drift[:3]) + " || " + how)
    bad = [c for c in violations if c]
    if not bad:
        return Result(claim, Status.FAILED, "expected counterexample not found || " + how)
    more = f" (+{len(bad) - 2} more)" if len(bad) > 2 else ""
    return Result(claim, Status.REFUTED, "counterexample: " + "; ".join(bad[:2]) + more + " || " + how)


def table(results) -> str:
    """The ``claim | status | detail`` table, one row per result."""
    w = max(len(r.claim) for r in results)
    lines = [f"{'claim'.ljust(w)} | status  | detail", f"{'-' * w}-+---------+-{'-' * 40}"]
    lines += [f"{r.claim.ljust(w)} | {r.status.value.ljust(7)} | {r.detail}" for r in results]
    return "\n".join(lines)


def theta_uv(a, u, v, chain, d):
    """Reduced state (a, b, c, c_2..c_d) ``(d+2,)`` as floats from the stop logits u = b+c, v = b-c."""
    import numpy as np
    a, u, v, chain = (float(x) for x in (a, u, v, chain))
    return np.array([a, (u + v) / 2, (u - v) / 2] + [chain] * (d - 1))
