// The real clock and CSPRNG, for every Node adapter (extension host, CLI, MCP, relay tests).

import { randomBytes } from 'node:crypto';
import { userInfo } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { sanitiseHandle } from '../core/identity.js';
import type { Clock, Random } from '../core/ports.js';

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => sleep(ms),
};

export const systemRandom: Random = {
  bytes: (length) => new Uint8Array(randomBytes(length)),
};

/** The login name made a valid handle (`jane.doe` becomes `jane-doe`): a first identity's default. */
export function loginHandle(): string {
  let name: string;
  try {
    name = userInfo().username;
  } catch {
    // No passwd entry for this uid (some containers).
    name = process.env['USER'] ?? process.env['USERNAME'] ?? '';
  }
  return sanitiseHandle(name);
}
