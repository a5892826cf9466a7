"""The migration report (``keras-migrate report`` and the editor's ``keras-migrate.report``
command): findings per rule, per rule family and per file, and per target backend which
files are ready and which block, with the rules that block them.

A file is *ready* for a backend when, analysed with that backend as the only target, it has
no enabled finding.  Files that cannot be read, decoded or parsed are listed, never skipped
silently.  The data is built from one record per file, so reports of shards (``--shard``)
merge exactly (:func:`merge`).  Formats: Markdown, JSON and a self-contained HTML page (no
script, no network: the charts are inline SVG).
"""
from __future__ import annotations

import html as _html
import json
from dataclasses import replace
from pathlib import Path
from typing import Callable, Iterable, Optional, Sequence

from .version import __version__
from . import fsio
from .config import BACKENDS, Config, exclusion, file_ignores, rule_enabled
from .discovery import iter_files
from .engine.model import Group
from .engine.source import DecodeError

MAX_BYTES = fsio.DEFAULT_MAX_BYTES   # the limit in force is fsio.max_bytes() (configurable)
DOCS_URL = "https://github.com/keras-migrate/keras-migrate/blob/main/docs/rules.md"
FAMILY_OF_PREFIX = {"K1": "imports", "K2": "saving", "K3": "layers", "K4": "training", "K5": "api",
                    "K6": "portability", "K9": "noqa"}


def _rule(code: str):
    try:
        from keras_migrate.rules import rule_by_code
    except ImportError:  # pragma: no cover
        return None
    return rule_by_code(code)


def family(code: str) -> str:
    r = _rule(code)
    if r is not None:
        parts = r.__module__.split(".")
        if len(parts) >= 4 and parts[-3] == "rules":
            return parts[-2]
    return FAMILY_OF_PREFIX.get(code[:2], "other")


def rule_href(code: str) -> str:
    r = _rule(code)
    return f"{DOCS_URL}#{r.anchor()}" if r is not None else DOCS_URL


# -- one file ---------------------------------------------------------------------------------------
def read_for_analysis(path: Path) -> tuple[Optional[str], Optional[str]]:
    """(text, None) or (None, why not): the bytes decoded as Python does, notebooks as UTF-8.
    Only a regular file is opened (a FIFO named ``x.py`` would hang the report), within the
    size limit (``fsio.max_bytes()``; a link to ``/dev/zero`` is not a regular file)."""
    try:
        return fsio.read_source(path).text, None
    except fsio.ReadError as exc:
        return None, str(exc)
    except OSError as exc:
        return None, f"cannot be read: {exc.strerror or exc}"
    except (DecodeError, UnicodeDecodeError) as exc:
        return None, f"cannot be decoded: {exc}"


def _findings(linter, path: Path, text: str):
    """(findings, None, None), (None, why the file could not be analysed, None), or
    (findings of what parsed, None, why the rest could not be) for a partly analysed file."""
    if path.suffix == ".ipynb":
        try:
            res = linter.check_notebook(text, path)
        except (RecursionError, MemoryError, ValueError, TypeError, AttributeError, KeyError, IndexError) as exc:
            return None, fsio.notebook_problem(text, exc), None
        if res.error:
            return None, fsio.notebook_problem(text, res.error), None
        found = res.result.findings if res.result else []
        if res.cell_errors:  # partly analysed: what parsed counts, the file is never called ready
            e = res.cell_errors[0]
            more = f" (and {len(res.cell_errors) - 1} more)" if len(res.cell_errors) > 1 else ""
            return found, None, f"cell {e.key + 1}, line {e.line + 1}: {e.message}{more}"
        if res.result is not None and res.result.error is not None:
            if not getattr(res.result, "partial", False):
                return None, res.result.error.message, None
            return found, None, res.result.error.message
        return found, None, None
    res = linter.check_source(text, path)
    if res.error is not None:
        where = f"{res.error.message} (line {res.error.line + 1})"
        more = f" (and {len(res.errors) - 1} more)" if len(getattr(res, "errors", ())) > 1 else ""
        if getattr(res, "partial", False):
            return res.findings, None, where + more
        return None, where, None
    return res.findings, None, None


def _counts(found) -> dict[str, int]:
    out: dict[str, int] = {}
    for f in found:
        out[f.code] = out.get(f.code, 0) + 1
    return dict(sorted(out.items()))


_SENSITIVE: dict = {}


def backend_sensitive(rule: type) -> bool:
    """Whether a rule reads which backends are targeted (not only whether any is portable):
    its source names ``target_backends``.  Conservative: no source means yes."""
    got = _SENSITIVE.get(rule)
    if got is None:
        import inspect
        import sys
        try:
            got = "target_backends" in inspect.getsource(sys.modules[rule.__module__])
        except (OSError, TypeError, KeyError):
            got = True
        _SENSITIVE[rule] = got
    return got


_NAMED: dict = {}


def _named_codes(rule: type) -> frozenset:
    """Other rules' codes a rule's module names (the rules it may ask ``ctx.enabled`` about)."""
    got = _NAMED.get(rule)
    if got is None:
        import inspect
        import re
        import sys
        try:
            src = inspect.getsource(sys.modules[rule.__module__])
        except (OSError, TypeError, KeyError):
            src = ""
        got = _NAMED[rule] = frozenset(re.findall(r"[\"']\b(K\d{3})\b[\"']", src)) - {rule.code}
    return got


_PLANS: dict = {}


def _plan(rules: Sequence[type], cfg: Config, path: Path, text: str) -> Optional[tuple[Config, dict]]:
    """``_plan_for``, once per (rules, configuration, the file's per-file ignores, whether the
    text has a noqa comment): all it reads of the file (it cost ~400 rule_enabled calls a file)."""
    has_noqa = "noqa" in text or "NOQA" in text
    key = (tuple(rules), cfg, file_ignores(cfg, path), has_noqa)
    got = _PLANS.get(key, _PLANS)
    if got is _PLANS:
        if len(_PLANS) > 256:
            _PLANS.clear()
        got = _PLANS[key] = _plan_for(rules, cfg, path, text)
    return got


def _plan_for(rules: Sequence[type], cfg: Config, path: Path, text: str) -> Optional[tuple[Config, dict]]:
    """How to answer every backend from one analysis: the configuration to analyse with (the
    rules any backend enables, portable settings) and, per backend (and ``None`` for ``cfg``
    itself), the codes that count, whether its settings are portable, and the configuration
    its backend-sensitive rules (``backend_sensitive``) run with on their own (or None).  ``None`` when one
    analysis cannot answer exactly: a non-portable backend that names a portability rule (it
    would stay silent there), or ``# noqa`` comments with a rule that judges them by the
    enabled set (K900)."""
    configs = {None: cfg}
    for backend in BACKENDS:
        configs[backend] = replace(cfg, target_backends=(backend,))
    extra = {c: file_ignores(c, path) for c in set(configs.values())}
    want: dict = {}
    union: set[str] = set()
    sensitive = {r.code for r in rules if backend_sensitive(r)}
    for key, c in configs.items():
        codes = {r.code for r in rules if rule_enabled(r, c, extra[c])}
        portable = c.settings.portability
        if not portable and any(r.group is Group.PORTABILITY and r.code in codes for r in rules):
            return None
        own = codes & sensitive
        # with the rules they may defer to (ctx.enabled), so ownership is settled as in the
        # full run: K202 leaves a load that K201 renames to K201 only when K201 is on
        owners = {o for r in rules if r.code in own for o in _named_codes(r)} & codes
        alone = replace(c, select=tuple(sorted(own | owners)), extend_select=(), ignore=(), per_file_ignores=()) \
            if own else None
        want[key] = (codes - sensitive, portable, alone, own)
        union |= codes - sensitive
    if ("noqa" in text or "NOQA" in text) and any(hasattr(r, "check_noqa") and r.code in union | sensitive
                                                   for r in rules):
        return None
    targets = cfg.target_backends if cfg.settings.portability else tuple(cfg.target_backends) + ("jax",)
    one = replace(cfg, select=tuple(sorted(union)), extend_select=(), ignore=(), per_file_ignores=(),
                  target_backends=targets)
    return one, want


def _portability_codes(rules: Sequence[type]) -> frozenset:
    return frozenset(r.code for r in rules if r.group is Group.PORTABILITY)


def file_record(linter_for: Callable[[Config], object], cfg: Config, path: Path, rel: str) -> dict:
    """``{"file", "findings": {code: n}, "targets": [...], "backends": {backend: {code: n}}}``
    or ``{"file", "problem"}`` - everything the report says about one file.

    One analysis answers every backend: the rules any of them enables run once, with portable
    settings, and each backend counts the findings of its own rules (a portability rule says
    nothing on a TensorFlow-only target, where it is off); the few rules that read the exact
    targets (``backend_sensitive``) run on their own per distinct target.  Where that cannot be exact
    (``_plan``), each distinct configuration is analysed, as before."""
    text, why = read_for_analysis(path)
    if why is not None:
        return {"file": rel, "problem": why}
    linter = linter_for(cfg)
    rules = getattr(linter, "rules", None)
    plan = _plan(rules, cfg, path, text) if rules else None
    if plan is not None:
        one, want = plan
        found, err, partial = _findings(linter_for(one), path, text)
        if err is not None:
            return {"file": rel, "problem": err}
        gated = _portability_codes(rules)
        alone_found: dict = {}

        def counted(key):
            codes, portable, alone, own = want[key]
            got = [f for f in found if f.code in codes and (portable or f.code not in gated)]
            if alone is not None:   # the rules that read the exact targets: their own small run
                if alone not in alone_found:
                    more, _aerr, _apartial = _findings(linter_for(alone), path, text)
                    alone_found[alone] = more or []
                got += [f for f in alone_found[alone] if f.code in own]
            return _counts(got)

        return _with_partial({"file": rel, "findings": counted(None), "targets": list(cfg.target_backends),
                              "backends": {b: counted(b) for b in BACKENDS}}, partial)
    return file_record_per_backend(linter_for, cfg, path, rel, text)


def file_record_per_backend(linter_for: Callable[[Config], object], cfg: Config, path: Path, rel: str,
                            text: Optional[str] = None) -> dict:
    """The record from one analysis per distinct backend configuration (the reference
    ``file_record`` must equal)."""
    if text is None:
        text, why = read_for_analysis(path)
        if why is not None:
            return {"file": rel, "problem": why}
    found, err, partial = _findings(linter_for(cfg), path, text)
    if err is not None:
        return {"file": rel, "problem": err}
    backends = {}
    for backend in BACKENDS:
        bcfg = replace(cfg, target_backends=(backend,))
        if bcfg == cfg:
            bfound = found
        else:
            bfound, berr, _bpartial = _findings(linter_for(bcfg), path, text)
            if berr is not None:  # pragma: no cover - the same text parsed above
                bfound = found
        backends[backend] = _counts(bfound)
    return _with_partial({"file": rel, "findings": _counts(found), "targets": list(cfg.target_backends),
                          "backends": backends}, partial)


def _with_partial(record: dict, partial: Optional[str]) -> dict:
    """A partly analysed file: its findings count, it is never ready, and the report says why."""
    if partial is not None:
        record["partial"] = f"partly analysed: {partial}"
    return record


# -- the whole report -------------------------------------------------------------------------------
def build(records: Iterable[dict], files: Optional[int] = None) -> dict:
    """The report's data from per-file records (``file_record``), in a stable order."""
    by_file: dict[str, dict] = {}
    for r in records:
        by_file[r["file"]] = r   # a file seen twice (overlapping merges) counts once
    recs = [by_file[k] for k in sorted(by_file)]
    ok = [r for r in recs if "problem" not in r]
    per_rule: dict[str, int] = {}
    per_family: dict[str, int] = {}
    per_file: dict[str, dict[str, int]] = {}
    ready: dict[str, list[str]] = {b: [] for b in BACKENDS}
    blocking: dict[str, dict[str, dict[str, int]]] = {b: {} for b in BACKENDS}
    targets: set[str] = set()
    for r in ok:
        targets.update(r.get("targets") or ())
        for code, n in r["findings"].items():
            per_rule[code] = per_rule.get(code, 0) + n
            fam = family(code)
            per_family[fam] = per_family.get(fam, 0) + n
        if r["findings"]:
            per_file[r["file"]] = dict(r["findings"])
        for b in BACKENDS:
            counts = r["backends"].get(b, {})
            if counts or r.get("partial"):   # code that did not parse is never ready
                blocking[b][r["file"]] = dict(counts)
            else:
                ready[b].append(r["file"])
    rules = {}
    for code in sorted(set(per_rule) | {c for b in blocking.values() for cs in b.values() for c in cs}):
        rc = _rule(code)
        rules[code] = {"name": rc.name if rc else "", "family": family(code),
                       "fix": (rc.fix.value if rc.fix else "guidance") if rc else "", "url": rule_href(code)}
    return {
        "version": __version__,
        "files": len(recs) if files is None else files,
        "scanned": len(ok),
        "perRule": dict(sorted(per_rule.items())),
        "perFamily": dict(sorted(per_family.items(), key=lambda kv: (-kv[1], kv[0]))),
        "perFile": dict(sorted(per_file.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))),
        "ready": ready,
        "blocking": blocking,
        "targetBackends": sorted(targets) or ["tensorflow"],
        "problems": [{"file": r["file"], "problem": r["problem"]} for r in recs if "problem" in r],
        "partial": [{"file": r["file"], "problem": r["partial"]} for r in recs if r.get("partial")],
        "rules": rules,
        "records": recs,
    }


def merge(reports: Sequence[dict]) -> dict:
    """One report from several (the JSON of ``report`` runs on shards or repositories)."""
    records: list[dict] = []
    for d in reports:
        if not isinstance(d, dict) or not isinstance(d.get("records"), list):
            raise ValueError("not a keras-migrate report (no per-file records): write it with "
                             "`keras-migrate report --format json`")
        records.extend(d["records"])
    return build(records)


def scan(roots: Sequence[Path], config_for: Callable[[Path], Config], linter_for: Callable[[Config, Path], object],
         progress: Callable[[int, int, str], None] = lambda *a: None, cancelled: Callable[[], bool] = lambda: False,
         files: Optional[Sequence[Path]] = None, force_exclude: bool = False,
         skipped: Sequence[tuple[Path, str]] = (), options=None) -> dict:
    """Walk ``roots`` with the CLI's walker (or take ``files``), one record per file; a path
    the walk does not read (a FIFO, a device, an unreadable folder) is listed with why.  In
    this process (``linter_for``) or, with ``options`` (``keras_migrate.batch.Options``), on
    its process pool.  ``cancelled()`` stops the scan: the data then has ``"cancelled": True``
    and the records done so far."""
    from . import batch
    skipped = list(skipped)
    if files is None:
        files = list(iter_files(list(roots), exclusion(config_for), force_exclude=force_exclude,
                                on_skip=lambda p, why, named: skipped.append((p, why))))
    total = len(files)
    records: list[dict] = [{"file": _rel(p, roots), "problem": why} for p, why in skipped]
    work: list[tuple[Path, str, Config]] = []
    order: list = []
    for path in files:
        rel = _rel(path, roots)
        try:
            cfg = config_for(path)
        except Exception as exc:  # a broken pyproject: the file is listed, the scan goes on
            order.append({"file": rel, "problem": f"configuration: {exc}"})
            continue
        order.append(len(work))
        work.append((path, rel, cfg))
    if options is None:
        options = batch.Options(jobs=1)
    done = _records(work, linter_for, options, progress, cancelled)
    for entry in order:
        if isinstance(entry, dict):
            records.append(entry)
        elif entry < len(done):
            records.append(done[entry])
    data = build(records, total)
    if cancelled() or len(done) < len(work):
        data["cancelled"] = True
    return data


def safe_record(linter_for: Callable[[Config], object], cfg: Config, path: Path, rel: str) -> dict:
    """``file_record``, where one bad file (or an engine bug on it) never fails the report."""
    try:
        return file_record(linter_for, cfg, path, rel)
    except Exception as exc:
        return {"file": rel, "problem": f"internal error: {type(exc).__name__}: {exc}"}


def _records(work, linter_for, options, progress, cancelled) -> list[dict]:
    from . import batch
    if options.workers() > 1 and len(work) >= 8:
        # the pool's workers have their own linters (the CLI's: one index per configuration root)
        return batch.report_records(work, None, safe_record, options, progress, cancelled)
    out = []
    total = len(work)
    for n, (path, rel, cfg) in enumerate(work):
        if cancelled():
            break
        progress(n, total, rel)
        out.append(safe_record(lambda c, path=path: linter_for(c, path), cfg, path, rel))
    progress(total, total, "done")
    return out


def _rel(path: Path, roots: Sequence[Path]) -> str:
    for r in roots:
        try:
            rel = path.relative_to(r).as_posix()
            return rel if rel != "." else path.name
        except ValueError:
            continue
    return path.as_posix()


# -- formats ----------------------------------------------------------------------------------------
def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' * (n != 1)}"


# the report's lists of files left out, in order: (key in the report's data, heading)
_LEFT_OUT = (("problems", "Files not analysed"), ("partial", "Files analysed in part"))


def markdown(d: dict, max_files: int = 50) -> str:
    lines = ["# Keras migration report", ""]
    findings = sum(d["perRule"].values())
    lines.append(f"{d['scanned']} of {_plural(d['files'], 'file')} analysed, {_plural(findings, 'finding')} "
                 f"in {_plural(len(d['perFile']), 'file')}.")
    if d["problems"]:
        lines.append(f"**{_plural(len(d['problems']), 'file')} could not be analysed** (listed at the end).")
    if d.get("partial"):
        lines.append(f"**{_plural(len(d['partial']), 'file')} analysed only in part** (code that does not "
                     "parse; never counted as ready; listed at the end).")
    lines += ["", "## Ready per backend", "", "| Backend | Ready files | Of | Blocking rules |", "|---|---|---|---|"]
    for b, files in d["ready"].items():
        mark = " (target)" if b in d["targetBackends"] else ""
        why: dict[str, int] = {}
        for counts in d.get("blocking", {}).get(b, {}).values():
            for c, n in counts.items():
                why[c] = why.get(c, 0) + n
        top = ", ".join(f"{c}×{n}" for c, n in sorted(why.items(), key=lambda kv: (-kv[1], kv[0]))[:8]) or "-"
        lines.append(f"| {b}{mark} | {len(files)} | {d['scanned']} | {top} |")
    if d.get("perFamily"):
        lines += ["", "## Findings per family", "", "| Family | Count |", "|---|---|"]
        for fam, n in d["perFamily"].items():
            lines.append(f"| {fam} | {n} |")
    if d["perRule"]:
        lines += ["", "## Findings per rule", "", "| Rule | Name | Family | Count |", "|---|---|---|---|"]
        for code, n in d["perRule"].items():
            info = d.get("rules", {}).get(code, {})
            lines.append(f"| [{code}]({info.get('url', rule_href(code))}) | {info.get('name', '')} | "
                         f"{info.get('family', family(code))} | {n} |")
    for b in d["ready"]:
        blocked = d.get("blocking", {}).get(b, {})
        if not blocked or b not in d["targetBackends"]:
            continue
        lines += ["", f"## Blocking {b}", "", "| File | Rules |", "|---|---|"]
        for f, counts in sorted(blocked.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))[:max_files]:
            lines.append(f"| `{f}` | {', '.join(f'{c}×{n}' for c, n in counts.items()) or 'partly analysed'} |")
        if len(blocked) > max_files:
            lines.append(f"| … {len(blocked) - max_files} more | |")
    if d["perFile"]:
        lines += ["", "## Findings per file", "", "| File | Findings | Rules |", "|---|---|---|"]
        for f, counts in list(d["perFile"].items())[:max_files]:
            rules = ", ".join(f"{c}×{n}" for c, n in counts.items())
            lines.append(f"| `{f}` | {sum(counts.values())} | {rules} |")
        if len(d["perFile"]) > max_files:
            lines.append(f"| … {len(d['perFile']) - max_files} more | | |")
    for key, heading in _LEFT_OUT:
        if d.get(key):
            lines += ["", f"## {heading}", ""]
            for p in d[key]:
                lines.append(f"- `{p['file']}`: {p['problem']}")
    return "\n".join(lines) + "\n"


def to_json(d: dict) -> str:
    return json.dumps(d, indent=2) + "\n"


_FAMILY_COLOURS = {"imports": "#4e79a7", "saving": "#f28e2b", "layers": "#59a14f", "training": "#e15759",
                   "api": "#76b7b2", "portability": "#b07aa1", "noqa": "#9c755f", "other": "#bab0ac"}


def _bar_chart(title: str, rows: Sequence[tuple[str, int, str]], chart_id: str) -> str:
    """A horizontal bar chart as inline SVG: (label, value, colour) rows."""
    if not rows:
        return f'<figure id="{chart_id}"><figcaption>{_html.escape(title)}</figcaption><p>No findings.</p></figure>'
    bar_h, gap, label_w, width = 22, 6, 200, 720
    top = max(v for _, v, _ in rows) or 1
    height = len(rows) * (bar_h + gap) + gap
    parts = [f'<svg role="img" aria-label="{_html.escape(title)}" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">']
    for i, (label, value, colour) in enumerate(rows):
        y = gap + i * (bar_h + gap)
        w = max(2, int((width - label_w - 60) * value / top))
        parts.append(f'<text x="{label_w - 8}" y="{y + bar_h - 6}" text-anchor="end" class="label">'
                     f'{_html.escape(label)}</text>')
        parts.append(f'<rect class="bar" data-label="{_html.escape(label)}" data-value="{value}" x="{label_w}" '
                     f'y="{y}" width="{w}" height="{bar_h}" fill="{colour}"><title>{_html.escape(label)}: '
                     f'{value}</title></rect>')
        parts.append(f'<text x="{label_w + w + 6}" y="{y + bar_h - 6}" class="value">{value}</text>')
    parts.append("</svg>")
    return (f'<figure id="{chart_id}"><figcaption>{_html.escape(title)}</figcaption>' + "".join(parts) +
            "</figure>")


def html(d: dict, max_files: int = 200) -> str:
    e = _html.escape
    findings = sum(d["perRule"].values())
    rule_rows = [(f"{code} {d.get('rules', {}).get(code, {}).get('name', '')}".strip(), n,
                  _FAMILY_COLOURS.get(d.get("rules", {}).get(code, {}).get("family", family(code)), "#bab0ac"))
                 for code, n in sorted(d["perRule"].items(), key=lambda kv: (-kv[1], kv[0]))]
    fam_rows = [(fam, n, _FAMILY_COLOURS.get(fam, "#bab0ac")) for fam, n in d.get("perFamily", {}).items()]
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
           # self-contained: no script, no request for anything
           "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">",
           "<title>Keras migration report</title><style>",
           "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem;color:#222;max-width:70rem}",
           "table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{border:1px solid #ccc;padding:.25rem .6rem;"
           "text-align:left}th{background:#f3f3f3}.num{text-align:right}.ready{color:#1a7f37;font-weight:600}"
           ".blocked{color:#b3261e;font-weight:600}figure{margin:1rem 0}figcaption{font-weight:600;margin-bottom:.3rem}"
           "svg .label,svg .value{font-size:13px;fill:#222}code{background:#f3f3f3;padding:0 .2rem}"
           ".problem{color:#b3261e}",
           "</style></head><body>",
           "<h1>Keras migration report</h1>",
           f'<p id="summary">{d["scanned"]} of {_plural(d["files"], "file")} analysed, '
           f'{_plural(findings, "finding")} in {_plural(len(d["perFile"]), "file")}.'
           + (f' <span class="problem">{_plural(len(d["problems"]), "file")} could not be analysed.</span>'
              if d["problems"] else "")
           + (f' <span class="problem">{_plural(len(d["partial"]), "file")} analysed only in part.</span>'
              if d.get("partial") else "") + "</p>",
           "<h2>Ready per backend</h2>",
           '<table id="backends"><tr><th>Backend</th><th>Ready</th><th>Blocked</th><th>Of</th></tr>']
    for b, files in d["ready"].items():
        blocked = len(d.get("blocking", {}).get(b, {}))
        mark = " (target)" if b in d["targetBackends"] else ""
        out.append(f'<tr><td>{e(b)}{mark}</td><td class="num ready">{len(files)}</td>'
                   f'<td class="num blocked">{blocked}</td><td class="num">{d["scanned"]}</td></tr>')
    out.append("</table>")
    out.append(_bar_chart("Findings per family", fam_rows, "chart-families"))
    out.append(_bar_chart("Findings per rule", rule_rows, "chart-rules"))
    if d["perRule"]:
        out.append('<h2>Rules</h2><table id="rules"><tr><th>Rule</th><th>Name</th><th>Family</th><th>Fix</th>'
                   '<th>Count</th></tr>')
        for code, n in d["perRule"].items():
            info = d.get("rules", {}).get(code, {})
            out.append(f'<tr><td><a href="{e(info.get("url", rule_href(code)))}">{e(code)}</a></td>'
                       f'<td>{e(info.get("name", ""))}</td><td>{e(info.get("family", ""))}</td>'
                       f'<td>{e(info.get("fix", ""))}</td><td class="num">{n}</td></tr>')
        out.append("</table>")
    for b in d["ready"]:
        blocked = d.get("blocking", {}).get(b, {})
        if not blocked or b not in d["targetBackends"]:
            continue
        out.append(f'<h2>Blocking {e(b)}</h2><table class="blocking"><tr><th>File</th><th>Rules</th></tr>')
        for f, counts in sorted(blocked.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))[:max_files]:
            out.append(f"<tr><td><code>{e(f)}</code></td><td>{e(', '.join(f'{c}×{n}' for c, n in counts.items()))}"
                       "</td></tr>")
        if len(blocked) > max_files:
            out.append(f"<tr><td>… {len(blocked) - max_files} more</td><td></td></tr>")
        out.append("</table>")
    for key, heading in _LEFT_OUT:
        if d.get(key):
            out.append(f'<h2>{heading}</h2><ul id="{key}">')
            for p in d[key]:
                out.append(f'<li><code>{e(p["file"])}</code>: <span class="problem">{e(p["problem"])}</span></li>')
            out.append("</ul>")
    out.append(f'<footer><p>keras-migrate {e(str(d.get("version", __version__)))}</p></footer></body></html>')
    return "\n".join(out) + "\n"


def render(d: dict, fmt: str) -> str:
    return {"markdown": markdown, "json": to_json, "html": html}[fmt](d)
