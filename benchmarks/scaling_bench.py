"""Scaling benchmark (not a test): the engine in-process on the dense Keras 2 file
(benchmarks/dense.py) at 1x, 2x, 4x, 8x (and 16x, 32x: ~18,000 lines), time per line, and the
ratio of each size's time to 1x's against the ratio of lines (linear: equal).  Goal (issue 14):
8x costs <= 9x of 1x.  Also tf_keras' training.py (sparse) for reference, and ruff on the same
files in the same run.

    .venv/bin/python benchmarks/scaling_bench.py [--repeat 5] [--max-scale 32] [--profile N]
"""
from __future__ import annotations

import argparse
import ast
import gc
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dense import dense_text  # noqa: E402
from engine_bench import BENCH_BIN, compile_package  # noqa: E402
from keras_migrate.engine.incremental import IncrementalAnalyzer  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TRAINING = next((ROOT / ".venv-keras" / "lib").glob("python3*/site-packages/tf_keras/src/engine/training.py"), None)


def engine_time(linter, text: str, path: Path, repeat: int) -> tuple[float, int]:
    linter.check_source(text, path)  # warm: rule tables, API data
    times = []
    n = 0
    for _ in range(repeat):
        # the previous run's garbage (its findings' lazy fixes refer back to the context: a
        # cycle) is collected outside the timing, as the language server's debounce does
        gc.collect()
        t0 = time.process_time()
        n = len(linter.check_source(text, path).findings)
        times.append(time.process_time() - t0)
    return statistics.median(times), n


def keystroke_time(linter, text: str, path: Path, repeat: int) -> float:
    """CPU of one keystroke in the editor's incremental analysis (engine/incremental.py): a
    character typed, then deleted, in a comment line in the middle of the file."""
    lines = text.splitlines(keepends=True)
    mid = len(lines) // 2
    while mid < len(lines) and not lines[mid].startswith(("def ", "class ")):
        mid += 1
    lines.insert(mid, "# typing here\n")
    inc = IncrementalAnalyzer(linter.engine(path))
    inc.analyze("".join(lines), str(path))
    times = []
    for k in range(max(repeat, 4) * 2):
        lines[mid] = "# typing herex\n" if k % 2 == 0 else "# typing here\n"
        doc = "".join(lines)
        gc.collect()
        t0 = time.process_time()
        inc.analyze(doc, str(path))
        times.append(time.process_time() - t0)
    return statistics.median(times)


def ast_floor(text: str, repeat: int) -> float:
    """CPU of ``ast.parse`` + one ``ast.walk`` alone: the floor any analysis pays, and how far
    from linear the machine itself is (caches: a bigger tree does not fit in them)."""
    times = []
    for _ in range(repeat):
        gc.collect()
        gc.disable()
        t0 = time.process_time()
        for _node in ast.walk(ast.parse(text)):
            pass
        times.append(time.process_time() - t0)
        gc.enable()
    return statistics.median(times)


def ruff_time(path: Path, repeat: int) -> float | None:
    ruff = BENCH_BIN / "ruff"
    if not ruff.exists():
        return None
    times = []
    for _ in range(repeat):
        t0 = _children_cpu()
        subprocess.run([str(ruff), "check", "--select", "ALL", "--no-cache", "--quiet", "--exit-zero",
                        "--isolated", str(path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(_children_cpu() - t0)
    return statistics.median(times)


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--max-scale", type=int, default=32)
    ap.add_argument("--profile", type=int, default=0, help="cProfile the engine at this scale and print the top")
    args = ap.parse_args()
    compile_package()
    from keras_migrate.config import Config
    from keras_migrate.service import Linter
    linter = Linter(Config(target_backends=("tensorflow", "jax", "torch")))
    work = Path(tempfile.mkdtemp(prefix="km-scaling-"))
    if args.profile:
        import cProfile
        import pstats
        text = dense_text(args.profile)
        p = work / "dense.py"
        linter.check_source(text, p)
        prof = cProfile.Profile()
        prof.enable()
        linter.check_source(text, p)
        prof.disable()
        pstats.Stats(prof).sort_stats(os.environ.get("SORT", "cumulative")).print_stats(40)
        return
    print(f"load average: {os.getloadavg()[0]:.2f} (2-core machine shared with other work)")
    print(f"{'input':<14}{'lines':>8}{'findings':>10}{'engine ms':>11}{'µs/line':>9}"
          f"{'x 1x time':>11}{'x 1x lines':>12}{'x 1x ast':>10}{'ruff ms':>9}{'x ruff':>8}{'keystroke ms':>14}")
    base = None
    scale = 1
    while scale <= args.max_scale:
        text = dense_text(scale)
        path = work / f"dense_{scale}x.py"
        path.write_text(text, encoding="utf-8")
        lines = text.count("\n")
        rep = args.repeat if scale <= 8 else max(1, args.repeat // 2)
        t, n = engine_time(linter, text, path, rep)
        tr = ruff_time(path, 3)
        ta = ast_floor(text, rep)
        tk = keystroke_time(linter, text, path, rep)
        if base is None:
            base = (t, lines, ta)
        print(f"{'dense ' + str(scale) + 'x':<14}{lines:>8}{n:>10}{t * 1000:>11.1f}{t * 1e6 / lines:>9.1f}"
              f"{t / base[0]:>11.2f}{lines / base[1]:>12.2f}{ta / base[2]:>10.2f}"
              + (f"{tr * 1000:>9.1f}{t / tr:>8.2f}" if tr else f"{'n/a':>9}{'':>8}") + f"{tk * 1000:>14.1f}")
        scale *= 2
    if TRAINING is not None:
        text = TRAINING.read_text(encoding="utf-8")
        lines = text.count("\n")
        t, n = engine_time(linter, text, TRAINING, args.repeat)
        tr = ruff_time(TRAINING, 3)
        print(f"{'training.py':<14}{lines:>8}{n:>10}{t * 1000:>11.1f}{t * 1e6 / lines:>9.1f}{'':>11}{'':>12}{'':>10}"
              + (f"{tr * 1000:>9.1f}{t / tr:>8.2f}" if tr else f"{'n/a':>9}{'':>8}"))
    print("\n(keystroke: CPU of one edit in the editor's incremental analysis, a character typed or deleted\n"
          " in a comment line in the middle of the file, median)")
    print("(x 1x ast: the same ratio for Python's own ast.parse + ast.walk of the file, the floor)")
    print("(CPU time, median: the machine is shared, so CPU rather than wall time; engine: in-process,\n"
          " warm, the previous run's garbage collected untimed; ruff: whole process, one file,\n"
          " `ruff check --select ALL --no-cache --isolated`)")


if __name__ == "__main__":
    main()
