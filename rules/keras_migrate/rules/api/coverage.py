"""How much of the Keras 2 API ``keras_api.json`` covers (pure Python; never imports Keras).

``coverage()`` returns the counts as a dict; ``format_coverage()`` renders them for
``keras-migrate rules --coverage``.

Vocabulary used in the counts:

* **with a status**: every Keras 2 public symbol has one (``same_path``, ``moved``,
  ``equivalent``, ``removed``); every keyword argument Keras 3 rejects, ignores or
  deprecates has one.
* **with a fix**: the entry offers an automatic edit (``fix`` is ``safe`` or ``unsafe``);
  for arguments, a *rename/transform* fix is counted apart from a plain *drop*.
* **guidance only**: no automatic edit, but hand-written guidance from ``overrides.json``.
* **generated note only**: no edit and only the generator's generic sentence.
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Optional

DATA_PATH = Path(__file__).with_name("keras_api.json")
SYMBOL_STATUSES = ("same_path", "moved", "equivalent", "removed")
ARG_STATUSES = ("rejected", "ignored", "deprecated", "accepted")


def _load(data: Optional[dict]) -> dict:
    if data is not None:
        return data
    return json.loads(DATA_PATH.read_text(encoding="utf-8"))


def _is_drop(entry: dict) -> bool:
    t = entry.get("transform") or {}
    return bool(t.get("drop") is True and not entry.get("rename"))


def _bucket(entries) -> dict:
    """Fix / guidance split for a list of non-``same_path`` entries."""
    c = Counter()
    for e in entries:
        c["total"] += 1
        fix = e.get("fix", "none")
        if fix in ("safe", "unsafe"):
            c["with_fix"] += 1
            c["fix_" + fix] += 1
            if _is_drop(e):
                c["fix_drop_" + fix] += 1
            else:
                c["fix_edit_" + fix] += 1
        elif e.get("guidance_source") == "override":
            c["guidance_only"] += 1
        else:
            c["generated_note_only"] += 1
        if e.get("guidance_source") == "override":
            c["hand_written"] += 1
        if str(e.get("verified", "")).startswith("same output"):
            c["verified_same_output"] += 1
    for k in ("total", "with_fix", "fix_safe", "fix_unsafe", "fix_edit_safe", "fix_edit_unsafe", "fix_drop_safe",
              "fix_drop_unsafe", "guidance_only", "generated_note_only", "hand_written", "verified_same_output"):
        c.setdefault(k, 0)
    return dict(sorted(c.items()))


def _lookup(data: dict, ref: str) -> Optional[dict]:
    sec, _, rest = ref.partition(":")
    if sec == "symbols":
        return data["symbols"].get(rest)
    if sec in ("kwargs", "method_kwargs"):
        path, _, kw = rest.partition(":")
        return data[sec].get(path, {}).get(kw)
    if sec == "members":
        typ, _, name = rest.partition(".")
        return data["members"].get(typ, {}).get(name)
    return None


def coverage(data: Optional[dict] = None) -> dict:
    d = _load(data)
    syms = d["symbols"]
    k2_syms = {p: e for p, e in syms.items() if not e.get("not_in_keras2_2_21")}
    by_status = Counter(e["status"] for e in k2_syms.values())
    by_kind = Counter((e["kind"] == "module") for e in k2_syms.values())
    changed = [e for e in k2_syms.values() if e["status"] != "same_path"]

    kw_entries = [e for kws in d["kwargs"].values() for e in kws.values()]
    mem_entries = [e for ms in d["members"].values() for e in ms.values()]
    mk_entries = [e for kws in d["method_kwargs"].values() for e in kws.values()]

    top = []
    for item in d.get("meta", {}).get("top40", []):
        ents = [_lookup(d, r) for r in item["refs"]]
        missing = [r for r, e in zip(item["refs"], ents) if e is None]
        if missing:
            state = "missing"
        elif ents and all(e.get("fix") in ("safe", "unsafe") for e in ents):
            state = "fix"
        elif ents and all(e.get("fix") in ("safe", "unsafe") or e.get("guidance_source") == "override" for e in ents):
            state = "guidance"
        elif not ents and item.get("guidance"):
            state = "guidance"
        else:
            state = "generated"
        top.append({"n": item["n"], "what": item["what"], "state": state, "covered_by": item.get("covered_by")})
    top_counts = Counter(t["state"] for t in top)

    return {
        "keras2": d.get("meta", {}).get("keras2"),
        "keras3": d.get("meta", {}).get("keras3"),
        "symbols": {
            "keras2_public": len(k2_syms),
            "keras2_modules": by_kind[True],
            "with_status": sum(1 for e in k2_syms.values() if e.get("status") in SYMBOL_STATUSES),
            "by_status": {s: by_status.get(s, 0) for s in SYMBOL_STATUSES},
            "not_at_same_path": _bucket(changed),
            "extra_from_overrides": len(syms) - len(k2_syms),
            "in_tf_keras_shim_only": sum(1 for e in changed if e.get("in_tf_keras_shim")),
        },
        "kwargs": {
            "callables": len(d["kwargs"]),
            "with_status": len(kw_entries),
            "by_status": {s: sum(1 for e in kw_entries if e["status"] == s) for s in ARG_STATUSES},
            "by_check": dict(sorted(Counter(e.get("checked", "unchecked") for e in kw_entries).items())),
            "fixes": _bucket(kw_entries),
        },
        "members": {
            "types": sorted(d["members"]),
            "with_status": len(mem_entries),
            "fixes": _bucket(mem_entries),
        },
        "method_kwargs": {
            "methods": len(d["method_kwargs"]),
            "with_status": len(mk_entries),
            "by_status": {s: sum(1 for e in mk_entries if e["status"] == s) for s in ARG_STATUSES},
            "fixes": _bucket(mk_entries),
        },
        "top40": {
            "items": len(top),
            "with_fix": top_counts.get("fix", 0),
            "guidance_only": top_counts.get("guidance", 0),
            "generated_only": top_counts.get("generated", 0),
            "missing": top_counts.get("missing", 0),
            "detail": top,
        },
    }


def _fixline(b: dict) -> str:
    return ("with a fix %d (safe %d, unsafe %d; of which plain removals %d), guidance only %d, generated note only %d"
            % (b["with_fix"], b["fix_safe"], b["fix_unsafe"], b["fix_drop_safe"] + b["fix_drop_unsafe"],
               b["guidance_only"], b["generated_note_only"]))


def format_coverage(data: Optional[dict] = None) -> str:
    c = coverage(data)
    s, k, m, mk, t = c["symbols"], c["kwargs"], c["members"], c["method_kwargs"], c["top40"]
    st = s["by_status"]
    lines = [
        "Keras 2 API coverage (%s -> %s), from rules/keras_migrate/rules/api/keras_api.json" % (c["keras2"], c["keras3"]),
        "",
        "Symbols: %d Keras 2 public names (%d modules), %d with a status" % (s["keras2_public"], s["keras2_modules"], s["with_status"]),
        "  same path %d, moved %d, equivalent %d, removed %d" % (st["same_path"], st["moved"], st["equivalent"], st["removed"]),
        "  not at the same path: %d; %s" % (s["not_at_same_path"]["total"], _fixline(s["not_at_same_path"])),
        "  still reachable through the tf.keras shim: %d; extra entries from overrides: %d" % (s["in_tf_keras_shim_only"], s["extra_from_overrides"]),
        "",
        "Keyword arguments: %d on %d callables, all with a status" % (k["with_status"], k["callables"]),
        "  " + ", ".join("%s %d" % (n, v) for n, v in k["by_status"].items() if v or n != "accepted"),
        "  checked by calling Keras 3: " + ", ".join("%s %d" % kv for kv in k["by_check"].items()),
        "  " + _fixline(k["fixes"]),
        "",
        "Members of %s: %d removed or changed; %s" % (", ".join(m["types"]), m["with_status"], _fixline(m["fixes"])),
        "Method keyword arguments: %d on %d methods; %s" % (mk["with_status"], mk["methods"], _fixline(mk["fixes"])),
        "",
        "Top 40 (keras_api.json meta.top40): %d items, %d with a fix, %d with hand-written guidance, %d generated only, %d missing"
        % (t["items"], t["with_fix"], t["guidance_only"], t["generated_only"], t["missing"]),
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # python -m keras_migrate.rules.api.coverage
    print(format_coverage(), end="")
