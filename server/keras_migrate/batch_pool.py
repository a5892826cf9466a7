"""The process pool of ``keras-migrate check`` and ``report`` (``keras_migrate.batch``): a
``ProcessPoolExecutor`` on ``forkserver`` (Linux) or ``spawn``, whose workers start without
the working directory on ``sys.path``.  A module of its own, imported only when a run has
files to analyse: ``concurrent.futures`` and ``multiprocessing`` cost a run answered from the
cache a tenth of its time."""
from __future__ import annotations

import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor



def _children_start_safely() -> bool:
    """Make the pool's fresh interpreters start without the working directory on ``sys.path``.

    The forkserver (and spawn's workers) start as ``python -c ...`` in the working directory,
    and ``-c`` puts that directory first on ``sys.path`` while ``multiprocessing`` bootstraps: a
    ``threading.py`` in the checked-out repository would be imported and run (SECURITY.md,
    "Opening a folder never runs its code"). ``PYTHONSAFEPATH`` (Python 3.11+) keeps it off;
    on 3.10 only an isolated parent (``-I``, inherited by the children) is safe, else no pool."""
    if sys.flags.isolated or getattr(sys.flags, "safe_path", False):
        return True
    return sys.version_info >= (3, 11)


class _Pool(ProcessPoolExecutor):
    """The pool, with ``PYTHONSAFEPATH=1`` in the environment from its start to its shutdown
    only (the children read it when they start; a process this one starts later, e.g. a
    program run by the runner, must get the user's environment as it was)."""

    def __init__(self, *args, **kwargs):
        self._saved_safepath = os.environ.get("PYTHONSAFEPATH")
        os.environ["PYTHONSAFEPATH"] = "1"
        try:
            super().__init__(*args, **kwargs)
        except BaseException:
            self._restore()
            raise

    def _restore(self) -> None:
        if self._saved_safepath is None:
            os.environ.pop("PYTHONSAFEPATH", None)
        else:
            os.environ["PYTHONSAFEPATH"] = self._saved_safepath

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        try:
            super().shutdown(wait=wait, cancel_futures=cancel_futures)
        finally:
            self._restore()


def make_pool(workers: int, initializer) -> ProcessPoolExecutor:
    """``initializer(cwd)`` runs in each worker (the batch module's: this module imports none of it)."""
    if not _children_start_safely():
        raise RuntimeError("no process pool: Python 3.10 cannot start its workers without the "
                           "working directory on sys.path (run with python -I for one)")
    method = "forkserver" if sys.platform.startswith("linux") else "spawn"
    ctx = multiprocessing.get_context(method)
    if method == "forkserver":
        ctx.set_forkserver_preload(["keras_migrate.batch_preload"])
    return _Pool(max_workers=workers, mp_context=ctx, initializer=initializer, initargs=(os.getcwd(),))
