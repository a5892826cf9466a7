"""Read access to the generated Keras API table (``rules/keras_migrate/rules/api/keras_api.json``).

The table is made by ``scripts/generate_api_data.py`` from real Keras 2 and Keras 3 installs;
see ``rules/keras_migrate/rules/api/README.md`` for the schema.  Loaded once, lazily, without importing Keras.
"""
from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Optional

# KERAS_MIGRATE_API_DATA points at another table (used when regenerating it)
DATA_PATH = Path(os.environ.get("KERAS_MIGRATE_API_DATA") or Path(__file__).with_name("api") / "keras_api.json")


@lru_cache(maxsize=1)
def data() -> dict:
    try:
        return json.loads(DATA_PATH.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"symbols": {}, "kwargs": {}, "members": {}, "method_kwargs": {}, "keras3_symbols": [],
                "keras3_modules": []}


@lru_cache(maxsize=1)
def keras3_names() -> frozenset:
    d = data()
    return frozenset(d.get("keras3_symbols", ())) | modules()


def keras3_has(name: str) -> bool:
    """True when ``name`` (canonical, ``keras.x.y``) is public Keras 3 API.

    An attribute of a public class or module (``keras.layers.Dense.from_config``) counts
    when its owner is public and the attribute is not known to be removed.
    """
    names = keras3_names()
    if name in names:
        return True
    owner = name.rpartition(".")[0]
    while owner:
        if owner in names:
            entry = symbol(name)
            return not (entry and entry.get("status") != "same_path") and owner.count(".") >= 1 \
                and owner not in modules()
        owner = owner.rpartition(".")[0]
    return False


@lru_cache(maxsize=1)
def modules() -> frozenset:
    return frozenset(data().get("keras3_modules", ())) | {"keras"}


def symbol(name: str) -> Optional[dict]:
    return data().get("symbols", {}).get(name)


def kwargs_for(name: str) -> dict:
    return data().get("kwargs", {}).get(name, {})


def members(kind: str) -> dict:
    return data().get("members", {}).get(kind, {})


def method_kwargs(key: str) -> dict:
    return data().get("method_kwargs", {}).get(key, {})
