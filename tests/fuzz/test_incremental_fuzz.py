"""The short incremental-vs-full fuzz run (issue 14), part of the normal suite: a few random
edit sequences, derandomized (the same every run).  The long run is
``python tests/fuzz/fuzz_incremental.py --sequences 2000``; see fuzz_incremental.py."""
from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings, strategies as st

import fuzz_incremental as fz

SHORT = int(os.environ.get("KM_FUZZ_INCREMENTAL_EXAMPLES", "12"))


@settings(max_examples=SHORT, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(st.integers(min_value=0, max_value=2**31))
def test_incremental_equals_full(seed):
    fz.run_sequence(seed, edits=8, fixes=1, size=5)


def test_the_reuse_paths_ran():
    """Runs after the fuzz test (file order): the edits went through the incremental paths,
    not only through full analyses (which would compare nothing)."""
    print(f"\nincremental fuzz (short): {fz.STATS.line()}")
    assert fz.STATS.sequences == SHORT
    assert fz.STATS.paths.get("incremental", 0) + fz.STATS.paths.get("environment", 0) >= SHORT
