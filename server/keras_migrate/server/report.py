"""The workspace migration report (``keras-migrate.report``): the same builder, walker and
configuration model as ``keras-migrate report`` (``keras_migrate.report``: the files are
``keras_migrate.discovery.iter_files``, the CLI's walker: the server has none of its own), over the
workspace folders, with the editor settings under each file's nearest pyproject table.
Runs in a worker thread (one analysis per file for every backend); progress, with counts,
goes through the ``progress`` callback, and ``cancelled()`` (the client cancelling the
work-done progress) stops it with what was scanned so far.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from keras_migrate import report as _report
from keras_migrate.config import Config
from keras_migrate.service import Linter

MAX_BYTES = _report.MAX_BYTES


def scan(roots: list[Path], config_for: Callable[[Path], Config], workspace_for: Callable[[Path], object],
         progress: Callable[[int, int, str], None], cancelled: Callable[[], bool] = lambda: False) -> dict:
    linters: dict = {}

    def linter_for(cfg: Config, path: Path) -> Linter:
        index = workspace_for(path)
        key = (cfg, id(index))
        if key not in linters:
            linters[key] = Linter(cfg, workspace=index)
        return linters[key]

    data = _report.scan(roots, config_for, linter_for, progress, cancelled)
    out = {"markdown": _report.markdown(data), "data": data}
    if data.get("cancelled"):
        out["cancelled"] = True
        out["markdown"] = ("_Cancelled: the counts cover the "
                           f"{len(data['records'])} of {data['files']} files scanned before it stopped._\n\n"
                           + out["markdown"])
    return out

