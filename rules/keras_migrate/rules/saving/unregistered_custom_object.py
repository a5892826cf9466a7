"""K205 unregistered-custom-object."""
from __future__ import annotations

import ast
from typing import Optional

from keras_migrate.engine.api import (LAYER, MODEL, Applicability, Fix, Invalid, Rule, Run, Severity, Valid,
                                      arg, ast_offset, calls_to, class_kinds, def_name_span, keyword,
                                      method_calls, newline, visible_values, walk)

from ._helpers import full_model_saves, saves_full_model


def _registered(ctx, cls: ast.ClassDef) -> bool:
    for dec in cls.decorator_list:
        target = dec.func if isinstance(dec, ast.Call) else dec
        q = ctx.qualname(target) or ""
        name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
        if q.endswith("register_keras_serializable") or name == "register_keras_serializable":
            return True
    return False


def _save_roots(ctx) -> Optional[list[ast.AST]]:
    """The model expressions this file saves whole: ``m`` of ``m.save(...)`` /
    ``save_model(m, ...)``, and the models ``fit`` with callbacks when a full-model
    ``ModelCheckpoint`` exists. None when a saved model cannot be followed (then every class
    counts, as before)."""
    roots = []
    for call, _ in full_model_saves(ctx):
        f = call.func
        roots.append(f.value if isinstance(f, ast.Attribute) and f.attr == "save" else arg(call, 0, "model"))
    checkpoints = False
    for call, _ in calls_to(ctx, ("keras.callbacks.ModelCheckpoint",)):
        kw = keyword(call, "save_weights_only")
        if kw is None or not (isinstance(kw.value, ast.Constant) and kw.value.value is True):
            checkpoints = True
    if checkpoints:
        fits = [f.value for c, f in method_calls(ctx, ("fit",)) if keyword(c, "callbacks") is not None]
        if not fits:
            return None
        roots += fits
    for r in roots:
        if not isinstance(r, ast.Name) or not visible_values(ctx, r):
            return None
    return roots


def _classes_in_saved_models(ctx) -> Optional[set[str]]:
    """Names of the file's classes that a saved model is built with: a backward slice from
    each saved model through the assignments it depends on, the bodies of local functions it
    calls and of the classes it instantiates. None when a saved model cannot be followed."""
    roots = _save_roots(ctx)
    if roots is None:
        return None
    classes = {c.name: c for c in ctx.nodes(ast.ClassDef)}
    funcs = {f.name: f for f in ctx.nodes(ast.FunctionDef)}
    linked: set[str] = set()
    seen: set[int] = set()
    stack = list(roots)
    budget = 4000
    while stack and budget > 0:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        for n in walk(node):
            budget -= 1
            if not isinstance(n, ast.Name):
                continue
            if n.id in classes and n.id not in linked:
                linked.add(n.id)
                stack.append(classes[n.id])
            elif n.id in funcs and id(funcs[n.id]) not in seen:
                stack.append(funcs[n.id])
            for v in visible_values(ctx, n):
                if id(v) not in seen:
                    stack.append(v)
    if budget <= 0:
        return None
    return linked


def _names_given_to_loaders(ctx) -> set[str]:
    """Class names passed in ``custom_objects=``, ``custom_object_scope(...)`` or stored in
    ``get_custom_objects()[...]``: those reload without registration."""
    out: set[str] = set()
    roots = []
    for call in ctx.nodes(ast.Call):
        for kw in call.keywords:
            if kw.arg == "custom_objects":
                roots.append(kw.value)
        f = call.func
        last = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
        if last in ("custom_object_scope", "CustomObjectScope"):
            roots.extend(call.args)
    for assign in ctx.nodes(ast.Assign):
        for t in assign.targets:
            if isinstance(t, ast.Subscript) and "get_custom_objects" in ctx.segment(t.value):
                roots.append(assign.value)
    for r in roots:
        for n in walk(r):
            if isinstance(n, ast.Name):
                out.add(n.id)
    return out


class UnregisteredCustomObject(Rule):
    """A custom Layer or Model class, in a file that saves models, is not registered for loading.

    ## What it does
    In a file that saves a whole model (`model.save`, `save_model`, a full-model
    `ModelCheckpoint`), flags each Keras Layer/Model subclass (bases followed through the
    file and the workspace) that has no `@keras.saving.register_keras_serializable()`
    decorator and is not passed to the loader (`custom_objects=`, `custom_object_scope`,
    `get_custom_objects()[...]`) anywhere in the file, and a model the file saves is built
    with it: followed back from each `model.save(...)` / `save_model(model, ...)` (and the
    models `fit` with callbacks when there is a full-model `ModelCheckpoint`) through the
    assignments, local functions and classes it depends on. A class no saved model uses is
    not flagged; where a saved model cannot be followed (a parameter, `self.model`), every
    class counts.

    ## Why is this bad?
    Keras 2 reloaded a SavedModel without your classes (it revived generic layers from the
    traced graph). Keras 3 has no SavedModel loading: a `.keras` file stores the class by its
    registered name, and `load_model` without the class raises
    `TypeError: <class '...Functional'> could not be deserialized properly. Please ensure that
    components that are Python object instances (layers, models, etc.) returned by
    get_config() are explicitly deserialized...` (saving works, loading fails, typically in
    another program).

    ## Example
    ```python
    class Scale(keras.layers.Layer):
        def __init__(self, factor, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor
    ```

    ## Use instead
    ```python
    @keras.saving.register_keras_serializable(package="my_project")
    class Scale(keras.layers.Layer):
        def __init__(self, factor, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def get_config(self):
            return {**super().get_config(), "factor": self.factor}
    ```

    ## Fix safety
    Unsafe: the decorator registers the class under `Custom>ClassName` (pick a `package=`
    of your own), which is the name new `.keras` files will store; files saved before keep
    needing `custom_objects`. The module defining the class must be imported before loading.
    Constructor arguments that are not plain Python values (layers, tensors, functions) also
    need a `get_config`/`from_config` pair; the fix does not write those.

    ## References
    - https://keras.io/guides/serialization_and_saving/#custom-objects
    - https://keras.io/api/models/model_saving_apis/serialization_utils/#registerkerasserializable-function
    - docs/research/keras3-facts.md#custom-objects-in-saved-models
    """

    code = "K205"
    module_wide = True  # relates statements to each other (engine/incremental.py)
    name = "unregistered-custom-object"
    message = ("`{name}` is not registered: a saved `.keras` model that uses it fails to load in Keras 3 "
               "(TypeError) unless the loader passes it; add `@keras.saving.register_keras_serializable()`")
    severity = Severity.WARNING
    fix = Applicability.UNSAFE
    requires = ("save", "ModelCheckpoint")

    VALID = [
        # the saved model is built from Keras layers only; the custom layer is used elsewhere
        Valid("""
            import keras

            class Scale(keras.layers.Layer):
                def call(self, x):
                    return x * 2.0

            inputs = keras.Input((3,))
            plain = keras.Model(inputs, keras.layers.Dense(1)(inputs))
            plain.save("plain.keras")
            x = keras.Input((3,))
            scaled = keras.Model(x, Scale()(x))
            scaled.predict(keras.ops.ones((1, 3)))
        """),
        Valid("""
            import keras
            @keras.saving.register_keras_serializable(package="demo")
            class Scale(keras.layers.Layer):
                def call(self, x):
                    return x * 2
            inputs = keras.Input((3,))
            model = keras.Model(inputs, Scale()(inputs))
            model.save("m.keras")
        """),
        # no model is saved in this file
        Valid("""
            import keras
            class Scale(keras.layers.Layer):
                def call(self, x):
                    return x * 2
        """),
        # the loader is given the class
        Valid("""
            import keras
            class Scale(keras.layers.Layer):
                def call(self, x):
                    return x * 2
            inputs = keras.Input((3,))
            model = keras.Model(inputs, Scale()(inputs))
            model.save("m.keras")
            again = keras.models.load_model("m.keras", custom_objects={"Scale": Scale})
        """),
        # not a Keras class; only weights are saved
        Valid("""
            import keras
            class Config:
                pass
            class Scale(keras.layers.Layer):
                pass
            model = keras.Sequential([Scale()])
            model.save_weights("m.weights.h5")
        """),
    ]
    INVALID = [
        Invalid(
            """
            import keras
            import numpy as np

            class Scale(keras.layers.Layer):
                def __init__(self, factor, **kwargs):
                    super().__init__(**kwargs)
                    self.factor = factor

                def call(self, x):
                    return x * self.factor

            inputs = keras.Input((3,))
            model = keras.Model(inputs, Scale(2.0)(inputs))
            model.save("scaled.keras")
            restored = keras.models.load_model("scaled.keras")
            RESULT = restored.predict(np.ones((1, 3)), verbose=0).tolist()
            """,
            fixed="""
            import keras
            import numpy as np

            @keras.saving.register_keras_serializable()
            class Scale(keras.layers.Layer):
                def __init__(self, factor, **kwargs):
                    super().__init__(**kwargs)
                    self.factor = factor

                def call(self, x):
                    return x * self.factor

            inputs = keras.Input((3,))
            model = keras.Model(inputs, Scale(2.0)(inputs))
            model.save("scaled.keras")
            restored = keras.models.load_model("scaled.keras")
            RESULT = restored.predict(np.ones((1, 3)), verbose=0).tolist()
            """,
            flagged=("Scale",),
            unsafe=True,
            # tf-keras cannot reload it either (unknown class): k2=False
            run=Run(k2=False, k3="TypeError", fixed_backends=("tensorflow", "jax", "torch")),
        ),
        # linked through a builder function; the class no saved model uses is left alone
        Invalid(
            """
            import keras

            class Scale(keras.layers.Layer):
                def call(self, x):
                    return x * 2.0

            class Probe(keras.layers.Layer):
                def call(self, x):
                    return x

            def build():
                inputs = keras.Input((3,))
                return keras.Model(inputs, Scale()(inputs))

            model = build()
            model.save("m.keras")
            """,
            fixed="""
            import keras

            @keras.saving.register_keras_serializable()
            class Scale(keras.layers.Layer):
                def call(self, x):
                    return x * 2.0

            class Probe(keras.layers.Layer):
                def call(self, x):
                    return x

            def build():
                inputs = keras.Input((3,))
                return keras.Model(inputs, Scale()(inputs))

            model = build()
            model.save("m.keras")
            """,
            flagged=("Scale",),
            unsafe=True,
        ),
        # a subclassed model and a base class of the user's own; decorators kept
        Invalid(
            """
            import functools
            import tensorflow as tf

            class Base(tf.keras.Model):
                pass

            @functools.total_ordering
            class Net(Base):
                def call(self, x):
                    return x

            net = Net()
            tf.keras.callbacks.ModelCheckpoint("best.keras")
            """,
            fixed="""
            import functools
            import tensorflow as tf
            import keras

            @keras.saving.register_keras_serializable()
            class Base(tf.keras.Model):
                pass

            @functools.total_ordering
            @keras.saving.register_keras_serializable()
            class Net(Base):
                def call(self, x):
                    return x

            net = Net()
            tf.keras.callbacks.ModelCheckpoint("best.keras")
            """,
            flagged=("Base", "Net"),
            unsafe=True,
        ),
    ]

    def check(self, ctx):
        if not saves_full_model(ctx):
            return
        passed = None
        linked = ...
        for cls in ctx.nodes(ast.ClassDef):
            kinds = class_kinds(ctx, cls)
            if not (LAYER in kinds or MODEL in kinds) or _registered(ctx, cls):
                continue
            if passed is None:
                passed = _names_given_to_loaders(ctx)
            if cls.name in passed:
                continue
            if linked is ...:
                linked = _classes_in_saved_models(ctx)
            if linked is not None and cls.name not in linked:
                continue  # no saved model of this file is built with it
            title = "Register the class with `@keras.saving.register_keras_serializable()` (unsafe: new registered name)"
            ctx.report(self, def_name_span(ctx, cls), self.message.format(name=cls.name),
                       fix=Fix.unsafe(title, self._fix, ctx, cls))

    def _fix(self, ctx, cls):
        start = ast_offset(ctx, cls.lineno, cls.col_offset)
        if not ctx.text.startswith("class", start):
            return None
        saving, imp = ctx.imports.ensure("keras.saving", at=start)
        indent = ctx.line_indent(cls)
        text = f"@{saving}.register_keras_serializable()" + newline(ctx) + indent
        return [ctx.insert(start, text), imp]
