"""What a sweep runs: :class:`SweepSpec` (one task over a grid of points, with replicates, a seed
and an output folder), its tasks (:class:`TaskInfo`) and spec files (:func:`load_spec`).

Ordering and seeds
------------------
The points are the Cartesian product of ``grid`` (keys in the order given, the last key
varying fastest) followed by the explicit ``points``. Task ``i = point_index * replicates +
replicate`` receives the Generator of the i-th child of ``SeedSequence(seed)``, i.e.
``SeedSequence(seed, spawn_key=(i,))`` -- exactly ``SeedSequence(seed).spawn(n)[i]``. A task's
random stream therefore depends only on its position in the ordered grid, never on ``jobs``,
the backend or the order in which tasks finish (numpy SPEC 7, ``linparity._checks.spawn``).
Task ``i`` is stored under the file stem ``key = f"{i:06d}-{digest}"``, where ``digest`` hashes
(task name, parameters, replicate, seed entropy, spawn key); so a changed spec never reuses a
stale result. A sweep holds at most :data:`MAX_TASKS` tasks, counted before the grid is expanded.
"""
from __future__ import annotations

import contextvars
import dataclasses
import hashlib
import itertools
import json
import math
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .._checks import check_int
from .registry import get_task

_SPEC_FIELDS = ("task", "grid", "points", "replicates", "seed", "out", "imports")
#: most tasks (points x replicates) one sweep may hold: each is two files in one folder
MAX_TASKS = 1_000_000
#: False while :func:`linparity.sweep.load_results` rebuilds a stored spec: reading results needs
#: no task function
RESOLVE_TASK = contextvars.ContextVar("linparity_sweep_resolve_task", default=True)


def to_json_value(obj):
    """``json.dumps`` default hook: numpy scalars and arrays become Python values."""
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def canonical(field: str, value):
    """``value`` after a JSON round trip (tuples -> lists, numpy -> Python); ValueError naming
    ``field`` if it is not JSON-serialisable with finite floats."""
    try:
        return json.loads(json.dumps(value, default=to_json_value, allow_nan=False))
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
        if RESOLVE_TASK.get():
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
            values = canonical(f"grid[{name!r}]", list(values))
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
            points.append(canonical(f"points[{j}]", dict(point)))
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
        raise ValueError(f"path: {str(path)!r} is not valid {kind}: {one_line(exc)}") from None
    if isinstance(data, Mapping) and "out" not in data:
        data = {**data, "out": path.stem}
    try:
        return SweepSpec.from_dict(data, base_dir=path.parent)
    except ValueError as exc:  # say which file the bad field is in
        raise ValueError(f"{one_line(exc)} (in the sweep spec {str(path)!r})") from None


def _count(n: int) -> str:
    """A count for a message: exact up to 10^9, then 3 digits (an integer too large for a float too)."""
    return f"{n:,}" if n < 10 ** 9 else f"{float(n):.3g}" if n < 10 ** 300 else f"about 10^{len(str(n)) - 1}"


def one_line(exc) -> str:
    """An exception's message on one line (multi-line messages are joined)."""
    return " ".join(str(exc).split()) or type(exc).__name__
