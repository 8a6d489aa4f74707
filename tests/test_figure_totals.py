"""F13 and F5's designed-floor layer on a small synthetic results folder (new format) and on the shipped
old-format runs. The synthetic task draws success curves with b90(d) = 4 d^2 (floor) and rounds 5."""
import dataclasses

import numpy as np
import pytest

from linparity.experiments import floor_n as fn
from linparity.figures import _plot, totals
from linparity.figures.settings import QUICK
from linparity.sweep import SweepSpec, register_task, run_sweep


@register_task("test.designed_samples")
def _fake(params, rng):
    d, p = params["d"], params["p"]
    b90 = (4.0 * d * d * (params["round_samples"] / (4 * 32 * d * d)) ** -params.get("beta", 0.0)
           * params.get("scale", 1.0))
    B = b90 * 2.0 ** (np.arange(-4, 5) / 2)
    pr = 1 / (1 + np.exp(-(4 * np.log(B / b90) + np.log(9))))
    R = 20
    return {"success_curve": np.column_stack([B, rng.binomial(R, pr), np.full(B.size, R)]), "p": p,
            "round_samples": float(params["round_samples"]), "rounds_mean": 5.0, "rounds_se": 0.3,
            "lam": np.array([0.01, 0.01, params.get("lam_chain", 0.01 / d)])}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    for name, N in (("design-floor", 4096), ("design-total", 512)):
        pts = [{"p": 0.25, "d": d, "round_samples": N} for d in (8, 16, 32)] + [{"p": 0.25, "d": 32, "round_samples": 2 * N}]
        run_sweep(SweepSpec(task="test.designed_samples", points=pts, replicates=1, seed=1, out=str(root / name)))
    return root


def _fine(root, beta):
    """A second stage at N = m B(d), B(d) = 32 d^2, m = 4 and 8 (d = 8, 16), with T_90 ~ N^-beta."""
    pts = [{"p": 0.25, "d": d, "round_samples": m * 32 * d * d, "beta": beta} for d in (8, 16) for m in (4, 8)]
    run_sweep(SweepSpec(task="test.designed_samples", points=pts, replicates=1, seed=2, out=str(root / "design-fine")))
    return root


@pytest.mark.slow
def test_f13_and_the_floor_layer_on_designed_runs(runs, tmp_path):
    res = totals.f13(QUICK, np.random.SeedSequence(0), tmp_path, runs=runs)
    designed = [r for r in res.rows if "floor exponent" in r.claim]
    assert len(designed) == 1 and "difference" in designed[0].measured
    assert all(len(r.claim) <= 150 for r in res.rows) and (tmp_path / "F13_totals.png").exists()
    ax = np.atleast_1d(_plot.new()[1]).flat[0]
    rows, cap = totals.floor_layer(ax, runs=runs)
    names = [r.claim for r in rows]
    assert any("certify the floor" in c for c in names) and any("not bound by N" in c for c in names)
    cert = next(r for r in rows if "certify the floor" in r.claim)
    assert cert.passed                      # p T_90 = d^2 is far below the certified T_long (> 1e12 at d = 8)
    assert len(ax.get_legend_handles_labels()[1]) <= 8 and "read" in cap


def test_f13_reads_the_old_format_runs(tmp_path):
    s = dataclasses.replace(QUICK, f5_shipped=("samples-d32", "samples-d64"), f5_more_rounds=("samples-p025-budgets",))
    res = totals.f13(s, np.random.SeedSequence(0), tmp_path)
    rows = [r for r in res.rows if "rounds do not grow" in r.claim]
    assert rows and all("local" in r.measured for r in rows)


@pytest.mark.slow
@pytest.mark.parametrize("beta, holds", [(0.0, True), (1.0, False)])
def test_the_second_stage_floor_and_its_n_row(runs, tmp_path, beta, holds):
    """With design_fine shipped the floor is read at N = 4 B(d) and the N row follows design_fine's criterion:
    a flat T_90 (beta = 0) holds; T_90 ~ 1/N (a factor 2 per doubling against intervals of ~10% at R = 20)
    binds at every d."""
    import shutil
    root = tmp_path / "runs"
    shutil.copytree(runs, root)
    _fine(root, beta)
    fig, (ax, ax_n) = _plot.new(ncols=2)
    rows, cap = totals.floor_layer(ax, ax_n, runs=root)
    cert = [r for r in rows if "certify the floor" in r.claim]
    assert cert and all("N = 4 B(d)" in r.claim for r in cert) and "design-fine" in cap
    (n_row,) = [r for r in rows if "does not depend on N" in r.claim]
    assert n_row.passed is holds and ax_n.has_data()
    assert len(ax_n.get_legend_handles_labels()[1]) <= 8


@pytest.mark.slow
def test_finding_text_from_the_stored_results(runs):
    from linparity.figures.findings import designed_text
    text = designed_text(runs, n_boot=200)
    assert "p = 0.25: d^" in text and "Totals" in text and "rounds' share" in text
    assert designed_text(runs / "absent") == ""


@pytest.mark.parametrize("scale, holds", [(1.0, True), (0.25, False)])
def test_the_lambda_stage_at_4b_compares_with_todays_floor_at_the_same_n(tmp_path, scale, holds):
    """A second lambda stage (design-lambda-fine, N = 4 B(d)) with schedules 0.1/d and the constant 1e-3 at
    d = 8, 16: today's schedule (0.01/d) is read from design-fine at N = 4 B(d), not at 8 B(d) (which has
    b90 halved: it would make today's look better). A schedule with b90 a quarter of today's (intervals of
    ~10% at R = 20) lies wholly below it at both d; one with the same b90 overlaps."""
    fine = [{"p": 0.25, "d": d, "round_samples": m * 32 * d * d, "scale": 1.0 / m * 4} for d in (8, 16) for m in (4, 8)]
    run_sweep(SweepSpec(task="test.designed_samples", points=fine, replicates=1, seed=3, out=str(tmp_path / "design-fine")))
    lam = [{"p": 0.25, "d": d, "round_samples": 4 * 32 * d * d, "lam_chain": lc(d), "scale": sc}
           for lc, sc in ((lambda d: 0.1 / d, 1.0), (lambda d: 1e-3, scale)) for d in (8, 16)]
    run_sweep(SweepSpec(task="test.designed_samples", points=lam, replicates=1, seed=4,
                        out=str(tmp_path / "design-lambda-fine")))
    (stage,) = fn.schedule_stages(tmp_path)
    assert stage["m"] == 4 and set(stage["groups"]) == {("c/d", 0.01), ("c/d", 0.1), ("c", 0.001)}
    assert stage["groups"][("c/d", 0.01)]["N"] == [4 * 32 * 64.0, 4 * 32 * 256.0]
    ax = np.atleast_1d(_plot.new()[1]).flat[0]
    rows, _ = totals.floor_layer(ax, runs=tmp_path)
    (today,) = [r for r in rows if r.claim.startswith("Today's")]
    assert "N = 4 B(d)" in today.claim and "design_lambda_fine.toml" in today.detail and today.passed is holds
    assert len([r for r in rows if r.claim.startswith("Lambda schedule")]) == 3

