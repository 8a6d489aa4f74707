"""The shipped sample-complexity runs: readers of the committed sweeps of ``examples/`` and their fits.

The sweeps of ``examples/*.toml`` (task ``linparity.samples``, :mod:`linparity.experiments.samples`)
were run once to completion and their results committed under ``examples/runs/<name>``. The readers
here take the folder that holds those runs as ``runs``; by default :func:`runs_dir`:

1. the folder named by the environment variable ``LINPARITY_RUNS``, when it is set (ValueError if it
   is not a folder);
2. else the repository's ``examples/runs`` (:data:`EXAMPLE_RUNS`), when linparity runs from a
   checkout (an editable install, or the source tree on ``PYTHONPATH``);
3. else ValueError saying how to point at the runs: an installed package does not hold
   ``examples/``, so set ``LINPARITY_RUNS`` to a copy of the repository's ``examples/runs``, or pass
   ``runs=`` explicitly.

Within that folder a run's absent sub-folder gives nothing (a sweep not shipped), and a corrupt
result raises (:func:`linparity.sweep.load_results`).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..sweep import load_results

__all__ = ["RUNS_ENV", "EXAMPLE_RUNS", "runs_dir", "shipped_full_points", "pooled_shipped_totals",
           "smallest_totals"]

#: the environment variable naming the folder of the shipped runs (see :func:`runs_dir`)
RUNS_ENV = "LINPARITY_RUNS"
#: where a checkout of the repository keeps the shipped runs (examples/README.md); absent in an install
EXAMPLE_RUNS = Path(__file__).resolve().parents[2] / "examples" / "runs"


def runs_dir() -> Path:
    """The folder of the shipped runs: ``$LINPARITY_RUNS`` if set, else the repository's ``examples/runs``.

    Returns
    -------
    Path
        ``Path($LINPARITY_RUNS)`` when the variable is set and not empty, else :data:`EXAMPLE_RUNS`
        when it exists (linparity running from a checkout).

    Raises
    ------
    ValueError
        ``LINPARITY_RUNS`` names no folder; or it is unset and linparity is not running from a
        checkout (no ``examples/runs`` beside the package): the message says how to point at the runs.
    """
    env = os.environ.get(RUNS_ENV, "")
    if env:
        path = Path(env).expanduser()
        if not path.is_dir():
            raise ValueError(f"{RUNS_ENV}: {env!r} is not a folder; set it to the folder of the shipped runs "
                             "(a copy of the repository's examples/runs)")
        return path
    if EXAMPLE_RUNS.is_dir():
        return EXAMPLE_RUNS
    raise ValueError(f"runs: the shipped runs are not beside this install ({str(EXAMPLE_RUNS)!r} does not exist); "
                     f"set {RUNS_ENV} to a copy of the repository's examples/runs, or pass runs=")


def _shipped_full(names, runs):
    """(number of sweep tasks per point, params, stored task results) of every full-route point of the
    shipped sweeps ``runs/<name>`` (``runs`` None: :func:`runs_dir`); absent folders give nothing, a
    corrupt result raises."""
    runs = runs_dir() if runs is None else Path(runs)
    for name in names:
        folder = runs / name
        if not (folder / "spec.json").exists():
            continue
        res = load_results(folder, allow_missing=True)
        for pt, recs in zip(res.points, res.results):
            if pt.get("route", "full") == "full":
                yield res.spec.replicates, dict(pt), recs


def pooled_shipped_totals(names, runs=None) -> list:
    """The full-weight points of shipped sweeps ``runs/<name>`` with every sweep task's replicates
    pooled (a spec may split one point into tasks with spawned seeds, e.g. samples_d256_probe.toml):
    ``[{"d", "p", "kappa", "budgets", "n_max", "n", "mean", "se"}, ...]`` with kappa None for a point at
    fixed p, budgets the sorted distinct budgets B the tasks found (one when the spec fixes B, b0 = cap),
    n the replicates, all of which must have succeeded (a point with a failure or an unfinished task is
    left out), mean and se the mean total samples and its standard error over them. Absent folders give
    nothing."""
    out = []
    for tasks, pt, recs in _shipped_full(names, runs):
        if len(recs) != tasks:
            continue
        t = np.concatenate([np.asarray(r["totals"], float) for r in recs])    # (n,) all replicates
        if t.size >= 2 and np.isfinite(t).all():
            out.append({"d": int(pt["d"]), "p": float(recs[0]["p"]), "n_max": float(recs[0]["n_max"]),
                        "kappa": float(pt["kappa"]) if "kappa" in pt else None,
                        "budgets": sorted({float(r["budget"]) for r in recs}),
                        "n": int(t.size), "mean": float(t.mean()), "se": float(t.std(ddof=1) / np.sqrt(t.size))})
    return out


def smallest_totals(names, runs=None, *, frac=0.9) -> dict:
    """The smallest mean total samples per setting and d over the full-weight points of the shipped
    sweeps ``runs/<name>``: F5's doubling searches (round limit n*(p) + 10) and the one-budget runs
    (b0 = cap) with longer round limits (docs/claims/theorem2.md).

    A point counts at a budget B where at least ``frac`` of its replicates reached the level: a search
    task at the budget B it found (each task on its own), a one-budget point at B with every sweep
    task's replicates pooled (all tasks finished). Its total is the mean of B (1 + rounds used) over
    the replicates that succeeded, with its standard error (ddof = 1), as
    :func:`~linparity.experiments.samples.samples_search`'s ``total_samples_mean``. B lies on the grid the runs tried (powers of 2),
    so the smallest total is an upper bound on the minimum over all B.

    Returns ``{("kappa", kappa) or ("p", p): [{"d", "mean", "se", "budget", "n_max", "n"}, ...]}``,
    each list sorted by d (one entry per d). Absent folders give nothing."""
    best = {}
    for tasks, pt, recs in _shipped_full(names, runs):
        key = ("kappa", float(pt["kappa"])) if "kappa" in pt else ("p", float(pt["p"]))
        if pt.get("b0") == pt.get("cap"):                                # one budget: pool the tasks
            cands = [(float(pt["b0"]), recs)] if len(recs) == tasks else []
        else:                                                            # a search: the budget found
            cands = [(float(r["budget"]), [r]) for r in recs if np.isfinite(float(r["budget"]))]
        for B, rs in cands:
            t = np.concatenate([np.asarray(r["totals"], float) for r in rs])     # (n,) inf = failed
            ok = t[np.isfinite(t)]
            if ok.size < 2 or ok.size < frac * t.size:
                continue
            cand = {"d": int(pt["d"]), "mean": float(ok.mean()), "se": float(ok.std(ddof=1) / np.sqrt(ok.size)),
                    "budget": B, "n_max": float(rs[0]["n_max"]), "n": int(t.size)}
            old = best.get((key, cand["d"]))
            if old is None or cand["mean"] < old["mean"]:
                best[key, cand["d"]] = cand
    out = {}
    for (key, _), cand in sorted(best.items(), key=lambda kv: kv[0]):             # by setting, then d
        out.setdefault(key, []).append(cand)
    return out


def shipped_full_points(names, runs=None, *, replicates=None) -> list:
    """The finished full-weight points of the shipped sweeps ``runs/<name>`` (``examples/*.toml``, run
    once to completion and committed), as ``[(params, result), ...]`` with each point's params
    (d, kappa or p, ...) and its :func:`~linparity.experiments.samples.samples_task` result. Points of another route, or (when
    given) another replicate count, are left out, and so are unfinished points (a sweep still
    running); a name whose folder is absent gives nothing; a corrupt result raises
    (sweep.load_results)."""
    return [(pt, recs[0]) for _, pt, recs in _shipped_full(names, runs)
            if recs and (replicates is None or pt.get("replicates") == replicates)]
