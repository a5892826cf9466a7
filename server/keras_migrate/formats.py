"""Results of a ``check`` run and the formats they are written in.

The names are ruff's (``--output-format``): ``concise`` (one line per finding), ``full`` (the
source line and a caret under the finding), ``json`` (with each fix's edits), ``json-lines``,
``sarif`` (2.1.0), ``github`` (workflow commands), ``gitlab`` (Code Quality), ``junit``.
Nothing here analyses anything: the CLI fills a :class:`Report`, a writer prints it.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence

from .version import __version__
from .engine.model import Applicability, Finding

DOCS_URL = "https://github.com/keras-migrate/keras-migrate/blob/main/docs/rules.md"

FORMATS = ("concise", "full", "json", "json-lines", "sarif", "github", "gitlab", "junit")
ALIASES = {"text": "concise"}   # the name before ruff's names were adopted


# -- results --------------------------------------------------------------------------------------
@dataclass
class Item:
    path: str
    finding: Finding
    line: int          # 1-based
    col: int           # 1-based, code points
    end_line: int
    end_col: int
    cell: Optional[int] = None   # 1-based notebook cell number
    utf16: tuple[int, int] = (0, 0)  # 1-based start/end columns in UTF-16 code units (SARIF)
    source_line: str = ""        # the text of the finding's first line (``full``)
    edits: Optional[list[dict]] = None   # the fix as ruff's JSON edits (filled when asked for)
    noqa_row: Optional[int] = None       # 1-based line where a ``# noqa`` for it belongs
    cell_index: Optional[int] = None     # notebooks: 0-based index in the notebook's ``cells``
    cell_id: Optional[str] = None        # notebooks: the cell's nbformat 4.5 ``id``
    file_pos: Optional[tuple[int, int, int, int]] = None  # notebooks: 1-based (line, col, end line,
    #                                      end col) in the .ipynb file's JSON text (SARIF, github)


@dataclass
class Problem:
    """A file (or a cell) that could not be analysed.  ``str()`` is the line the text formats
    print: ``path:line:col: message`` (or ``path: message`` without a position)."""
    path: str
    message: str
    line: Optional[int] = None   # 1-based
    col: Optional[int] = None
    cell: Optional[int] = None   # 1-based notebook cell
    cell_index: Optional[int] = None   # 0-based index in nb["cells"]
    cell_id: Optional[str] = None
    file_pos: Optional[tuple[int, int]] = None   # 1-based (line, col) in the .ipynb JSON text
    partial: bool = False        # the rest of the file was analysed (a statement that does not parse)

    def __str__(self) -> str:
        if self.line is None:
            return f"{self.path}: {self.message}"
        cell = f"cell {self.cell}:" if self.cell is not None else ""
        return f"{self.path}:{cell}{self.line}:{self.col or 1}: {self.message}"

    def __contains__(self, s: str) -> bool:   # ``"x" in problem`` reads as on the string
        return s in str(self)

    def to_json(self) -> dict:
        d = {"path": self.path, "message": self.message}
        if self.line is not None:
            d["line"], d["column"] = self.line, self.col or 1
        if self.cell is not None:
            d["cell"] = self.cell
            d["cell_index"] = self.cell_index if self.cell_index is not None else self.cell - 1
            if self.cell_id is not None:
                d["cell_id"] = self.cell_id
        return d


@dataclass
class Report:
    items: list[Item] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)           # I/O and config problems (exit 2)
    unparsable: list = field(default_factory=list)            # Problem (or str): not analysed
    files: int = 0
    checked_paths: list[str] = field(default_factory=list)   # every file looked at (junit)
    want_edits: bool = False   # compute each fix's edits (json formats)


def url_for(f: Finding) -> str:
    return f"{DOCS_URL}#{f.code.lower()}-{f.name}"


# -- shared pieces --------------------------------------------------------------------------------
def fix_mark(f: Finding, unsafe: bool) -> str:
    if f.fixable(unsafe):
        return "[*] "
    if f.has_fix and f.fix_applicability is Applicability.UNSAFE:
        return "[-] "
    return ""


def location(it: Item) -> str:
    cell = f"cell {it.cell}:" if it.cell is not None else ""
    return f"{it.path}:{cell}{it.line}:{it.col}"


def summary(report: Report, unsafe: bool, out) -> None:
    n = len(report.items)
    fixable = sum(1 for it in report.items if it.finding.fixable(unsafe))
    unsafe_only = sum(1 for it in report.items if it.finding.fixable(True) and not it.finding.fixable(unsafe))
    files_with = len({it.path for it in report.items})
    if n:
        out.write(f"Found {n} finding{'s' * (n != 1)} in {files_with} file{'s' * (files_with != 1)} "
                  f"({report.files} checked).\n")
        if fixable:
            out.write(f"[*] {fixable} fixable with `keras-migrate fix`"
                      f"{' --unsafe-fixes' if unsafe else ''}.\n")
        if unsafe_only:
            out.write(f"[-] {unsafe_only} more fixable with `keras-migrate fix --unsafe-fixes` "
                      f"(may change behaviour; review them).\n")
    elif report.unparsable or report.errors:
        out.write(f"No findings in what was analysed ({report.files} file{'s' * (report.files != 1)} checked).\n")
    else:
        out.write(f"All checks passed! ({report.files} file{'s' * (report.files != 1)} checked)\n")
    line = not_analysed_line(report)
    if line:
        out.write(line + "\n")


def not_analysed_line(report: Report) -> str:
    """What was left out, in one line: whole files, files analysed in part (statements that
    do not parse), and notebook cells; "" when everything was analysed."""
    if not report.unparsable:
        return ""
    probs = [u if isinstance(u, Problem) else Problem(str(u), str(u)) for u in report.unparsable]
    whole = {p.path for p in probs if p.cell is None and not p.partial}
    partial = {p.path for p in probs if p.cell is None and p.partial} - whole
    cells = [p for p in probs if p.cell is not None]
    bits = []
    if whole:
        bits.append(f"{len(whole)} file(s) could not be analysed")
    if partial:
        bits.append(f"{len(partial)} file(s) were analysed only in part (code that does not parse)")
    if cells:
        bits.append(f"{len(cells)} notebook cell(s) in {len({p.path for p in cells})} notebook(s) "
                    "were not analysed (the rest was)")
    return "; ".join(bits) + " (listed above)."


# -- concise / full -------------------------------------------------------------------------------
def format_concise(report: Report, unsafe: bool, out) -> None:
    for it in report.items:
        f = it.finding
        out.write(f"{location(it)}: {f.code} {fix_mark(f, unsafe)}{f.message}\n")
    for u in report.unparsable:
        out.write(f"{u}\n")
    summary(report, unsafe, out)


def _expand_tabs(line: str, col: int) -> tuple[str, int]:
    """The line with tabs expanded, and where code point ``col`` lands in it."""
    head = line[:col].expandtabs(4)
    return line.expandtabs(4), len(head)


def format_full(report: Report, unsafe: bool, out) -> None:
    """ruff's ``full``: the concise line, then the source line with carets under the finding
    (to its end on that line) and the fix title when there is one."""
    for it in report.items:
        f = it.finding
        out.write(f"{location(it)}: {f.code} {fix_mark(f, unsafe)}{f.message}\n")
        src = it.source_line.rstrip("\r\n")
        if src or it.source_line:
            width = len(str(it.line))
            shown, start = _expand_tabs(src, it.col - 1)
            end_cp = it.end_col - 1 if it.end_line == it.line else len(src)
            _, end = _expand_tabs(src, max(end_cp, it.col - 1))
            out.write(f"{' ' * width} |\n")
            out.write(f"{it.line} | {shown}\n")
            out.write(f"{' ' * width} | {' ' * start}{'^' * max(end - start, 1)} {f.code}\n")
            out.write(f"{' ' * width} |\n")
            if f.has_fix:
                kind = "Safe fix" if f.fix_applicability is Applicability.SAFE else (
                    "Unsafe fix" if f.fix_applicability is Applicability.UNSAFE else "Suggested fix")
                out.write(f"{' ' * width} = help: {f.fix_title}  ({kind})\n")
            out.write("\n")
    for u in report.unparsable:
        out.write(f"{u}\n")
    summary(report, unsafe, out)


# -- json -----------------------------------------------------------------------------------------
def json_item(it: Item) -> dict:
    f = it.finding
    if f.has_fix:
        fix = {"available": True, "applicability": f.fix_applicability.value, "title": f.fix_title,
               "message": f.fix_title}
        if it.edits is not None:
            fix["edits"] = it.edits
    else:
        fix = {"available": False, "applicability": None, "title": None}
    d = {
        "path": it.path,
        "range": {"start": {"line": it.line, "column": it.col}, "end": {"line": it.end_line, "column": it.end_col}},
        "code": f.code, "name": f.name, "message": f.message, "severity": f.severity.value,
        "fix": fix,
        "url": url_for(f),
    }
    if f.related:
        d["related"] = [{"range": {"start": {"line": r.start.line + 1, "column": r.start.col + 1},
                                   "end": {"line": r.end.line + 1, "column": r.end.col + 1}}, "message": m}
                        for r, m in f.related]
    if it.noqa_row is not None:
        d["noqa_row"] = it.noqa_row
    if it.cell is not None:
        d["cell"] = it.cell
        d["cell_index"] = it.cell_index if it.cell_index is not None else it.cell - 1
        if it.cell_id is not None:
            d["cell_id"] = it.cell_id
    return d


def _problem_json(u) -> dict:
    return u.to_json() if isinstance(u, Problem) else {"path": str(u).split(":", 1)[0], "message": str(u)}


def format_json(report: Report, out) -> None:
    json.dump({"version": __version__, "files_checked": report.files,
               "findings": [json_item(it) for it in report.items],
               "unparsable": [str(u) for u in report.unparsable],
               "not_analysed": [_problem_json(u) for u in report.unparsable],
               "errors": report.errors}, out, indent=2)
    out.write("\n")


def format_json_lines(report: Report, out) -> None:
    """One JSON object a line: each finding (as in ``json``), then each file that could not
    be analysed as ``{"code": null, ...}`` (ruff writes syntax errors with a null code)."""
    for it in report.items:
        out.write(json.dumps(json_item(it)) + "\n")
    for u in report.unparsable:
        d = _problem_json(u)
        d["code"] = None
        out.write(json.dumps(d) + "\n")


# -- sarif ----------------------------------------------------------------------------------------
_SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note", "hint": "note"}


def sarif_log(report: Report, rules: Sequence[type]) -> dict:
    used = sorted({it.finding.code for it in report.items})
    by_code = {r.code: r for r in rules}
    rule_objs = []
    for code in used:
        r = by_code.get(code)
        if r is None:
            continue
        rule_objs.append({
            "id": r.code, "name": r.name,
            "shortDescription": {"text": r.summary() or r.message},
            "fullDescription": {"text": r.doc_sections().get("What it does", r.summary())},
            "helpUri": f"{DOCS_URL}#{r.anchor()}",
            "help": {"text": r.doc(), "markdown": r.doc()},
            "defaultConfiguration": {"level": _SARIF_LEVEL[r.severity.value]},
            "properties": {"group": r.group.value, "fix": r.fix.value if r.fix else "guidance"},
        })
    index = {r["id"]: i for i, r in enumerate(rule_objs)}
    results = []
    for it in report.items:
        f = it.finding
        if it.file_pos is not None:  # notebooks: the place in the .ipynb file's JSON text
            region = {"startLine": it.file_pos[0], "startColumn": it.file_pos[1],
                      "endLine": it.file_pos[2], "endColumn": it.file_pos[3]}
        else:
            region = {"startLine": it.line, "startColumn": it.utf16[0],
                      "endLine": it.end_line, "endColumn": it.utf16[1]}
        res = {
            "ruleId": f.code, "level": _SARIF_LEVEL[f.severity.value],
            "message": {"text": f.message},
            "locations": [{"physicalLocation": {
                "artifactLocation": {"uri": Path(it.path).as_posix()},
                "region": region}}],
        }
        if f.code in index:
            res["ruleIndex"] = index[f.code]
        if it.cell is not None:
            props = {"notebookCell": it.cell, "cellIndex": it.cell_index if it.cell_index is not None else it.cell - 1,
                     "cellLine": it.line, "cellColumn": it.col}
            if it.cell_id is not None:
                props["cellId"] = it.cell_id
            res["properties"] = props
        results.append(res)
    # files that could not be analysed are tool execution notifications of the invocation
    # (SARIF 3.20.21): code scanning shows them as tool errors, not as findings
    notes = []
    for u in report.unparsable:
        p = u if isinstance(u, Problem) else Problem(str(u).split(":", 1)[0], str(u))
        loc: dict = {"artifactLocation": {"uri": Path(p.path).as_posix()}}
        if p.line is not None and p.cell is None:
            loc["region"] = {"startLine": p.line, "startColumn": p.col or 1}
        elif p.file_pos is not None:
            loc["region"] = {"startLine": p.file_pos[0], "startColumn": p.file_pos[1]}
        note = {"level": "error", "message": {"text": str(p)},
                "locations": [{"physicalLocation": loc}],
                "descriptor": {"id": "not-analysed"}}
        if p.cell is not None:
            note["properties"] = {"notebookCell": p.cell}
        notes.append(note)
    invocation = {"executionSuccessful": not report.errors and not report.unparsable,
                  "toolExecutionNotifications": notes}
    if report.errors:
        invocation["toolConfigurationNotifications"] = [
            {"level": "error", "message": {"text": e}} for e in report.errors]
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "keras-migrate", "version": __version__,
                                "informationUri": "https://github.com/keras-migrate/keras-migrate",
                                "rules": rule_objs}},
            "invocations": [invocation],
            "columnKind": "utf16CodeUnits",
            "results": results,
        }],
    }


def format_sarif(report: Report, rules: Sequence[type], out) -> None:
    json.dump(sarif_log(report, rules), out, indent=2)
    out.write("\n")


# -- github ---------------------------------------------------------------------------------------
def gh_escape_data(s: str) -> str:
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def gh_escape_property(s: str) -> str:
    """A workflow command property value (``file=``, ``title=``): ``,`` and ``:`` end it."""
    return gh_escape_data(s).replace(":", "%3A").replace(",", "%2C")


def format_github(report: Report, out) -> None:
    level = {"error": "error", "warning": "warning", "info": "notice", "hint": "notice"}
    for it in report.items:
        f = it.finding
        title = f"{f.code} ({f.name})" + (f" cell {it.cell}" if it.cell else "")
        line, col, end_line, end_col = it.file_pos or (it.line, it.col, it.end_line, it.end_col)
        out.write(f"::{level[f.severity.value]} file={gh_escape_property(it.path)},line={line},col={col},"
                  f"endLine={end_line},endColumn={end_col},title={gh_escape_property(title)}"
                  f"::{gh_escape_data(f.message)}\n")
    for u in report.unparsable:
        if isinstance(u, Problem):
            pos = f",line={u.line},col={u.col or 1}" if u.line is not None and u.cell is None else (
                f",line={u.file_pos[0]},col={u.file_pos[1]}" if u.file_pos is not None else "")
            out.write(f"::error file={gh_escape_property(u.path)}{pos},title=not analysed"
                      f"::{gh_escape_data(str(u))}\n")
        else:
            out.write(f"::error ::{gh_escape_data(str(u))}\n")


# -- gitlab ---------------------------------------------------------------------------------------
_GITLAB_SEVERITY = {"error": "major", "warning": "minor", "info": "info", "hint": "info"}


def _fingerprint(*parts: object) -> str:
    return hashlib.sha256("\x00".join(str(p) for p in parts).encode("utf-8")).hexdigest()


def _repo_path(path: str) -> str:
    """A path as GitLab wants it: relative to the project (the working directory), ``/``."""
    p = Path(path)
    if p.is_absolute():
        try:
            p = p.relative_to(Path.cwd())
        except ValueError:
            pass
    return p.as_posix()


def gitlab_report(report: Report) -> list[dict]:
    """GitLab Code Quality (a CodeClimate subset): description, check_name, fingerprint,
    severity, location.path and location.lines.begin are what GitLab reads.  The fingerprint
    is stable across runs (code, path, the finding's source text, its rank among equal ones)
    so a moved line is not a new issue in the merge request widget."""
    out = []
    seen: dict[tuple, int] = {}
    for it in report.items:
        f = it.finding
        key = (f.code, it.path, it.cell, it.source_line.strip())
        n = seen[key] = seen.get(key, -1) + 1
        out.append({
            "type": "issue",
            "check_name": f.code,
            "description": f"{f.code} {f.message}",
            "categories": ["Compatibility"],
            "severity": _GITLAB_SEVERITY[f.severity.value],
            "fingerprint": _fingerprint(*key, n),
            "location": {"path": _repo_path(it.path),
                         "lines": {"begin": it.line, "end": it.end_line}},
        })
    for u in report.unparsable:
        p = u if isinstance(u, Problem) else Problem(str(u).split(":", 1)[0], str(u))
        out.append({
            "type": "issue", "check_name": "not-analysed",
            "description": f"could not be analysed: {p.message}",
            "categories": ["Bug Risk"], "severity": "major",
            "fingerprint": _fingerprint("not-analysed", p.path, p.message),
            "location": {"path": _repo_path(p.path), "lines": {"begin": p.line or 1, "end": p.line or 1}},
        })
    return out


def format_gitlab(report: Report, out) -> None:
    json.dump(gitlab_report(report), out, indent=2)
    out.write("\n")


# -- junit ----------------------------------------------------------------------------------------
def junit_xml(report: Report) -> str:
    """One test suite per file, one failing test case per finding (ruff's layout), an
    ``<error>`` case per file that could not be analysed and one passing case per clean
    file, so a CI test view counts every file checked."""
    from xml.etree import ElementTree as ET   # here: only junit needs it
    by_path: dict[str, list[Item]] = {}
    for it in report.items:
        by_path.setdefault(it.path, []).append(it)
    problems: dict[str, list] = {}
    for u in report.unparsable:
        p = u if isinstance(u, Problem) else Problem(str(u).split(":", 1)[0], str(u))
        problems.setdefault(p.path, []).append(p)
    paths = list(dict.fromkeys(list(report.checked_paths) + list(by_path) + list(problems)))
    root = ET.Element("testsuites", name="keras-migrate")
    total = failures = errors = 0
    for path in paths:
        items, probs = by_path.get(path, []), problems.get(path, [])
        suite = ET.SubElement(root, "testsuite", name=path)
        n = 0
        for it in items:
            f = it.finding
            where = f"cell {it.cell}, " if it.cell is not None else ""
            case = ET.SubElement(suite, "testcase", name=f"keras-migrate.{f.code}", classname=path,
                                 line=str(it.line), column=str(it.col))
            fail = ET.SubElement(case, "failure", message=f.message, type=f.code)
            fail.text = f"{where}line {it.line}, col {it.col}, {f.message}"
            n += 1
        for p in probs:
            case = ET.SubElement(suite, "testcase", name="keras-migrate.not-analysed", classname=path)
            err = ET.SubElement(case, "error", message=p.message, type="not-analysed")
            err.text = str(p)
            n += 1
        if not items and not probs:
            ET.SubElement(suite, "testcase", name="No findings", classname=path)
            n += 1
        suite.set("tests", str(n))
        suite.set("failures", str(len(items)))
        suite.set("errors", str(len(probs)))
        total, failures, errors = total + n, failures + len(items), errors + len(probs)
    root.set("tests", str(total))
    root.set("failures", str(failures))
    root.set("errors", str(errors))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def format_junit(report: Report, out) -> None:
    out.write(junit_xml(report))


# -- dispatch -------------------------------------------------------------------------------------
def needs_edits(fmt: str) -> bool:
    return fmt in ("json", "json-lines")


def write(report: Report, fmt: str, out, *, unsafe: bool = False, rules: Sequence[type] = ()) -> None:
    fmt = ALIASES.get(fmt, fmt)
    writers: dict[str, Callable[[], None]] = {
        "concise": lambda: format_concise(report, unsafe, out),
        "full": lambda: format_full(report, unsafe, out),
        "json": lambda: format_json(report, out),
        "json-lines": lambda: format_json_lines(report, out),
        "sarif": lambda: format_sarif(report, rules, out),
        "github": lambda: format_github(report, out),
        "gitlab": lambda: format_gitlab(report, out),
        "junit": lambda: format_junit(report, out),
    }
    writers[fmt]()
