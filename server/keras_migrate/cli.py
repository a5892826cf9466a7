"""``keras-migrate``: the command-line adapter.  Files, formats and exit codes live here;
analysis lives in the engine (through ``keras_migrate.service``).

Exit codes: 0 clean, 1 findings (or changes with ``fix --diff``), 2 usage, config or I/O error.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
from pathlib import Path
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Optional, Sequence

from .version import __version__
from . import batch, formats
from . import fsio
from .config import BACKENDS, Config, ConfigError, ConfigResolver, config_for, exclusion, rule_enabled
from .discovery import iter_files
from .engine.model import Finding
from .engine.source import DecodeError, SourceText, decode_source  # noqa: F401 (API)
from .formats import DOCS_URL, Item, Problem, Report, format_github, format_json, sarif_log  # noqa: F401 (API)

if TYPE_CHECKING:
    from .service import Linter

# Imported when first used, not at start: a run answered from the results cache never
# analyses, so it never pays for the engine (analyze, notebook, fixer) or the rules
# (``keras_migrate.batch.LazyRules``).  ``cli.Linter``, ``cli.registry``, ... still work.
_LAZY = {"Linter": "service", "project_linter": "service", "registry": "service",
         "noqa_line": "engine.analyze", "NotebookError": "engine.notebook"}

from .checking import _items_for_text, _notebook_result, check_file, read_text  # noqa: E402,F401 (API)


def __getattr__(name: str):
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib
    value = getattr(importlib.import_module(f"{__package__}.{mod}"), name)
    globals()[name] = value
    return value


# -- commands -------------------------------------------------------------------------------------
def _split(value: Optional[str]) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()] if value else []


def _overrides(args) -> dict:
    o = {}
    if getattr(args, "select", None):
        o["select"] = _split(args.select)
    if getattr(args, "extend_select", None):
        o["extend-select"] = _split(args.extend_select)
    if getattr(args, "ignore", None):
        o["ignore"] = _split(args.ignore)
    if getattr(args, "target_backends", None):
        o["target-backends"] = _split(args.target_backends)
    if getattr(args, "keras_version", None):
        o["keras-version"] = args.keras_version
    if getattr(args, "exclude", None):
        o["exclude"] = _split(args.exclude)
    if getattr(args, "unsafe_fixes", False):
        o["unsafe-fixes"] = True
    return o


class Session:
    """One run's configuration model and linters: each file gets the nearest
    ``[tool.keras-migrate]`` above it (or ``--config``), the flags on top; one ``Linter`` per
    configuration, one cross-file workspace index per configuration root."""

    def __init__(self, args) -> None:
        config = getattr(args, "config", None)
        if config and not Path(config).is_file():
            raise ConfigError("--config", f"{config}: no such file")
        self.resolver = ConfigResolver(_overrides(args), Path(config) if config else None)
        self.rules = batch.LazyRules()   # the registry, imported on first use (a cached run never does)
        self.batch_options = batch.Options.from_args(args)
        self._linters: dict[Config, Linter] = {}
        self._indexes: dict[str, object] = {}
        self._folder_configs: dict[tuple, Config] = {}

    def config(self, path: Path, default_root: Optional[Path] = None) -> Config:
        return self.resolver.for_path(path, default_root)

    def folder_config(self, folder: Path, default_root: Optional[Path] = None) -> Config:
        """The configuration of the files in ``folder``, looked up once per folder in a run
        (a walk asks for every entry: a stat and a path resolution each, 1/3 of a warm run)."""
        key = (str(folder), None if default_root is None else str(default_root))
        cfg = self._folder_configs.get(key)
        if cfg is None:
            cfg = self._folder_configs[key] = self.resolver.for_path(folder, default_root)
        return cfg

    def linter(self, cfg: Config) -> Linter:
        from .service import project_linter
        return project_linter(self._linters, self._indexes, cfg, self.rules)


def _read_files_from(name: str) -> list[Path]:
    try:
        text = sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError("--files-from", f"{name}: cannot be read: {exc}") from None
    return [Path(line.strip()) for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def _targets(args) -> list[Path]:
    paths = [Path(p) for p in (getattr(args, "paths", None) or [])]
    if getattr(args, "files_from", None):
        paths += _read_files_from(args.files_from)
    return paths or ([] if getattr(args, "files_from", None) else [Path(".")])


def parse_shard(value: Optional[str]) -> Optional[tuple[int, int]]:
    if not value:
        return None
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", value)
    if not m or not (1 <= int(m.group(1)) <= int(m.group(2))):
        raise ConfigError("--shard", f"{value!r}: expected K/N with 1 <= K <= N, e.g. 2/4")
    return int(m.group(1)), int(m.group(2))


def shard_of(path: Path, n: int) -> int:
    """1-based shard of a file: a hash of its path relative to the working directory, so
    every machine of a CI matrix puts each file in the same shard whatever the walk order."""
    p = os.path.abspath(path)
    try:
        p = os.path.relpath(p)
    except ValueError:  # another drive (Windows)
        pass
    digest = hashlib.sha256(Path(p).as_posix().encode("utf-8", "surrogateescape")).digest()
    return int.from_bytes(digest[:8], "big") % n + 1


def collect(args, session: Session, errors: list[str], warnings: Optional[list[str]] = None,
            skipped: Optional[list] = None) -> list[tuple[Path, Config]]:
    """Every file the arguments name, with its configuration: discovery (gitignore,
    excludes, --force-exclude), --files-from and --shard, in a stable order.  A path named
    that is not a regular file or folder (a FIFO, a device) is an error; one met in a walk
    (or an unreadable folder) is a warning, and the walk goes on."""

    def on_skip(p: Path, why: str, named: bool) -> None:
        if skipped is not None:
            skipped.append((p, why))
        if named or warnings is None:
            errors.append(f"{p}: {why}")
        else:
            warnings.append(f"{p}: skipped: {why}")

    shard = parse_shard(getattr(args, "shard", None))
    force = bool(getattr(args, "force_exclude", False))
    jobs: list[tuple[Path, Config]] = []
    seen: set[str] = set()
    targets = _targets(args)
    for target in targets:
        try:
            exists, is_dir = target.exists(), target.is_dir()
        except OSError as exc:
            errors.append(f"{target}: cannot be read: {exc.strerror or exc}")
            continue
        if not exists:
            errors.append(f"{target}: no such file or directory")
            continue
        root = target if is_dir else target.parent
        for f in iter_files([target], exclusion(lambda d: session.folder_config(d, root)), force_exclude=force,
                            on_skip=on_skip):
            if len(targets) > 1:   # one target: the walk yields each real file once already
                key = os.path.realpath(f)
                if key in seen:
                    continue
                seen.add(key)
            if shard is not None and shard_of(f, shard[1]) != shard[0]:
                continue
            jobs.append((f, session.folder_config(f.parent, root)))
    return jobs


def run_checks(session: Session, jobs: Sequence[tuple[Path, Config]], report: Report, out=None, err=None,
               stream: bool = False) -> None:
    """The execution step: analyse each (file, configuration) with ``check_file``, on every
    core and through the results cache (``keras_migrate.batch``)."""
    batch.run_checks(session, jobs, report, out, err, stream=stream)


def _noqa_text(text: str, wanted: dict[int, set[str]]) -> tuple[str, int]:
    """``text`` with ``# noqa: CODES`` on the given 0-based lines, merged into a ``# noqa``
    comment already there (its codes first, as written); the number of codes added."""
    from .engine.analyze import parse_noqa
    # the engine's lines (\r\n, \r, \n): str.splitlines also breaks at \f, \v, \x85, ...
    st = SourceText(text)
    lines = [text[st.line_starts[i]:st.line_end(i)] for i in range(st.line_count)]
    added = 0
    for ln in sorted(wanted):
        if ln >= len(lines):
            continue
        line = lines[ln]
        body = line.rstrip("\r\n")
        ending = line[len(body):]
        c = parse_noqa(body)
        if c is not None and c.codes is None:
            continue  # a bare ``# noqa`` already covers every code
        if c is not None:
            have = list(c.codes)
            new = sorted(wanted[ln] - set(have))
            if not new:
                continue
            body = body[:c.codes_start] + ", ".join(have + new) + body[c.codes_end:]
        else:
            new = sorted(wanted[ln])
            body = body.rstrip() + "  # noqa: " + ", ".join(new)
        added += len(new)
        lines[ln] = body + ending
    return "".join(lines), added


def _skip_in_baseline(code: str) -> bool:
    return code == "K900"  # a noqa for the unused-noqa finding itself would be circular


def add_noqa_file(linter: Linter, path: Path, source: Optional["fsio.SourceFile"] = None
                  ) -> tuple[Optional[str], Optional[str], int]:
    """(original text, new text, codes added) for ``--add-noqa``; raises OSError/DecodeError."""
    from .engine.analyze import noqa_line, parse
    from .engine.notebook import NotebookError
    source = source or fsio.read_source(path)
    if path.suffix == ".ipynb":
        from .engine.notebook import load_notebook, write_cells
        text = source.text
        nr, why = _notebook_result(linter, text, path)
        if why:
            raise NotebookError(why)
        if nr.error or nr.result is None or nr.result.failed or nr.result.source is None:
            return text, None, 0
        vs = nr.vsource
        per_cell: dict[object, dict[int, set[str]]] = {}
        for f in nr.result.findings:
            if _skip_in_baseline(f.code):
                continue
            vline = noqa_line(vs.text, f.range.start.line)
            cell, line, _ = vs.line_in_cell(nr.result.source.offset(vline, 0))
            per_cell.setdefault(cell.key, {}).setdefault(line, set()).add(f.code)
        changed: dict = {}
        total = 0
        for cell in vs.cells:
            if cell.key in per_cell:
                new_src, n = _noqa_text(cell.text, per_cell[cell.key])
                if n:
                    changed[cell.key], total = new_src, total + n
        if not changed:
            return text, text, 0
        return text, write_cells(text, load_notebook(text), changed), total
    text = source.text
    res = linter.check_source(text, path)
    if res.errors:
        return text, None, 0
    wanted: dict[int, set[str]] = {}
    for f in res.findings:
        if not _skip_in_baseline(f.code):
            wanted.setdefault(noqa_line(text, f.range.start.line), set()).add(f.code)
    new, n = _noqa_text(text, wanted)
    if n and parse(new)[0] is None:  # never write a file that no longer parses
        return text, None, 0
    return text, new, n


def cmd_add_noqa(args, session: "Session", out, err) -> int:
    from .engine.notebook import NotebookError
    errors: list[str] = []
    warnings: list[str] = []
    added = files = 0
    for path, cfg in collect(args, session, errors, warnings):
        try:
            source = fsio.read_source(path)
            text, new, n = add_noqa_file(session.linter(cfg), path, source)
        except fsio.ReadError as exc:
            errors.append(f"{path}: {exc}")
            continue
        except (OSError, DecodeError, UnicodeDecodeError) as exc:
            errors.append(f"{path}: cannot read: {exc}")
            continue
        except NotebookError as exc:
            err.write(f"{path}: {exc}\n")
            continue
        if new is None:
            err.write(f"{path}: not changed: it could not be analysed\n")
            continue
        if n:
            try:
                _write(path, source, new)
            except OSError as exc:
                errors.append(f"{path}: {_write_reason(exc)}")
                continue
            added += n
            files += 1
    out.write(f"Added {added} noqa directive{'s' * (added != 1)} in {files} file{'s' * (files != 1)}.\n")
    for w in warnings:
        err.write(f"warning: {w}\n")
    for e in errors:
        err.write(f"error: {e}\n")
    return 2 if errors else 0


def write_statistics(report: Report, fmt: str, unsafe: bool, out) -> None:
    """ruff's ``--statistics``: one line per rule with findings, most frequent first."""
    rows: dict[str, list] = {}
    for it in report.items:
        f = it.finding
        r = rows.setdefault(f.code, [f.name, 0, 0])
        r[1] += 1
        r[2] += f.fixable(unsafe)
    ordered = sorted(rows.items(), key=lambda kv: (-kv[1][1], kv[0]))
    if fmt in ("json", "json-lines"):
        data = [{"code": c, "name": n, "count": k, "fixable": fx == k, "fixable_count": fx}
                for c, (n, k, fx) in ordered]
        out.write(json.dumps(data, indent=2) + "\n" if fmt == "json" else "".join(json.dumps(d) + "\n" for d in data))
        return
    width = max((len(str(k)) for _, (_, k, _) in ordered), default=1)
    for code, (name, count, fixable) in ordered:
        mark = "[*]" if fixable == count else ("[-]" if fixable else "[ ]")
        out.write(f"{count:>{width}}\t{code}\t{mark} {name}\n")
    line = formats.not_analysed_line(report)
    if line:
        out.write(line + "\n")


def cmd_check(args, out=None, err=None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    report = Report(want_edits=formats.needs_edits(formats.ALIASES.get(args.format, args.format)))
    warnings: list[str] = []
    session = Session(args)
    if getattr(args, "add_noqa", False):
        if args.stdin_filename:
            err.write("error: --add-noqa writes files; it cannot be used with --stdin-filename\n")
            return 2
        return cmd_add_noqa(args, session, out, err)
    if args.stdin_filename:
        path = Path(args.stdin_filename)
        cfg = session.config(path, path.parent if str(path.parent) else Path("."))
        check_file(session.linter(cfg), path, report, sys.stdin.read())
    else:
        run_checks(session, collect(args, session, report.errors, warnings), report, out, err,
                   stream=not getattr(args, "statistics", False) and args.format in batch.STREAMING_FORMATS)
    unsafe = getattr(args, "unsafe_fixes", False)
    if getattr(args, "statistics", False):
        write_statistics(report, formats.ALIASES.get(args.format, args.format), unsafe, out)
    else:
        formats.write(report, args.format, out, unsafe=unsafe, rules=session.rules)
    for w in warnings:
        err.write(f"warning: {w}\n")
    for e in report.errors:
        err.write(f"error: {e}\n")
    if report.errors:
        return 2
    if getattr(args, "exit_zero", False):
        return 0
    return 1 if (report.items or report.unparsable) else 0


def cmd_report(args, out=None, err=None) -> int:
    """The migration report: per rule, family and file, which files are ready per backend."""
    from . import report as migration
    out, err = out or sys.stdout, err or sys.stderr
    errors: list[str] = []
    if args.merge:
        parts = []
        for name in args.merge:
            try:
                parts.append(json.loads(Path(name).read_text(encoding="utf-8")))
            except (OSError, UnicodeDecodeError, ValueError) as exc:
                errors.append(f"{name}: cannot be read as JSON: {exc}")
        if errors:
            for e in errors:
                err.write(f"error: {e}\n")
            return 2
        try:
            data = migration.merge(parts)
        except ValueError as exc:
            err.write(f"error: {exc}\n")
            return 2
    else:
        session = Session(args)
        warnings: list[str] = []
        skipped: list[tuple[Path, str]] = []
        jobs = collect(args, session, errors, warnings, skipped)
        for w in warnings:
            err.write(f"warning: {w}\n")
        configs = {str(p): c for p, c in jobs}
        data = migration.scan(_targets(args), lambda p: configs.get(str(p)) or session.config(p),
                              lambda cfg, path: session.linter(cfg), files=[p for p, _ in jobs], skipped=skipped,
                              options=session.batch_options)
    text = migration.render(data, args.format)
    if args.output:
        try:
            fsio.write_text(args.output, text)
        except OSError as exc:
            errors.append(f"{args.output}: {_write_reason(exc)}")
    else:
        out.write(text)
    for e in errors:
        err.write(f"error: {e}\n")
    return 2 if errors else 0


def _write(path: Path, source: "fsio.SourceFile", text: str, check: bool = True) -> None:
    """Replace ``path`` with ``text`` in the encoding (and BOM) it was read with, atomically;
    with ``check``, only if the file is still what was read (``fsio.ChangedOnDisk``)."""
    fsio.atomic_write(path, source.encode(text), source.snapshot if check else None)


def _write_reason(exc: OSError) -> str:
    if isinstance(exc, fsio.WriteError):
        return str(exc)
    return f"not written: {exc.strerror or exc}"


def _diff(path: str, old: str, new: str, label: str = "") -> str:
    name = f"{path}{label}"
    import difflib
    lines = []
    for line in difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                     fromfile=name, tofile=name):
        lines.append(line if line.endswith(("\n", "\r")) else line + "\n\\ No newline at end of file\n")
    return "".join(lines)


def cmd_fix(args, out=None, err=None) -> int:
    from .engine.notebook import NotebookError
    out, err = out or sys.stdout, err or sys.stderr
    session = Session(args)
    unsafe = bool(args.unsafe_fixes)
    fixed_findings = 0
    changed_files = 0
    remaining = 0
    errors: list[str] = []
    problems: list[str] = []
    if args.stdin_filename:
        path = Path(args.stdin_filename)
        cfg = session.config(path, path.parent if str(path.parent) else Path("."))
        text = sys.stdin.read()
        outcome = session.linter(cfg).fix_source(text, path, unsafe)
        out.write(_diff(str(path), text, outcome.text) if args.diff else outcome.text)
        for p in outcome.failed:
            err.write(f"{path}: {p}\n")
        return 1 if (args.diff and outcome.text != text) else 0
    outdir = Path(args.outdir) if getattr(args, "outdir", None) else None
    targets = _targets(args)
    copies: list[tuple[Path, Config]] = []
    if outdir is not None:
        bad = _outdir_problem(outdir, targets)
        if bad:
            err.write(f"error: --outdir: {bad}\n")
            return 2
    warnings: list[str] = []
    jobs = collect(args, session, errors, warnings)
    if outdir is not None:   # copies from an earlier run inside the tree are not originals
        real_out = Path(os.path.realpath(outdir))
        jobs = [(p, c) for p, c in jobs if real_out not in Path(os.path.realpath(p)).parents]
    not_written = 0
    for path, cfg in jobs:
        linter = session.linter(cfg)
        try:
            source = fsio.read_source(path)
            text = source.text
            if path.suffix == ".ipynb":
                try:
                    new, outcome = linter.fix_notebook(text, path, unsafe)
                except (RecursionError, MemoryError, ValueError, TypeError, AttributeError, KeyError,
                        IndexError) as exc:
                    raise NotebookError(fsio.notebook_problem(text, exc)) from None
            else:
                outcome = linter.fix_source(text, path, unsafe)
                new = outcome.text
        except fsio.ReadError as exc:
            errors.append(f"{path}: {exc}")
            continue
        except (OSError, DecodeError, UnicodeDecodeError) as exc:
            errors.append(f"{path}: cannot read: {exc}")
            continue
        except NotebookError as exc:
            problems.append(f"{path}: {fsio.notebook_problem(text, str(exc))}")
            continue
        for p in outcome.failed:
            problems.append(f"{path}: {p}")
        if new != text:
            if args.diff:
                if path.suffix == ".ipynb":
                    out.write(_notebook_diff(linter, path, text, new))
                else:
                    out.write(_diff(str(path), text, new))
            elif outdir is None:
                try:
                    _write(path, source, new)
                except OSError as exc:   # the original is intact: say so, count nothing as fixed
                    errors.append(f"{path}: {_write_reason(exc)}")
                    not_written += 1
                    continue
            changed_files += 1
            fixed_findings += len(outcome.applied)
        if outdir is not None and not args.diff:
            dest = outdir / _rel_to_targets(path, targets)
            try:
                dest.parent.mkdir(parents=True, exist_ok=True)
                _write(dest, source, new, check=False)
            except OSError as exc:
                errors.append(f"{dest}: {_write_reason(exc)}")
                continue
            copies.append((dest, cfg))
        # what is left after fixing
        rep = Report()
        check_file(linter, path, rep, new)
        remaining += len(rep.items)
    for p in problems:
        err.write(f"{p}\n")
    if outdir is not None and not args.diff:
        from . import report as migration
        configs = {str(p): c for p, c in copies}
        data = migration.scan([outdir], lambda p: configs.get(str(p)) or session.config(p),
                              lambda cfg, p: session.linter(cfg), files=[p for p, _ in copies])
        try:
            fsio.write_text(outdir / "keras-migrate-report.md", migration.markdown(data))
            fsio.write_text(outdir / "keras-migrate-report.json", migration.to_json(data))
        except OSError as exc:
            errors.append(f"{outdir}: cannot write the report: {exc}")
        out.write(f"Wrote {len(copies)} file{'s' * (len(copies) != 1)} and the report "
                  f"(keras-migrate-report.md) to {outdir}.\n")
    verb = "Would fix" if args.diff else "Fixed"
    summary = (f"{verb} {fixed_findings} finding{'s' * (fixed_findings != 1)} in {changed_files} "
               f"file{'s' * (changed_files != 1)}; {remaining} remaining"
               f"{' (some need --unsafe-fixes or a manual change)' if remaining else ''}.\n")
    (err if args.diff else out).write(summary)
    if not_written:
        err.write(f"{not_written} file{'s' * (not_written != 1)} not written (left as they were); see below.\n")
    for w in warnings:
        err.write(f"warning: {w}\n")
    for e in errors:
        err.write(f"error: {e}\n")
    if errors:
        return 2
    if args.diff:
        return 1 if changed_files else 0
    return 1 if remaining else 0


def _rel_to_targets(path: Path, targets: Sequence[Path]) -> Path:
    """Where a file goes under ``--outdir``: its path below the folder argument it was found
    in (a file argument: its name), as tf_upgrade_v2's ``--outtree``."""
    ap = Path(os.path.abspath(path))
    best: Optional[Path] = None
    for t in targets:
        at = Path(os.path.abspath(t))
        base = at if at.is_dir() else at.parent
        if base == ap.parent or base in ap.parents:
            rel = ap.relative_to(base)
            if best is None or len(rel.parts) < len(best.parts):
                best = rel
    return best if best is not None else Path(ap.name)


def _outdir_problem(outdir: Path, targets: Sequence[Path]) -> Optional[str]:
    o = Path(os.path.realpath(outdir))
    for t in targets:
        rt = Path(os.path.realpath(t))
        base = rt if rt.is_dir() else rt.parent
        if o == base:
            return f"{outdir} is where the originals are: the copies would overwrite them"
    return None


def _notebook_diff(linter: Linter, path: Path, old_raw: str, new_raw: str) -> str:
    from .engine.notebook import code_cells, load_notebook
    old = dict(code_cells(load_notebook(old_raw)))
    new = dict(code_cells(load_notebook(new_raw)))
    return "".join(_diff(str(path), old[i], new[i], f":cell {i + 1}") for i in old if old[i] != new.get(i, old[i]))


def cmd_rules(args, out=None, err=None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    if args.coverage:
        try:
            from keras_migrate.rules.api.coverage import format_coverage
        except ImportError:
            err.write("error: the API coverage table is not available in this build\n")
            return 2
        out.write(format_coverage().rstrip() + "\n")
        return 0
    from .service import registry
    cfg = config_for(Path("."), _overrides(args))
    rows = []
    for r in registry():
        fix = r.fix.value if r.fix else "guidance"
        on = "on" if rule_enabled(r, cfg) else "off"
        rows.append((r.code, r.name, r.group.value, fix, r.severity.value, on))
    if args.format == "markdown":
        out.write(rules_markdown())
        return 0
    if args.format == "json":
        json.dump([dict(zip(("code", "name", "group", "fix", "severity", "enabled"), row)) for row in rows], out,
                  indent=2)
        out.write("\n")
        return 0
    widths = [max(len(str(row[i])) for row in rows + [("code", "name", "group", "fix", "severity", "enabled")])
              for i in range(6)]
    header = ("code", "name", "group", "fix", "severity", "enabled")
    for row in [header] + rows:
        out.write("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip() + "\n")
    return 0


def rules_markdown() -> str:
    """docs/rules.md, generated from the rules' own docs (never written by hand)."""
    from .service import registry
    rules = registry()
    out = ["# Rules", "",
           "Generated by `keras-migrate rules --format markdown > docs/rules.md` from each rule's",
           "docstring; do not edit by hand. Fix: *safe* keeps behaviour (applied by `fix`),",
           "*unsafe* may change it (`fix --unsafe-fixes`), *guidance* explains what to write.", "",
           "| code | name | group | severity | fix | default |", "|---|---|---|---|---|---|"]
    for r in rules:
        default = "on" if r.default_enabled and not r.keras_versions else (
            f"keras {r.keras_versions[0]}–{r.keras_versions[1] or 'latest'}" if r.keras_versions else "off")
        if r.group.value == "portability" and default == "on":
            default = "jax/torch targets"
        out.append(f"| [{r.code}](#{r.anchor()}) | {r.name} | {r.group.value} | {r.severity.value} | "
                   f"{r.fix.value if r.fix else 'guidance'} | {default} |")
    out.append("")
    for r in rules:
        out.append(f"## {r.code} {r.name}")
        out.append("")
        body = r.doc().replace("\n## ", "\n### ")
        out.append(body)
        out.append("")
    return "\n".join(out)


def cmd_rule(args, out=None, err=None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    from keras_migrate.rules import rule_by_code
    r = rule_by_code(args.code)
    if r is None:
        err.write(f"error: no rule {args.code!r} (see `keras-migrate rules`)\n")
        return 2
    out.write(f"# {r.code} {r.name}\n\n")
    out.write(f"Group: {r.group.value}. Severity: {r.severity.value}. "
              f"Fix: {r.fix.value if r.fix else 'guidance only'}."
              f"{' Off by default.' if not r.default_enabled else ''}"
              f"{f' Breaks on Keras {r.keras_versions[0]} to before {r.keras_versions[1]}.' if r.keras_versions and r.keras_versions[1] else ''}\n\n")
    out.write(r.doc() + "\n")
    return 0


# -- argument parsing -------------------------------------------------------------------------------
def _common(p: argparse.ArgumentParser, fixes: bool = True) -> None:
    p.add_argument("paths", nargs="*", help="files or directories (default: .)")
    p.add_argument("--select", metavar="CODES",
                   help="rule codes or prefixes to enable instead of the defaults, comma-separated (e.g. K1,K501; "
                        "ALL for every rule); an unknown code is an error")
    p.add_argument("--extend-select", metavar="CODES",
                   help="rule codes or prefixes to enable on top of the selection, comma-separated")
    p.add_argument("--ignore", metavar="CODES", help="rule codes or prefixes to disable, comma-separated")
    p.add_argument("--target-backends", metavar="BACKENDS",
                   help=f"the Keras backends the code must run on, comma-separated: {', '.join(BACKENDS)} "
                        "(jax or torch turn the portability rules on)")
    p.add_argument("--keras-version", metavar="VERSION",
                   help="the Keras 3 release the code will run on (e.g. 3.15.1)")
    p.add_argument("--exclude", metavar="PATTERNS",
                   help="gitignore-style patterns of files and folders to skip, comma-separated")
    p.add_argument("--force-exclude", action="store_true",
                   help="apply the excludes to files named on the command line too (for pre-commit)")
    p.add_argument("--config", metavar="PYPROJECT",
                   help="a pyproject.toml to use for every file, instead of each file's nearest one")
    p.add_argument("--files-from", metavar="FILE",
                   help="read the paths to check from FILE, one a line (- for stdin)")
    p.add_argument("--shard", metavar="K/N",
                   help="check only the K-th of N shards of the files (a stable split by path, for CI matrices)")
    if not fixes:
        return
    p.add_argument("--stdin-filename", metavar="PATH",
                   help="read the source from stdin, reporting it under (and configuring it as) PATH")
    p.add_argument("--unsafe-fixes", action="store_true", help="include fixes that may change behaviour")


@dataclass(frozen=True)
class Command:
    """A subcommand another adapter adds to this program (the entry point, keras_migrate.entry,
    adds the language server's ``server``): the CLI does not import its sibling adapters.
    ``add_arguments`` runs only when the command is the one about to run (or for --help)."""
    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def build_parser(command: Optional[str] = None, commands: Sequence[Command] = ()) -> argparse.ArgumentParser:
    """The parser; with ``command`` (the subcommand about to run), the options of ``run``
    and of the added ``commands`` are only added when that is the command (they import their
    packages: the runner's cost a ``check`` answered from the cache would pay at every start)."""
    parser = argparse.ArgumentParser(prog="keras-migrate",
                                     description="Find and fix Keras 2 code for multi-backend Keras 3.")
    parser.add_argument("--version", action="version", version=f"keras-migrate {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    c = sub.add_parser("check", help="report Keras 2 patterns")
    _common(c)
    c.add_argument("--output-format", "--format", dest="format", default="concise", metavar="FORMAT",
                   choices=formats.FORMATS + tuple(formats.ALIASES),
                   help=f"how findings are written: {', '.join(formats.FORMATS)} (default: concise; "
                        f"--format is the same option, and `text` means concise)")
    c.add_argument("--statistics", action="store_true",
                   help="print the number of findings per rule (and how many are fixable) instead of each one")
    c.add_argument("--exit-zero", action="store_true",
                   help="exit 0 even when there are findings (2 still means a usage, config or I/O error)")
    c.add_argument("--add-noqa", action="store_true",
                   help="write `# noqa: K...` on every line with a finding (a baseline for a long migration); "
                        "merges with noqa comments already there; running it again changes nothing")
    batch.add_arguments(c)
    c.set_defaults(func=cmd_check)
    f = sub.add_parser("fix", help="apply fixes in place (safe ones; --unsafe-fixes for all)")
    _common(f)
    f.add_argument("--diff", action="store_true", help="print a unified diff and write nothing")
    f.add_argument("--outdir", metavar="DIR",
                   help="leave the originals alone: write migrated copies of every file checked under DIR "
                        "(the tree below each folder argument), with the migration report of the copies "
                        "(keras-migrate-report.md and .json) next to them")
    f.set_defaults(func=cmd_fix)
    rep = sub.add_parser("report", help="the migration report: per rule, family and file, which files are "
                                        "ready for each backend and what blocks the others")
    _common(rep, fixes=False)
    rep.add_argument("--format", "--output-format", dest="format", choices=("markdown", "json", "html"),
                     default="markdown", help="markdown (default), json (mergeable with --merge) or a "
                                              "self-contained html page with charts")
    rep.add_argument("-o", "--output", metavar="FILE", help="write the report to FILE instead of stdout")
    rep.add_argument("--merge", nargs="+", metavar="JSON",
                     help="merge reports written with --format json (e.g. one per --shard) instead of scanning")
    batch.add_arguments(rep, cache=False)
    rep.set_defaults(func=cmd_report)
    r = sub.add_parser("rules", help="list every rule")
    r.add_argument("--format", "--output-format", dest="format", choices=("text", "json", "markdown"),
                   default="text", help="text (a table, default), json, or markdown (docs/rules.md)")
    r.add_argument("--coverage", action="store_true", help="how much of the Keras 2 API the data covers")
    r.add_argument("--target-backends", metavar="BACKENDS",
                   help="show which rules are on for these backends (comma-separated)")
    r.add_argument("--keras-version", metavar="VERSION", help="show which rules are on for this Keras 3 release")
    r.set_defaults(func=cmd_rules)
    d = sub.add_parser("rule", help="print a rule's documentation")
    d.add_argument("code", help="a rule code or name, e.g. K101 or tensorflow-keras-import")
    d.set_defaults(func=cmd_rule)
    for cmd in commands:
        s = sub.add_parser(cmd.name, help=cmd.help)
        if command in (None, cmd.name):
            cmd.add_arguments(s)
            s.set_defaults(func=cmd.run)
    run = sub.add_parser("run", help="run a file on a Keras backend (jax, torch, tensorflow, all)")
    if command in (None, "run"):
        _runner_arguments(run)
    parser.km_subparsers = dict(sub.choices)  # type: ignore[attr-defined]
    return parser


def _runner_arguments(run: argparse.ArgumentParser) -> None:
    try:
        from keras_migrate.runner import cli as runner_cli
    except ImportError:
        run.set_defaults(func=lambda a: _unavailable("run"))
        return
    runner_cli.add_arguments(run)
    run.set_defaults(func=lambda a: runner_cli.main(a))


def _unavailable(what: str) -> int:
    sys.stderr.write(f"error: `{what}` is not available in this installation\n")
    return 2


def main(argv: Optional[Sequence[str]] = None, commands: Sequence[Command] = ()) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # the first word is the subcommand (the top level has only --help and --version)
    parser = build_parser(argv[0] if argv and not argv[0].startswith("-") else None, commands)
    extra: list[str] = []
    if "--" in argv and argv and argv[0] == "run":
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        # the usage of the subcommand the flag was given to, not the top-level one
        sub = getattr(parser, "km_subparsers", {}).get(getattr(args, "command", None))
        (sub or parser).error(f"unrecognized arguments: {' '.join(unknown)}")
    if extra:
        args.program_args = extra
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
