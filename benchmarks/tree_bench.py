"""Whole-tree benchmark (not a test): ``keras-migrate check`` on a tree cold (no cache, every
core), serial (``--jobs 1``), filling the cache, warm (nothing changed), after a one-file
change, the time to the first line of output, and ``keras-migrate report``; beside ``ruff check
--select ALL`` (cold and with its cache) and optionally ``fixit lint``, measured in the same
run, with ratios.  Goals (issue 14): cold <= 2x ruff cold; warm <= 0.5 s for 3,000 files;
report <= 2x the CLI's cold time.

    nice -n 10 .venv/bin/python benchmarks/tree_bench.py [--tree NAME=DIR ...] [--runs 1]
        [--serial] [--fixit]

Default trees (when present): tf_keras' sources from .venv-keras, and /work/corpus/perf-tree3k
(tf_keras 2.21.0 + keras 3.15.1 + tf-models-official 2.20.0 + keras-cv 0.9.0 wheels, unpacked:
``pip download --no-deps tf-keras==2.21.0 keras==3.15.1 tf-models-official==2.20.0
keras-cv==0.9.0`` and unzip each into one folder; 3,081 .py files).  Every run starts in an
empty temporary working directory with its own cache folder; wall times, so on a loaded
machine they are noisy (the table prints the load average).
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH_BIN = ROOT / ".venv-bench" / "bin"
KM = [sys.executable, "-m", "keras_migrate"]


def default_trees() -> dict[str, Path]:
    out = {}
    tfk = next((ROOT / ".venv-keras" / "lib").glob("python3*/site-packages/tf_keras"), None)
    if tfk is not None:
        out["tf_keras"] = tfk
    for big in (Path(os.environ.get("KM_TREE3K", "/work/trees/perf-tree3k")), Path("/work/corpus/perf-tree3k")):
        if big.is_dir():
            out["3k-tree"] = big
            break
    return out


def tool(name: str) -> str | None:
    for d in (BENCH_BIN, Path(sys.executable).parent):
        p = d / name
        if p.exists():
            return str(p)
    return shutil.which(name)


CPU: dict[int, float] = {}


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(cmd: list[str], cwd: Path, runs: int = 1, env=None) -> tuple[float, subprocess.CompletedProcess]:
    """Median wall seconds; the median CPU (user+system of the process and the children it
    waited for: not the pool's workers, which the forkserver reaps) goes to CPU[id(result)]."""
    times, cpus, res = [], [], None
    for _ in range(runs):
        c0 = _children_cpu()
        t0 = time.perf_counter()
        res = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env, timeout=1800)
        times.append(time.perf_counter() - t0)
        cpus.append(_children_cpu() - c0)
    CPU[id(res)] = statistics.median(cpus)
    return statistics.median(times), res


def first_line(cmd: list[str], cwd: Path, env=None) -> tuple[float, float]:
    """(seconds to the first line on stdout, seconds to the end)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    assert p.stdout is not None
    p.stdout.readline()
    t1 = time.perf_counter()
    for _ in p.stdout:
        pass
    p.wait()
    return t1 - t0, time.perf_counter() - t0


def count(tree: Path) -> tuple[int, int]:
    files = lines = 0
    for p in tree.rglob("*.py"):
        files += 1
        try:
            lines += p.read_bytes().count(b"\n")
        except OSError:
            pass
    return files, lines


def bench_tree(name: str, tree: Path, args) -> list[tuple[str, float, str, str]]:
    rows: list[tuple] = []
    ruff, fixit = tool("ruff"), tool("fixit")
    with tempfile.TemporaryDirectory(prefix="km-tree-") as tmp:
        work = Path(tmp)
        # a private copy: the one-file change must not touch the shared tree
        copy = work / "tree"
        shutil.copytree(tree, copy, symlinks=True)
        cache = work / "cache"
        env = dict(os.environ)
        env.pop("KERAS_MIGRATE_CACHE_DIR", None)
        env.pop("PYTHONDONTWRITEBYTECODE", None)   # bytecode as an installed package has it
        subprocess.run(KM + ["rules"], capture_output=True, env=env)  # compile it once, untimed
        base = KM + ["check", str(copy), "--exit-zero", "--output-format", "concise"]
        t_ruff = None
        if ruff:
            t_ruff, r = timed([ruff, "check", "--select", "ALL", "--no-cache", "--isolated", "--exit-zero",
                               "--quiet", str(copy)], work, args.runs)
            rows.append(("ruff check --select ALL (cold)", t_ruff, "", CPU[id(r)]))
            rcache = work / "ruff-cache"
            rcmd = [ruff, "check", "--select", "ALL", "--isolated", "--exit-zero", "--quiet",
                    "--cache-dir", str(rcache), str(copy)]
            timed(rcmd, work)
            t, r = timed(rcmd, work, max(args.runs, 2))
            rows.append(("ruff check --select ALL (its cache)", t, "", CPU[id(r)]))
        t_cold, res = timed(base + ["--no-cache"], work, args.runs, env)
        summary = res.stdout.strip().splitlines()[-3:] if res.stdout else []
        rows.append(("keras-migrate check, cold (no cache, all cores)", t_cold,
                     f"{os.cpu_count()} workers; {next((s for s in summary if s.startswith('Found')), '')}", None))
        t_first, t_end = first_line(base + ["--no-cache"], work, env)
        rows.append(("  first line of output", t_first, f"(that run ended at {t_end:.1f} s)", None))
        if args.serial:
            t, r = timed(base + ["--no-cache", "--jobs", "1"], work, 1, env)
            rows.append(("keras-migrate check --jobs 1 (serial, no cache)", t, "", CPU[id(r)]))
        t_fill, _ = timed(base + ["--cache-dir", str(cache)], work, 1, env)
        rows.append(("keras-migrate check, filling the cache", t_fill, "", None))
        t_warm, r = timed(base + ["--cache-dir", str(cache)], work, max(args.runs, 3), env)
        rows.append(("keras-migrate check, warm (nothing changed)", t_warm, "", CPU[id(r)]))
        victim = max(copy.rglob("*.py"), key=lambda p: p.stat().st_size)
        victim.write_text(victim.read_text(encoding="utf-8") + "\n# touched\n", encoding="utf-8")
        t_one, r = timed(base + ["--cache-dir", str(cache)], work, 1, env)
        rows.append(("keras-migrate check, warm, one file changed", t_one, f"({victim.name})", CPU[id(r)]))
        t_rep, _ = timed(KM + ["report", str(copy), "--format", "json", "-o", str(work / "r.json")], work,
                         args.runs, env)
        rows.append(("keras-migrate report (all backends)", t_rep, f"{t_rep / t_cold:.2f}x check cold", None))
        if args.serial:
            t, r = timed(KM + ["report", str(copy), "--format", "json", "-o", str(work / "r1.json"), "--jobs", "1"],
                         work, 1, env)
            rows.append(("keras-migrate report --jobs 1", t, "", CPU[id(r)]))
        if args.fixit and fixit:
            t, r = timed([fixit, "lint", str(copy)], work, 1)
            rows.append(("fixit lint", t, "", CPU[id(r)]))
        out = []
        for label, t, note, cpu in rows:
            ratio = f"{t / t_ruff:6.2f}x" if t_ruff else "     -"
            out.append((label, t, ratio, "-" if cpu is None else f"{cpu:.2f}", note))
        return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", action="append", default=[], metavar="NAME=DIR")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--serial", action="store_true", help="also time --jobs 1")
    parser.add_argument("--fixit", action="store_true", help="also time fixit lint (slow)")
    args = parser.parse_args()
    trees = dict(t.split("=", 1) for t in args.tree) if args.tree else default_trees()
    print(f"keras-migrate tree benchmark; python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
          f"load {os.getloadavg()[0]:.1f}")
    for name, d in trees.items():
        tree = Path(d)
        files, lines = count(tree)
        print(f"\n## {name}: {files:,} .py files, {lines:,} lines ({tree})")
        print(f"{'':52} {'wall s':>8} {'x ruff':>8} {'CPU s':>7}")
        for label, t, ratio, cpu, note in bench_tree(name, tree, args):
            print(f"{label:52} {t:8.2f} {ratio:>8} {cpu:>7}  {note}")
        print("(CPU: user+system of the command; '-' where the work is in pool workers it does not wait for)")
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")
    print("goals: cold <= 2x ruff cold; warm <= 0.5 s (3,000 files); report <= 2x check cold")
    return 0


if __name__ == "__main__":
    sys.exit(main())
