"""``keras-migrate server``: start the language server (LSP over stdio).

The program's ``server`` command (``keras_migrate.entry``) calls :func:`add_arguments` and :func:`main`;
``python -m keras_migrate.server.main`` runs it without the CLI.

There is no TCP mode: a listening socket can be reached by every local user, and the server
runs code on request (the backend runner), so it talks only to the process that started it
(SECURITY.md).
"""
from __future__ import annotations

import sys

if __name__ == "__main__":  # ``-m`` put the working directory first: see server/keras_migrate/__main__.py
    import os as _os
    if not (sys.flags.isolated or getattr(sys.flags, "safe_path", False)):
        while sys.path and sys.path[0] in ("", ".", _os.getcwd()):
            del sys.path[0]

import argparse
import logging
from typing import Optional, Sequence


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stdio", action="store_true", help="talk LSP over stdin/stdout (the default)")
    # removed: kept only to explain why (argparse would say "unrecognized arguments")
    parser.add_argument("--tcp", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--host", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--log-file", default=None,
                        help="also write the server's log to this file (the client's log gets it anyway)")
    parser.add_argument("--log-level", default=None, choices=["error", "warning", "info", "debug"],
                        help="initial log level (editor setting logLevel overrides it)")


def main(args: argparse.Namespace) -> int:
    if getattr(args, "tcp", False) or getattr(args, "host", None) or getattr(args, "port", None):
        sys.stderr.write(
            "keras-migrate server: TCP is not supported: any local user could connect to the socket "
            "and ask the server to run code; start it over stdio (the default), as editors do\n")
        return 2
    # stdout carries the protocol: nothing else may write to it
    out = sys.stdout.buffer
    sys.stdout = sys.stderr

    from .server import server

    root = logging.getLogger("keras_migrate")
    root.addHandler(server.log_handler)
    root.propagate = False
    level = getattr(args, "log_level", None)
    if level:
        root.setLevel(level.upper())
        server.log_handler.setLevel(level.upper())
    if getattr(args, "log_file", None):
        fh = logging.FileHandler(args.log_file, encoding="utf-8")
        fh.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(fh)
        for name in ("pygls", "keras_migrate"):
            logging.getLogger(name).addHandler(fh)
    pygls_log = logging.getLogger("pygls")
    pygls_log.setLevel(logging.WARNING)
    stderr = logging.StreamHandler(sys.stderr)
    stderr.addFilter(_one_line)
    pygls_log.addHandler(stderr)
    pygls_log.propagate = False
    for h in pygls_log.handlers:
        h.addFilter(_one_line)

    # the rules and what they import (loaded by the first analysis anyway) moved out of the
    # collector's sight: ~70k objects that live as long as the process, which every full
    # collection (FULL_GC_EVERY analyses, and Python's own) walked again
    import gc
    from keras_migrate.service import registry
    try:
        registry()
    except Exception:  # the first analysis reports it
        pass
    gc.collect()
    gc.freeze()
    # the server runs the full collections itself (server.py: after FULL_GC_EVERY analyses,
    # at the next keystroke, inside its debounce; or when the editor is idle); Python's own
    # oldest-generation collections came at any allocation: with a dense file open, one
    # every analysis or two (each analysis leaves ~75k objects, its tree and context, as
    # cyclic garbage when the next one replaces it), 100-500 ms each, mid-keystroke
    gen0, gen1, _ = gc.get_threshold()
    gc.set_threshold(gen0, gen1, 1_000_000)
    from . import profiling
    profiling.start()
    try:
        server.start_io(sys.stdin.buffer, out)
    finally:
        profiling.dump()
    # LSP: exit code 0 after a shutdown request, 1 for an exit (or a closed stdin) without one;
    # pygls' own sys.exit(1) is swallowed by its start_io
    return 0 if getattr(server.protocol, "_shutdown", False) else 1


def _one_line(record: logging.LogRecord) -> bool:
    """pygls logs a traceback for every message it cannot handle (bad params, not JSON); the
    server answers those itself, so the log gets one line, never a traceback."""
    msg = record.getMessage()
    if record.exc_info or "\n" in msg:
        exc = record.exc_info[1] if record.exc_info else None
        first = msg.splitlines()[0] if msg else ""
        if exc is not None:
            first += f": {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        record.msg, record.args = first, None
        record.exc_info = record.exc_text = None
    return True


def run(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="keras-migrate server", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return main(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(run())
