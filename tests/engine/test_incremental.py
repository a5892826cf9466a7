"""Incremental re-analysis (engine/incremental.py): the same result as a full analysis, by
the path the edit calls for; the fuzzer (tests/fuzz/fuzz_incremental.py) does the same at
random."""
from __future__ import annotations

import ast
import gc
import sys
import time
from pathlib import Path

import pytest

from keras_migrate.engine.analyze import Engine
from keras_migrate.engine.context import FileContext, Settings
from keras_migrate.engine.incremental import IncrementalAnalyzer, MergedBuckets, split_units
from keras_migrate.engine.source import SourceText

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
from dense import dense_text  # noqa: E402


@pytest.fixture(scope="module")
def engine():
    from keras_migrate.rules import all_rules
    return Engine([r() for r in all_rules()], Settings(target_backends=("tensorflow", "jax", "torch")))


def key(result):
    return ([(f.code, f.start, f.end, f.range, f.message, f.fix_title, f.fix_applicability, f.related)
             for f in result.findings], [(e.message, e.line, e.col) for e in result.errors], result.rule_errors)


def step(engine, inc, text):
    before = dict(inc.stats)
    got = inc.analyze(text, "t.py")
    assert key(got) == key(engine.analyze(text, "t.py"))
    return next((k for k, v in inc.stats.items() if v != before.get(k)), None), got


def test_walk_from_units_is_the_module_walk():
    text = dense_text(1)
    tree = ast.parse(text)
    src = SourceText(text)
    units = split_units(tree, src, 0, 0, len(text))
    assert [s for u in units for s in u.stmts] == tree.body
    assert units[0].start == 0 and units[-1].end == len(text)
    assert all(a.end == b.start for a, b in zip(units, units[1:]))
    whole = FileContext(src, tree).node_buckets()
    merged = MergedBuckets([u.buckets for u in units], {ast.Module: [tree]})
    assert set(whole) == set(merged)
    for t in whole:
        assert merged.get(t) == whole[t], t.__name__


def test_edit_inside_a_statement_is_incremental(engine):
    text = dense_text(1)
    inc = IncrementalAnalyzer(engine)
    assert step(engine, inc, text)[0] == "full"
    i = text.index("Dropout(0.2)")
    text = text[:i] + "Dropout( 0.2)" + text[i + len("Dropout(0.2)"):]
    assert step(engine, inc, text)[0] == "incremental"
    assert step(engine, inc, text + "\nprint(x)\n")[0] == "incremental"


def test_lines_added_move_the_findings_after_them_and_their_fixes(engine):
    text = dense_text(1)
    inc = IncrementalAnalyzer(engine)
    step(engine, inc, text)
    i = text.index("\nclass ") + 1
    text = text[:i] + "# a comment\n\n" + text[i:]
    path, got = step(engine, inc, text)
    assert path == "incremental"
    full = engine.analyze(text, "t.py")
    pairs = [(a, b) for a, b in zip(got.findings, full.findings) if a.has_fix][-5:]
    assert pairs
    for a, b in pairs:  # the moved findings' fixes, made again in this analysis
        fa, fb = a.fix(), b.fix()
        assert (fa is None) == (fb is None)
        if fa is not None:
            assert (fa.edits, fa.imports, fa.applicability) == (fb.edits, fb.imports, fb.applicability)


def test_an_edit_that_changes_what_a_name_is_reanalyses_the_module(engine):
    text = ("import tensorflow as tf\nfrom tensorflow import keras\n"
            "model = keras.Sequential([keras.layers.Dense(1)])\n"
            "def train():\n    model.fit_generator(gen, steps_per_epoch=2)\n")
    inc = IncrementalAnalyzer(engine)
    _, first = step(engine, inc, text)
    assert any(f.code == "K404" for f in first.findings)
    path, got = step(engine, inc, text.replace("keras.Sequential([keras.layers.Dense(1)])", "3"))
    assert path == "environment"
    assert not any(f.code == "K404" for f in got.findings)


def test_text_that_stops_parsing_and_parses_again(engine):
    text = dense_text(1)
    inc = IncrementalAnalyzer(engine)
    step(engine, inc, text)
    i = text.index("Dropout(0.2)") + len("Dropout(")
    broken = text[:i] + "(" + text[i:]
    path, got = step(engine, inc, broken)
    assert path == "full" and got.partial
    assert step(engine, inc, text)[0] == "full"
    assert step(engine, inc, text.replace("Dropout(0.2)", "Dropout(0.3)", 1))[0] == "incremental"


def test_an_earlier_analysis_offers_no_fix_once_nodes_moved(engine):
    text = "import tensorflow as tf\nm = tf.keras.models.load_model('x')\nm.fit_generator(g)\n"
    inc = IncrementalAnalyzer(engine)
    first = inc.analyze(text, "t.py")
    fixable = [f for f in first.findings if f.has_fix]
    assert fixable
    inc.analyze("\n" + text, "t.py")
    assert all(f.fix() is None for f in fixable)
    again = inc.analyze("\n" + text, "t.py")
    assert any(f.fix() is not None for f in again.findings if f.has_fix)


def test_a_keystroke_costs_less_than_a_full_analysis(engine):
    """Not a benchmark (benchmarks/lsp_bench.py is): the incremental path must not be the
    full one in disguise."""
    text = dense_text(2)
    inc = IncrementalAnalyzer(engine)
    inc.analyze(text, "t.py")
    i = text.index("Dropout(0.2)") + len("Dropout(")

    def cpu(fn):
        best = None
        for k in range(3):
            gc.collect()
            t0 = time.process_time()
            fn(k)
            t = time.process_time() - t0
            best = t if best is None else min(best, t)
        return best

    typed = cpu(lambda k: inc.analyze(text[:i] + " " * (k + 1) + text[i:], "t.py"))
    full = cpu(lambda k: engine.analyze(text[:i] + " " * (k + 1) + text[i:], "t.py"))
    assert inc.stats["incremental"] >= 3
    assert typed < full * 0.8, (typed, full)
