"""Incremental analysis against full analysis, after random edit sequences (issue 14).

A sequence starts from a module made of the project's own Keras 2 code (the rules' VALID and
INVALID examples, pieces of the benchmark script) and applies random edits: characters typed
and deleted anywhere, lines deleted, duplicated, moved, commented out, indented, Keras
statements inserted, names renamed.  After each edit one ``IncrementalAnalyzer`` (kept for the
whole sequence, as the language server keeps one per document) and a fresh ``Engine.analyze``
analyse the text; everything they report must be equal: the findings (code, offsets, range,
message, severity, fix title and applicability, tags, related locations), the parse errors,
the rule errors, the analysed text, and (``--fixes``) the edits of the findings' fixes.  When
the incremental state is kept, its tree must also be the one ``ast.parse`` gives (positions
included).

Every rule is on (off-by-default ones too) and every target backend, so every rule runs.

The short run is tests/fuzz/test_incremental_fuzz.py; the long run:

    .venv/bin/python tests/fuzz/fuzz_incremental.py --sequences 2000 [--fixes] [--seed 1]
"""
from __future__ import annotations

import argparse
import ast
import random
import re
import sys
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from keras_migrate.engine.analyze import Engine
from keras_migrate.engine.context import Settings
from keras_migrate.engine.incremental import IncrementalAnalyzer


@lru_cache(maxsize=1)
def engine() -> Engine:
    from keras_migrate.rules import all_rules
    return Engine([r() for r in all_rules()], Settings(target_backends=("tensorflow", "jax", "torch")))


@lru_cache(maxsize=1)
def pieces() -> tuple[str, ...]:
    """Top-level-statement-sized pieces of Keras 2 code: every rule example that parses, and
    the benchmark script cut at its top-level definitions."""
    from keras_migrate.rules import all_rules
    out = []
    for r in all_rules():
        for ex in list(r.INVALID) + list(r.VALID):
            try:
                ast.parse(ex.code)
            except SyntaxError:
                continue
            out.append(ex.code if ex.code.endswith("\n") else ex.code + "\n")
    script = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "keras2_script.py"
    if script.exists():
        text = script.read_text(encoding="utf-8")
        parts = re.split(r"(?m)^(?=class |def |if __name__)", text)
        out.extend(p for p in parts if p.strip())
    return tuple(out)


SNIPPETS = (
    "import tensorflow as tf\n", "from tensorflow import keras\n", "import keras\n",
    "from tensorflow.keras import layers\n", "from tensorflow.keras.layers import Dense\n",
    "import numpy as np\n", "model = keras.Sequential([keras.layers.Dense(3)])\n",
    "model = tf.keras.Model(inputs, outputs)\n", "x = keras.Input(shape=(3,))\n",
    "x = layers.Dense(4)(x)\n", "y = tf.nn.relu(x)\n", "model.fit(x, y, epochs=2)\n",
    "model.fit_generator(gen, steps_per_epoch=3)\n", "model.save('m.h5')\n", "model.save('saved')\n",
    "model = keras.models.load_model('saved')\n", "opt = tf.keras.optimizers.Adam(lr=0.1)\n",
    "model.compile(optimizer=opt, loss='mse')\n", "history = model.fit(x, y)\n",
    "K = tf.keras.backend\n", "tfk = tf.keras\n", "def make():\n    return keras.Sequential()\n",
    "class Block(keras.layers.Layer):\n    def call(self, x):\n        return tf.nn.relu(x)\n",
    "class Net(keras.Model):\n    def build(self, s):\n        self.w = self.add_weight('w', (3,))\n",
    "inputs = x\n", "outputs = model(x)\n", "# noqa\n", "x = 1  # noqa: K101\n",
    "# keras-migrate: noqa: K302\n", "if True:\n    model = make()\n", "del model\n",
    "for x in range(3):\n    pass\n", "with tf.GradientTape() as tape:\n    loss = model(x)\n",
)
CHARS = (" ", "x", "1", "(", ")", ":", "\n", "#", ".", ",", "=", "'", "    ", "\\", "[", "_")
RENAMES = (("model", "model2"), ("x", "y"), ("tf.keras", "keras"), ("keras", "tf.keras"),
           ("Dense", "Conv2D"), ("layers", "L"), ("fit", "fit_generator"), ("Layer", "Model"),
           ("import tensorflow as tf", "import tensorflow as tf2"), ("return ", "return None and "),
           ("self", "this"), ("def ", "async def "), ("save", "save_weights"), ("1", "2"))


def edit(rng: random.Random, text: str) -> str:
    """One random edit of ``text``."""
    lines = text.splitlines(keepends=True) or [""]
    # most edits keep the module parsing (a broken one is analysed in full: nothing to compare)
    op = rng.choices(range(13), weights=(1, 1, 2, 2, 3, 3, 1, 2, 1, 2, 2, 4, 3))[0]
    if op == 11:  # type into a name: one more letter, or one less
        spots = [m.start() for m in re.finditer(r"[A-Za-z_]\w*", text)]
        if spots:
            i = rng.choice(spots) + 1
            if rng.random() < 0.5 and text[i:i + 1].isalnum():
                return text[:i] + text[i + 1:]
            return text[:i] + rng.choice("aeiouxyz_12") + text[i:]
        return text
    if op == 12:  # type into a number, a string or a comment; or add a comment
        spots = [m.end() - 1 for m in re.finditer(r"\d|'[^'\n]*'|\"[^\"\n]*\"|#[^\n]*", text)]
        if spots and rng.random() < 0.7:
            i = rng.choice(spots)
            return text[:i] + rng.choice("0123k.") + text[i:]
        i = rng.randrange(len(lines))
        lines[i] = lines[i].rstrip("\r\n") + "  # typed\n"
        return "".join(lines)
    if op == 0 and text:  # type a character anywhere
        i = rng.randrange(len(text) + 1)
        return text[:i] + rng.choice(CHARS) + text[i:]
    if op == 1 and text:  # delete a few characters
        i = rng.randrange(len(text))
        return text[:i] + text[i + rng.randint(1, 3):]
    if op == 2:
        del lines[rng.randrange(len(lines))]
    elif op == 3:
        lines.insert(rng.randrange(len(lines) + 1), rng.choice(lines))
    elif op == 4:
        lines.insert(rng.randrange(len(lines) + 1), rng.choice(SNIPPETS))
    elif op == 5:
        old, new = rng.choice(RENAMES)
        spots = [m.start() for m in re.finditer(re.escape(old), text)]
        if spots:
            i = rng.choice(spots)
            return text[:i] + new + text[i + len(old):]
    elif op == 6 and len(lines) > 1:
        i = rng.randrange(len(lines) - 1)
        lines[i], lines[i + 1] = lines[i + 1], lines[i]
    elif op == 7:
        i = rng.randrange(len(lines))
        lines[i] = lines[i][2:] if lines[i].startswith("# ") else "# " + lines[i]
    elif op == 8:
        i = rng.randrange(len(lines))
        lines[i] = lines[i][4:] if lines[i].startswith("    ") else "    " + lines[i]
    elif op == 9:  # a whole piece of code in between two statements
        i = rng.randrange(len(lines) + 1)
        lines.insert(i, rng.choice(pieces()))
    else:  # the same line typed twice in a row (typing then undoing is op 0 + 1)
        i = rng.randrange(len(lines))
        lines[i] = lines[i].rstrip("\r\n") + rng.choice(("", " ", "  # comment", ")", ".numpy()")) + "\n"
    return "".join(lines)


def start_text(rng: random.Random, size: int = 6) -> str:
    head = "import tensorflow as tf\nfrom tensorflow import keras\nfrom tensorflow.keras import layers\n"
    body = [rng.choice(pieces()) for _ in range(size)]
    text = head + "\n".join(body)
    if rng.random() < 0.2:
        text = text.replace("\n", "\r\n")
    return text


def key(result) -> tuple:
    return ([(f.code, f.start, f.end, f.range, f.message, f.severity, f.fix_title, f.fix_applicability,
              f.tags, f.related, f.has_fix) for f in result.findings],
            [(e.message, e.line, e.col) for e in result.errors], list(result.rule_errors),
            result.analysed_text, result.source.text if result.source is not None else None)


def fix_key(result, rng: random.Random, count: int) -> list:
    fixable = [f for f in result.findings if f.has_fix]
    rng.shuffle(fixable)
    out = []
    for f in sorted(fixable[:count], key=lambda f: (f.start, f.code)):
        fx = f.fix()
        out.append((f.code, f.start, None if fx is None else (fx.title, fx.applicability, fx.edits, fx.imports)))
    return out


def _parses(text: str) -> bool:
    try:
        ast.parse(text)
    except (SyntaxError, ValueError):
        return False
    return True


class Mismatch(AssertionError):
    pass


@dataclass
class Stats:
    sequences: int = 0
    edits: int = 0
    paths: dict = field(default_factory=dict)
    fixes: int = 0
    seconds: float = 0.0

    def line(self) -> str:
        p = ", ".join(f"{k} {v}" for k, v in sorted(self.paths.items()))
        return (f"{self.sequences} sequences, {self.edits} edits, {self.fixes} fixes compared, "
                f"0 mismatches; analyses by path: {p}; {self.seconds:.1f} s")


STATS = Stats()


def run_sequence(seed: int, edits: int = 8, fixes: int = 0, size: int = 6) -> None:
    """One sequence (all of it decided by ``seed``); raises Mismatch with the texts."""
    rng = random.Random(seed)
    eng = engine()
    inc = IncrementalAnalyzer(eng)
    text = start_text(rng, size)
    t0 = time.perf_counter()
    good = text
    for step in range(edits + 1):
        if step:
            # a text that does not parse is analysed, then usually typed on to one that does
            # again (as a user finishes a statement): the state is rebuilt from it
            text = edit(rng, text if _parses(text) or rng.random() < 0.2 else good)
            if _parses(text):
                good = text
        got = inc.analyze(text, "fuzz.py")
        want = eng.analyze(text, "fuzz.py")
        if key(got) != key(want):
            raise Mismatch(_explain(seed, step, text, got, want))
        if inc.text is not None:
            tree = inc.ctx.tree
            if ast.dump(tree, include_attributes=True) != ast.dump(ast.parse(text), include_attributes=True):
                raise Mismatch(f"seed {seed} step {step}: the incremental tree differs from ast.parse\n{text}")
        if fixes and got.findings:
            frng = random.Random(seed * 1000 + step)
            a, b = fix_key(got, frng, fixes), fix_key(want, random.Random(seed * 1000 + step), fixes)
            STATS.fixes += len(a)
            if a != b:
                raise Mismatch(f"seed {seed} step {step}: fixes differ\n{a}\n{b}\n--- text ---\n{text}")
        STATS.edits += bool(step)
    for k, v in inc.stats.items():
        STATS.paths[k] = STATS.paths.get(k, 0) + v
    STATS.sequences += 1
    STATS.seconds += time.perf_counter() - t0


def _explain(seed, step, text, got, want) -> str:
    a, b = key(got), key(want)
    lines = [f"seed {seed} step {step}: incremental and full analyses differ"]
    ga, gb = set(a[0]), set(b[0])
    for f in sorted(ga - gb, key=repr)[:5]:
        lines.append(f"  only incremental: {f[:5]}")
    for f in sorted(gb - ga, key=repr)[:5]:
        lines.append(f"  only full:        {f[:5]}")
    if a[1:] != b[1:]:
        lines.append(f"  errors/rule errors/text: {a[1:3]} vs {b[1:3]}")
    lines.append("--- text ---")
    lines.append(text)
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sequences", type=int, default=1000)
    ap.add_argument("--edits", type=int, default=12)
    ap.add_argument("--size", type=int, default=8, help="pieces of code in a starting module")
    ap.add_argument("--fixes", type=int, default=0, help="fixes compared per edit")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--keep-going", action="store_true")
    args = ap.parse_args()
    bad = 0
    for i in range(args.sequences):
        try:
            run_sequence(args.seed * 1_000_000 + i, args.edits, args.fixes, args.size)
        except Mismatch as exc:
            bad += 1
            print(exc, file=sys.stderr)
            if not args.keep_going:
                return 1
        if (i + 1) % 100 == 0:
            print(f"... {STATS.line()}", file=sys.stderr)
    print(STATS.line().replace("0 mismatches", f"{bad} mismatches"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
