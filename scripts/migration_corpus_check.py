#!/usr/bin/env python
"""Does fixed Keras 2 code run on Keras 3? Measured on a corpus of public programs.

    .venv/bin/python scripts/migration_corpus_check.py FOLDER... [--jobs 2] [--timeout 300]
        [--python .venv-keras/bin/python] [--cache DIR] [--json OUT] [--markdown OUT]

For each program (``*.py``, or ``*.ipynb`` turned into a script: code cells joined, IPython
magics and shell lines dropped) in a temporary folder of its own:

1. smoke-runs the original on Keras 2 (``keras-migrate run --smoke --keras2``: tf-keras),
2. applies ``keras-migrate fix --unsafe-fixes`` to a copy,
3. smoke-runs the copy on Keras 3 with TensorFlow, JAX and torch (``run --smoke``),
4. for a failure, takes the failing line (the deepest frame in the program, as the runner
   reports it) and looks it up in ``check --format json`` of the fixed copy: is there a
   finding without a fix (needing manual work) on that line?

and prints a table per program and backend, plus the totals the issue sets targets for:
of the programs that smoke-run on Keras 2 and whose findings are all auto-fixable (no
error finding without a fix on the original), the share that run on Keras 3 with
TensorFlow after the fix, and, for the portable ones (no TensorFlow import left after the
fix), on JAX and torch; and whether every remaining failure is at a flagged line.

Modules that only draw or save pictures (matplotlib, pylab, PIL; pydot / graphviz, which
``plot_model`` needs) are replaced by do-nothing
stand-ins when the Keras interpreter lacks them, the same for every run (Keras 2 and 3), so
a missing plotting library does not hide what the code does with Keras. Runs are
subprocesses through the real CLI (never a shell), at most ``--jobs`` at a time, each with
a timeout (SIGTERM to the CLI, which ends the program's tree). ``--cache DIR`` reuses the
result of a run whose program text, mode and runner are byte-identical to an earlier one.
Nothing in the corpus folders is changed.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "keras_migrate"]
BACKENDS = ("tensorflow", "jax", "torch")
STUB_MODULES = ("matplotlib", "pylab", "PIL", "pydot", "pydotplus", "graphviz")
_RUNNER_FILES = ("bootstrap.py", "smoke.py", "process.py")

STUB_SOURCE = '''"""Stand-in for a drawing library the Keras interpreter lacks (migration corpus check)."""
import sys, types


class _Anything:
    def __init__(self, *a, **k):
        pass

    def __call__(self, *a, **k):
        return _Anything()

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return _Anything()

    def __getitem__(self, key):
        return _Anything()

    def __setitem__(self, key, value):
        pass

    def __iter__(self):
        return iter((_Anything(), _Anything()))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def __bool__(self):
        return True

    def __len__(self):
        return 2


def __getattr__(name):
    if name.startswith("__") and name.endswith("__"):
        raise AttributeError(name)
    return _Anything()


class _Finder:
    """Submodules (matplotlib.pyplot, PIL.Image, ...) are stand-ins too."""

    def find_spec(self, fullname, path=None, target=None):
        root = fullname.split(".")[0]
        if root == __name__.split(".")[0] and fullname != __name__:
            import importlib.util
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        module = types.ModuleType(spec.name)
        module.__getattr__ = __getattr__
        module.__path__ = []
        return module

    def exec_module(self, module):
        pass


__path__ = []
sys.meta_path.append(_Finder())
'''


# -- preparing a program ----------------------------------------------------------------

def notebook_to_script(text: str) -> str:
    """Code cells joined; magics (``%...``, ``%%...`` cells), shell lines (``!...``) and
    help lines (``x?``) dropped."""
    nb = json.loads(text)
    cells = nb.get("cells")
    if cells is None:  # nbformat 3
        cells = [c for ws in nb.get("worksheets", []) for c in ws.get("cells", [])]
    out = []
    for cell in cells:
        if cell.get("cell_type") != "code":
            continue
        src = cell.get("source", cell.get("input", ""))
        src = "".join(src) if isinstance(src, list) else str(src)
        if src.lstrip().startswith("%%"):
            continue
        lines = []
        for line in src.splitlines():
            stripped = line.strip()
            if stripped.startswith(("%", "!")) or (stripped.endswith("?") and not stripped.startswith("#")):
                indent = line[: len(line) - len(line.lstrip())]
                lines.append(f"{indent}pass  # dropped: {stripped[:60]}")
            else:
                lines.append(line)
        out.append("\n".join(lines))
    return "\n\n".join(out) + "\n"


def discover(folders: list[Path]) -> list[Path]:
    files: list[Path] = []
    for folder in folders:
        if folder.is_file():
            files.append(folder)
            continue
        files += sorted(p for p in folder.rglob("*") if p.suffix in (".py", ".ipynb")
                        and ".ipynb_checkpoints" not in p.parts)
    return files


def program_name(path: Path, folders: list[Path]) -> str:
    for folder in folders:
        try:
            return str(path.relative_to(folder.parent if folder.is_dir() else folder.parent))
        except ValueError:
            continue
    return path.name


def uses_tensorflow(text: str) -> bool:
    return bool(re.search(r"^\s*(import tensorflow|from tensorflow\b)", text, re.M))


# -- running ------------------------------------------------------------------------------

def run_cli(args: list[str], cwd: Path, env: dict, timeout: float) -> tuple[int, str, str, bool]:
    """The CLI in its own process group; on timeout SIGTERM (the run command ends the
    program's tree), then SIGKILL."""
    proc = subprocess.Popen([*CLI, *args], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            errors="replace", start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
        return proc.returncode, out, err, False
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            out, err = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            out, err = proc.communicate()
        return proc.returncode, out, err, True


@dataclass
class RunOutcome:
    status: str  # "ran", "failed", "timeout", "not run"
    error: str | None = None
    line: int | None = None
    wall: float = 0.0
    smoke: list[str] = field(default_factory=list)
    flagged: bool | None = None
    """For a failure at a program line: does that line carry a finding without a fix?"""
    finding: str | None = None


class Checker:
    def __init__(self, args):
        self.python = os.path.abspath(args.python)
        self.timeout = args.timeout
        self.cache = Path(args.cache) if args.cache else None
        if self.cache:
            self.cache.mkdir(parents=True, exist_ok=True)
        self.work = Path(tempfile.mkdtemp(prefix="km-migration-corpus-"))
        self.keep = args.keep
        self.all_runs = args.all_runs
        self.stubs = self.work / "stubs"
        self.stubs.mkdir()
        self.stubbed = self._make_stubs()
        runner = ROOT / "server" / "keras_migrate" / "runner"
        h = hashlib.sha256()
        for name in _RUNNER_FILES:
            h.update((runner / name).read_bytes())
        self.runner_hash = h.hexdigest()[:16]

    def _make_stubs(self) -> list[str]:
        probe = subprocess.run(
            [self.python, "-c", "import importlib.util, sys; print(' '.join(m for m in sys.argv[1:] "
             "if importlib.util.find_spec(m) is None))", *STUB_MODULES],
            capture_output=True, text=True, timeout=60)
        missing = probe.stdout.split()
        for name in missing:
            (self.stubs / name).mkdir()
            (self.stubs / name / "__init__.py").write_text(STUB_SOURCE)
        return missing

    def env(self, home: Path) -> dict:
        env = {k: v for k, v in os.environ.items()
               if k not in ("KERAS_BACKEND", "PYTHONPATH", "PYTHONHOME", "TF_USE_LEGACY_KERAS")}
        env.update(TF_CPP_MIN_LOG_LEVEL="3", KERAS_HOME=str(home / "keras-home"),
                   PYTHONPATH=str(self.stubs), MPLBACKEND="Agg", PYTHONHASHSEED="0")
        return env

    def smoke_run(self, file: Path, mode: str) -> RunOutcome:
        text = file.read_bytes()
        key = hashlib.sha256(text + mode.encode() + self.runner_hash.encode()
                             + " ".join(self.stubbed).encode()).hexdigest()
        cached = self.cache / f"{key}.json" if self.cache else None
        if cached and cached.exists():
            return RunOutcome(**json.loads(cached.read_text()))
        extra = ["--keras2"] if mode == "keras2" else ["--backend", mode]
        out_json = file.parent / f".result-{mode}.json"
        started = time.monotonic()
        code, out, err, timed_out = run_cli(
            ["run", str(file), "--smoke", "--cpu", "--python", self.python, "--json", str(out_json),
             *extra], file.parent, self.env(file.parent), self.timeout)
        wall = time.monotonic() - started
        (file.parent / f".log-{mode}.txt").write_text(out + "\n--- stderr ---\n" + err)
        if timed_out:
            outcome = RunOutcome("timeout", error=f"no result within {self.timeout:.0f} s", wall=wall)
        else:
            try:
                data = json.loads(out_json.read_text())
                (result,) = data["results"]
            except (OSError, ValueError, KeyError):
                return RunOutcome("not run", error=(err.strip().splitlines() or ["?"])[-1], wall=wall)
            loc = result.get("errorLocation")
            line = loc["line"] if loc and os.path.realpath(loc["path"]) == os.path.realpath(file) else None
            if result["status"] == "ok":
                outcome = RunOutcome("ran", wall=wall, smoke=result.get("smokeSummary") or [])
            elif result.get("notRun"):
                outcome = RunOutcome("not run", error=result["notRun"], wall=wall)
            else:
                outcome = RunOutcome("failed", error=result.get("firstErrorLine"), line=line,
                                     wall=wall, smoke=result.get("smokeSummary") or [])
        if cached and outcome.status != "not run":
            cached.write_text(json.dumps(outcome.__dict__))
        return outcome

    def findings(self, file: Path) -> list[dict]:
        code, out, err, _ = run_cli(["check", "--format", "json", str(file)],
                                    file.parent, self.env(file.parent), 300)
        try:
            return json.loads(out)["findings"]
        except (ValueError, KeyError):
            raise RuntimeError(f"check failed on {file}: {err.strip()[-500:]}")

    def check_program(self, path: Path, name: str) -> dict:
        slug = re.sub(r"[^\w.-]+", "_", name)
        folder = self.work / slug
        orig_dir, fixed_dir = folder / "orig", folder / "fixed"
        orig_dir.mkdir(parents=True)
        fixed_dir.mkdir()
        raw = path.read_text(encoding="utf-8", errors="replace")
        text = notebook_to_script(raw) if path.suffix == ".ipynb" else raw
        script = path.stem.replace(".", "_").replace("-", "_") + ".py"
        orig, fixed = orig_dir / script, fixed_dir / script
        orig.write_text(text, encoding="utf-8")
        fixed.write_text(text, encoding="utf-8")
        before = self.findings(orig)
        run_cli(["fix", "--unsafe-fixes", str(fixed)], fixed_dir, self.env(fixed_dir), 300)
        fixed_text = fixed.read_text(encoding="utf-8")
        after = self.findings(fixed)
        manual_before = [f for f in before if not f["fix"]["available"] and f["severity"] == "error"]
        row = {
            "program": name,
            "source": str(path),
            "findings": len(before),
            "manual": len(manual_before),
            "manual_codes": sorted({f["code"] for f in manual_before}),
            "changed": fixed_text != text,
            "portable": not uses_tensorflow(fixed_text),
            "runs": {},
        }
        row["runs"]["keras2"] = self.smoke_run(orig, "keras2").__dict__
        for backend in BACKENDS:
            if row["runs"]["keras2"]["status"] != "ran" and not self.all_runs:
                # Not counted in any total: the Keras 3 runs would only cost time.
                row["runs"][backend] = RunOutcome("skipped", error="the original did not run on Keras 2").__dict__
                continue
            outcome = self.smoke_run(fixed, backend)
            if outcome.status == "failed" and outcome.line is not None:
                at = [f for f in after if f["range"]["start"]["line"] <= outcome.line
                      <= f["range"]["end"]["line"] and not f["fix"]["available"]]
                outcome.flagged = bool(at)
                outcome.finding = ", ".join(sorted({f["code"] for f in at})) or None
                outcome.__dict__["source_line"] = _line(fixed_text, outcome.line)
            elif outcome.status == "failed":
                outcome.flagged = False
            row["runs"][backend] = outcome.__dict__
        if not self.keep:
            shutil.rmtree(folder, ignore_errors=True)
        return row


def _line(text: str, n: int) -> str:
    lines = text.splitlines()
    return lines[n - 1].strip()[:120] if 0 < n <= len(lines) else ""


# -- the report -----------------------------------------------------------------------------

def _cell(run: dict) -> str:
    s = run["status"]
    if s == "ran":
        return "ran"
    if s == "failed":
        where = f" L{run['line']}" if run.get("line") else ""
        flag = " (flagged " + run["finding"] + ")" if run.get("flagged") else (" (not flagged)" if run.get("line") else "")
        return f"failed{where}{flag}"
    return s


def totals(rows: list[dict]) -> dict:
    k2 = [r for r in rows if r["runs"]["keras2"]["status"] == "ran"]
    auto = [r for r in k2 if r["manual"] == 0]
    portable = [r for r in auto if r["portable"]]
    def ran(rs, b):
        return sum(1 for r in rs if r["runs"][b]["status"] == "ran")
    failures = [(r["program"], b, r["runs"][b]) for r in k2 for b in BACKENDS
                if r["runs"][b]["status"] != "ran" and (b == "tensorflow" or r["portable"])]
    return {
        "programs": len(rows),
        "keras2_ran": len(k2),
        "all_auto_fixable": len(auto),
        "tensorflow_ran": ran(auto, "tensorflow"),
        "portable": len(portable),
        "jax_ran": ran(portable, "jax"),
        "torch_ran": ran(portable, "torch"),
        "failures": len(failures),
        "failures_flagged": sum(1 for _, _, run in failures if run.get("flagged")),
        "unflagged": [f"{p} {b}: {run.get('error')}" for p, b, run in failures if not run.get("flagged")],
    }


def markdown(rows: list[dict], t: dict) -> str:
    out = ["| program | findings (manual) | keras2 | tensorflow | jax | torch | portable |",
           "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        runs = r["runs"]
        out.append(f"| {r['program']} | {r['findings']} ({r['manual']}) | {_cell(runs['keras2'])} | "
                   f"{_cell(runs['tensorflow'])} | {_cell(runs['jax'])} | {_cell(runs['torch'])} | "
                   f"{'yes' if r['portable'] else 'no'} |")
    def pct(a, b):
        return f"{a}/{b} ({100 * a / b:.0f}%)" if b else "0/0"
    out += [
        "",
        f"- programs: {t['programs']}; smoke-run on Keras 2: {t['keras2_ran']}; of those, all "
        f"findings auto-fixable: {t['all_auto_fixable']}",
        f"- run on Keras 3 + TensorFlow after fix: {pct(t['tensorflow_ran'], t['all_auto_fixable'])} "
        "(target >= 90%)",
        f"- portable (no TensorFlow import after fix): {t['portable']}; on JAX "
        f"{pct(t['jax_ran'], t['portable'])}, on torch {pct(t['torch_ran'], t['portable'])}",
        f"- failures among Keras 2-runnable programs (TF for all, JAX/torch for portable ones): "
        f"{t['failures']}, at a flagged line: {t['failures_flagged']}",
    ]
    for u in t["unflagged"]:
        out.append(f"  - not flagged: {u}")
    out.append("")
    out.append("Failures (first error line, failing line):")
    for r in rows:
        for b in ("keras2", *BACKENDS):
            run = r["runs"][b]
            if run["status"] not in ("ran", "skipped"):
                out.append(f"- {r['program']} [{b}] {run['status']}: {(run.get('error') or '')[:200]}"
                           + (f" — L{run['line']}: `{run.get('source_line', '')}`" if run.get("line") else ""))
    return "\n".join(out) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("folders", nargs="+", type=Path, metavar="FOLDER")
    p.add_argument("--python", default=str(ROOT / ".venv-keras" / "bin" / "python"),
                   help="the interpreter with Keras 3, the three backends and tf-keras")
    p.add_argument("--jobs", type=int, default=2, help="programs checked at the same time")
    p.add_argument("--timeout", type=float, default=300, help="seconds per run")
    p.add_argument("--cache", help="folder of earlier run results to reuse")
    p.add_argument("--json", help="write the rows and totals as JSON here")
    p.add_argument("--markdown", help="write the table here too")
    p.add_argument("--keep", action="store_true", help="keep the work folder (logs, fixed copies)")
    p.add_argument("--all-runs", action="store_true",
                   help="run on Keras 3 also the programs that do not run on Keras 2")
    p.add_argument("--only", help="regular expression: check only the programs whose name matches")
    args = p.parse_args(argv)
    folders = [f.resolve() for f in args.folders]
    files = discover(folders)
    names = [program_name(f, folders) for f in files]
    if args.only:
        keep = [i for i, n in enumerate(names) if re.search(args.only, n)]
        files, names = [files[i] for i in keep], [names[i] for i in keep]
    checker = Checker(args)
    print(f"{len(files)} programs; work folder {checker.work}; stand-ins for {checker.stubbed or 'nothing'}",
          file=sys.stderr, flush=True)
    rows: list[dict] = []
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = {pool.submit(checker.check_program, f, n): n for f, n in zip(files, names)}
        for fut in concurrent.futures.as_completed(futures):
            name = futures[fut]
            try:
                row = fut.result()
            except Exception as exc:  # a broken program must not stop the measurement
                print(f"{name}: could not be checked: {exc}", file=sys.stderr, flush=True)
                continue
            rows.append(row)
            cells = ", ".join(f"{b}: {_cell(row['runs'][b])}" for b in ("keras2", *BACKENDS))
            print(f"[{len(rows)}/{len(files)} {time.monotonic() - started:.0f}s] {name}: {cells}",
                  file=sys.stderr, flush=True)
    rows.sort(key=lambda r: r["program"])
    t = totals(rows)
    text = markdown(rows, t)
    print(text)
    if args.markdown:
        Path(args.markdown).write_text(text)
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "totals": t}, indent=1))
    if not args.keep:
        shutil.rmtree(checker.work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
