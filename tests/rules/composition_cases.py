"""Scripts whose findings come from several rules, with the code after all fixes
(``fix --unsafe-fixes``). Used by tests/rules/test_fix_composition.py (the text) and
tests/conformance/test_composition.py (the original runs on Keras 2, the fixed code on
Keras 3 with each backend in ``backends``, with the same ``RESULT``).

Snippets get ``np`` (NumPy) from their own imports; keep them tiny (milliseconds of work).
"""
from __future__ import annotations

import ast
import textwrap

from keras_migrate.engine.analyze import Engine
from keras_migrate.engine.context import Settings
from keras_migrate.engine.fixer import fix_text
from keras_migrate.engine.resolve import canonicalize
from keras_migrate.rules import all_rules
from keras_migrate.rules.apidata import keras3_has

ALL = ("tensorflow", "jax", "torch")


def case(id, code, fixed, backends=ALL, k3="ImportError"):
    return {"id": id, "code": textwrap.dedent(code).lstrip("\n"), "fixed": textwrap.dedent(fixed).lstrip("\n"),
            "backends": backends, "k3": k3}


CASES = [
    # issue 13 item 1: an import rewritten to keras must not name what the other fixes remove
    case("from-import-reduction-thresholded-relu", """
        import numpy as np
        from tensorflow.keras.losses import MeanSquaredError, Reduction
        from tensorflow.keras.layers import ThresholdedReLU, Dense
        from tensorflow.keras.layers import LocallyConnected2D
        loss = MeanSquaredError(reduction=Reduction.NONE)
        act = ThresholdedReLU(theta=0.5)
        RESULT = [np.asarray(loss(np.ones((2, 1), "float32"), np.zeros((2, 1), "float32"))).tolist(),
                  np.asarray(act(np.array([0.2, 1.0], "float32"))).tolist()]
        """, """
        import numpy as np
        from keras.losses import MeanSquaredError
        from keras.layers import Dense
        import keras
        loss = MeanSquaredError(reduction='none')
        act = keras.layers.ReLU(threshold=0.5)
        RESULT = [np.asarray(loss(np.ones((2, 1), "float32"), np.zeros((2, 1), "float32"))).tolist(),
                  np.asarray(act(np.array([0.2, 1.0], "float32"))).tolist()]
        """),
    case("standalone-keras-from-imports", """
        import numpy as np
        from keras.losses import MeanSquaredError, Reduction
        from keras.layers import ThresholdedReLU
        loss = MeanSquaredError(reduction=Reduction.SUM)
        RESULT = [float(np.asarray(loss(np.ones((2, 1), "float32"), np.zeros((2, 1), "float32")))),
                  np.asarray(ThresholdedReLU(0.5)(np.array([0.2, 1.0], "float32"))).tolist()]
        """, """
        import numpy as np
        from keras.losses import MeanSquaredError
        import keras
        loss = MeanSquaredError(reduction='sum')
        RESULT = [float(np.asarray(loss(np.ones((2, 1), "float32"), np.zeros((2, 1), "float32")))),
                  np.asarray(keras.layers.ReLU(threshold=0.5)(np.array([0.2, 1.0], "float32"))).tolist()]
        """),
    # issue 13 item 2: the removed namespace reached through an alias / a from-imported module
    case("experimental-preprocessing-through-bindings", """
        import numpy as np
        import tensorflow as tf
        from tensorflow.keras import layers as L
        kl = tf.keras.layers
        pp = tf.keras.layers.experimental.preprocessing
        r = kl.experimental.preprocessing.Rescaling(1 / 255)
        n = L.experimental.preprocessing.Normalization(mean=1.0, variance=4.0)
        c = pp.CenterCrop(1, 1)
        x = np.ones((1, 2, 2, 1), "float32")
        RESULT = [np.asarray(r(x)).tolist(), np.asarray(n(x)).tolist(), np.asarray(c(x)).tolist()]
        """, """
        import numpy as np
        from keras import layers as L
        import keras
        kl = keras.layers
        pp = keras.layers
        r = kl.Rescaling(1 / 255)
        n = L.Normalization(mean=1.0, variance=4.0)
        c = pp.CenterCrop(1, 1)
        x = np.ones((1, 2, 2, 1), "float32")
        RESULT = [np.asarray(r(x)).tolist(), np.asarray(n(x)).tolist(), np.asarray(c(x)).tolist()]
        """, k3="AttributeError"),
]


def compose(code: str, backends=ALL) -> str:
    """The code after every default rule's fixes, unsafe ones included, to a fixed point."""
    eng = Engine([r() for r in all_rules() if r.default_enabled], Settings(target_backends=tuple(backends)))
    out = fix_text(code, lambda t: eng.analyze(t, "script.py"), unsafe=True)
    assert not out.failed, out.failed
    again = fix_text(out.text, lambda t: eng.analyze(t, "script.py"), unsafe=True)
    assert again.text == out.text, "a second fix changed the code again"
    return out.text


def keras_imports_missing(text: str) -> list[str]:
    """Names a ``from keras... import X`` / ``import keras.x`` statement asks Keras 3 for and
    Keras 3 lacks."""
    bad = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "keras":
            for a in node.names:
                name = f"{node.module}.{a.name}"
                if not keras3_has(canonicalize(name)[0] or name):
                    bad.append(name)
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "keras" and not keras3_has(a.name):
                    bad.append(a.name)
    return bad
