"""Rewriting a ``tf.*`` call as its ``keras.ops`` counterpart, by an entry of the tf ->
``keras.ops`` table (the table is the portability family's data, ``rules/keras_migrate/rules/portability/
ops_table.json``, installed by the registry: ``catalog.tf_op``).  Used by K302 and K601.

``plan_call`` turns one ``tf.X(...)`` call into small, non-overlapping edits (the function
name, renamed/added/dropped keywords, dtype constants), so nested ops each get their own fix.
``rewrite_expression`` applies the same plan to a bare expression; the table's generator
(``scripts/generate_ops_table.py``) verifies exactly what the rules will write.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Callable, Optional

from . import astutil as _fast_ast
from . import catalog as _catalog
from .model import Applicability, Edit, Fix
from .resolve import Resolver
from .source import SourceText

# dtype constants written as ``tf.float32`` become strings every backend understands
TF_DTYPES = frozenset({
    "bool", "float16", "bfloat16", "float32", "float64", "half", "double",
    "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "complex64", "complex128",
})
_DTYPE_ALIASES = {"half": "float16", "double": "float64"}


def canonical(tf_name: str) -> str:
    """``tf.math.reduce_sum`` -> ``tensorflow.math.reduce_sum`` (the resolver's spelling)."""
    return "tensorflow" + tf_name[2:] if tf_name.startswith("tf.") else tf_name


def display(canonical_name: str) -> str:
    return "tf" + canonical_name[len("tensorflow"):] if canonical_name.startswith("tensorflow") else canonical_name


def dtype_string(qualname: Optional[str]) -> Optional[str]:
    """``tensorflow.float32`` -> ``"float32"`` (None for anything else)."""
    if qualname and qualname.startswith("tensorflow.") and qualname.count(".") == 1:
        name = qualname.split(".", 1)[1]
        if name in TF_DTYPES:
            return '"' + _DTYPE_ALIASES.get(name, name) + '"'
    return None


@dataclass
class Plan:
    """A rewrite of one call: edits (offsets into the analysed text) and how safe it is."""

    edits: list[Edit]
    applicability: Applicability
    title: str
    new_name: str


def _split_indices(node: ast.AST) -> Optional[str]:
    """``[1, 3]`` (sizes) -> ``[1]`` (split indices); None when not a literal list of ints."""
    if not isinstance(node, (ast.List, ast.Tuple)):
        return None
    sizes = []
    for e in node.elts:
        if not (isinstance(e, ast.Constant) and type(e.value) is int and e.value >= 0):
            return None
        sizes.append(e.value)
    if not sizes:
        return None
    out, acc = [], 0
    for s in sizes[:-1]:
        acc += s
        out.append(acc)
    return "[" + ", ".join(map(str, out)) + "]"


def plan_call(call: ast.Call, ent: dict, span: Callable[[ast.AST], tuple[int, int]],
              text: str, qualname: Callable[[ast.AST], Optional[str]],
              parent: Optional[ast.AST] = None) -> tuple[Optional[Plan], str]:
    """The edits rewriting ``call`` by table entry ``ent``, or (None, reason)."""
    if ent.get("fix") == "none":
        return None, ent.get("note") or "no keras.ops equivalent with the same meaning"
    tf_params: list[str] = ent["tf_params"]
    ops_params: list[str] = ent["ops_params"]
    mapping: dict = ent["map"]  # tf param -> ops param | None (dropped)
    varargs = ent.get("varargs", False)
    new_name = "keras.ops." + ent["ops"]
    edits: list[Edit] = []
    f0, f1 = span(call.func)
    edits.append(Edit(f0, f1, new_name))
    notes: list[str] = []
    applicability = Applicability.SAFE if ent["safety"] == "safe" else Applicability.UNSAFE
    if ent.get("special") == "split" and ent["safety"] == "unsafe" and not ent.get("failed"):
        applicability = Applicability.SAFE  # the trap is the sizes list, handled below
    if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
        return None, "`*args`/`**kwargs` cannot be mapped"
    if len(call.args) + len(call.keywords) < ent.get("min_args", 0):
        return None, ent.get("note") or "this form has no keras.ops equivalent"
    given: set[str] = set()
    keyword_mode = False
    prev_end: Optional[int] = None
    deleted_at: dict[int, int] = {}  # start offset of a deletion -> index in edits
    all_args = sorted(list(call.args) + list(call.keywords), key=lambda n: (n.lineno, n.col_offset))
    for node in all_args:
        s, e = span(node)
        if isinstance(node, ast.keyword):
            p = node.arg
            if p not in mapping and not varargs:
                return None, f"`{p}=` has no keras.ops counterpart"
            target = mapping.get(p, p)
            if target is None:
                if prev_end is None:
                    return None, f"`{p}=` cannot be dropped here"
                deleted_at[prev_end] = len(edits)
                edits.append(Edit(prev_end, e, ""))  # ", name=..." goes
                continue
            if target != p:
                edits.append(Edit(s, s + len(p), target))
            given.add(target)
            value = node.value
        else:
            i = call.args.index(node)
            if varargs and i >= len(tf_params):
                p, value = None, node
            else:
                if i >= len(tf_params):
                    return None, "too many positional arguments"
                p = tf_params[i]
                target = mapping.get(p)
                if p not in mapping:
                    return None, f"argument `{p}` has no keras.ops counterpart"
                if target is None:
                    return None, f"positional `{p}` cannot be dropped"
                pos_ok = (not keyword_mode and target in ops_params and ops_params.index(target) == i)
                if not pos_ok:
                    keyword_mode = True
                    edits.append(Edit(s, s, f"{target}="))
                given.add(target)
                value = node
        if ent.get("special") == "split" and p == "num_or_size_splits":
            if not (isinstance(value, ast.Constant) and type(value.value) is int):
                idx = _split_indices(value)
                if idx is None:
                    return None, ("`tf.split` takes sizes and `keras.ops.split` indices: "
                                  "pass the split indices (cumulative sizes without the last)")
                edits.append(Edit(*span(value), idx))
                notes.append(ent.get("trap", ""))
                applicability = Applicability.UNSAFE
        # dtype constants
        dq = dtype_string(qualname(value)) if isinstance(value, ast.Attribute) else None
        if dq is not None:
            edits.append(Edit(*span(value), dq))
        prev_end = e
    for k, v in ent.get("add", {}).items():
        if k not in given:
            if prev_end is None:
                return None, "nothing to attach the argument to"
            if prev_end in deleted_at:  # merge with the deletion starting there
                j = deleted_at[prev_end]
                edits[j] = Edit(edits[j].start, edits[j].end, edits[j].new_text + f", {k}={v}")
            else:
                edits.append(Edit(prev_end, prev_end, f", {k}={v}"))
                deleted_at[prev_end] = len(edits) - 1
    if ent.get("special") == "top_k":
        if isinstance(parent, ast.Attribute) and parent.attr in ("values", "indices") and parent.value is call:
            s, e = span(parent)
            c1 = span(call)[1]
            edits.append(Edit(c1, e, "[0]" if parent.attr == "values" else "[1]"))
        elif isinstance(parent, ast.Attribute):
            return None, ent.get("note", "")
        elif not (isinstance(parent, ast.Subscript) or isinstance(parent, ast.Assign)
                  and isinstance(parent.targets[0], (ast.Tuple, ast.List))):
            applicability = Applicability.UNSAFE
            notes.append(ent.get("note", ""))
    if ent.get("special") != "split" and ent.get("trap"):
        applicability = Applicability.UNSAFE
        notes.append(ent["trap"])
    if ent.get("note") and ent.get("special") != "top_k":
        notes.append(ent["note"])  # e.g. a default written out, or int32 instead of int64
    title = f"Replace `{display(ent['tf'])}` with `{new_name}`"
    notes = [n for n in dict.fromkeys(notes) if n]
    if notes:
        title += " (" + "; ".join(notes) + ")"
    return Plan(edits, applicability, title, new_name), ""


class _Spans:
    def __init__(self, text: str):
            self.source = SourceText(text)

    def __call__(self, node: ast.AST) -> tuple[int, int]:
        return self.source.node_span(node)


def tf_calls(tree: ast.AST, resolver) -> list[tuple[ast.Call, str]]:
    out = []
    for node in _fast_ast.walk(tree):
        if isinstance(node, ast.Call):
            q = resolver.qualname(node.func)
            if q and q.startswith("tensorflow."):
                out.append((node, q))
    return out


def rewrite_expression(expr: str, ents: Optional[dict] = None, unsafe: bool = True) -> tuple[Optional[str], str]:
    """Rewrite every table op in ``expr`` (prefixed with ``import tensorflow as tf``)."""
    ents = _catalog._need(_catalog._tf_ops, "tf -> keras.ops table") if ents is None else ents
    text = "import tensorflow as tf\nR = " + expr + "\n"
    tree = ast.parse(text)
    resolver = Resolver(tree)
    spans = _Spans(text)
    parents = {id(c): p for p in _fast_ast.walk(tree) for c in _fast_ast.iter_child_nodes(p)}
    edits: list[Edit] = []
    for call, q in tf_calls(tree, resolver):
        ent = ents.get(q)
        if ent is None:
            return None, f"`{display(q)}` is not in the table"
        plan, why = plan_call(call, ent, spans, text, resolver.qualname, parents.get(id(call)))
        if plan is None:
            return None, why
        if plan.applicability is not Applicability.SAFE and not unsafe:
            return None, "unsafe"
        edits.extend(plan.edits)
    edits.sort(key=lambda e: (e.start, e.end))
    out = text
    for e in reversed(edits):
        out = out[:e.start] + e.new_text + out[e.end:]
    return out.split("\nR = ", 1)[1].rstrip("\n"), ""


def fix_for(ctx, call: ast.Call, canonical_name: str):
    """(fix, new_name, reason) for a ``tf.*`` call in a file (fix None: no automatic fix)."""
    ent = _catalog.tf_op(canonical_name)
    if ent is None:
        return None, None, "not in the tf -> keras.ops table"
    parent = ctx.parent(call) if ent.get("special") == "top_k" else None  # the parent map only when needed
    plan, why = plan_call(call, ent, ctx.span, ctx.text, ctx.qualname, parent)
    if plan is None:
        return None, "keras.ops." + ent["ops"], why
    return Fix.applicable(plan.applicability, plan.title, _plan_edits, ctx, call, plan), plan.new_name, ""


def _plan_edits(ctx, call: ast.Call, plan: Plan) -> list[Edit]:
    """The plan's edits, the function's new name spelled as the file reaches ``keras.ops``."""
    ops, imp = ctx.imports.ensure("keras.ops", at=call)
    name = ctx.span(call.func)
    spelled = ops + plan.new_name[len("keras.ops"):]
    return [Edit(e.start, e.end, spelled) if (e.start, e.end) == name and e.new_text == plan.new_name else e
            for e in plan.edits] + [imp]


def report_tf_call(rule, ctx, call: ast.Call, canonical_name: str, message: str, guidance: str,
                   severity=None):
    """Report ``call`` (the diagnostic covers the op's name) with the table's fix, if any.

    ``message`` is formatted with ``old`` (``tf.reduce_sum``) and ``new`` (``keras.ops.sum``);
    ``guidance`` (formatted with ``old`` and ``why``) is used when there is no automatic fix.
    """
    fix, new, why = fix_for(ctx, call, canonical_name)
    old = display(canonical_name)
    if fix is None:
        text = guidance.format(old=old, why=why, new=new or "a keras.ops function")
        return ctx.report(rule, call.func, text, severity=severity)
    return ctx.report(rule, call.func, message.format(old=old, new=new), fix=fix, severity=severity)
