"""The committed Keras API table must equal what the generator makes from the pinned Keras
2 / Keras 3 installs (conformance: it imports both in subprocesses; about a minute).

Regenerate with ``python scripts/generate_api_data.py`` after changing the generator, the
overrides or the pinned versions.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
KERAS_ENV = Path(os.environ.get("KERAS_ENV", REPO / ".venv-keras"))


@pytest.mark.conformance
def test_api_data_is_fresh():
    if not (KERAS_ENV / "bin" / "python").exists() or not (KERAS_ENV / ".keras-migrate-stack").exists():
        pytest.fail(
            f"The Keras stack is missing ({KERAS_ENV}): run scripts/setup-keras-env.sh "
            "(scripts/test.sh does it) so rules/keras_migrate/rules/api/keras_api.json can be regenerated and compared.")
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "generate_api_data.py"), "--check"],
        cwd=REPO, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, (
        "rules/keras_migrate/rules/api/keras_api.json is stale or could not be regenerated; run "
        "`python scripts/generate_api_data.py` and commit the result.\n"
        + proc.stdout[-6000:] + proc.stderr[-3000:])
