"""Where the server's time goes, for benchmarks: ``KERAS_MIGRATE_SERVER_PROFILE=DIR`` profiles
the event-loop thread and the analysis worker (cProfile, ``DIR/loop.prof``,
``DIR/analysis.prof``, read them with ``python -m pstats``; ``DIR:gc`` leaves them out, as
they slow the server down ~3x) and records every pause of the
cyclic garbage collector (``DIR/gc.txt``: count, total, p50/p95/max per generation and the
longest pauses).  Off (no cost) without the variable; written when the server exits.
"""
from __future__ import annotations

import atexit
import gc
import os
import threading
import time
from pathlib import Path
from typing import Optional

ENV = "KERAS_MIGRATE_SERVER_PROFILE"
_profiles: dict[str, object] = {}
_gc: list[tuple[int, float, float]] = []   # (generation, start, ms)
_gc_start = [0.0]
_dir: Optional[Path] = None


def enabled() -> bool:
    return bool(os.environ.get(ENV))


_sites: dict[str, int] = {}


def _on_gc(phase: str, info: dict) -> None:
    if phase == "start":
        _gc_start[0] = time.perf_counter()
        if info.get("generation") == 2:   # who asked for (or triggered) a full collection
            import traceback
            site = " < ".join(f"{Path(f.filename).name}:{f.lineno}({f.name})"
                              for f in reversed(traceback.extract_stack(limit=6)[:-1]))
            _sites[site] = _sites.get(site, 0) + 1
    else:
        _gc.append((info.get("generation", -1), _gc_start[0], (time.perf_counter() - _gc_start[0]) * 1000))


def start() -> None:
    """In the loop thread, before the server starts."""
    global _dir
    if not enabled() or _dir is not None:
        return
    import cProfile
    value = os.environ[ENV]
    only_gc = value.endswith(":gc")
    _dir = Path(value[:-3] if only_gc else value)
    _dir.mkdir(parents=True, exist_ok=True)
    gc.callbacks.append(_on_gc)
    atexit.register(dump)
    if only_gc:
        _profiles["gc-only"] = None
        return
    prof = cProfile.Profile()
    _profiles["loop"] = prof
    prof.enable()


def worker_initializer() -> None:
    """The analysis pool's thread initializer."""
    if _dir is None or "gc-only" in _profiles:
        return
    import cProfile
    prof = cProfile.Profile()
    _profiles[threading.current_thread().name.split("_")[0].replace("km-", "")] = prof
    prof.enable()


def dump() -> None:
    if _dir is None:
        return
    for name, prof in list(_profiles.items()):
        if prof is None:
            continue
        try:
            prof.disable()
            prof.dump_stats(str(_dir / f"{name}.prof"))
        except Exception:
            pass
    lines = []
    for gen in sorted({g for g, _, _ in _gc}):
        ms = sorted(m for g, _, m in _gc if g == gen)
        lines.append(f"gen {gen}: {len(ms)} collections, {sum(ms):.1f} ms, p50 {ms[len(ms) // 2]:.2f} "
                     f"p95 {ms[int(len(ms) * 0.95)]:.2f} max {ms[-1]:.2f} ms")
    for g, t, m in sorted(_gc, key=lambda x: -x[2])[:15]:
        lines.append(f"  gen {g} at {t:.3f}: {m:.1f} ms")
    lines.append("full collections by call site:")
    lines.extend(f"  {n} x {site}" for site, n in sorted(_sites.items(), key=lambda x: -x[1]))
    (_dir / "gc.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
