"""``python -m linparity.studies``: the invariance table and the d = 2 study (README Findings 1-2)."""
import sys

from .d2 import print_d2_study
from .invariance import print_invariance_table

try:
    print_invariance_table()
    print_d2_study()
except BrokenPipeError:      # e.g. piped into head: the reader left, nothing more to say
    sys.stderr.close()
