// Pairing (host, join) and the pairings agents started over MCP (confirm, sessions). One file of
// its own in dist/ (cli-pairing.cjs), see ../run.ts.

import { confirmFromTerminal, listSessions } from '../confirm.js';
import type { OptionValues } from '../commandLine.js';
import { homeDeps } from '../homeDeps.js';
import type { CommandsOf } from '../main.js';
import { runPairing } from '../pair.js';
import { type CommandRuns, commandGroup } from '../run.js';
import { EXIT_FAILED, EXIT_INTERRUPTED } from '../usage.js';

const PAIR_EXIT = { paired: 0, ended: EXIT_FAILED, interrupted: EXIT_INTERRUPTED } as const;
const CONFIRM_EXIT = { confirmed: 0, ended: EXIT_FAILED, interrupted: EXIT_INTERRUPTED } as const;

const RUNS: CommandRuns<CommandsOf<'pairing'>> = {
  host: async ({ options, context, home, terminal }) => PAIR_EXIT[await runPairing({ role: 'host', home, context, ...pairingOptions(options) }, terminal)],
  join: async ({ args: [code = ''], options, context, home, terminal }) => PAIR_EXIT[await runPairing({ role: 'guest', home, code, context, ...pairingOptions(options) }, terminal)],
  confirm: async ({ args: [sessionId = ''], context, home, terminal }) => CONFIRM_EXIT[await confirmFromTerminal(context, sessionId, terminal, homeDeps(home))],
  sessions: async ({ context, home, terminal }) => {
    await listSessions(context, terminal, homeDeps(home));
    return 0;
  },
};

function pairingOptions(options: Partial<OptionValues>): { relayUrl?: string; handle?: string } {
  return { ...(options.relay !== undefined && { relayUrl: options.relay }), ...(options.handle !== undefined && { handle: options.handle }) };
}

export const run = commandGroup(RUNS);
