// Where the extension keeps what the core asks it to keep. Secrets (the SPAKE2 seed, relay
// tokens, the code phrase, the identity's private key, peers' send tokens) go to SecretStorage,
// which VS Code encrypts with the OS keychain. Everything else is a Memento: a window's
// pairings in flight belong to its workspace (workspaceState), while the identity card and the
// pinned peers are the person's, shared by every window (globalState).
//
// Only the types of `vscode` are imported, so this routing is tested with plain fakes.

import type { Memento, SecretStorage } from 'vscode';
import { PairError } from '../core/errors.js';
import type { KeyValueStore, Memory, Vault } from '../core/ports.js';
import { routeSessionKeys } from '../core/routedStore.js';

/** A KeyValueStore over a Memento. A non-string value under a key (not ours) reads as absent. */
export function mementoStore(memento: Memento, where: string): KeyValueStore {
  return {
    get: (key) => {
      const value = memento.get<unknown>(key);
      return Promise.resolve(typeof value === 'string' ? value : undefined);
    },
    // Memento.update with undefined removes the key.
    set: (key, value) => guarded(`write ${key} to ${where}`, () => memento.update(key, value)),
    delete: (key) => guarded(`delete ${key} from ${where}`, () => memento.update(key, undefined)),
  };
}

/** A KeyValueStore over SecretStorage. */
export function secretStore(secrets: SecretStorage): KeyValueStore {
  return {
    get: async (key) => {
      try {
        return await secrets.get(key);
      } catch (error) {
        throw storageFailed(`read ${key} from the secret storage`, error);
      }
    },
    set: (key, value) => guarded(`write ${key} to the secret storage`, () => secrets.store(key, value)),
    delete: (key) => guarded(`delete ${key} from the secret storage`, () => secrets.delete(key)),
  };
}

export interface ExtensionStorage {
  workspaceState: Memento;
  globalState: Memento;
  secrets: SecretStorage;
}

/**
 * The core's Vault and Memory for one window: every secret in SecretStorage; session records
 * (keys starting with `session`) in workspace state, identity and peers in global state.
 */
export function extensionStores(storage: ExtensionStorage): { vault: Vault; memory: Memory } {
  return {
    vault: secretStore(storage.secrets),
    memory: routeSessionKeys(mementoStore(storage.workspaceState, 'the workspace state'), mementoStore(storage.globalState, 'the global state')),
  };
}

async function guarded(what: string, write: () => Thenable<void>): Promise<void> {
  try {
    await write();
  } catch (error) {
    throw storageFailed(what, error);
  }
}

function storageFailed(what: string, cause: unknown): PairError {
  // The key names what failed; the value (possibly a secret) is never part of the message.
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new PairError('storage_failed', `VS Code could not ${what} (${reason}). Check that the OS keychain is available, then try again.`, { cause });
}
