"""The rule registry: every ``Rule`` subclass defined in a module of a family package.

Families (one folder each): imports (K1xx), saving (K2xx), layers (K3xx), training (K4xx),
api (K5xx, data-driven), portability (K6xx), noqa (K9xx: the
suppression comments themselves).  One module per rule.  The engine never imports
this package; the CLI and the language server build the rule set from it.  Importing it
installs what the rule set shares into the engine (``engine/catalog.py``): the rule codes,
the Keras API table (``apidata.py``) and the tf -> keras.ops table (``portability/_ops.py``).
"""
from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache

from keras_migrate.engine import catalog as _catalog
from keras_migrate.engine.rule import Rule

FAMILIES = ("imports", "saving", "layers", "training", "api", "portability", "noqa")


@lru_cache(maxsize=1)
def all_rules() -> tuple[type[Rule], ...]:
    found: dict[str, type[Rule]] = {}
    for family in FAMILIES:
        pkg = importlib.import_module(f"{__name__}.{family}")
        for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
            if info.name.startswith("_"):
                continue
            mod = importlib.import_module(f"{pkg.__name__}.{info.name}")
            for obj in vars(mod).values():
                if (isinstance(obj, type) and issubclass(obj, Rule) and obj is not Rule
                        and obj.__module__ == mod.__name__ and "code" in vars(obj)):
                    if obj.code in found and found[obj.code] is not obj:
                        raise RuntimeError(f"duplicate rule code {obj.code}: {obj} and {found[obj.code]}")
                    found[obj.code] = obj
    return tuple(sorted(found.values(), key=lambda r: r.code))


def rule_by_code(code: str) -> type[Rule] | None:
    code = code.upper()
    for r in all_rules():
        if r.code == code or r.name == code.lower():
            return r
    return None


def _keras_api():
    return importlib.import_module(f"{__name__}.apidata")


def _tf_ops() -> dict:
    return importlib.import_module(f"{__name__}.portability._ops").table()


_catalog.install(rules=all_rules, keras_api=_keras_api, tf_ops=_tf_ops)
