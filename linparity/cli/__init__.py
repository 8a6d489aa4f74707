"""Command line: ``python -m linparity {pretrain,star,pg,samples,sweep,transformer} ...``.

Parsing and printing only; every computation lives in the library. The validation layer
(``linparity._validate``) runs first:

* every numeric option is checked against its documented range while parsing (shown in ``--help``
  with its default): integers at most 2^53, floats finite, lambda in [1e-12, 1e12];
* the memory and time of the requested work are estimated from the sizes, and work that does not
  fit (80% of the available memory, or ``LINPARITY_MAX_SECONDS``, default 1 hour) is refused with
  one line naming the option that makes it large (``--force`` runs it anyway);
* stdout is checked before computing (closed, ``/dev/full``).

Bad input (a ValueError from the library, or an argparse error) prints one line on stderr naming
the option and exits with status 2; a NaN or infinite result is an error, never printed as null.
Work longer than a few seconds shows progress on stderr when it is a terminal.

The package along its seams: :mod:`~linparity.cli.parse` (the parsers and the ranged option
types), :mod:`~linparity.cli.dispatch` (the checks between options, the work estimate, the
library call), :mod:`~linparity.cli.work` (the linear commands' work estimate),
:mod:`~linparity.cli.output` (JSON conversion, the table, progress); :func:`main` here translates
every error into its one line.
"""
from __future__ import annotations

import os
import sys
import warnings

from .._validate import check_stdout
from . import dispatch
from .output import Heartbeat, NonFiniteResult, jsonable, print_result, warn_unconverged
from .parse import build_parser, option_names

__all__ = ["main", "build_parser"]


def _one_line(e: BaseException, names: dict) -> str:
    """The first line of an error, its leading ``name:`` spelled as the CLI option (``--p-cot:``)."""
    msg = str(e).splitlines()[0] if str(e).strip() else type(e).__name__
    head, sep, rest = msg.partition(":")
    key = head.strip()
    if sep and key in names and not head.startswith("-"):
        msg = f"{names[key]}:{rest}"
    return msg


def main(argv=None) -> int:
    """Run the CLI; returns the exit status (0 done, 2 bad input or unusable output, 1 internal error).

    Every failure is one line on stderr, never a traceback (``LINPARITY_TRACEBACK=1`` re-raises
    internal errors for debugging). Numerical warnings are recorded, not printed: a result that is
    still finite is printed, a NaN or infinite one is an error naming the key.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    names: dict = {}
    try:
        parser = build_parser(with_transformer="transformer" in argv[:1])
        names = option_names(parser, argv)
        a = parser.parse_args(argv)
        check_stdout()
        est = dispatch.work(a)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with Heartbeat(a.command, est, not dispatch.has_own_progress(a)):
                res = dispatch.run(a)
            try:
                res = jsonable(res)
            except NonFiniteResult as e:
                why = next((f"; {w.category.__name__}: {w.message}" for w in caught
                            if issubclass(w.category, RuntimeWarning)), "")
                raise NonFiniteResult(f"result: {e} (a numerical failure{why})") from None
        warn_unconverged(res)
    except (ValueError, OSError, MemoryError) as e:  # bad input, a file or stdout, or no memory
        msg = _one_line(e, names)
        if isinstance(e, MemoryError):
            msg = f"memory: the requested work does not fit in memory ({msg}); lower the sizes"
        print(f"error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # an internal error: still one line, and the way to see more
        if os.environ.get("LINPARITY_TRACEBACK"):
            raise
        print(f"error: internal error {type(e).__name__}: {_one_line(e, names)} "
              "(set LINPARITY_TRACEBACK=1 for the traceback, and please report it)", file=sys.stderr)
        return 1
    return print_result(res, getattr(a, "json", False))
