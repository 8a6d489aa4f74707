"""Shared pieces of the CLI fuzz tests (tests/test_cli_fuzz*.py): hostile strings, values drawn
from an option's documented range, and the keys whose value is null in a result."""
from hypothesis import strategies as st

#: option values that no range admits, or that a careless parser would take
HOSTILE = ["nan", "inf", "-inf", "-1", "0", "-0.0", "1e-320", "1e308", "99999999999999999999999",
           "-99999999999999999999999", "abc", "", "1.5", "0x10", "1e400", "2.5e-324", str(2 ** 63),
           str(10 ** 15), "1_000", " 7", "2^40"]


def value_in(kind_lo_hi):
    """Strings of values inside a documented range ``(kind, lo, hi)``: small and anywhere."""
    kind, lo, hi = kind_lo_hi
    if kind == "int":
        return st.one_of(st.integers(lo, min(hi, lo + 50)), st.integers(lo, hi)).map(str)
    return st.one_of(st.floats(lo, hi), st.sampled_from([lo, hi])).map(repr)


def null_keys(o, key=""):
    """The keys (innermost dict key) under which ``o`` holds a null."""
    if isinstance(o, dict):
        for k, v in o.items():
            yield from null_keys(v, k)
    elif isinstance(o, list):
        for v in o:
            yield from null_keys(v, key)
    elif o is None:
        yield key
