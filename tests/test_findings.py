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
    # the README's Finding 17 quotes them by hand
    readme = _text("README.md")
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
    # the d = 256 probe: four sweep tasks of two replicates, B = 2^20, 40 rounds (finding 7)
    probe = load_results(ROOT / "examples/runs/samples-d256-probe").results[0]
    assert all(r["success_fraction"] == 1.0 and r["tried"][0][0] == 2 ** 20 and r["n_max"] == 40 for r in probe)
    t = np.concatenate([r["totals"] for r in probe])                  # (8,) one per replicate
    u256 = np.sort(t / 2 ** 20 - 1)
    m256, se256 = t.mean(), t.std(ddof=1) / np.sqrt(t.size)
    assert f"{m256 / 1e7:.2f}e7 +- {se256 / 1e7:.2f}e7 samples, a local exponent of {np.log2(m256 / m):.2f} from " \
           f"d = 128 and d^{np.log2(m256 / m64) / 2:.2f} over d = 64-256" in readme
    assert f"in {u256[0]:.0f}-{u256[-1]:.0f} rounds" in readme and f"{u256.mean():.1f} at d = 256" in readme


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


def _check_ladder(fixed, search, f5_p):
    """Check the 60-round searches of the stored runs; return the rounds used per budget and the smallest
    mean total per d over the budgets with >= 90% success (F5's own search at d = 32, 64, samples-d32 /
    -d64, included)."""
    rows, mins = {}, {}
    for (d, B), (t, recs) in fixed.items():
        ok = np.isfinite(t)
        u = t[ok] / B - 1                                              # rounds used by the successes
        rows[d, B] = (ok, u)
        if ok.mean() >= 0.9:
            mins[d] = min(mins.get(d, np.inf), t.mean())
    for pt, r in search:                                               # F5's search with 60 rounds
        below = [row[1] for row in r["tried"][:-1]]
        assert r["success_fraction"] == 1.0 and r["n_max"] == 60 and below == [0.0] * len(below)
        mins[pt["d"]] = min(mins.get(pt["d"], np.inf), r["total_samples_mean"])
    for d in (32, 64):
        f5 = load_results(ROOT / f"examples/runs/samples-d{d}")
        r = next(rc[0] for p, rc in zip(f5.points, f5.results) if p.get("p") == f5_p and p["d"] == d)
        assert r["success_fraction"] >= 0.9
        mins[d] = min(mins[d], r["total_samples_mean"])
    return rows, mins


def test_finding_8_budget_ladder_numbers_are_the_stored_runs():
    # reference: the shipped runs samples-d128-p01-budgets, -p01-rounds, -p01-search, -p025-budgets,
    # -d128-rounds and samples-d32 / -d64 (F5's search); README Finding 17 quotes them by hand
    readme = _text("README.md")
    lad, search = _ladder(["samples-d128-p01-budgets", "samples-p01-rounds", "samples-p01-search"])
    rows, mins = _check_ladder(lad, search, 0.1)
    # the failures below the floor: the chain's start ln-ratio (mean over the failed replicates)
    for key in ((128, 2 ** 16), (256, 2 ** 18)):
        assert not rows[key][0].any()
    lr = np.mean([r["log_ratio"] for r in lad[128, 2 ** 16][1]], axis=0)    # (3,) head 1, stop, chain
    assert f"the chain at a start ln-ratio of {lr[2]:.2f}" in readme
    u20, u18 = rows[128, 2 ** 20][1], rows[128, 2 ** 18][1]
    assert f"({u20.mean():.1f} -> {u18.mean():.1f}, 10/10 each)" in readme
    t20, t18 = lad[128, 2 ** 20][0], lad[128, 2 ** 18][0]
    assert f"from {_sci(t20.mean())} to {_sci(t18.mean(), t18.std(ddof=1) / np.sqrt(10))}" in readme
    u17 = rows[128, 2 ** 17][1]
    assert f"at 2^17 {u17.size} of 10 succeed, in {u17.min():.0f}-{u17.max():.0f} rounds" in readme
    m = [mins[d] for d in (32, 64, 128)]
    assert f"{_sci(m[0])}, {_sci(m[1])} and {_sci(m[2])} at d = 32, 64, 128" in readme
    assert f"local exponents of {np.log2(m[1] / m[0]):.2f} and {np.log2(m[2] / m[1]):.2f} at p = 0.1" in readme
    # d = 256, B = 2^20: both replicates, rounds and total
    t256, _ = lad[256, 2 ** 20]
    u256 = np.sort(t256 / 2 ** 20 - 1)
    assert f"succeeds in {u256[0]:.0f} and {u256[1]:.0f} rounds ({_sci(t256.mean())})" in readme
    # d = 256, B = 2^19: the smallest total there, two replicates; the exponent from d = 128's smallest
    t19, _ = lad[256, 2 ** 19]
    u19 = np.sort(t19 / 2 ** 19 - 1)
    se19 = t19.std(ddof=1) / np.sqrt(2)
    assert mins[256] == t19.mean()
    e = [np.log2(x / mins[128]) for x in (t19.mean(), t19.mean() - se19, t19.mean() + se19)]
    assert (f"2^19 succeeds in {u19[0]:.0f} and {u19[1]:.0f} rounds ({_sci(t19.mean(), se19)}: a local exponent of "
            f"{e[0]:.2f} from d = 128, {e[1]:.2f}-{e[2]:.2f} within one se)") in readme


def test_finding_8_p025_numbers_are_the_stored_runs():
    # reference: samples-p025-budgets, samples-d128-rounds (2^19) and samples-d32 / -d64 (F5's search)
    readme = _text("README.md")
    lad, search = _ladder(["samples-d128-rounds", "samples-p025-budgets"])
    rows, mins = _check_ladder(lad, search, 0.25)
    m = [mins[d] for d in (32, 64, 128)]
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
    assert probe.mean() / t256.mean() == pytest.approx(2, abs=0.5)       # "half": within 25%
    assert (f"B = 2^18 succeeds in {u[0]:.0f} and {u[1]:.0f} rounds ({_sci(t256.mean(), se)}, half the total at "
            f"2^20; 2 replicates): {e[0]:.2f} from d = 128") in readme


def _pooled(name):
    """[(params, totals (n,) of every sweep task pooled, [task results])] of a shipped run."""
    res = load_results(ROOT / "examples/runs" / name)
    return [(pt, np.concatenate([r["totals"] for r in recs]), recs) for pt, recs in zip(res.points, res.results)]


def test_finding_9_kappa_numbers_are_the_stored_runs():
    # reference: the shipped run samples-kappa-budgets (d = 128, one budget per point, 10 replicates in two
    # tasks); README Finding 17 quotes it by hand
    readme = _text("README.md")
    got = {(pt["kappa"], pt["b0"]): (t, recs) for pt, t, recs in _pooled("samples-kappa-budgets")}
    fail = got[0.5, 2 ** 17][1]
    assert all(np.argmax(r["worst_counts"]) == 2 and r["worst_counts"][2] == 5 for r in fail)    # chain, all 5
    t1 = got[1.0, 2 ** 21][0]
    u1 = t1 / 2 ** 21 - 1
    assert np.isfinite(t1).all()
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
    assert floor in readme
    # d = 256, kappa = 0.5, B = 2^20 (two tasks of one replicate); the local exponent from d = 128's 2^18
    t256 = _pooled("samples-d256-k05")[0][1]
    u = np.sort(t256 / 2 ** 20 - 1)
    tot = _sci(t256.mean(), t256.std(ddof=1) / np.sqrt(2))
    e = np.log2(t256.mean() / t05.mean())
    assert f"succeeds in {u[0]:.0f} and {u[1]:.0f} rounds ({tot}: {e:.2f} from d = 128)" in readme
    # the point added after it: B = 2^19, 100 rounds, one task per replicate
    pt, t19, recs = _pooled("samples-d256-k05")[1]
    ok = np.isfinite(t19)
    assert (pt["b0"], pt["n_max"], ok.sum()) == (2 ** 19, 100, 1)
    assert t19[ok][0] > t256.mean()                                       # "more than at 2^20"


def test_smallest_total_fits_are_the_stored_runs():
    # reference: the smallest mean total per d recomputed here from the stored runs (finding 8's ladder
    # checker for fixed p; F5's searches samples-d32 / -d64 and the one-budget runs for kappa), compared
    # with linparity.experiments.samples.smallest_totals, and fitted with scipy.stats.linregress (slope
    # and its standard error, n - 2 degrees of freedom) in log-log; figures/REPORT.md (F5) quotes the fits
    from scipy.stats import linregress

    from linparity.experiments.samples import smallest_totals
    from linparity.figures.report import fmt
    from linparity.figures.settings import FULL
    report, readme = _text("figures/REPORT.md"), _text("README.md")
    mins = {}
    for p, names in ((0.1, ["samples-d128-p01-budgets", "samples-p01-rounds", "samples-p01-search"]),
                     (0.25, ["samples-d128-rounds", "samples-p025-budgets", "samples-d256-probe"])):
        mins["p", p] = _check_ladder(*_ladder(names), p)[1]
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
    for key, deg in ((("kappa", 0.5), 3), (("kappa", 1.0), 4), (("p", 0.1), 2), (("p", 0.25), 2)):
        ds = sorted(mins[key])
        m = np.array([mins[key][d] for d in ds])
        assert [c["d"] for c in st[key]] == ds and [c["mean"] for c in st[key]] == pytest.approx(m, rel=1e-12)
        fit = linregress(np.log(ds), np.log(m))
        assert (f"smallest total per d over F5's searches and the shipped runs with longer round limits, d in {ds} | "
                f"exponent "
                f"<= {deg} | exponent {fmt(fit.slope)} +- {fmt(fit.stderr, 2)} (") in report, key
        assert readme.count(f"d^({fit.slope:.2f} +- {fit.stderr:.2f})") == 2, key    # Finding 17, headline
