// Plain in-memory implementations of the VS Code storage interfaces (Memento, SecretStorage),
// typed against `vscode` so they stay in step with the real API, with a switch to make writes
// fail like an unavailable keychain does.

import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Disposable, Event, Memento, SecretStorage, SecretStorageChangeEvent } from 'vscode';

export class FakeMemento implements Memento {
  readonly values = new Map<string, unknown>();
  failWrites = false;

  keys(): readonly string[] {
    return [...this.values.keys()];
  }

  // Memento's own signature: the caller names the type it expects to read.
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
  get<T>(key: string): T | undefined;
  get<T>(key: string, defaultValue: T): T;
  get<T>(key: string, defaultValue?: T): T | undefined {
    return this.values.has(key) ? (this.values.get(key) as T) : defaultValue;
  }

  update(key: string, value: unknown): Thenable<void> {
    if (this.failWrites) return Promise.reject(new Error('disk full'));
    if (value === undefined) this.values.delete(key);
    else this.values.set(key, value);
    return Promise.resolve();
  }
}

export class FakeSecretStorage implements SecretStorage {
  readonly values = new Map<string, string>();
  failAll = false;
  private readonly listeners = new Set<(event: SecretStorageChangeEvent) => unknown>();

  get(key: string): Thenable<string | undefined> {
    if (this.failAll) return Promise.reject(new Error('keychain locked'));
    return Promise.resolve(this.values.get(key));
  }

  store(key: string, value: string): Thenable<void> {
    if (this.failAll) return Promise.reject(new Error('keychain locked'));
    this.values.set(key, value);
    this.fire(key);
    return Promise.resolve();
  }

  delete(key: string): Thenable<void> {
    if (this.failAll) return Promise.reject(new Error('keychain locked'));
    this.values.delete(key);
    this.fire(key);
    return Promise.resolve();
  }

  onDidChange: Event<SecretStorageChangeEvent> = (listener) => {
    this.listeners.add(listener);
    const subscription: Pick<Disposable, 'dispose'> = { dispose: () => this.listeners.delete(listener) };
    return subscription;
  };

  private fire(key: string): void {
    for (const listener of this.listeners) listener({ key });
  }
}

/** The storage directories this test process handed out: removed when it exits, so none pile up in the temp directory. */
const globalStorageDirs: string[] = [];
process.once('exit', () => {
  for (const dir of globalStorageDirs) rmSync(dir, { recursive: true, force: true });
});

/** A profile's global storage directory for the extension: a fresh path under the temp directory, made when first written. */
export function freshGlobalStorageUri(): { fsPath: string } {
  const fsPath = join(tmpdir(), `agent-pair-global-storage-${randomBytes(6).toString('hex')}`);
  globalStorageDirs.push(fsPath);
  return { fsPath };
}

export interface FakeStorage {
  workspaceState: FakeMemento;
  globalState: FakeMemento;
  secrets: FakeSecretStorage;
  globalStorageUri: { fsPath: string };
}

/** What an extension context offers for storage: one window's workspace and global state, the profile's directory. */
export function fakeStorage(): FakeStorage {
  return { workspaceState: new FakeMemento(), globalState: new FakeMemento(), secrets: new FakeSecretStorage(), globalStorageUri: freshGlobalStorageUri() };
}
