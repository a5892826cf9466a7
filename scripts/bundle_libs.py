#!/usr/bin/env python3
"""Lay out the Python side of the VS Code extension: ``bundled/libs`` for one platform.

    python scripts/bundle_libs.py WHEEL OUTDIR [--platform linux-x64] [--pythons 3.10,3.11,3.12,3.13]

The extension starts the server with whatever Python >= 3.10 it finds, so it ships
keras-migrate (WHEEL) and every dependency itself, installed for each CPython it supports
with ``pip install --target --only-binary :all:`` (wheels only: nothing is built, nothing of
the user's environment is used). libcst has a native part and publishes one wheel per
CPython version (no abi3 wheel as of 1.7), and PyYAML (libcst's dependency) likewise, so:

* ``OUTDIR/libs/``          every pure-Python distribution (``*-none-any`` wheels), once;
* ``OUTDIR/libs/cpXY/``     the distributions with a native part, per CPython X.Y.

The launcher (``client-vscode/bundled/tool/launch.py``) puts ``libs/cpXY`` and ``libs`` first
on ``sys.path``. A pure distribution that resolves to different versions for different
Pythons goes into each ``cpXY`` folder instead of ``libs``.
"""
from __future__ import annotations

import argparse
import email.parser
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PLATFORMS = {
    # VS Code target -> pip --platform tags, newest first
    "linux-x64": ["manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64"],
    "linux-arm64": ["manylinux_2_28_aarch64", "manylinux_2_17_aarch64", "manylinux2014_aarch64"],
}
PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
# pip evaluates environment markers against the interpreter running pip, not the target
# --python-version, so the backports keras-migrate's dependencies need on 3.10 are named here
# (pyproject: tomli; cattrs: exceptiongroup).
EXTRA = {"3.10": ["tomli>=2.0", "exceptiongroup>=1.1.1"]}


def _dist_infos(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.name.endswith(".dist-info"))


def _is_pure(dist_info: Path) -> bool:
    msg = email.parser.Parser().parsestr((dist_info / "WHEEL").read_text(encoding="utf-8"))
    tags = msg.get_all("Tag") or []
    return bool(tags) and all(t.endswith("-none-any") for t in tags) and msg.get("Root-Is-Purelib", "").lower() == "true"


def _record_paths(dist_info: Path) -> list[str]:
    """The files a distribution installed (RECORD), relative to the target folder."""
    out = []
    for line in (dist_info / "RECORD").read_text(encoding="utf-8").splitlines():
        path = line.rsplit(",", 2)[0].strip('"') if line else ""
        if not path or path.startswith("..") or os.path.isabs(path):
            continue  # scripts pip put beside the target (bin/), never shipped
        out.append(path)
    return out


def _move(src_root: Path, rel: str, dst_root: Path) -> None:
    src = src_root / rel
    if not src.exists():
        return
    dst = dst_root / rel
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(src), str(dst))


def install(wheel: Path, target: Path, version: str, platform: str, python: str) -> None:
    cmd = [
        python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
        "--no-warn-script-location", "--target", str(target), "--only-binary", ":all:",
        "--implementation", "cp", "--python-version", version,
        *[a for tag in PLATFORMS[platform] for a in ("--platform", tag)],
        str(wheel), *EXTRA.get(version, []),
    ]
    subprocess.run(cmd, check=True)


def bundle(wheel: Path, out: Path, platform: str, versions: list[str], python: str) -> dict:
    libs = out / "libs"
    if libs.exists():
        shutil.rmtree(libs)
    libs.mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix="keras-migrate-libs-") as tmp:
        trees = {}
        for v in versions:
            tree = Path(tmp) / v
            install(wheel, tree, v, platform, python)
            trees[v] = tree
        # name -> {version -> [python versions]} for the pure distributions
        pure: dict[str, dict[str, list[str]]] = {}
        for v, tree in trees.items():
            for di in _dist_infos(tree):
                if _is_pure(di):
                    name, _, dver = di.name[: -len(".dist-info")].partition("-")
                    pure.setdefault(name.lower(), {}).setdefault(dver, []).append(v)
        shared = {name for name, by_version in pure.items()
                  if len(by_version) == 1 and len(next(iter(by_version.values()))) == len(versions)}
        # distributions only some Pythons need (the 3.10 backports) are harmless elsewhere
        shared |= {name for name, by_version in pure.items() if len(by_version) == 1}
        moved: set[str] = set()
        summary: dict = {"shared": [], "native": {}}
        for v, tree in trees.items():
            abi_dir = libs / f"cp{v.replace('.', '')}"
            abi_dir.mkdir()
            for di in _dist_infos(tree):
                name = di.name[: -len(".dist-info")].partition("-")[0].lower()
                paths = _record_paths(di)
                if name in shared:
                    if name not in moved:
                        for rel in paths:
                            _move(tree, rel, libs)
                        moved.add(name)
                        summary["shared"].append(di.name[: -len(".dist-info")])
                else:
                    for rel in paths:
                        _move(tree, rel, abi_dir)
                    summary["native"].setdefault(v, []).append(di.name[: -len(".dist-info")])
    for pycache in list(libs.rglob("__pycache__")):
        shutil.rmtree(pycache, ignore_errors=True)
    return summary


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("wheel", type=Path)
    ap.add_argument("out", type=Path, help="the extension's bundled/ folder")
    ap.add_argument("--platform", default="linux-x64", choices=sorted(PLATFORMS))
    ap.add_argument("--pythons", default=",".join(PYTHONS))
    ap.add_argument("--python", default=sys.executable, help="the interpreter whose pip installs")
    args = ap.parse_args(argv)
    versions = [v.strip() for v in args.pythons.split(",") if v.strip()]
    summary = bundle(args.wheel, args.out, args.platform, versions, args.python)
    print("bundled/libs (all Pythons): " + ", ".join(sorted(summary["shared"])))
    for v, dists in summary["native"].items():
        print(f"bundled/libs/cp{v.replace('.', '')}: " + ", ".join(sorted(dists)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
