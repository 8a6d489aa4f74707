"""Prose generated from the stored results: named statements and the README's verdict tables.

Every number the README (or a page under ``docs/``) states about a result comes from a statement of
:data:`STATEMENTS`: a function of the stored results (the record ``figures/report.json``: the
REPORT rows and the table of ``python -m proofs``; and the shipped runs under ``examples/runs``)
that returns Markdown with its numbers. A document marks a generated block as::

    <!-- generated:NAME -->
    ...
    <!-- /generated -->

and :func:`rewrite` replaces the text between the markers with ``STATEMENTS[NAME](data)``.
``python -m linparity.figures`` does so after writing the report (:func:`rewrite_docs`), and
tests/test_generated.py checks that the committed blocks equal the generator's output on the
committed data, so no number in them can drift from the record.

The verdict tables (``verdicts-*``) have one row per claim of :data:`CLAIMS`: the claim, its
verdict (holds / holds with correction / deviates / refuted / untested) computed from the REPORT
rows and proofs rows it rests on, the cause where it does not hold (finite lambda, finite N,
variant, floating point, budget), the figure and the command that shows it. A claim whose rows are
not recorded yet (F12, F13, T7) reads "untested" until a run records them.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..experiments import iteration as it
from ..experiments import design as dz
from ..experiments import floor_n as fn
from .._io import atomic_write_text
from . import iteration
from .report import REPORT_JSON, proof_counts
from .sections import section_of

__all__ = ["Claim", "CLAIMS", "STATEMENTS", "Data", "verdict", "rewrite", "rewrite_docs", "BLOCK", "designed_text"]

#: a generated block: its name, then the generated text, up to the closing marker
BLOCK = re.compile(r"(<!-- generated:([a-z0-9-]+) -->\n)(.*?)(<!-- /generated -->)", re.S)


@dataclass
class Data:
    """The stored results a statement reads: the report record and the folder of shipped runs."""
    record: dict          # figures/report.json, parsed
    root: Path            # the folder the figure images are linked from (the record's folder)
    runs: Path | None = None   # examples/runs (None: $LINPARITY_RUNS or examples/runs when first needed)

    @classmethod
    def load(cls, out, runs=None) -> "Data":
        out = Path(out)
        return cls(json.loads((out / REPORT_JSON).read_text()), out, runs)

    def rows(self, figure=None, section=None, claim=""):
        """The REPORT rows (dicts) of ``figure`` and/or ``section`` whose claim matches regex ``claim``."""
        return [r for f in self.record["figures"] for r in f["rows"]
                if (figure is None or r["figure"] == figure) and re.search(claim, r["claim"])
                and (section is None or section_of(r["figure"], r["claim"]) == section)]

    def proof(self, row_id):
        rows = [p for p in (self.record.get("proofs") or {}).get("rows", []) if p["id"] == row_id]
        return rows[0] if rows else None


def _verdict(row) -> str:
    return "SKIPPED" if row["skipped"] else "PASS" if row["passed"] else "DEVIATION"


@dataclass(frozen=True)
class Claim:
    """One row of a README verdict table."""
    table: str        # "theorem1", "theorem2", "extensions", "transformer"
    text: str         # the claim, short
    evidence: tuple   # selectors: "sec:ID", "fig:F1" or "fig:F5:REGEX" (REPORT rows), "proof:9b"
    cause: str        # why it does not hold where it does not (shown only then)
    figure: str       # figure name(s) shown, e.g. "F1"
    command: str      # the command that shows it
    corrected: bool = False   # the claim is the toolkit's corrected form of a stated one


def _only(fig):
    return f"python -m linparity.figures --only {fig}"


CLAIMS = (
    Claim("theorem1", "NTP then greedy decoding: accuracy 1/2 for p < 1/3, 1 for p > 1/3 (d >= 3)", ("sec:thm1-threshold",),
          "finite N (Algorithm 3's T at d = 50)", "F1", _only("F1")),
    Claim("theorem1", "The regularised optimum's threshold is exactly 1/3 for every lambda_2a > 0", ("proof:3a", "proof:3b"),
          "", "proofs 3", "python -m proofs --only 3"),
    Claim("theorem1", "Length calibration: pi(L(x)|x) = p and pi(S(x)|x) = (1-p)/2", ("sec:thm1-calibration",),
          "finite lambda (the chain factor sigma(c*)^(d-1))", "F2", _only("F2")),
    Claim("theorem1", "Prop 1's bias term, both stated forms (lambda_1 in the denominator)", ("proof:9b", "proof:10a"),
          "lambda_1 inverted: the term grows as lambda_1 shrinks", "proofs 9b, 10a", "python -m proofs --only 9b,10a"),
    Claim("theorem1", "Prop 1's bias term with lambda_1 in the numerator", ("proof:9d", "proof:10b"),
          "", "proofs 9d, 10b", "python -m proofs --only 9d,10b", corrected=True),
    Claim("theorem1", "Props 1-3: Algorithm 3's errors stay below the bounds with probability 1 - delta",
          ("fig:F6:<= bound",), "", "F6", _only("F6")),
    Claim("theorem1", "Props 2-3: the bias terms bound the exact regularisation bias", ("fig:F6:Prop [23] bias",),
          "", "F6", _only("F6")),
    Claim("theorem2", "STaR's kept set follows p_{n+1} = 2p_n/(1+p_n); n* = Theta(log(1/p)) rounds",
          tuple(f"proof:5{c}" for c in "abcdef"), "", "proofs 5", "python -m proofs --only 5"),
    Claim("theorem2", "The model's pi(L) follows the ideal recursion round by round", ("sec:thm2-recursion",),
          "finite lambda (the map saturates below 1; step 1 drifts with q_n)", "F3, F11", _only("F3,F11")),
    Claim("theorem2", "Rounds to generalise = n*(p) (against p)", ("sec:thm2-rounds-p",),
          "variant (STaR 'continue' takes SGD steps, not refits) and finite lambda", "F4", _only("F4")),
    Claim("theorem2", "Rounds to generalise do not depend on d: the exact map", ("fig:F12:exact map",), "", "F12",
          _only("F12")),
    Claim("theorem2", "Rounds to generalise do not depend on d: STaR as run ('continue' at fixed lr, 'refit')",
          ("fig:F12:[(](continue|refit)",), "variant, finite N (at a fixed step the weights off the subspace grow with d; refit: kept set too small)",
          "F12", _only("F12")),
    Claim("theorem2", "Rounds to generalise do not depend on d: 'continue' with lr = 4/d (measured remedy)",
          ("fig:F12:lr = 4/d",), "", "F12", _only("F12")),
    Claim("theorem2", "Total samples poly(d) with exact refits (sufficient-statistics route), slope as (1+n*)/p",
          ("fig:F5:sufficient-statistics route",), "finite N", "F5", _only("F5")),
    Claim("theorem2", "Props 1-3 at the run's own lambdas certify the full-weight pre-training floor p T_90",
          ("fig:F5:certify the floor",), "budget (the grid, placed by a d^2 prior, misses the floor at small d)", "F5",
          _only("F5")),
    Claim("theorem2", "Design check: the floor is not bound by the round inputs N", ("fig:F5:not bound by N",),
          "finite N (at N = B(d) the floor is higher than at 2N)", "F5", _only("F5")),
    Claim("theorem2", "Design check: the floor stops depending on N from N = 4 B(d)", ("fig:F5:does not depend on N",),
          "finite N (T_90 keeps falling as N grows: a round's inputs stand in for pre-training samples)", "F5",
          _only("F5")),
    Claim("theorem2", "STaR's rounds add no power of d to the total samples", ("fig:F13",),
          "variant (rounds grow with d at a fixed step size, F12)", "F13", _only("F13")),
    Claim("theorem2", "NTP alone never generalises below p = 1/3", ("fig:F5:next-token prediction alone",),
          "", "F5", _only("F5")),
    Claim("theorem2", "RL from too early a checkpoint fails, from a later one succeeds", ("sec:thm2-too-early",),
          "finite N", "F8", _only("F8")),
    Claim("theorem2", "REINFORCE and GRPO follow the expected policy-gradient dynamics and lengthen responses",
          ("sec:pg",), "finite N", "F7", _only("F7")),
    Claim("extensions", "The three routes agree (closed form = enumeration = population Pegasos)", ("sec:routes",),
          "floating point", "F2, F3, F6, F7", _only("F2,F3,F6,F7")),
    Claim("extensions", "Hypothesis: the exact maps predict where finite-sample STaR succeeds", ("sec:hyp-maps",),
          "finite N (few kept long samples, SGD steps instead of refits)", "F3, F8", _only("F3,F8")),
    Claim("extensions", "Hypothesis: full weights need the shortcut's d-exponent of samples", ("sec:hyp-shortcut",),
          "finite N (every head estimated from samples)", "F5", _only("F5")),
    Claim("extensions", "Hypothesis: today's lambda_chain = 0.01/d needs no more samples than other schedules",
          ("fig:F5:Today's lam_chain",), "finite lambda", "F5", _only("F5")),
    Claim("extensions", "Hypothesis: the chain is the head that fails first", ("sec:hyp-heads",),
          "finite N (the stop head fails first at small d)", "F5", _only("F5")),
    Claim("extensions", "Noisy demonstrations: the subspace survives; greedy and RL as predicted", ("sec:ext-noise",),
          "finite N", "F9", _only("F9")),
    Claim("extensions", "Length penalty: long answers win iff beta < 1/2", ("fig:F10:iff beta < 1/2",),
          "finite lambda (the threshold is prod kappa - 1/2)", "F10", _only("F10")),
    Claim("extensions", "Length penalty: expected and simulated PG flip at beta* = prod kappa - 1/2",
          ("fig:F10:beta=",), "finite N", "F10", _only("F10")),
    Claim("extensions", "Leap-2 partial chains let NTP generalise below p = 1/3", ("sec:ext-leap2",),
          "budget (the leap-2 chain is not learned in 600 steps)", "T6", _only("T6")),
    Claim("extensions", "Theorem 1 at p = 1/3 exactly: greedy decoding right", ("fig:F11:p = 1/3",),
          "floating point (1/3 is not a binary float)", "F11", _only("F11")),
    Claim("extensions", "Theorem 1 for p >= 3/4 (outside its range): right and calibrated", ("fig:F11:outside",),
          "finite lambda (calibration error grows with p)", "F11", _only("F11")),
    Claim("transformer", "NTP threshold at 1/3 and length calibration (d = 16)", ("fig:T1",), "finite N", "T1",
          _only("T1")),
    Claim("transformer", "STaR after NTP at p = 0.2 generalises as the recursion predicts (d = 16)", ("fig:T2",),
          "finite N", "T2", _only("T2")),
    Claim("transformer", "Threshold sweep around 1/3 (d = 12)", ("fig:T3",), "budget (600 steps: a step, not sharp)",
          "T3", _only("T3")),
    Claim("transformer", "RL grid: STaR with r_e2e at tau = 1.5 fails, the rest generalise (d = 12)", ("fig:T4",),
          "finite N", "T4", _only("T4")),
    Claim("transformer", "STaR from too early a checkpoint fails despite length growth (d = 12)", ("fig:T5",),
          "variant (the length shrinks, as in the linear model)", "T5", _only("T5")),
    Claim("transformer", "Multiplication (n = 2): NTP learns it from long demonstrations only, not from the "
          "mixture at p = 0.3", ("fig:T7:NTP",), "finite N", "T7", _only("T7")),
    Claim("transformer", "Multiplication (n = 2): STaR and GRPO from the mixture checkpoint raise accuracy and "
          "lengthen answers", ("fig:T7:raises accuracy",), "finite N", "T7", _only("T7")),
    Claim("transformer", "Multiplication (n = 2): STaR and GRPO then learn the product (accuracy >= 0.9)",
          ("fig:T7:checkpoint learns the product",), "budget (accuracy still rising when the rounds end)", "T7", _only("T7")),
)

#: verdict words of the README tables
WORDS = ("holds", "holds with correction", "deviates", "refuted", "untested")


def _evidence(data: Data, claim: Claim) -> list:
    """The verdicts (PASS, DEVIATION, SKIPPED, PROVED, CHECKED, REFUTED, FAILED) the claim rests on."""
    out = []
    for sel in claim.evidence:
        kind, _, rest = sel.partition(":")
        if kind == "sec":
            out += [_verdict(r) for r in data.rows(section=rest)]
        elif kind == "fig":
            fig, _, rx = rest.partition(":")
            out += [_verdict(r) for r in data.rows(figure=fig, claim=rx)]
        else:
            p = data.proof(rest)
            out += [p["status"]] if p else []
    return out


def verdict(data: Data, claim: Claim) -> tuple[str, int, int]:
    """(word of WORDS, rows that do not hold, rows measured) for ``claim`` on ``data``."""
    v = [x for x in _evidence(data, claim) if x != "SKIPPED"]
    bad = sum(x in ("DEVIATION", "FAILED", "REFUTED") for x in v)
    if not v:
        return "untested", 0, 0
    if "REFUTED" in v:
        return "refuted", bad, len(v)
    if bad:
        return "deviates", bad, len(v)
    return ("holds with correction" if claim.corrected else "holds"), 0, len(v)


def _figure_link(data: Data, names: str) -> str:
    links = []
    for name in (n.strip() for n in names.split(",")):
        imgs = sorted(data.root.glob(f"{name}_*.png")) + sorted(data.root.glob(f"{name}.png"))
        links.append(f"[{name}]({data.root.name}/{imgs[0].name})" if imgs and not name.startswith("proofs") else name)
    return ", ".join(links)


def verdict_table(table: str):
    """The statement: the README verdict table ``table`` (Markdown), one row per claim of CLAIMS."""
    def statement(data: Data) -> str:
        lines = ["| claim | verdict | cause where it deviates | figure | command |", "|---|---|---|---|---|"]
        for c in (c for c in CLAIMS if c.table == table):
            word, bad, n = verdict(data, c)
            count = "" if word == "untested" else f" ({n - bad}/{n} rows hold)"
            cause = c.cause if word in ("deviates", "refuted") else "-"
            lines.append(f"| {c.text.replace('|', '&#124;')} | **{word}**{count} | {cause} | {_figure_link(data, c.figure)} "
                         f"| `{c.command}` |")
        return "\n".join(lines)
    return statement


def report_counts(data: Data) -> str:
    rows = [r for f in data.record["figures"] for r in f["rows"]]
    v = [_verdict(r) for r in rows]
    n = proof_counts(data.record.get("proofs"))
    skipped = f", {v.count('SKIPPED')} SKIPPED" if "SKIPPED" in v else ""
    return (f"`figures/REPORT.md` checks {len(rows)} claims: {v.count('PASS')} PASS, {v.count('DEVIATION')} DEVIATION"
            f"{skipped}; `python -m proofs` settles {sum(n.values())} rows: {n['PROVED']} PROVED, {n['CHECKED']} "
            f"CHECKED, {n['REFUTED']} REFUTED, {n['FAILED']} FAILED.")


def prop1_refuted(data: Data) -> str:
    parts = []
    for rid in ("9b", "10a"):
        p = data.proof(rid)
        if p is None:
            raise ValueError(f"statement prop1-refuted: proofs row {rid} is not recorded")
        parts.append(f"{rid} **{p['status']}**, {p['detail'].split(' || ')[0].split('; ')[0]}")
    return "Prop 1 as stated (`python -m proofs --only 9b,10a`): " + "; ".join(parts) + "."


def _num(pattern, text, what):
    m = re.search(pattern, text)
    if m is None:
        raise ValueError(f"statement {what}: cannot read {pattern!r} in {text!r}")
    return m


def bounds_ratio(data: Data) -> str:
    rows = data.rows(figure="F6", claim="<= bound")
    if not rows:
        raise ValueError("statement bounds-ratio: no F6 bound rows recorded")
    by: dict = {}
    for r in rows:
        ratio = _num(r"max measured/bound = ([0-9.e+-]+)", r["measured"], "bounds-ratio")[1]
        by.setdefault(r["claim"].split(":")[0], []).append(ratio)
    held = all(r["passed"] for r in rows)
    return (f"Props 1-3's high-probability bounds {'hold' if held else 'do not all hold'} at every T and replicate "
            "of F6; the largest ratios measured/bound are " + ", ".join(f"{k} {' and '.join(v)}" for k, v in by.items())
            + ": the bounds are loose by that factor.")


def rounds_gap(data: Data) -> str:
    parts, n_p = [], None
    for r in data.rows(figure="F4", claim="offset pooled"):
        ref = _num(r"= (n\*\([a-zA-Z_0-9()]+\)), offset pooled", r["claim"], "rounds-gap")[1]
        off = _num(r"^([0-9.+-]+ \+- [0-9.]+)", r["measured"], "rounds-gap")[1]
        n_p = _num(r"pooled over ([0-9]+) p", r["claim"], "rounds-gap")[1]
        parts.append(f"{off} rounds more than {ref}")
    if not parts:
        raise ValueError("statement rounds-gap: no pooled F4 simulation rows recorded")
    return f"Simulated STaR ('continue') takes {' and '.join(parts)}, pooled over {n_p} values of p (F4)."


def worst_head(data: Data) -> str:
    chain, other, small, low = [], [], [], []
    for r in data.rows(section="hyp-heads"):
        low += [h for d, h in re.findall(r"d=(\d+): ([a-z0-9-]+)", r["measured"]) if int(d) < 32 and h != "-"]
        label = re.split(r" \(|:", r["claim"].split("first, ", 1)[-1])[0]
        big = {int(d): h for d, h in re.findall(r"d=(\d+): ([a-z0-9-]+)", r["measured"]) if int(d) >= 32 and h != "-"}
        if not big:
            small.append(label)
        elif all(h == "chain" for h in big.values()):
            chain.append(label)
        else:
            other.append(f"{label} (" + ", ".join(f"d = {d}: {h}" for d, h in sorted(big.items()) if h != "chain") + ")")
    n = len(chain) + len(other)
    return (f"At the budget just below success, the chain is the worst head at every d >= 32 in {len(chain)} of the "
            f"{n} sweeps that reach d = 32" + (f"; not in {', '.join(other)}" if other else "")
            + (f" ({', '.join(small)}: d <= 24 only)" if small else "")
            + f"; below d = 32 the worst head is the stop head at {low.count('stop')} of {len(low)} (sweep, d) points (F5).")


def samples_against_d(data: Data) -> str:
    """The sample-complexity statement: the full-weight against the sufficient-statistics exponent
    (F5's contrast rows), the rounds' growth (F13), and the designed experiment where it is shipped."""
    parts = []
    for r in data.rows(figure="F5", claim="^Contrast"):
        label = _num(r"^Contrast, (fixed p = [0-9.]+|p = d\^-[0-9.]+)", r["claim"], "samples-against-d")[1]
        full = _num(r"^full ([0-9.+-]+ ?\+- ?[0-9.]+)", r["measured"], "samples-against-d")[1]
        stats = _num(r"stats exponent ([0-9.+-]+ \+- [0-9.]+)", r["prediction"], "samples-against-d")[1]
        parts.append(f"{label}: d^({full}) against d^({stats})")
    if not parts:
        raise ValueError("statement samples-against-d: no F5 contrast rows recorded")
    grow = data.rows(figure="F13", claim="rounds do not grow")
    text = ("Total samples (pre-training + STaR, T = N = B runs of examples/runs, fitted over d) grow on full weights "
            "as " + "; ".join(parts) + " on the sufficient-statistics shortcut (F5)")
    if grow:
        text += (f"; STaR's rounds grow with d in {sum(not r['passed'] for r in grow)} of {len(grow)} settings "
                 "(local slopes with intervals, F13), so part of the total's growth is rounds")
    designed = designed_text(data.runs)
    return text + "." + (f" {designed}" if designed else "")


def _label(key) -> str:
    return f"p = d^-{key[1]:g}" if key[0] == "kappa" else f"p = {key[1]:g}"


def _iv(x, ci, digits=2) -> str:
    """A value with its 95% interval; an end outside the grid reads n/a."""
    ends = ", ".join("n/a" if v is None else f"{v:.{digits}f}" for v in ci)
    return f"{x:.{digits}f} [{ends}]"


def _exponent(fit) -> str:
    if fit["exponent"] is None:
        return "no exponent (b90 inside the grid at fewer than 2 d)"
    return f"d^{_iv(fit['exponent'], fit['ci'])} (d = {', '.join(str(int(x)) for x in fit['d'])})"


def designed_text(runs=None, n_boot=2000, rng=0) -> str:
    """The designed experiment's statement, generated from the shipped runs (examples/design_*.toml): the floor
    exponent per setting (long pre-training samples p T_90, at N = 4 B(d) where design_fine is shipped, else at
    N = B(d)), how T_90 depends on N (beta, T_90 ~ N^-beta), the total's exponent and the rounds' share, and the
    lambda_chain schedules of the latest shipped stage (their exponents and the one with the smallest T_90 at
    each d); each number with its 95% bootstrap interval; '' when nothing is shipped."""
    g = np.random.default_rng(rng)
    first, fine = dz.designed_points("design-floor", runs), fn.fine_points(runs)
    if not first and not fine:
        return ""
    pooled = fn.pooled_curves(first + fine)
    groups, rule = fn.floor_groups(first, fine)
    parts, limits = [], []
    for k, grp in sorted(groups.items()):
        fit = dz.floor_fit(grp, n_boot, g)["fit"]
        last = f", local slope {_iv(fit['local'][-1]['slope'], fit['local'][-1]['ci'])} from d = " \
               f"{int(fit['local'][-1]['d'][0])} to {int(fit['local'][-1]['d'][1])}" if fit["local"] else ""
        parts.append(f"{_label(k)}: {_exponent(fit)}{last}")
        limits += [n - r for r, n in zip(grp.get("rounds_at_90", []), grp.get("n_max", []))
                   if r is not None and n is not None]
    text = (f"The designed experiment (examples/design_*.toml, 20 replicates a budget, 95% bootstrap intervals over "
            f"whole success curves): the pre-training floor p T_90 at {rule} grows as " + "; ".join(parts) + ".")
    if limits:
        text += (" T_90 is a floor within the round limit n*(p) + 10: at the first budget where >= 90% generalise, "
                 f"those replicates stop {min(limits):.1f}-{max(limits):.1f} rounds short of it on average, at every "
                 "setting and d; a longer limit could only lower it (success within a limit implies success "
                 "within a longer one).")
    betas = []
    for d, by_n in sorted(pooled.get(("p", 0.25), {}).items()):
        nd = fn.n_dependence(by_n, n_boot, g) if len(by_n) >= 2 else {"beta": None}
        if nd["beta"] is not None:
            ms = [N / fn.prior_budget(d, ("p", 0.25)) for N in nd["N"]]
            betas.append(f"{_iv(nd['beta'], nd['beta_ci'])} at d = {int(d)} (N = {min(ms):g}-{max(ms):g} B(d))")
    if betas:
        text += " The floor depends on the round inputs N: T_90 ~ N^-beta at p = 0.25 with beta " + "; ".join(betas) + "."
    total = dz.group_curves(dz.designed_points("design-total", runs))
    tot = []
    for k, grp in sorted(total.items()):
        t = dz.total_fit(grp, n_boot, g)
        if t["fit"]["exponent"] is not None:
            share = ", ".join(f"{x:.2f}" for x in t["rounds_share"] if x is not None)
            tot.append(f"{_label(k)}: {_exponent(t['fit'])}, rounds' share {share}")
    if tot:
        text += f" Totals (pre-training + rounds, N fixed): {'; '.join(tot)}."
    stages = fn.schedule_stages(runs)
    if stages:              # the latest stage: at the N where the floor is measured, when shipped
        text += _schedules_text(stages[-1], n_boot, g)
    return text


def _schedules_text(stage, n_boot, g) -> str:
    """The lambda_chain schedules of one stage: each exponent, and per d the schedule with the smallest b90."""
    fits = {k: dz.floor_fit(grp, n_boot, g) for k, grp in sorted(stage["groups"].items())}
    sched = [f"{name} with c = {c:g}: {_exponent(fl['fit'])}" for (name, c), fl in fits.items()
             if fl["fit"]["exponent"] is not None]
    best = {}
    for (name, c), fl in fits.items():
        for d, b, ci in zip(fl["d"], fl["b90"], fl["b90_ci"]):
            if b is not None and (d not in best or b < best[d][0]):
                best[d] = (b, ci, f"{name} with c = {c:g}")
    text = ""
    if sched:
        text += (f" lambda_chain schedules (p = 0.25, {fn.n_rule(stage['m'])}) with a floor inside the grid at >= 2 d: "
                 + "; ".join(sched) + ".")
    if best:
        text += (" Smallest T_90 at " + "; ".join(f"d = {int(d)}: {lab}, {_iv(b, ci, 0)}"
                                                  for d, (b, ci, lab) in sorted(best.items())) + ".")
    return text


def rounds_against_d(data: Data) -> str:
    return iteration.finding_text(it.collect(it.shipped_pairs(data.runs)))


#: the statements of the README's "Key numbers" list, in order
KEY_NUMBERS = ("report-counts", "prop1-refuted", "bounds-ratio", "rounds-gap", "rounds-against-d", "samples-against-d",
               "worst-head")


def key_numbers(data: Data) -> str:
    return "\n".join(f"- {STATEMENTS[name](data)}" for name in KEY_NUMBERS)


#: name -> function(Data) -> Markdown text
STATEMENTS = {
    "verdicts-theorem1": verdict_table("theorem1"),
    "verdicts-theorem2": verdict_table("theorem2"),
    "verdicts-extensions": verdict_table("extensions"),
    "verdicts-transformer": verdict_table("transformer"),
    "report-counts": report_counts,
    "prop1-refuted": prop1_refuted,
    "bounds-ratio": bounds_ratio,
    "rounds-gap": rounds_gap,
    "rounds-against-d": rounds_against_d,
    "worst-head": worst_head,
    "samples-against-d": samples_against_d,
    "key-numbers": key_numbers,
}


def rewrite(text: str, data: Data) -> str:
    """``text`` with every generated block replaced by its statement on ``data``.

    Raises ValueError naming an unknown statement.
    """
    def block(m):
        name = m.group(2)
        if name not in STATEMENTS:
            raise ValueError(f"generated block: unknown statement {name!r}; known: {', '.join(STATEMENTS)}")
        return f"{m.group(1)}{STATEMENTS[name](data)}\n{m.group(4)}"
    return BLOCK.sub(block, text)


def rewrite_docs(out) -> list:
    """Rewrite the generated blocks of the ``README.md`` and ``docs/*.md`` beside ``out`` when ``out`` is a
    repository's ``figures`` folder; returns the paths changed (none for any other ``out``)."""
    out = Path(out).resolve()
    repo = out.parent
    if out.name != "figures" or not (repo / "README.md").exists():
        return []
    data, changed = Data.load(out, repo / "examples" / "runs" if (repo / "examples" / "runs").is_dir() else None), []
    for path in [repo / "README.md", *sorted((repo / "docs").glob("*.md"))]:
        text = path.read_text(encoding="utf-8")
        new = rewrite(text, data)
        if new != text:
            atomic_write_text(path, new)
            changed.append(path)
    return changed
