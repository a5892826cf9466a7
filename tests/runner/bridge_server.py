"""A minimal language server that carries only the runner bridge, for the bridge tests.

It stands in for the project's server (``python -m keras_migrate server``) the way that
server will use the bridge: it has ``extra_diagnostics`` and ``republish(uri)``, and its
``runInterpreter`` setting and trust come from the environment the test gives it.
The tests against the real server are in ``test_server_real.py``.
"""

import os

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from keras_migrate.server.runner_bridge import register

server = LanguageServer("keras-migrate-runner-bridge-test", "0")
server.km_settings = {"runInterpreter": os.environ.get("KM_TEST_RUN_INTERPRETER", "")}
server.km_trusted = os.environ.get("KM_TEST_TRUSTED", "1") == "1"
server.extra_diagnostics = {}


def republish(uri: str) -> None:
    server.text_document_publish_diagnostics(
        types.PublishDiagnosticsParams(uri=uri, diagnostics=list(server.extra_diagnostics.get(uri, [])))
    )


server.republish = republish
register(server)

if __name__ == "__main__":
    server.start_io()
