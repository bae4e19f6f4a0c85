// What every `agent-pair` command gets once main.ts has checked its command line: the home (its
// privacy checked), the terminal, and every error worded for the person. The commands themselves
// are in groups (src/cli/groups/*.ts): each group is one file of its own in dist/ (cli-GROUP.cjs,
// see esbuild.mjs) holding its commands and everything they use, so a command loads one file
// more than --version does, and none of the other groups' code. main.ts, the entry, shares no
// object with the groups.

import { isPairError, errorMessage } from '../core/errors.js';
import { showControls } from '../core/untrusted.js';
import { parseBudgetPerHour } from '../core/vocabulary.js';
import type { CommandSpec, OptionValues } from './commandLine.js';
import { EXIT_FAILED, EXIT_OUTPUT_CLOSED, EXIT_USAGE, UsageError } from './usage.js';
import { invokedAs } from './invocation.js';
import type { CommandName } from './main.js';
import { Terminal } from './terminal.js';
import { installNativeCrypto } from '../node/nativeSymmetric.js';
import { defaultHome } from '../node/system.js';
import { checkHomeIsPrivate } from '../node/homeCheck.js';
import type { CliContext } from './words.js';

/** What a command gets: its checked arguments and options, the home directory (and how the person named it) and the terminal. */
export interface Invocation {
  args: string[];
  options: Partial<OptionValues>;
  home: string;
  context: CliContext;
  terminal: Terminal;
}

/** What each command of a group does: one entry per command main.ts's GROUP_OF puts in the group. */
export type CommandRuns<Name extends CommandName> = { readonly [N in Name]: (invocation: Invocation) => Promise<number> };

/** A group's entry, as main.ts calls it with the command line it checked; resolves the exit status. */
export type GroupRun = (command: CommandSpec & { name: CommandName }, args: string[], options: Partial<OptionValues>) => Promise<number>;

/** The entry of the group whose commands `runs` holds. */
export function commandGroup<Name extends CommandName>(runs: CommandRuns<Name>): GroupRun {
  return (command, args, options) => runCommand(runs, command, args, options);
}

async function runCommand<Name extends CommandName>(runs: CommandRuns<Name>, command: CommandSpec & { name: CommandName }, args: string[], options: Partial<OptionValues>): Promise<number> {
  // Ed25519, X25519, and HPKE's HMAC and ChaCha20-Poly1305 on node:crypto instead of noble's JavaScript.
  installNativeCrypto();
  const terminal = new Terminal(options.json ?? false);
  const home = options.home ?? defaultHome();
  // What the CLI's words need to name: the command as the person invoked it, and the home it used.
  const context: CliContext = { command: invokedAs(), home, defaultHome: home === defaultHome() };
  try {
    const run = Object.hasOwn(runs, command.name) ? runs[command.name as Name] : undefined;
    if (run === undefined) throw new Error(`the command ${command.name} is not in the group main.ts loaded for it`);
    if (command.options.includes('home')) checkHomeIsPrivate(home);
    const status = await run({ args, options, context, home, terminal });
    return (await outputStatus(terminal)) ?? status;
  } catch (error) {
    if (error instanceof UsageError) {
      // A combination of options the table cannot express (send: TEXT or --data), caught by the command before any effect.
      terminal.event({ event: 'error', code: error.code, message: error.message });
      terminal.warn(`agent-pair: ${error.message}`);
      return EXIT_USAGE;
    }
    const code = isPairError(error) ? error.code : 'relay_error';
    const message = errorMessage(error);
    terminal.event({ event: 'error', code, message });
    // An error may quote a relay's or a peer's words: their control characters are shown, not obeyed.
    terminal.warn(`agent-pair: ${showControls(message)}`);
    if (!isPairError(error) && process.env['AGENT_PAIR_DEBUG'] === '1' && error instanceof Error) terminal.warn(error.stack ?? '');
    return EXIT_FAILED;
  } finally {
    terminal.close();
  }
}

/**
 * The status of a command whose stdout failed, said in a line if the failure was not its
 * reader leaving: `agent-pair peers | head -1` ends quietly, as a Unix tool does when its output
 * is closed early; undefined while stdout is fine.
 */
async function outputStatus(terminal: Terminal): Promise<number | undefined> {
  if (await terminal.written()) return undefined;
  const failure = terminal.stdoutFailure;
  if (failure?.code === 'EPIPE') return EXIT_OUTPUT_CLOSED;
  terminal.warn(`agent-pair: could not write to standard output (${failure?.code ?? failure?.message ?? 'unknown error'}).`);
  return EXIT_FAILED;
}

/** A budget from its flag, else its environment variable, else the default (undefined). */
export function budgetOption(options: Partial<OptionValues>, name: 'auto-handovers-per-hour' | 'agent-sends-per-hour', env: string): number | undefined {
  const given = options[name];
  if (given !== undefined) return given;
  const text = process.env[env];
  if (text === undefined || text.trim() === '') return undefined;
  try {
    return parseBudgetPerHour(text, env);
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message.replace(/\.$/, '') : String(error));
  }
}
