"""``keras-migrate server``: start the language server (stdio by default, TCP on request).

The CLI's ``server`` subcommand calls :func:`add_arguments` and :func:`main`;
``python -m keras_migrate.server.main`` runs it without the CLI.
"""
from __future__ import annotations

import argparse
import logging
import sys
from typing import Optional, Sequence


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stdio", action="store_true", help="talk LSP over stdin/stdout (the default)")
    parser.add_argument("--tcp", action="store_true", help="listen on a TCP socket instead of stdio")
    parser.add_argument("--host", default="127.0.0.1", help="TCP host (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=2087, help="TCP port (default: 2087)")
    parser.add_argument("--log-file", default=None,
                        help="also write the server's log to this file (the client's log gets it anyway)")
    parser.add_argument("--log-level", default=None, choices=["error", "warning", "info", "debug"],
                        help="initial log level (editor setting logLevel overrides it)")


def main(args: argparse.Namespace) -> int:
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

    if getattr(args, "tcp", False):
        server.start_tcp(args.host, args.port)
    else:
        server.start_io(sys.stdin.buffer, out)
    return 0


def run(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="keras-migrate server", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return main(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(run())
