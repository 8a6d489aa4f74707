"""Progress reports on stderr for the transformer commands (issue 13: "a run a user can watch").

On a terminal: one self-overwriting bar with the done fraction, elapsed time and ETA. Anywhere
else (a pipe, a log file, a notebook): one plain line every ``every`` seconds and a last line at
the end. ETA = elapsed x (total - done) / done, the average rate so far.
"""
from __future__ import annotations

import sys
import time

__all__ = ["Progress"]


def _hms(s: float) -> str:
    s = int(round(max(s, 0.0)))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


class Progress:
    """Counts ``total`` units of work called ``unit`` (steps, rounds) under the label ``desc``.

    ``enabled=False`` makes every method a no-op. ``update(k, **info)`` adds k done units and
    shows ``info`` (e.g. loss=0.41) after the counts. ``close()`` prints the final state.
    """

    def __init__(self, total: int, desc: str, unit: str = "steps", enabled: bool = True,
                 stream=None, every: float = 5.0):
        self.total, self.desc, self.unit = max(int(total), 0), desc, unit
        self.enabled = bool(enabled)
        self.stream = sys.stderr if stream is None else stream
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.every = float(every)
        self.done = 0
        self.t0 = self._last = time.monotonic()
        self.info = ""

    def _line(self) -> str:
        el = time.monotonic() - self.t0
        frac = self.done / self.total if self.total else 1.0
        eta = el * (self.total - self.done) / self.done if self.done else float("nan")
        eta_txt = _hms(eta) if self.done else "?"
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
