"""Plotting helpers shared by the figure modules (matplotlib, Agg backend): layers and saving."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .._io import atomic_write  # noqa: E402

__all__ = ["plt", "new", "line", "markers", "band", "save"]


def new(ncols=1, nrows=1, width=4.2, height=3.3):
    """A figure with a grid of axes (always a flat array)."""
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows + 0.5), squeeze=False)
    return fig, axes.ravel()


def line(ax, x, y, label=None, **kw):
    """Closed-form layer: a line."""
    return ax.plot(x, y, label=label, lw=1.6, **kw)[0]


def markers(ax, x, y, label=None, **kw):
    """Exact-enumeration layer: open markers."""
    kw.setdefault("marker", "o")
    kw.setdefault("ms", 7)
    return ax.plot(x, y, ls="none", mfc="none", mew=1.4, label=label, **kw)[0]


def band(ax, x, Y, label=None, color=None, **kw):
    """Simulation layer: mean over replicates (axis 0 of Y ``(R, n)``) with a +-1 std band."""
    Y = np.asarray(Y, dtype=float)
    m, s = Y.mean(axis=0), (Y.std(axis=0, ddof=1) if Y.shape[0] > 1 else np.zeros(Y.shape[1]))
    h = ax.plot(x, m, ls="--", marker=".", lw=1, color=color, label=label, **kw)[0]
    ax.fill_between(x, m - s, m + s, color=h.get_color(), alpha=0.2, lw=0)
    return h


def once(ax, label: str) -> str | None:
    """``label`` the first time an axis gets it, None after: one legend entry per kind of mark, whose
    colour is named by another entry (keeps a panel's legend to a few entries)."""
    return None if label in ax.get_legend_handles_labels()[1] else label


def save(fig, out: Path, name: str, caption: str) -> list[Path]:
    """Write ``name``.png and ``name``.pdf atomically (temp file + os.replace), caption underneath."""
    width, height = fig.get_size_inches()
    n_lines = int(np.ceil(len(caption) / (width * 15.5))) + 1       # ~15.5 chars per inch at 7 pt
    bottom = min(0.45, n_lines * 9.5 / 72 / height)                  # 9.5 pt per caption line
    fig.text(0.01, 0.005, caption, fontsize=7, wrap=True, va="bottom", ha="left")
    fig.tight_layout(rect=(0, bottom, 1, 1))
    paths = []
    for ext in ("png", "pdf"):
        path = Path(out) / f"{name}.{ext}"
        # no creation date in the PDF, so that an unchanged figure is an unchanged file
        meta = {"CreationDate": None} if ext == "pdf" else None
        atomic_write(path, lambda fh, ext=ext, meta=meta: fig.savefig(fh, dpi=110, format=ext, metadata=meta))
        paths.append(path)
    plt.close(fig)
    return paths
