"""Findings stated in README "Findings", each checked by a second route.

d = 2 (THEORY §1 allows it; the reduced subspace is not invariant there, see test_enumeration):
the full-weight NTP optimum, computed exactly by enumeration (Newton's method on all 2^d inputs),
is reached by Algorithm 3 on sampled data, and its greedy decoding is right for every x at
p = 0.1 < 1/3 while the reduced closed form predicts 1/2 (Theorem 1's greedy claim fails at d = 2).
"""
import re
from pathlib import Path

import numpy as np
import pytest

from linparity import closed_form as cf
from linparity import exact
from linparity.measures import evaluate
from linparity.simulate import pretrain
from linparity.sweep import load_results
from _helpers import sgd_allowance

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("p", [0.1, 0.25])
def test_d2_ntp_generalises_below_one_third(p):
    lam, R = 0.01, 8
    opt = exact.exact_ntp_optimum(2, p, lam)              # enumeration route
    assert evaluate(opt, p)["greedy_accuracy"] == 1.0
    res = pretrain(2, p, 200_000, lam, replicates=R, rng=2)  # simulation route
    assert all(evaluate(m, p)["greedy_accuracy"] == 1.0 for m in res.models_)
    W = np.array([m.to_vector() for m in res.models_])  # (R, n_params)
    se = W.std(axis=0, ddof=1) / np.sqrt(R)
    # 5 standard errors over replicates plus the derived SGD optimisation-bias allowance
    assert np.all(np.abs(W.mean(0) - opt.to_vector()) <= 5 * se + sgd_allowance(res))
    # the leak: the stop head's weight on x_2 is far from 0 (reduced model: exactly 0)
    assert abs(opt.w2a[1]) > 1.0
    # ... and the closed form on the subspace (valid for d >= 3) would answer 1/2 at d = 3
    assert cf.greedy_probs(cf.ntp_optimum(3, p, lam), 3).p_correct == 0.5


def _text(path):
    """A document with its line breaks and indentation folded into single spaces."""
    return re.sub(r"\s+", " ", (ROOT / path).read_text())


def _rounds_used(res):
    """Rounds each succeeding replicate used at its one tried budget B: total = B (1 + rounds)."""
    B = res["tried"][0][0]
    t = res["totals"]
    return t[np.isfinite(t)] / B - 1


def test_finding_17_d128_d256_numbers_are_the_stored_runs():
    # reference: the shipped runs in examples/runs (sidecars with SHA-256, checked by load_results);
    # the README's Finding 17 and docs/findings_samples.md (finding 6) quote them by hand
    readme, doc = _text("README.md"), _text("docs/findings_samples.md")
    d128 = load_results(ROOT / "examples/runs/samples-d128")
    by = {(pt.get("p"), pt.get("kappa")): r[0] for pt, r in zip(d128.points, d128.results)}
    k1 = load_results(ROOT / "examples/runs/samples-d128-k1").results[0][0]
    rounds = load_results(ROOT / "examples/runs/samples-d128-rounds").results[0][0]
    d64 = load_results(ROOT / "examples/runs/samples-d64")
    d64_p25 = next(r[0] for pt, r in zip(d64.points, d64.results) if pt.get("p") == 0.25)
    # success fractions at the one level tried (B = 2^20; kappa = 1: 2^21)
    fr = [by[k]["success_fraction"] for k in ((0.25, None), (None, 0.5), (0.1, None))]
    assert [by[k]["tried"][0][0] for k in by] == [2 ** 20] * 3 and k1["tried"][0][0] == 2 ** 21
    assert f"({fr[0]:.1f}, {fr[1]:.1f}, {fr[2]:.1f} at 2^20) and d^-1 ({k1['success_fraction']:.1f} at 2^21)" in readme
    # rounds the succeeding replicates used, of the limit n_max = n*(p) + 10
    for r, label in ((by[(0.25, None)], "(p = 0.25)"), (by[(None, 0.5)], "(d^-0.5)"),
                     (by[(0.1, None)], "(p = 0.1)"), (k1, "(d^-1)")):
        u = _rounds_used(r)
        assert re.search(re.escape(f"{u.min():.0f}-{u.max():.0f} of {r['n_max']:.0f}") + "( rounds)? "
                         + re.escape(label), readme), label
    # 25 rounds at B = 2^19: totals, rounds, the local exponent against d = 64 (p = 0.25)
    u = _rounds_used(rounds)
    assert rounds["success_fraction"] == 1.0 and rounds["tried"][0][0] == 2 ** 19
    m, se, m64 = rounds["total_samples_mean"], rounds["total_samples_se"], d64_p25["total_samples_mean"]
    quote = (f"{m / 1e6:.2f}e6 +- {se / 1e6:.2f}e6 samples at d = 128 against {m64 / 1e6:.2f}e6 at d = 64, "
             f"a local exponent of {np.log2(m / m64):.2f}")
    assert quote in readme
    assert f"in {u.min():.0f}-{u.max():.0f} rounds" in readme
    assert f"{rounds['rounds_mean']:.1f} at d = 128" in readme
    cut = int((u > by[(0.25, None)]["n_max"]).sum())
    words = {6: "six", 7: "seven", 8: "eight"}
    assert f"{words[cut]} of them would have been cut by the {by[(0.25, None)]['n_max']:.0f}-round limit" in doc
    # the d = 256 probe: four sweep tasks of two replicates, B = 2^20, 40 rounds (finding 7)
    probe = load_results(ROOT / "examples/runs/samples-d256-probe").results[0]
    assert all(r["success_fraction"] == 1.0 and r["tried"][0][0] == 2 ** 20 and r["n_max"] == 40 for r in probe)
    t = np.concatenate([r["totals"] for r in probe])                  # (8,) one per replicate
    u256 = np.sort(t / 2 ** 20 - 1)
    m256, se256 = t.mean(), t.std(ddof=1) / np.sqrt(t.size)
    assert f"{m256 / 1e7:.2f}e7 +- {se256 / 1e7:.2f}e7 samples, a local exponent of {np.log2(m256 / m):.2f} from " \
           f"d = 128 and d^{np.log2(m256 / m64) / 2:.2f} over d = 64-256" in readme
    assert f"in {u256[0]:.0f}-{u256[-1]:.0f} rounds" in readme and f"{u256.mean():.1f} at d = 256" in readme
    listed = ", ".join(f"{x:.0f}" for x in u256[:-1]) + f" and {u256[-1]:.0f}"
    assert (f"in {listed} rounds (mean {u256.mean():.1f}): {m256 / 1e7:.2f}e7 +- {se256 / 1e7:.2f}e7 samples, "
            f"{m256 / m:.2f}x the {m / 1e6:.2f}e6") in doc


def _sci(m, se=None):
    """m (and se) in the documents' shape: 1.54e7, or 1.54e7 +- 0.07e7 with se on m's exponent."""
    k = int(np.floor(np.log10(m)))
    return f"{m / 10 ** k:.2f}e{k}" + ("" if se is None else f" +- {se / 10 ** k:.2f}e{k}")


def _ladder(names):
    """{(d, B): (totals (n,), [sweep task results])} of the one-budget points (b0 = cap) of shipped
    runs, every sweep task's model replicates pooled; and the search points (b0 < cap) as
    [(params, result)]."""
    fixed, search = {}, []
    for name in names:
        res = load_results(ROOT / "examples/runs" / name)
        for pt, recs in zip(res.points, res.results):
            if pt["b0"] == pt["cap"]:
                fixed[pt["d"], pt["b0"]] = (np.concatenate([r["totals"] for r in recs]), recs)
            else:
                search.append((pt, recs[0]))
    return fixed, search


def _check_ladder(fixed, search, doc, f5_p):
    """Check finding 8's d = 128 table rows and its quotes of the 60-round searches against the stored
    runs; return the rounds used per budget and the smallest mean total per d over the budgets with
    >= 90% success (F5's own search at d = 32, 64, samples-d32 / -d64, included)."""
    rows, mins = {}, {}
    for (d, B), (t, recs) in fixed.items():
        ok = np.isfinite(t)
        u = t[ok] / B - 1                                              # rounds used by the successes
        rows[d, B] = (ok, u)
        if d == 128:
            cells = [f"2^{np.log2(B):.0f}", f"{recs[0]['n_max']:.0f}", f"{ok.sum()}/{ok.size}"]
            if ok.any():
                part = ok.mean() < 1
                cells += [f"{u.min():.0f}-{u.max():.0f} ({u.mean():.1f})" + (" of those that succeeded" if part else ""),
                          _sci(t[ok].mean(), t[ok].std(ddof=1) / np.sqrt(ok.sum())) + (" of those" if part else "")]
            else:
                cells += ["-", "-"]
            assert "| " + " | ".join(cells) + " |" in doc, cells
        if ok.mean() >= 0.9:
            mins[d] = min(mins.get(d, np.inf), t.mean())
    for pt, r in search:                                               # F5's search with 60 rounds
        u = r["totals"] / r["budget"] - 1
        below = [row[1] for row in r["tried"][:-1]]
        assert r["success_fraction"] == 1.0 and r["n_max"] == 60 and below == [0.0] * len(below)
        assert (f"B = 2^{np.log2(r['budget']):.0f} (2^{np.log2(r['budget']) - 1:.0f}"
                f"{' and below' if len(below) > 1 else ''}: 0/10)" in doc)
        assert f"10/10 in {u.min():.0f}-{u.max():.0f} rounds, {_sci(r['total_samples_mean'], r['total_samples_se'])}" in doc
        mins[pt["d"]] = min(mins.get(pt["d"], np.inf), r["total_samples_mean"])
    for d in (32, 64):
        f5 = load_results(ROOT / f"examples/runs/samples-d{d}")
        r = next(rc[0] for p, rc in zip(f5.points, f5.results) if p.get("p") == f5_p and p["d"] == d)
        assert r["success_fraction"] >= 0.9
        mins[d] = min(mins[d], r["total_samples_mean"])
    return rows, mins


def test_finding_8_budget_ladder_numbers_are_the_stored_runs():
    # reference: the shipped runs samples-d128-p01-budgets, -p01-rounds, -p01-search, -p025-budgets,
    # -d128-rounds and samples-d32 / -d64 (F5's search); README Finding 17 and docs/findings_samples.md
    # (finding 8) quote them by hand
    readme, doc = _text("README.md"), _text("docs/findings_samples.md")
    lad, search = _ladder(["samples-d128-p01-budgets", "samples-p01-rounds", "samples-p01-search"])
    rows, mins = _check_ladder(lad, search, doc, 0.1)
    # the failures below the floor: the chain's start ln-ratio (mean over the failed replicates)
    for key in ((128, 2 ** 16), (256, 2 ** 18)):
        assert not rows[key][0].any()
    lr = np.mean([r["log_ratio"] for r in lad[128, 2 ** 16][1]], axis=0)    # (3,) head 1, stop, chain
    assert f"start ln-ratio of {lr[2]:.2f} (head 1 {lr[0]:+.2f}, stop head {lr[1]:.2f}" in doc
    assert f"the chain at a start ln-ratio of {lr[2]:.2f}" in readme
    u20, u18 = rows[128, 2 ** 20][1], rows[128, 2 ** 18][1]
    assert f"({u20.mean():.1f} -> {u18.mean():.1f}, 10/10 each)" in readme
    d128 = load_results(ROOT / "examples/runs/samples-d128")           # F5's limit at the same point
    n13 = next(r[0]["n_max"] for p, r in zip(d128.points, d128.results) if p.get("p") == 0.1)
    assert f"{(u20 > n13).sum()} of the 10 replicates needed more than F5's n*(p) + 10 = {n13:.0f} rounds" in doc
    t20, t18 = lad[128, 2 ** 20][0], lad[128, 2 ** 18][0]
    assert f"from {_sci(t20.mean())} to {_sci(t18.mean(), t18.std(ddof=1) / np.sqrt(10))}" in readme
    u17 = rows[128, 2 ** 17][1]
    assert f"at 2^17 {u17.size} of 10 succeed, in {u17.min():.0f}-{u17.max():.0f} rounds" in readme
    m = [mins[d] for d in (32, 64, 128)]
    assert f"{_sci(m[0])}, {_sci(m[1])} and {_sci(m[2])} at d = 32, 64, 128" in readme
    assert (f"local exponents of {np.log2(m[1] / m[0]):.2f} and {np.log2(m[2] / m[1]):.2f} at p = 0.1" in readme
            and f"local exponents {np.log2(m[1] / m[0]):.2f} and {np.log2(m[2] / m[1]):.2f}, at or below" in doc)
    # d = 256, B = 2^20: both replicates, rounds and total
    t256, _ = lad[256, 2 ** 20]
    u256 = np.sort(t256 / 2 ** 20 - 1)
    assert f"succeeds in {u256[0]:.0f} and {u256[1]:.0f} rounds ({_sci(t256.mean())})" in readme
    assert f"{np.log2(t256.mean() / t20.mean()):.2f} from d = 128 at the same B" in doc
    # d = 256, B = 2^19: the smallest total there, two replicates; the exponent from d = 128's smallest
    t19, _ = lad[256, 2 ** 19]
    u19 = np.sort(t19 / 2 ** 19 - 1)
    se19 = t19.std(ddof=1) / np.sqrt(2)
    assert mins[256] == t19.mean()
    e = [np.log2(x / mins[128]) for x in (t19.mean(), t19.mean() - se19, t19.mean() + se19)]
    assert (f"2^19 succeeds in {u19[0]:.0f} and {u19[1]:.0f} rounds ({_sci(t19.mean(), se19)}: a local exponent of "
            f"{e[0]:.2f} from d = 128, {e[1]:.2f}-{e[2]:.2f} within one se)") in readme
    assert f"in {u19[0]:.0f} and {u19[1]:.0f} rounds, {_sci(t19.mean(), se19)}, the smallest total measured" in doc


def test_finding_8_p025_numbers_are_the_stored_runs():
    # reference: samples-p025-budgets, samples-d128-rounds (2^19) and samples-d32 / -d64 (F5's search)
    readme, doc = _text("README.md"), _text("docs/findings_samples.md")
    lad, search = _ladder(["samples-d128-rounds", "samples-p025-budgets"])
    rows, mins = _check_ladder(lad, search, doc, 0.25)
    lr = np.mean([r["log_ratio"] for r in lad[128, 2 ** 16][1]], axis=0)    # (3,) head 1, stop, chain
    assert (f"the {(~rows[128, 2 ** 16][0]).sum()} failures at 2^16 start at a chain ln-ratio of {lr[2]:.2f}; "
            f"head 1 {lr[0]:+.2f}, stop head {lr[1]:.2f}") in doc
    m = [mins[d] for d in (32, 64, 128)]
    assert (f"{_sci(m[0])}, {_sci(m[1])}, {_sci(m[2])} at d = 32, 64, 128, local exponents "
            f"{np.log2(m[1] / m[0]):.2f} and {np.log2(m[2] / m[1]):.2f}") in doc
    ladder = ", ".join(_sci(lad[128, 2 ** k][0].mean()) for k in (19, 18, 17))
    assert (f"({ladder} at B = 2^19, 2^18, 2^17; {rows[128, 2 ** 16][0].sum()} of 10 at 2^16) and searches give "
            f"smallest totals of {_sci(m[0])}, {_sci(m[1])} and {_sci(m[2])} at d = 32, 64, 128, local exponents "
            f"{np.log2(m[1] / m[0]):.2f} and {np.log2(m[2] / m[1]):.2f}") in readme
    # d = 256, B = 2^18 (two replicates) against the d = 256 probe at 2^20 (finding 7) and d = 128's smallest
    t256, _ = lad[256, 2 ** 18]
    u = np.sort(t256 / 2 ** 18 - 1)
    se = t256.std(ddof=1) / np.sqrt(2)
    probe = np.concatenate([r["totals"] for r in load_results(ROOT / "examples/runs/samples-d256-probe").results[0]])
    e = [np.log2(x / m[2]) for x in (t256.mean(), t256.mean() - se, t256.mean() + se)]
    assert (f"B = 2^18 succeeds in {u[0]:.0f} and {u[1]:.0f} rounds, {_sci(t256.mean(), se)}, half the "
            f"{_sci(probe.mean())} at 2^20 (finding 7): a local exponent of {e[0]:.2f} from d = 128 "
            f"({e[1]:.2f}-{e[2]:.2f} within one se)") in doc
    assert probe.mean() / t256.mean() == pytest.approx(2, abs=0.5)       # "half": within 25%
    assert (f"B = 2^18 succeeds in {u[0]:.0f} and {u[1]:.0f} rounds ({_sci(t256.mean(), se)}, half the total at "
            f"2^20; 2 replicates): {e[0]:.2f} from d = 128") in readme


def _pooled(name):
    """[(params, totals (n,) of every sweep task pooled, [task results])] of a shipped run."""
    res = load_results(ROOT / "examples/runs" / name)
    return [(pt, np.concatenate([r["totals"] for r in recs]), recs) for pt, recs in zip(res.points, res.results)]


def test_finding_9_kappa_numbers_are_the_stored_runs():
    # reference: the shipped run samples-kappa-budgets (d = 128, one budget per point, 10 replicates in two
    # tasks); docs/findings_samples.md (finding 9) and README Finding 17 quote it by hand
    doc, readme = _text("docs/findings_samples.md"), _text("README.md")
    got = {(pt["kappa"], pt["b0"]): (t, recs) for pt, t, recs in _pooled("samples-kappa-budgets")}
    for (kappa, B), (t, recs) in got.items():
        ok = np.isfinite(t)
        p = 128.0 ** -kappa
        cells = [f"kappa = {kappa:g}", "1/128" if kappa == 1 else f"{p:.3g}", f"2^{np.log2(B):.0f}", _sci(p * B),
                 f"{recs[0]['n_max']:.0f}", f"{ok.sum()}/{ok.size}"]
        u = t[ok] / B - 1
        cells += ([f"{u.min():.0f}-{u.max():.0f} ({u.mean():.1f})",
                   _sci(t[ok].mean(), t[ok].std(ddof=1) / np.sqrt(ok.sum()))]
                  if ok.any() else ["-", "-"])
        assert "| " + " | ".join(cells) + " |" in doc, cells
    fail = got[0.5, 2 ** 17][1]
    lr = np.mean([r["log_ratio"] for r in fail], axis=0)                   # (3,) head 1, stop, chain
    assert all(np.argmax(r["worst_counts"]) == 2 and r["worst_counts"][2] == 5 for r in fail)    # chain, all 5
    assert (f"the chain starts at ln-ratio {lr[2]:.2f} (head 1 {lr[0]:+.2f}, stop head {lr[1]:.2f}; means of "
            "the two tasks' failed replicates), the worst head of all 10 starts") in doc
    assert (f"greedy accuracy is {fail[0]['accuracy_mean']:.2f} and {fail[1]['accuracy_mean']:.2f} (task means)"
            in doc)
    t1 = got[1.0, 2 ** 21][0]
    u1 = t1 / 2 ** 21 - 1
    assert np.isfinite(t1).all()
    assert f"succeed, in {u1.min():.0f}-{u1.max():.0f} rounds: {(u1 > 16).sum()} of them" in doc
    t05 = got[0.5, 2 ** 18][0]
    assert (f"kappa = 0.5 succeeds 10/10 at B = 2^18 ({_sci(t05.mean(), t05.std(ddof=1) / np.sqrt(10))}) and "
            f"{np.isfinite(got[0.5, 2 ** 17][0]).sum()}/10 at 2^17, kappa = 1 10/10 at 2^21 in {u1.min():.0f}-"
            f"{u1.max():.0f} rounds ({_sci(t1.mean(), t1.std(ddof=1) / np.sqrt(10))}), {(u1 > 16).sum()} of them past "
            "F5's 16-round limit") in readme
    # the floor in long pre-training samples p B at d = 128, against finding 8's p = 0.1 (2^17) and p = 0.25 (2^16)
    n01 = next(np.isfinite(t).sum() for pt, t, _ in _pooled("samples-d128-p01-budgets") if pt["b0"] == 2 ** 17)
    n025 = next(np.isfinite(t).sum() for pt, t, _ in _pooled("samples-p025-budgets")
                if pt["d"] == 128 and pt["b0"] == 2 ** 16)
    floor = (f"lies between {_sci(128 ** -0.5 * 2 ** 17)} (p = 0.088: 0/10) and {_sci(0.1 * 2 ** 17)} (p = 0.1: "
             f"{n01}/10), and {_sci(2 ** 21 / 128)} suffice at p = 1/128 (10/10), though not quite at p = 0.25 "
             f"({n025}/10)")
    assert floor in readme and f"at p = 0.25, {_sci(0.25 * 2 ** 16)} (B = 2^16) gave {n025}/10" in doc
    # d = 256, kappa = 0.5, B = 2^20 (two tasks of one replicate); the local exponent from d = 128's 2^18
    t256 = _pooled("samples-d256-k05")[0][1]
    u = np.sort(t256 / 2 ** 20 - 1)
    tot = _sci(t256.mean(), t256.std(ddof=1) / np.sqrt(2))
    e = np.log2(t256.mean() / t05.mean())
    assert f"both succeed, in {u[0]:.0f} and {u[1]:.0f} rounds, {tot}, a local exponent of {e:.2f} from d = 128" in doc
    assert f"succeeds in {u[0]:.0f} and {u[1]:.0f} rounds ({tot}: {e:.2f} from d = 128)" in readme
    # the point added after it: B = 2^19, 100 rounds, one task per replicate
    pt, t19, recs = _pooled("samples-d256-k05")[1]
    ok = np.isfinite(t19)
    bad = recs[int(np.flatnonzero(~ok)[0])]                                # the task that failed
    assert (pt["b0"], pt["n_max"], ok.sum()) == (2 ** 19, 100, 1)
    assert (f"B = 2^19 (p B = {_sci(0.0625 * 2 ** 19)}, 100 rounds, 2 replicates): 1 of 2 succeeds, in "
            f"{t19[ok][0] / 2 ** 19 - 1:.0f} rounds ({_sci(t19[ok][0])} samples, more than at 2^20); the other ends at "
            f"greedy accuracy {bad['accuracy_mean']:.2f} after 100 rounds (start chain ln-ratio {bad['log_ratio'][2]:.2f}; "
            f"in its final model the stop head stops after y_1 = x_1 on {100 * bad['final_errors'][1]:.1f}% of the "
            "inputs)") in doc
    assert t19[ok][0] > t256.mean()                                       # "more than at 2^20"


def test_smallest_total_fits_are_the_stored_runs():
    # reference: the smallest mean total per d recomputed here from the stored runs (finding 8's ladder
    # checker for fixed p; F5's searches samples-d32 / -d64 and the one-budget runs for kappa), compared
    # with linparity.experiments.samples.smallest_totals, and fitted with scipy.stats.linregress (slope
    # and its standard error, n - 2 degrees of freedom) in log-log; docs/findings_samples.md ("Smallest
    # total per d") and figures/REPORT.md (F5) quote the fits
    from scipy.stats import linregress

    from linparity.experiments.samples import smallest_totals
    from linparity.figures.report import fmt
    from linparity.figures.settings import FULL
    doc, report, readme = _text("docs/findings_samples.md"), _text("figures/REPORT.md"), _text("README.md")
    mins = {}
    for p, names in ((0.1, ["samples-d128-p01-budgets", "samples-p01-rounds", "samples-p01-search"]),
                     (0.25, ["samples-d128-rounds", "samples-p025-budgets", "samples-d256-probe"])):
        mins["p", p] = _check_ladder(*_ladder(names), doc, p)[1]
    for kappa, names in ((0.5, ["samples-kappa-budgets", "samples-d256-k05"]), (1.0, ["samples-kappa-budgets"])):
        m = mins["kappa", kappa] = {}
        for d in (32, 64):                                                 # F5's search
            f5 = load_results(ROOT / f"examples/runs/samples-d{d}")
            r = next(rc[0] for pt, rc in zip(f5.points, f5.results) if pt.get("kappa") == kappa and pt["d"] == d)
            assert r["success_fraction"] >= 0.9
            m[d] = r["total_samples_mean"]
        for name in names:                                                 # one budget per point
            for pt, t, _ in _pooled(name):
                if pt.get("kappa") == kappa and np.isfinite(t).mean() >= 0.9:
                    m[pt["d"]] = min(m.get(pt["d"], np.inf), t[np.isfinite(t)].mean())
    st = smallest_totals(FULL.f5_shipped + FULL.f5_more_rounds)
    for key, deg, lab in ((("kappa", 0.5), 3, "p = d^-0.5"), (("kappa", 1.0), 4, "p = d^-1"),
                          (("p", 0.1), 2, "p = 0.1"), (("p", 0.25), 2, "p = 0.25")):
        ds = sorted(mins[key])
        m = np.array([mins[key][d] for d in ds])
        assert [c["d"] for c in st[key]] == ds and [c["mean"] for c in st[key]] == pytest.approx(m, rel=1e-12)
        fit = linregress(np.log(ds), np.log(m))
        n = {c["d"]: c["n"] for c in st[key]}
        cells = ", ".join((_sci(mins[key][d]) + (f" ({n[d]} replicates)" if n[d] != 10 else "")) if d in mins[key]
                          else "-" for d in (32, 64, 128, 256))
        verdict = "PASS" if fit.slope <= deg + 2 * fit.stderr else "DEVIATION"
        assert (f"| {lab} | {cells} | {fit.slope:.2f} +- {fit.stderr:.2f} ({ds[0]}-{ds[-1]}) | {deg} | {verdict} |"
                in doc), (lab, cells, fit)
        assert (f"smallest total per d over F5's searches and the shipped runs with longer round limits, d in {ds} | "
                f"exponent "
                f"<= {deg} | exponent {fmt(fit.slope)} +- {fmt(fit.stderr, 2)} (") in report, key
        assert readme.count(f"d^({fit.slope:.2f} +- {fit.stderr:.2f})") == 2, key    # Finding 17, headline


def test_projection_of_the_points_not_run():
    # reference: samples.full_level_bytes (memory of one replicate, 60 rounds) at the projected budgets, and
    # B times the per-input costs recorded in BENCHMARKS.md ("STaR round cost per input by d"); the budget
    # at the floor is (long pre-training samples at the floor, measured at p = 0.1: finding 8) / p, rounded
    # up to a power of 2
    from linparity.experiments.samples import full_level_bytes
    doc, bench = _text("docs/findings_samples.md"), _text("BENCHMARKS.md")
    us = {d: float(re.search(rf"\| {d} \| 0\.93 \| ([0-9.]+) \|", bench).group(1)) for d in (128, 256)}   # per input
    assert f"({us[128]} us at d = 128, {us[256]} us at d = 256;" in doc
    floor = {128: (2 ** 16 * 0.1, 2 ** 17 * 0.1), 256: (2 ** 18 * 0.1, 2 ** 19 * 0.1)}   # 0/n and >= 8/10 at p = 0.1
    for kappa, d in ((1, 256), (2, 128), (2, 256)):
        p = float(d) ** -kappa
        lo, hi = (int(np.ceil(np.log2(n / p))) for n in floor[d])
        gib = [full_level_bytes(d, 2 ** k, 60) / 2 ** 30 for k in (lo, hi)]
        sec = [2 ** k * us[d] * 1e-6 for k in (lo, hi)]
        cpu = (f"{sec[0] / 60:.0f}-{sec[1] / 60:.0f} min" if sec[1] < 3600 * 2 else
               f"{sec[0] / 3600:.0f}-{sec[1] / 3600:.0f} h")
        row = (f"| kappa = {kappa}, d = {d} | 2^-{int(np.log2(1 / p))} | 2^{lo}-2^{hi} | "
               f"{gib[0]:.2g}-{gib[1]:.2g} GiB | {cpu} |")
        assert row in doc, row
