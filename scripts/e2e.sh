#!/usr/bin/env bash
# The extension in a real VS Code: installs code-server + Node 24 + Debian chromium (cached
# between runs), packages the .vsix, and runs test/e2e/*.e2e.ts against it. Screenshots and
# logs land in test-results/e2e/.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
bash scripts/install-code-server.sh
npm run package
export AGENT_PAIR_E2E=1
export AGENT_PAIR_E2E_VSIX="$PWD/dist/agent-pair.vsix"
node --import tsx --test --test-concurrency=1 test/e2e/pairing.e2e.ts
echo "e2e: done in $(( $(date +%s) - started )) s"
