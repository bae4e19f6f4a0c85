// Sessions and identity live in different places: a VS Code window keeps its pairings in flight
// in workspace state but its identity and pinned peers in global state; the interactive CLI
// keeps pairings in memory but its identity in files; VS Code keeps its mailbox in files. One
// KeyValueStore routes by key prefix.

import type { KeyValueStore } from './ports.js';
import { SESSION_KEY_PREFIX } from './store.js';

export function routeSessionKeys(sessions: KeyValueStore, everythingElse: KeyValueStore): KeyValueStore {
  return routeKeys(SESSION_KEY_PREFIX, sessions, everythingElse);
}

/** Keys starting with `prefix` go to `matching`, every other key to `everythingElse`. */
export function routeKeys(prefix: string, matching: KeyValueStore, everythingElse: KeyValueStore): KeyValueStore {
  const pick = (key: string): KeyValueStore => (key.startsWith(prefix) ? matching : everythingElse);
  return {
    get: (key) => pick(key).get(key),
    set: (key, value) => pick(key).set(key, value),
    delete: (key) => pick(key).delete(key),
  };
}

/** A KeyValueStore in memory, for state that should not outlive the process. */
export class MemoryKeyValueStore implements KeyValueStore {
  private readonly values = new Map<string, string>();

  get(key: string): Promise<string | undefined> {
    return Promise.resolve(this.values.get(key));
  }

  set(key: string, value: string): Promise<void> {
    this.values.set(key, value);
    return Promise.resolve();
  }

  delete(key: string): Promise<void> {
    this.values.delete(key);
    return Promise.resolve();
  }

  /** For tests that check what was (or was not) written. */
  entries(): [string, string][] {
    return [...this.values.entries()];
  }
}
