"""The designed sample-complexity specs (examples/design_*.toml) keep the design their headers state."""
from pathlib import Path

import numpy as np
import pytest

from linparity.sweep import load_spec

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SPECS = sorted(EXAMPLES.glob("design_*.toml"))


def test_the_designed_specs_are_shipped():
    assert {p.stem for p in SPECS} >= {"design_floor", "design_total", "design_lambda"}


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_design_spec_grid_and_replicates(path):
    """>= 20 replicates per budget for d <= 128, >= 10 at d = 256; budgets ascending on a grid no
    coarser than 2^(1/2) (+1% for integer rounding); one fixed N per point (the searched budget is T)."""
    spec = load_spec(path)
    assert spec.points and "criteria (fixed before any result" in path.read_text().lower()
    for pt in spec.points:
        assert pt["replicates"] >= (20 if pt["d"] <= 128 else 10)
        b = np.asarray(pt["budgets"], float)
        assert b.size >= 5 and np.all(np.diff(b) > 0) and np.all(b[1:] / b[:-1] <= 2 ** 0.5 * 1.01)
        assert "round_samples" in pt and "pretrain_samples" not in pt
        assert len(pt["lam"]) == 3
