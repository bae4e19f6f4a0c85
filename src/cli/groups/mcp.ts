// `agent-pair mcp`: the MCP server on stdio, with its SDK and zod. One file of its own in dist/
// (cli-mcp.cjs), see ../run.ts.

import { resolve } from 'node:path';
import { AGENT_SENDS_ENV, AUTO_HANDOVERS_ENV } from '../../core/vocabulary.js';
import { runStdioServer } from '../../mcp/stdio.js';
import { invokedAsFromAnywhere, shellWord } from '../invocation.js';
import type { CommandsOf } from '../main.js';
import { homeRelayConnector, resolveRelay } from '../pair.js';
import { type CommandRuns, budgetOption, commandGroup } from '../run.js';

const RUNS: CommandRuns<CommandsOf<'mcp'>> = {
  mcp: async ({ options, context, home }) => {
    const relay = await resolveRelay(options.relay);
    // The person runs `confirm` in a terminal of their own, maybe elsewhere: name the command so it runs from anywhere, with this home.
    const homeArgs = context.defaultHome ? '' : ` --home ${shellWord(resolve(home))}`;
    const personCommand = (args: string): string => `${invokedAsFromAnywhere()} ${args}${homeArgs}`;
    const agentSends = budgetOption(options, 'agent-sends-per-hour', AGENT_SENDS_ENV);
    const autoHandovers = budgetOption(options, 'auto-handovers-per-hour', AUTO_HANDOVERS_ENV);
    const budgets = { ...(agentSends !== undefined && { agentSends }), ...(autoHandovers !== undefined && { autoHandovers }) };
    await runStdioServer({ home, relayUrl: relay.url, relays: homeRelayConnector(), confirmSends: options['confirm-sends'] ?? false, personCommand, budgets });
    return 0;
  },
};

export const run = commandGroup(RUNS);
