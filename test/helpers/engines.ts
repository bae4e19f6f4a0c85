// The relay store engines every relay suite runs on: memory, SQLite (a fresh file per relay, in a
// temporary directory removed when the test process exits) and Redis (a real redis-server, a
// fresh key prefix per relay).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RedisServer } from './redis.js';

export const ENGINES = ['memory', 'sqlite', 'redis'] as const;
export type Engine = (typeof ENGINES)[number];

let sqliteDir: string | undefined;
let sqliteFiles = 0;

/** A SQLite store file no relay used yet. */
export function freshSqliteFile(): string {
  if (sqliteDir === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'agent-pair-sqlite-'));
    sqliteDir = dir;
    process.once('exit', () => {
      rmSync(dir, { recursive: true, force: true });
    });
  }
  return join(sqliteDir, `relay-${++sqliteFiles}.sqlite`);
}

/** The `store` option of a new relay on `engine`: empty for memory, a fresh file or key prefix otherwise. */
export function storeFor(engine: Engine, redis: RedisServer | undefined): { store?: string } {
  if (engine === 'memory') return {};
  if (engine === 'sqlite') return { store: `sqlite:${freshSqliteFile()}` };
  if (redis === undefined) throw new Error('redis-server not started');
  return { store: redis.url() };
}
