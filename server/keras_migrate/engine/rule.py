"""The rule interface.  A rule is one class in one module under ``rules/<family>/``.

It declares its metadata, documents itself in its docstring (fixed sections, used for the
README table, ``keras-migrate rule K101`` and the editor's hover) and carries its own VALID
and INVALID examples, which *are* its tests (``tests/test_rule_examples.py``) and, where an
example has a ``run`` spec, its conformance cases on real Keras (``tests/conformance``).
"""
from __future__ import annotations

import inspect
import re
import textwrap
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Optional

from .model import Applicability, Group, Severity

if TYPE_CHECKING:  # pragma: no cover
    from .context import FileContext

DOC_SECTIONS = ("What it does", "Why is this bad?", "Example", "Use instead", "Fix safety", "References")
_CODE_RE = re.compile(r"^K[1-9]\d\d$")
_NAME_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


@dataclass(frozen=True)
class Run:
    """How the conformance suite runs an INVALID example on real Keras (in subprocesses).

    ``k3``: what the *original* code does on Keras 3.15.1 (TensorFlow backend):
        an exception class name (``"ValueError"``), ``"differs"`` (runs, but ``RESULT``
        differs from Keras 2: a silent behaviour change), ``"warns"`` (runs with a warning
        whose text contains ``warning``), or ``"ok"`` (still works: a rule for older
        Keras 3 releases, or an import style).
    ``fixed_backends``: backends on which the fixed code must run and match Keras 2's
        ``RESULT`` (when the snippet defines one).
    ``setup``: code prepended to original and fixed code (it must work on Keras 2 and 3:
        ``import keras`` is Keras 2 in the Keras 2 run).
    ``k2``: whether the original must run on Keras 2 (False for rules about code that
        already failed there).
    """

    k3: str = "ok"
    fixed_backends: tuple[str, ...] = ("tensorflow",)
    setup: str = ""
    k2: bool = True
    warning: str = ""
    tolerance: float = 1e-5
    unsafe: Optional[bool] = None  # apply unsafe fixes when making the fixed code (default: the example's)


@dataclass(frozen=True)
class Invalid:
    """Code the rule flags.

    ``flagged``: the source text of each expected diagnostic range, in order (the test
    checks the ranges give exactly these texts).  ``fixed``: expected code after applying
    this rule's fixes (safe only, or safe+unsafe when ``unsafe=True``); None when the rule
    offers no automatic fix for this example.
    """

    code: str
    fixed: Optional[str] = None
    flagged: tuple[str, ...] = ()
    unsafe: bool = False
    config: dict = field(default_factory=dict)
    run: Optional[Run] = None
    path: str = "example.py"

    def __post_init__(self):
        object.__setattr__(self, "code", textwrap.dedent(self.code).lstrip("\n"))
        if self.fixed is not None:
            object.__setattr__(self, "fixed", textwrap.dedent(self.fixed).lstrip("\n"))
        if isinstance(self.flagged, str):
            object.__setattr__(self, "flagged", (self.flagged,))


@dataclass(frozen=True)
class Valid:
    code: str
    config: dict = field(default_factory=dict)
    path: str = "example.py"

    def __post_init__(self):
        object.__setattr__(self, "code", textwrap.dedent(self.code).lstrip("\n"))


class RuleDefinitionError(TypeError):
    pass


class Rule:
    """Base class.  Subclasses set the ClassVars and implement ``check``."""

    code: ClassVar[str]
    name: ClassVar[str]
    message: ClassVar[str]                      # default message (rules may report others)
    severity: ClassVar[Severity] = Severity.WARNING
    group: ClassVar[Group] = Group.UPGRADE
    fix: ClassVar[Optional[Applicability]] = None   # best fix the rule can offer (None: guidance)
    # Keras 3 releases on which the pattern breaks: [first, last_exclusive) or None = all of 3.x
    keras_versions: ClassVar[Optional[tuple[str, Optional[str]]]] = None
    default_enabled: ClassVar[bool] = True
    tags: ClassVar[tuple[str, ...]] = ()        # "deprecated", "unnecessary"
    # mentions that must occur in the text for the rule to have anything to do
    requires: ClassVar[tuple[str, ...]] = ("keras", "tensorflow", "tf_keras")
    # True when what the rule reports in one top-level statement depends on other statements
    # beyond the engine's shared facts (imports, top-level classes and functions, the kinds of
    # module-level names): the editor's incremental analysis then runs it on the whole module
    # after every edit instead of on the edited statements only (engine/incremental.py)
    module_wide: ClassVar[bool] = False
    VALID: ClassVar[list] = []
    INVALID: ClassVar[list] = []

    def __init_subclass__(cls, abstract: bool = False, **kw):
        super().__init_subclass__(**kw)
        if abstract:
            return
        problems = []
        code = getattr(cls, "code", None)
        if not isinstance(code, str) or not _CODE_RE.match(code):
            problems.append(f"code {code!r} is not K + 3 digits")
        if not _NAME_RE.match(getattr(cls, "name", "") or ""):
            problems.append("name must be kebab-case")
        if not getattr(cls, "message", None):
            problems.append("message missing")
        doc = cls.__doc__ or ""
        missing = [s for s in DOC_SECTIONS if f"## {s}" not in doc]
        if missing:
            problems.append(f"doc lacks sections {missing}")
        if not cls.INVALID or not cls.VALID:
            problems.append("a rule needs VALID and INVALID examples")
        if cls.fix is not None and not any(i.fixed is not None for i in cls.INVALID):
            problems.append("a fixable rule needs an INVALID example with its fixed code")
        if problems:
            raise RuleDefinitionError(f"{cls.__module__}.{cls.__name__}: " + "; ".join(problems))

    # -- documentation ---------------------------------------------------------------------
    @classmethod
    def doc(cls) -> str:
        # cleandoc, not dedent: the summary line of a docstring is not indented, so dedent
        # would leave every "## Section" heading indented and doc_sections() would find none
        return inspect.cleandoc(cls.__doc__ or "").strip()

    @classmethod
    def doc_sections(cls) -> dict[str, str]:
        text = cls.doc()
        out: dict[str, str] = {}
        current = "Summary"
        buf: list[str] = []
        for line in text.splitlines():
            if line.startswith("## "):
                out[current] = "\n".join(buf).strip()
                current, buf = line[3:].strip(), []
            else:
                buf.append(line)
        out[current] = "\n".join(buf).strip()
        return out

    @classmethod
    def summary(cls) -> str:
        return cls.doc_sections().get("Summary", "").split("\n\n")[0].replace("\n", " ")

    @classmethod
    def anchor(cls) -> str:
        return f"{cls.code.lower()}-{cls.name}"

    # -- checking ----------------------------------------------------------------------------
    def check(self, ctx: "FileContext") -> None:  # pragma: no cover - abstract
        """Report findings through ``ctx.report(self, node, message, fix=Fix.safe(...))``;
        returns nothing (the findings are the context's)."""
        raise NotImplementedError

