// In the built CLI, in place of groupModules.ts (esbuild.mjs): a command group's module from its
// own bundle, dist/cli-GROUP.cjs beside dist/cli.cjs, loaded with V8's code cache
// (node/codeCache.ts) kept in this OS user's cache directory, so a command compiles its group
// only at the first start of each build: compiling the group was the largest part of a
// command's start-up after Node's own (issue 20).

import { join } from 'node:path';
import { requireWithCodeCache, userCodeCacheDir } from '../node/codeCache.js';
import type { LoadedGroup } from './groupModules.js';
import type { CommandGroup } from './main.js';
import type { GroupRun } from './run.js';

/** The CLI's code caches: ~/.cache/agent-pair/code-cache on Linux (node/codeCache.ts userCodeCacheDir). */
const CACHE_APP = 'agent-pair';

export function loadGroup(group: CommandGroup): Promise<LoadedGroup> {
  const loaded = requireWithCodeCache(join(__dirname, `cli-${group}.cjs`), userCodeCacheDir(CACHE_APP));
  return Promise.resolve({ run: (loaded.exports as { run: GroupRun }).run, saveCodeCache: loaded.saveCache });
}
