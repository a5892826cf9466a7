"""Run ``keras-migrate ARGS`` as the user nobody (tests/hardening, when run as root, which reads
any folder): everything the CLI imports lazily is loaded first, on a small example, because
the interpreter's own files may not be readable by nobody."""
import contextlib
import io
import os
import sys
from pathlib import Path

import keras_migrate.cli as cli

sample = Path(__file__).resolve().parents[2] / "examples"
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    cli.main(["check", "--output-format", "full", str(sample)])
    cli.main(["report", "--format", "json", str(sample)])
    "x".encode("utf-16-le")
os.setgroups([])
os.setresgid(65534, 65534, 65534)
os.setresuid(65534, 65534, 65534)
sys.exit(cli.main(sys.argv[1:]))
