"""K305 state-created-in-call."""
from __future__ import annotations

import ast
import builtins

from keras_migrate.engine.api import (LAYER, MODEL, MODEL_FACTORIES, Applicability, Fix, Invalid, Rule, Run,
                                      Severity, Valid, bindings, function_nodes, imported_names,
                                      keras_methods, kind_of_class_name, line_end, line_start, method_named,
                                      walk)

from ._helpers import is_self, self_attr_target

_ADD_WEIGHT = ("add_weight", "add_variable")


class StateCreatedInCall(Rule):
    """Creates weights or sublayers inside `call()` (`self.add_weight(...)`, `Dense(4)(x)`).

    ## What it does
    Flags, in the `call()` method of a Keras `Layer`/`Model` subclass, calls of
    `self.add_weight(...)` and the construction of layers (Keras layers and your own Layer
    subclasses), including the lazy `if self.dense is None: self.dense = Dense(...)` idiom.

    ## Why is this bad?
    Keras 3 builds a layer's state before tracing `call()`, and refuses to create it later:
    `add_weight` in `call()` raises `ValueError` on all backends. A sublayer created in
    `call()` is built while tracing; that raises `ValueError` when the layer also defines
    `build()` or has no other sublayers, and otherwise works with a warning. A layer
    constructed and applied in one expression makes new, untrained weights on every call
    (in Keras 2 too, where `tf.function` then refused to create variables).

    ## Example
    ```python
    class Lazy(keras.layers.Layer):
        def call(self, x):
            self.w = self.add_weight(shape=(2,), initializer="ones")
            return x * self.w
    ```

    ## Use instead
    ```python
    class Lazy(keras.layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(2,), initializer="ones")

        def call(self, x):
            return x * self.w
    ```
    (create sublayers in `__init__`, weights in `build()`, and build sublayers there when
    their shapes depend on the input.)

    ## Fix safety
    Unsafe, and offered only for `self.x = self.add_weight(...)` / `self.x = SomeLayer(...)`
    statements directly in `call()` (or alone under `if self.x is None:` /
    `if not hasattr(self, "x"):`) that use nothing local to `call()` except
    `<first input>.shape`: the weight moves to the end of `build()` (created as
    `build(self, input_shape)` when missing, `inputs.shape` becoming `input_shape`), the
    sublayer to the end of `__init__` (replacing a `self.x = None` placeholder). The state
    is then created once, before the first call, instead of on (every) call; with several
    inputs `build()` only sees the first one's shape. Other creations are reported without
    a fix.

    ## References
    - https://keras.io/guides/migrating_to_keras_3/#layer-state-created-in-call
    - https://keras.io/guides/making_new_layers_and_models_via_subclassing/
    """

    code = "K305"
    name = "state-created-in-call"
    message = "{what} inside `call()`: Keras 3 creates state in `__init__`/`build()` only (ValueError); move it there"
    severity = Severity.ERROR
    fix = Applicability.UNSAFE
    requires = ("call",)

    VALID = [
        Valid("""
            import keras
            class Good(keras.layers.Layer):
                def __init__(self):
                    super().__init__()
                    self.dense = keras.layers.Dense(2)
                def build(self, input_shape):
                    self.w = self.add_weight(shape=(2,), initializer="ones")
                    self.dense.build(input_shape)
                def call(self, x):
                    return self.dense(x) * self.w
            """),
        Valid("""
            import keras
            class Maker:
                def call(self, x):
                    return keras.layers.Dense(2)(x)
            def call(x):
                return keras.layers.Dense(2)(x)
            """),
        Valid("""
            import keras
            class Uses(keras.layers.Layer):
                def call(self, x):
                    y = keras.activations.relu(x)
                    return keras.ops.add(y, 1.0)
            """),
    ]
    INVALID = [
        Invalid(
            """
            import numpy as np
            import keras


            class Lazy(keras.layers.Layer):
                def call(self, x):
                    self.w = self.add_weight(shape=(x.shape[-1],), initializer="ones")
                    return x * self.w


            y = Lazy()(np.ones((1, 2), "float32"))
            RESULT = [float(v) for v in y[0]]
            """,
            fixed="""
            import numpy as np
            import keras


            class Lazy(keras.layers.Layer):
                def build(self, input_shape):
                    self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones")

                def call(self, x):
                    return x * self.w


            y = Lazy()(np.ones((1, 2), "float32"))
            RESULT = [float(v) for v in y[0]]
            """,
            flagged=('self.add_weight(shape=(x.shape[-1],), initializer="ones")',),
            unsafe=True,
            run=Run(k3="ValueError", fixed_backends=("tensorflow", "jax", "torch")),
        ),
        Invalid(
            """
            import numpy as np
            import keras


            class Head(keras.layers.Layer):
                def __init__(self):
                    super().__init__()
                    self.dense = None

                def call(self, x):
                    if self.dense is None:
                        self.dense = keras.layers.Dense(1, kernel_initializer="ones")
                    return self.dense(x)


            model = keras.Sequential([Head()])
            RESULT = model.predict(np.ones((1, 2)), verbose=0).tolist()
            """,
            fixed="""
            import numpy as np
            import keras


            class Head(keras.layers.Layer):
                def __init__(self):
                    super().__init__()
                    self.dense = keras.layers.Dense(1, kernel_initializer="ones")

                def call(self, x):
                    return self.dense(x)


            model = keras.Sequential([Head()])
            RESULT = model.predict(np.ones((1, 2)), verbose=0).tolist()
            """,
            flagged=('keras.layers.Dense(1, kernel_initializer="ones")',),
            unsafe=True,
            run=Run(k3="ValueError", fixed_backends=("tensorflow", "jax", "torch")),
        ),
        Invalid(
            """
            import keras

            class Scale(keras.layers.Layer):
                \"\"\"Scales its input.\"\"\"

                def build(self, shape):
                    self.bias = self.add_weight(shape=(shape[-1],), initializer="zeros")

                def call(self, inputs, training=None):
                    if not hasattr(self, "scale"):
                        self.scale = self.add_weight(
                            shape=(inputs.shape[-1],),
                            initializer="ones",
                        )
                    self.norm = keras.layers.LayerNormalization()
                    local = inputs * 2
                    self.extra = self.add_weight(shape=(local.shape[-1],))
                    return self.norm(inputs * self.scale + self.bias)
            """,
            fixed="""
            import keras

            class Scale(keras.layers.Layer):
                \"\"\"Scales its input.\"\"\"

                def __init__(self, **kwargs):
                    super().__init__(**kwargs)
                    self.norm = keras.layers.LayerNormalization()

                def build(self, shape):
                    self.bias = self.add_weight(shape=(shape[-1],), initializer="zeros")
                    self.scale = self.add_weight(
                        shape=(shape[-1],),
                        initializer="ones",
                    )

                def call(self, inputs, training=None):
                    local = inputs * 2
                    self.extra = self.add_weight(shape=(local.shape[-1],))
                    return self.norm(inputs * self.scale + self.bias)
            """,
            flagged=("self.add_weight(\n                shape=(inputs.shape[-1],),\n                initializer=\"ones\",\n            )",
                     "keras.layers.LayerNormalization()", "self.add_weight(shape=(local.shape[-1],))"),
            unsafe=True,
        ),
        Invalid(
            """
            from tensorflow.keras import layers
            from tensorflow import keras

            class Block(layers.Layer):
                pass

            class Tower(keras.Model):
                def call(self, x):
                    x = layers.Dense(4)(x)
                    return Block()(x)
            """,
            fixed=None,
            flagged=("layers.Dense(4)", "Block()"),
        ),
    ]

    def check(self, ctx):
        for cls, fn in keras_methods(ctx, ("call",)):
            hits = []
            for node in function_nodes(ctx, fn):
                if not isinstance(node, ast.Call):
                    continue
                f = node.func
                if isinstance(f, ast.Attribute) and f.attr in _ADD_WEIGHT and is_self(f.value):
                    hits.append((node, f"`self.{f.attr}(...)`", "build"))
                elif self._constructs_layer(ctx, node):
                    hits.append((node, f"`{ctx.segment(f)}(...)` creates a layer", "__init__"))
            for node, what, dest in sorted(hits, key=lambda h: (h[0].lineno, h[0].col_offset)):
                msg = self.message.format(what=what)
                move = _Move.plan(ctx, cls, fn, node, dest)
                if move is None:
                    ctx.report(self, node, msg)
                    continue
                title = (f"Move the statement into `{dest}()`"
                         + (" (built from the input shape)" if dest == "build" else ""))
                ctx.report(self, node, msg, fix=Fix.unsafe(title, move.edits))


    @staticmethod
    def _constructs_layer(ctx, call: ast.Call) -> bool:
        """A layer class (Keras, local or workspace) or a function returning a new layer."""
        f = call.func
        q = ctx.qualname(f)
        if q is not None:
            return kind_of_class_name(q)[:1] in (("layer",), ("model",)) or q in MODEL_FACTORIES
        if not isinstance(f, ast.Name):
            return False                        # self.dense(x), obj.method(...): applications, not creations
        if f.id not in _module_level_names(ctx) and f.id not in imported_names(ctx):
            return False
        return ctx.value_kind(call) in (LAYER, MODEL)


def _module_level_names(ctx) -> set[str]:
    return {n.name for n in ctx.tree.body if isinstance(n, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))}


class _Move:
    """Moving ``self.x = <creation>`` (optionally guarded by ``if self.x is None:`` /
    ``if not hasattr(self, "x"):``) from ``call()`` to the end of ``build()``/``__init__``
    (created when missing).  Planned only when the creation uses nothing local to ``call()``
    except ``<first input>.shape`` (which becomes ``build``'s shape argument)."""

    def __init__(self, ctx, changes: list[tuple[tuple[int, int], str]]):
        self.ctx, self.changes = ctx, changes

    def edits(self):
        return [self.ctx.replace(span, text) for span, text in self.changes]

    @classmethod
    def plan(cls, ctx, klass: ast.ClassDef, call_fn: ast.AST, creation: ast.Call, dest: str):
        assign = ctx.parent(creation)
        if not (isinstance(assign, ast.Assign) and assign.value is creation and len(assign.targets) == 1):
            return None
        attr = self_attr_target(assign.targets[0])
        if attr is None:
            return None
        moved = assign
        holder = ctx.parent(assign)
        if holder is not call_fn:
            if not (isinstance(holder, ast.If) and holder.body == [assign] and not holder.orelse
                    and _guards(holder.test, attr) and ctx.parent(holder) is call_fn):
                return None
            moved = holder
        if len(call_fn.body) < 2 or not _whole_lines(ctx, moved):
            return None
        params = [a.arg for a in call_fn.args.posonlyargs + call_fn.args.args][1:]
        first = params[0] if params else None
        target = method_named(klass, dest)
        shape_name = "input_shape"
        if dest == "build" and target is not None:
            if len(target.args.args) < 2:
                return None
            shape_name = target.args.args[1].arg
        # what the creation may use: self, builtins, module-level names, <first>.shape (build only)
        module_names = _module_names(ctx)
        replacements = []
        for node in walk(assign):
            if isinstance(node, ast.Name) and node.id not in ("self",) and node.id not in module_names \
                    and not hasattr(builtins, node.id):
                parent = ctx.parent(node)
                if (dest == "build" and node.id == first and isinstance(parent, ast.Attribute)
                        and parent.attr == "shape"):
                    replacements.append(ctx.span(parent))
                    continue
                return None
            if isinstance(node, (ast.Lambda, ast.NamedExpr)):
                return None
        # the statement's text, with <first>.shape -> shape argument, re-indented
        start = line_start(ctx, assign.lineno - 1)
        end = line_end(ctx, assign.end_lineno - 1)
        body = ctx.text[start:end]
        for s, e in sorted(replacements, reverse=True):
            body = body[:s - start] + shape_name + body[e - start:]
        old_indent = ctx.line_indent(assign)
        lines = body.splitlines(keepends=True)
        if any(ln.strip() and not ln.startswith(old_indent) for ln in lines):
            return None
        if not body.endswith(("\n", "\r")):
            body += "\n"
            lines = body.splitlines(keepends=True)
        method_indent = ctx.line_indent(call_fn)
        inner = method_indent + (ctx.line_indent(call_fn.body[0])[len(method_indent):] or "    ")

        def reindent(indent):
            return "".join(indent + ln[len(old_indent):] if ln.strip() else ln for ln in lines)

        placeholder = None
        if target is not None:
            # `self.x = None` set up in __init__/build for the lazy creation: replace it
            placeholder = next((st for st in target.body if isinstance(st, ast.Assign) and len(st.targets) == 1
                                and self_attr_target(st.targets[0]) == attr and isinstance(st.value, ast.Constant)
                                and st.value.value is None and _whole_lines(ctx, st)), None)
            last = target.body[-1]
            at = line_end(ctx, last.end_lineno - 1)
            text = reindent(ctx.line_indent(target.body[0]))
        else:
            anchor = call_fn if dest == "build" else next(
                (n for n in klass.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))), call_fn)
            first_line = min([anchor.lineno] + [d.lineno for d in anchor.decorator_list])
            at = line_start(ctx, first_line - 1)
            if dest == "build":
                head = f"{method_indent}def build(self, {shape_name}):\n"
            else:
                head = (f"{method_indent}def __init__(self, **kwargs):\n"
                        f"{inner}super().__init__(**kwargs)\n")
            text = head + reindent(inner) + "\n"
        d_start = line_start(ctx, moved.lineno - 1)
        d_end = line_end(ctx, moved.end_lineno - 1)
        if placeholder is not None:
            p_span = (line_start(ctx, placeholder.lineno - 1), line_end(ctx, placeholder.end_lineno - 1))
            return cls(ctx, [(p_span, text), ((d_start, d_end), "")])
        return cls(ctx, [((at, at), text), ((d_start, d_end), "")])


def _guards(test: ast.AST, attr: str) -> bool:
    """``self.<attr> is None`` or ``not hasattr(self, "<attr>")``."""
    if (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Is)
            and self_attr_target(test.left) == attr and isinstance(test.comparators[0], ast.Constant)
            and test.comparators[0].value is None):
        return True
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        c = test.operand
        return (isinstance(c, ast.Call) and isinstance(c.func, ast.Name) and c.func.id == "hasattr"
                and len(c.args) == 2 and is_self(c.args[0]) and isinstance(c.args[1], ast.Constant)
                and c.args[1].value == attr)
    return False


def _whole_lines(ctx, stmt: ast.AST) -> bool:
    """The statement alone on its lines (no ``a; b``, nothing after it but a comment)."""
    s, e = ctx.span(stmt)
    bol = line_start(ctx, stmt.lineno - 1)
    rest = ctx.text[e:line_end(ctx, stmt.end_lineno - 1)].strip()
    return not ctx.text[bol:s].strip() and (not rest or rest.startswith("#"))


def _module_names(ctx) -> set[str]:
    names = set(bindings(ctx))
    for n in ctx.tree.body:
        if isinstance(n, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(n.name)
        elif isinstance(n, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name.split(".")[0]) for a in n.names)
        elif isinstance(n, ast.Assign):
            names.update(t.id for t in n.targets if isinstance(t, ast.Name))
    return names
