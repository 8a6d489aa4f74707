"""``python -m linparity.studies [--only invariance|d2]``: the invariance table and the d = 2 study
(THEORY §4, §10; docs/claims/theorem1.md).

Exit status 0 when printed, 2 on a usage error (one line on stderr), 130 when interrupted (Ctrl-C).
"""
import argparse
import sys

from .._validate import check_stdout, usage_message
from .d2 import print_d2_study
from .invariance import print_invariance_table

STUDIES = {"invariance": print_invariance_table, "d2": print_d2_study}


class _Parser(argparse.ArgumentParser):
    """Usage errors are one line on stderr and exit status 2 (argparse would print the usage too)."""

    def error(self, message):
        print(f"error: {usage_message(self.prog, message)}", file=sys.stderr)
        sys.exit(2)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m linparity.studies",
                description="Print the invariance table (off-subspace norm of the exact NTP and policy-gradient "
                            "gradients at random reduced points, d = 2..8) and the d = 2 study (exact full-weight "
                            "NTP against the reduced model).")
    p.add_argument("--only", choices=tuple(STUDIES), help="print one of the two studies (default: both)")
    return p


def main(argv=None) -> int:
    a = build_parser().parse_args(argv)
    try:
        check_stdout()
        for name, show in STUDIES.items():
            if a.only in (None, name):
                show()
    except BrokenPipeError:      # e.g. piped into head: the reader left, nothing more to say
        sys.stderr.close()
    except KeyboardInterrupt:    # Ctrl-C: one line, status 130, as every command of the package
        print("error: interrupted", file=sys.stderr)
        return 130
    except OSError as e:         # stdout closed or full: one line, as every command of the package
        print(f"error: stdout: {e.strerror or str(e).removeprefix('stdout: ')}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
