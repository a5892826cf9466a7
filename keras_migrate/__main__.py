"""``python -m keras_migrate``: the CLI (``keras_migrate.cli``); ``server`` starts the
language server even before the CLI module exists."""
from __future__ import annotations

import sys


def _main(argv: list[str]) -> int:
    try:
        from keras_migrate.cli import main as cli_main
    except ImportError:
        cli_main = None
    if cli_main is not None:
        rc = cli_main(argv)
        return int(rc or 0)
    if argv and argv[0] == "server":
        from keras_migrate.server.main import run
        return run(argv[1:])
    sys.stderr.write("keras-migrate: the command line is not installed in this build; "
                     "use `python -m keras_migrate server`\n")
    return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
