"""Read a Python traceback out of a program's stderr.

A failed run is summed up by its *first error line* (the ``ValueError: ...`` line that
ends the last traceback) and, where one can be found, by an :class:`ErrorLocation`: the
deepest frame whose file lies inside the user's workspace, which the language server
shows as a diagnostic. Frames inside installed packages (``site-packages``,
``dist-packages``), the standard library and the runner's own bootstrap never count, also
when a virtual environment lives inside the workspace.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

HEADER = "Traceback (most recent call last):"
_FRAME = re.compile(r'^\s*File "(?P<file>.+)", line (?P<line>\d+)(?:, in (?P<func>.*))?\s*$')
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_MAX_MESSAGE_LINES = 15
_MAX_MESSAGE_CHARS = 2000
_INSTALLED = {"site-packages", "dist-packages"}


@dataclass(frozen=True)
class Frame:
    file: str
    line: int
    function: str | None = None


@dataclass
class ParsedTraceback:
    frames: list[Frame] = field(default_factory=list)
    exception_line: str | None = None
    """The line naming the exception, e.g. ``ValueError: bad shape``."""
    message: str | None = None
    """The exception's full text: the exception line and the lines after it (capped)."""


@dataclass(frozen=True)
class ErrorLocation:
    path: str
    line: int
    """1-based line number, as Python reports it."""
    message: str


def strip_ansi(text: str) -> str:
    """Text without terminal colour codes (Keras colours parts of its messages)."""
    return _ANSI.sub("", text)


def parse_traceback(text: str | Sequence[str]) -> ParsedTraceback | None:
    """Parse the last traceback in ``text`` (a program's stderr), or None if there is none.

    Handles chained exceptions (the last block wins), Python 3.11+ caret lines, and the
    header-less form Python prints for a ``SyntaxError`` in the main file.
    """
    lines = text.splitlines() if isinstance(text, str) else [l.rstrip("\r\n") for l in text]
    lines = [_ANSI.sub("", line) for line in lines]
    start = None
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].strip() == HEADER:
            start = i + 1
            break
    if start is None:
        # SyntaxError / IndentationError in the file itself: no header, one File line.
        for i in range(len(lines) - 1, -1, -1):
            if _FRAME.match(lines[i]) and lines[i].startswith("  File"):
                start = i
                break
        if start is None:
            return None
    result = ParsedTraceback()
    i = start
    while i < len(lines):
        line = lines[i]
        m = _FRAME.match(line)
        if m and line[:1].isspace():
            result.frames.append(Frame(m["file"], int(m["line"]), m["func"]))
            i += 1
            continue
        if line[:1].isspace() or not line.strip():
            i += 1  # source line, caret line, "[Previous line repeated ...]"
            continue
        break
    if i >= len(lines):
        return result if result.frames else None
    result.exception_line = lines[i].strip()
    body = [lines[i].rstrip()]
    for extra in lines[i + 1 : i + _MAX_MESSAGE_LINES]:
        body.append(extra.rstrip())
    while body and not body[-1].strip():
        body.pop()
    message = "\n".join(body)
    if len(message) > _MAX_MESSAGE_CHARS:
        message = message[: _MAX_MESSAGE_CHARS - 1] + "…"
    result.message = message
    return result


def first_error_line(text: str | Sequence[str]) -> str | None:
    """The exception line that ends the last traceback in ``text``, if any."""
    parsed = parse_traceback(text)
    return parsed.exception_line if parsed else None


def _inside(path: str, root: str) -> bool:
    try:
        return os.path.commonpath([path, root]) == root
    except ValueError:  # different drives on Windows
        return False


def _installed(path: str) -> bool:
    return any(part in _INSTALLED for part in path.split(os.sep))


def locate_error(
    parsed: ParsedTraceback | None,
    roots: Iterable[str],
    *,
    backend: str | None = None,
    path_map: Mapping[str, str] | None = None,
    exclude: Iterable[str] = (),
) -> ErrorLocation | None:
    """The deepest frame inside one of ``roots``, as an :class:`ErrorLocation`.

    ``path_map`` maps a file that ran (a temporary copy of an unsaved buffer) to the file
    the user sees; ``exclude`` names files never to point at (the bootstrap). The message
    names the backend: ``"jax: ValueError: ..."``.
    """
    if parsed is None or not parsed.frames:
        return None
    real_roots = [os.path.realpath(r) for r in roots if r]
    mapping = {os.path.realpath(k): v for k, v in (path_map or {}).items()}
    excluded = {os.path.realpath(e) for e in exclude}
    for frame in reversed(parsed.frames):
        if frame.file.startswith("<"):
            continue
        real = os.path.realpath(frame.file)
        if real in excluded or _installed(real):
            continue
        if not any(_inside(real, root) for root in real_roots):
            continue
        shown = mapping.get(real, frame.file)
        if shown == frame.file and not os.path.isfile(real):
            continue
        text = parsed.message or parsed.exception_line or "the program failed here"
        if backend:
            text = f"{backend}: {text}"
        return ErrorLocation(path=os.path.abspath(shown), line=frame.line, message=text)
    return None
