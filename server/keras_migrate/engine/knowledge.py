"""What things are: Keras class kinds of classes and values, followed through assignments.

Within a file we follow assignments (``model = keras.Sequential(...)``, ``opt = model.optimizer``),
class bases (``class Block(MyBase)`` where ``MyBase(keras.layers.Layer)``) and the return
values of local functions.  Names imported from other modules of the user's workspace are
asked of an optional ``WorkspaceIndex`` (see ``workspace.py``), which never imports code.
"""
from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Optional

from .resolve import Resolver
from . import astutil as _fast_ast

if TYPE_CHECKING:  # pragma: no cover
    from .workspace import WorkspaceIndex

from .kinds import (CALLBACK, FUNC, HISTORY, KERAS_TENSOR, LAYER, LOSS, METRIC, MODEL,  # noqa: F401 (API)
                    MODEL_FACTORIES, OPTIMIZER, SCHEDULE, SEQUENCE, TENSOR_FACTORIES)

_BASE_KINDS = {
    "keras.Model": (MODEL, LAYER), "keras.models.Model": (MODEL, LAYER),
    "keras.Sequential": (MODEL, LAYER), "keras.models.Sequential": (MODEL, LAYER),
    "keras.layers.Layer": (LAYER,), "keras.metrics.Metric": (METRIC,),
    "keras.losses.Loss": (LOSS,), "keras.callbacks.Callback": (CALLBACK,),
    "keras.utils.Sequence": (SEQUENCE,), "keras.utils.PyDataset": (SEQUENCE,),
    "keras.optimizers.Optimizer": (OPTIMIZER,),
    "keras.optimizers.schedules.LearningRateSchedule": (SCHEDULE,),
}
_PREFIX_KINDS = [
    ("keras.optimizers.schedules.", SCHEDULE), ("keras.optimizers.legacy.", OPTIMIZER),
    ("keras.optimizers.experimental.", OPTIMIZER), ("keras.optimizers.", OPTIMIZER),
    ("keras.layers.experimental.preprocessing.", LAYER), ("keras.layers.experimental.", LAYER),
    ("keras.layers.", LAYER), ("keras.callbacks.", CALLBACK), ("keras.metrics.", METRIC),
    ("keras.losses.", LOSS), ("keras.applications.", MODEL),
]


def kind_of_class_name(canonical: str) -> tuple[str, ...]:
    """Kinds of a Keras class by its canonical name (``keras.layers.Dense`` -> layer)."""
    if canonical in _BASE_KINDS:
        return _BASE_KINDS[canonical]
    last = canonical.rsplit(".", 1)[-1]
    if not last[:1].isupper():
        return ()
    for prefix, kind in _PREFIX_KINDS:
        if canonical.startswith(prefix):
            return (MODEL, LAYER) if kind == MODEL else (kind,)
    return ()


_SCOPE = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda, ast.Module)


class Knowledge:
    def __init__(self, tree: ast.Module, resolver: Resolver, workspace: "Optional[WorkspaceIndex]" = None,
                 module_name: Optional[str] = None, path: Optional[str] = None):
        self.tree = tree
        self.resolver = resolver
        self.workspace = workspace
        self.module_name = module_name
        self.path = path
        self._parents: Optional[dict[int, ast.AST]] = None
        # the file's Assign nodes from the shared walk (FileContext sets it); None: walk the tree
        self._assign_nodes: Optional[list] = None
        self._self_attrs_indexed = False
        self._classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
        self._functions = {n.name: n for n in tree.body if isinstance(n, FUNC)}
        self._class_kinds: dict[int, frozenset] = {}
        self._scope_assigns: dict[int, dict[str, list[ast.AST]]] = {}
        self._class_self_attrs: dict[int, dict[str, list[ast.AST]]] = {}
        self._func_returns: dict[int, Optional[str]] = {}
        self._other_imports: Optional[dict[str, tuple[str, str, int]]] = None
        self._kind_memo: dict[tuple[int, int], tuple] = {}     # (id, depth) -> (node, kind)
        self._name_memo: dict[tuple, Optional[str]] = {}        # (id(scope), name, depth) -> kind
        self._symbolic_memo: dict[tuple[int, int], tuple] = {}  # (id, depth) -> (node, bool)
        self._file = None       # the FileContext (set by it): what the symbolic tracker reads
        self._symbolic = None   # engine/symbolic.py's tracker, at the first is_symbolic

    # -- tree navigation -----------------------------------------------------------------
    @property
    def parents(self) -> dict[int, ast.AST]:
        if self._parents is None:
            parents: dict[int, ast.AST] = {}
            for node in _fast_ast.walk(self.tree):
                for child in _fast_ast.iter_child_nodes(node):
                    parents[id(child)] = node
            self._parents = parents
        return self._parents

    def parent(self, node: ast.AST) -> Optional[ast.AST]:
        return self.parents.get(id(node))

    def ancestors(self, node: ast.AST):
        p = self.parent(node)
        while p is not None:
            yield p
            p = self.parent(p)

    def enclosing_function(self, node: ast.AST) -> Optional[ast.AST]:
        for a in self.ancestors(node):
            if isinstance(a, FUNC):
                return a
        return None

    def enclosing_class(self, node: ast.AST) -> Optional[ast.ClassDef]:
        """The class whose *method* contains node (directly)."""
        fn = self.enclosing_function(node)
        while fn is not None:
            p = self.parent(fn)
            if isinstance(p, ast.ClassDef):
                return p
            fn = self.enclosing_function(fn)
        return None

    def enclosing_method(self, node: ast.AST) -> Optional[tuple[ast.ClassDef, ast.AST]]:
        """(class, method) when node is inside a method of a class (nested functions count)."""
        fn = self.enclosing_function(node)
        while fn is not None:
            p = self.parent(fn)
            if isinstance(p, ast.ClassDef):
                return p, fn
            fn = self.enclosing_function(fn)
        return None

    def scope_of(self, node: ast.AST) -> ast.AST:
        for a in self.ancestors(node):
            if isinstance(a, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.Module)):
                return a
        return self.tree

    # -- imports of non-Keras names (for the workspace index) ----------------------------
    def other_imports(self) -> dict[str, tuple[str, str, int]]:
        """local name -> (module, name, level) for ``from X import Y`` of non-Keras modules."""
        if self._other_imports is None:
            out = {}
            for node in self.tree.body:
                if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").split(".")[0]
                                                         not in ("tensorflow", "keras", "tf_keras")):
                    for a in node.names:
                        if a.name != "*":
                            out[a.asname or a.name] = (node.module or "", a.name, node.level)
            self._other_imports = out
        return self._other_imports

    # -- classes ---------------------------------------------------------------------------
    def class_kinds(self, cls: ast.ClassDef, _seen: Optional[set] = None) -> frozenset:
        cached = self._class_kinds.get(id(cls))
        if cached is not None:
            return cached
        seen = _seen or set()
        if id(cls) in seen:
            return frozenset()
        seen.add(id(cls))
        kinds: set[str] = set()
        for base in cls.bases:
            kinds.update(self.base_kinds(base, seen))
        result = frozenset(kinds)
        self._class_kinds[id(cls)] = result
        return result

    def base_kinds(self, base: ast.AST, seen: Optional[set] = None) -> frozenset:
        q = self.resolver.qualname(base)
        if q is not None:
            return frozenset(kind_of_class_name(q))
        if isinstance(base, ast.Name):
            local = self._classes.get(base.id)
            if local is not None:
                return self.class_kinds(local, seen)
            imp = self.other_imports().get(base.id)
            if imp is not None and self.workspace is not None:
                return frozenset(self.workspace.class_kinds(imp[0], imp[1], imp[2], self.path))
        return frozenset()

    def is_kind_class(self, cls: ast.ClassDef, kind: str) -> bool:
        return kind in self.class_kinds(cls)

    def classes(self, kind: Optional[str] = None):
        """All classes (any depth) optionally filtered by kind."""
        for node in _fast_ast.walk(self.tree):
            if isinstance(node, ast.ClassDef) and (kind is None or kind in self.class_kinds(node)):
                yield node

    # -- values ----------------------------------------------------------------------------
    def _assigns(self, scope: ast.AST) -> dict[str, list[ast.AST]]:
        got = self._scope_assigns.get(id(scope))
        if got is not None:
            return got
        out: dict[str, list[ast.AST]] = {}
        stack = list(_fast_ast.iter_child_nodes(scope))
        while stack:
            node = stack.pop()
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                continue
            if isinstance(node, ast.Assign):
                for t in node.targets:
                    if isinstance(t, ast.Name):
                        out.setdefault(t.id, []).append(node.value)
            elif isinstance(node, (ast.AnnAssign, ast.NamedExpr)) and isinstance(node.target, ast.Name) \
                    and node.value is not None:
                out.setdefault(node.target.id, []).append(node.value)
            elif isinstance(node, ast.withitem) and isinstance(node.optional_vars, ast.Name):
                out.setdefault(node.optional_vars.id, []).append(node.context_expr)
            stack.extend(_fast_ast.iter_child_nodes(node))
        self._scope_assigns[id(scope)] = out
        return out

    def scope_assignments(self, scope: ast.AST) -> dict[str, list[ast.AST]]:
        """name -> values assigned to it directly in ``scope`` (a function or the module;
        nested functions and classes are their own scopes).  Cached per scope."""
        return self._assigns(scope)

    def value_kind(self, expr: ast.AST, _depth: int = 0) -> Optional[str]:
        """Kind of the value of an expression (model, layer, optimizer, ...), or None."""
        if _depth > 8 or expr is None:
            return None
        # memoized per (node, depth): the answer is a function of both (the depth bounds the
        # chase through assignments), and in module-level code (notebooks, scripts) a name
        # bound many times was re-evaluated through all its values at every use: quadratic
        # (the entry keeps the node alive, so its id cannot be reused by a node a rule builds)
        key = (id(expr), _depth)
        got = self._kind_memo.get(key)
        if got is not None and got[0] is expr:
            return got[1]
        result = self._value_kind(expr, _depth)
        self._kind_memo[key] = (expr, result)
        return result

    def _value_kind(self, expr: ast.AST, _depth: int) -> Optional[str]:
        d = _depth + 1
        if isinstance(expr, ast.Call):
            return self._call_kind(expr, d)
        if isinstance(expr, ast.Name):
            if expr.id == "self":
                m = self.enclosing_method(expr)
                if m is not None:
                    kinds = self.class_kinds(m[0])
                    return MODEL if MODEL in kinds else next(iter(sorted(kinds)), None)
                return None
            scope = self.scope_of(expr)
            while True:
                values = self._assigns(scope).get(expr.id)
                if values:
                    key = (id(scope), expr.id, d)  # every use of the name asks the same
                    memo = self._name_memo
                    if key not in memo:
                        memo[key] = self._single_kind(values, d)
                    return memo[key]
                if isinstance(scope, ast.Module):
                    return None
                scope = self.scope_of(scope)
        if isinstance(expr, ast.Attribute):
            if expr.attr == "model" and isinstance(expr.value, ast.Name) and expr.value.id == "self":
                m = self.enclosing_method(expr)
                if m is not None and CALLBACK in self.class_kinds(m[0]):
                    return MODEL
            if expr.attr == "optimizer" and self.value_kind(expr.value, d) == MODEL:
                return OPTIMIZER
            if isinstance(expr.value, ast.Name) and expr.value.id == "self":
                # self.x = <value> assigned in any method of the enclosing class
                m = self.enclosing_method(expr)
                if m is not None:
                    vals = self._self_attr_values(m[0], expr.attr)
                    if vals:
                        key = (id(m[0]), "self." + expr.attr, d)
                        memo = self._name_memo
                        if key not in memo:
                            memo[key] = self._single_kind(vals, d)
                        if memo[key] is not None:
                            return memo[key]
            return None
        if isinstance(expr, ast.Await):
            return self.value_kind(expr.value, d)
        return None

    _NONE = object()

    def _single_kind(self, values: list, d: int) -> Optional[str]:
        """The kind all ``values`` share, else None (stops at the second distinct kind)."""
        first = self._NONE
        for v in values:
            k = self.value_kind(v, d)
            if first is self._NONE:
                first = k
            elif k != first:
                return None
        return None if first is self._NONE else first

    def _self_attr_values(self, cls: ast.ClassDef, attr: str) -> list[ast.AST]:
        """Values of ``self.<attr> = value`` anywhere inside ``cls`` (nested functions and
        classes included)."""
        attrs = self._class_self_attrs.get(id(cls))
        if attrs is None:
            if not self._self_attrs_indexed:
                # one pass over the file's assignments for every class at once (25 queries on
                # tf_keras' training.py walked its Model class 25 times; then one walk per class
                # was still ~1 ms a keystroke on a 300-line script). The shared walk's Assign
                # bucket when FileContext gave it, else one walk of the tree.
                assigns = self._assign_nodes
                if assigns is None:
                    assigns = [n for n in _fast_ast.walk(self.tree) if isinstance(n, ast.Assign)]
                self._index_self_attrs(assigns)
            attrs = self._class_self_attrs.get(id(cls), {})  # {}: no self.<x> = ... in cls
        return list(attrs.get(attr, ()))

    def _index_self_attrs(self, assigns: list) -> None:
        index: dict[int, dict[str, list[ast.AST]]] = {}
        for node in assigns:
            for t in node.targets:
                if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self":
                    for a in self.ancestors(node):
                        if isinstance(a, ast.ClassDef):
                            index.setdefault(id(a), {}).setdefault(t.attr, []).append(node.value)
        self._class_self_attrs.update(index)
        self._self_attrs_indexed = True

    def _call_kind(self, call: ast.Call, d: int) -> Optional[str]:
        func = call.func
        q = self.resolver.qualname(func)
        if q is not None:
            if q in MODEL_FACTORIES:
                return MODEL
            if q in TENSOR_FACTORIES:
                return KERAS_TENSOR
            kinds = kind_of_class_name(q)
            return kinds[0] if kinds else None
        if isinstance(func, ast.Name):
            cls = self._classes.get(func.id)
            if cls is not None:
                kinds = self.class_kinds(cls)
                return MODEL if MODEL in kinds else (sorted(kinds)[0] if kinds else None)
            fn = self._functions.get(func.id)
            if fn is not None:
                return self.function_return_kind(fn, d)
            imp = self.other_imports().get(func.id)
            if imp is not None and self.workspace is not None:
                return self.workspace.value_kind(imp[0], imp[1], imp[2], self.path)
            if self.value_kind(func, d) in (LAYER, MODEL):
                return self._applied(call, d)
            return None
        if isinstance(func, ast.Attribute):
            recv = self.value_kind(func.value, d)
            if recv == MODEL and func.attr in ("fit", "fit_generator"):
                return HISTORY
            if q is None and self.value_kind(func, d) in (LAYER, MODEL):
                return self._applied(call, d)
            return None
        # a layer instance applied to a symbolic tensor: Dense(3)(x)
        if isinstance(func, ast.Call):
            if self._call_kind(func, d) in (LAYER, MODEL):
                return self._applied(call, d)
        return None

    def _applied(self, call: ast.Call, d: int) -> Optional[str]:
        """A layer/model applied to arguments: symbolic when any argument is symbolic."""
        for arg in list(call.args) + [k.value for k in call.keywords]:
            if self._symbolic_operand(arg, d):
                return KERAS_TENSOR
        return None

    def function_return_kind(self, fn: ast.AST, d: int = 0) -> Optional[str]:
        if id(fn) in self._func_returns:
            return self._func_returns[id(fn)]
        self._func_returns[id(fn)] = None  # recursion guard
        kinds = set()
        stack = list(_fast_ast.iter_child_nodes(fn))
        while stack:
            node = stack.pop()
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                continue
            if isinstance(node, ast.Return) and node.value is not None:
                kinds.add(self.value_kind(node.value, d))
            stack.extend(_fast_ast.iter_child_nodes(node))
        result = kinds.pop() if len(kinds) == 1 else None
        self._func_returns[id(fn)] = result
        return result

    def is_symbolic(self, expr: ast.AST) -> bool:
        """True when ``expr`` is a symbolic KerasTensor: the file's tracker (engine/symbolic.py)
        follows it through ordered assignments, unpacking, tf/keras.ops calls, layers and
        helper functions applied to one, and a model's ``.input``/``.output``."""
        return self.symbolic_tracker().is_symbolic(expr)

    def symbolic_tracker(self):
        """The file's symbolic-tensor tracker (built at the first question)."""
        t = self._symbolic
        if t is None:
            from .symbolic import Symbolic, _TreeFile
            t = self._symbolic = Symbolic(self._file if self._file is not None else _TreeFile(self))
        return t

    def _symbolic_operand(self, expr: ast.AST, _depth: int = 0) -> bool:
        """``value_kind``'s own test for "a layer applied to a symbolic tensor" (a KerasTensor
        from keras.Input or a layer applied to one, through assignments, arithmetic, indexing
        and lists); the public question is :meth:`is_symbolic` (engine/symbolic.py)."""
        if _depth > 8:
            return False
        key = (id(expr), _depth)
        got = self._symbolic_memo.get(key)
        if got is not None and got[0] is expr:
            return got[1]
        result = self._symbolic_operand_of(expr, _depth)
        self._symbolic_memo[key] = (expr, result)
        return result

    def _symbolic_operand_of(self, expr: ast.AST, _depth: int) -> bool:
        d = _depth + 1
        if isinstance(expr, (ast.List, ast.Tuple)):
            return any(self._symbolic_operand(e, d) for e in expr.elts)
        if isinstance(expr, ast.BinOp):
            return self._symbolic_operand(expr.left, d) or self._symbolic_operand(expr.right, d)
        if isinstance(expr, ast.UnaryOp):
            return self._symbolic_operand(expr.operand, d)
        if isinstance(expr, ast.Subscript):
            return self._symbolic_operand(expr.value, d)
        if isinstance(expr, ast.Call):
            q = self.resolver.qualname(expr.func)
            if q is not None and q.startswith("keras.ops."):
                return any(self._symbolic_operand(a, d) for a in expr.args)
        return self.value_kind(expr, d) == KERAS_TENSOR
