// Waits for something the code under test does in the background (a runner's event, a window's
// pull): polls `probe` until it gives a value, or fails naming what never happened.

import { setTimeout as sleep } from 'node:timers/promises';

const POLL_MS = 20;

export async function until<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(POLL_MS);
  }
}

/** A point a test holds the code under it at: `passed` resolves once the test calls `open`. */
export interface Gate {
  passed: Promise<void>;
  open: () => void;
}

export function gate(): Gate {
  let open!: () => void;
  const passed = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { passed, open };
}
