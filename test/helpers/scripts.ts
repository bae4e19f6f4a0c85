// The TypeScript scripts tests start as processes of their own (test/helpers/codeCacheLoad.ts,
// connectAhead.ts, relayWindow.ts): scripts/run-tests.mjs compiles them with the test files and says where
// (AGENT_PAIR_TEST_COMPILED_DIR), so a start is a plain Node start; a test file run by itself
// (`node --import tsx --test FILE`) starts them through tsx, as before.

import { join, relative } from 'node:path';
import { REPO_ROOT } from './relayProcess.js';

/** The arguments `node` takes to run the script `source` (a .ts path), before the script's own. */
export function scriptArgs(source: string): string[] {
  const compiledDir = process.env['AGENT_PAIR_TEST_COMPILED_DIR'];
  if (compiledDir === undefined) return ['--import', 'tsx', source];
  return [join(compiledDir, relative(REPO_ROOT, source)).replace(/\.ts$/, '.mjs')];
}
