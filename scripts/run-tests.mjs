// Runs every test/**/*.test.ts with node's built-in runner, through tsx so TypeScript runs as is.
// Node 20's --test takes no globs, so the files are listed here. Arguments narrow the set:
// `node scripts/run-tests.mjs test/core` runs only that folder. The relay's Redis tests need
// Debian's redis-server: scripts/install-redis.sh installs it first if it is missing.
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function collect(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'e2e' ? [] : collect(path);
    return name.endsWith('.test.ts') ? [path] : [];
  });
}

const roots = process.argv.slice(2);
const files = (roots.length ? roots : ['test']).flatMap((root) => (statSync(root).isDirectory() ? collect(root) : [root])).sort();
if (files.length === 0) {
  console.error('run-tests: no test files found');
  process.exit(1);
}
const installed = spawnSync('bash', [join(import.meta.dirname, 'install-redis.sh')], { stdio: ['ignore', 'ignore', 'inherit'] });
if (installed.status !== 0) {
  console.error('run-tests: scripts/install-redis.sh failed; the relay tests need redis-server');
  process.exit(1);
}
// Local relays the tests start keep their SQLite files here, never in the person's own state
// directory (~/.local/state/agent-pair); each port has a file of its own.
const stateDir = mkdtempSync(join(tmpdir(), 'agent-pair-test-state-'));
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...files], { stdio: 'inherit', env: { ...process.env, AGENT_PAIR_STATE_DIR: stateDir } });
rmSync(stateDir, { recursive: true, force: true });
process.exit(result.status ?? 1);
