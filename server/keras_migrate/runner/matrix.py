"""The result matrix: backend, device, status, wall time, first error line.

This is what a user reads to see whether a migration is done: every backend ``ok``.
"""

from __future__ import annotations

from typing import Sequence

from .process import RunResult

COLUMNS = ("backend", "device", "status", "wall time", "first error line")
_MAX_ERROR = 120


def _error(result: RunResult) -> str:
    text = result.not_run if result.not_run is not None else (result.first_error_line or "")
    text = " ".join(text.split())
    if len(text) > _MAX_ERROR:
        text = text[: _MAX_ERROR - 1] + "…"
    return text


def _wall(result: RunResult) -> str:
    if result.not_run is not None or (result.exit_code is None and not result.wall_time):
        return "-"
    return f"{result.wall_time:.1f} s"


def rows(results: Sequence[RunResult]) -> list[tuple[str, ...]]:
    return [
        (r.backend, r.device_used(), r.status, _wall(r), _error(r)) for r in results
    ]


def format_text(results: Sequence[RunResult]) -> str:
    """A plain-text table with aligned columns."""
    table = [COLUMNS, *rows(results)]
    widths = [max(len(row[i]) for row in table) for i in range(len(COLUMNS))]

    def line(row: Sequence[str]) -> str:
        return "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip()

    out = [line(COLUMNS), line(["-" * w for w in widths])]
    out.extend(line(row) for row in table[1:])
    return "\n".join(out)


def _md(cell: str) -> str:
    return cell.replace("\\", "\\\\").replace("|", "\\|").replace("`", "\\`") or " "


def format_markdown(results: Sequence[RunResult]) -> str:
    """A GitHub-flavoured markdown table."""
    out = [
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "|".join("---" for _ in COLUMNS) + "|",
    ]
    for row in rows(results):
        out.append("| " + " | ".join(_md(c) for c in row) + " |")
    return "\n".join(out)
