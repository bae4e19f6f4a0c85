// Runs every test/**/*.test.ts with node's built-in runner, through tsx so TypeScript runs as is.
// Node 20's --test takes no globs, so the files are listed here. Arguments narrow the set:
// `node scripts/run-tests.mjs test/core` runs only that folder. The relay's Redis tests need
// Debian's redis-server: scripts/install-redis.sh installs it first if it is missing.
import { readdirSync, statSync } from 'node:fs';
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
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);
