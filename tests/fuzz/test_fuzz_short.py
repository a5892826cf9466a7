"""The short edit-fuzz run, part of the normal test suite (issue 7): a few hundred random
edit sequences through one real server over stdio, derandomized (the same sequences every
run).  The long run is ``scripts/fuzz-server.sh`` (10,000 sequences).  See fuzz_server.py
for what is sent and checked."""
from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, Phase, given, settings

import fuzz_server as fz

SHORT_EXAMPLES = int(os.environ.get("KM_FUZZ_SHORT_EXAMPLES", "300"))


@pytest.fixture(scope="module", autouse=True)
def _server():
    fz.get_server()
    yield
    fz.shutdown_server()


@settings(max_examples=SHORT_EXAMPLES, derandomize=True, deadline=None, database=None,
          phases=[Phase.generate, Phase.shrink], suppress_health_check=list(HealthCheck))
@given(fz.sequences())
def test_random_edit_sequences(seq):
    fz.run_sequence(seq)


def test_counts_reported():
    """Runs after the fuzz test (file order): say how much was exercised."""
    print(f"\nedit fuzz (short): {fz.STATS.line()}")
    if not fz.STATS.sequences:
        pytest.skip("the fuzz test did not run")
