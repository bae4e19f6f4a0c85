// The options of a relay process, one table for both command lines that start one:
// `agent-pair relay` (src/cli) and `node dist/relay.mjs` (main.ts, also what VS Code and the CLI
// start as the local relay). Each option has its placeholder, its environment variable, its help
// line and its check; a check throws an Error whose one-line message names the option and the
// shape it expects, which each command line prints its own way.

import { DEFAULT_RELAY_HOST, DEFAULT_RELAY_PORT } from './embedded.js';
import { trustedProxies } from './trustProxy.js';
import { parseStoreOption } from './storeUrl.js';

export interface RelayOptionValues {
  host: string;
  port: number;
  /** As given (`sqlite:PATH`, `redis://…`, `memory`), checked; startRelay parses it again. */
  store: string;
  'trust-proxy': string[];
  'idle-exit': number;
  record: string;
}
export type RelayOptionName = keyof RelayOptionValues;

export interface RelayOptionSpec<T> {
  placeholder: string;
  /** The environment variable that sets it when the command line does not. */
  env?: string;
  help: string;
  /** The value, or throws an Error naming the option and the expected shape. */
  parse: (text: string) => T;
}

/** A value in a message: quoted, and a URL's password hidden. */
function shown(text: string): string {
  return JSON.stringify(text.replace(/\/\/[^@/]*@/, '//***@'));
}

export const RELAY_OPTIONS: { readonly [K in RelayOptionName]: RelayOptionSpec<RelayOptionValues[K]> } = {
  host: {
    placeholder: 'ADDRESS',
    env: 'AGENT_PAIR_RELAY_HOST',
    help: `the address to listen on (default ${DEFAULT_RELAY_HOST}; 0.0.0.0 for every interface)`,
    parse: (text) => {
      if (text.trim() === '' || /\s/.test(text)) throw new Error(`--host ${shown(text)} is not an address; expected an IP address or host name, like 0.0.0.0`);
      return text;
    },
  },
  port: {
    placeholder: 'PORT',
    env: 'AGENT_PAIR_RELAY_PORT',
    help: `the TCP port to listen on (default ${DEFAULT_RELAY_PORT}; 0 picks a free one)`,
    parse: (text) => {
      const port = Number(text);
      if (!/^\d{1,5}$/.test(text) || port > 65_535) throw new Error(`--port ${shown(text)} is not a port; expected a whole number from 0 to 65535`);
      return port;
    },
  },
  store: {
    placeholder: 'STORE',
    env: 'AGENT_PAIR_RELAY_STORE',
    help: `where the relay keeps inboxes and queued messages: sqlite:PATH (one file; restarts lose nothing), redis://[:PASSWORD@]HOST:PORT[/DB] (several relay processes share it) or memory (the default; lost when the relay stops)`,
    parse: (text) => {
      parseStoreOption(text);
      return text;
    },
  },
  'trust-proxy': {
    placeholder: 'CIDRS',
    env: 'AGENT_PAIR_RELAY_TRUST_PROXY',
    help: 'take the client address from X-Forwarded-For only from these proxies, like 127.0.0.1,10.0.0.0/8',
    parse: (text) => {
      const list = text.split(',').map((item) => item.trim()).filter((item) => item !== '');
      trustedProxies(list);
      return list;
    },
  },
  'idle-exit': {
    placeholder: 'SECONDS',
    env: 'AGENT_PAIR_RELAY_IDLE_EXIT',
    help: 'exit once idle that long: no pairing in flight, no request (default 0: never)',
    parse: (text) => {
      if (!/^\d{1,9}$/.test(text)) throw new Error(`--idle-exit ${shown(text)} is not a number of seconds; expected a whole number of seconds, 0 to never exit`);
      return Number(text);
    },
  },
  record: {
    placeholder: 'FILE',
    help: 'write {"pid","url","startedAt"} there once listening (mode 0600), for whoever stops the relay',
    parse: (text) => {
      if (text.trim() === '') throw new Error('--record needs a file path');
      return text;
    },
  },
};

export const RELAY_OPTION_NAMES = Object.keys(RELAY_OPTIONS) as RelayOptionName[];

/**
 * The settings of a relay process: each option from the command line (`given`, as text), else
 * its environment variable, else absent. Throws the first option's one-line error.
 */
export function relaySettings<K extends RelayOptionName>(names: readonly K[], given: Partial<Record<K, string>>, env: NodeJS.ProcessEnv): Partial<Pick<RelayOptionValues, K>> {
  const settings: Partial<Pick<RelayOptionValues, K>> = {};
  for (const name of names) {
    const spec = RELAY_OPTIONS[name] as RelayOptionSpec<RelayOptionValues[K]>;
    const fromEnv = spec.env === undefined ? undefined : env[spec.env];
    const text = given[name] ?? (fromEnv === undefined || fromEnv.trim() === '' ? undefined : fromEnv);
    if (text !== undefined) settings[name] = spec.parse(text);
  }
  return settings;
}

/** The help lines of `names`, aligned, each with its environment variable. */
export function relayOptionHelp(names: readonly RelayOptionName[]): string[] {
  const heads = names.map((name) => `--${name} ${RELAY_OPTIONS[name].placeholder}`);
  const width = Math.max(...heads.map((head) => head.length)) + 2;
  return names.map((name, index) => {
    const { env, help } = RELAY_OPTIONS[name];
    return `  ${(heads[index] ?? '').padEnd(width)}${help}${env === undefined ? '' : ` (env ${env})`}`;
  });
}
