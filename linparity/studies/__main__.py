"""``python -m linparity.studies``: the invariance table and the d = 2 study (README Findings 1-2)."""
from .d2 import print_d2_study
from .invariance import print_invariance_table

print_invariance_table()
print_d2_study()
