// `agent-pair relay`: the relay server. One file of its own in dist/ (cli-relay.cjs), see ../run.ts.

import type { CommandsOf } from '../main.js';
import { runRelay } from '../relayCommand.js';
import { type CommandRuns, commandGroup } from '../run.js';

const RUNS: CommandRuns<CommandsOf<'relay'>> = {
  relay: ({ options, terminal }) => runRelay(options, terminal),
};

export const run = commandGroup(RUNS);
