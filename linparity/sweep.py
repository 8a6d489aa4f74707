"""A generic, resumable, seed-stable parameter-sweep engine (issue 5, "Sweeps and scale").

A sweep runs one registered *task* over a grid of parameter points, ``replicates`` times per
point. The engine knows no model maths; the modules of :mod:`linparity.experiments` register
their tasks with :func:`register_task`, and the figure modules describe their grids with a
:class:`SweepSpec`.

Ordering and seeds
------------------
The points are the Cartesian product of ``grid`` (keys in the order given, the last key
varying fastest) followed by the explicit ``points``. Task ``i = point_index * replicates +
replicate`` receives the Generator of the i-th child of ``SeedSequence(seed)``, i.e.
``SeedSequence(seed, spawn_key=(i,))`` -- exactly ``SeedSequence(seed).spawn(n)[i]``. A task's
random stream therefore depends only on its position in the ordered grid, never on ``jobs``,
the backend or the order in which tasks finish (numpy SPEC 7, ``linparity._checks.spawn``).

Storage and resume
------------------
Task ``i`` is stored as ``<out>/<key>.npz`` (its result arrays) and ``<out>/<key>.json`` (the
sidecar: parameters, seed entropy and spawn key, package version, git revision, the npz size
and its SHA-256, and the SHA-256 of the sidecar's own other fields), where
``key = f"{i:06d}-{digest}"`` and ``digest`` hashes (task name, parameters, replicate, seed
entropy, spawn key). Each file is written to a temporary file in ``out``, flushed, fsynced
and moved into place with ``os.replace``; the sidecar is written last and marks completion.

A rerun skips every task whose sidecar is valid and whose npz has the recorded size and
SHA-256. Anything else is *moved aside* into ``<out>/corrupt/`` (file names prefixed with a
UTC time stamp), reported in one line on stderr, and recomputed: an npz without sidecar (an
interrupted write, or a deleted sidecar), a garbled sidecar, an npz that is missing,
truncated, overwritten or has flipped bytes. Leftover temporary files are deleted. Because the
digest covers the parameters and seed, a changed spec never reuses a stale result, and a
recomputed task reproduces the lost numbers exactly. A folder holds one sweep: a spec whose
tasks do not include every result stored there (another task, grid, seed or replicate count)
is refused naming the folder, since it would leave those results unreadable; a spec that
appends points to the one stored resumes it. A sweep holds at most :data:`MAX_TASKS` tasks,
counted before the grid is expanded. :func:`load_results` runs the same
checks and raises :class:`CorruptResultError` (a ValueError naming the file) rather than
return damaged numbers. Sidecars written before checksums existed are checked by reading the
whole npz (the zip CRC-32 of every member).

All files are written by the driving process, so a Dask cluster needs no shared file system.
One output directory serves one running sweep at a time: an advisory ``flock`` on
``<out>/.lock`` (where the platform has it), whose content names the holder (pid, host, start
time); a second sweep raises :class:`SweepLockedError`.
"""
from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import hashlib
import itertools
import json
import math
import os
import re
import socket
import subprocess
import sys
import time
import uuid
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

from ._checks import check_int
from ._io import TMP_PREFIX as _TMP_PREFIX
from ._io import atomic_write

__all__ = ["TASKS", "register_task", "get_task", "SweepSpec", "TaskInfo", "SweepResult",
           "load_spec", "run_sweep", "load_results", "summary_rows", "summary_table", "summary_by_task",
           "BACKENDS", "CHECKS", "check_param_names", "CorruptResultError", "SweepLockedError", "CORRUPT_DIR", "MAX_TASKS"]

#: registered task functions ``f(params: dict, rng: np.random.Generator) -> dict``, by name
TASKS: dict[str, Callable[[dict, np.random.Generator], Mapping]] = {}
#: optional checks of a task's parameters ``check(params)`` (ValueError when a point is bad), by task name;
#: :func:`run_sweep` runs them on every point before any task runs
CHECKS: dict[str, Callable[[dict], None]] = {}

#: the parallel backends accepted by :func:`run_sweep`
BACKENDS = ("joblib", "dask")

_SPEC_FIELDS = ("task", "grid", "points", "replicates", "seed", "out", "imports")
_SPEC_FILE = "spec.json"
_LOCK_FILE = ".lock"
#: sub-folder of ``out`` that receives corrupt or incomplete results moved aside on resume
CORRUPT_DIR = "corrupt"
#: most tasks (points x replicates) one sweep may hold: each is two files in one folder
MAX_TASKS = 1_000_000
# a task's file stem, "<index:06d>-<12 hex digits>" (SweepSpec._key)
_KEY = re.compile(r"\d{6,}-[0-9a-f]{12}")
# False while load_results rebuilds a stored spec: reading results needs no task function
_RESOLVE_TASK = contextvars.ContextVar("linparity_sweep_resolve_task", default=True)




class CorruptResultError(ValueError):
    """A stored result fails its checks (size, SHA-256, sidecar, npz format).

    ``path`` is the offending file and ``reason`` says what is wrong; the message names both
    and says how to repair the sweep (rerun it: the file is moved aside and recomputed).
    """

    def __init__(self, path, reason: str, more: int = 0):
        self.path = Path(path)
        self.reason = reason
        extra = f" (and {more} more corrupt task(s))" if more else ""
        super().__init__(f"out: corrupt sweep result {str(path)!r}: {reason}{extra}; rerun the "
                         "sweep to move it aside and recompute it")


class SweepLockedError(RuntimeError):
    """Another process is running a sweep into the same output folder (it holds the lock)."""


# --------------------------------------------------------------------------- task registry

def register_task(name: str, check: Callable[[dict], None] | None = None):
    """Decorator registering ``f(params, rng) -> dict[str, ndarray | float]`` under ``name``.

    Registering a second, different function under a taken name raises ValueError; registering
    the same function again (or a reloaded module's function of the same qualified name)
    replaces the entry.

    Parameters
    ----------
    name : str
        The name a :class:`SweepSpec` uses in its ``task`` field.
    check : callable, optional
        ``check(params)`` raises ValueError for a point the task would refuse (an unknown
        parameter, a value out of range, work that does not fit); :func:`run_sweep` calls it on
        every point before any task runs, so a bad point late in a grid costs no work.

    Returns
    -------
    decorator
        Registers the function in :data:`TASKS` and returns it unchanged. The function receives
        a fresh copy of the point's parameter dict and its own Generator, and returns a dict of
        arrays (or scalars, stored as 0-d arrays); object arrays are refused.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"name: a task name must be a non-empty string, got {name!r}")

    def decorator(func):
        if not callable(func):
            raise ValueError(f"register_task({name!r}): expected a callable, got {func!r}")
        old = TASKS.get(name)
        if old is not None and old is not func and _qualname(old) != _qualname(func):
            raise ValueError(f"task: the name {name!r} is already registered to "
                             f"{_qualname(old)}; cannot register {_qualname(func)}")
        TASKS[name] = func
        if check is not None:
            CHECKS[name] = check
        else:
            CHECKS.pop(name, None)
        return func

    return decorator


def check_param_names(params: Mapping, required, optional=()) -> None:
    """ValueError naming ``params``'s unknown or missing names (for a task's ``check``): a misspelt
    parameter would otherwise be ignored silently and its default used."""
    unknown = sorted(set(params) - set(required) - set(optional))
    missing = [k for k in required if k not in params]
    if unknown or missing:
        raise ValueError(f"params: {'unknown' if unknown else 'missing'} parameter(s) {unknown or missing}; the "
                         f"task takes {', '.join(required)}" + (f" and optionally {', '.join(optional)}" if optional else ""))


def _qualname(func) -> str:
    return f"{getattr(func, '__module__', '?')}.{getattr(func, '__qualname__', repr(func))}"


def get_task(name: str) -> Callable:
    """The task registered under ``name``; ValueError listing the registered names otherwise."""
    try:
        return TASKS[name]
    except (KeyError, TypeError):
        raise ValueError(f"task: unknown task {name!r}; registered tasks are {sorted(TASKS)} "
                         "(a spec can list modules that register tasks in 'imports')") from None


@register_task("demo")
def _demo_task(params: dict, rng: np.random.Generator) -> dict:
    """Built-in demonstration task: ``n`` draws of N(mu, 1) and their sample mean.

    Parameters ``n`` (int >= 1, default 4) and ``mu`` (float, default 0). Returns ``x`` of
    shape ``(n,)`` and the float ``mean``.
    """
    n = check_int("n", params.get("n", 4), 1)
    x = rng.normal(float(params.get("mu", 0.0)), 1.0, size=n)  # (n,)
    return {"x": x, "mean": float(x.mean())}


# --------------------------------------------------------------------------- specification

def _to_json_value(obj):
    """``json.dumps`` default hook: numpy scalars and arrays become Python values."""
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def _canonical(field: str, value):
    """``value`` after a JSON round trip (tuples -> lists, numpy -> Python); ValueError naming
    ``field`` if it is not JSON-serialisable with finite floats."""
    try:
        return json.loads(json.dumps(value, default=_to_json_value, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{field}: parameters must be JSON values (numbers, finite floats, "
                         f"strings, booleans, null, lists, dicts); {exc}") from None


@dataclasses.dataclass(frozen=True)
class TaskInfo:
    """One unit of work: a grid point and one replicate of it."""

    index: int  # position in the ordered task list; the spawn key of its seed is (index,)
    point_index: int  # position of the parameter point in SweepSpec.point_list()
    replicate: int  # replicate number in [0, replicates)
    params: dict  # the point's parameters, as handed to the task function
    entropy: int  # the root seed, SeedSequence entropy
    key: str  # file stem "<index:06d>-<digest>" of the task's .npz and .json

    @property
    def spawn_key(self) -> tuple[int, ...]:
        """The SeedSequence spawn key of this task, ``(index,)``."""
        return (self.index,)

    def seed_sequence(self) -> np.random.SeedSequence:
        """This task's seed: ``SeedSequence(entropy, spawn_key=(index,))``, which equals
        ``SeedSequence(entropy).spawn(n)[index]``."""
        return np.random.SeedSequence(self.entropy, spawn_key=self.spawn_key)


@dataclasses.dataclass(frozen=True)
class SweepSpec:
    """What a sweep runs: one task over a parameter grid, with replicates, a seed and a folder.

    The ordered points are the Cartesian product of ``grid`` (last key fastest) followed by
    ``points``; see the module docstring for how seeds and file names follow from the order.
    Construction validates every field and raises ValueError naming the offending one.
    """

    task: str  # name of a function in TASKS (after importing the modules in `imports`)
    grid: dict = dataclasses.field(default_factory=dict)  # {name: [values]} -> Cartesian product
    points: list = dataclasses.field(default_factory=list)  # explicit extra points [{name: value}]
    replicates: int = 1  # independent replicates (seeds) per point, >= 1
    seed: int = 0  # root seed: entropy of the SeedSequence whose children seed the tasks, >= 0
    out: str | Path = "sweep"  # output folder for <key>.npz / <key>.json files
    imports: list = dataclasses.field(default_factory=list)  # modules that register the task

    def __post_init__(self):
        set_ = object.__setattr__  # frozen dataclass: normalise the fields in place once
        if not isinstance(self.imports, (list, tuple)) or not all(
                isinstance(m, str) and m for m in self.imports):
            raise ValueError(f"imports: must be a list of module names, got {self.imports!r}")
        set_(self, "imports", list(self.imports))
        if not isinstance(self.task, str) or not self.task:
            raise ValueError(f"task: must be the name of a registered task, got {self.task!r}")
        if _RESOLVE_TASK.get():
            for module in self.imports:
                try:
                    __import__(module)
                except ImportError as exc:
                    raise ValueError(f"imports: cannot import {module!r}: {exc}") from None
            get_task(self.task)  # ValueError naming `task` if unknown

        if not isinstance(self.grid, Mapping):
            raise ValueError(f"grid: must be a dict {{name: [values]}}, got {self.grid!r}")
        grid = {}
        for name, values in self.grid.items():
            if not isinstance(name, str) or not name:
                raise ValueError(f"grid: parameter names must be non-empty strings, got {name!r}")
            if isinstance(values, (str, bytes, Mapping)) or not hasattr(values, "__iter__"):
                raise ValueError(f"grid[{name!r}]: must be a list of values, got {values!r}")
            values = _canonical(f"grid[{name!r}]", list(values))
            if not values:
                raise ValueError(f"grid[{name!r}]: the list of values is empty")
            grid[name] = values
        set_(self, "grid", grid)

        if not isinstance(self.points, (list, tuple)):
            raise ValueError(f"points: must be a list of dicts, got {self.points!r}")
        points = []
        for j, point in enumerate(self.points):
            if not isinstance(point, Mapping) or not all(isinstance(k, str) for k in point):
                raise ValueError(f"points[{j}]: must be a dict {{name: value}}, got {point!r}")
            points.append(_canonical(f"points[{j}]", dict(point)))
        set_(self, "points", points)
        if not grid and not points:
            raise ValueError("grid: the sweep is empty; give a non-empty 'grid' or 'points'")

        set_(self, "replicates", check_int("replicates", self.replicates, 1))
        set_(self, "seed", check_int("seed", self.seed, 0))
        n_points = self.n_points   # arithmetic: the grid is not materialised before it is known to fit
        if n_points > MAX_TASKS:
            raise ValueError(f"grid: the sweep has {_count(n_points)} points (the product of the grid's value "
                             f"counts{' plus the points' if points else ''}), more than {MAX_TASKS:,} tasks")
        if n_points * self.replicates > MAX_TASKS:
            raise ValueError(f"replicates: {n_points} point(s) x {self.replicates} replicates = "
                             f"{_count(n_points * self.replicates)} tasks, more than {MAX_TASKS:,}")
        if not isinstance(self.out, (str, os.PathLike)) or not str(self.out):
            raise ValueError(f"out: must be a folder path, got {self.out!r}")
        set_(self, "out", Path(self.out))

        seen = set()
        for j, point in enumerate(self.point_list()):
            canon = json.dumps(point, sort_keys=True)
            if canon in seen:
                raise ValueError(f"points: point {j} {point} occurs twice in the sweep")
            seen.add(canon)

    # ---- derived views
    def point_list(self) -> list[dict]:
        """The ordered points: the product of ``grid`` (last key fastest), then ``points``."""
        names = list(self.grid)
        product = [dict(zip(names, combo)) for combo in itertools.product(*self.grid.values())]
        if not names:
            product = []
        return product + [dict(p) for p in self.points]

    @property
    def n_points(self) -> int:
        """Number of parameter points P (exact integer arithmetic: a huge grid does not overflow)."""
        n = math.prod(len(v) for v in self.grid.values()) if self.grid else 0
        return n + len(self.points)

    @property
    def n_tasks(self) -> int:
        """Number of tasks P * replicates."""
        return self.n_points * self.replicates

    def tasks(self) -> list[TaskInfo]:
        """All tasks in order: task ``i`` is point ``i // replicates``, replicate
        ``i % replicates``."""
        out = []
        for p, params in enumerate(self.point_list()):
            for r in range(self.replicates):
                i = p * self.replicates + r
                out.append(TaskInfo(i, p, r, params, self.seed, self._key(i, params, r)))
        return out

    def _key(self, index: int, params: dict, replicate: int) -> str:
        ident = {"task": self.task, "params": params, "replicate": replicate,
                 "entropy": self.seed, "spawn_key": [index]}
        digest = hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()
        return f"{index:06d}-{digest[:12]}"

    def to_dict(self) -> dict:
        """The spec as a JSON-ready dict (``out`` as a string)."""
        d = dataclasses.asdict(self)
        d["out"] = str(self.out)
        return d

    @classmethod
    def from_dict(cls, data: Mapping, base_dir: str | Path | None = None) -> "SweepSpec":
        """Build a spec from a dict; unknown keys raise ValueError. A relative ``out`` is taken
        relative to ``base_dir`` when given (the spec file's folder in :func:`load_spec`)."""
        if not isinstance(data, Mapping):
            raise ValueError(f"spec: must be a table/dict of fields, got {type(data).__name__}")
        unknown = sorted(set(data) - set(_SPEC_FIELDS))
        if unknown:
            raise ValueError(f"spec: unknown field(s) {unknown}; allowed fields are "
                             f"{list(_SPEC_FIELDS)}")
        if "task" not in data:
            raise ValueError("task: the spec must name a task")
        data = dict(data)
        if base_dir is not None and "out" in data and isinstance(data["out"], str):
            if not Path(data["out"]).is_absolute():
                data["out"] = Path(base_dir) / data["out"]
        return cls(**data)


def load_spec(path: str | Path) -> SweepSpec:
    """Read a :class:`SweepSpec` from a ``.json`` or ``.toml`` file.

    Parameters
    ----------
    path : str or Path
        A ``.json`` or ``.toml`` file whose top-level keys are the fields of :class:`SweepSpec`
        (unknown keys raise ValueError). A relative ``out`` is resolved against the spec file's
        folder; when ``out`` is absent the results go to ``<spec folder>/<spec file stem>``.

    Returns
    -------
    SweepSpec

    Examples
    --------
    A TOML spec::

        task = "demo"
        replicates = 3
        seed = 1234
        out = "runs/demo"
        [grid]
        n = [2, 8]
        mu = [0.0, 1.0]
    """
    path = Path(path)
    if not path.exists():
        raise ValueError(f"path: the sweep spec {str(path)!r} does not exist")
    if not path.is_file():
        raise ValueError(f"path: the sweep spec {str(path)!r} is not a file")
    suffix = path.suffix.lower()
    if suffix not in (".json", ".toml"):
        raise ValueError(f"path: a sweep spec must be a .json or .toml file, got {str(path)!r}")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"path: cannot read the sweep spec {str(path)!r}: "
                         f"{exc.strerror or exc}") from None
    try:
        if suffix == ".json":
            data = json.loads(raw)
        else:
            try:
                import tomllib
            except ModuleNotFoundError:  # Python 3.10
                import tomli as tomllib
            data = tomllib.loads(raw.decode("utf-8"))
    except ValueError as exc:  # JSONDecodeError, TOMLDecodeError, UnicodeDecodeError
        kind = "JSON" if suffix == ".json" else "TOML"
        raise ValueError(f"path: {str(path)!r} is not valid {kind}: {_one_line(exc)}") from None
    if isinstance(data, Mapping) and "out" not in data:
        data = {**data, "out": path.stem}
    try:
        return SweepSpec.from_dict(data, base_dir=path.parent)
    except ValueError as exc:  # say which file the bad field is in
        raise ValueError(f"{_one_line(exc)} (in the sweep spec {str(path)!r})") from None


def _count(n: int) -> str:
    """A count for a message: exact up to 10^9, then 3 digits (an integer too large for a float too)."""
    return f"{n:,}" if n < 10 ** 9 else f"{float(n):.3g}" if n < 10 ** 300 else f"about 10^{len(str(n)) - 1}"


def _one_line(exc) -> str:
    """An exception's message on one line (multi-line messages are joined)."""
    return " ".join(str(exc).split()) or type(exc).__name__


# --------------------------------------------------------------------------- atomic storage

def _write_npz(fh, arrays: Mapping[str, np.ndarray]) -> None:
    """An uncompressed .npz (what ``np.savez`` writes) without pickled objects; writing the
    zip members directly lets result keys such as ``file`` through."""
    with zipfile.ZipFile(fh, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, arr in arrays.items():
            with zf.open(name + ".npy", mode="w", force_zip64=True) as member:
                np.lib.format.write_array(member, arr, allow_pickle=False)


def _write_json(fh, obj) -> None:
    # key order is kept: the order of a spec's grid keys defines the order of its points
    fh.write(json.dumps(obj, indent=1, default=_to_json_value).encode())


def _check_result(task: TaskInfo, result) -> dict[str, np.ndarray]:
    """The task's returned mapping as ``{str: ndarray}``; ValueError naming the task otherwise."""
    where = f"task {task.key} (params {task.params}, replicate {task.replicate})"
    if not isinstance(result, Mapping):
        raise ValueError(f"result: {where} must return a dict of arrays, got "
                         f"{type(result).__name__}")
    arrays = {}
    for name, value in result.items():
        if not isinstance(name, str) or not name or "/" in name:
            raise ValueError(f"result: {where} returned the key {name!r}; keys must be "
                             "non-empty strings without '/'")
        arr = np.asarray(value)
        if arr.dtype.hasobject:
            raise ValueError(f"result[{name!r}]: {where} returned an object array; only "
                             "numeric, boolean and string arrays can be stored")
        arrays[name] = arr
    return arrays


_GIT_REV: list = []


def _git_revision() -> str | None:
    """``git rev-parse HEAD`` of the folder holding linparity, or None if unavailable."""
    if not _GIT_REV:
        rev = None
        try:
            proc = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent,
                                  capture_output=True, text=True, timeout=10)
            if proc.returncode == 0 and proc.stdout.strip():
                rev = proc.stdout.strip()
        except (OSError, subprocess.SubprocessError):
            pass
        _GIT_REV.append(rev)
    return _GIT_REV[0]


def _file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB chunks (hashlib.file_digest is 3.11+)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _sidecar_sha256(meta: Mapping) -> str:
    """Hex SHA-256 of a sidecar's fields other than ``sidecar_sha256`` (canonical JSON, sorted
    keys); the sidecar records it so that flipped bytes in the sidecar itself are detected."""
    body = {k: v for k, v in meta.items() if k != "sidecar_sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _sidecar(spec: SweepSpec, task: TaskInfo, arrays: dict, npz: Path, elapsed: float) -> dict:
    from . import __version__  # lazily: linparity/__init__ may import this module
    meta = {"key": task.key, "task": spec.task, "index": task.index,
            "point_index": task.point_index, "replicate": task.replicate,
            "params": task.params,
            "seed": {"entropy": task.entropy, "spawn_key": list(task.spawn_key)},
            "version": __version__, "git_revision": _git_revision(),
            "arrays": {k: {"shape": list(a.shape), "dtype": a.dtype.str}
                       for k, a in arrays.items()},
            "npz_bytes": npz.stat().st_size, "sha256": _file_sha256(npz),
            "elapsed_s": elapsed, "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    meta = json.loads(json.dumps(meta, default=_to_json_value))  # as it will be read back
    meta["sidecar_sha256"] = _sidecar_sha256(meta)
    return meta


def _store(spec: SweepSpec, out: Path, task: TaskInfo, arrays: dict, elapsed: float) -> None:
    """Write ``<key>.npz`` then its sidecar ``<key>.json`` (the completion mark), atomically.

    The sidecar's ``sha256`` is computed from the npz as it lies on disk after the rename."""
    npz = out / f"{task.key}.npz"
    atomic_write(npz, lambda fh: _write_npz(fh, arrays))
    meta = _sidecar(spec, task, arrays, npz, elapsed)
    atomic_write(out / f"{task.key}.json", lambda fh: _write_json(fh, meta))


def _read_npz(path: Path, meta: Mapping | None = None) -> dict[str, np.ndarray]:
    """All arrays of a stored npz; CorruptResultError naming ``path`` if it cannot be read
    completely (bad zip, bad CRC-32, truncated member, pickled data) or if its array names
    differ from the sidecar's."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except Exception as exc:  # noqa: BLE001 -- zipfile, numpy and OS errors all mean "unreadable"
        raise CorruptResultError(path, f"unreadable npz ({type(exc).__name__}: "
                                       f"{_one_line(exc)})") from None
    names = meta.get("arrays") if isinstance(meta, Mapping) else None
    if isinstance(names, Mapping) and sorted(names) != sorted(arrays):
        raise CorruptResultError(path, f"npz holds arrays {sorted(arrays)}, the sidecar "
                                       f"records {sorted(names)}")
    return arrays


@dataclasses.dataclass
class _Stored:
    """What :func:`_inspect` found on disk for one task."""

    status: str  # "ok", "absent" (no files), "incomplete" (npz without sidecar), "corrupt"
    meta: dict | None = None  # the sidecar, when status == "ok"
    arrays: dict | None = None  # the arrays, when status == "ok" and they were read
    path: Path | None = None  # the offending file, when incomplete or corrupt
    reason: str = ""  # what is wrong with it


def _inspect(out: Path, task: TaskInfo, read: bool = False) -> _Stored:
    """Check one task's files in ``out``; never raises for bad files.

    Complete means: the sidecar parses, its own SHA-256 matches (when recorded), it names this
    task's key, parameters and seed, and the npz exists with the recorded size and SHA-256.
    Sidecars without a ``sha256`` (older sweeps) are checked by reading the whole npz. With
    ``read=True`` the arrays are read (and checked) as well.
    """
    npz, side = out / f"{task.key}.npz", out / f"{task.key}.json"

    def bad(path, reason):
        return _Stored("corrupt", path=path, reason=reason)

    try:
        text = side.read_bytes()
    except FileNotFoundError:
        if npz.exists() or npz.is_symlink():
            return _Stored("incomplete", path=npz,
                           reason="npz without sidecar (an interrupted write, or a deleted sidecar)")
        return _Stored("absent")
    except OSError as exc:
        return bad(side, f"unreadable sidecar ({exc.strerror or exc})")
    try:
        meta = json.loads(text)
        if not isinstance(meta, dict):
            raise ValueError(f"a JSON {type(meta).__name__}, not an object")
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
        return bad(side, f"garbled sidecar ({_one_line(exc)})")
    recorded = meta.get("sidecar_sha256")
    if recorded is not None and recorded != _sidecar_sha256(meta):
        return bad(side, "sidecar checksum mismatch (its content was altered)")
    if (meta.get("key") != task.key or meta.get("params") != task.params
            or meta.get("seed") != {"entropy": task.entropy, "spawn_key": list(task.spawn_key)}):
        return bad(side, "the sidecar does not describe this task (key, params or seed differ)")
    try:
        size = npz.stat().st_size
    except FileNotFoundError:
        return bad(npz, "npz missing (its sidecar is present)")
    except OSError as exc:
        return bad(npz, f"unreadable npz ({exc.strerror or exc})")
    if size != meta.get("npz_bytes"):
        return bad(npz, f"npz has {size} bytes, the sidecar records {meta.get('npz_bytes')} "
                        "(truncated or overwritten)")
    digest = meta.get("sha256")
    if digest is not None:
        try:
            actual = _file_sha256(npz)
        except OSError as exc:
            return bad(npz, f"unreadable npz ({exc.strerror or exc})")
        if actual != digest:
            return bad(npz, f"sha256 mismatch (sidecar {str(digest)[:12]}..., file "
                            f"{actual[:12]}...): flipped or overwritten bytes")
    arrays = None
    if read or digest is None:
        try:
            arrays = _read_npz(npz, meta)
        except CorruptResultError as exc:
            return bad(npz, exc.reason)
    return _Stored("ok", meta=meta, arrays=arrays if read else None)


def _move_aside(out: Path, task: TaskInfo, found: _Stored, stamp: str) -> None:
    """Move a task's files into ``<out>/corrupt/`` (names prefixed with ``stamp``) and say so in
    one line on stderr."""
    dest = out / CORRUPT_DIR
    dest.mkdir(exist_ok=True)
    moved = []
    for path in (out / f"{task.key}.npz", out / f"{task.key}.json"):
        if not (path.exists() or path.is_symlink()):
            continue
        target = dest / f"{stamp}-{path.name}"
        if target.exists():
            target = dest / f"{stamp}-{uuid.uuid4().hex[:6]}-{path.name}"
        os.replace(path, target)
        moved.append(target.name)
    kind = "incomplete" if found.status == "incomplete" else "corrupt"
    print(f"linparity.sweep: {kind} result of task {task.index} ({task.key}): {found.reason} in "
          f"{str(found.path)!r}; moved {', '.join(moved) or 'nothing'} to {str(dest)!r}, "
          "recomputing", file=sys.stderr, flush=True)


def _lock_holder() -> str:
    return (f"pid {os.getpid()} on {socket.gethostname()} since "
            f"{time.strftime('%Y-%m-%dT%H:%M:%S%z')}")


@contextlib.contextmanager
def _locked(out: Path):
    """Hold an exclusive advisory lock on ``<out>/.lock`` (released by the OS if killed).

    The lock file then holds one line naming the holder (pid, host, start time); a second
    sweep into ``out`` raises SweepLockedError quoting it.
    """
    try:
        import fcntl
    except ImportError:  # not POSIX: no locking
        yield
        return
    path = out / _LOCK_FILE
    with open(path, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.seek(0)
            holder = " ".join(fh.read(300).split()) or "an unknown process"
            raise SweepLockedError(
                f"out: another sweep is running in {str(out)!r}: {str(path)!r} is locked by "
                f"{holder}; wait for it to finish or choose another output folder") from None
        try:
            fh.seek(0)
            fh.truncate()
            fh.write(_lock_holder() + "\n")
            fh.flush()
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _check_same_sweep(out: Path, tasks: list) -> None:
    """Refuse to run into ``out`` when it holds results that ``tasks`` would make unreachable.

    A task's files are named by its key, which hashes the task, its parameters and its seed, so the
    results stored in ``out`` belong to this sweep exactly when their keys are among its tasks'. The
    same spec resumes; a spec that only appends explicit points keeps every stored key and resumes
    too; any other spec would overwrite ``spec.json`` and leave the earlier results unreadable, and
    is refused naming the folder. Files not named like results (notes, plots) do not count."""
    keys = {t.key for t in tasks}
    foreign = sorted({p.stem for pattern in ("*.npz", "*.json") for p in out.glob(pattern)
                      if _KEY.fullmatch(p.stem) and p.stem not in keys})
    if foreign:
        raise ValueError(f"out: the folder {str(out)!r} holds {len(foreign)} result(s) of another sweep "
                         f"spec (first: {foreign[0]}), which this spec would make unreachable; choose "
                         "another output folder ('out' in the spec, or --out), or move them away")


def _prepare_out(out: Path) -> None:
    """Create ``out`` and make sure files can be written there, before anything is computed.

    ValueError naming ``out`` if it is an existing non-folder, cannot be created, or is not
    writable (checked with os.access and by creating and deleting a probe file, which also
    catches root on a read-only file system)."""
    if (out.exists() or out.is_symlink()) and not out.is_dir():
        raise ValueError(f"out: {str(out)!r} exists and is not a folder; choose another output "
                         "folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"out: cannot create the output folder {str(out)!r} "
                         f"({exc.strerror or exc})") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise ValueError(f"out: the output folder {str(out)!r} is not writable")
    probe = out / f"{_TMP_PREFIX}probe.{uuid.uuid4().hex}"
    try:
        with open(probe, "xb"):
            pass
    except OSError as exc:
        raise ValueError(f"out: cannot write in the output folder {str(out)!r} "
                         f"({exc.strerror or exc})") from None
    with contextlib.suppress(OSError):
        probe.unlink()


# --------------------------------------------------------------------------- execution

def _execute(func: Callable, params: dict, entropy: int, spawn_key: tuple[int, ...]):
    """Run one task with its own Generator; returns ``(result, seconds)``. Runs on workers."""
    rng = np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=spawn_key))
    start = time.perf_counter()
    try:
        result = func(dict(params), rng)
    except KeyError as exc:  # the spec's point lacks a parameter the task reads
        name = exc.args[0] if len(exc.args) == 1 else None
        if not isinstance(name, str) or name in params:
            raise
        raise ValueError(f"params: task {_qualname(func)} needs the parameter {name!r}, which "
                         f"the point {params} does not give") from exc
    except TypeError as exc:  # most often a parameter of the wrong type (a number for a list)
        raise ValueError(f"params: task {_qualname(func)} failed on the point {params} with "
                         f"TypeError: {_one_line(exc)} (is a parameter of the wrong type?)"
                         ) from exc
    return result, time.perf_counter() - start


def _iter_serial(func, todo):
    for task in todo:
        yield task, _execute(func, task.params, task.entropy, task.spawn_key)


def _iter_joblib(func, todo, jobs):
    from joblib import Parallel, delayed

    def call(task):  # returns the task with its outcome, since results arrive unordered
        return task, _execute(func, task.params, task.entropy, task.spawn_key)

    try:
        parallel = Parallel(n_jobs=jobs, return_as="generator_unordered")
    except ValueError:  # joblib < 1.4: ordered generator
        parallel = Parallel(n_jobs=jobs, return_as="generator")
    yield from parallel(delayed(call)(task) for task in todo)


def _iter_dask(func, todo, scheduler):
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise ImportError("backend='dask' needs dask.distributed: pip install "
                          "'linparity[cluster]' (dask[distributed])") from None
    own = not isinstance(scheduler, Client)
    client = Client(scheduler) if own else scheduler
    run_id = uuid.uuid4().hex[:8]  # fresh keys: never collide with an earlier run's futures
    pending = {}  # dask key -> (future, task); entries leave as results are stored
    try:
        for task in todo:
            fut = client.submit(_execute, func, task.params, task.entropy, task.spawn_key,
                                key=f"linparity-sweep-{task.key}-{run_id}", pure=False)
            pending[fut.key] = (fut, task)
        for fut in as_completed([f for f, _ in pending.values()]):
            _, task = pending.pop(fut.key)
            yield task, fut.result()
            fut.release()
    finally:
        for fut, _ in pending.values():
            fut.cancel()
        if own:
            client.close()


def _holds_spec(path: Path, spec: "SweepSpec") -> bool:
    """Whether ``path`` already records ``spec`` (all but ``out``, which depends on how the folder was
    named): a rerun then leaves a committed spec.json as it is."""
    try:
        old = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    new = spec.to_dict()
    return isinstance(old, dict) and {**old, "out": None} == {**new, "out": None}


def run_sweep(spec: SweepSpec | str | Path, jobs: int = 1, backend: str = "joblib",
              scheduler=None, progress: bool = True) -> "SweepResult":
    """Run (or resume) a sweep and return all its results.

    Every task not already complete in ``spec.out`` is computed as
    ``TASKS[spec.task](params, default_rng(SeedSequence(spec.seed, spawn_key=(i,))))`` and
    stored atomically as it finishes; finished tasks found on disk are not recomputed.

    Parameters
    ----------
    spec : SweepSpec or path
        The sweep, or a .json/.toml file for :func:`load_spec`.
    jobs : int
        Local worker processes for ``backend="joblib"``, in [1, os.cpu_count()] (joblib convention:
        -1 = all cores, -2 all but one, ...); 1 runs in this process; never more processes than
        tasks to run. Ignored by ``backend="dask"``.
    backend : {"joblib", "dask"}
        Where tasks run: local cores, or a Dask distributed cluster (extra ``cluster``).
    scheduler : str, distributed.Client or cluster, optional
        For ``backend="dask"``: a scheduler address such as ``"tcp://host:8786"``, a cluster
        object, or a Client (used as is, not closed). Required for the dask backend.
    progress : bool
        Show a tqdm progress bar over tasks (on stderr).

    Returns
    -------
    SweepResult
        All points and replicates, loaded from ``spec.out``; ``computed`` lists the task keys
        computed by this call.

    Raises
    ------
    ValueError
        Bad arguments or spec; ``out`` an existing file, or not creatable / writable (checked
        before anything is computed); ``out`` holding results of another spec (see the module
        docstring); ``jobs`` outside [-cores, cores] or 0; dask.distributed missing for
        ``backend="dask"``; a task reading a parameter its point lacks (KeyError) or failing with
        a TypeError.
    SweepLockedError
        Another sweep holds ``<out>/.lock``; the message names the holder (pid, host, start).

    Notes
    -----
    Stored tasks that fail their checks (see the module docstring) are moved to
    ``<out>/corrupt/``, reported in one line each on stderr, and recomputed; seeds depend only
    on the task index, so the recomputed numbers equal the lost ones.
    """
    if not isinstance(spec, SweepSpec):
        if isinstance(spec, (str, os.PathLike)):
            spec = load_spec(spec)
        else:
            raise ValueError(f"spec: expected a SweepSpec or a spec file path, got {spec!r}")
    if backend not in BACKENDS:
        raise ValueError(f"backend: must be one of {BACKENDS}, got {backend!r}")
    cores = os.cpu_count() or 1
    jobs = check_int("jobs", jobs, -cores, cores)
    if jobs == 0:
        raise ValueError(f"jobs: must be in [1, {cores}] (the cores), or in [-{cores}, -1] for all cores "
                         "(-1) minus some; got 0")
    jobs = jobs if jobs > 0 else cores + 1 + jobs
    if backend == "dask":
        try:
            import distributed  # noqa: F401
        except ImportError:
            raise ValueError("backend: 'dask' needs dask.distributed, which is not installed; "
                             "pip install 'linparity[cluster]' (dask[distributed])") from None
        if scheduler is None:
            raise ValueError("scheduler: backend='dask' needs a scheduler address (e.g. "
                             "tcp://HOST:8786), cluster or Client")
    if backend == "joblib" and scheduler is not None:
        raise ValueError("scheduler: only used with backend='dask'")
    func = get_task(spec.task)
    check = CHECKS.get(spec.task)
    if check is not None:   # every point, before the folder is touched or a task runs
        for j, params in enumerate(spec.point_list()):
            try:
                check(dict(params))
            except ValueError as exc:
                raise ValueError(f"points: point {j} {params} of task {spec.task!r}: {_one_line(exc)}") from None

    out = spec.out
    _prepare_out(out)  # before anything is computed
    computed = []
    with _locked(out):
        for leftover in out.glob(_TMP_PREFIX + "*"):  # from an interrupted write; we hold the lock
            with contextlib.suppress(OSError):
                leftover.unlink()
        tasks = spec.tasks()
        _check_same_sweep(out, tasks)
        if not _holds_spec(out / _SPEC_FILE, spec):
            atomic_write(out / _SPEC_FILE, lambda fh: _write_json(fh, spec.to_dict()))
        todo = []
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        for task in tasks:
            found = _inspect(out, task)
            if found.status != "ok":
                if found.status != "absent":  # corrupt or incomplete: keep it, out of the way
                    _move_aside(out, task, found, stamp)
                todo.append(task)

        from tqdm.auto import tqdm
        bar = tqdm(total=len(tasks), initial=len(tasks) - len(todo), unit="task",
                   desc=f"sweep {spec.task}", disable=not progress)
        if not todo:
            stream = iter(())
        elif backend == "dask":
            stream = _iter_dask(func, todo, scheduler)
        elif jobs == 1 or len(todo) == 1:
            stream = _iter_serial(func, todo)
        else:  # never more worker processes than tasks to run
            stream = _iter_joblib(func, todo, min(jobs, len(todo)))
        try:
            for task, (result, elapsed) in stream:
                _store(spec, out, task, _check_result(task, result), elapsed)
                computed.append(task.key)
                bar.update(1)
        except BaseException as exc:
            if hasattr(exc, "add_note"):
                exc.add_note(f"linparity.sweep: {len(computed)} task(s) stored in {str(out)!r} "
                             "before the failure; rerunning resumes from there")
            raise
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()
            bar.close()
    result = _load(spec, out, allow_missing=False)
    result.computed = computed
    return result


# --------------------------------------------------------------------------- results

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


def _load(spec: SweepSpec, out: Path, allow_missing: bool) -> SweepResult:
    points = spec.point_list()
    results = [[] for _ in points]
    meta = [[] for _ in points]
    missing = []
    corrupt = []
    for task in spec.tasks():
        found = _inspect(out, task, read=True)
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
        data = json.loads((out / _SPEC_FILE).read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"out_dir: no readable {_SPEC_FILE} in {str(out)!r} (is it a sweep's "
                         f"output folder?): {_one_line(exc)}") from None
    token = _RESOLVE_TASK.set(False)
    try:
        spec = SweepSpec.from_dict({**data, "out": str(out)} if isinstance(data, Mapping) else data)
    except ValueError as exc:  # a stored spec that is not one run_sweep writes: say which file
        raise ValueError(f"out_dir: {str(out / _SPEC_FILE)!r} is not a sweep spec ({_one_line(exc)})") from None
    finally:
        _RESOLVE_TASK.reset(token)
    return _load(spec, out, allow_missing)


# --------------------------------------------------------------------------- summaries

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
