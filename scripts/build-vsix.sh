#!/usr/bin/env bash
# Build the VS Code extension into a per-platform .vsix: type-check (tsc), bundle (esbuild ->
# out/extension.js, the only JavaScript shipped), package with @vscode/vsce 3.9.2 (the last vsce
# that runs on node 20) with --target.
# The server ships inside: bundled/libs holds the keras-migrate wheel of the same checkout and
# every dependency (scripts/bundle_libs.py: pure-Python ones once, libcst and PyYAML per CPython
# 3.10-3.13, since they publish no abi3 wheel), bundled/tool/launch.py starts it with `python -I`.
# Nothing is installed into the user's environment; nothing is fetched at run time.
#
# Usage: scripts/build-vsix.sh [OUTPUT.vsix]   (default: out/keras-migrate-<target>-<version>.vsix, gitignored)
# Env:   NPM_CACHE=/dir   use a private npm cache
#        PYTHON=/path     the interpreter that builds the wheel and runs pip (default .venv/bin/python, python3)
#        TARGET=linux-x64 the VS Code platform (linux-x64, linux-arm64)
#        PYTHONS=3.10,3.11,3.12,3.13  the CPython versions bundled
#
# vsce packs from a staging folder holding only what ships (see .vscodeignore): packing from the
# repository root makes vsce walk the virtual environments (.venv-keras is gigabytes), ~20 s per call.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false
[ -n "${NPM_CACHE:-}" ] && export npm_config_cache=$NPM_CACHE
version=$(node -p "require('./package.json').version")
target=${TARGET:-linux-x64}
out=${1:-out/keras-migrate-$target-$version.vsix}
case $out in /*) ;; *) out=$root/$out ;; esac
mkdir -p "$(dirname "$out")"

# the locked tools, when they are missing or do not satisfy package.json (exact versions there)
if [ ! -x node_modules/.bin/vsce ] || [ ! -x node_modules/.bin/esbuild ] || [ ! -x node_modules/.bin/tsc ] \
   || ! npm ls --depth=0 >/dev/null 2>&1; then
  npm ci
fi
npm run build   # tsc (type-check + unit-test build) and esbuild -> out/extension.js

stage=$(mktemp -d "${TMPDIR:-/tmp}/keras-migrate-vsix.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/out"
cp out/extension.js "$stage/out/"
py=${PYTHON:-}
[ -z "$py" ] && { [ -x .venv/bin/python ] && py=.venv/bin/python || py=python3; }
# without build isolation where hatchling (pyproject's build backend) is there (no download), else isolated
if "$py" -c "import hatchling" 2>/dev/null; then isolation=--no-build-isolation; else isolation=; fi
# from a copy of just the package sources (the two source roots): nothing else of the checkout
# (untracked files, caches) can reach the wheel
src="$stage/src"
mkdir -p "$src"
cp -r pyproject.toml README.md LICENSE rules server "$src/"
[ -f MANIFEST.in ] && cp MANIFEST.in "$src/"
find "$src" -name __pycache__ -prune -exec rm -rf {} +
"$py" -m pip wheel --quiet --no-deps $isolation -w "$stage/wheel" "$src"
rm -rf "$src"
wheel=$(ls "$stage/wheel"/keras_migrate-"$version"-*.whl 2>/dev/null | head -n 1)
[ -n "$wheel" ] || { echo "build-vsix: no keras_migrate-$version wheel was built (pyproject and package.json versions differ?)" >&2; exit 1; }
mkdir -p "$stage/bundled/tool"
cp client-vscode/bundled/tool/launch.py "$stage/bundled/tool/"
"$py" scripts/bundle_libs.py "$wheel" "$stage/bundled" --platform "$target" --pythons "${PYTHONS:-3.10,3.11,3.12,3.13}"
rm -rf "$stage/wheel"
# the walkthrough's pages and the icon
mkdir -p "$stage/client-vscode" && cp -r client-vscode/media "$stage/client-vscode/media"
cp LICENSE .vscodeignore "$stage/"
# the extension's own readme (the repository README links into docs/ that do not ship)
cp client-vscode/README.md "$stage/README.md"
# the shipped manifest: no build scripts or dev tools (the bundle is already built)
node -e '
  const p = require("./package.json");
  delete p.scripts; delete p.devDependencies; delete p.dependencies;
  require("fs").writeFileSync(process.argv[1], JSON.stringify(p, null, 2) + "\n");
' "$stage/package.json"
# --allow-package-all-secrets: vsce's secret scan reads every file and takes minutes on the ~5,000
# files of bundled/libs (third-party wheels from the package index, jedi's typeshed stubs mostly);
# what we write ourselves is the bundle, the manifest and the launcher
(cd "$stage" && "$root/node_modules/.bin/vsce" package --no-dependencies --allow-package-all-secrets --target "$target" -o "$out" \
  && "$root/node_modules/.bin/vsce" ls --no-dependencies > "$out.files.txt")
echo "built $out ($(du -k "$out" | cut -f1) KiB, $(wc -l < "$out.files.txt") files); outside bundled/libs:"
grep -v '^bundled/libs/' "$out.files.txt" | sed 's/^/  /'
echo "  bundled/libs: $(grep -c '^bundled/libs/' "$out.files.txt") files ($(grep '^bundled/libs/cp' "$out.files.txt" | cut -d/ -f3 | sort -u | tr '\n' ' '))"
