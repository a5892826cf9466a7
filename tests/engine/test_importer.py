"""The importer (``ctx.imports.ensure``, engine/importer.py) and the fix declaration it serves
(``ctx.imports.ensure``): a fix is declared once, built only when asked for, and writes the
names the file already binds (issue 17)."""
from __future__ import annotations

import ast
import inspect
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from keras_migrate.engine.analyze import Engine
from keras_migrate.engine.context import FileContext, Settings
from keras_migrate.engine.fixer import apply_edits, apply_fix, fix_text, merge_import_edits
from keras_migrate.engine.importer import ImportConflict
from keras_migrate.engine.model import Applicability, Edit, Fix, ImportEdit
from keras_migrate.engine.rule import Invalid, Rule, Valid
from keras_migrate.engine.source import SourceText
from keras_migrate.rules import all_rules


def _ctx(text: str) -> FileContext:
    text = textwrap.dedent(text).lstrip("\n")
    return FileContext(SourceText(text), ast.parse(text))


class _Probe(Rule):
    """Probe: flags `probe()` calls.

    ## What it does
    Test rule.
    ## Why is this bad?
    Test rule.
    ## Example
    `probe()`
    ## Use instead
    `done()`
    ## Fix safety
    Safe.
    ## References
    - none
    """

    code = "K999"
    name = "probe"
    message = "probe"
    fix = Applicability.SAFE
    VALID = [Valid("done()\n")]
    INVALID = [Invalid("probe()\n", fixed="done()\n")]
    builds: list = []

    def check(self, ctx):
        for call in ctx.nodes(ast.Call):
            if isinstance(call.func, ast.Name) and call.func.id == "probe":
                ctx.report(self, call, fix=Fix.safe("Call `done`", self._fix, ctx, call.func))

    def _fix(self, ctx, func):
        type(self).builds.append(ctx.segment(func))
        return ctx.replace(func, "done")


# -- the declaration ----------------------------------------------------------------------
def test_title_and_applicability_are_on_the_finding_and_the_edits_built_only_on_demand():
    _Probe.builds = []
    res = Engine([_Probe()], Settings()).analyze("import keras\nprobe()\nprobe()\n", "m.py")
    assert [(f.fix_title, f.fix_applicability) for f in res.findings] == [("Call `done`", Applicability.SAFE)] * 2
    assert all(f.has_fix and f.fixable() for f in res.findings)
    assert _Probe.builds == []  # checking built nothing
    fix = res.findings[0].fix()
    assert _Probe.builds == ["probe"] and fix.title == "Call `done`"
    assert [(e.start, e.end, e.new_text) for e in fix.edits] == [(13, 18, "done")]
    res.findings[0].fix()
    assert _Probe.builds == ["probe"]  # built once


def test_build_results():
    edit = Edit(0, 1, "x")
    assert Fix.safe("t", lambda: [edit, None]).built().edits == (edit,)   # None entries dropped
    assert Fix.unsafe("t", lambda e: e, edit).built().edits == (edit,)   # one Edit
    assert Fix.safe("t", edit).built().edits == (edit,)                   # edits made already
    assert Fix.safe("t", [edit, edit]).built().edits == (edit, edit)
    assert Fix.safe("t", lambda: None).built() is None                    # does not apply here
    assert Fix.safe("t", lambda: []).built() is None
    assert Fix.applicable(Applicability.DISPLAY, "t", edit).applicability is Applicability.DISPLAY
    with pytest.raises(TypeError):
        Fix.safe("t", "not edits")
    with pytest.raises(TypeError):
        Fix.safe("t", edit, 1)
    with pytest.raises(TypeError):
        Fix.safe("t", lambda: ["not an edit"]).built()


def test_a_failing_build_means_no_fix_and_report_takes_only_a_fix():
    ctx = _ctx("probe()\n")

    def broken():
        raise ImportConflict("`keras` is bound to `tf_keras`")
    f = ctx.report(_Probe(), (0, 5), fix=Fix.safe("t", broken))
    assert f.has_fix and f.fix() is None
    with pytest.raises(TypeError):
        ctx.report(_Probe(), (0, 5), fix=lambda: None)


def _report_calls(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "report":
            yield node


def test_every_rule_declares_its_fixes_once():
    """No ``make_fix``, no ``fix_title=``/``applicability=`` beside the fix, no lambda as
    a fix, and ``check`` returns nothing: a rule reports through ``ctx.report``."""
    import keras_migrate.rules as pkg
    root = Path(pkg.__file__).parent
    bad = []
    for p in sorted(root.rglob("*.py")):
        tree = ast.parse(p.read_text())
        rel = p.relative_to(root)
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr == "make_fix":
                bad.append(f"{rel}:{node.lineno}: make_fix")
        for call in _report_calls(tree):
            for kw in call.keywords:
                if kw.arg in ("fix_title", "applicability"):
                    bad.append(f"{rel}:{call.lineno}: {kw.arg}=")
                if kw.arg == "fix" and isinstance(kw.value, ast.Lambda):
                    bad.append(f"{rel}:{call.lineno}: fix=lambda")
    assert not bad, bad
    for rule in all_rules():
        src = textwrap.dedent(inspect.getsource(rule.check))
        fn = ast.parse(src).body[0]
        returns = [n for n in ast.walk(fn) if isinstance(n, ast.Return) and n.value is not None
                   and _owner(fn, n) is fn]
        yields = [n for n in ast.walk(fn) if isinstance(n, (ast.Yield, ast.YieldFrom)) and _owner(fn, n) is fn]
        assert not returns and not yields, f"{rule.code}.check returns findings instead of reporting them"


def _owner(fn, node):
    """The innermost function of ``fn`` containing ``node``."""
    best = fn
    for sub in ast.walk(fn):
        if sub is not fn and isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) \
                and any(n is node for n in ast.walk(sub)):
            best = sub
    return best


# -- the importer -------------------------------------------------------------------------
@pytest.mark.parametrize("header,wanted,binding,added", [
    ("import keras\n", "keras.ops", "keras.ops", None),
    ("import keras as K\n", "keras.ops", "K.ops", None),
    ("import keras as K\n", "keras", "K", None),
    ("from keras import ops\n", "keras.ops", "ops", None),
    ("from keras import ops as kops\n", "keras.ops.sum", "kops.sum", None),
    ("from keras import random\n", "keras.random.SeedGenerator", "random.SeedGenerator", None),
    ("import keras\nfrom keras import ops\n", "keras.ops", "keras.ops", None),  # keras itself first
    ("import keras.layers\n", "keras.ops", "keras.ops", None),                  # binds keras
    ("from tensorflow import keras\n", "keras.ops", "keras.ops", None),        # Keras 3's tf.keras
    ("import tensorflow.keras as tfk\n", "keras.random", "tfk.random", None),
    ("import tensorflow as tf\n", "keras.ops", "keras.ops", "import tensorflow as tf\nimport keras\n"),
    ("import tensorflow as tf\ntfk = tf.keras\n", "keras.ops", "keras.ops",   # an alias is not reused
     "import tensorflow as tf\nimport keras\ntfk = tf.keras\n"),
    ("from keras import layers\n", "keras.ops", "keras.ops", "from keras import layers\nimport keras\n"),
    ('"""Doc."""\nx = 1\n', "keras.ops", "keras.ops", '"""Doc."""\nimport keras\nx = 1\n'),
    ("x = 1\n", "keras.ops", "keras.ops", "import keras\nx = 1\n"),
])
def test_ensure(header, wanted, binding, added):
    ctx = _ctx(header)
    got, edit = ctx.imports.ensure(wanted)
    assert got == binding
    if added is None:
        assert edit is None
    else:
        assert isinstance(edit, ImportEdit) and apply_edits(ctx.text, [edit]) == added


@pytest.mark.parametrize("header", [
    "import tf_keras as keras\n",               # Keras 2 itself
    "from tensorflow.python import keras\n",    # the private copy
    "from tensorflow.compat.v1 import keras\n",
    "from mylib import keras\n",                # not Keras at all
])
def test_ensure_refuses_a_name_bound_to_something_else(header):
    with pytest.raises(ImportConflict):
        _ctx(header).imports.ensure("keras.ops")


def test_rewrite_spells_canonical_names_only():
    ctx = _ctx("import keras as K\nimport tensorflow as tf\n")
    code, edit = ctx.imports.rewrite("f(keras.optimizers.schedules.X(0.1), tf.keras.x, K.y, mykeras.z)")
    assert code == "f(K.optimizers.schedules.X(0.1), tf.keras.x, K.y, mykeras.z)" and edit is None
    code, edit = _ctx("import tensorflow as tf\n").imports.rewrite("keras.a.b + keras.c")
    assert code == "keras.a.b + keras.c" and edit.new_text == "import keras\n"


def test_import_edits_merge():
    a, b = ImportEdit(5, 5, "import keras\n"), ImportEdit(5, 5, "import numpy\n")
    plain = Edit(0, 1, "x")
    merged = merge_import_edits([a, plain, a, b, ImportEdit(9, 9, "import keras\n")])
    assert merged == [plain, ImportEdit(5, 5, "import keras\nimport numpy\n")]
    text = "import tensorflow as tf\nx = 1\n"
    fix = Fix.safe("t", [a.__class__(24, 24, "import keras\n"), ImportEdit(24, 24, "import keras\n")])
    assert apply_fix(text, fix.built()) == "import tensorflow as tf\nimport keras\nx = 1\n"


# -- end to end ---------------------------------------------------------------------------
def _rule(code):
    return next(r for r in all_rules() if r.code == code)


def test_fixes_that_each_need_the_import_apply_together_with_one_import():
    text = textwrap.dedent("""\
        import numpy as np
        import tensorflow as tf
        enc = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(2)])
        a = enc(np.ones((1, 3))).numpy()
        b = enc(np.ones((2, 3))).numpy()
        """)
    eng = Engine([_rule("K608")()], Settings(target_backends=("tensorflow", "jax", "torch")))
    assert len(eng.analyze(text, "m.py").findings) == 2
    out = fix_text(text, lambda t: eng.analyze(t, "m.py"))
    assert out.rounds == 1 and len(out.applied) == 2, out
    assert out.text.count("import keras\n") == 1
    assert out.text.count("keras.ops.convert_to_numpy(") == 2


ALIAS = "import keras as K\nopt = K.optimizers.SGD(learning_rate=0.1, decay=0.01)\n"


def test_the_issue_case_through_the_cli(tmp_path):
    """On ``import keras as K`` the fix writes ``K.optimizers...`` and adds no import."""
    (tmp_path / "m.py").write_text(ALIAS)
    out = subprocess.run([sys.executable, "-m", "keras_migrate", "fix", "--unsafe-fixes", "m.py"],
                         cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode in (0, 1), out.stdout + out.stderr
    assert (tmp_path / "m.py").read_text() == (
        "import keras as K\nopt = K.optimizers.SGD(learning_rate=K.optimizers.schedules.InverseTimeDecay("
        "0.1, decay_steps=1, decay_rate=0.01))\n")


def test_the_editor_quick_fix_carries_the_import():
    """A single fix (the editor's quick fix, ``apply_fix``) adds the import it needs."""
    text = "import numpy as np\nimport tensorflow as tf\nenc = tf.keras.layers.Dense(2)\na = enc(np.ones((1, 3))).numpy()\n"
    eng = Engine([_rule("K608")()], Settings(target_backends=("tensorflow", "jax", "torch")))
    f, = eng.analyze(text, "m.py").findings
    new = apply_fix(text, f.fix())
    assert new == ("import numpy as np\nimport tensorflow as tf\nimport keras\nenc = tf.keras.layers.Dense(2)\n"
                   "a = keras.ops.convert_to_numpy(enc(np.ones((1, 3))))\n")
