"""``python -m proofs [--only ROW[,ROW...]]``: print the ``claim | status | detail`` table.

Exit status: 0 when no row is FAILED (PROVED, CHECKED and REFUTED rows are all outcomes the
harness expects: REFUTED is a statement of the source shown false), 1 when a row is FAILED,
2 on a usage error (one line on stderr), 130 when interrupted (Ctrl-C).
"""
import sys

from linparity._validate import check_stdout

from . import CLAIM_MODULES, Status, run_all, select, table

USAGE = f"""usage: python -m proofs [-h] [--only ROW[,ROW...]]

Check every claim of docs/theory.md with sympy (PROVED), exact / 50-digit evaluation on a grid (CHECKED),
or show a statement of the source false with a counterexample (REFUTED). A row is FAILED when a claim
of ours does not hold.

options:
  -h, --help           print this message and exit (runs nothing)
  --only ROW[,ROW...]  run only these rows: a claim number (1-{len(CLAIM_MODULES)}), a row id such as 9b,
                       or a module name; may be repeated

exit status: 0 if no row is FAILED, 1 if some row is FAILED, 2 on a usage error"""


def parse(argv) -> list | None:
    """The ``--only`` selectors (None: all rows); raises ValueError with a one-line message."""
    only, it = None, iter(argv)
    for arg in it:
        if arg.startswith("--only="):
            val = arg[len("--only="):]
        elif arg == "--only":
            val = next(it, None)
            if val is None:
                raise ValueError("--only: needs a value, e.g. --only 9b")
        else:
            raise ValueError(f"python -m proofs: unknown option {arg!r} (see python -m proofs --help)")
        sels = [s for s in val.split(",") if s]
        if not sels:
            raise ValueError("--only: needs a value, e.g. --only 9b")
        for s in sels:
            select(s)
        only = (only or []) + sels
    return only


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if "-h" in argv or "--help" in argv:
        print(USAGE)
        return 0
    try:
        only = parse(argv)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        check_stdout()
        results = run_all(only)
        print(table(results))
        n = {s: sum(r.status is s for r in results) for s in Status}
        print(f"\n{n[Status.PROVED]} PROVED, {n[Status.CHECKED]} CHECKED, {n[Status.REFUTED]} REFUTED, "
              f"{n[Status.FAILED]} FAILED")
        sys.stdout.flush()
    except KeyboardInterrupt:    # Ctrl-C: one line, status 130, as the package's commands
        print("error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:      # e.g. piped into head: the reader left, nothing more to say
        sys.stderr.close()
        return 0
    except OSError as e:         # stdout closed or full: one line, as the package's commands
        print(f"error: stdout: {e.strerror or str(e).removeprefix('stdout: ')}", file=sys.stderr)
        return 2
    return 1 if n[Status.FAILED] else 0


if __name__ == "__main__":
    sys.exit(main())
