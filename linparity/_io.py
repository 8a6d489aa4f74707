"""Atomic file writes: results are never left half-written (a temporary file, then a rename)."""
from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable
from pathlib import Path

__all__ = ["TMP_PREFIX", "atomic_write", "atomic_write_text"]

#: prefix of the temporary files; a sweep deletes leftovers with it when it resumes
TMP_PREFIX = ".tmp-"


def _fsync_dir(folder: Path) -> None:
    """Persist renames in ``folder`` (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(target, write: Callable) -> None:
    """Write ``target`` through a temporary file in its folder: ``write(binary file)``, flush, fsync,
    os.replace, then fsync the folder. On any error the temporary file is removed and ``target`` is
    untouched."""
    target = Path(target)
    # a fresh name opened with "x" (not mkstemp) so the file gets the usual umask permissions
    tmp = target.parent / f"{TMP_PREFIX}{target.name}.{uuid.uuid4().hex}"
    try:
        with open(tmp, "xb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(target.parent)


def atomic_write_text(target, text: str) -> None:
    """:func:`atomic_write` of a UTF-8 text."""
    atomic_write(target, lambda fh: fh.write(text.encode()))
