"""Never lose a byte (issue 18): ``fix`` writes through a temporary file, fsync and rename, so
a write that fails for real (a full disk, a file-size limit) leaves the original exactly as it
was and the file is reported as not written, never as fixed; and a file changed on disk
between our read and our write is left as the other writer left it."""
from __future__ import annotations

import ast
import os
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from keras_migrate import fsio
from keras_migrate.cli import main

# every line has a fix that makes it longer (lr= -> learning_rate=)
LINE = "opt_{i} = keras.optimizers.Adam(lr=0.01)\n"


def _keras2(n: int) -> str:
    return "from tensorflow import keras\n" + "".join(LINE.format(i=i) for i in range(n))


def _cli(args, cwd=None, preexec=None, timeout=120):
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    return subprocess.run([sys.executable, "-m", "keras_migrate", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, preexec_fn=preexec, env=env)


def _leftovers(d: Path) -> list[str]:
    return sorted(p.name for p in d.iterdir() if p.name.endswith(".km-tmp"))


# -- a full disk, for real ----------------------------------------------------------------------------
@pytest.fixture
def small_tmpfs():
    """A 256 KiB tmpfs (root only: mount(2)); the test below it needs a real full disk."""
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a tmpfs needs root; test_fix_over_a_file_size_limit covers the same path")
    d = Path(tempfile.mkdtemp(prefix="km-full-"))
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(d)], capture_output=True, text=True)
    if r.returncode != 0:
        os.rmdir(d)
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    try:
        yield d
    finally:
        subprocess.run(["umount", "-l", str(d)], capture_output=True)
        os.rmdir(d)


def _fill(d: Path, leave: int) -> Path:
    """Fill the filesystem of ``d`` until about ``leave`` bytes are free."""
    filler = d / "filler.bin"
    with open(filler, "wb") as f:
        try:
            while True:
                free = os.statvfs(d).f_bavail * os.statvfs(d).f_frsize
                if free <= leave:
                    break
                f.write(b"\0" * min(4096, free - leave))
                f.flush()
        except OSError:
            pass
    return filler


def test_fix_on_a_full_disk_keeps_the_original_and_says_not_written(small_tmpfs):
    target = small_tmpfs / "model.py"
    original = _keras2(300)                      # ~13 KB, 300 fixes that each add 11 bytes
    target.write_text(original, encoding="utf-8")
    os.chmod(target, 0o640)
    _fill(small_tmpfs, 8192)                      # less room than the fixed copy needs
    r = _cli(["fix", str(target)])
    assert r.returncode == 2, r.stdout + r.stderr
    assert target.read_text(encoding="utf-8") == original           # every byte still there
    assert "not written (the disk is full); the original is unchanged" in r.stderr
    assert "Fixed 0 findings in 0 files" in r.stdout and "Fixed 30" not in r.stdout
    assert "1 file not written" in r.stderr
    assert _leftovers(small_tmpfs) == []                           # the partial copy is gone
    assert "Traceback" not in r.stderr
    # with room again, the same command fixes it, and the mode is kept
    (small_tmpfs / "filler.bin").unlink()
    r = _cli(["fix", str(target)])
    assert r.returncode == 0, r.stderr
    assert "Fixed 301 findings in 1 file" in r.stdout   # 300 lr= and the import
    fixed = target.read_text(encoding="utf-8")
    ast.parse(fixed)
    assert "learning_rate=0.01" in fixed and "lr=" not in fixed
    assert os.stat(target).st_mode & 0o777 == 0o640


def _limit_file_size(limit: int):
    def pre():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return pre


def test_fix_over_a_file_size_limit_keeps_the_original(tmp_path):
    """RLIMIT_FSIZE makes the kernel refuse the write past ``limit`` bytes (EFBIG): a real
    failing write, also without root.  The old truncate-then-write left a ``limit``-byte prefix."""
    target = tmp_path / "model.py"
    original = _keras2(200)
    target.write_text(original, encoding="utf-8")
    r = _cli(["fix", str(target)], preexec=_limit_file_size(4096))
    assert r.returncode == 2, r.stdout + r.stderr
    assert target.read_text(encoding="utf-8") == original
    assert "not written (the file size limit was reached); the original is unchanged" in r.stderr
    assert "Fixed 0 findings in 0 files" in r.stdout
    assert _leftovers(tmp_path) == []


def test_add_noqa_and_report_output_over_a_file_size_limit(tmp_path):
    target = tmp_path / "model.py"
    original = _keras2(200)
    target.write_text(original, encoding="utf-8")
    r = _cli(["check", "--add-noqa", str(target)], preexec=_limit_file_size(4096))
    assert r.returncode == 2 and target.read_text(encoding="utf-8") == original, r.stderr
    out = tmp_path / "report.md"
    out.write_text("the previous report\n", encoding="utf-8")
    r = _cli(["report", str(target), "-o", str(out)], preexec=_limit_file_size(600))
    assert r.returncode == 2, r.stderr
    assert out.read_text(encoding="utf-8") == "the previous report\n"
    assert _leftovers(tmp_path) == []


# -- lost updates ------------------------------------------------------------------------------------------
def test_a_save_between_read_and_write_is_never_lost(tmp_path, monkeypatch, capsys):
    """Another process writes the file while ``fix`` works on it (an editor's save): fix
    skips that file, says so, and the other writer's bytes stay."""
    from keras_migrate import service
    target = tmp_path / "model.py"
    other = tmp_path / "other.py"
    target.write_text(_keras2(5), encoding="utf-8")
    other.write_text(_keras2(5), encoding="utf-8")
    saved = "# saved by the editor meanwhile\n" + _keras2(6)
    real_fix = service.Linter.fix_source

    def fix_while_someone_saves(self, text, path=None, *a, **kw):
        out = real_fix(self, text, path, *a, **kw)
        if path is not None and Path(path).name == "model.py":
            subprocess.run([sys.executable, "-c", f"open({str(target)!r}, 'w').write({saved!r})"], check=True)
        return out

    monkeypatch.setattr(service.Linter, "fix_source", fix_while_someone_saves)
    rc = main(["fix", str(tmp_path)])
    cap = capsys.readouterr()
    assert rc == 2
    assert target.read_text(encoding="utf-8") == saved
    assert f"{target}: not written: it changed on disk after it was read" in cap.err
    assert "Fixed 6 findings in 1 file" in cap.out          # other.py only
    assert "learning_rate" in other.read_text(encoding="utf-8")
    assert _leftovers(tmp_path) == []


def test_same_size_same_mtime_change_is_still_seen(tmp_path):
    p = tmp_path / "a.py"
    p.write_bytes(b"x = 1\n")
    snap = fsio.read_file(p)
    p.write_bytes(b"y = 2\n")
    os.utime(p, ns=(snap.mtime_ns, snap.mtime_ns))       # same size, same mtime: only bytes differ
    with pytest.raises(fsio.ChangedOnDisk):
        fsio.atomic_write(p, b"z = 3\n", snap)
    assert p.read_bytes() == b"y = 2\n"
    fsio.atomic_write(p, b"z = 3\n", fsio.read_file(p))
    assert p.read_bytes() == b"z = 3\n"


def test_a_file_replaced_meanwhile_is_not_overwritten(tmp_path):
    p = tmp_path / "a.py"
    p.write_bytes(b"x = 1\n")
    snap = fsio.read_file(p)
    tmp = tmp_path / "new"
    tmp.write_bytes(b"x = 1\n")        # same bytes, but a new file (another tool's rename)
    os.replace(tmp, p)
    with pytest.raises(fsio.ChangedOnDisk):
        fsio.atomic_write(p, b"z = 3\n", snap)


# -- what a replace keeps -----------------------------------------------------------------------------------
def test_mode_owner_symlink_and_encoding_are_kept(tmp_path):
    real = tmp_path / "real.py"
    real.write_bytes("# -*- coding: latin-1 -*-\nfrom tensorflow import keras\nname = 'café'\n".encode("latin-1"))
    os.chmod(real, 0o754)
    if os.geteuid() == 0:
        os.chown(real, 65534, 65534)
    link = tmp_path / "link.py"
    link.symlink_to(real)
    assert main(["fix", str(link)]) == 0
    assert link.is_symlink()                                  # the link stays a link
    data = real.read_bytes()
    assert data == "# -*- coding: latin-1 -*-\nimport keras\nname = 'café'\n".encode("latin-1")
    st = os.stat(real)
    assert st.st_mode & 0o7777 == 0o754
    if os.geteuid() == 0:
        assert (st.st_uid, st.st_gid) == (65534, 65534)
    assert _leftovers(tmp_path) == []


def test_bom_is_kept(tmp_path):
    p = tmp_path / "b.py"
    p.write_bytes(b"\xef\xbb\xbffrom tensorflow import keras\n")
    assert main(["fix", str(p)]) == 0
    assert p.read_bytes() == b"\xef\xbb\xbfimport keras\n"
