"""Edit fuzzer for the keras-migrate language server (issue 7).

Drives the real server (``python -m keras_migrate server``, a subprocess over stdio) with
random edit sequences on Keras 2 sources, through a small synchronous JSON-RPC client (no
event loop, so hypothesis drives it directly).  Two servers serve every sequence of a run,
one for a client with pull diagnostics and one for a push-only client; each sequence opens a
document (the example project, the rules' INVALID examples, non-ASCII/emoji/CRLF snippets),
applies bursts of ``didChange`` notifications (incremental, UTF-16 ranges, faster than the
debounce: random text incl. astral characters, NUL and \\f/U+2028-style breaks, pasted Keras 2
lines, deletions, replacements, typing, Enter, undo of earlier edits, whole-burst reverts,
several changes in one notification), checks, and closes it; sometimes it closes and reopens
the document mid-sequence (also at once, while an analysis may still run).

After every burst:
  1. the server is alive (``textDocument/hover`` and the diagnostics request answer);
  2. the server holds the client's text: the diagnostics (pulled, or the publish of this
     version) equal what ``Linter.check_source(client_text)`` gives in this process with the
     same configuration (when the text parses; when it does not, the server shows the last
     good diagnostics moved through the edits, and only 3. applies);
  3. every diagnostic range is valid for the current text (line, UTF-16 column, not inside a
     surrogate pair, start <= end) and still covers the text it was computed on (its
     ``data`` says at which version, at which code-point offsets: moved diagnostics must
     point at the same characters);
  4. quick fixes apply cleanly: the code actions of one diagnostic are resolved and applied
     to the client text; the result must parse, a fix must equal the engine's own fix of the
     same finding (``apply_fix``), a per-rule fix-all the engine's fix loop for that rule, a
     noqa suppression must only add a comment and must suppress; sometimes "fix all" too
     (``Linter.fix_source``, also before any diagnostics were asked for); sometimes the fix
     is sent back to the server as an editor would.
Any ``window/logMessage`` error, any traceback on the server's stderr, a dead or silent
server fails the sequence.

Entry points: :func:`sequences` (the hypothesis strategy), :func:`run_sequence`,
:func:`get_server`; ``python tests/fuzz/fuzz_server.py N`` is the long run
(``scripts/fuzz-server.sh``).
"""
from __future__ import annotations

import argparse
import ast
import atexit
import bisect
import json
import os
import queue
import re
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Optional

from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]
for _root in (ROOT / "server", ROOT / "rules"):   # the two source roots (pyproject)
    if str(_root) not in sys.path:
        sys.path.insert(0, str(_root))

from keras_migrate.config import find_pyproject, load_pyproject  # noqa: E402
from keras_migrate.engine.analyze import parse  # noqa: E402
from keras_migrate.engine.fixer import apply_fix  # noqa: E402
from keras_migrate.server.settings import parse_settings  # noqa: E402
from keras_migrate.service import Linter, registry  # noqa: E402

DEBOUNCE_MS = 30
INIT_OPTIONS = {"settings": {"debounceMs": DEBOUNCE_MS, "unsafeFixes": True}, "trusted": True}
REQUEST_TIMEOUT = float(os.environ.get("KM_FUZZ_TIMEOUT", "60"))
# characters Python's str.splitlines() treats as line breaks and LSP does not (finding 1 of
# test_regressions.py): in the alphabet unless KM_FUZZ_EXOTIC=0
EXOTIC_BREAKS = ["\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]


class FuzzFailure(AssertionError):
    pass


# == stats ================================================================================
@dataclass
class Stats:
    sequences: int = 0
    bursts: int = 0
    notifications: int = 0
    edits: int = 0          # content changes sent
    pulls: int = 0
    parsed_pulls: int = 0   # pulls compared in full with the engine
    diagnostics_checked: int = 0
    actions_resolved: int = 0
    fixes_checked: int = 0
    fixes_sent: int = 0
    fix_alls: int = 0
    reopens: int = 0
    server_starts: int = 0

    def line(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.__dict__.items())


STATS = Stats()


# == LSP text model (the client's truth) ===================================================
_BREAK = re.compile(r"\r\n|\r|\n")


def show(text: Optional[str]) -> str:
    """A text for a failure message: line breaks kept, a "\\r" shown (it would overwrite the line)."""
    if text is None:
        return "None"
    return re.sub(r"[\x00-\x08\x0b-\x1f\x7f\x85\u2028\u2029]", lambda m: repr(m.group())[1:-1], text)


def u16(s: str) -> int:
    return len(s.encode("utf-16-le")) // 2


class Text:
    """A document as LSP sees it: lines split on \\r\\n, \\r, \\n; columns in UTF-16."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0] + [m.end() for m in _BREAK.finditer(text)]

    @property
    def line_count(self) -> int:
        return len(self.starts)

    def content_end(self, line: int) -> int:
        s = self.starts[line]
        e = self.starts[line + 1] if line + 1 < len(self.starts) else len(self.text)
        seg = self.text[s:e]
        if seg.endswith("\r\n"):
            return e - 2
        if seg.endswith(("\r", "\n")):
            return e - 1
        return e

    def position(self, off: int) -> dict:
        line = bisect.bisect_right(self.starts, off) - 1
        return {"line": line, "character": u16(self.text[self.starts[line]:off])}

    def offset(self, pos: dict) -> int:
        """Strict: raises FuzzFailure for a position outside the text or inside a character."""
        line, ch = pos["line"], pos["character"]
        if not (0 <= line < self.line_count) or ch < 0:
            raise FuzzFailure(f"position {pos} outside the text ({self.line_count} lines)")
        s, e = self.starts[line], self.content_end(line)
        units = 0
        i = s
        while i < e and units < ch:
            units += 2 if ord(self.text[i]) > 0xFFFF else 1
            i += 1
        if units != ch:
            raise FuzzFailure(f"position {pos} beyond the line ({u16(self.text[s:e])} units) "
                              f"or inside a surrogate pair: {self.text[s:e]!r}")
        return i

    def range_offsets(self, rng: dict) -> tuple[int, int]:
        a, b = self.offset(rng["start"]), self.offset(rng["end"])
        if a > b:
            raise FuzzFailure(f"range {rng} ends before it starts")
        return a, b

    def snap(self, off: int) -> int:
        """An offset a Position can express (never between \\r and \\n)."""
        off = max(0, min(off, len(self.text)))
        if 0 < off < len(self.text) and self.text[off - 1] == "\r" and self.text[off] == "\n":
            off -= 1
        return off


def apply_text_edits(text: str, edits: list[dict]) -> str:
    """Apply LSP TextEdits (all relative to ``text``), strictly."""
    t = Text(text)
    spans = sorted(((*t.range_offsets(e["range"]), e["newText"]) for e in edits), key=lambda x: (x[0], x[1]))
    for (a1, b1, _), (a2, _, _) in zip(spans, spans[1:]):
        if a2 < b1:
            raise FuzzFailure(f"overlapping text edits: {edits}")
    out = text
    for a, b, new in reversed(spans):
        out = out[:a] + new + out[b:]
    return out


def edits_in(edit: Optional[dict], uri: str, version: int) -> Optional[list[dict]]:
    """The TextEdits of ``edit`` for ``uri`` (checking the version); None if no edit."""
    if edit is None:
        return None
    out = []
    for dc in edit.get("documentChanges") or []:
        if "textDocument" not in dc:
            raise FuzzFailure(f"unexpected resource operation in a fix: {dc}")
        if dc["textDocument"]["uri"] != uri:
            raise FuzzFailure(f"fix edits another document: {dc['textDocument']['uri']}")
        v = dc["textDocument"].get("version")
        if v is not None and v != version:
            raise FuzzFailure(f"fix edit for version {v}, document is at {version}")
        out.extend(dc["edits"])
    for u, edits in (edit.get("changes") or {}).items():
        if u != uri:
            raise FuzzFailure(f"fix edits another document: {u}")
        out.extend(edits)
    return out


# == the JSON-RPC client ===================================================================
def server_env() -> dict:
    env = dict(os.environ)
    if not (ROOT / "rules" / "keras_migrate" / "rules" / "api" / "keras_api.json").exists() and Path("/tmp/k3_names.json").exists():
        env.setdefault("KERAS_MIGRATE_API_DATA", "/tmp/k3_names.json")
    env["PYTHONIOENCODING"] = "utf-8"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def capabilities(pull: bool) -> dict:
    caps = json.loads(json.dumps(CAPABILITIES))
    if not pull:
        del caps["textDocument"]["diagnostic"]
    return caps


CAPABILITIES = {
    "general": {"positionEncodings": ["utf-16"]},
    "textDocument": {
        "synchronization": {"didSave": True, "dynamicRegistration": False},
        "publishDiagnostics": {"versionSupport": True, "dataSupport": True, "codeDescriptionSupport": True},
        "diagnostic": {"dynamicRegistration": False, "relatedDocumentSupport": False},
        "codeAction": {
            "codeActionLiteralSupport": {"codeActionKind": {"valueSet": ["quickfix", "source", "source.fixAll"]}},
            "isPreferredSupport": True, "dataSupport": True,
            "resolveSupport": {"properties": ["edit"]},
        },
        "hover": {"contentFormat": ["markdown", "plaintext"]},
    },
    "workspace": {"applyEdit": True, "configuration": True, "workspaceEdit": {"documentChanges": True}},
    "window": {"workDoneProgress": True},
}


class Server:
    """The real server in a subprocess; requests block until answered (or time out)."""

    def __init__(self, pull: bool = True) -> None:
        self.pull = pull
        self.published: dict[str, list[dict]] = {}
        self._pub_cond = threading.Condition()
        cmd = [sys.executable, "-m", "keras_migrate", "server"]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=server_env(), cwd=str(ROOT))
        self._wlock = threading.Lock()
        self._next_id = 0
        self._responses: dict[int, "queue.Queue[dict]"] = {}
        self._rlock = threading.Lock()
        self.log_errors: list[str] = []
        self.stderr_lines: list[str] = []
        self.messages: list[dict] = []
        self.dead_reason: Optional[str] = None
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()
        STATS.server_starts += 1
        result = self.request("initialize", {
            "processId": os.getpid(), "rootUri": None, "capabilities": capabilities(pull),
            "initializationOptions": INIT_OPTIONS, "clientInfo": {"name": "km-fuzz"}})
        enc = result.get("capabilities", {}).get("positionEncoding", "utf-16")
        if enc != "utf-16":
            raise FuzzFailure(f"server chose position encoding {enc}")
        self.capabilities = result["capabilities"]
        self.notify("initialized", {})

    # -- transport ------------------------------------------------------------------------
    def _send(self, msg: dict) -> None:
        body = json.dumps(msg, ensure_ascii=False).encode("utf-8")
        with self._wlock:
            try:
                self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
                self.proc.stdin.flush()
            except (BrokenPipeError, OSError) as exc:
                self.dead_reason = f"cannot write to the server: {exc}"
                raise FuzzFailure(self.dead_reason) from None

    def _read(self) -> None:
        out = self.proc.stdout
        try:
            while True:
                length = None
                while True:
                    line = out.readline()
                    if not line:
                        raise EOFError
                    line = line.strip()
                    if not line:
                        break
                    k, _, v = line.partition(b":")
                    if k.lower() == b"content-length":
                        length = int(v)
                body = out.read(length)
                if len(body) != length:
                    raise EOFError
                self._dispatch(json.loads(body))
        except Exception as exc:  # EOF or garbage on stdout: the server is gone or broken
            if self.dead_reason is None:
                self.dead_reason = f"server stdout closed ({type(exc).__name__}: {exc}); exit code {self.proc.poll()}"
            with self._rlock:
                for q in self._responses.values():
                    q.put({"error": {"message": self.dead_reason}})

    def _read_stderr(self) -> None:
        for raw in self.proc.stderr:
            self.stderr_lines.append(raw.decode("utf-8", "replace").rstrip("\n"))

    def _dispatch(self, msg: dict) -> None:
        if "method" not in msg:
            with self._rlock:
                q = self._responses.get(msg.get("id"))
            if q is not None:
                q.put(msg)
            return
        method = msg["method"]
        if "id" in msg:  # a request from the server
            result: Any = None
            if method == "workspace/configuration":
                result = [None for _ in msg["params"].get("items", [])]
            elif method == "workspace/applyEdit":
                result = {"applied": False, "failureReason": "the fuzzer does not apply edits"}
            self._send({"jsonrpc": "2.0", "id": msg["id"], "result": result})
            return
        if method == "window/logMessage":
            p = msg["params"]
            if p.get("type") == 1:
                self.log_errors.append(p.get("message", ""))
        elif method == "textDocument/publishDiagnostics":
            with self._pub_cond:
                self.published.setdefault(msg["params"]["uri"], []).append(msg["params"])
                self._pub_cond.notify_all()
        elif method == "window/showMessage":
            self.messages.append(msg["params"])

    def request(self, method: str, params: Any, timeout: float = REQUEST_TIMEOUT) -> Any:
        if self.dead_reason:
            raise FuzzFailure(f"server dead before {method}: {self.dead_reason}")
        with self._rlock:
            self._next_id += 1
            rid = self._next_id
            q: "queue.Queue[dict]" = queue.Queue()
            self._responses[rid] = q
        try:
            self._send({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
            try:
                msg = q.get(timeout=timeout)
            except queue.Empty:
                raise FuzzFailure(f"server did not answer {method} within {timeout}s") from None
        finally:
            with self._rlock:
                self._responses.pop(rid, None)
        if "error" in msg:
            raise FuzzFailure(f"{method} failed: {msg['error']}")
        return msg.get("result")

    def wait_published(self, uri: str, version: int, timeout: float = REQUEST_TIMEOUT) -> list[dict]:
        """Push mode: the diagnostics of the last publish, once it is for ``version``."""
        deadline = time.monotonic() + timeout
        with self._pub_cond:
            while True:
                got = self.published.get(uri)
                if got and got[-1].get("version") == version:
                    return got[-1]["diagnostics"]
                if self.dead_reason:
                    raise FuzzFailure(f"server dead while waiting for diagnostics: {self.dead_reason}")
                left = deadline - time.monotonic()
                if left <= 0:
                    last = got[-1] if got else None
                    raise FuzzFailure(f"no diagnostics published for version {version} within {timeout}s "
                                      f"(last: version {last and last.get('version')})")
                self._pub_cond.wait(left)

    def notify(self, method: str, params: Any) -> None:
        self._send({"jsonrpc": "2.0", "method": method, "params": params})

    # -- health ---------------------------------------------------------------------------
    def alive(self) -> bool:
        return self.dead_reason is None and self.proc.poll() is None

    def problems(self) -> list[str]:
        out = [f"server logged an error: {m}" for m in self.log_errors]
        bad = [ln for ln in self.stderr_lines if ("Traceback" in ln or "Error" in ln or "Exception" in ln)]
        if bad:
            out.append("server stderr:\n" + "\n".join(self.stderr_lines[-60:]))
        if not self.alive():
            out.append(f"server died: {self.dead_reason or self.proc.poll()}")
        return out

    def reset_problems(self) -> None:
        self.log_errors.clear()
        self.stderr_lines.clear()

    def close(self) -> None:
        if self.alive():
            try:
                self.request("shutdown", None, timeout=10)
                self.notify("exit", None)
            except FuzzFailure:
                pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


_SERVERS: dict[bool, Server] = {}
_WORKDIR: Optional[Path] = None


def get_server(pull: bool = True) -> Server:
    """The shared server (one for pull diagnostics, one for push), restarted if a previous
    sequence killed it."""
    srv = _SERVERS.get(pull)
    if srv is None or not srv.alive():
        if srv is not None:
            srv.close()
        srv = _SERVERS[pull] = Server(pull)
    return srv


def shutdown_server() -> None:
    for pull in list(_SERVERS):
        _SERVERS.pop(pull).close()


atexit.register(shutdown_server)


def workdir() -> Path:
    """Documents live here: no workspace folder and no pyproject.toml, so the server's
    configuration is the editor settings alone (the client computes the same)."""
    global _WORKDIR
    if _WORKDIR is None:
        _WORKDIR = Path(tempfile.mkdtemp(prefix="km-fuzz-"))
        (_WORKDIR / "dir with spaces é").mkdir()
    return _WORKDIR


# == the engine, client-side ================================================================
_LINTERS: dict[str, tuple[Linter, Any]] = {}


def linter_for(path: Path):
    key = str(path.parent)
    got = _LINTERS.get(key)
    if got is None:
        base = parse_settings(INIT_OPTIONS)[0].base_config()
        pp = find_pyproject(path.parent)
        cfg = replace(base, root=str(path.parent)) if pp is None else load_pyproject(pp, base)
        got = _LINTERS[key] = (Linter(cfg, rules=registry()), cfg)
    return got


# == seeds and fragments ====================================================================
NON_ASCII_SNIPPETS = [
    '"""Modèle — entraînement 🚀"""\nimport tensorflow as tf\nfrom tensorflow import keras\n\n'
    'étiquette = "données 😀"  # 中文 注释\nmodel = tf.keras.Sequential([tf.keras.layers.Dense(4)])  # 🎉\n'
    'model.compile(optimizer=tf.keras.optimizers.Adam(lr=0.1), loss="mse")\n',
    'import tensorflow as tf\r\nx = "🐍🐍"; y = tf.keras.layers.Dense(3, name="δ")\r\n'
    'z = tf.keras.backend.mean(x)  # ünïcödé\r\n',
    '# -*- coding: utf-8 -*-\nfrom tensorflow.keras import layers\n\nclass 层(layers.Layer):\n'
    '    def call(self, 𝓍):  # astral identifier\n        return tf.keras.backend.relu(𝓍)\n'
    '\nnote = "😀" * 3; import tensorflow as tf\n',
    'import tensorflow as tf\nm = tf.keras.models.load_model("模型.h5")\n\tprint("tab then 🎉")\n',
    # continuation lines and a string left open at the end of a flagged line
    'import tensorflow as tf\n\nmodel = tf.keras.Sequential([tf.keras.layers.Dense(4)])\n'
    'model.compile(optimizer=tf.keras.optimizers.Adam(lr=0.1), \\\n              loss="mse")\n'
    'x = tf.keras.backend.sum(y) + \\\n    1\nnote = tf.keras.backend.mean(y); text = """\nmore\n"""\n',
    '',
]


def _rule_examples() -> list[str]:
    out = []
    for r in registry():
        for attr in ("INVALID",):
            v = getattr(r, attr, None)
            if isinstance(v, str):
                out.append(v)
            elif isinstance(v, (list, tuple)):
                out.extend(x for x in v if isinstance(x, str))
    return out


def _load_seeds() -> list[str]:
    seeds = []
    for p in sorted((ROOT / "examples" / "keras2_project").glob("*.py")):
        seeds.append(p.read_text(encoding="utf-8"))
    seeds.extend(_rule_examples())
    seeds.extend(NON_ASCII_SNIPPETS)
    return seeds


SEEDS = _load_seeds()
FRAGMENTS = sorted({ln for s in SEEDS for ln in s.splitlines() if ln.strip()} | {
    "import tensorflow as tf", "from tensorflow import keras", "from tensorflow.keras import layers",
    "model = tf.keras.Sequential()", "model.fit_generator(gen, steps_per_epoch=10)",
    "opt = tf.keras.optimizers.Adam(lr=1e-3)", "x = tf.keras.backend.sum(y)",
    "    def get_config(self):", "        return super().get_config()", "if True:", "    pass",
    "class Foo(tf.keras.layers.Layer):", "def f(", "    )", '"""', "'''", "(", ")", "[", "]", "\\",
    "\x0c", "# page\x0cbreak", "s = 'line\u2028sep'", "# noqa", "# noqa: K101", "x = 1  # 😀", "s = 'é\\", "    return tf.keras.backend.clip(x, 0, 1)",
})

ALPHABET = (list("abcxyz_019 .,:()[]{}=+-*/#'\"\\@") + ["\n", "\n", "\r\n", "\r", "\t", "    "]
            + ["é", "ß", "中", "→", "€", "\u200b", "\u0301", "😀", "🎉", "𝓍", "\ud7ff", "\x00"]
            + ["tf", "keras", "tf.keras.", "layers.", "import ", "def ", "lr=", "K.", "noqa"])


def alphabet() -> list[str]:
    return ALPHABET + ([] if os.environ.get("KM_FUZZ_EXOTIC") == "0" else EXOTIC_BREAKS)


# == strategies ============================================================================
def sequences(max_bursts: int = 5, max_ops: int = 6):
    pos = st.integers(0, 1 << 16)
    text = st.lists(st.sampled_from(alphabet()), min_size=1, max_size=10).map("".join)
    frag = st.integers(0, len(FRAGMENTS) - 1)
    op = st.one_of(
        st.tuples(st.just("insert"), pos, text),
        st.tuples(st.just("paste"), pos, frag, st.booleans()),
        st.tuples(st.just("delete"), pos, st.integers(1, 60)),
        st.tuples(st.just("replace"), pos, st.integers(1, 30), st.one_of(text, frag)),
        st.tuples(st.just("type"), pos, st.text(alphabet="abc_.( )\n", min_size=1, max_size=6)),
        st.tuples(st.just("delete_line"), pos),
        st.tuples(st.just("newline"), pos, st.sampled_from(["\n", "\r", "\r\n", "\n    ", "\r\n\r\n"])),
        st.tuples(st.just("undo"), st.integers(1, 4)),
        st.tuples(st.just("pause"), st.integers(0, 2 * DEBOUNCE_MS)),
    )
    burst = st.fixed_dictionaries({
        "ops": st.lists(op, min_size=1, max_size=max_ops),
        "grouped": st.integers(1, 100).map(lambda n: n % 4 == 1),   # one notification, several changes
        "fix": st.integers(0, 1 << 10),
        "fixall": st.integers(1, 100).map(lambda n: n % 6 == 1),
        "send_fix": st.booleans(),
        # 1: close and reopen after the checks; 2: at once after the burst (an analysis may be
        # running), with another seed's text
        "reopen": st.integers(1, 100).map(lambda n: 1 if n % 12 == 5 else 2 if n % 12 == 7 else 0),
        "reopen_seed": st.integers(0, len(SEEDS) - 1),
        "revert": st.integers(1, 100).map(lambda n: n % 3 == 1),    # undo the whole burst at its end
        "early": st.integers(1, 100).map(lambda n: n % 4 == 1),     # fix-all before the pull
    })
    return st.fixed_dictionaries({
        "seed": st.integers(0, len(SEEDS) - 1),
        "mode": st.sampled_from(["pull", "push"]),
        "name": st.sampled_from(["a.py", "b.py", "dir with spaces é/c.py"]),
        "bursts": st.lists(burst, min_size=1, max_size=max_bursts),
    })


# == one document under fuzzing ============================================================
@dataclass
class Doc:
    server: Server
    path: Path
    text: str
    version: int = 1
    history: list[tuple[int, int, str, str]] = field(default_factory=list)  # (start, end_new, old, new)
    texts: dict[int, str] = field(default_factory=dict)  # version -> text
    result_id: Optional[str] = None
    last_items: list[dict] = field(default_factory=list)
    log: list[str] = field(default_factory=list)  # what was sent, for the failure report

    @property
    def uri(self) -> str:
        return self.path.as_uri()

    def open(self) -> None:
        self.texts = {self.version: self.text}
        self.result_id = None
        self.server.notify("textDocument/didOpen", {"textDocument": {
            "uri": self.uri, "languageId": "python", "version": self.version, "text": self.text}})
        self.log.append(f"open v{self.version} {self.text!r}")

    def close(self) -> None:
        self.server.notify("textDocument/didClose", {"textDocument": {"uri": self.uri}})
        with self.server._pub_cond:  # what was published for the closed document is gone
            self.server.published.pop(self.uri, None)
        self.log.append("close")

    # -- edits ------------------------------------------------------------------------------
    def change(self, start: int, end: int, new: str) -> dict:
        """Apply one edit to the client text; the LSP change event for it."""
        t = Text(self.text)
        ev = {"range": {"start": t.position(start), "end": t.position(end)}, "text": new}
        old = self.text[start:end]
        self.text = self.text[:start] + new + self.text[end:]
        self.history.append((start, start + len(new), old, new))
        return ev

    def send(self, events: list[dict]) -> None:
        self.version += 1
        self.texts[self.version] = self.text
        self.server.notify("textDocument/didChange", {
            "textDocument": {"uri": self.uri, "version": self.version}, "contentChanges": events})
        STATS.notifications += 1
        STATS.edits += len(events)
        self.log.append(f"change v{self.version} {json.dumps(events, ensure_ascii=False)}")

    def op_events(self, op: tuple) -> list[dict]:
        """The change events of one op (applied to the client text as they are made)."""
        kind = op[0]
        t = Text(self.text)
        n = len(self.text)
        if kind == "insert":
            p = t.snap(op[1] % (n + 1))
            return [self.change(p, p, op[2])]
        if kind == "paste":
            p = t.snap(op[1] % (n + 1))
            if op[3]:  # a whole line, pasted at the start of a line
                p = t.starts[bisect.bisect_right(t.starts, p) - 1]
                return [self.change(p, p, FRAGMENTS[op[2]] + "\n")]
            return [self.change(p, p, FRAGMENTS[op[2]])]
        if kind in ("delete", "replace"):
            if n == 0:
                return [self.change(0, 0, op[3] if kind == "replace" and isinstance(op[3], str) else "x")]
            a = t.snap(op[1] % n)
            b = t.snap(min(n, a + op[2]))
            if b <= a:
                b = t.snap(min(n, a + 2))
            new = ""
            if kind == "replace":
                new = op[3] if isinstance(op[3], str) else FRAGMENTS[op[3]]
            return [self.change(a, b, new)]
        if kind == "type":
            p = t.snap(op[1] % (n + 1))
            out = []
            for ch in op[2]:
                out.append(self.change(p, p, ch))
                p += len(ch)
            return out
        if kind == "newline":
            p = t.snap(op[1] % (n + 1))
            return [self.change(p, p, op[2])]
        if kind == "delete_line":
            if n == 0:
                return []
            line = bisect.bisect_right(t.starts, t.snap(op[1] % n)) - 1
            a = t.starts[line]
            b = t.starts[line + 1] if line + 1 < t.line_count else len(self.text)
            return [self.change(a, b, "")] if b > a else []
        if kind == "undo":
            out = []
            for _ in range(op[1]):
                if not self.history:
                    break
                start, end_new, old, new = self.history.pop()
                assert self.text[start:end_new] == new
                out.append(self.change(start, end_new, old))
                self.history.pop()  # the undo itself is not undoable
            return out
        return []

    def apply_burst(self, burst: dict) -> None:
        mark = len(self.history)
        grouped: list[dict] = []
        for op in burst["ops"]:
            if op[0] == "pause":
                if grouped:
                    self.send(grouped)
                    grouped = []
                time.sleep(op[1] / 1000)
                continue
            for ev in self.op_events(op):
                if burst["grouped"]:
                    grouped.append(ev)
                else:
                    self.send([ev])
        if burst.get("revert") and len(self.history) > mark:
            undo = []
            while len(self.history) > mark:
                start, end_new, old, new = self.history.pop()
                undo.append(self.change(start, end_new, old))
                self.history.pop()
            if burst["grouped"]:
                grouped.extend(undo)
            else:
                for ev in undo:
                    self.send([ev])
        if grouped:
            self.send(grouped)

    def reopen(self, text: Optional[str] = None) -> None:
        self.close()
        self.version = 1
        self.history.clear()
        if text is not None:
            self.text = text
        self.open()
        STATS.reopens += 1

    # -- checks -----------------------------------------------------------------------------
    def check(self, burst: dict) -> None:
        srv = self.server
        t = Text(self.text)
        # 1. alive: hover somewhere (answers null or a hover)
        p = t.position(t.snap(burst["fix"] % (len(self.text) + 1)))
        srv.request("textDocument/hover", {"textDocument": {"uri": self.uri}, "position": p})
        # 2. pull diagnostics (or wait for the publish of this version), compare with the engine
        params = {"textDocument": {"uri": self.uri}}
        if self.result_id is not None:
            params["previousResultId"] = self.result_id
        if srv.pull:
            report = srv.request("textDocument/diagnostic", params)
        else:
            report = {"kind": "full", "items": srv.wait_published(self.uri, self.version)}
        STATS.pulls += 1
        if report.get("kind") == "unchanged":
            if self.result_id is None or report.get("resultId") != self.result_id:
                raise FuzzFailure(f"'unchanged' report for result id {report.get('resultId')}, "
                                  f"the client holds {self.result_id}")
            items = self.last_items
        else:
            items = report.get("items") or []
            self.result_id = report.get("resultId")
            self.last_items = items
        self.check_ranges(t, items)
        linter, cfg = linter_for(self.path)
        result = linter.check_source(self.text, self.path)
        if result.rule_errors:
            raise FuzzFailure(f"engine rule errors on the client text: {result.rule_errors}")
        if result.error is not None:
            return
        STATS.parsed_pulls += 1
        expected = [self.expected_diag(t, f) for f in result.findings]
        got = [(d.get("code"), d["range"], d.get("message"), (d.get("data") or {}).get("s"),
                (d.get("data") or {}).get("e"), (d.get("data") or {}).get("v")) for d in items]
        if got != expected:
            missing = [e for e in expected if e not in got]
            extra = [g for g in got if g not in expected]
            raise FuzzFailure(f"diagnostics differ from the engine's on the client text (v{self.version}):\n"
                              f"  missing: {missing}\n  unexpected: {extra}")
        STATS.diagnostics_checked += len(items)
        # 4. quick fixes
        if items and burst.get("actions", True):
            self.check_quick_fixes(items[burst["fix"] % len(items)], result, burst["send_fix"])
        if burst["fixall"]:
            self.check_fix_all(linter, cfg)

    def expected_diag(self, t: Text, f) -> tuple:
        rng = {"start": t.position(f.start), "end": t.position(f.end)}
        # findings carry (line, code-point col); the offsets must agree with them
        if (f.range.start.line, f.range.end.line) != (rng["start"]["line"], rng["end"]["line"]):
            raise FuzzFailure(f"engine finding {f.code} range {f.range} disagrees with its offsets "
                              f"{f.start}..{f.end} ({rng})")
        return (f.code, rng, f.message, f.start, f.end, self.version)

    def check_ranges(self, t: Text, items: list[dict]) -> None:
        for d in items:
            self.check_range(t, d)

    def check_range(self, t: Text, d: dict) -> None:
        a, b = t.range_offsets(d["range"])
        data = d.get("data") or {}
        v, s, e = data.get("v"), data.get("s"), data.get("e")
        if v is None or s is None or e is None:
            return
        then = self.texts.get(v)
        if then is None:
            raise FuzzFailure(f"diagnostic {d.get('code')} claims version {v}, never sent "
                              f"(current {self.version})")
        if then[s:e] != self.text[a:b]:
            raise FuzzFailure(
                f"diagnostic {d.get('code')} at {d['range']} covers {self.text[a:b]!r} in v{self.version}, "
                f"but was computed on {then[s:e]!r} (v{v}, offsets {s}..{e}); moved={data.get('moved')}")

    def resolve(self, action: dict) -> Optional[dict]:
        if action.get("edit") is None and action.get("data") is not None:
            action = self.server.request("codeAction/resolve", action)
            STATS.actions_resolved += 1
        return action.get("edit")

    def apply_checked(self, edit: Optional[dict], what: str) -> Optional[tuple[str, list[dict]]]:
        edits = edits_in(edit, self.uri, self.version)
        if edits is None:
            return None
        new = apply_text_edits(self.text, edits)
        if parse(new)[0] is None and parse(self.text)[0] is not None:
            raise FuzzFailure(f"{what}: the result does not parse: {parse(new)[1]}\n"
                              f"--- before\n{show(self.text)}\n--- after\n{show(new)}")
        return new, edits

    def check_quick_fixes(self, diag: dict, result, send: bool) -> None:
        actions = self.server.request("textDocument/codeAction", {
            "textDocument": {"uri": self.uri}, "range": diag["range"],
            "context": {"diagnostics": [diag], "only": ["quickfix"]}}) or []
        finding = next((f for f in result.findings if f.code == diag.get("code")
                        and f.start == diag["data"]["s"] and f.end == diag["data"]["e"]), None)
        to_send = None
        for action in actions:
            data = action.get("data") or {}
            kind = data.get("kind")
            edit = self.resolve(action)
            noqa = action.get("title", "").startswith("Suppress with # noqa")
            got = self.apply_checked(edit, action.get("title", "?"))
            STATS.fixes_checked += 1
            if kind == "fixRule":
                linter, cfg = linter_for(self.path)
                code = data.get("code")
                want = linter.fix_source(self.text, self.path, cfg.unsafe_fixes, lambda f: f.code == code)
                have = got[0] if got else self.text
                if have != want.text:
                    raise FuzzFailure(f"{action.get('title')!r}: the server's edit gives\n{show(have)}\n"
                                      f"--- the engine's fix loop gives\n{show(want.text)}")
                continue
            if noqa and got is not None:
                self.check_noqa(diag, got[0], action["title"])
            if kind == "fix" and data.get("code") == diag.get("code"):
                fix = finding.fix() if finding is not None else None
                want = apply_fix(self.text, fix) if fix is not None and fix.edits else None
                have = got[0] if got else None
                if have is None and want is None:
                    continue
                if have != want:
                    raise FuzzFailure(f"quick fix {action.get('title')!r}: the server's edit gives\n{show(have)}\n"
                                      f"--- the engine's fix gives\n{show(want)}")
            if got is not None and to_send is None:
                to_send = got
        if send and to_send is not None:
            self.send_edits(to_send)

    def check_noqa(self, diag: dict, new: str, title: str) -> None:
        """A suppression adds a comment: the code means the same and the finding is gone."""
        before, after = parse(self.text)[0], parse(new)[0]
        if before is not None and (after is None or ast.dump(before) != ast.dump(after)):
            raise FuzzFailure(f"{title!r} changes the code, not just a comment:\n--- before\n{show(self.text)}\n"
                              f"--- after\n{show(new)}")
        line = diag["range"]["start"]["line"]
        linter, _ = linter_for(self.path)
        left = [f for f in linter.check_source(new, self.path).findings
                if f.code == diag.get("code") and f.range.start.line == line]
        if left:
            raise FuzzFailure(f"{title!r} does not suppress {diag.get('code')} on line {line + 1}:\n{show(new)}")

    def send_edits(self, got: tuple[str, list[dict]]) -> None:
        """Send a fix's TextEdits back as one didChange, last edit first (as editors do)."""
        new, edits = got
        t = Text(self.text)
        spans = sorted(((*t.range_offsets(e["range"]), e["newText"]) for e in edits), reverse=True)
        events = [self.change(a, b, nt) for a, b, nt in spans]
        if self.text != new:
            raise FuzzFailure("applying the fix edit by edit differs from applying it at once")
        if events:
            self.send(events)
            STATS.fixes_sent += 1

    def check_fix_all(self, linter: Linter, cfg) -> None:
        actions = self.server.request("textDocument/codeAction", {
            "textDocument": {"uri": self.uri},
            "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}},
            "context": {"diagnostics": [], "only": ["source.fixAll"]}}) or []
        want = linter.fix_source(self.text, self.path, cfg.unsafe_fixes)
        for action in actions:
            got = self.apply_checked(self.resolve(action), "fix all")
            have = got[0] if got else self.text
            STATS.fix_alls += 1
            if have != want.text:
                raise FuzzFailure(f"fix all: the server's edit gives\n{show(have)}\n--- the engine's fix loop gives\n"
                                  f"{show(want.text)}")
        if not actions and want.changed:
            raise FuzzFailure(f"no fix-all action, but the engine fixes {want.applied}")


def run_sequence(seq: dict) -> None:
    """Open, fuzz and close one document; raises FuzzFailure (with the edit log) on a problem."""
    srv = get_server(seq.get("mode", "pull") == "pull")
    srv.reset_problems()
    path = workdir() / seq["name"]
    doc = Doc(srv, path, SEEDS[seq["seed"]])
    doc.open()
    try:
        for i, burst in enumerate(seq["bursts"]):
            doc.apply_burst(burst)
            STATS.bursts += 1
            if burst.get("reopen") == 2:
                doc.reopen(SEEDS[burst["reopen_seed"]])
            if burst.get("early"):
                doc.check_fix_all(*linter_for(doc.path))   # before any pull: whatever is cached
            doc.check(burst)
            problems = srv.problems()
            if problems:
                raise FuzzFailure("\n".join(problems))
            if burst.get("reopen") == 1:
                doc.reopen()
    except FuzzFailure as exc:
        extra = srv.problems()
        log = "\n".join(doc.log[-40:])
        raise FuzzFailure(f"{exc}\n{chr(10).join(extra)}\n--- last messages sent:\n{log}") from None
    finally:
        if srv.alive():
            try:
                doc.close()
            except FuzzFailure:
                pass
    STATS.sequences += 1
    problems = srv.problems()
    if problems:
        raise FuzzFailure("\n".join(problems))


# == the long run ==========================================================================
def long_run(n: int, chunk: int, seed: int, deadline_s: float) -> int:
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hseed

    failures: list[str] = []
    t0 = time.monotonic()
    chunk_no = 0
    while STATS.sequences < n and time.monotonic() - t0 < deadline_s:
        count = min(chunk, n - STATS.sequences)

        @hseed(seed + chunk_no)
        @settings(max_examples=count, deadline=None, database=None, derandomize=False,
                  phases=[Phase.generate, Phase.shrink],
                  suppress_health_check=list(HealthCheck))
        @given(sequences())
        def chunk_test(seq):
            run_sequence(seq)

        try:
            chunk_test()
        except Exception as exc:  # a failure: record it (shrunk), go on with the next chunk
            import traceback
            detail = "".join(traceback.format_exception(exc))
            msg = f"chunk {chunk_no} (seed {seed + chunk_no}):\n{detail}"
            failures.append(msg)
            print("FAILURE " + msg[-20000:], flush=True)
            shutdown_server()
        chunk_no += 1
        print(f"[{time.monotonic() - t0:7.1f}s] {STATS.sequences}/{n} sequences; {STATS.line()}; "
              f"failures={len(failures)}", flush=True)
    elapsed = time.monotonic() - t0
    print(f"\nsequences run: {STATS.sequences} (shrinking replays included)\nedits applied: {STATS.edits} in {STATS.notifications} didChange notifications, "
          f"{STATS.bursts} bursts\nchecks: {STATS.pulls} pulls ({STATS.parsed_pulls} compared with the engine, "
          f"{STATS.diagnostics_checked} diagnostics), {STATS.fixes_checked} quick-fix edits checked, "
          f"{STATS.fix_alls} fix-alls, {STATS.fixes_sent} fixes sent back, {STATS.reopens} reopens, "
          f"{STATS.server_starts} server starts\nfailures: {len(failures)}\nruntime: {elapsed:.0f}s", flush=True)
    for f in failures:
        print("\n" + "=" * 80 + "\n" + f)
    return 1 if failures else 0


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description="Fuzz the keras-migrate language server with random edit sequences.")
    ap.add_argument("n", nargs="?", type=int, default=10_000, help="edit sequences to run (default 10000)")
    ap.add_argument("--chunk", type=int, default=500, help="sequences per hypothesis run (a failure ends a chunk)")
    ap.add_argument("--seed", type=int, default=None, help="random seed (default: time-based, printed)")
    ap.add_argument("--max-minutes", type=float, default=40.0, help="stop after this long (default 40)")
    args = ap.parse_args(argv)
    seed = args.seed if args.seed is not None else int(time.time()) % 100_000
    print(f"keras-migrate server fuzz: {args.n} sequences, seed {seed}, chunks of {args.chunk}, "
          f"cap {args.max_minutes} min, exotic line breaks {'off' if os.environ.get('KM_FUZZ_EXOTIC') == '0' else 'on'}",
          flush=True)
    try:
        return long_run(args.n, args.chunk, seed, args.max_minutes * 60)
    finally:
        shutdown_server()


if __name__ == "__main__":
    sys.exit(main())
