// The `--store` of a relay (`memory`, `sqlite:PATH`, `redis://HOST:PORT[/DB]`), parsed without
// loading SQLite or the Redis client, so the CLI and the relay entry can reject a wrong one before
// any side effect.

import { resolve } from 'node:path';

/** Where a relay keeps its state, as `--store` names it. */
export type StoreChoice = { engine: 'memory' } | { engine: 'sqlite'; path: string } | { engine: 'redis'; url: string; address: RedisStoreAddress };

export const STORE_SHAPES = 'memory, sqlite:PATH (like sqlite:/var/lib/agent-pair/relay.sqlite) or redis://HOST:PORT[/DB]';

/** `--store` as a StoreChoice; an empty one is memory. Throws a one-line error naming the expected shapes. */
export function parseStoreOption(text: string): StoreChoice {
  if (text === '' || text === 'memory') return { engine: 'memory' };
  if (text.startsWith('sqlite:')) {
    const path = text.slice('sqlite:'.length);
    if (path === '' || path.includes('\0')) throw new Error(`--store ${text} has no file path; expected ${STORE_SHAPES}`);
    return { engine: 'sqlite', path: resolve(path) };
  }
  if (text.startsWith('redis:')) return { engine: 'redis', url: text, address: parseRedisUrl(text) };
  throw new Error(`--store ${text.replace(/\/\/[^@/]*@/, '//***@')} is not a store; expected ${STORE_SHAPES}`);
}

/** The store as a start-up line says it: the Redis URL without its password. */
export function describeStore(choice: StoreChoice): string {
  switch (choice.engine) {
    case 'memory':
      return 'memory (lost when the relay stops)';
    case 'sqlite':
      return `SQLite file ${choice.path}`;
    case 'redis':
      return `Redis at ${redisLocation(choice.address)}`;
  }
}

/** `redis://HOST:PORT/DB` with the prefix if not the default, never the password. */
export function redisLocation(address: RedisStoreAddress): string {
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  return `redis://${host}:${address.port}/${address.db}${address.prefix === DEFAULT_PREFIX ? '' : ` (prefix ${address.prefix})`}`;
}

const DEFAULT_PREFIX = 'agent-pair:';

export interface RedisStoreAddress {
  host: string;
  port: number;
  db: number;
  prefix: string;
  /** From `redis://[USER]:PASSWORD@HOST...` when Redis requires AUTH; never printed. */
  username?: string;
  password?: string;
}

/**
 * `redis://[[USER]:PASSWORD@]HOST:PORT[/DB][?prefix=P]` as connection settings; throws a one-line error naming
 * the expected shape. The prefix (default `agent-pair:`) lets several relays share one Redis.
 */
export function parseRedisUrl(text: string): RedisStoreAddress {
  // Messages name the URL without its password.
  const shown = text.replace(/\/\/[^@/]*@/, '//***@');
  const expected = 'expected redis://HOST:PORT[/DB], like redis://127.0.0.1:6379/0';
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`--store ${shown} is not a URL; ${expected}`);
  }
  if (url.protocol !== 'redis:') throw new Error(`--store ${shown} is not a redis:// URL; ${expected}`);
  if (url.hostname === '') throw new Error(`--store ${shown} has no host; ${expected}`);
  const port = url.port === '' ? 6379 : Number(url.port);
  const dbText = url.pathname.replace(/^\//, '');
  if (!/^\d{0,2}$/.test(dbText)) throw new Error(`--store ${shown} has database ${dbText}; ${expected}`);
  const prefix = url.searchParams.get('prefix') ?? DEFAULT_PREFIX;
  if (!/^[A-Za-z0-9:_-]{1,64}$/.test(prefix)) throw new Error(`--store ${shown} has prefix ${prefix}; expected 1 to 64 letters, digits, ":", "_" or "-"`);
  return {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port,
    db: dbText === '' ? 0 : Number(dbText),
    prefix,
    ...(url.username !== '' && { username: decodeURIComponent(url.username) }),
    ...(url.password !== '' && { password: decodeURIComponent(url.password) }),
  };
}
