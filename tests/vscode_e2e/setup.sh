#!/usr/bin/env bash
# Real VS Code for the end-to-end test: code-server 4.100.3 (= VS Code 1.100.3) + Debian's
# headless chromium + playwright-core, on Debian 12 with node 20 and no internet except the npm
# registry and Debian apt. Adapted from ../../shared/tools/vscode-e2e/setup.sh (whose README lists
# the pitfalls solved here: node 20 needs code-server 4.100.3; @vscode/ripgrep's GitHub download
# is replaced by Debian's rg; node-pty's postinstall needs npm "yes"; node headers from
# /usr/include/node; argon2 must be built; stop the whole process group; keep ~ clean).
#
# Two parts:
#   * the install, CACHED in $CACHE (default ~/.cache/keras-migrate-e2e): finished steps are
#     skipped (marker files in $CACHE/.done). Cold: about 1-2 minutes on 2 cores.
#   * one run: fresh user data, extensions dir and XDG dirs under $RUN_DIR, the .vsix installed
#     there, code-server started on 127.0.0.1:$PORT with $FOLDER, in its own process group.
#
# Env:
#   CACHE=~/.cache/keras-migrate-e2e   install cache (KERAS_MIGRATE_E2E_CACHE also works)
#   RUN_DIR=$CACHE/run                 per-run state (wiped at start)
#   PORT=8765                          127.0.0.1 port
#   FOLDER=$RUN_DIR/proj               folder code-server opens
#   VSIX=/path/a.vsix                  extension to install (optional)
#   USER_SETTINGS=/path/settings.json  user settings to use (optional; a quiet default otherwise)
#   TRUST=1                            keep workspace trust on (default: --disable-workspace-trust)
#   SKIP_APT=1                         never call apt-get (auto-skipped when all is there)
#   INSTALL_ONLY=1                     stop after the cached install
#   STOP=1                             stop the code-server of $RUN_DIR (its process group), exit
set -euo pipefail

CACHE=${CACHE:-${KERAS_MIGRATE_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/keras-migrate-e2e}}
RUN_DIR=${RUN_DIR:-$CACHE/run}
PORT=${PORT:-8765}
FOLDER=${FOLDER:-$RUN_DIR/proj}
CS_VERSION=4.100.3   # node 20; newer code-server needs node 22
PW_VERSION=1.65.1    # verified with Debian chromium
CS_BIN=$CACHE/cs/node_modules/.bin/code-server
VSC=$CACHE/cs/node_modules/code-server/lib/vscode
PIDFILE=$RUN_DIR/code-server.pid
LOG=$RUN_DIR/code-server.log

stop_cs() {
  if [ -f "$PIDFILE" ]; then
    local pgid; pgid=$(cat "$PIDFILE")
    # setsid => pid == pgid; the group includes the extension host, file watcher and pty host
    if kill -0 "$pgid" 2>/dev/null; then
      kill -- "-$pgid" 2>/dev/null || true
      for _ in $(seq 1 20); do kill -0 "$pgid" 2>/dev/null || break; sleep 0.25; done
      kill -9 -- "-$pgid" 2>/dev/null || true
    fi
    rm -f "$PIDFILE"
  fi
}
if [ "${STOP:-0}" = 1 ]; then stop_cs; echo "stopped"; exit 0; fi

mkdir -p "$CACHE/.done" "$CACHE/logs"
[ -f /usr/include/node/node.h ] && export npm_config_nodedir=/usr
export npm_config_yes=true npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false
[ -n "${NPM_CACHE:-}" ] && export npm_config_cache=$NPM_CACHE

now() { date +%s.%N; }
T_ALL=$(now)
step() {  # step NAME CMD...   skipped when $CACHE/.done/NAME exists
  local name=$1; shift
  if [ -e "$CACHE/.done/$name" ]; then echo "== $name: cached"; return; fi
  local t0; t0=$(now)
  echo "== $name ..."
  if ! "$@" > "$CACHE/logs/$name.log" 2>&1; then
    echo "!! $name FAILED, see $CACHE/logs/$name.log"; tail -30 "$CACHE/logs/$name.log"; exit 1
  fi
  touch "$CACHE/.done/$name"
  printf '== %-18s %6.1f s\n' "$name" "$(awk "BEGIN{print $(now) - $t0}")"
}

# ---- 1. Debian packages (only what is missing) ---------------------------------------------
need_apt=0
for c in chromium rg make g++ pkg-config curl; do command -v "$c" >/dev/null || need_apt=1; done
for h in /usr/include/krb5.h /usr/include/X11/Xlib.h /usr/include/X11/extensions/XKBfile.h; do
  [ -e "$h" ] || need_apt=1
done
pkg-config --exists libsecret-1 2>/dev/null || need_apt=1
if [ "$need_apt" = 1 ] && [ "${SKIP_APT:-0}" != 1 ]; then
  apt_step() {
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends build-essential python3 pkg-config \
      libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev \
      chromium ripgrep fonts-dejavu-core curl ca-certificates
  }
  rm -f "$CACHE/.done/apt"
  step apt apt_step
fi

# ---- 2. code-server without its install scripts, then what postinstall.sh does -------------
step npm-code-server bash -c "mkdir -p '$CACHE/cs' && cd '$CACHE/cs' && \
  { [ -f package.json ] || echo '{\"name\":\"cs-host\",\"private\":true}' > package.json; } && \
  npm install --ignore-scripts code-server@$CS_VERSION"
# argon2 is require()d at start even with --auth none; its prebuilt download fails offline
step argon2 bash -c "cd '$CACHE/cs' && npm rebuild argon2 --foreground-scripts"
vscode_deps() {
  cd "$VSC"
  npm install --omit=dev --ignore-scripts
  # @vscode/ripgrep's postinstall downloads rg from GitHub unless bin/rg already exists
  mkdir -p node_modules/@vscode/ripgrep/bin
  cp "$(command -v rg)" node_modules/@vscode/ripgrep/bin/rg
  npm rebuild --foreground-scripts   # native builds: spdlog, node-pty, kerberos, watcher...
  rm -rf node_modules.asar && ln -s node_modules node_modules.asar
  (cd bin/remote-cli && rm -f code-server && ln -s code-linux.sh code-server)
  (cd bin/helpers && rm -f browser.sh && ln -s browser-linux.sh browser.sh)
  cd extensions && npm install --omit=dev
}
step vscode-deps vscode_deps
step npm-tools bash -c "mkdir -p '$CACHE/tools' && cd '$CACHE/tools' && \
  { [ -f package.json ] || echo '{\"name\":\"e2e-tools\",\"private\":true}' > package.json; } && \
  npm install playwright-core@$PW_VERSION"
printf '== %-18s %6.1f s\n' "install" "$(awk "BEGIN{print $(now) - $T_ALL}")"
[ "${INSTALL_ONLY:-0}" = 1 ] && exit 0

# ---- 3. one run: fresh state under $RUN_DIR (nothing in ~/.config, ~/.local, ~/.cache) -------
stop_cs
rm -rf "$RUN_DIR/data"
DATA=$RUN_DIR/data
mkdir -p "$DATA/user/User" "$DATA/ext" "$DATA/xdg-config" "$DATA/xdg-data" "$DATA/xdg-cache" "$FOLDER"
printf 'bind-addr: 127.0.0.1:%s\nauth: none\ncert: false\n' "$PORT" > "$DATA/config.yaml"
if [ -n "${USER_SETTINGS:-}" ]; then
  cp "$USER_SETTINGS" "$DATA/user/User/settings.json"
else
  cat > "$DATA/user/User/settings.json" <<'EOF'
{
  "workbench.startupEditor": "none",
  "workbench.tips.enabled": false,
  "workbench.enableExperiments": false,
  "telemetry.telemetryLevel": "off",
  "security.workspace.trust.enabled": false,
  "extensions.autoUpdate": false,
  "extensions.autoCheckUpdates": false,
  "update.mode": "none",
  "chat.disableAIFeatures": true,
  "window.restoreWindows": "none"
}
EOF
fi
# VSCODE_CLI=1: the server skips "resolveShellEnv" (running `$SHELL -ilc env` and merging it),
# so the extension host gets exactly this environment (a login shell would reset PATH, e.g. drop
# the test's stand-in nvidia-smi).
cs_env=(env XDG_CONFIG_HOME="$DATA/xdg-config" XDG_DATA_HOME="$DATA/xdg-data" XDG_CACHE_HOME="$DATA/xdg-cache" VSCODE_CLI=1)
cs_args=(--config "$DATA/config.yaml" --user-data-dir "$DATA/user" --extensions-dir "$DATA/ext")

if [ -n "${VSIX:-}" ]; then
  t0=$(now)
  "${cs_env[@]}" "$CS_BIN" "${cs_args[@]}" --install-extension "$VSIX" --force
  printf '== %-18s %6.1f s\n' "install-vsix" "$(awk "BEGIN{print $(now) - $t0}")"
fi

t0=$(now)
trust_args=(--disable-workspace-trust)
[ "${TRUST:-0}" = 1 ] && trust_args=()
cd "$RUN_DIR"   # not the repository: nothing may import keras_migrate from code-server's cwd
"${cs_env[@]}" setsid "$CS_BIN" "${cs_args[@]}" \
  --bind-addr "127.0.0.1:$PORT" --auth none --disable-telemetry --disable-update-check \
  "${trust_args[@]}" --disable-getting-started-override "$FOLDER" \
  > "$LOG" 2>&1 < /dev/null &
echo $! > "$PIDFILE"
for _ in $(seq 1 120); do
  curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break
  kill -0 "$(cat "$PIDFILE")" 2>/dev/null || { echo "code-server died:"; cat "$LOG"; exit 1; }
  sleep 0.5
done
curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null || { echo "code-server not answering"; cat "$LOG"; exit 1; }
printf '== %-18s %6.1f s\n' "start-code-server" "$(awk "BEGIN{print $(now) - $t0}")"
echo "code-server $CS_VERSION up: http://127.0.0.1:$PORT/?folder=$FOLDER (pgid $(cat "$PIDFILE"))"
echo "user data: $DATA/user   playwright-core: $CACHE/tools/node_modules/playwright-core"
