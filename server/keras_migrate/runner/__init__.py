"""The backend runner: run a file on a Keras 3 backend and device, and compare backends.

It depends on the standard library only and on nothing of the engine; the CLI
(:mod:`keras_migrate.runner.cli`) and the language server (``server/keras_migrate/server/runner_bridge.py``)
are its two adapters. The program itself runs in the user's interpreter through
``bootstrap.py``, by path, so keras-migrate need not be installed there.
"""

from .environment import BACKENDS, EnvironmentReport, Problem, check_environment
from .gpus import Gpu, GpuListing, list_gpus, parse_nvidia_smi
from .matrix import format_markdown, format_text
from .process import BOOTSTRAP, Device, Run, RunRequest, RunResult, run_file, temporary_copy
from .session import RunSession
from .tracebacks import ErrorLocation, first_error_line, locate_error, parse_traceback

__all__ = [
    "BACKENDS",
    "BOOTSTRAP",
    "Device",
    "EnvironmentReport",
    "ErrorLocation",
    "Gpu",
    "GpuListing",
    "Problem",
    "Run",
    "RunRequest",
    "RunResult",
    "RunSession",
    "check_environment",
    "first_error_line",
    "format_markdown",
    "format_text",
    "list_gpus",
    "locate_error",
    "parse_nvidia_smi",
    "parse_traceback",
    "run_file",
    "temporary_copy",
]
