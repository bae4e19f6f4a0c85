// The `--store` URL of a relay kept in Redis, parsed without loading the Redis client, so the
// CLI and the relay entry can reject a wrong one before any side effect.

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
