"""``python -m keras_migrate``: the program (``keras_migrate.entry``: the CLI and the language
server's ``server``); ``server`` starts the language server even in a build without the CLI.

``-m`` puts the working directory first on ``sys.path``.  When that directory is a workspace
being analysed, its ``json.py``, ``typing.py``, ``libcst.py``... would shadow the modules this
tool imports and run inside it, so the entry point drops it before importing anything else
(editors start the server with ``-I`` and a working directory of their own as well; see
SECURITY.md).
"""
import os
import sys


def _drop_working_directory() -> None:
    if sys.flags.isolated or getattr(sys.flags, "safe_path", False):
        return  # -I / -P: the working directory is not on sys.path
    try:
        cwd = os.getcwd()
    except OSError:
        cwd = None
    while sys.path and sys.path[0] in ("", ".", cwd):
        del sys.path[0]


_drop_working_directory()


def _main(argv: list[str]) -> int:
    try:
        from keras_migrate.entry import main as program
    except ImportError as exc:
        if exc.name not in ("keras_migrate.entry", "keras_migrate.cli"):
            raise  # a broken install must say what is missing, not pretend to be another build
        program = None
    if program is not None:
        rc = program(argv)
        return int(rc or 0)
    if argv and argv[0] == "server":
        from keras_migrate.server.main import run
        return run(argv[1:])
    sys.stderr.write("keras-migrate: the command line is not installed in this build; "
                     "use `python -m keras_migrate server`\n")
    return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
