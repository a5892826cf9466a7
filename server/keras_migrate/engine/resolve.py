"""A lean import/alias resolver on the stdlib ``ast`` tree.

Every way a file reaches Keras resolves to one canonical dotted name:

    import tensorflow as tf           tf.keras.layers.Dense        -> keras.layers.Dense
    from tensorflow import keras      keras.layers.Dense           -> keras.layers.Dense
    from tensorflow.keras import layers as L;  L.Dense             -> keras.layers.Dense
    from tensorflow.keras.layers import Dense; Dense               -> keras.layers.Dense
    import tensorflow.keras.backend as K;      K.mean              -> keras.backend.mean
    tfk = tf.keras (module level);    tfk.layers.Dense             -> keras.layers.Dense
    from tensorflow.python.keras import layers                     -> keras.layers (private)
    import keras;                     keras.layers.Dense           -> keras.layers.Dense

Only names bound to ``tensorflow``, ``keras`` or ``tf_keras`` are tracked, so the work is
proportional to the Keras usage of a file, not its size.  A reference is the *outermost*
attribute chain that resolves (``tf.keras.layers.Dense`` gives one reference, not three).
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterator, Optional
from . import astutil as _fast_ast

TRACKED_ROOTS = ("tensorflow", "keras", "tf_keras")

# raw-path prefix -> (canonical prefix, origin).  Longest prefix wins.
_PREFIXES: list[tuple[str, str, str]] = sorted([
    ("tensorflow.python.keras", "keras", "private"),
    ("tensorflow.compat.v1.keras", "keras", "tf.keras"),
    ("tensorflow.compat.v2.keras", "keras", "tf.keras"),
    ("tensorflow.keras", "keras", "tf.keras"),
    # TensorFlow 2's own aliases of Keras modules (tf.losses is tf.keras.losses)
    ("tensorflow.losses", "keras.losses", "tf.keras"),
    ("tensorflow.metrics", "keras.metrics", "tf.keras"),
    ("tensorflow.optimizers", "keras.optimizers", "tf.keras"),
    ("tensorflow.initializers", "keras.initializers", "tf.keras"),
    ("tf_keras.src", "keras.src", "private"),
    ("tf_keras", "keras", "tf_keras"),
    ("keras.src", "keras.src", "private"),
    ("keras", "keras", "keras"),
    ("tensorflow", "tensorflow", "tensorflow"),
], key=lambda p: -len(p[0]))


@lru_cache(maxsize=4096)
def canonicalize(raw: str) -> tuple[Optional[str], Optional[str]]:
    """Map a raw dotted path to (canonical name, origin) or (None, None)."""
    for prefix, canon, origin in _PREFIXES:
        if raw == prefix or raw.startswith(prefix + "."):
            return canon + raw[len(prefix):], origin
    return None, None


@dataclass
class Binding:
    name: str              # local name
    target: str            # raw dotted path it stands for
    node: ast.AST          # the Import/ImportFrom/Assign statement
    kind: str              # "import" | "from" | "alias"
    module_level: bool


@dataclass
class Ref:
    """A resolved reference: the outermost attribute chain or name that reaches Keras/TF."""

    node: ast.AST          # ast.Name or ast.Attribute
    raw: str               # e.g. "tensorflow.keras.layers.Dense"
    canonical: str         # e.g. "keras.layers.Dense" / "tensorflow.math.reduce_sum"
    origin: str            # "tf.keras" | "keras" | "tf_keras" | "private" | "tensorflow"
    binding: Binding       # the binding the chain starts from

    @property
    def is_keras(self) -> bool:
        return self.canonical == "keras" or self.canonical.startswith("keras.")

    @property
    def is_tensorflow_op(self) -> bool:
        return self.origin == "tensorflow"


def dotted(node: ast.AST) -> Optional[str]:
    """``a.b.c`` for a pure Name/Attribute chain, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


class Resolver:
    def __init__(self, tree: ast.Module, imports: Optional[list] = None):
        """``imports``: the Import/ImportFrom nodes, when the caller already walked the tree."""
        self.tree = tree
        self.bindings: dict[str, Binding] = {}
        self.import_nodes: list[ast.AST] = []
        self._raw_cache: dict[int, Optional[str]] = {}
        self._collect_imports(tree, imports)
        self._raw_cache.clear()  # answers given while bindings were still being collected

    # -- bindings ------------------------------------------------------------------------
    def _collect_imports(self, tree: ast.Module, nodes: Optional[list]) -> None:
        module_level = set(map(id, tree.body))
        # Imports anywhere (inside functions and try-blocks too), in source order.
        if nodes is None:
            nodes = [n for n in _fast_ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
        nodes = sorted(nodes, key=lambda n: (n.lineno, n.col_offset))
        for node in nodes:
            top = id(node) in module_level
            if isinstance(node, ast.Import):
                for alias in node.names:
                    root = alias.name.split(".")[0]
                    if root not in TRACKED_ROOTS:
                        continue
                    self.import_nodes.append(node)
                    if alias.asname:
                        self.bindings[alias.asname] = Binding(alias.asname, alias.name, node, "import", top)
                    else:
                        # ``import tensorflow.keras`` binds ``tensorflow``
                        self.bindings[root] = Binding(root, root, node, "import", top)
            else:
                if node.level or not node.module:
                    continue
                if node.module.split(".")[0] not in TRACKED_ROOTS:
                    continue
                self.import_nodes.append(node)
                for alias in node.names:
                    if alias.name == "*":
                        continue
                    local = alias.asname or alias.name
                    self.bindings[local] = Binding(local, f"{node.module}.{alias.name}", node, "from", top)
        # module-level aliases: tfk = tf.keras ; L = tf.keras.layers
        for stmt in tree.body:
            if (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                    and isinstance(stmt.targets[0], ast.Name)):
                raw = self.raw(stmt.value)
                if raw is not None:
                    name = stmt.targets[0].id
                    self.bindings[name] = Binding(name, raw, stmt, "alias", True)

    # -- resolution ----------------------------------------------------------------------
    def raw(self, node: ast.AST) -> Optional[str]:
        """Raw dotted path of a Name/Attribute chain rooted at a tracked binding (memoised per
        node: every rule asks about the same calls)."""
        key = id(node)
        try:
            return self._raw_cache[key]
        except KeyError:
            pass
        value = self._raw(node)
        self._raw_cache[key] = value
        return value

    def _raw(self, node: ast.AST) -> Optional[str]:
        parts = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        b = self.bindings.get(node.id)
        if b is None:
            return None
        parts.append(b.target)
        return ".".join(reversed(parts))

    def root_binding(self, node: ast.AST) -> Optional[Binding]:
        while isinstance(node, ast.Attribute):
            node = node.value
        return self.bindings.get(node.id) if isinstance(node, ast.Name) else None

    def resolve(self, node: ast.AST) -> Optional[Ref]:
        raw = self.raw(node)
        if raw is None:
            return None
        canon, origin = canonicalize(raw)
        if canon is None:
            return None
        return Ref(node, raw, canon, origin, self.root_binding(node))

    def qualname(self, node: ast.AST) -> Optional[str]:
        """Canonical name of an expression (``keras.layers.Dense``) or None."""
        raw = self.raw(node)
        return canonicalize(raw)[0] if raw is not None else None

    def references_from(self, attributes: list, names: list) -> list[Ref]:
        """Outermost resolvable chains, from the Attribute/Name nodes of an existing walk."""
        bindings = self.bindings
        if not bindings:
            return []
        resolved: dict[int, Ref] = {}
        inner: set[int] = set()
        for node in attributes:
            root = node.value
            while isinstance(root, ast.Attribute):
                root = root.value
            if not isinstance(root, ast.Name) or root.id not in bindings:
                continue
            ref = self.resolve(node)
            if ref is not None:
                resolved[id(node)] = ref
                inner.add(id(node.value))
        for node in names:
            if node.id in bindings and isinstance(node.ctx, ast.Load) and id(node) not in inner:
                ref = self.resolve(node)
                if ref is not None:
                    resolved[id(node)] = ref
        out = [r for k, r in resolved.items() if k not in inner]
        out.sort(key=lambda r: (r.node.lineno, r.node.col_offset))
        return out

    def references(self) -> Iterator[Ref]:
        """Outermost resolvable Name/Attribute chains, in source order."""
        out: list[Ref] = []
        stack: list[ast.AST] = [self.tree]
        bindings = self.bindings
        while stack:
            node = stack.pop()
            if isinstance(node, ast.Attribute):
                ref = self.resolve(node)
                if ref is not None:
                    out.append(ref)
                else:
                    stack.append(node.value)
                continue
            if isinstance(node, ast.Name):
                if node.id in bindings and isinstance(node.ctx, ast.Load):
                    ref = self.resolve(node)
                    if ref is not None:
                        out.append(ref)
                continue
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            stack.extend(_fast_ast.iter_child_nodes(node))
        out.sort(key=lambda r: (r.node.lineno, r.node.col_offset))
        return iter(out)
