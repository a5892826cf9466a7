"""Suite-wide: the CLI's results cache (server/keras_migrate/batch.py) goes to a temporary folder,
not into the checkout the tests run from (tests that check where it goes unset this)."""
import os

import pytest


@pytest.fixture(autouse=True, scope="session")
def _results_cache_outside_the_checkout(tmp_path_factory):
    old = os.environ.get("KERAS_MIGRATE_CACHE_DIR")
    os.environ["KERAS_MIGRATE_CACHE_DIR"] = str(tmp_path_factory.mktemp("km-cache"))
    yield
    if old is None:
        os.environ.pop("KERAS_MIGRATE_CACHE_DIR", None)
    else:
        os.environ["KERAS_MIGRATE_CACHE_DIR"] = old
