"""Language-server speed benchmark (not a test): drives ``keras-migrate server`` over stdio
the way an editor does and prints

- didChange -> publishDiagnostics latency minus the debounce, p50/p95, for a 300-line
  Keras 2 script (benchmarks/data/keras2_script.py), tf_keras' src/engine/training.py (sparse)
  and the dense Keras 2 file of benchmarks/dense.py at ~5,000 and ~18,000 lines,
  timed when the whole message has arrived from the server's stdout (the time this Python
  client then spends decoding it with cattrs, 1-2 ms for 67 diagnostics, is the client's
  cost, printed on its own line);
- time from ``initialize`` to the first diagnostics;
- the server's peak RSS with 50 open documents;
- ``ruff check`` and ``fixit lint`` on the same files, as the reference, with ratios.

Goals (issues 5, 14): <= 20 ms / <= 100 ms p95 (dense ~5,000 lines: 100 ms, ~18,000: 250 ms), <= 1 s to first diagnostics, <= 150 MB.

    .venv/bin/python benchmarks/lsp_bench.py [--edits 40] [--training PATH]

ruff and fixit are looked up in .venv-bench/bin, then on PATH
(``python -m venv .venv-bench && .venv-bench/bin/pip install ruff fixit``).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient

from engine_bench import compile_package  # benchmarks/ is on sys.path when run as a script

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "data" / "keras2_script.py"
TRAINING = ROOT / ".venv-keras" / "lib" / "python3.11" / "site-packages" / "tf_keras" / "src" / "engine" / "training.py"
DEBOUNCE_MS = 150
GOALS = {"script": 20.0, "training": 100.0, "first": 1000.0, "rss": 150.0}
TRAINING_LABEL = ["tf_keras training.py (4,476 lines)"]   # --training names another file
# the dense Keras 2 file (benchmarks/dense.py) at two sizes, typed into in its middle (issue 14)
DENSE = {"dense_a": (8, 100.0), "dense_b": (29, 250.0)}
LABELS: dict[str, str] = {}


def _files():
    return [("script", "300-line Keras 2 script"), ("training", TRAINING_LABEL[0])] + [
        (k, LABELS.get(k, k)) for k in DENSE]


def dense_doc(scale: int) -> str:
    """The dense file with a comment line between two top-level statements in its middle:
    the line the benchmark types into (later statements move, earlier ones stay)."""
    from dense import dense_text
    lines = dense_text(scale).splitlines(keepends=True)
    mid = len(lines) // 2
    while not lines[mid].startswith(("def ", "class ")):
        mid += 1
    lines.insert(mid, "# typing here\n")
    return "".join(lines)


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    k = (len(s) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def cpu_ms(pid: int) -> float:
    """CPU time (user + system) the process has used: the work done, whatever the load."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def peak_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


class Bench:
    def __init__(self, workdir: Path, server_cmd: list[str]):
        self.workdir = workdir
        self.server_cmd = server_cmd
        self.client = LanguageClient("lsp-bench", "1")
        self.waiters: dict[tuple[str, int | None], asyncio.Future] = {}
        self.published: dict[str, types.PublishDiagnosticsParams] = {}
        self.arrived = 0.0  # when the body of the message being handled was read in full
        self.versions: dict[str, int] = {}

        @self.client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def on_publish(params: types.PublishDiagnosticsParams):
            decoded = time.perf_counter()
            self.published[params.uri] = params
            for key in [(params.uri, params.version), (params.uri, None)]:
                fut = self.waiters.pop(key, None)
                if fut is not None and not fut.done():
                    fut.set_result((self.arrived, decoded, params))

        self.analysis_cpu: dict[str, list[float]] = {}

        @self.client.feature(types.WINDOW_LOG_MESSAGE)
        def on_log(params):
            # "analysed <uri> #N: ... in X ms (Y ms CPU)": the analysis thread's own CPU time
            m = re.search(r"analysed (\S+) #\d+: .* in ([\d.]+) ms \(([\d.]+) ms CPU\)", params.message)
            if m:
                self.analysis_cpu.setdefault(m.group(1), []).append(float(m.group(3)))

        @self.client.feature(types.WINDOW_SHOW_MESSAGE)
        def on_show(params):
            print(f"  server says: {params.message}", file=sys.stderr)

    def expect(self, uri: str, version: int | None) -> asyncio.Future:
        fut = asyncio.get_running_loop().create_future()
        self.waiters[(uri, version)] = fut
        return fut

    async def start(self, env: dict) -> float:
        await self.client.start_io(*self.server_cmd, env=env)
        # pygls reads a header, then the body with readexactly, then decodes and dispatches
        # it in the same step: the time readexactly returns is when the message arrived
        reader = self.client._server.stdout  # type: ignore[union-attr]
        readexactly = reader.readexactly

        async def timed_readexactly(n: int) -> bytes:
            body = await readexactly(n)
            self.arrived = time.perf_counter()
            return body

        reader.readexactly = timed_readexactly
        return time.perf_counter()

    @property
    def pid(self) -> int:
        return self.client._server.pid  # type: ignore[union-attr]

    async def initialize(self) -> None:
        await self.client.initialize_async(types.InitializeParams(
            capabilities=types.ClientCapabilities(
                text_document=types.TextDocumentClientCapabilities(
                    publish_diagnostics=types.PublishDiagnosticsClientCapabilities(version_support=True))),
            root_uri=self.workdir.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=self.workdir.as_uri(), name="bench")],
            # the default log level (warning), as users run it: debug logging sends a
            # window/logMessage per analysis, ~3 ms a keystroke (see analysis_round)
            initialization_options={"settings": {"debounceMs": DEBOUNCE_MS}}))
        self.client.initialized(types.InitializedParams())

    def open(self, uri: str, text: str) -> None:
        self.versions[uri] = 1
        self.client.text_document_did_open(types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)))

    async def latencies(self, uri: str, text: str, edits: int) -> list[float]:
        """Type into a comment line (the file keeps parsing): one char in, one char out."""
        lines = text.splitlines()
        line = next((i for i, l in enumerate(lines) if l.strip().startswith("#")), None)
        if line is None:
            line = len(lines)
        col = len(lines[line]) if line < len(lines) else 0
        out = []
        self.decoded: list[float] = []
        self.cpu: list[float] = []
        version = self.versions[uri]
        for k in range(edits):
            version += 1
            insert = k % 2 == 0
            rng = types.Range(types.Position(line, col), types.Position(line, col if insert else col + 1))
            fut = self.expect(uri, version)
            c0 = cpu_ms(self.pid)
            t0 = time.perf_counter()
            self.client.text_document_did_change(types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[types.TextDocumentContentChangePartial(range=rng, text="x" if insert else "")]))
            t1, t2, _ = await asyncio.wait_for(fut, 30)
            out.append((t1 - t0) * 1000 - DEBOUNCE_MS)
            self.decoded.append((t2 - t0) * 1000 - DEBOUNCE_MS)
            self.cpu.append(cpu_ms(self.pid) - c0)
        self.versions[uri] = version
        return out

    async def analysis_round(self, docs: list[tuple[str, str]], edits: int) -> dict[str, list[float]]:
        """The engine's own CPU per analysis (the worker thread's ``time.thread_time``, from
        the server's debug log): a separate round, since that logging is not free."""
        self.client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
            settings={"keras-migrate": {"debounceMs": DEBOUNCE_MS, "logLevel": "debug"}}))
        out = {}
        for uri, text in docs:
            self.analysis_cpu.clear()
            await self.latencies(uri, text, edits)
            out[uri] = list(self.analysis_cpu.get(uri, []))
        return out

    async def stop(self) -> None:
        try:
            await asyncio.wait_for(self.client.shutdown_async(None), 10)
            self.client.exit(None)
        except Exception:
            pass
        await self.client.stop()


def tool(name: str) -> str | None:
    local = ROOT / ".venv-bench" / "bin" / name
    return str(local) if local.exists() else shutil.which(name)


def time_cli(cmd: list[str], runs: int = 5) -> float | None:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        try:
            subprocess.run(cmd, capture_output=True, timeout=300, cwd=tempfile.gettempdir())
        except (OSError, subprocess.TimeoutExpired):
            return None
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


async def run(args) -> int:
    script = SCRIPT.read_text(encoding="utf-8")
    training_path = Path(args.training)
    training = training_path.read_text(encoding="utf-8") if training_path.exists() else None
    if training is not None and training_path != TRAINING:
        TRAINING_LABEL[0] = f"{training_path.name} ({training.count(chr(10)):,} lines)"[:34]
    env = dict(os.environ)
    server_cmd = [sys.executable, "-m", "keras_migrate.server.main"]
    results: dict[str, object] = {}
    files_extra: dict[str, Path] = {}
    keys_of: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="km-bench-") as tmp:
        work = Path(tmp)
        bench = Bench(work, server_cmd)
        spawned = await bench.start(env)
        # -- initialize -> first diagnostics ----------------------------------------------------
        uri = (work / "keras2_script.py").as_uri()
        t0 = time.perf_counter()
        await bench.initialize()
        fut = bench.expect(uri, None)
        bench.open(uri, script)
        t1, _, params = await asyncio.wait_for(fut, 60)
        results["first"] = (t1 - t0) * 1000
        results["first_from_spawn"] = (t1 - spawned) * 1000
        results["script_findings"] = len(params.diagnostics)
        # -- latency: 300-line script, training.py -------------------------------------------
        results["first_cpu"] = cpu_ms(bench.pid)
        results["script"] = await bench.latencies(uri, script, args.edits)
        results["script_cpu"] = bench.cpu
        results["script_decoded"] = bench.decoded
        docs = [(uri, script)]
        if training is not None:
            turi = (work / "training.py").as_uri()
            fut = bench.expect(turi, None)
            t0 = time.perf_counter()
            bench.open(turi, training)
            t1, _, params = await asyncio.wait_for(fut, 60)
            results["training_open"] = (t1 - t0) * 1000
            results["training_findings"] = len(params.diagnostics)
            results["training"] = await bench.latencies(turi, training, args.edits)
            results["training_cpu"] = bench.cpu
            results["training_decoded"] = bench.decoded
            docs.append((turi, training))
        for key, (scale, _goal) in DENSE.items():
            dense = dense_doc(scale)
            LABELS[key] = f"dense Keras 2 ({dense.count(chr(10)):,} lines)"
            path = work / f"{key}.py"
            path.write_text(dense, encoding="utf-8")
            files_extra[key] = path
            duri = path.as_uri()
            fut = bench.expect(duri, None)
            bench.open(duri, dense)
            await asyncio.wait_for(fut, 120)
            results[key] = await bench.latencies(duri, dense, args.edits)
            results[key + "_cpu"] = bench.cpu
            results[key + "_decoded"] = bench.decoded
            docs.append((duri, dense))
            keys_of[duri] = key
        # -- the engine's share: analysis CPU, with debug logging on --------------------------
        cpu = await bench.analysis_round(docs, 20)
        results["script_analysis"] = cpu.get(uri, [])
        if training is not None:
            results["training_analysis"] = cpu.get(turi, [])
        for duri, key in keys_of.items():
            results[key + "_analysis"] = cpu.get(duri, [])
        # -- 50 open documents -----------------------------------------------------------------
        futs = []
        for i in range(50 - len(docs)):
            u = (work / f"copy_{i}.py").as_uri()
            futs.append(bench.expect(u, None))
            bench.open(u, script)
        await asyncio.wait_for(asyncio.gather(*futs), 120)
        results["rss"] = peak_rss_mb(bench.pid)
        await bench.stop()
    # -- reference tools -----------------------------------------------------------------------
    refs: dict[str, dict[str, float | None]] = {}
    files = {"script": SCRIPT}
    if training is not None:
        files["training"] = training_path
    files.update(files_extra)
    ruff, fixit = tool("ruff"), tool("fixit")
    for key, path in files.items():
        refs[key] = {
            "ruff": time_cli([ruff, "check", "--no-cache", "--isolated", "--exit-zero", str(path)]) if ruff else None,
            "fixit": time_cli([fixit, "lint", str(path)], runs=3) if fixit else None,
        }
    report(results, refs, args.edits)
    return 0


def report(r: dict, refs: dict, edits: int) -> None:
    def ok(value: float, goal: float) -> str:
        return "ok" if value <= goal else "MISSED"

    print(f"keras-migrate language server benchmark ({edits} edits per file, debounce {DEBOUNCE_MS} ms subtracted)")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    print()
    print(f"{'':34} {'p50 ms':>8} {'p95 ms':>8} {'goal p95':>9}   {'ruff ms':>8} {'fixit ms':>9}  {'p95/ruff':>8} {'p95/fixit':>9}")
    for key, label in _files():
        if key not in r:
            print(f"{label:34} (file not found)")
            continue
        lat = r[key]
        p50, p95 = pct(lat, 0.5), pct(lat, 0.95)
        ref = refs.get(key, {})
        rr, fr = ref.get("ruff"), ref.get("fixit")
        fmt = lambda v: f"{v:8.1f}" if v is not None else f"{'-':>8}"  # noqa: E731
        ratio = lambda a, b: f"{a / b:8.2f}x" if b else f"{'-':>8} "  # noqa: E731
        goal = GOALS.get(key) or DENSE[key][1]
        print(f"{label:34} {p50:8.1f} {p95:8.1f} {goal:8.0f}{ok(p95, goal)[0:2]:>3} {fmt(rr)} {fmt(fr):>9}  "
              f"{ratio(p95, rr)} {ratio(p95, fr)}")
    print("the same, until this Python client has also decoded the message (cattrs) and dispatched it:")
    for key, label in _files():
        if key + "_decoded" in r:
            c = r[key + "_decoded"]
            print(f"  {label:34} p50 {pct(c, 0.5):6.1f} ms   p95 {pct(c, 0.95):6.1f} ms")
    print()
    print("server CPU time per edit (user+system, /proc; what the latency is on an idle machine, "
          "give or take 1-2 ms of IPC):")
    for key, label in _files():
        if key + "_cpu" in r:
            c = r[key + "_cpu"]
            print(f"  {label:34} p50 {pct(c, 0.5):6.0f} ms   p95 {pct(c, 0.95):6.0f} ms  (clock tick "
                  f"{1000 / os.sysconf('SC_CLK_TCK'):.0f} ms)")
    print(f"  server start (imports) + initialize + first analysis: {r['first_cpu']:.0f} ms CPU")
    print("engine analysis per edit, CPU of the analysis thread (time.thread_time, from the server's debug log,\n"
          "in a separate round of 20 edits per file with logLevel debug):")
    for key, label in _files():
        a = r.get(key + "_analysis")
        if a:
            print(f"  {label:34} p50 {pct(a, 0.5):6.1f} ms   p95 {pct(a, 0.95):6.1f} ms")
    print()
    print(f"initialize -> first diagnostics: {r['first']:.0f} ms (goal {GOALS['first']:.0f}: {ok(r['first'], GOALS['first'])}); "
          f"from process spawn {r['first_from_spawn']:.0f} ms")
    if "training_open" in r:
        print(f"training.py didOpen -> diagnostics: {r['training_open']:.0f} ms ({r['training_findings']} findings)")
    print(f"peak RSS, 50 open documents: {r['rss']:.0f} MB (goal {GOALS['rss']:.0f}: {ok(r['rss'], GOALS['rss'])})")
    print(f"findings in the 300-line script: {r['script_findings']}")
    print("(ruff/fixit: one `ruff check --no-cache` / `fixit lint` process per file, median wall time, "
          "process start included)")



def main() -> int:
    compile_package()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=40)
    parser.add_argument("--training", default=str(TRAINING))
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
