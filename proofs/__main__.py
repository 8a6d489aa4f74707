"""``python -m proofs``: print the ``claim | status | detail`` table; exit 1 on any FAILED."""
import sys

from . import Status, run_all, table


def main() -> int:
    results = run_all()
    print(table(results))
    n = {s: sum(r.status is s for r in results) for s in Status}
    print(f"\n{n[Status.PROVED]} PROVED, {n[Status.CHECKED]} CHECKED, {n[Status.FAILED]} FAILED")
    return 1 if n[Status.FAILED] else 0


if __name__ == "__main__":
    sys.exit(main())
