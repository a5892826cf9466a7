"""Language-server memory benchmark (not a test): ``keras-migrate server`` over stdio with a
large workspace (default /work/corpus/perf-tree3k, 3,081 files; see tree_bench.py), RSS

- after ``initialize``;
- with 50 open documents (the workspace's 50 largest files, diagnostics received);
- after the workspace report (every file analysed, the cross-file index filled), with the
  report's time and the peak (VmHWM).

Goal (issue 14): <= 150 MB with 50 open documents and a 3,000-file workspace indexed.

    nice -n 10 .venv/bin/python benchmarks/server_memory_bench.py [--workspace DIR] [--docs 50]
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

from lsprotocol import types

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lsp_bench import Bench  # noqa: E402

GOAL_MB = 150.0


def rss_mb(pid: int) -> tuple[float, float]:
    cur = peak = float("nan")
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            cur = int(line.split()[1]) / 1024
        elif line.startswith("VmHWM:"):
            peak = int(line.split()[1]) / 1024
    return cur, peak


async def run(args) -> int:
    ws = Path(args.workspace).resolve()
    files = sorted(ws.rglob("*.py"), key=lambda p: p.stat().st_size, reverse=True)
    print(f"keras-migrate server memory; workspace {ws} ({len(files):,} .py files); python "
          f"{sys.version.split()[0]}, load {os.getloadavg()[0]:.1f}")
    bench = Bench(ws, [sys.executable, "-m", "keras_migrate.server.main"])
    await bench.start(dict(os.environ))
    await bench.initialize()
    await asyncio.sleep(1.0)
    print(f"{'after initialize':44} RSS {rss_mb(bench.pid)[0]:7.1f} MB")
    docs = files[: args.docs]
    futs = []
    t0 = time.perf_counter()
    lines = 0
    for p in docs:
        text = p.read_text(encoding="utf-8", errors="replace")
        lines += text.count("\n")
        uri = p.as_uri()
        futs.append(bench.expect(uri, None))
        bench.open(uri, text)
    await asyncio.wait_for(asyncio.gather(*futs), 600)
    t_open = time.perf_counter() - t0
    diags = sum(len(bench.published[p.as_uri()].diagnostics) for p in docs if p.as_uri() in bench.published)
    cur, peak = rss_mb(bench.pid)
    print(f"{f'{len(docs)} open documents ({lines:,} lines)':44} RSS {cur:7.1f} MB  peak {peak:7.1f} MB  "
          f"({diags:,} diagnostics in {t_open:.1f} s)")
    t0 = time.perf_counter()
    res = await asyncio.wait_for(bench.client.workspace_execute_command_async(types.ExecuteCommandParams(
        command="keras-migrate.report", arguments=[])), 3600)
    t_rep = time.perf_counter() - t0
    data = res["data"] if isinstance(res, dict) else getattr(res, "data", {})
    cur, peak = rss_mb(bench.pid)
    n = data.get("files") if isinstance(data, dict) else "?"
    print(f"{f'+ workspace report ({n} files) done':44} RSS {cur:7.1f} MB  peak {peak:7.1f} MB  "
          f"(report {t_rep:.1f} s)")
    await asyncio.sleep(2.0)
    cur, peak = rss_mb(bench.pid)
    print(f"{'  2 s later':44} RSS {cur:7.1f} MB  peak {peak:7.1f} MB")
    verdict = "ok" if cur <= GOAL_MB else "MISSED"
    print(f"goal: <= {GOAL_MB:.0f} MB with {len(docs)} open documents and the workspace indexed: {verdict}")
    await bench.stop()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", default="/work/corpus/perf-tree3k")
    parser.add_argument("--docs", type=int, default=50)
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
