"""Plain data the engine passes around: severities, fix applicability, edits, fixes, findings.

Nothing here knows about a rule, a file format or a protocol.  Offsets are indices into the
analysed text (Python ``str`` indices, i.e. code points); lines and columns are 0-based code
points.  The CLI and the language server convert at their edges (1-based, UTF-16, ...).
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Callable, Optional


class Severity(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"
    HINT = "hint"


class Applicability(str, enum.Enum):
    """How a fix may be applied (ruff's model).

    SAFE keeps behaviour: applied in bulk, on save, marked preferred in the editor.
    UNSAFE may change behaviour: applied only when the user asks (``--unsafe-fixes``).
    DISPLAY shows the change but is never applied automatically.
    """

    SAFE = "safe"
    UNSAFE = "unsafe"
    DISPLAY = "display"

    def allowed(self, unsafe: bool) -> bool:
        return self is Applicability.SAFE or (unsafe and self is Applicability.UNSAFE)


class Group(str, enum.Enum):
    UPGRADE = "upgrade"          # matters to anyone moving to Keras 3 (on by default)
    PORTABILITY = "portability"  # matters when target-backends include jax or torch


@dataclass(frozen=True)
class Position:
    line: int  # 0-based
    col: int   # 0-based, code points


@dataclass(frozen=True)
class Range:
    start: Position
    end: Position


@dataclass(frozen=True)
class Edit:
    """Replace ``text[start:end]`` with ``new_text`` (offsets into the analysed text)."""

    start: int
    end: int
    new_text: str

    def overlaps(self, other: "Edit") -> bool:
        if self.start == self.end or other.start == other.end:
            # two insertions at one point conflict; an insertion inside a replacement too
            return (self.start == other.start) or (
                other.start < self.start < other.end) or (self.start < other.start < self.end)
        return self.start < other.end and other.start < self.end


@dataclass(frozen=True)
class Fix:
    """One unit: its edits and the imports it needs (e.g. ``"import keras"``)."""

    title: str
    applicability: Applicability
    edits: tuple[Edit, ...]
    imports: tuple[str, ...] = ()

    def span(self) -> tuple[int, int]:
        return min(e.start for e in self.edits), max(e.end for e in self.edits)


@dataclass
class Finding:
    """A diagnostic produced by a rule, with its fix available on demand.

    ``fix_title``/``fix_applicability`` are known when the finding is made (cheap); the
    edits are built lazily by ``fix_factory`` only when a fix is asked for.
    """

    code: str
    name: str
    message: str
    severity: Severity
    start: int
    end: int
    range: Range
    fix_title: Optional[str] = None
    fix_applicability: Optional[Applicability] = None
    fix_factory: Optional[Callable[[], Optional[Fix]]] = field(default=None, repr=False)
    tags: tuple[str, ...] = ()
    url: Optional[str] = None
    related: tuple[tuple[Range, str], ...] = ()
    """Other places in the same file that explain this finding (LSP relatedInformation):
    ``(range, message)``, e.g. the save whose renamed file a ``load_model`` reads."""
    _fix_cache: Optional[Fix] = field(default=None, repr=False)
    _fix_done: bool = field(default=False, repr=False)

    @property
    def has_fix(self) -> bool:
        return self.fix_factory is not None and self.fix_applicability is not None

    def fixable(self, unsafe: bool = False) -> bool:
        return self.has_fix and self.fix_applicability.allowed(unsafe)

    def fix(self) -> Optional[Fix]:
        if not self._fix_done:
            self._fix_done = True
            try:
                self._fix_cache = self.fix_factory() if self.fix_factory else None
            except Exception:  # a broken fix must never take the analysis down
                self._fix_cache = None
        return self._fix_cache

    def sort_key(self):
        return (self.start, self.code)
