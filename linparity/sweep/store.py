"""Checksummed, atomic storage of a sweep's task results, their checks on resume, and the folder lock.

Storage and resume
------------------
Task ``i`` is stored as ``<out>/<key>.npz`` (its result arrays) and ``<out>/<key>.json`` (the
sidecar: parameters, seed entropy and spawn key, package version, git revision, the npz size
and its SHA-256, and the SHA-256 of the sidecar's own other fields), where ``key`` is the task's
file stem (:mod:`linparity.sweep.spec`). Each file is written to a temporary file in ``out``,
flushed, fsynced and moved into place with ``os.replace``; the sidecar is written last and marks
completion.

A rerun skips every task whose sidecar is valid and whose npz has the recorded size and
SHA-256. Anything else is *moved aside* into ``<out>/corrupt/`` (file names prefixed with a
UTC time stamp), reported in one line on stderr, and recomputed: an npz without sidecar (an
interrupted write, or a deleted sidecar), a garbled sidecar, an npz that is missing,
truncated, overwritten or has flipped bytes. Leftover temporary files are deleted. Because the
key's digest covers the parameters and seed, a changed spec never reuses a stale result, and a
recomputed task reproduces the lost numbers exactly. A folder holds one sweep: a spec whose
tasks do not include every result stored there (another task, grid, seed or replicate count)
is refused naming the folder, since it would leave those results unreadable; a spec that
appends points to the one stored resumes it. :func:`linparity.sweep.load_results` runs the same
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
import dataclasses
import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import time
import uuid
import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .. import __version__
from .._io import TMP_PREFIX, atomic_write
from .spec import SweepSpec, TaskInfo, one_line, to_json_value

#: the file in ``out`` that records the sweep's spec
SPEC_FILE = "spec.json"
_LOCK_FILE = ".lock"
#: sub-folder of ``out`` that receives corrupt or incomplete results moved aside on resume
CORRUPT_DIR = "corrupt"
# a task's file stem, "<index:06d>-<12 hex digits>" (SweepSpec._key)
_KEY = re.compile(r"\d{6,}-[0-9a-f]{12}")


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



def _write_npz(fh, arrays: Mapping[str, np.ndarray]) -> None:
    """An uncompressed .npz (what ``np.savez`` writes) without pickled objects; writing the
    zip members directly lets result keys such as ``file`` through."""
    with zipfile.ZipFile(fh, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, arr in arrays.items():
            with zf.open(name + ".npy", mode="w", force_zip64=True) as member:
                np.lib.format.write_array(member, arr, allow_pickle=False)


def write_json(fh, obj) -> None:
    # key order is kept: the order of a spec's grid keys defines the order of its points
    fh.write(json.dumps(obj, indent=1, default=to_json_value).encode())


def check_result(task: TaskInfo, result) -> dict[str, np.ndarray]:
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
    meta = {"key": task.key, "task": spec.task, "index": task.index,
            "point_index": task.point_index, "replicate": task.replicate,
            "params": task.params,
            "seed": {"entropy": task.entropy, "spawn_key": list(task.spawn_key)},
            "version": __version__, "git_revision": _git_revision(),
            "arrays": {k: {"shape": list(a.shape), "dtype": a.dtype.str}
                       for k, a in arrays.items()},
            "npz_bytes": npz.stat().st_size, "sha256": _file_sha256(npz),
            "elapsed_s": elapsed, "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    meta = json.loads(json.dumps(meta, default=to_json_value))  # as it will be read back
    meta["sidecar_sha256"] = _sidecar_sha256(meta)
    return meta


def store_task(spec: SweepSpec, out: Path, task: TaskInfo, arrays: dict, elapsed: float) -> None:
    """Write ``<key>.npz`` then its sidecar ``<key>.json`` (the completion mark), atomically.

    The sidecar's ``sha256`` is computed from the npz as it lies on disk after the rename."""
    npz = out / f"{task.key}.npz"
    atomic_write(npz, lambda fh: _write_npz(fh, arrays))
    meta = _sidecar(spec, task, arrays, npz, elapsed)
    atomic_write(out / f"{task.key}.json", lambda fh: write_json(fh, meta))


def _read_npz(path: Path, meta: Mapping | None = None) -> dict[str, np.ndarray]:
    """All arrays of a stored npz; CorruptResultError naming ``path`` if it cannot be read
    completely (bad zip, bad CRC-32, truncated member, pickled data) or if its array names
    differ from the sidecar's."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except Exception as exc:  # noqa: BLE001 -- zipfile, numpy and OS errors all mean "unreadable"
        raise CorruptResultError(path, f"unreadable npz ({type(exc).__name__}: "
                                       f"{one_line(exc)})") from None
    names = meta.get("arrays") if isinstance(meta, Mapping) else None
    if isinstance(names, Mapping) and sorted(names) != sorted(arrays):
        raise CorruptResultError(path, f"npz holds arrays {sorted(arrays)}, the sidecar "
                                       f"records {sorted(names)}")
    return arrays


@dataclasses.dataclass
class Stored:
    """What :func:`inspect_task` found on disk for one task."""

    status: str  # "ok", "absent" (no files), "incomplete" (npz without sidecar), "corrupt"
    meta: dict | None = None  # the sidecar, when status == "ok"
    arrays: dict | None = None  # the arrays, when status == "ok" and they were read
    path: Path | None = None  # the offending file, when incomplete or corrupt
    reason: str = ""  # what is wrong with it


def inspect_task(out: Path, task: TaskInfo, read: bool = False) -> Stored:
    """Check one task's files in ``out``; never raises for bad files.

    Complete means: the sidecar parses, its own SHA-256 matches (when recorded), it names this
    task's key, parameters and seed, and the npz exists with the recorded size and SHA-256.
    Sidecars without a ``sha256`` (older sweeps) are checked by reading the whole npz. With
    ``read=True`` the arrays are read (and checked) as well.
    """
    npz, side = out / f"{task.key}.npz", out / f"{task.key}.json"

    def bad(path, reason):
        return Stored("corrupt", path=path, reason=reason)

    try:
        text = side.read_bytes()
    except FileNotFoundError:
        if npz.exists() or npz.is_symlink():
            return Stored("incomplete", path=npz,
                           reason="npz without sidecar (an interrupted write, or a deleted sidecar)")
        return Stored("absent")
    except OSError as exc:
        return bad(side, f"unreadable sidecar ({exc.strerror or exc})")
    try:
        meta = json.loads(text)
        if not isinstance(meta, dict):
            raise ValueError(f"a JSON {type(meta).__name__}, not an object")
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
        return bad(side, f"garbled sidecar ({one_line(exc)})")
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
    return Stored("ok", meta=meta, arrays=arrays if read else None)


def move_aside(out: Path, task: TaskInfo, found: Stored, stamp: str) -> None:
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
def locked(out: Path):
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


def check_same_sweep(out: Path, tasks: list) -> None:
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


def prepare_out(out: Path) -> None:
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
    probe = out / f"{TMP_PREFIX}probe.{uuid.uuid4().hex}"
    try:
        with open(probe, "xb"):
            pass
    except OSError as exc:
        raise ValueError(f"out: cannot write in the output folder {str(out)!r} "
                         f"({exc.strerror or exc})") from None
    with contextlib.suppress(OSError):
        probe.unlink()



def holds_spec(path: Path, spec: SweepSpec) -> bool:
    """Whether ``path`` already records ``spec`` (all but ``out``, which depends on how the folder was
    named): a rerun then leaves a committed spec.json as it is."""
    try:
        old = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    new = spec.to_dict()
    return isinstance(old, dict) and {**old, "out": None} == {**new, "out": None}

