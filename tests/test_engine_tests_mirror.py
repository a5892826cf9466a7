"""tests/engine/ mirrors the engine: one test file per engine module, named after it
(``server/keras_migrate/engine/fixer.py`` -> ``tests/engine/test_fixer.py``), and nothing else there,
so that an engine test is found where its module is."""
from __future__ import annotations

from pathlib import Path

import keras_migrate.engine as engine

ENGINE = Path(engine.__file__).resolve().parent
TESTS = Path(__file__).resolve().parent / "engine"


def test_every_engine_module_has_its_test_file():
    modules = {p.stem for p in ENGINE.glob("*.py") if p.stem != "__init__"}
    tests = {p.stem[len("test_"):] for p in TESTS.glob("test_*.py")}
    assert modules, ENGINE
    missing = sorted(modules - tests)
    assert not missing, "engine modules without tests/engine/test_<module>.py: " + ", ".join(missing)
    strays = sorted(tests - modules)
    assert not strays, ("tests/engine/ files named after no engine module (move them to their module's "
                        "file): " + ", ".join(f"test_{s}.py" for s in strays))
