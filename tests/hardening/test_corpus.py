"""Fix safety on real Keras code shipped in installed packages (tf_keras and keras sources)
and on the project's examples: every fixed file parses, a second fix changes nothing, and
only lines with findings (or imports) change.  The full corpus is
`.venv/bin/python scripts/corpus_check.py`; here a slice keeps the suite fast."""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.conformance  # needs the Keras stack (.venv-keras) for its corpus
def test_corpus_fixes_are_safe():
    site = next((ROOT / ".venv-keras" / "lib").glob("python3*/site-packages"), None)
    assert site is not None and (site / "tf_keras").exists(), "run scripts/setup-keras-env.sh first"
    p = subprocess.run([sys.executable, str(ROOT / "scripts" / "corpus_check.py"),
                        str(ROOT / "examples"), str(site / "tf_keras" / "src" / "engine"),
                        str(site / "tf_keras" / "src" / "layers"), str(site / "tf_keras" / "src" / "optimizers")],
                       capture_output=True, text=True, timeout=900)
    print(p.stdout[-3000:])
    assert p.returncode == 0, p.stdout[-5000:] + p.stderr[-2000:]
    changed = int(p.stdout.rsplit("corpus: ", 1)[1].split(" files, ")[1].split(" changed")[0])
    assert changed > 0, "the corpus run fixed nothing: it proves nothing"
