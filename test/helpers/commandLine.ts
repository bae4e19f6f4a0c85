// What main.ts (dist/cli.cjs) does with a command line before any command runs, decided in the
// test's own process: parseCommandLine against the command table, the same function and table the
// bundle runs. Help and the command lines refused there need no CLI process or thread; what main
// adds (stdout or stderr, `agent-pair: ` and the exit status, the JSON event) is checked through
// the built bundle in test/cli/arguments.test.ts.

import assert from 'node:assert/strict';
import { type CommandLine, type CommandSpec, parseCommandLine } from '../../src/cli/commandLine.js';
import { COMMANDS } from '../../src/cli/commands.js';

/** How the built CLI names itself when run as `node dist/cli.cjs` from the repository, as the tests run it. */
export const INVOKED_FROM_REPO = 'node dist/cli.cjs';

/** What main.ts makes of `args`. */
export function commandLine(...args: string[]): CommandLine<CommandSpec> {
  return parseCommandLine(args, COMMANDS, INVOKED_FROM_REPO);
}

/** The help `args` ask for, and the exit status it goes with (failing if they ask for anything else). */
export function helpOf(...args: string[]): { text: string; exitCode: number } {
  const line = commandLine(...args);
  assert.equal(line.kind, 'help', `${args.join(' ')}: ${JSON.stringify(line)}`);
  return line;
}

/** The usage error `args` are refused with before any command runs (failing if they are not). */
export function usageErrorOf(...args: string[]): { message: string; code: string; json: boolean } {
  const line = commandLine(...args);
  assert.equal(line.kind, 'error', `${args.join(' ')}: ${JSON.stringify(line)}`);
  return { message: line.error.message, code: line.error.code, json: line.json };
}
