"""The CLI's output: results as JSON types, the readable table, warnings and progress on stderr.

A result is converted to JSON types by :func:`jsonable`, which refuses a NaN or infinite number
(:class:`NonFiniteResult`, never printed as null); without ``--json`` it is shown by :func:`table`.
:class:`Heartbeat` shows elapsed and estimated time on stderr for work whose library call has no
progress display of its own.
"""
from __future__ import annotations

import json
import math
import sys
import threading

import numpy as np

from .._progress import Progress

__all__ = ["NonFiniteResult", "jsonable", "table", "warn_unconverged", "Heartbeat", "print_result"]


class NonFiniteResult(ArithmeticError):
    """A result that is NaN or infinite where a finite number was promised (never printed silently)."""


def jsonable(o, path="result"):
    """``o`` with numpy scalars and arrays as JSON types; NonFiniteResult names the first NaN/inf."""
    if isinstance(o, dict):
        return {k: jsonable(v, f"{path}.{k}") for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [jsonable(v, f"{path}[{i}]") for i, v in enumerate(o)]
    if isinstance(o, np.ndarray):
        return jsonable(o.tolist(), path)
    if isinstance(o, (np.floating, float)):
        if not np.isfinite(o):
            raise NonFiniteResult(f"{path} is {float(o)}")
        return float(o)
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, np.bool_):
        return bool(o)
    return o


def table(res: dict) -> str:
    """A short readable table, values spelled as in JSON (null, true): scalars as they are, series
    shortened to their first and last values (saying how many are left out), objects flattened one level."""
    rows = []
    for k, v in res.items():
        if k in ("bounds",):
            continue
        if k == "exceedances":
            b = res.get("bounds", {})
            inf = [n for n, r in b.items() if isinstance(r.get("bound"), str)]
            v = (", ".join(e["bound"] for e in v) + " exceeded" if v else
                 f"none of the {len(b) - len(inf)} finite Prop 1-3 bounds is exceeded")
            if inf:
                v += f"; {len(inf)} bounds are infinite ({', '.join(inf)}: {b[inf[0]]['bound']})"
        elif isinstance(v, dict):
            v = ", ".join(f"{kk}={_fmt(vv)}" for kk, vv in v.items())
        else:
            v = _fmt(v)
        rows.append((k, v))
    w = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{w}}  {v}" for k, v in rows)


#: a series longer than HEAD + TAIL values is shown as its first HEAD and last TAIL values
_HEAD, _TAIL = 8, 4


def _fmt(v):
    """One value as the table shows it: JSON's spellings (null, true, false), floats to 6 digits."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_fmt(x)}" for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple)):
        if len(v) <= _HEAD + _TAIL:
            return "[" + ", ".join(map(_fmt, v)) + "]"
        cut = len(v) - _HEAD - _TAIL
        return ("[" + ", ".join(map(_fmt, v[:_HEAD])) + f", ... ({cut} more; --json for all) ..., "
                + ", ".join(map(_fmt, v[-_TAIL:])) + "]")
    return str(v)


def warn_unconverged(res: dict) -> None:
    """One line on stderr when a head stopped far from convergence (T < 10/lambda)."""
    if isinstance(res, dict) and res.get("converged") is False:
        print(f"warning: not converged: head(s) {', '.join(res.get('unconverged_heads', []))} took fewer than "
              f"10/lambda steps (see 'head_steps'/'steps_needed' in --json); the result still "
              f"remembers its start", file=sys.stderr)


class Heartbeat:
    """Progress on stderr for work estimated beyond a few seconds: elapsed seconds out of the estimate.

    Used for the commands whose library call has no progress of its own (policy gradient, the
    closed-form route); only when stderr is a terminal. A :class:`linparity._progress.Progress`
    counts the seconds (total: the work estimate), ticked by a thread once a second; the line is
    erased when the work ends.
    """

    def __init__(self, what: str, estimate: float, enabled: bool):
        self.enabled = enabled and estimate > 3.0 and sys.stderr.isatty()
        self.bar = Progress(math.ceil(estimate), what, "s estimated", self.enabled)
        self._stop = threading.Event()

    def __enter__(self):
        if self.enabled:
            self._thread = threading.Thread(target=self._beat, daemon=True)
            self._thread.start()
        return self

    def _beat(self):
        while not self._stop.wait(1.0):
            self.bar.update()

    def __exit__(self, *exc):
        if self.enabled:
            self._stop.set()
            self._thread.join()
            self.bar.stream.write("\r\033[K")
            self.bar.stream.flush()
        return False


def print_result(res: dict, as_json: bool) -> int:
    """Print ``res`` on stdout (one JSON object, else :func:`table`); the exit status: 0 printed (or
    the reader left, as ``head`` does), 2 stdout could not take it (one line on stderr)."""
    try:
        print(json.dumps(res, allow_nan=False) if as_json else table(res))
        sys.stdout.flush()
    except BrokenPipeError:  # e.g. piped into head: the reader left, nothing more to say
        sys.stderr.close()
    except OSError as e:
        print(f"error: stdout: cannot write the result ({e.strerror or e})", file=sys.stderr)
        return 2
    return 0
