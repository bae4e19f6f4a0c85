#!/usr/bin/env bash
# Installs Debian's chromium (and a font for its pages) if /usr/bin/chromium is missing: the
# webview page tests drive it through playwright-core, which cannot download a browser here.
# scripts/run-tests.mjs runs this first when CI=true, where those tests must run, not skip.
#
# Usage: bash scripts/install-chromium.sh
set -euo pipefail

say() { printf 'install-chromium: %s\n' "$*"; }

if [ -x /usr/bin/chromium ]; then
  say "present: $(/usr/bin/chromium --version 2>/dev/null || echo chromium)"
  exit 0
fi
say "installing Debian's chromium with apt-get"
as_root=()
[ "$(id -u)" = 0 ] || as_root=(sudo --non-interactive env DEBIAN_FRONTEND=noninteractive)
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq </dev/null
"${as_root[@]}" apt-get install -y -qq --no-install-recommends chromium fonts-liberation </dev/null >/dev/null
say "installed: $(/usr/bin/chromium --version)"
