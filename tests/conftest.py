"""Shared pytest configuration: the hypothesis ``ci`` profile (deterministic, no deadline)."""
import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, deadline=None, max_examples=25)
settings.register_profile("dev", deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
