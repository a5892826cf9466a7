"""Reading and writing the user's files without ever losing a byte or hanging.

Reading (:func:`read_file`, :func:`read_source`): only regular files are opened (a FIFO named
``x.py`` would block forever, ``zero.py -> /dev/zero`` would never end), the size is checked
before a byte is read (``KERAS_MIGRATE_MAX_FILE_BYTES``, default 5 MB) and the read stops at
the limit even when the file grows meanwhile.  Every refusal is a :class:`ReadError` whose
message is one short line ("not a regular file", "too large", "unknown encoding ...").

Writing (:func:`atomic_write`): the new bytes go to a temporary file in the same directory,
are flushed to disk (``fsync``) and then ``os.replace`` the original, which keeps its mode and
owner.  A failure at any step (a full disk, a quota, a file-size limit) leaves the original
exactly as it was and removes the temporary file.  With the :class:`Snapshot` taken when the
file was read, the file is first checked to be unchanged (size, mtime, inode, then the bytes
themselves): if anything wrote to it since, nothing is replaced and :class:`ChangedOnDisk`
says so (a save from the editor between our read and our write is never lost).
"""
from __future__ import annotations

import codecs
import errno
import os
import stat
import tempfile
from dataclasses import dataclass
from typing import Optional, Union

from .engine.source import _CODING_RE, DecodeError

ENV_MAX_BYTES = "KERAS_MIGRATE_MAX_FILE_BYTES"
DEFAULT_MAX_BYTES = 5_000_000   # as the report and the server (MAX_CHARS) already had

PathLike = Union[str, os.PathLike]


def max_bytes() -> int:
    """The size limit for one file: ``$KERAS_MIGRATE_MAX_FILE_BYTES`` or 5 MB."""
    raw = os.environ.get(ENV_MAX_BYTES, "").strip()
    if raw:
        try:
            value = int(raw.replace("_", ""))
            if value > 0:
                return value
        except ValueError:
            pass
    return DEFAULT_MAX_BYTES


def _size(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB" if n >= 1_000_000 else f"{n:,} bytes"


class ReadError(OSError):
    """A file that is not read, with a one-line reason (``str(exc)``)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


class WriteError(OSError):
    """A file that was not written; the original is intact."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


class ChangedOnDisk(WriteError):
    """The file changed after it was read: it is left as it is now."""


@dataclass(frozen=True)
class Snapshot:
    """A file's bytes as read, with what identifies that version of it."""
    path: str
    data: bytes
    size: int
    mtime_ns: int
    ino: int
    dev: int


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def read_file(path: PathLike, limit: Optional[int] = None) -> Snapshot:
    """A regular file's bytes (at most ``limit``, default :func:`max_bytes`), or ReadError."""
    limit = max_bytes() if limit is None else limit
    p = os.fspath(path)
    try:
        st = os.stat(p)   # follows links: a link to /dev/zero is judged by /dev/zero
    except OSError as exc:
        raise ReadError(f"cannot be read: {_reason(exc)}") from None
    if not stat.S_ISREG(st.st_mode):
        raise ReadError("not a regular file" + (" (a directory)" if stat.S_ISDIR(st.st_mode) else ""))
    if st.st_size > limit:
        raise ReadError(f"too large: {_size(st.st_size)}, the limit is {_size(limit)} ({ENV_MAX_BYTES})")
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(p, flags)   # O_NONBLOCK: were it swapped for a FIFO meanwhile, open does not block
    except OSError as exc:
        raise ReadError(f"cannot be read: {_reason(exc)}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ReadError("not a regular file")
        chunks = []
        left = limit + 1
        while left > 0:
            try:
                chunk = os.read(fd, min(left, 1 << 20))
            except OSError as exc:
                raise ReadError(f"cannot be read: {_reason(exc)}") from None
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise ReadError(f"too large: more than {_size(limit)} ({ENV_MAX_BYTES})")
    return Snapshot(p, data, st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev)


# -- text ----------------------------------------------------------------------------------------------
def source_encoding(data: bytes) -> tuple[str, bool]:
    """(encoding, has UTF-8 BOM) of Python source, as Python decides (PEP 263)."""
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8", True
    for line in data.splitlines()[:2]:
        m = _CODING_RE.match(line)
        if m:
            return m.group(1).decode("ascii", "replace"), False
    return "utf-8", False


def _codec(name: str) -> str:
    try:
        info = codecs.lookup(name)
    except LookupError:
        raise DecodeError(f"unknown encoding {name!r}") from None
    if info.name == "undefined" or not getattr(info, "_is_text_encoding", True):
        # 'undefined' always fails; bytes-to-bytes codecs (rot13, base64...) are not text encodings
        raise DecodeError(f"unknown encoding {name!r}")
    return info.name


def decode(data: bytes, path: PathLike = "") -> tuple[str, str, bool]:
    """(text, encoding, BOM) of a file's bytes: notebooks as UTF-8 JSON, Python as Python
    reads it.  Raises DecodeError with a one-line message."""
    if os.fspath(path).endswith(".ipynb"):
        bom = data.startswith(codecs.BOM_UTF8)
        try:
            return data[3 if bom else 0:].decode("utf-8"), "utf-8", bom
        except UnicodeDecodeError as exc:
            raise DecodeError(f"not valid UTF-8 JSON: byte 0x{data[exc.start]:02x} at offset {exc.start}") from None
    encoding, bom = source_encoding(data)
    codec = _codec(encoding)
    body = data[3:] if bom else data
    try:
        return body.decode(codec), encoding, bom
    except UnicodeDecodeError as exc:
        line = body.count(b"\n", 0, exc.start) + 1
        raise DecodeError(f"not valid {encoding} text: byte 0x{body[exc.start]:02x} at line {line}") from None
    except Exception as exc:  # a codec that fails in its own way
        raise DecodeError(f"cannot be decoded as {encoding!r}: {type(exc).__name__}") from None


@dataclass(frozen=True)
class SourceFile:
    """A file read for analysis: its text, and how to write a new text back."""
    snapshot: Snapshot
    text: str
    encoding: str
    bom: bool

    def encode(self, text: str) -> bytes:
        """``text`` in the file's own encoding (and BOM); WriteError if it cannot be."""
        try:
            body = text.encode(_codec(self.encoding))
        except (UnicodeEncodeError, DecodeError) as exc:
            raise WriteError(f"the fixed text cannot be written as {self.encoding}: {exc}") from None
        return (codecs.BOM_UTF8 if self.bom else b"") + body


def read_source(path: PathLike, limit: Optional[int] = None) -> SourceFile:
    """A file's text for analysis; ReadError or DecodeError (one line each)."""
    snap = read_file(path, limit)
    text, encoding, bom = decode(snap.data, path)
    return SourceFile(snap, text, encoding, bom)


# -- writing ---------------------------------------------------------------------------------------------
def _unchanged(real: str, expect: Snapshot) -> bool:
    try:
        st = os.stat(real)
    except OSError:
        return False
    if (st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev) != (expect.size, expect.mtime_ns, expect.ino, expect.dev):
        return False
    try:
        now = read_file(real, max(expect.size, 1) + 1)
    except ReadError:
        return False
    return now.data == expect.data


def _fsync_dir(d: str) -> None:
    try:
        fd = os.open(d, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: PathLike, data: bytes, expect: Optional[Snapshot] = None) -> None:
    """Replace ``path`` with ``data`` all at once, or not at all.

    A symlink is written through (the link stays, its target gets the bytes).  An existing
    file keeps its permission bits and, when we can set it, its owner and group (else the
    write is refused rather than handing the file to another owner).  With ``expect``, the
    file must still be the version read: otherwise :class:`ChangedOnDisk`, nothing written.
    """
    real = os.path.realpath(os.fspath(path))
    directory = os.path.dirname(real) or "."
    try:
        st: Optional[os.stat_result] = os.stat(real)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise WriteError(f"cannot write: {_reason(exc)}") from None
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise WriteError("cannot write: not a regular file")
    if expect is not None and (st is None or not _unchanged(real, expect)):
        raise ChangedOnDisk("not written: it changed on disk after it was read (run the command again)")
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(real) + ".", suffix=".km-tmp")
    except OSError as exc:
        raise WriteError(f"cannot write: {_reason(exc)}") from None
    try:
        try:
            view = memoryview(data)
            while view:
                n = os.write(fd, view)
                view = view[n:]
            if st is not None:
                os.fchmod(fd, stat.S_IMODE(st.st_mode))
                if hasattr(os, "fchown") and (st.st_uid, st.st_gid) != _owner(fd):
                    try:
                        os.fchown(fd, st.st_uid, st.st_gid)
                    except PermissionError:
                        raise WriteError("not written: the file's owner could not be kept "
                                         "(it belongs to another user)") from None
            else:
                umask = os.umask(0)
                os.umask(umask)
                os.fchmod(fd, 0o666 & ~umask)
            os.fsync(fd)
        finally:
            os.close(fd)
        if expect is not None and not _unchanged(real, expect):   # the last moment we can look
            raise ChangedOnDisk("not written: it changed on disk after it was read (run the command again)")
        os.replace(tmp, real)
    except WriteError:
        _remove(tmp)
        raise
    except OSError as exc:
        _remove(tmp)
        why = "the disk is full" if exc.errno in (errno.ENOSPC, errno.EDQUOT) else (
            "the file size limit was reached" if exc.errno == errno.EFBIG else _reason(exc))
        raise WriteError(f"not written ({why}); the original is unchanged") from None
    except BaseException:
        _remove(tmp)
        raise
    _fsync_dir(directory)


def _owner(fd: int) -> tuple[int, int]:
    st = os.fstat(fd)
    return st.st_uid, st.st_gid


def _remove(p: str) -> None:
    try:
        os.unlink(p)
    except OSError:
        pass


def write_text(path: PathLike, text: str, encoding: str = "utf-8") -> None:
    """A new file we create (a report, a copy): atomically, in ``encoding``."""
    atomic_write(path, text.encode(encoding))


__all__ = ["ChangedOnDisk", "DEFAULT_MAX_BYTES", "ENV_MAX_BYTES", "ReadError", "Snapshot", "SourceFile",
           "WriteError", "atomic_write", "decode", "max_bytes", "read_file", "read_source", "source_encoding",
           "write_text", "notebook_problem"]


# -- notebooks ---------------------------------------------------------------------------------------------
def notebook_problem(text: str, fallback: object = "") -> str:
    """One line saying why a notebook could not be analysed (asked once it failed): JSON nested
    too deeply, an old nbformat, a ``metadata`` or ``cells`` of the wrong type; else the
    engine's own message (``fallback`` as a string) or the exception it raised."""
    import json
    engine_said = fallback if isinstance(fallback, str) and fallback else None
    try:
        nb = json.loads(text)
    except RecursionError:
        return "malformed notebook: its JSON is nested too deeply"
    except ValueError as exc:
        return engine_said or f"malformed notebook: not JSON ({exc})"
    if isinstance(nb, dict):
        fmt = nb.get("nbformat")
        if isinstance(fmt, int) and not isinstance(fmt, bool) and fmt < 4:
            return f"nbformat {fmt} is not supported (convert it: jupyter nbconvert --to notebook --nbformat 4)"
        for key, want in (("metadata", dict), ("cells", list)):
            if key in nb and not isinstance(nb[key], want):
                return (f"malformed notebook: `{key}` is a JSON {_json_type(nb[key])}, "
                        f"not {'an object' if want is dict else 'a list'}")
    if engine_said:
        return engine_said
    return f"malformed notebook: {type(fallback).__name__}: {fallback}" if fallback else "malformed notebook"


def _json_type(v: object) -> str:
    return {dict: "object", list: "list", str: "string", bool: "boolean", int: "number", float: "number",
            type(None): "null"}.get(type(v), type(v).__name__)
