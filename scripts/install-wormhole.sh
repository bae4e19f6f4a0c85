#!/usr/bin/env bash
# Installs what the bench's joining row compares against: Debian's magic-wormhole and its
# mailbox server (python3-magic-wormhole-mailbox-server, run by the bench as `twist3
# wormhole-mailbox` on a free loopback port), if `wormhole` is not on PATH yet. For the bench
# only: nothing of Agent Pair uses them. Idempotent and quick when they are there. `npm run
# bench` runs it and goes on without the row (bench/joining.ts says why) if it cannot install.
#
# Usage: bash scripts/install-wormhole.sh
set -euo pipefail

say() { printf 'install-wormhole: %s\n' "$*"; }

if command -v wormhole >/dev/null 2>&1 && command -v twist3 >/dev/null 2>&1; then
  say "present: $(wormhole --version 2>&1 | head -1)"
  exit 0
fi

say "installing Debian's magic-wormhole and its mailbox server with apt-get"
# shellcheck source=apt.sh
source "$(dirname "${BASH_SOURCE[0]}")/apt.sh"
apt_install magic-wormhole python3-magic-wormhole-mailbox-server
say "installed: $(wormhole --version 2>&1 | head -1)"
