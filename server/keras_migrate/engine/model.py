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


class ImportEdit(Edit):
    """An edit that makes a binding available (adds ``import keras``, ...), made by
    ``ctx.imports.ensure``.  Several fixes applied together may each carry the same one: the
    fixer applies it once, and merges the statements of several inserted at one point."""


class Fix:
    """A fix as a rule declares it, once: its title, its applicability, and how to build its
    edits.  Building is lazy: ``build(*args, **kwargs)`` runs only when the fix is asked for
    (``Finding.fix()``: a quick fix, a fix-all, ``fix``), never while checking.

    ``build`` returns the edits (one ``Edit`` or an iterable of them; ``None`` entries are
    dropped, so an importer's ``None`` edit can be listed as it is), or None when the fix
    turns out not to apply.  Edits made already (ruff's ``Fix::safe_edit``) are passed in
    place of ``build``: ``Fix.safe(title, edit)``.  After ``Finding.fix()`` the ``edits``
    are the built tuple.

        ctx.report(self, node, msg, fix=Fix.unsafe("Use `keras.ops`", self._fix, ctx, call))
        ctx.report(self, kw, msg, fix=Fix.safe("Rename", ctx.replace, kw_name, "new_name"))
    """

    __slots__ = ("title", "applicability", "build", "args", "kwargs", "_edits")

    def __init__(self, title: str, applicability: "Applicability", build, *args, **kwargs):
        if not isinstance(applicability, Applicability):
            raise TypeError(f"applicability must be an Applicability, not {applicability!r}")
        self.title = title
        self.applicability = applicability
        self._edits: Optional[tuple[Edit, ...]] = None
        if isinstance(build, (Edit, list, tuple)):
            if args or kwargs:
                raise TypeError(f"{title!r}: edits made already take no arguments")
            made = build
            build = lambda: made  # noqa: E731
        elif not callable(build):
            raise TypeError(f"{title!r}: build must be callable or edits, not {build!r}")
        self.build = build
        self.args = args
        self.kwargs = kwargs

    @classmethod
    def safe(cls, title: str, build, *args, **kwargs) -> "Fix":
        return cls(title, Applicability.SAFE, build, *args, **kwargs)

    @classmethod
    def unsafe(cls, title: str, build, *args, **kwargs) -> "Fix":
        return cls(title, Applicability.UNSAFE, build, *args, **kwargs)

    @classmethod
    def display(cls, title: str, build, *args, **kwargs) -> "Fix":
        return cls(title, Applicability.DISPLAY, build, *args, **kwargs)

    @classmethod
    def applicable(cls, applicability: "Applicability", title: str, build, *args, **kwargs) -> "Fix":
        """When the applicability is decided at run time (ruff's ``Fix::applicable_edit``)."""
        return cls(title, applicability, build, *args, **kwargs)

    @property
    def edits(self) -> tuple[Edit, ...]:
        if self._edits is None:
            self.built()
        return self._edits or ()

    def built(self) -> Optional["Fix"]:
        """Build the edits (once); the fix itself, or None when it does not apply here."""
        if self._edits is None:
            got = self.build(*self.args, **self.kwargs)
            if got is None:
                self._edits = ()
                return None
            edits = (got,) if isinstance(got, Edit) else tuple(e for e in got if e is not None)

            for e in edits:
                if not isinstance(e, Edit):
                    raise TypeError(f"{self.title!r}: a fix's build returned {e!r}, not an Edit")
            self._edits = edits
        return self if self._edits else None

    @property
    def imports(self) -> tuple[ImportEdit, ...]:
        return tuple(e for e in self.edits if isinstance(e, ImportEdit))

    def span(self) -> tuple[int, int]:
        return min(e.start for e in self.edits), max(e.end for e in self.edits)

    def __repr__(self) -> str:
        return f"Fix({self.title!r}, {self.applicability.value}, edits={self._edits!r})"


@dataclass
class Finding:
    """A diagnostic produced by a rule, with its fix available on demand.

    ``fix_title``/``fix_applicability`` are the declared ``Fix``'s, known when the finding is
    made (cheap); the edits are built lazily by ``fix_factory`` (the fix's ``built``) only
    when a fix is asked for.
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
