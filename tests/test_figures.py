"""Tests of ``python -m linparity.figures`` and the experiment drivers behind it.

Reference values: closed_form.n_star / closed_form / theory (library functions the report must
quote unchanged), exact power laws (fit_power_law), and file-format magic numbers (PNG, PDF).
"""
from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, strategies as st

from linparity import closed_form as cf
from linparity import theory
from linparity.data import all_inputs, long_response, response_length, short_response
from linparity.experiments import ntp, scaling, star
from linparity.figures import cli
from linparity.figures.settings import QUICK
from linparity.model import LinearAR

PNG_MAGIC, PDF_MAGIC = b"\x89PNG\r\n\x1a\n", b"%PDF"


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("figs")
    rc_ = cli.main(["--quick", "--only", "F4,F2", "--out", str(out), "--no-progress", "--seed", "3"])
    return rc_, out


def _rows(report_text):
    return [line for line in report_text.splitlines() if line.startswith("| F")]


def test_quick_run_writes_valid_files_and_report(quick_run):
    status, out = quick_run
    assert status == 0
    for name in ("F2_calibration", "F4_rounds"):
        assert (out / f"{name}.png").read_bytes()[:8] == PNG_MAGIC
        assert (out / f"{name}.pdf").read_bytes()[:4] == PDF_MAGIC
    # --only: no other figure was drawn
    assert sorted(p.stem for p in out.glob("*.png")) == ["F2_calibration", "F4_rounds"]
    rows = _rows((out / "REPORT.md").read_text())
    assert rows and all(re.search(r"\*\*(PASS|DEVIATION)\*\*", r) for r in rows)
    assert {r.split("|")[1].strip() for r in rows} == {"F2", "F4"}


def test_report_quotes_library_numbers(quick_run):
    """F4's pooled rows name every simulated p, and their offsets differ by the mean over p of
    n*(pi_0(L)) - n*(p), with pi_0(L) the calibrated start's long probability (closed_form)."""
    _, out = quick_run
    rows = [r for r in _rows((out / "REPORT.md").read_text()) if "STaR simulation ('continue') rounds" in r]
    assert len(rows) == 2 and "= n*(p)," in rows[0] and "= n*(pi_0(L))," in rows[1]
    for r in rows:
        assert all(f"p={p}:" in r for p in QUICK.f4_ps)
    off_p, off_0 = (float(r.split("|")[4].split("+-")[0]) for r in rows)
    d = QUICK.f3_d
    lam = ntp.default_lam(d)
    shift = np.mean([star.n_star(star.start_pi_long(cf.ntp_optimum(d, p, lam), d)) - cf.n_star(p)
                     for p in QUICK.f4_ps])
    assert off_p - off_0 == pytest.approx(shift, abs=0.01)       # the rows print 3 significant digits


def test_same_seed_same_report(tmp_path):
    """Seeds come from one SeedSequence: rerunning F2 with the same seed reproduces the numbers."""
    texts = []
    for sub in ("a", "b"):
        cli.main(["--quick", "--only", "F2", "--out", str(tmp_path / sub), "--no-progress"])
        texts.append(_rows((tmp_path / sub / "REPORT.md").read_text()))
    assert texts[0] == texts[1]


@pytest.mark.parametrize("argv", [["--bogus"], ["--only", "F99"], ["--seed", "-1"], ["--jobs", "0"],
                                  ["--jobs", "x"], ["--jobs", "99999"], ["--jobs", "-2"], ["--seed", "1e3"]])
def test_bad_flags_exit_2_with_one_line(argv, capsys):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err and len(err.splitlines()) == 1


@given(st.floats(0.02, 0.7), st.floats(-3, 3), st.floats(-3, 3), st.floats(-3, 3), st.floats(-3, 6))
def test_reduced_head_errors_match_theory(p, a, b, c, cl):
    """On the subspace, reduced_head_errors = theory.measured_head_errors over all inputs."""
    d = 4
    theta = np.array([a, b, c, cl, cl + 0.5, cl - 0.5])
    m = theory.measured_head_errors(LinearAR.from_reduced(d, a, b, c, theta[3:]), p, all_inputs(d))
    r = ntp.reduced_head_errors(theta, p)
    for k in ("prop1", "prop2_eq", "prop2_neq"):
        assert r[k] == pytest.approx(m[k], rel=1e-9, abs=1e-12)
    assert r["prop3"] == pytest.approx(float(np.max(m["prop3"])), rel=1e-9, abs=1e-12)


def test_fit_power_law_recovers_exact_slope():
    x = np.array([8, 16, 32, 64.0])
    f = scaling.fit_power_law(x, 3 * x ** 1.7)
    assert f["slope"] == pytest.approx(1.7, abs=1e-12) and f["se"] == pytest.approx(0, abs=1e-9)


def test_sampled_route_ntp_alone_above_threshold():
    """p > 1/3: the NTP optimum is already greedy-correct, so the pre-training budget is the total
    (closed form: greedy_probs of ntp_optimum is 1 for p > 1/3)."""
    d, p = 6, 0.6
    assert cf.greedy_probs(cf.ntp_optimum(d, p, ntp.default_lam(d)), d).p_correct == 1.0
    assert scaling.samples_to_generalise(d, p, ntp.default_lam(d), 4096, 5, 0) == 4096.0
    # p < 1/3: never at the optimum (Thm 1), whatever T
    assert scaling.ntp_alone_accuracy(d, 0.2, ntp.default_lam(d)) == 0.5


def test_f5_task_is_deterministic_in_its_stream():
    params = {"d": 8, "kappa": 1.0, "lam": list(ntp.default_lam(8)), "replicates": 4, "n_max": 30,
              "b0": 8, "cap": 2 ** 16}
    a = scaling.f5_task(params, np.random.default_rng(5))
    b = scaling.f5_task(params, np.random.default_rng(5))
    np.testing.assert_array_equal(a["totals"], b["totals"])
    assert np.isfinite(a["budget"]) and a["success"][-1] >= 0.9


@given(st.floats(0.01, 0.9), st.integers(3, 12))
def test_ideal_curves_match_closed_forms(p0, d):
    """pi_long = closed_form.ideal_p (the odds double each round); greedy accuracy turns 1 at
    round n*(p0) (closed_form.n_star, exact rational arithmetic; p values within 1e-12 of 1/3
    are skipped where float iteration and exact arithmetic may disagree); mean_length is the
    mixture of the response lengths that data.response_length gives L(x) and S(x)."""
    n = 8
    ic = star.ideal_curves(p0, d, n)
    np.testing.assert_allclose(ic["pi_long"], cf.ideal_p(p0, np.arange(n + 1)), rtol=1e-12)
    if np.all(np.abs(ic["pi_long"] - 1 / 3) > 1e-12):
        ns = cf.n_star(p0)
        assert np.array_equal(ic["greedy_accuracy"], np.where(np.arange(n + 1) >= ns, 1.0, 0.5))
    X = all_inputs(d)[:4]
    len_long, len_short = response_length(long_response(X))[0], response_length(short_response(X))[0]
    np.testing.assert_allclose(ic["mean_length"], len_short + (len_long - len_short) * ic["pi_long"],
                               rtol=1e-12)


@pytest.mark.parametrize("p", [0.2, 0.6])
def test_ntp_alone_accuracy_closed_form_equals_enumeration(p):
    """Thm 1 at the NTP optimum, two routes: 1/2 below p = 1/3, 1 above (d = 6, all 64 inputs)."""
    d, lam = 6, ntp.default_lam(6)
    cf_acc = scaling.ntp_alone_accuracy(d, p, lam)
    assert cf_acc == (0.5 if p < 1 / 3 else 1.0)
    assert scaling.exact_ntp_alone_accuracy(d, p, lam) == pytest.approx(cf_acc, abs=1e-9)  # float round-off


def test_map_generalises_agrees_with_map_rounds_and_calibrated_start():
    """From the calibrated start at p = 0.2 (greedy accuracy 1/2) the exact map needs at least
    one round; map_generalises is map_rounds <= n_max on both sides of that round count."""
    d, p, lam = 6, 0.2, ntp.default_lam(6)
    theta0, m0 = ntp.calibrated_start(d, p, lam)
    np.testing.assert_allclose(m0.reduced().chain, theta0[3:], rtol=1e-12)
    r = star.map_rounds(theta0, d, lam, 40)
    assert r >= 1 and r <= 40  # at least one round (greedy starts at 1/2), found within 40
    assert star.map_generalises(theta0, d, lam, int(r)) and not star.map_generalises(theta0, d, lam, int(r) - 1)


def test_f5_contrast_row_names_a_point_not_reached_and_fails_the_every_d_criterion():
    # the contrast row (full - stats exponent > 2 sqrt(se^2 + se^2), every d reached): a point that passed
    # its cap (d = 128, success 0.6 at B = 2^20) makes it a DEVIATION, and the row names it
    from linparity.figures.scaling import _route_rows
    fit = {"slope": 1.8, "se": 0.04}
    args = ("fixed p = 0.25", 2.0, [32, 64, 128], fit, {"slope": 0.2, "se": 0.05})
    ok = _route_rows(*args, np.array([True, True, True]), None, [8, 16])
    miss = _route_rows(*args, np.array([True, True, False]), None, [8, 16], missed=[(128, 2.0 ** 20, 0.6, 11.0)])
    assert ok[0].passed and not miss[0].passed and len(ok) == 1
    assert "d = 128 not reached: success 0.6 at the cap B = 2^20" in miss[0].measured


def test_legends_have_at_most_8_entries_a_panel(tmp_path, monkeypatch):
    """Each panel's legend names at most 8 kinds of mark (colours are named once, kinds once): the
    figures with the most series, in quick mode, with every saved figure's legends counted."""
    from linparity.figures import _plot
    counts, save = {}, _plot.save

    def counting_save(fig, out, name, caption):
        counts[name] = [len(ax.get_legend_handles_labels()[1]) for ax in fig.axes if ax.get_legend() is not None]
        return save(fig, out, name, caption)

    monkeypatch.setattr(_plot, "save", counting_save)
    assert cli.main(["--quick", "--only", "F3,F5,F12", "--out", str(tmp_path), "--no-progress"]) == 0
    assert set(counts) == {"F3_star_dynamics", "F5_sample_complexity", "F12_rounds_d"}
    assert all(n <= 8 for c in counts.values() for n in c), counts
