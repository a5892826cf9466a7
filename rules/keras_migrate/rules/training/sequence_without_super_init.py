"""K410 sequence-without-super-init."""
from __future__ import annotations

import ast

from keras_migrate.engine.api import (Applicability, Fix, Invalid, Rule, Run, Severity, Valid, def_name_span,
                                      newline, offset, walk_no_nested)


def _calls_super_init(fn) -> bool:
    for n in walk_no_nested(fn):
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "__init__":
            v = n.func.value
            if isinstance(v, ast.Call) and isinstance(v.func, ast.Name) and v.func.id == "super":
                return True
            if isinstance(v, (ast.Name, ast.Attribute)):  # Base.__init__(self, ...)
                return True
    return False


class SequenceWithoutSuperInit(Rule):
    """A `keras.utils.Sequence` subclass whose `__init__` does not call `super().__init__()`.

    ## What it does
    Flags the `__init__` of a class derived from `keras.utils.Sequence` (any import style)
    that never calls `super().__init__(...)`.

    ## Why is this bad?
    In Keras 3 `Sequence` is an alias of `keras.utils.PyDataset`, whose constructor sets up
    `workers`, `use_multiprocessing` and `max_queue_size`. Keras 3.15.1 still runs the class,
    with `UserWarning: Your PyDataset class should call super().__init__(**kwargs) in its
    constructor. **kwargs can include workers, use_multiprocessing, max_queue_size. Do not
    pass these arguments to fit(), as they will be ignored.`, and such a dataset can never
    load in parallel (the `fit(workers=...)` of Keras 2 is gone, see K405).

    ## Example
    ```python
    class Batches(keras.utils.Sequence):
        def __init__(self, x, y):
            self.x, self.y = x, y
    ```

    ## Use instead
    ```python
    class Batches(keras.utils.PyDataset):
        def __init__(self, x, y, **kwargs):
            super().__init__(**kwargs)
            self.x, self.y = x, y
    ```

    ## Fix safety
    Unsafe: the base becomes `keras.utils.PyDataset` (the same class in Keras 3, absent from
    Keras 2), `__init__` gains `**kwargs` (unknown keyword arguments now go to `PyDataset`
    instead of raising `TypeError`), and `super().__init__(**kwargs)` runs first. A
    one-line `__init__` is reported without a fix.

    ## References
    - https://keras.io/api/utils/python_utils/#pydataset-class
    - docs/research/keras3-facts.md#kerasutilssequence-without-super__init__
    """

    code = "K410"
    name = "sequence-without-super-init"
    message = ("`{cls}.__init__` does not call `super().__init__(**kwargs)`: Keras 3's `Sequence` is "
               "`PyDataset`, which warns and cannot load in parallel")
    severity = Severity.WARNING
    fix = Applicability.UNSAFE
    requires = ("Sequence",)

    VALID = [
        Valid("""
            import keras
            class Batches(keras.utils.PyDataset):
                def __init__(self, n, **kwargs):
                    super().__init__(**kwargs)
                    self.n = n
            class Old(keras.utils.Sequence):
                def __init__(self, n):
                    keras.utils.Sequence.__init__(self)
                    self.n = n
            class NoInit(keras.utils.Sequence):
                def __len__(self):
                    return 1
        """),
        # typing's / collections' Sequence is not Keras
        Valid("""
            from typing import Sequence
            import keras
            class Path(Sequence):
                def __init__(self, items):
                    self.items = items
        """),
    ]
    INVALID = [
        Invalid(
            """
            import keras
            import numpy as np

            class Batches(keras.utils.Sequence):
                def __init__(self, n):
                    self.n = n

                def __len__(self):
                    return self.n

                def __getitem__(self, i):
                    return np.ones((2, 3), "float32"), np.ones((2, 1), "float32")

            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, kernel_initializer="ones")])
            model.compile(optimizer="sgd", loss="mse")
            h = model.fit(Batches(3), epochs=1, verbose=0)
            RESULT = round(h.history["loss"][0], 4)
            """,
            fixed="""
            import keras
            import numpy as np

            class Batches(keras.utils.PyDataset):
                def __init__(self, n, **kwargs):
                    super().__init__(**kwargs)
                    self.n = n

                def __len__(self):
                    return self.n

                def __getitem__(self, i):
                    return np.ones((2, 3), "float32"), np.ones((2, 1), "float32")

            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, kernel_initializer="ones")])
            model.compile(optimizer="sgd", loss="mse")
            h = model.fit(Batches(3), epochs=1, verbose=0)
            RESULT = round(h.history["loss"][0], 4)
            """,
            flagged=("__init__",),
            unsafe=True,
            run=Run(k3="warns", warning="super().__init__", fixed_backends=("tensorflow", "jax", "torch")),
        ),
        Invalid(
            '''
            from tensorflow.keras.utils import Sequence
            import math

            class Loader(Sequence):
                def __init__(self, files, batch_size=32, *, shuffle=False, **opts):
                    """Batches of files."""
                    self.files = files
            ''',
            fixed='''
            import math
            import keras

            class Loader(keras.utils.PyDataset):
                def __init__(self, files, batch_size=32, *, shuffle=False, **opts):
                    """Batches of files."""
                    super().__init__(**opts)
                    self.files = files
            ''',
            flagged=("__init__",),
            unsafe=True,
        ),
    ]

    def check(self, ctx):
        for cls in ctx.nodes(ast.ClassDef):
            bases = [b for b in cls.bases if ctx.qualname(b) == "keras.utils.Sequence"]
            if not bases:
                continue
            init = next((s for s in cls.body if isinstance(s, ast.FunctionDef) and s.name == "__init__"), None)
            if init is None or _calls_super_init(init):
                continue
            title = "Derive from `keras.utils.PyDataset` and call `super().__init__(**kwargs)` (unsafe)"
            one_line = init.body[0].lineno == init.lineno
            ctx.report(self, def_name_span(ctx, init), self.message.format(cls=cls.name),
                       fix=None if one_line else Fix.unsafe(title, self._fix, ctx, bases[0], init))

    def _fix(self, ctx, base, init):
        nl = newline(ctx)
        utils, imp = ctx.imports.ensure("keras.utils", at=base)
        edits = [ctx.replace(base, f"{utils}.PyDataset"), imp]
        a = init.args
        if a.kwarg is None:
            nodes = a.posonlyargs + a.args + a.kwonlyargs + [d for d in a.defaults + a.kw_defaults if d is not None]
            if a.vararg is not None:
                nodes.append(a.vararg)
            end = max(ctx.span(n)[1] for n in nodes)
            edits.append(ctx.insert(end, ", **kwargs"))
            kw = "kwargs"
        else:
            kw = a.kwarg.arg
        body = init.body
        first = body[0]
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
            if len(body) == 1:
                return None
            first = body[1]
        indent = ctx.line_indent(first)
        line_start = offset(ctx, first.lineno - 1, 0)
        edits.append(ctx.insert(line_start, f"{indent}super().__init__(**{kw}){nl}"))
        return edits

