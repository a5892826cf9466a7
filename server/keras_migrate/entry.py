"""The ``keras-migrate`` program: the CLI with the language server's ``server`` command.

The composition root.  The CLI (``keras_migrate.cli``) and the language server
(``keras_migrate.server``) are sibling adapters over ``keras_migrate.service``; neither
imports the other, and this module puts them under one command.
"""
from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence

from keras_migrate import cli


def _server_arguments(parser: argparse.ArgumentParser) -> None:
    from keras_migrate.server import main as server_main
    server_main.add_arguments(parser)


def _server(args: argparse.Namespace) -> int:
    from keras_migrate.server import main as server_main
    return server_main.main(args)


COMMANDS = (cli.Command("server", "start the language server (stdio by default)", _server_arguments, _server),)


def build_parser() -> argparse.ArgumentParser:
    return cli.build_parser(COMMANDS)


def main(argv: Optional[Sequence[str]] = None) -> int:
    return cli.main(sys.argv[1:] if argv is None else argv, COMMANDS)
