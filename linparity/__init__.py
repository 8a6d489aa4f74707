"""linparity: closed form, exact enumeration and simulation of NTP then RL on the parity task.

See ``docs/theory.md`` (the specification) and README.md.
"""
from .data import Mixture, reward_cot, reward_e2e
from .model import LinearAR, Reduced

__version__ = "0.1.0"
__all__ = ["Mixture", "LinearAR", "Reduced", "reward_cot", "reward_e2e"]
