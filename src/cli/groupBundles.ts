// In the built CLI, in place of groupModules.ts (esbuild.mjs): a command group's module from its
// own bundle, dist/cli-GROUP.cjs beside dist/cli.cjs, loaded with V8's code cache
// (node/codeCache.ts) kept in this OS user's cache directory, so a command compiles its group
// only at its first start of each build: compiling the group was the largest part of a
// command's start-up after Node's own (issue 20).

import { join } from 'node:path';
import { requireWithCodeCache, userCodeCacheDir } from '../node/codeCache.js';
import type { LoadedGroup } from './groupModules.js';
import type { CommandGroup, CommandName } from './main.js';
import type { GroupRun } from './run.js';

/** The CLI's code caches: ~/.cache/agent-pair/code-cache on Linux (node/codeCache.ts userCodeCacheDir). */
const CACHE_APP = 'agent-pair';

export function loadGroup(group: CommandGroup, command: CommandName): Promise<LoadedGroup> {
  const bundle = `cli-${group}.cjs`;
  // A cache per command: each holds what its command compiled (send's HPKE and HTTP, inbox's
  // opening), which one cache for the group, kept by whichever command ran first, would not.
  const loaded = requireWithCodeCache(join(__dirname, bundle), userCodeCacheDir(CACHE_APP), `${bundle}.${command}`);
  return Promise.resolve({ run: (loaded.exports as { run: GroupRun }).run, saveCodeCache: loaded.saveCache });
}
