"""Engine speed: `keras-migrate check` next to `ruff check --select ALL` and `fixit lint`.

    python benchmarks/engine_bench.py [--only 'small script' ...]   # (run by scripts/bench.sh, which installs ruff/fixit)

Inputs: a small script (the bundled sample), tf_keras' src/engine/training.py (4,476 lines)
and the whole tf_keras source tree from the installed tf-keras wheel (.venv-keras).
For each input it prints wall milliseconds per file and lines per second for:
  - keras-migrate in-process (the engine alone, warm: what the language server pays),
  - keras-migrate as a whole process (CLI start-up included),
  - ruff and fixit as whole processes (their only interface),
and the ratios against ruff measured in the same run.  Not a test: numbers, not verdicts.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TF_KERAS = next((ROOT / ".venv-keras" / "lib").glob("python3*/site-packages/tf_keras"), None)
BENCH_BIN = ROOT / ".venv-bench" / "bin"


def lines_in(paths):
    return sum(p.read_text(encoding="utf-8", errors="replace").count("\n") for p in paths)


def timed(cmd, repeat=3, cwd=None):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=cwd)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def engine_in_process(files, repeat=3):
    from keras_migrate.config import Config
    from keras_migrate.service import Linter
    linter = Linter(Config(target_backends=("tensorflow", "jax", "torch")))
    texts = [(p, p.read_text(encoding="utf-8", errors="replace")) for p in files]
    for p, t in texts[:5]:
        linter.check_source(t, p)  # warm caches (rule tables, API data)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for p, t in texts:
            linter.check_source(t, p)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)



def compile_package() -> None:
    """Byte-compile keras-migrate first, as ``pip install`` does: a checkout run with
    PYTHONDONTWRITEBYTECODE=1 would otherwise recompile every module at each process start
    (~0.15 s of the CLI's and the server's start-up that no installed user pays)."""
    import compileall
    for d in ("server", "rules"):
        compileall.compile_dir(str(ROOT / d), quiet=1)


LABELS = ("small script", "training.py", "tf_keras tree")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", choices=LABELS,
                        help="measure only this input (repeatable; default: all three)")
    only = parser.parse_args().only or list(LABELS)
    compile_package()
    global TF_KERAS
    if TF_KERAS is None:
        sys.exit("tf_keras not found: run scripts/setup-keras-env.sh first")
    # Copy the inputs out of the (git-ignored) virtualenv: fixit and ruff skip ignored files.
    work = Path(os.environ.get("TMPDIR", "/tmp")) / "keras-migrate-bench"
    if not (work / "tf_keras").exists():
        shutil.copytree(TF_KERAS, work / "tf_keras", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "examples" / "keras2_project" / "train.py", work / "train.py")
    TF_KERAS = work / "tf_keras"
    tree_files = sorted(p for p in TF_KERAS.rglob("*.py") if "__pycache__" not in p.parts)
    inputs = [(label, files) for label, files in [
        ("small script", [work / "train.py"]),
        ("training.py", [TF_KERAS / "src" / "engine" / "training.py"]),
        ("tf_keras tree", tree_files),
    ] if label in only]
    km = [sys.executable, "-m", "keras_migrate", "check", "--target-backends", "tensorflow,jax,torch"]
    ruff = [str(BENCH_BIN / "ruff"), "check", "--select", "ALL", "--no-cache", "--quiet", "--exit-zero"]
    fixit = [str(BENCH_BIN / "fixit"), "lint"]
    have_ruff = (BENCH_BIN / "ruff").exists()
    have_fixit = (BENCH_BIN / "fixit").exists()
    print(f"{'input':<16}{'files':>6}{'lines':>8}  {'tool':<28}{'ms/file':>10}{'lines/s':>12}{'x ruff':>9}")
    for label, files in inputs:
        n, lines = len(files), lines_in(files)
        args = [str(f) for f in files] if n < 50 else [str(TF_KERAS)]
        rows = []
        t_eng = engine_in_process(files, repeat=3 if n < 50 else 1)
        rows.append(("keras-migrate (engine)", t_eng))
        rows.append(("keras-migrate check (proc)", timed(km + args, repeat=3 if n < 50 else 1)))
        t_ruff = timed(ruff + args, repeat=3 if n < 50 else 1) if have_ruff else None
        if t_ruff:
            rows.append(("ruff check --select ALL", t_ruff))
        if have_fixit:
            rows.append(("fixit lint", timed(fixit + args, repeat=1)))
        for tool, t in rows:
            ratio = f"{t / t_ruff:8.2f}x" if t_ruff else "      n/a"
            print(f"{label:<16}{n:>6}{lines:>8}  {tool:<28}{t * 1000 / n:>10.1f}{lines / t:>12,.0f}{ratio:>9}")
    print("\n(ms/file = wall time / files; x ruff = time relative to ruff on the same input, same run)")


if __name__ == "__main__":
    main()
