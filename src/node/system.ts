// The real clock and CSPRNG, for every Node adapter (extension host, CLI, MCP, relay tests).

import { nodeCrypto } from './lazyCrypto.js';
import { homedir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { sanitiseHandle } from '../core/vocabulary.js';
import type { Clock, Random } from '../core/ports.js';

export const systemClock: Clock = {
  now: () => Date.now(),
  // A zero wait is a turn of the event loop (setImmediate), not Node's 1 ms timer minimum.
  sleep: (ms, signal) => (ms <= 0 ? new Promise<void>((resolve) => setImmediate(resolve)) : sleep(ms, undefined, signal ? { signal } : undefined).catch(() => undefined)),
};

export const systemRandom: Random = {
  bytes: (length) => new Uint8Array(nodeCrypto().randomBytes(length)),
};

/**
 * This OS user's Agent Pair directory: `$AGENT_PAIR_HOME`, or `~/.agent-pair`. The CLI keeps its
 * identity there; VS Code windows keep the record of the local relay process there, so every
 * window, profile and editor instance of the user finds the one relay on port 8771.
 */
export function defaultHome(): string {
  const configured = process.env['AGENT_PAIR_HOME'];
  return configured !== undefined && configured !== '' ? resolve(configured) : join(homedir(), '.agent-pair');
}

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
