"""The dense Keras 2 benchmark input, generated from the project's own benchmark script.

``dense_text(scale)`` is benchmarks/data/keras2_script.py's imports followed by ``2 * scale``
copies of its body (layers, model builders, training functions, data pipeline, main), each
copy's top-level names renamed (``ResidualBlock0`` -> ``ResidualBlock0_c3``) so every copy is
its own code, as in a long real script, and each followed by the same model building and
training at module level, as in a notebook exported to a script (``model``, ``x``, ``history``
re-bound in one scope again and again).  Scale 1 is ~600 lines with a Keras 2 finding every
4 lines; scale 8 ~5,000 lines and scale 32 ~20,000.
"""
from __future__ import annotations

import re
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent / "data" / "keras2_script.py"
_TOP = re.compile(r"^(?:class|def) (\w+)", re.M)


def _parts() -> tuple[str, str]:
    text = SCRIPT.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    first = next(i for i, ln in enumerate(lines) if ln.startswith(("class ", "def ")))
    last = next(i for i, ln in enumerate(lines) if ln.startswith("if __name__"))
    return "".join(lines[:first]), "".join(lines[first:last])


def _flat(body: str) -> str:
    """The bodies of the script's model-building and training functions at module level, as
    in a notebook exported to a script: ``model``, ``x``, ``history`` are re-bound again and
    again in one scope (the case where per-use rescans of a name's assignments go quadratic)."""
    out = ["\ninput_dim, classes = 32, 10\nx = np.random.rand(256, input_dim)\n"
           "y = np.random.randint(0, classes, size=(256,))\n"]
    for fn in ("build_model_0", "train_0"):
        m = re.search(rf"^def {fn}\(.*?\n((?:    .*\n|\n)+)", body, re.M)
        for line in m.group(1).splitlines():
            line = line[4:]
            if line.startswith("return "):
                line = ("loss = " if fn.startswith("train") else "") + line[len("return "):]
                if not line.startswith("loss"):
                    continue
            out.append(line + "\n")
    return "".join(out)


def dense_text(scale: int = 1) -> str:
    header, body = _parts()
    names = sorted(set(_TOP.findall(body)), key=len, reverse=True)
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b")
    out = [header]
    flat = _flat(body)
    for copy in range(2 * scale):
        out.append(pattern.sub(lambda m: f"{m.group(1)}_c{copy}", body + flat))
    out.append('\nif __name__ == "__main__":\n    main_c0()\n')
    return "".join(out)


if __name__ == "__main__":
    import sys
    sys.stdout.write(dense_text(int(sys.argv[1]) if len(sys.argv) > 1 else 1))
