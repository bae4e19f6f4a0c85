#!/usr/bin/env bash
# Installs Debian's chromium (and a font for its pages) if /usr/bin/chromium is missing: the
# webview page tests drive it through playwright-core, which cannot download a browser here.
# scripts/run-tests.mjs runs this first when CI=true or with --ci (npm test passes it), where
# those tests must run, not skip.
#
# Usage: bash scripts/install-chromium.sh
set -euo pipefail

say() { printf 'install-chromium: %s\n' "$*"; }

if [ -x /usr/bin/chromium ]; then
  say "present: $(/usr/bin/chromium --version 2>/dev/null || echo chromium)"
  exit 0
fi
say "installing Debian's chromium with apt-get"
# shellcheck source=apt.sh
source "$(dirname "${BASH_SOURCE[0]}")/apt.sh"
apt_install chromium fonts-liberation
say "installed: $(/usr/bin/chromium --version)"
