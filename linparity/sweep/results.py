"""Reading a sweep's results: :func:`load_results` (every stored task checked) into a
:class:`SweepResult`, and its summaries (:func:`summary_rows`, :func:`summary_table`,
:func:`summary_by_task`) for ``linparity sweep --show``.
"""
from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .spec import RESOLVE_TASK, SweepSpec, one_line
from .store import SPEC_FILE, CorruptResultError, inspect_task


@dataclasses.dataclass
class SweepResult:
    """The table of a sweep: its points, and per point the replicates' result arrays."""

    spec: SweepSpec  # the sweep these results belong to
    points: list  # P parameter dicts, in sweep order
    results: list  # results[p] = list over stored replicates of {key: ndarray}
    meta: list  # meta[p] = list of the matching JSON sidecars (params, seed, version, git)
    missing: list = dataclasses.field(default_factory=list)  # keys of tasks not on disk
    computed: list = dataclasses.field(default_factory=list)  # keys computed by run_sweep

    def __len__(self) -> int:
        return len(self.points)

    def to_arrays(self, key: str) -> list[np.ndarray]:
        """For each point, result ``key`` stacked over its replicates: a list of P arrays
        ``(R_p, *shape)``; R_p = replicates unless tasks are missing."""
        out = []
        for p, reps in enumerate(self.results):
            try:
                out.append(np.stack([r[key] for r in reps]) if reps else np.empty((0,)))
            except KeyError:
                raise ValueError(f"key: point {p} has no result {key!r}; it has "
                                 f"{sorted(reps[0]) if reps else []}") from None
        return out

    def stack(self, key: str) -> np.ndarray:
        """Result ``key`` as one array ``(P, R, *shape)``; ValueError if shapes or replicate
        counts differ between points."""
        arrays = self.to_arrays(key)
        shapes = {a.shape for a in arrays}
        if len(shapes) != 1:
            raise ValueError(f"key: {key!r} has different shapes across points {sorted(shapes)}; "
                             "use to_arrays")
        return np.stack(arrays)

    def column(self, name: str) -> np.ndarray:
        """Parameter ``name`` over the points, ``(P,)`` (None where a point lacks it)."""
        values = [p.get(name) for p in self.points]
        try:
            return np.array(values)
        except ValueError:  # ragged list-valued parameters
            return np.array(values, dtype=object)


def load_stored(spec: SweepSpec, out: Path, allow_missing: bool) -> SweepResult:
    """The results of ``spec`` stored in ``out``, every task checked (:func:`load_results`, run_sweep)."""
    points = spec.point_list()
    results = [[] for _ in points]
    meta = [[] for _ in points]
    missing = []
    corrupt = []
    for task in spec.tasks():
        found = inspect_task(out, task, read=True)
        if found.status == "corrupt":
            corrupt.append(found)
        elif found.status != "ok":  # absent, or an npz whose sidecar is not written yet
            missing.append(task.key)
        elif not corrupt:
            results[task.point_index].append(found.arrays)
            meta[task.point_index].append(found.meta)
    if corrupt:
        raise CorruptResultError(corrupt[0].path, corrupt[0].reason, more=len(corrupt) - 1)
    if missing and not allow_missing:
        raise ValueError(f"out: {len(missing)} of {spec.n_tasks} tasks are not complete in "
                         f"{str(out)!r} (first: {missing[0]}); rerun the sweep to resume, or "
                         "pass allow_missing=True")
    return SweepResult(spec, points, results, meta, missing)


def load_results(out_dir: str | Path, allow_missing: bool = False) -> SweepResult:
    """Load a sweep's results from its output folder (using the ``spec.json`` stored there).

    Parameters
    ----------
    out_dir : str or Path
        The sweep's output folder. It may have been moved: files are read from ``out_dir``,
        not from the ``out`` recorded in ``spec.json``. The task function need not be
        registered (nor its ``imports`` importable) to read results.
    allow_missing : bool
        If False, incomplete tasks raise ValueError; if True, ``SweepResult.missing`` lists
        their keys and ``results[p]`` holds only the stored replicates.

    Returns
    -------
    SweepResult
        ``points`` (P dicts), ``results[p][r]`` (dict of arrays), ``meta[p][r]`` (sidecars).

    Raises
    ------
    CorruptResultError
        (a ValueError) A stored result fails its checks: the message names the first bad file,
        the reason (size, sha256, garbled sidecar, unreadable npz) and how many more are bad.
        Rerunning the sweep moves such files aside and recomputes them.
    ValueError
        No readable ``spec.json`` in ``out_dir``; or tasks missing and ``allow_missing`` False.

    Examples
    --------
    >>> res = load_results("runs/f5")                  # doctest: +SKIP
    >>> res.points[0]["d"], res.results[0][0]["budget"]  # doctest: +SKIP
    >>> res.stack("budget")  # (P, R) array over points and replicates  # doctest: +SKIP
    """
    out = Path(out_dir)
    try:
        data = json.loads((out / SPEC_FILE).read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"out_dir: no readable {SPEC_FILE} in {str(out)!r} (is it a sweep's "
                         f"output folder?): {one_line(exc)}") from None
    token = RESOLVE_TASK.set(False)
    try:
        spec = SweepSpec.from_dict({**data, "out": str(out)} if isinstance(data, Mapping) else data)
    except ValueError as exc:  # a stored spec that is not one run_sweep writes: say which file
        raise ValueError(f"out_dir: {str(out / SPEC_FILE)!r} is not a sweep spec ({one_line(exc)})") from None
    finally:
        RESOLVE_TASK.reset(token)
    return load_stored(spec, out, allow_missing)



def _scalar(arr: np.ndarray):
    """A one-element numeric, boolean or string array as a Python value (None for NaN or +-inf),
    else :data:`_NOT_SCALAR`."""
    if arr.size != 1 or arr.dtype.kind not in "biufUS":
        return _NOT_SCALAR
    value = arr.reshape(()).item()
    return None if isinstance(value, float) and not math.isfinite(value) else value


_NOT_SCALAR = object()


def summary_rows(result: SweepResult) -> list[dict]:
    """One dict per finished task of ``result``, in task order (for ``sweep --show --json``).

    Each row has ``index``, ``key``, ``point``, ``replicate``, ``params`` (the point's
    parameters), ``scalars`` (every one-element result, as a Python value; None where it is NaN
    or infinite, which JSON cannot hold: e.g. a budget past the search's cap), ``arrays`` (the
    shapes of the other results) and ``seconds`` (the task's run time, from its sidecar).
    """
    rows = []
    for p, (reps, metas) in enumerate(zip(result.results, result.meta)):
        for arrays, meta in zip(reps, metas):
            scalars, shapes = {}, {}
            for name, arr in arrays.items():
                value = _scalar(arr)
                if value is _NOT_SCALAR:
                    shapes[name] = list(arr.shape)
                else:
                    scalars[name] = value
            rows.append({"index": meta["index"], "key": meta["key"], "point": p,
                         "replicate": meta["replicate"], "params": dict(result.points[p]),
                         "scalars": scalars, "arrays": shapes, "seconds": meta.get("elapsed_s")})
    rows.sort(key=lambda r: r["index"])
    return rows


def _cell(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return "[" + ",".join(_cell(v) for v in value) + "]"
    return str(value)


def _summary_cells(result: SweepResult, max_scalars: int) -> list[list[str]]:
    """The cells of :func:`summary_table`: the header row, then one row per finished task."""
    rows = summary_rows(result)
    names = list(dict.fromkeys(k for p in result.points for k in p))
    varying = [k for k in names if len({json.dumps(p.get(k), sort_keys=True)
                                        for p in result.points}) > 1]
    params = varying or names
    scalars = list(dict.fromkeys(k for r in rows for k in r["scalars"]))[:max_scalars]
    header = ["#", *params] + (["rep"] if result.spec.replicates > 1 else []) + [*scalars, "seconds"]
    table = [header]
    for r in rows:
        line = [str(r["index"]), *(_cell(r["params"].get(k, "")) for k in params)]
        if result.spec.replicates > 1:
            line.append(str(r["replicate"]))
        line += [_cell(r["scalars"].get(k, "")) for k in scalars]
        line.append("" if r["seconds"] is None else f"{r['seconds']:.3g}")
        table.append(line)
    return table


def _aligned(table: list[list[str]]) -> list[list[str]]:
    widths = [max(len(row[j]) for row in table) for j in range(len(table[0]))]
    return [[c.ljust(w) for c, w in zip(row, widths)] for row in table]


def summary_table(result: SweepResult, max_scalars: int = 4) -> list[str]:
    """The finished tasks as an aligned text table: a header line, then one line per task.

    Columns: task index; the parameters that vary across points (all of them for a single
    point); the replicate (when there are several); the first ``max_scalars`` one-element
    results, in the order the task returned them (``null`` where a result is NaN or infinite, as
    in :func:`summary_rows`); the task's run time in seconds.
    """
    return ["  ".join(row).rstrip() for row in _aligned(_summary_cells(result, max_scalars))]


def summary_by_task(result: SweepResult, max_scalars: int = 4) -> dict[str, str]:
    """:func:`summary_table` keyed by its first column: ``{"#": the other column names, "<task
    index>": that task's other cells}``, the values aligned as in the table (for ``sweep --show``)."""
    return {row[0].rstrip(): "  ".join(row[1:]).rstrip()
            for row in _aligned(_summary_cells(result, max_scalars))}
