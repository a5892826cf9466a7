"""``keras-migrate run``: run a file on a Keras backend (or all of them) and show the matrix.

::

    keras-migrate run FILE --backend jax|torch|tensorflow|all [--keras2] [--smoke]
                           [--gpu N | --cpu] [--python PATH] [--markdown] [--json PATH]
                           [-- ARGS...]

``--smoke`` runs the program with training capped to one epoch of a couple of steps and
``keras.datasets`` answered with synthetic data (see ``smoke.py``); ``--keras2`` adds a run
on Keras 2 (tf-keras), first, for comparison (alone, without ``--backend``, it is the only
run). Everything after ``--`` goes to the program as its ``sys.argv[1:]``. The program's output
streams live, under a ``==> backend on device`` header per backend; the matrix follows.

Exit status: the program's own (a signal N gives 128+N) for one backend; for ``all``, 0
when every backend ran and succeeded, 1 when a program failed, 2 when a backend could not
run. Environment problems (no such interpreter, Keras 3 or the backend package missing,
no GPU) are stated on stderr with the fix, and exit with 2. Ctrl-C ends the program's
whole process tree and exits with 130; SIGTERM or SIGHUP to this command (a CI timeout, a
closed terminal) end the tree too and exit with 128+N. (The program runs in its own
session, so without that it would outlive us.)

The CLI wires this as a subcommand through :func:`add_arguments` and :func:`main`; it also
runs alone as ``python -m keras_migrate.runner.cli FILE ...``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from contextlib import contextmanager
from typing import Iterator, Sequence

from .environment import BACKENDS, KERAS2
from .gpus import default_device, list_gpus
from .matrix import format_markdown, format_text
from .notebooks import NotebookError, annotate, is_notebook, notebook_script
from .process import Device, RunResult
from .session import RunSession
from .terminal import wants_terminal

EXIT_ENVIRONMENT = 2
EXIT_CANCELLED = 130


def _split_program_args(parser: argparse.ArgumentParser) -> None:
    """Make ``-- ARGS...`` reach the program whatever the options' order.

    argparse cannot put a positional list after options (``FILE --backend jax -- -x``
    fails with "unrecognized arguments"), so the arguments after the first ``--`` are cut
    off before this (sub)parser parses and stored as ``program_args``.
    """
    original = parser.parse_known_args

    def parse_known_args(args=None, namespace=None):
        args = list(sys.argv[1:] if args is None else args)
        program_args = None
        if "--" in args:
            cut = args.index("--")
            args, program_args = args[:cut], args[cut + 1:]
        ns, extras = original(args, namespace)
        if program_args is not None:
            ns.program_args = program_args
        return ns, extras

    parser.parse_known_args = parse_known_args  # type: ignore[method-assign]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``run`` arguments to ``parser`` (the ``run`` subcommand's parser)."""
    parser.add_argument("file", metavar="FILE", help="the Python file to run")
    parser.add_argument(
        "--backend",
        choices=[*BACKENDS, "all"],
        help="the Keras backend to run on, or all of them one after another "
             "(required unless --keras2 is given)",
    )
    parser.add_argument(
        "--smoke", action="store_true",
        help="smoke run: fit/evaluate/predict (and *_on_batch) capped to 1 epoch of a couple of "
             "steps, keras.datasets loaders answered with synthetic data of the real shapes "
             "(no download); the whole program in seconds; the file is not changed",
    )
    parser.add_argument(
        "--keras2", action="store_true",
        help="also run on Keras 2 (tf-keras, TF_USE_LEGACY_KERAS=1), first, for comparison; "
             "needs tf-keras in the interpreter",
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--gpu", type=int, metavar="N",
                       help="run on GPU N as nvidia-smi numbers it (default: an existing "
                            "CUDA_VISIBLE_DEVICES is kept, else the least-used GPU, else the CPU)")
    where.add_argument("--cpu", action="store_true", help="run on the CPU (no GPU visible)")
    parser.add_argument("--python", metavar="PATH",
                        help="the interpreter to run in (default: the one running keras-migrate)")
    parser.add_argument("--markdown", action="store_true",
                        help="print the result matrix as a markdown table")
    parser.add_argument("--json", metavar="PATH", dest="json_path",
                        help="also write the results (and the matrix) as JSON to PATH")
    parser.add_argument("--capture", action="store_true",
                        help="capture the program's output even in a terminal (by default, in a "
                             "terminal the program gets it: colours, progress bars, input(), Ctrl-C)")
    parser.set_defaults(program_args=[])
    parser.usage = (
        "%(prog)s FILE --backend {jax,torch,tensorflow,all} [--keras2] [--smoke]\n"
        "       [--gpu N | --cpu] [--python PATH] [--markdown] [--json PATH] [-- ARGS...]"
    )
    parser.epilog = (parser.epilog or "") + (
        "Arguments after -- are passed to the program, e.g. "
        "keras-migrate run train.py --backend all --cpu -- --epochs 1. "
        "The whole program in seconds on Keras 2 and every backend: "
        "keras-migrate run train.py --smoke --keras2 --backend all --cpu"
    )
    _split_program_args(parser)


def _say(message: str) -> None:
    print(f"keras-migrate run: {message}", file=sys.stderr, flush=True)


def _choose_device(args: argparse.Namespace) -> Device | None:
    if args.cpu:
        return Device.cpu()
    listing = list_gpus()
    if args.gpu is not None:
        if listing.error:
            _say(f"GPU {args.gpu} asked for, but {listing.error}")
            return None
        if listing.find(args.gpu) is None:
            have = "; ".join(g.label() for g in listing.gpus)
            _say(f"there is no GPU {args.gpu}; GPUs here: {have} (or --cpu)")
            return None
        return Device.gpu(args.gpu)
    chosen = default_device(listing)
    if chosen.kind == "env":
        _say(f"{chosen.reason} (--gpu N or --cpu to choose)")
        return Device.inherited(chosen.value or "")
    if chosen.kind == "gpu":
        _say(f"{chosen.reason} (--gpu N or --cpu to choose)")
        return Device.gpu(chosen.index)
    return Device.cpu()


def _exit_code(results: Sequence[RunResult], single: bool) -> int:
    if single:
        r = results[0]
        if r.not_run is not None:
            return EXIT_ENVIRONMENT
        if r.cancelled:
            return EXIT_CANCELLED
        code = r.exit_code if r.exit_code is not None else 1
        return 128 - code if code < 0 else code
    if any(r.cancelled for r in results):
        return EXIT_CANCELLED
    if any(r.not_run is None and not r.ok for r in results):
        return 1
    if any(r.not_run is not None for r in results):
        return EXIT_ENVIRONMENT
    return 0


class _Stopped(KeyboardInterrupt):
    """SIGTERM/SIGHUP (or SIGINT) arrived: cancel like Ctrl-C, exit with 128+N."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


@contextmanager
def _cancel_on_signals() -> Iterator[None]:
    """While the program runs, SIGINT, SIGTERM and SIGHUP cancel it (its whole tree).

    A signal this process inherited as ignored stays ignored (``nohup`` ignores SIGHUP; a
    script's background job has SIGINT ignored), as Unix tools do."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    sigs = [s for s in (getattr(signal, n, None) for n in ("SIGINT", "SIGTERM", "SIGHUP"))
            if s is not None and signal.getsignal(s) is not signal.SIG_IGN]

    def stop(signum, _frame):
        for sig in sigs:  # the first one wins: a second must not cut the clean-up short
            signal.signal(sig, signal.SIG_IGN)
        raise _Stopped(signum)

    old = {sig: signal.signal(sig, stop) for sig in sigs}
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


def _cancel_code(exc: KeyboardInterrupt) -> int:
    return 128 + exc.signum if isinstance(exc, _Stopped) else EXIT_CANCELLED


def main(args: argparse.Namespace) -> int:
    """Run ``keras-migrate run`` with parsed ``args``; returns the exit status."""
    with _cancel_on_signals():
        return _main(args)


def _main(args: argparse.Namespace) -> int:
    keras2 = bool(getattr(args, "keras2", False))
    smoke = bool(getattr(args, "smoke", False))
    if not getattr(args, "backend", None) and not keras2:
        _say("choose a backend: --backend jax|torch|tensorflow|all (or --keras2)")
        return EXIT_ENVIRONMENT
    if getattr(args, "gpu", None) is not None and getattr(args, "cpu", False):
        _say("--gpu and --cpu exclude each other")
        return EXIT_ENVIRONMENT
    file = os.path.abspath(args.file)
    if not os.path.isfile(file):
        _say(f"no such file: {args.file}")
        return EXIT_ENVIRONMENT
    device = _choose_device(args)
    if device is None:
        return EXIT_ENVIRONMENT
    if is_notebook(file):
        try:
            with notebook_script(file) as (script_path, script):
                _say(f"{os.path.basename(file)}: {script.summary()}")
                code = _run(args, script_path, device, display_file=file, script=script)
        except NotebookError as exc:
            _say(f"{args.file}: {exc}")
            return EXIT_ENVIRONMENT
        return code
    return _run(args, file, device)


def _run(args: argparse.Namespace, file: str, device: Device, display_file: str | None = None,
         script=None) -> int:
    keras2 = bool(getattr(args, "keras2", False))
    smoke = bool(getattr(args, "smoke", False))

    def on_output(backend: str, stream: str, line: str) -> None:
        target = sys.stdout if stream == "stdout" else sys.stderr
        target.write(line)
        target.flush()

    def on_event(event: str, backend: str, payload: object) -> None:
        if event == "start":
            what = " (Keras 2, tf-keras)" if backend == KERAS2 else ""
            print(f"==> {backend} on {device.label()}{what}{' (smoke run)' if smoke else ''}",
                  flush=True)
        elif event == "end" and isinstance(payload, RunResult):
            r = payload
            if r.not_run is not None:
                return
            used = r.device_used()
            print(f"<== {backend}: {r.status}, {r.wall_time:.1f} s, Keras {r.keras_version or '?'} "
                  f"on {r.keras_backend or '?'}, device {used}", flush=True)
            expected = "tensorflow" if backend == KERAS2 else backend
            if r.keras_backend and r.keras_backend != expected:
                _say(f"asked for {backend} but Keras ran on {r.keras_backend}")
            if smoke and r.exit_code is not None and not r.smoke_summary:
                _say(f"{backend}: the smoke run's summary is missing (did the program end with "
                     "os._exit?); its training calls may not have been capped")
            if r.device.kind == "gpu" and r.devices and not r.gpu_used:
                _say(f"{backend} saw no GPU although GPU {r.device.index} was chosen, so it ran on "
                     f"the CPU: is {backend} installed with GPU support for this interpreter?")
            if r.error_location is not None:
                loc = r.error_location
                first = loc.message.splitlines()[0]
                cell = script.cell_of(loc.line) if script is not None else None
                where = f"{loc.path}: cell {cell[0] + 1}, line {cell[1]}" if cell else f"{loc.path}:{loc.line}"
                print(f"{where}: {first}", file=sys.stderr, flush=True)

    session = RunSession(
        file=file,
        backend=args.backend,
        device=device,
        python=getattr(args, "python", None),
        args=list(getattr(args, "program_args", None) or []),
        roots=[os.getcwd()],
        display_file=display_file,
        terminal=wants_terminal() and not getattr(args, "capture", False),
        on_output=on_output,
        on_event=on_event,
        smoke=smoke,
        keras2=keras2,
    )
    try:
        report = session.check()
    except KeyboardInterrupt as exc:
        _say("cancelled")
        return _cancel_code(exc)
    single = len(session.backends) == 1
    shared = [p for p in report.problems if p.backend is None]
    if shared or (single and report.problems):
        for p in report.problems:
            _say(p.text())
        if not getattr(args, "python", None) and report.interpreter_ok:
            _say("(this is keras-migrate's own interpreter; to run in another one, pass --python PATH)")
        if getattr(args, "json_path", None):
            # Nothing can run: every row is "not run" with its reason; no process starts.
            _write_json(args.json_path, session, session.run(), EXIT_ENVIRONMENT, script)
        return EXIT_ENVIRONMENT
    for p in report.problems:  # "all": say which backends cannot run, run the others
        _say(f"{p.text()} (skipping {p.backend})")
    try:
        results = session.run()
    except KeyboardInterrupt as exc:
        session.cancel()
        _say("cancelled: the program and everything it started were ended")
        if session.results:
            print()
            print(format_text(session.results))
        return _cancel_code(exc)
    if script is not None:
        annotate(results, script)
    print()
    print(format_markdown(results) if getattr(args, "markdown", False) else format_text(results))
    sys.stdout.flush()
    code = _exit_code(results, single=single)
    if getattr(args, "json_path", None):
        _write_json(args.json_path, session, results, code, script)
    return code


def _write_json(path: str, session: RunSession, results: Sequence[RunResult], code: int,
                script=None) -> None:
    report = session.environment
    data = {
        "file": session.display_file or session.file,
        "python": report.python if report else session.python,
        "exitCode": code,
        "results": [r.to_json() for r in results],
        "matrixMarkdown": format_markdown(results),
        "problems": [p.text() for p in report.problems] if report else [],
    }
    if script is not None:
        data["notebook"] = {
            "codeCells": script.code_cells,
            "summary": script.summary(),
            "skipped": [{"cell": k.cell, "line": k.line, "text": k.text} for k in script.skipped],
        }
    try:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2)
            f.write("\n")
    except OSError as exc:
        _say(f"could not write {path}: {exc}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="keras-migrate run",
        description="Run a file on a Keras 3 backend (or all of them) and show the result matrix.",
    )
    add_arguments(parser)
    return parser


if __name__ == "__main__":
    sys.exit(main(build_parser().parse_args()))
