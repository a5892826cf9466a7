"""What the rule set provides the engine: the rule catalogue and the tables rules share.

The engine never imports the rules package (the arrows run from rules to the engine).  Some
facts rules need are owned by the rule set as a whole, not by one family: which rule codes
exist (K900 tells a typo from a code; K5xx knows whether the rule it defers to exists), the
Keras API table (``rules/keras_migrate/rules/apidata.py``, read by the K1xx and K5xx rules) and the tf ->
``keras.ops`` table (``rules/keras_migrate/rules/portability/_ops.py``, read by K302 and K601).  The registry
(``keras_migrate.rules``) installs them here when it is imported, which is before any rule
module runs (every rule module lives inside it); rules read them through the door
(``engine/api.py``): ``known_codes()``, ``keras3_has(name)``, ``keras_api.members(kind)``,
``tf_op(name)``.
"""
from __future__ import annotations

import difflib
from typing import Callable, Optional, Sequence

_rules: Optional[Callable[[], tuple]] = None
_keras_api: Optional[Callable[[], object]] = None
_tf_ops: Optional[Callable[[], dict]] = None


def install(rules: Callable[[], tuple], keras_api: Callable[[], object], tf_ops: Callable[[], dict]) -> None:
    """Called once by the registry: ``rules()`` returns every rule class, ``keras_api()`` the
    module reading ``keras_api.json``, ``tf_ops()`` the tf -> keras.ops table (a dict)."""
    global _rules, _keras_api, _tf_ops, _api_module, _codes
    _rules, _keras_api, _tf_ops, _api_module, _codes = rules, keras_api, tf_ops, None, None


def _need(provider, what: str):
    if provider is None:  # pragma: no cover - a rule runs only after the registry is imported
        raise RuntimeError(f"no {what} installed: import keras_migrate.rules first")
    return provider()


_codes: Optional[tuple[frozenset, tuple[str, ...]]] = None


def known_codes() -> tuple[str, ...]:
    """Every rule code of the rule set (the registry's, enabled or not)."""
    return _known()[1]


def is_rule_code(code: str) -> bool:
    """True when a rule of the rule set has this code (whether it runs or not: ``ctx.enabled``)."""
    return code in _known()[0]


def _known() -> tuple[frozenset, tuple[str, ...]]:
    global _codes
    if _codes is None:
        codes = tuple(r.code for r in _need(_rules, "rule catalogue"))
        _codes = (frozenset(codes), codes)
    return _codes


def closest_code(selector: str, known: Sequence[str] = ()) -> Optional[str]:
    """The known code or prefix nearest to a mistyped selector (difflib), if any is close."""
    known = tuple(known) or known_codes()
    prefixes = sorted({c[:2] for c in known} | {c[:3] for c in known})
    if len(selector) >= 4:   # a full code (K1020, K9999): only a close full code helps
        hit = difflib.get_close_matches(selector, list(known), n=1, cutoff=0.75)
    else:                    # a prefix (K7): the nearest family or code prefix
        hit = difflib.get_close_matches(selector, prefixes, n=1, cutoff=0.5)
    return hit[0] if hit else None


_api_module = None


def _api():
    global _api_module
    if _api_module is None:
        _api_module = _need(_keras_api, "Keras API table")
    return _api_module


class _KerasAPI:
    """The Keras API table (``keras_api.json``): ``data()``, ``symbol(name)``,
    ``kwargs_for(name)``, ``members(kind)``, ``method_kwargs(key)``, ``keras3_has(name)``."""

    __slots__ = ()

    def __getattr__(self, name: str):
        return getattr(_api(), name)


keras_api = _KerasAPI()


def keras3_has(name: str) -> bool:
    """True when ``name`` (canonical, ``keras.x.y``) is public Keras 3 API."""
    return _api().keras3_has(name)


def tf_op(canonical_name: str) -> Optional[dict]:
    """The tf -> keras.ops table's entry for a canonical tf name (``tensorflow.reduce_sum``)."""
    return _need(_tf_ops, "tf -> keras.ops table").get(canonical_name)
