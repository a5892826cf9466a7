"""A minimal language server that carries only the runner bridge, for the bridge tests.

It stands in for the project's server (``python -m keras_migrate server``) the way that
server uses the bridge: it is a ``RunnerHost`` (``runner_context()``, whose run interpreter
and trust come from the environment the test gives it, and ``set_run_diagnostics()``, which
publishes them). The tests against the real server are in ``test_server_real.py``.
"""

import os

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from keras_migrate.server.runner_bridge import RunnerContext, register


class BridgeServer(LanguageServer):
    def runner_context(self) -> RunnerContext:
        return RunnerContext(trusted=os.environ.get("KM_TEST_TRUSTED", "1") == "1",
                             interpreter=os.environ.get("KM_TEST_RUN_INTERPRETER", "") or None,
                             roots=tuple(to_fs_path(f.uri) for f in self.workspace.folders.values()),
                             num_units=self.workspace.position_codec.client_num_units)

    def set_run_diagnostics(self, uri: str, diagnostics: list) -> None:
        self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics))


server = BridgeServer("keras-migrate-runner-bridge-test", "0")
register(server)

if __name__ == "__main__":
    server.start_io()
