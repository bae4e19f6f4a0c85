#!/usr/bin/env bash
# Installs what the relay's Redis tests need: Debian's redis-server, if `redis-server` is not on
# PATH yet. Idempotent and quick when it is there. The tests start their own redis-server on a
# free port with its own temp dir (test/helpers/redis.ts); this script never starts one, and
# the package's own service is left stopped (policy-rc.d keeps apt from starting it).
#
# Usage: bash scripts/install-redis.sh
set -euo pipefail

say() { printf 'install-redis: %s\n' "$*"; }

if command -v redis-server >/dev/null 2>&1; then
  say "present: $(redis-server --version | head -1)"
  exit 0
fi

say "installing Debian's redis-server with apt-get"
# shellcheck source=apt.sh
source "$(dirname "${BASH_SOURCE[0]}")/apt.sh"
# Keep apt from starting the system service on port 6379: the tests need none, and a machine
# may run its own Redis there.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | "${as_root[@]}" tee "$policy" >/dev/null
  "${as_root[@]}" chmod +x "$policy"
  created_policy=1
fi
cleanup() { if [ "$created_policy" = 1 ]; then "${as_root[@]}" rm -f "$policy"; fi; }
trap cleanup EXIT
apt_install redis-server
say "installed: $(redis-server --version | head -1)"
