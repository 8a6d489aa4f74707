"""Progress on stderr: the one progress display of every library function and command.

Every function that reports progress takes ``progress: bool`` (default False) and counts its work
with :class:`Progress`. On a terminal: one self-overwriting bar with the done fraction, elapsed
time and ETA. Anywhere else (a pipe, a log file, a notebook): one plain line every ``every``
seconds and a last line at the end. ETA = elapsed x (total - done) / done, the average rate so far.
Progress is written to stderr only, never to stdout, so a JSON result on stdout stays clean; the
CLI turns it on when stderr is a terminal.
"""
from __future__ import annotations

import sys
import threading
import time

__all__ = ["Progress"]


def _hms(s: float) -> str:
    s = int(round(max(s, 0.0)))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


class Progress:
    """Counts ``total`` units of work called ``unit`` (steps, rounds, tasks) under the label ``desc``.

    ``enabled=False`` makes every method a no-op. ``initial`` units count as done already (a resumed
    run). ``update(k, **info)`` adds k done units and shows ``info`` (e.g. loss=0.41) after the
    counts. ``close()`` prints the final state; used as a context manager, it closes on exit.
    """

    def __init__(self, total: int, desc: str, unit: str = "steps", enabled: bool = True,
                 stream=None, every: float = 5.0, initial: int = 0):
        self.total, self.desc, self.unit = max(int(total), 0), desc, unit
        self.enabled = bool(enabled)
        self.stream = sys.stderr if stream is None else stream
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.every = float(every)
        self.done = self.initial = int(initial)
        self.t0 = self._last = time.monotonic()
        self.info = ""
        self._lock = threading.Lock()   # replicates may count from several threads

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def _line(self) -> str:
        el = time.monotonic() - self.t0
        frac = min(self.done / self.total, 1.0) if self.total else 1.0
        new = self.done - self.initial   # the rate counts only the units done in this run
        eta_txt = _hms(el * (self.total - self.done) / new) if new > 0 else "?"
        if self.tty:
            n = 24
            bar = "#" * int(n * frac) + "-" * (n - int(n * frac))
            return (f"\r{self.desc} [{bar}] {self.done}/{self.total} {self.unit} "
                    f"{_hms(el)}<{eta_txt}{self.info}\033[K")
        return (f"{self.desc}: {self.done}/{self.total} {self.unit} ({100 * frac:.0f}%), "
                f"{_hms(el)} elapsed, ETA {eta_txt}{self.info}\n")

    def update(self, k: int = 1, **info) -> None:
        if not self.enabled:
            return
        with self._lock:
            self.done += int(k)
            if info:
                self.info = "  " + " ".join(f"{a}={v:.4g}" if isinstance(v, float) else f"{a}={v}"
                                            for a, v in info.items())
            now = time.monotonic()
            if self.tty or now - self._last >= self.every:
                self._last = now
                self.stream.write(self._line())
                self.stream.flush()

    def close(self) -> None:
        if not self.enabled:
            return
        self.stream.write(self._line() + ("\n" if self.tty else ""))
        self.stream.flush()
        self.enabled = False
