// The command line of `node dist/relay.mjs` (main.ts): its arguments and environment made into
// the relay's settings, or its help, by the option table it shares with `agent-pair relay`
// (options.ts). Apart from main.ts, which starts the relay when imported, so the tests decide
// what a command line means in their own process; what main adds (`relay: ` on stderr, exit 2,
// the help on stdout) is checked on the built relay.

import { parseArgs } from 'node:util';
import { RELAY_OPTIONS, RELAY_OPTION_NAMES, type RelayOptionName, type RelayOptionValues, relayOptionHelp, relaySettings } from './options.js';

/** What a command line asks for: the help, or a relay with these settings (absent: the default). */
export type RelayCommandLine = { kind: 'help' } | { kind: 'run'; settings: Partial<RelayOptionValues> };

/**
 * What `args` (process.argv after the script) and `env` ask for. A mistake throws an Error whose
 * one-line message names the argument and the shape it expects.
 */
export function parseRelayCommandLine(args: readonly string[], env: NodeJS.ProcessEnv): RelayCommandLine {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: {
        ...Object.fromEntries(RELAY_OPTION_NAMES.map((name) => [name, { type: 'string' }] as const)),
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    // Node's own messages suggest `-- "--x"` with unbalanced quotes; name the argument instead.
    const argument = error instanceof Error ? (/'(-{1,2}[\w-]+|[^']*)/.exec(error.message)?.[1] ?? 'an argument') : 'an argument';
    const missingValue = error instanceof Error && 'code' in error && error.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE';
    throw new Error(missingValue ? `${argument} needs a value` : `${argument} is not an option of the relay; expected ${RELAY_OPTION_NAMES.map((name) => `--${name}`).join(', ')}, each with a value (see --help)`, { cause: error });
  }
  if (values.help) return { kind: 'help' };
  return { kind: 'run', settings: relaySettings(RELAY_OPTION_NAMES, values as Partial<Record<RelayOptionName, string>>, env) };
}

/** The help, with the relay started as `invokedAs` (`node dist/relay.mjs`) in its lines. */
export function relayUsage(invokedAs: string): string {
  return `Usage: ${invokedAs} ${RELAY_OPTION_NAMES.map((name) => `[--${name} ${RELAY_OPTIONS[name].placeholder}]`).join(' ')}

Runs an Agent Pair relay until SIGINT or SIGTERM. The relay is untrusted by design: it never
sees the code's secret, the SAS or the key.

Options:
${relayOptionHelp(RELAY_OPTION_NAMES).join('\n')}
  -h, --help  show this help

Examples:
  ${invokedAs} --host 0.0.0.0 --port 8771 --store sqlite:/var/lib/agent-pair/relay.sqlite
  ${invokedAs} --port 0 --idle-exit 600
  ${invokedAs} --host 127.0.0.1 --store redis://127.0.0.1:6379/0 --trust-proxy 127.0.0.1
`;
}
