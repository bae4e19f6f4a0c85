// Where the extension keeps what the core asks it to keep. Secrets (the SPAKE2 seed, relay
// tokens, the code phrase, the identity's private key, peers' send tokens) go to SecretStorage,
// which VS Code encrypts with the OS keychain. A window's pairings in flight belong to its
// workspace (workspaceState); the identity card and the pinned peers are the person's, shared by
// every window (globalState).
//
// The mailbox and the pinned peers (with the receive-key pools they gave, PROTOCOL.md section 7)
// are the person's too, but not in global state: every window of a profile writes them (the
// pulling window stores messages and spends nothing, the others send, spending keys, and mark
// messages handled; an inbox move rewrites a peer), and VS Code writes an extension's global
// state as one object, last write wins, reaching other windows a moment later, so two windows
// writing within that moment lose one write (a spent one-time key, an inbox move). They live in
// 0600 files, one per key, in the profile's directory for this extension (globalStorageUri, per
// profile like global state), and every mailbox write holds the mailbox lock there, as the CLI's
// does in its home. Receive-key secrets are secrets: SecretStorage, beside the identity key.
//
// Only the types of `vscode` are imported, so this routing is tested with plain fakes.

import { join } from 'node:path';
import type { Memento, SecretStorage, Uri } from 'vscode';
import { PairError, errorMessage } from '../core/errors.js';
import { MAIL_KEY_PREFIX } from '../core/mailbox.js';
import type { KeyValueStore, MailLock, Memory, Vault } from '../core/ports.js';
import { routeSessionKeys } from '../core/routedStore.js';
import { PENDING_GRANTS_KEY } from '../core/inboxes.js';
import { GRANTS_TO_REVOKE_KEY, PEERS_INDEX_KEY, peerRecordKey } from '../core/trust.js';
import { FileKeyValueStore } from '../node/fileStore.js';
import { fileMailLock } from '../node/mailLock.js';

/** In the extension's global storage directory: the mailbox's files, and its lock. */
export const MAILBOX_DIRECTORY = 'mail';
export const MAILBOX_LOCK_FILE = 'mail.lock';

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
  /** The profile's directory for this extension, shared by its windows. */
  globalStorageUri: Pick<Uri, 'fsPath'>;
}

/** Keys kept in the files rather than global state: the mailbox (and key pools), the pinned peers, the grants given. */
export const FILE_KEY_PREFIXES = [MAIL_KEY_PREFIX, peerRecordKey(''), PEERS_INDEX_KEY, GRANTS_TO_REVOKE_KEY, PENDING_GRANTS_KEY];
const inFiles = (key: string): boolean => FILE_KEY_PREFIXES.some((prefix) => key.startsWith(prefix));

/**
 * The files, reading through to global state for what the one-time move has not moved yet (so
 * peers never seem to vanish while it runs); a delete also clears the global state copy, so a
 * forgotten peer cannot come back from there.
 */
function filesOverGlobalState(files: KeyValueStore, global: KeyValueStore): KeyValueStore {
  return {
    get: async (key) => (await files.get(key)) ?? global.get(key),
    set: (key, value) => files.set(key, value),
    delete: async (key) => {
      await files.delete(key);
      await global.delete(key);
    },
  };
}

/**
 * The core's Vault, Memory and mailbox lock for one window: every secret in SecretStorage;
 * session records (keys starting with `session`) in workspace state; the mailbox, the pinned
 * peers and their grants (FILE_KEY_PREFIXES) in files under the global storage directory; the
 * identity card and relay binding in global state.
 */
export function extensionStores(storage: ExtensionStorage): { vault: Vault; memory: Memory; mailLock: MailLock } {
  const directory = storage.globalStorageUri.fsPath;
  const global = mementoStore(storage.globalState, 'the global state');
  const files = filesOverGlobalState(new FileKeyValueStore(join(directory, MAILBOX_DIRECTORY)), global);
  const routed: KeyValueStore = {
    get: (key) => (inFiles(key) ? files : global).get(key),
    set: (key, value) => (inFiles(key) ? files : global).set(key, value),
    delete: (key) => (inFiles(key) ? files : global).delete(key),
  };
  return {
    vault: secretStore(storage.secrets),
    memory: routeSessionKeys(mementoStore(storage.workspaceState, 'the workspace state'), routed),
    mailLock: fileMailLock(join(directory, MAILBOX_LOCK_FILE)),
  };
}

/**
 * Moves the mailbox and the pinned peers kept in global state (as earlier builds did) into the
 * files, once: a key already in a file is newer there and stays. Resolves how many keys were moved.
 */
export async function moveOutOfGlobalState(storage: ExtensionStorage): Promise<number> {
  const files = new FileKeyValueStore(join(storage.globalStorageUri.fsPath, MAILBOX_DIRECTORY));
  let moved = 0;
  for (const key of storage.globalState.keys().filter(inFiles)) {
    const value = storage.globalState.get<unknown>(key);
    if (typeof value === 'string' && (await files.get(key)) === undefined) {
      await files.set(key, value);
      moved++;
    }
    await guarded(`delete ${key} from the global state`, () => storage.globalState.update(key, undefined));
  }
  return moved;
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
  const reason = errorMessage(cause);
  return new PairError('storage_failed', `VS Code could not ${what} (${reason}). Check that the OS keychain is available, then try again.`, { cause });
}
