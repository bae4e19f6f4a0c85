// The real clock and CSPRNG, for every Node adapter (extension host, CLI, MCP, relay tests).

import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Clock, Random } from '../core/ports.js';

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => sleep(ms),
};

export const systemRandom: Random = {
  bytes: (length) => new Uint8Array(randomBytes(length)),
};
