// How main.ts gets a command group's module: here, run from the sources (the tests), an import of
// src/cli/groups/GROUP.ts. The built CLI has groupBundles.ts in this module's place (esbuild.mjs):
// the same module from its own bundle, dist/cli-GROUP.cjs, through V8's code cache.

import type { CommandGroup, CommandName } from './main.js';
import type { GroupRun } from './run.js';

export interface LoadedGroup {
  run: GroupRun;
  /** Keeps what V8 compiled for the next start; called once the command is over. Never throws. */
  saveCodeCache: () => void;
}

const IMPORTS: { readonly [Group in CommandGroup]: () => Promise<{ run: GroupRun }> } = {
  home: () => import('./groups/home.js'),
  pairing: () => import('./groups/pairing.js'),
  messaging: () => import('./groups/messaging.js'),
  relay: () => import('./groups/relay.js'),
  mcp: () => import('./groups/mcp.js'),
};

/** `command` is the one about to run (groupBundles.ts keeps a code cache for each). */
export async function loadGroup(group: CommandGroup, _command: CommandName): Promise<LoadedGroup> {
  return { run: (await IMPORTS[group]()).run, saveCodeCache: () => undefined };
}
