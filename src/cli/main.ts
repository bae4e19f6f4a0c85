// `agent-pair`: argv in, one command out. No protocol logic lives here: every command is a thin
// call into the core (sessions, identity, trust), the relay, or the MCP server.
//
// Start-up: this module is the whole of dist/cli.cjs, one file with nothing else imported: the
// command table (commands.ts), the command line's checks and the help, so `--version`, `--help` and a wrong
// command line answer without loading anything more (esbuild.mjs builds it on its own). A
// command that runs is handed to its group (GROUP_OF: src/cli/groups/*.ts), one more file
// (dist/cli-GROUP.cjs) holding that group's commands and all they use, and importing nothing of
// ours: every file loaded is a round of reads and a compile. The group is compiled through V8's
// code cache (groupBundles.ts), kept once the command is over. No object made here is used
// there, so the two builds' copies of the small modules both import (errors, vocabulary) never
// meet.

import packageJson from '../../package.json' with { type: 'json' };
import { parseCommandLine } from './commandLine.js';
import { COMMANDS } from './commands.js';
import { invokedAs } from './invocation.js';
import { loadGroup } from './groupModules.js';
import { EXIT_FAILED, EXIT_OUTPUT_CLOSED, EXIT_USAGE } from './usage.js';

export type CommandName = (typeof COMMANDS)[number]['name'];

/**
 * The group of each command: a group's commands share most of their code (the stores, the relay
 * client, the pairing runner, the MCP SDK), so each group is built into one file with all of it,
 * and a command loads that file alone.
 */
const GROUP_OF = {
  peers: 'home',
  whoami: 'home',
  host: 'pairing',
  join: 'pairing',
  confirm: 'pairing',
  sessions: 'pairing',
  init: 'messaging',
  rule: 'messaging',
  forget: 'messaging',
  send: 'messaging',
  inbox: 'messaging',
  sent: 'messaging',
  cancel: 'messaging',
  'accept-move': 'messaging',
  'refuse-move': 'messaging',
  relay: 'relay',
  mcp: 'mcp',
} as const satisfies Record<CommandName, string>;

export type CommandGroup = (typeof GROUP_OF)[CommandName];
/** The commands of `Group`: the keys its RUNS table must have, and no others. */
export type CommandsOf<Group extends CommandGroup> = { [Name in CommandName]: (typeof GROUP_OF)[Name] extends Group ? Name : never }[CommandName];

/**
 * The status an output that failed under one of main's own answers (the version, help, a wrong
 * command line) gives the process: 141 for one its reader closed early (`--help | head -1`), as
 * run.ts gives a command's, else 1. Undefined while the outputs are fine.
 */
let outputFailedStatus: number | undefined;

/** Writes one of main's own answers; a failed write ends the process with its status and at most a line, not a stack trace. */
function answer(stream: NodeJS.WriteStream, text: string): void {
  if (stream.listenerCount('error') === 0) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (outputFailedStatus !== undefined) return;
      outputFailedStatus = error.code === 'EPIPE' ? EXIT_OUTPUT_CLOSED : EXIT_FAILED;
      process.exitCode = outputFailedStatus;
      // As run.ts says it for a command: a reader leaving is no failure, a full disk is.
      if (error.code !== 'EPIPE' && stream === process.stdout) process.stderr.write(`agent-pair: could not write to standard output (${error.code ?? error.message}).\n`);
    });
  }
  stream.write(text);
}

export async function main(argv: string[]): Promise<number> {
  const line = parseCommandLine(argv, COMMANDS, invokedAs());
  switch (line.kind) {
    case 'version':
      answer(process.stdout, `${packageJson.version}\n`);
      return 0;
    case 'help':
      answer(line.exitCode === 0 ? process.stdout : process.stderr, line.text);
      return line.exitCode;
    case 'error':
      if (line.json) answer(process.stdout, `${JSON.stringify({ event: 'error', code: line.error.code, message: line.error.message })}\n`);
      answer(process.stderr, `agent-pair: ${line.error.message}\n`);
      return EXIT_USAGE;
    case 'run': {
      const group = await loadGroup(GROUP_OF[line.command.name], line.command.name);
      const exitCode = await group.run(line.command, line.args, line.options);
      group.saveCodeCache();
      return exitCode;
    }
  }
}

// The bundle is CommonJS (esbuild.mjs), so no top-level await; a rejection ends the process as one.
void main(process.argv.slice(2)).then((exitCode) => {
  process.exitCode = outputFailedStatus ?? exitCode;
});
