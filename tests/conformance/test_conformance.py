"""Conformance: every INVALID example with a ``run`` spec is executed on real Keras.

For each such example (rule, index) the suite builds
  * the original code: ``run.setup`` + ``example.code``
  * the tool's fixed code: ``run.setup`` + ``fixed_code(rule, example, unsafe)``
and runs them, batched, in subprocesses of the Keras stack interpreter
(``.venv-keras/bin/python``, made by ``scripts/setup-keras-env.sh``; override with
``KERAS_STACK_PYTHON``), one interpreter per mode:

  ``k2``                     original, tf-keras 2.21 (``TF_USE_LEGACY_KERAS=1``, ``import keras`` → tf_keras)
  ``k3-tensorflow-original`` original, Keras 3.15.1 on TensorFlow
  ``k3-<backend>-fixed``     fixed code, Keras 3.15.1 on tensorflow / jax / torch

and turns the results into one test per (rule, example, check):
  ``k2``          the original runs on Keras 2 (only when ``run.k2``)
  ``k3``          the original does ``run.k3`` on Keras 3 / TensorFlow
  ``fixed-<b>``   the fixed code runs on backend b (each of ``run.fixed_backends``) and its
                  ``RESULT`` equals Keras 2's (within ``run.tolerance``)
An example whose rule offers no fix for it (``fixed=None`` and the fixer changes nothing)
has no ``fixed-*`` checks.  A fixed example that does not run is a failing test.

Report: ``test-artifacts/conformance-report.md`` (per rule and backend: original fails /
fix runs), also printed at the end of the pytest run.

Environment knobs: ``KERAS_STACK_PYTHON`` (interpreter), ``KM_CONFORMANCE_JOBS``
(interpreters run at once, default 3), ``KM_CONFORMANCE_TIMEOUT`` (seconds per snippet,
default 60).
"""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pytest

from keras_migrate.engine.rule import Invalid, Run
from keras_migrate.engine.testing import fixed_code
from keras_migrate.rules import all_rules

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
RUNNER = HERE / "runner.py"
REPORT = REPO / "test-artifacts" / "conformance-report.md"
RAW = REPO / "test-artifacts" / "conformance-results.json"
BACKENDS = ("tensorflow", "jax", "torch")
EXCEPTION_ROOTS = {"BaseException", "Exception", "object"}
K3_KEYWORDS = ("ok", "differs", "warns")


# -- cases -------------------------------------------------------------------------------
@dataclass
class Case:
    rule: type
    index: int
    example: Invalid
    run: Run
    original: str
    fixed: Optional[str]          # None: no fix for this example
    fix_error: Optional[str]      # the fixer raised

    @property
    def key(self) -> str:
        return f"{self.rule.code}-invalid-{self.index}"

    def checks(self) -> list[str]:
        out = ["k2"] if self.run.k2 else []
        out.append("k3")
        if self.fixed is not None or self.fix_error is not None:
            out += [f"fixed-{b}" for b in self.run.fixed_backends]
        return out


def _join(setup: str, code: str) -> str:
    setup = textwrap.dedent(setup).strip("\n")
    return (setup + "\n" + code) if setup else code


def _make_case(rule, index, example) -> Case:
    run = example.run
    unsafe = run.unsafe if run.unsafe is not None else example.unsafe
    fixed = fix_error = None
    try:
        text = fixed_code(rule, example, unsafe=unsafe)
        if example.fixed is not None or text != example.code:
            fixed = _join(run.setup, text)
    except Exception as e:  # the fixer itself broke: the fixed-* checks fail with this
        fix_error = f"fixed_code() raised {type(e).__name__}: {e}"
    return Case(rule, index, example, run, _join(run.setup, example.code), fixed, fix_error)


def collect_cases() -> list[Case]:
    cases = []
    for rule in all_rules():
        for i, ex in enumerate(rule.INVALID):
            if getattr(ex, "run", None) is not None:
                cases.append(_make_case(rule, i, ex))
    return cases


CASES = collect_cases()
PARAMS = [(c, chk) for c in CASES for chk in c.checks()]


# -- running -----------------------------------------------------------------------------
def stack_python() -> str:
    py = os.environ.get("KERAS_STACK_PYTHON") or str(REPO / ".venv-keras" / "bin" / "python")
    if not (os.path.isfile(py) and os.access(py, os.X_OK)):
        pytest.fail(f"Keras stack interpreter not found: {py}\n"
                    f"Run `bash scripts/setup-keras-env.sh` first (it creates .venv-keras with "
                    f"keras 3.15.1, tensorflow-cpu 2.21, tf-keras 2.21, jax, torch), or set "
                    f"KERAS_STACK_PYTHON to such an interpreter.", pytrace=False)
    return os.path.abspath(py)


def _env(mode: str, keras_home: str) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("TF_USE_LEGACY_KERAS", "KERAS_BACKEND", "PYTHONPATH", "PYTHONHOME",
                        "VIRTUAL_ENV", "PYTHONSTARTUP")}
    backend = "tensorflow" if mode == "k2" else mode.split("-")[1]
    env.update(KERAS_BACKEND=backend, KERAS_HOME=keras_home, TF_CPP_MIN_LOG_LEVEL="3",
               CUDA_VISIBLE_DEVICES="", JAX_PLATFORMS="cpu", PYTHONDONTWRITEBYTECODE="1",
               PYTHONHASHSEED="0", TF_ENABLE_ONEDNN_OPTS="0")
    if mode == "k2":
        env["TF_USE_LEGACY_KERAS"] = "1"
    return env


def run_mode(py: str, mode: str, jobs: list[dict], tmp: Path) -> dict:
    """Runs one mode's batch; restarts the interpreter after a snippet that kills it."""
    info = {"mode": mode, "results": {}, "startup_s": [], "wall_s": 0.0, "crashes": []}
    if not jobs:
        return info
    jobs_file, out_file = tmp / f"{mode}.jobs.json", tmp / f"{mode}.results.jsonl"
    jobs_file.write_text(json.dumps(jobs))
    out_file.write_text("")
    keras_home = tmp / f"{mode}.keras_home"
    keras_home.mkdir(exist_ok=True)
    t0 = time.time()
    per_snippet = max(j["timeout"] for j in jobs)
    seen_lines = 0
    for _attempt in range(len(jobs) + 1):
        done = set(info["results"])
        skip_file = tmp / f"{mode}.skip.json"
        skip_file.write_text(json.dumps(sorted(done)))
        err_file = tmp / f"{mode}.stderr.txt"
        with open(err_file, "w") as err:
            try:
                proc = subprocess.run([py, str(RUNNER), mode, str(jobs_file), str(out_file), str(skip_file)],
                                      env=_env(mode, str(keras_home)), cwd=str(tmp), stdout=err,
                                      stderr=subprocess.STDOUT,
                                      timeout=120 + per_snippet * (len(jobs) - len(done)))
                rc = proc.returncode
            except subprocess.TimeoutExpired:
                rc = "timeout"
        lines = out_file.read_text().splitlines()
        new_lines, seen_lines = lines[seen_lines:], len(lines)
        finished = started = False
        for line in new_lines:
            try:
                rec = json.loads(line)
            except ValueError:  # a line cut short by a dying interpreter
                continue
            if rec["id"] == "__startup__":
                started = True
                info["startup_s"].append(rec["secs"])
            elif rec["id"] == "__done__":
                finished = True
            else:
                info["results"].setdefault(rec["id"], rec)
        pending = [j["id"] for j in jobs if j["id"] not in info["results"]]
        if (finished and rc == 0) or not pending:
            break
        tail = err_file.read_text()[-3000:]
        if not started:  # the interpreter died before running anything: all pending fail with this
            for jid in pending:
                info["results"][jid] = {"id": jid, "status": "error", "exc_type": "InterpreterError",
                                        "exc_mro": ["InterpreterError"], "exc_chain": [],
                                        "exc_msg": f"the {mode} interpreter exited ({rc}) before running snippets:\n{tail}"}
            break
        # the first pending snippet killed (or hung) the interpreter: record it, go on after it
        crashed = pending[0]
        info["crashes"].append(crashed)
        info["results"][crashed] = {"id": crashed, "status": "error", "exc_type": "InterpreterCrash",
                                    "exc_mro": ["InterpreterCrash"], "exc_chain": [],
                                    "exc_msg": f"the {mode} interpreter died ({rc}) running this snippet:\n{tail}"}
    info["wall_s"] = round(time.time() - t0, 1)
    return info


def jobs_for(cases: list[Case], timeout: int) -> dict[str, list[dict]]:
    modes: dict[str, list[dict]] = {"k2": [], "k3-tensorflow-original": []}
    modes.update({f"k3-{b}-fixed": [] for b in BACKENDS})
    for c in cases:
        if c.run.k2:
            modes["k2"].append({"id": c.key, "code": c.original, "timeout": timeout})
        modes["k3-tensorflow-original"].append({"id": c.key, "code": c.original, "timeout": timeout})
        if c.fixed is not None:
            for b in c.run.fixed_backends:
                modes.setdefault(f"k3-{b}-fixed", []).append({"id": c.key, "code": c.fixed, "timeout": timeout})
    return modes


def run_all(cases: list[Case]) -> dict:
    py = stack_python()
    timeout = int(os.environ.get("KM_CONFORMANCE_TIMEOUT", "60"))
    workers = max(1, int(os.environ.get("KM_CONFORMANCE_JOBS", "3")))
    modes = jobs_for(cases, timeout)
    t0 = time.time()
    with tempfile.TemporaryDirectory(prefix="km-conformance-") as tmp:
        # longest batches first, so the parallel interpreters finish together
        order = sorted(modes, key=lambda m: -len(modes[m]))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futs = {m: pool.submit(run_mode, py, m, modes[m], Path(tmp)) for m in order}
            runs = {m: f.result() for m, f in futs.items()}
    return {"runs": runs, "wall_s": round(time.time() - t0, 1), "python": py}


# -- judging -----------------------------------------------------------------------------
def _decode(v):
    if isinstance(v, dict):
        if "__array__" in v:
            return _decode(v["__array__"])
        if "__dict__" in v:
            return {k: _decode(x) for k, x in v["__dict__"]}
        if "__float__" in v:
            return float(v["__float__"])
        if "__repr__" in v:
            return ("<repr>", v["__repr__"])
    if isinstance(v, list):
        return [_decode(x) for x in v]
    return v


def _num(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def same(a, b, tol: float, path: str = "RESULT") -> Optional[str]:
    """None when equal (numbers within tol, abs or relative), else where they differ."""
    if _num(a) and _num(b):
        if math.isnan(a) and math.isnan(b):
            return None
        if a == b or abs(a - b) <= tol + tol * abs(b):
            return None
        return f"{path}: {a!r} != {b!r} (tolerance {tol})"
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path}: length {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            d = same(x, y, tol, f"{path}[{i}]")
            if d:
                return d
        return None
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return f"{path}: keys {sorted(a)} != {sorted(b)}"
        for k in a:
            d = same(a[k], b[k], tol, f"{path}[{k!r}]")
            if d:
                return d
        return None
    if type(a) is type(b) and a == b:
        return None
    return f"{path}: {_short(a)} != {_short(b)}"


def _short(x, n=300):
    s = repr(x)
    return s if len(s) <= n else s[:n] + "…"


def _describe(rec: Optional[dict]) -> str:
    if rec is None:
        return "(not run)"
    if rec.get("status") == "ok":
        return "ran without error" + (f"; RESULT = {rec.get('result_repr', '')[:300]}" if "result" in rec else "")
    tb = rec.get("traceback", "")
    return (f"raised {rec.get('exc_type')}: {rec.get('exc_msg', '')[:1500]}"
            + (f"\n--- traceback (tail) ---\n{tb[-1500:]}" if tb else ""))


def exc_matches(rec: dict, expected: str) -> bool:
    want = expected.rsplit(".", 1)[-1]
    names = [n for n in rec.get("exc_mro", []) if n not in EXCEPTION_ROOTS or n == want]
    names += [q for q in rec.get("exc_qualnames", [])]
    # Keras re-raises some errors wrapped (``raise ... from e``): the cause's class counts too
    names += rec.get("exc_chain", [])
    return want in names or expected in names


def judge(case: Case, check: str, runs: dict) -> tuple[bool, str]:
    res = lambda mode: runs.get(mode, {}).get("results", {}).get(case.key)  # noqa: E731
    k2 = res("k2")
    if check == "k2":
        if k2 and k2.get("status") == "ok":
            return True, "runs on Keras 2"
        return False, f"original does not run on Keras 2 (tf-keras): {_describe(k2)}\n--- code ---\n{case.original}"
    if check == "k3":
        rec, want = res("k3-tensorflow-original"), case.run.k3
        if rec is None:
            return False, "original was not run on Keras 3"
        if want == "ok":
            ok = rec["status"] == "ok"
            return ok, ("runs on Keras 3" if ok else f"expected to run on Keras 3 (k3='ok'), but {_describe(rec)}")
        if want == "warns":
            if not case.run.warning:
                return False, "Run(k3='warns') needs warning='text the warning contains'"
            if rec["status"] != "ok":
                return False, f"expected to run with a warning, but {_describe(rec)}"
            texts = rec.get("warnings", []) + rec.get("logs", []) + [rec.get("stderr", ""), rec.get("stdout", "")]
            if any(case.run.warning in t for t in texts):
                return True, "warns as documented"
            return False, (f"no warning containing {case.run.warning!r}; warnings seen: "
                           f"{json.dumps(rec.get('warnings', []) + rec.get('logs', []), indent=1)[:2000]}")
        if want == "differs":
            if rec["status"] != "ok":
                return False, f"expected a silent change (runs, RESULT differs), but {_describe(rec)}"
            if "result" not in rec:
                return False, "k3='differs' needs the snippet to set RESULT"
            if not (k2 and k2.get("status") == "ok" and "result" in k2):
                return False, f"k3='differs' needs Keras 2's RESULT, but on Keras 2 the original {_describe(k2)}"
            d = same(_decode(rec["result"]), _decode(k2["result"]), case.run.tolerance)
            if d is None:
                return False, (f"expected RESULT to differ from Keras 2's, but both are "
                               f"{rec.get('result_repr', '')[:500]}")
            return True, f"differs as documented ({d})"
        # an exception class name
        if rec["status"] == "ok":
            return False, f"expected {want} on Keras 3, but the original {_describe(rec)}"
        if exc_matches(rec, want):
            return True, f"raises {rec['exc_type']} as documented"
        return False, f"expected {want} on Keras 3, but the original {_describe(rec)}"
    assert check.startswith("fixed-")
    backend = check[len("fixed-"):]
    if case.fix_error:
        return False, case.fix_error
    rec = res(f"k3-{backend}-fixed")
    where = f"--- fixed code ---\n{case.fixed}"
    if rec is None:
        return False, f"fixed code was not run on {backend}\n{where}"
    if rec["status"] != "ok":
        return False, f"fixed code does not run on Keras 3 ({backend}): {_describe(rec)}\n{where}"
    if "result" not in rec:
        if k2 and "result" in k2:
            return False, f"the original sets RESULT on Keras 2, the fixed code does not ({backend})\n{where}"
        return True, f"fixed code runs on {backend}"
    if not (k2 and k2.get("status") == "ok" and "result" in k2):
        if not case.run.k2:
            return True, f"fixed code runs on {backend} (no Keras 2 baseline: k2=False)"
        return False, f"cannot compare RESULT: on Keras 2 the original {_describe(k2)}"
    d = same(_decode(rec["result"]), _decode(k2["result"]), case.run.tolerance)
    if d:
        return False, (f"fixed code on {backend} gives a different RESULT than Keras 2: {d}\n"
                       f"Keras 2: {k2.get('result_repr', '')[:500]}\n{backend}: {rec.get('result_repr', '')[:500]}\n{where}")
    return True, f"fixed code runs on {backend}, RESULT matches Keras 2"


# -- report ------------------------------------------------------------------------------
def make_report(cases: list[Case], verdicts: dict, run: dict) -> str:
    rows, tot = [], {}
    cols = ["k2", "k3"] + [f"fixed-{b}" for b in BACKENDS]

    def cell(passed, total):
        return f"{passed}/{total}" if total else "–"

    by_rule: dict[str, list[Case]] = {}
    for c in cases:
        by_rule.setdefault(c.rule.code, []).append(c)
    for code, cs in sorted(by_rule.items()):
        counts = {col: [0, 0] for col in cols}
        breaks = [0, 0]
        for c in cs:
            for chk in c.checks():
                ok = verdicts[(c.key, chk)][0]
                counts[chk][0] += ok
                counts[chk][1] += 1
                t = tot.setdefault(chk, [0, 0])
                t[0] += ok
                t[1] += 1
                if chk == "k3" and c.run.k3 not in ("ok",):
                    breaks[0] += ok
                    breaks[1] += 1
        tb = tot.setdefault("breaks", [0, 0])
        tb[0] += breaks[0]
        tb[1] += breaks[1]
        rows.append(f"| {code} {cs[0].rule.name} | {len(cs)} | {cell(*counts['k2'])} | {cell(*breaks)} | "
                    f"{cell(*counts['k3'])} | " + " | ".join(cell(*counts[f'fixed-{b}']) for b in BACKENDS) + " |")
    g = lambda k: tot.get(k, [0, 0])  # noqa: E731
    rows.append(f"| **total** | {len(cases)} | {cell(*g('k2'))} | {cell(*g('breaks'))} | {cell(*g('k3'))} | "
                + " | ".join(cell(*g(f'fixed-{b}')) for b in BACKENDS) + " |")
    failed = [(k, chk, msg) for (k, chk), (ok, msg) in verdicts.items() if not ok]
    n_ok = sum(ok for ok, _ in verdicts.values())
    lines = [
        "# Conformance report",
        "",
        f"{n_ok}/{len(verdicts)} checks passed; {len(cases)} examples with a `Run` spec "
        f"in {len(by_rule)} rules; wall time {run['wall_s']} s; interpreter `{run['python']}`.",
        "",
        "Columns: *K2 runs* — the original runs on Keras 2 (tf-keras); *original fails* — of the "
        "examples documented to break on Keras 3 (exception, silent `differs`, or `warns`), how many "
        "do so on Keras 3.15.1/TensorFlow; *original as documented* — all `k3` checks (including "
        "`ok`); *fix runs <backend>* — the tool's fixed code runs on that backend and its `RESULT` "
        "equals Keras 2's. Cells are passed/total; – means no such check.",
        "",
        "| rule | examples | K2 runs | original fails | original as documented | fix runs tensorflow | fix runs jax | fix runs torch |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
        *rows,
        "",
        "## Interpreters",
        "",
        "| mode | snippets | start-up s | wall s | crashes |",
        "| --- | --- | --- | --- | --- |",
    ]
    for mode, info in sorted(run["runs"].items()):
        lines.append(f"| {mode} | {len(info['results'])} | {', '.join(map(str, info['startup_s'])) or '–'} | "
                     f"{info['wall_s']} | {', '.join(info['crashes']) or '–'} |")
    slow = sorted(((rec.get("cpu_secs", 0), rec.get("secs", 0), mode, sid) for mode, info in run["runs"].items()
                   for sid, rec in info["results"].items()), reverse=True)[:12]
    lines += ["", "## Slowest snippets (CPU seconds, all threads; wall seconds depend on load)", "",
              "| CPU s | wall s | mode | example |", "| --- | --- | --- | --- |"]
    lines += [f"| {c} | {w} | {m} | {sid} |" for c, w, m, sid in slow]
    lines += ["", f"## Failures ({len(failed)})", ""]
    for k, chk, msg in sorted(failed):
        lines += [f"### {k} {chk}", "", "```", msg[:4000], "```", ""]
    return "\n".join(lines) + "\n"


def summary_table(report: str) -> str:
    out, on = [], False
    for line in report.splitlines():
        if line.startswith("| rule |"):
            on = True
        if on:
            if not line.startswith("|"):
                break
            out.append(line)
    return "\n".join(out)


# -- pytest glue -------------------------------------------------------------------------
@pytest.fixture(scope="session")
def conformance(request):
    # only the cases whose tests were selected (-k K101 runs K101's snippets only)
    keys = {item.callspec.params["case"].key for item in request.session.items
            if isinstance(getattr(getattr(item, "callspec", None), "params", {}).get("case"), Case)}
    cases = [c for c in CASES if c.key in keys]
    run = run_all(cases)
    verdicts = {(c.key, chk): judge(c, chk, run["runs"]) for c in cases for chk in c.checks()}
    report = make_report(cases, verdicts, run)
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(report)
    RAW.write_text(json.dumps(run, indent=1, default=str))
    request.config._km_conformance_summary = (summary_table(report), run["wall_s"], str(REPORT))
    return verdicts


@pytest.mark.conformance
def test_stack_present():
    """A missing Keras stack is a failure, never a skip."""
    stack_python()


@pytest.mark.conformance
@pytest.mark.parametrize("case,check", PARAMS, ids=[f"{c.key}-{chk}" for c, chk in PARAMS])
def test_conformance(case, check, conformance):
    ok, msg = conformance[(case.key, check)]
    assert ok, msg
