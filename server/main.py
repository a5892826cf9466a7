"""``keras-migrate server``: start the language server (LSP over stdio).

The CLI's ``server`` subcommand calls :func:`add_arguments` and :func:`main`;
``python -m keras_migrate.server.main`` runs it without the CLI.

There is no TCP mode: a listening socket can be reached by every local user, and the server
runs code on request (the backend runner), so it talks only to the process that started it
(SECURITY.md).
"""
from __future__ import annotations

import sys

if __name__ == "__main__":  # ``-m`` put the working directory first: see keras_migrate/__main__.py
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
    logging.getLogger("pygls").setLevel(logging.WARNING)

    server.start_io(sys.stdin.buffer, out)
    return 0


def run(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="keras-migrate server", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return main(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(run())
