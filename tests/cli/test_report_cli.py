"""`keras-migrate report` (markdown, json, html), merging shard reports, and `fix --outdir`.
The HTML page is opened in a real headless Chromium: its DOM after rendering and a
screenshot (the bars' pixels) are checked."""
import json
import os
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from keras_migrate.cli import main

FILES = {
    "a.py": "import tensorflow as tf\nm = tf.keras.Sequential([tf.keras.layers.Dense(1)])\n",
    "b.py": "import tensorflow as tf\nfrom tensorflow import keras\nm = keras.models.Sequential()\n"
            "opt = tf.keras.optimizers.Adam(lr=0.1)\n",
    "pkg/c.py": "import keras\nm = keras.Sequential()\n",
    "pkg/d.py": "import tensorflow as tf\nx = tf.keras.backend.epsilon()\n",
    "broken.py": "import tensorflow as tf\nx = tf.keras.Sequential(\n",
}


def run(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture
def tree(tmp_path, monkeypatch):
    for rel, text in FILES.items():
        p = tmp_path / "proj" / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    monkeypatch.chdir(tmp_path / "proj")
    return tmp_path / "proj"


def test_report_json_agrees_with_check(capsys, tree):
    rc, out, _ = run(capsys, "report", "--format", "json", ".")
    data = json.loads(out)
    assert rc == 0
    # broken.py's import parses and is analysed; the rest does not: partly analysed, never ready
    assert data["files"] == 5 and data["scanned"] == 5 and data["problems"] == []
    assert data["partial"] == [{"file": "broken.py", "problem": data["partial"][0]["problem"]}]
    assert "never closed" in data["partial"][0]["problem"]
    assert data["ready"]["tensorflow"] == ["pkg/c.py"]
    assert data["blocking"]["tensorflow"]["a.py"] == {"K102": 2}
    rc, out, _ = run(capsys, "check", "--output-format", "json", ".")
    assert sum(data["perRule"].values()) == len(json.loads(out)["findings"])
    assert data["perFamily"]["imports"] == sum(n for c, n in data["perRule"].items() if c.startswith("K1"))


def test_report_markdown(capsys, tree):
    rc, out, _ = run(capsys, "report", ".")
    assert out.startswith("# Keras migration report\n\n5 of 5 files analysed")
    assert "**1 file analysed only in part**" in out
    assert "| tensorflow (target) | 1 | 5 |" in out
    assert "## Blocking tensorflow" in out and "| `a.py` | K102×2 |" in out
    assert "- `broken.py`: partly analysed: syntax error" in out


def test_shard_reports_merge_into_the_whole(capsys, tree, tmp_path):
    rc, whole, _ = run(capsys, "report", "--format", "json", ".")
    parts = []
    for k in (1, 2, 3):
        out = tmp_path / f"r{k}.json"
        assert run(capsys, "report", "--format", "json", "--shard", f"{k}/3", "-o", str(out), ".")[0] == 0
        parts.append(str(out))
    rc, merged, _ = run(capsys, "report", "--format", "json", "--merge", *parts)
    assert rc == 0
    a, b = json.loads(whole), json.loads(merged)
    for key in ("files", "scanned", "perRule", "perFamily", "perFile", "ready", "blocking", "problems", "records"):
        assert a[key] == b[key], key
    (tmp_path / "bad.json").write_text('{"findings": []}')
    rc, _, err = run(capsys, "report", "--merge", str(tmp_path / "bad.json"))
    assert rc == 2 and "not a keras-migrate report" in err


def test_fix_outdir_writes_copies_and_the_report(capsys, tree, tmp_path):
    before = {rel: (tree / rel).read_text() for rel in FILES}
    out_dir = tmp_path / "migrated"
    rc, out, err = run(capsys, "fix", "--outdir", str(out_dir), ".")
    assert {rel: (tree / rel).read_text() for rel in FILES} == before      # originals untouched
    assert (out_dir / "a.py").read_text() == "import keras\nm = keras.Sequential([keras.layers.Dense(1)])\n"
    assert (out_dir / "pkg" / "c.py").read_text() == FILES["pkg/c.py"]        # a full tree to review
    assert (out_dir / "broken.py").read_text() == FILES["broken.py"]
    report = (out_dir / "keras-migrate-report.md").read_text()
    assert report.startswith("# Keras migration report")
    data = json.loads((out_dir / "keras-migrate-report.json").read_text())
    assert "a.py" in data["ready"]["tensorflow"] and "pkg/c.py" in data["ready"]["tensorflow"]
    assert f"to {out_dir}" in out
    # a second run inside the tree does not treat the copies as originals
    rc, _, err = run(capsys, "fix", "--outdir", ".", ".")
    assert rc == 2 and "--outdir" in err


# -- the HTML page in a real browser ------------------------------------------------------------------
def _chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    assert exe, "chromium is not installed (apt-get install -y chromium); the report page test needs it"
    return exe


def _browser(exe: str, home: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           f"--user-data-dir={home / 'profile'}", *args], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "HOME": str(home)})


def _png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Decode a non-interlaced 8-bit RGB/RGBA PNG (what Chromium writes): width, height, rows."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            width, height, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and ctype in (2, 6) and interlace == 0
            bpp = 4 if ctype == 6 else 3
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line) if bpp == 3 else bytes(v for j, v in enumerate(line) if j % 4 != 3))
        prev = line
    return width, height, rows


def _first_bar(rows: list[bytes], rgb: tuple[int, int, int]) -> int:
    """Length in pixels of the topmost bar of one colour (the family chart is drawn above the
    rule chart, which reuses the family colours): the widest run on the first rows having it."""
    target = bytes(rgb)
    best, seen_at = 0, None
    for y, row in enumerate(rows):
        run_len = longest = 0
        for x in range(0, len(row), 3):
            run_len = run_len + 1 if row[x:x + 3] == target else 0
            longest = max(longest, run_len)
        if longest > 10:
            seen_at = y if seen_at is None else seen_at
            best = max(best, longest)
        elif seen_at is not None:
            return best   # the end of that bar
    return best


def test_html_report_in_headless_chromium(capsys, tree, tmp_path):
    page = tmp_path / "report.html"
    assert run(capsys, "report", "--format", "html", "-o", str(page), ".")[0] == 0
    html = page.read_text()
    assert "<script" not in html and "http-equiv=\"Content-Security-Policy\"" in html
    assert 'src="http' not in html and "url(" not in html   # nothing to fetch: self-contained
    exe = _chromium()
    dom = _browser(exe, tmp_path, "--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    # what the browser built: one bar per family and per rule, with the counts
    data = json.loads(run(capsys, "report", "--format", "json", ".")[1])
    for family, n in data["perFamily"].items():
        assert f'data-label="{family}" data-value="{n}"' in dom.stdout
    for code, n in data["perRule"].items():
        assert f'data-value="{n}"' in dom.stdout and f">{code} " in dom.stdout
    assert "5 of 5 files analysed" in dom.stdout and "1 file analysed only in part." in dom.stdout
    shot = tmp_path / "report.png"
    r = _browser(exe, tmp_path, "--window-size=1000,1400", f"--screenshot={shot}", page.as_uri())
    assert shot.exists(), r.stderr[-2000:]
    width, height, rows = _png_pixels(shot.read_bytes())
    assert (width, height) == (1000, 1400)
    # the family bars are drawn, longest for the family with most findings (imports, blue)
    imports = _first_bar(rows, (0x4e, 0x79, 0xa7))
    api = _first_bar(rows, (0x76, 0xb7, 0xb2))
    assert data["perFamily"]["imports"] > data["perFamily"]["api"] > 0
    assert imports > api > 10, (imports, api)
    assert abs(imports / api - data["perFamily"]["imports"] / data["perFamily"]["api"]) < 0.2
