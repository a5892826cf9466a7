#!/usr/bin/env python3
"""Write package.json's ``contributes.configuration`` and the client's key list
(client-vscode/src/settingsKeys.ts) from the settings schema, server/keras_migrate/settings_schema.py.

    python scripts/generate_package_json.py          # write what is stale
    python scripts/generate_package_json.py --check  # exit 1 if anything is stale

tests/server/test_settings_schema.py fails when the files are stale.
"""
from __future__ import annotations

import sys
from pathlib import Path

from keras_migrate.settings_schema import generated

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for path, text in generated(ROOT).items():
        old = path.read_text(encoding="utf-8") if path.exists() else None
        if old == text:
            continue
        stale.append(path.relative_to(ROOT))
        if not check:
            path.write_text(text, encoding="utf-8")
    for p in stale:
        print(f"{'stale' if check else 'wrote'}: {p}")
    return 1 if check and stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
