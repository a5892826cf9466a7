#!/usr/bin/env bash
# Build the VS Code extension into a .vsix: type-check (tsc), bundle (esbuild -> out/extension.js,
# the only code shipped), package with @vscode/vsce 3.9.2 (the last vsce that runs on node 20).
# The keras-migrate wheel of the same checkout ships in python/: the "install keras-migrate?"
# offer installs that file, so the server always matches the client and no package is looked
# up on an index by a name that is not published.
#
# Usage: scripts/build-vsix.sh [OUTPUT.vsix]   (default: out/keras-migrate-<version>.vsix, gitignored)
# Env:   NPM_CACHE=/dir   use a private npm cache
#        PYTHON=/path     the interpreter that builds the wheel (default .venv/bin/python, python3)
#
# vsce packs from a staging folder holding only what ships (see .vscodeignore): packing from the
# repository root makes vsce walk the virtual environments (.venv-keras is gigabytes), ~20 s per call.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false
[ -n "${NPM_CACHE:-}" ] && export npm_config_cache=$NPM_CACHE
version=$(node -p "require('./package.json').version")
out=${1:-out/keras-migrate-$version.vsix}
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
# without build isolation where setuptools can already build wheels (no download), else isolated
if "$py" -c "import setuptools, wheel" 2>/dev/null; then isolation=--no-build-isolation; else isolation=; fi
# from a copy of just the package sources: building in the checkout would reuse setuptools'
# build/ folder, where a module deleted since an earlier build would still be picked up
src="$stage/src"
mkdir -p "$src"
cp -r pyproject.toml README.md LICENSE keras_migrate rules server "$src/"
[ -f MANIFEST.in ] && cp MANIFEST.in "$src/"
find "$src" -name __pycache__ -prune -exec rm -rf {} +
"$py" -m pip wheel --quiet --no-deps $isolation -w "$stage/python" "$src"
rm -rf "$src"
wheel=$(ls "$stage/python"/keras_migrate-"$version"-*.whl 2>/dev/null | head -n 1)
[ -n "$wheel" ] || { echo "build-vsix: no keras_migrate-$version wheel was built (pyproject and package.json versions differ?)" >&2; exit 1; }
cp LICENSE .vscodeignore "$stage/"
# the extension's own readme (the repository README links into docs/ that do not ship)
cp client-vscode/README.md "$stage/README.md"
# the shipped manifest: no build scripts or dev tools (the bundle is already built)
node -e '
  const p = require("./package.json");
  delete p.scripts; delete p.devDependencies; delete p.dependencies;
  require("fs").writeFileSync(process.argv[1], JSON.stringify(p, null, 2) + "\n");
' "$stage/package.json"
(cd "$stage" && "$root/node_modules/.bin/vsce" package --no-dependencies --allow-missing-repository -o "$out" \
  && "$root/node_modules/.bin/vsce" ls --no-dependencies > "$out.files.txt")
echo "built $out ($(du -k "$out" | cut -f1) KiB); files:"; sed 's/^/  /' "$out.files.txt"
