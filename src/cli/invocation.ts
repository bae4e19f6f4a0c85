// How the person started this CLI, so that what we print for them (and for the other person:
// "They run: … join 47-UE2BZG") is a command they can actually run. After `npm ci` nothing named
// `agent-pair` is on PATH; `npx agent-pair`, `node dist/cli.cjs` or a linked `agent-pair` are.

import { basename, delimiter, dirname, isAbsolute, relative, resolve } from 'node:path';

/** The package's command name (package.json `bin`). */
export const COMMAND_NAME = 'agent-pair';

export interface InvocationContext {
  /** process.argv[1]: the script as the OS started it (a PATH symlink keeps its own name). */
  script: string | undefined;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /**
   * The command will be run elsewhere (another terminal, another working directory: the hint an
   * MCP server gives through its client), so a script path is never made relative.
   */
  anywhere?: boolean;
}

/**
 * The shortest faithful way to run this CLI again:
 * - `npx agent-pair` when npm exec (npx) started it;
 * - `agent-pair` when it was found on PATH under that name (`npm link`, a global install);
 * - otherwise `node PATH/TO/cli.cjs`, relative to the working directory when inside it.
 */
export function describeInvocation({ script, env, cwd, anywhere = false }: InvocationContext): string {
  if (script === undefined) return COMMAND_NAME;
  const name = basename(script);
  // npm exec runs the bin link from a PATH entry of its own (~/.npm/_npx/…/.bin) and marks the
  // environment; a process some other npm command spawned (npm test) is marked differently.
  if (env['npm_command'] === 'exec' && name === COMMAND_NAME) return `npx ${COMMAND_NAME}`;
  const onPath = (env['PATH'] ?? '').split(delimiter).some((entry) => entry !== '' && resolve(cwd, entry) === dirname(script));
  if (onPath) return name;
  const fromCwd = relative(cwd, script);
  const shown = !anywhere && fromCwd !== '' && !fromCwd.startsWith('..') && !isAbsolute(fromCwd) ? fromCwd : resolve(cwd, script);
  return `node ${shellWord(shown)}`;
}

/** Quotes a path for a POSIX shell when it needs it. */
export function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

let current: string | undefined;

/** This process's invocation as a command that runs from any directory (for hints read elsewhere). */
export function invokedAsFromAnywhere(): string {
  return describeInvocation({ script: process.argv[1], env: process.env, cwd: process.cwd(), anywhere: true });
}

/** This process's invocation (computed once). */
export function invokedAs(): string {
  current ??= describeInvocation({ script: process.argv[1], env: process.env, cwd: process.cwd() });
  return current;
}
