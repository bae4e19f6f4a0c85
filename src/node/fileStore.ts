// The CLI's and MCP server's storage: one file per key in a private directory.
//
//   <home>/secrets/   the Vault (private keys, tokens, session seeds)
//   <home>/state/     the Memory (cards, pinned peers, relay bindings)
//
// Directories are created 0700 and files 0600. A write goes to a temporary file in the same
// directory, is flushed to disk, and is renamed over the old value (then the directory is
// flushed), so a crash leaves either the old value or the new one, never a torn file. A
// temporary file a crashed process left behind is removed by the next process that writes
// there: it holds a copy of a value, perhaps a secret deleted since (a used receive key).

import { nodeCrypto } from './lazyCrypto.js';
import { chmodSync, closeSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { fsync } from './fsAsync.js';
import { join, resolve } from 'node:path';
import { PairError, badInput } from '../core/errors.js';
import type { KeyValueStore, Memory, Vault } from '../core/ports.js';

const DIRECTORY_MODE = 0o700;
const FILE_MODE = 0o600;
/** Leaves room under the usual 255-byte file name limit for the longest escaped key. */
const MAX_FILE_NAME_LENGTH = 200;
/** Temporary files start with a dot, which no escaped key does, so the two never collide. */
const TEMP_PREFIX = '.tmp-';
/**
 * A temporary file older than this was left by a process that died mid-write (a write takes
 * milliseconds). Removing one still being written only fails that write (its rename finds
 * nothing: storage_failed, the old value intact).
 */
export const STALE_TEMPORARY_MS = 60_000;
const LITERAL_KEY_CHARACTER = /^[a-z0-9.-]$/;
const encoder = new TextEncoder();

/**
 * Maps a key to a file name that is the same on every file system: lowercase letters, digits,
 * `.` and `-` stay as they are (a leading `.` excepted), every other UTF-8 byte becomes `_xx`.
 * Escaping uppercase keeps `peerA` and `peera` apart on case-insensitive disks; escaping `/`,
 * `\` and a leading `.` means no key can name a path outside the directory.
 */
export function keyToFileName(key: string): string {
  if (typeof key !== 'string' || key === '') throw badInput('key', 'is empty or not text', 'a non-empty string');
  // An unpaired surrogate would encode as U+FFFD and collide with other keys.
  if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(key)) {
    throw badInput('key', 'contains an unpaired surrogate', 'text that encodes as UTF-8');
  }
  let name = '';
  for (const character of key) {
    if (LITERAL_KEY_CHARACTER.test(character) && !(name === '' && character === '.')) {
      name += character;
    } else {
      for (const byte of encoder.encode(character)) name += `_${byte.toString(16).padStart(2, '0')}`;
    }
  }
  if (name.length > MAX_FILE_NAME_LENGTH) throw badInput('key', 'is too long to store as a file', `a key whose escaped form has at most ${MAX_FILE_NAME_LENGTH} characters`);
  return name;
}

function errorCode(error: unknown): string | undefined {
  return error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

function storageFailed(action: string, key: string, directory: string, error: unknown): PairError {
  return new PairError('storage_failed', `Could not ${action} "${key}" in ${directory} (${errorCode(error) ?? 'unknown error'}). Check that the directory is writable by you.`, { cause: error });
}

export class FileKeyValueStore implements KeyValueStore {
  readonly directory: string;
  private ready: Promise<void> | undefined;

  constructor(directory: string) {
    this.directory = resolve(directory);
  }

  /** Creates the directory (and parents) once, owner-only even if it already existed, and removes stale temporary files. */
  private ensureDirectory(): Promise<void> {
    this.ready ??= new Promise<void>((resolve) => {
      mkdirSync(this.directory, { recursive: true, mode: DIRECTORY_MODE });
      chmodSync(this.directory, DIRECTORY_MODE);
      this.removeStaleTemporaries();
      resolve();
    }).catch((error: unknown) => {
      this.ready = undefined;
      throw error;
    });
    return this.ready;
  }

  /**
   * Read synchronously: the values are small local files, read in microseconds, while the
   * promise API's readFile is four trips through libuv's thread pool (open, stat, read, close),
   * each waiting its turn on a busy machine; a `send` reads about 17 of them before it opens
   * the network. Writes are synchronous too (see set), but for their two fsyncs.
   */
  get(key: string): Promise<string | undefined> {
    return new Promise((resolve) => {
      const path = join(this.directory, keyToFileName(key));
      try {
        resolve(readFileSync(path, 'utf8'));
      } catch (error) {
        if (errorCode(error) !== 'ENOENT') throw storageFailed('read', key, this.directory, error);
        resolve(undefined);
      }
    });
  }

  /**
   * The file calls of a write (open, write, close, rename, and the directory's first creation)
   * are synchronous, microseconds each, as reads are: through the thread pool each was a round
   * trip that waited its turn. Only the two fsyncs, which wait on the disk for milliseconds, go
   * to the thread pool, so the process goes on meanwhile (two writes sync at once, and `send`
   * loads node:http while its number and key sync: relay/transport.ts connectAhead).
   */
  async set(key: string, value: string): Promise<void> {
    if (typeof value !== 'string') throw badInput('value', 'is not a string', 'a string');
    const path = join(this.directory, keyToFileName(key));
    const temporary = join(this.directory, `${TEMP_PREFIX}${nodeCrypto().randomBytes(8).toString('hex')}`);
    try {
      await this.ensureDirectory();
      const file = openSync(temporary, 'wx', FILE_MODE);
      try {
        writeFileSync(file, value, 'utf8');
        await fsync(file);
      } finally {
        closeSync(file);
      }
      renameSync(temporary, path);
      await this.syncDirectory();
    } catch (error) {
      try {
        unlinkSync(temporary);
      } catch {
        // Never created, or renamed already: nothing to remove.
      }
      throw storageFailed('save', key, this.directory, error);
    }
  }

  async delete(key: string): Promise<void> {
    const path = join(this.directory, keyToFileName(key));
    try {
      unlinkSync(path);
      await this.syncDirectory();
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return;
      throw storageFailed('delete', key, this.directory, error);
    }
  }

  private removeStaleTemporaries(): void {
    const now = Date.now();
    for (const name of readdirSync(this.directory)) {
      if (!name.startsWith(TEMP_PREFIX)) continue;
      const path = join(this.directory, name);
      try {
        if (now - statSync(path).mtimeMs > STALE_TEMPORARY_MS) unlinkSync(path);
      } catch {
        // Renamed or removed by its own process meanwhile: nothing left to remove.
      }
    }
  }

  /** Makes a rename or unlink durable. Windows cannot open directories; there it is skipped. */
  private async syncDirectory(): Promise<void> {
    if (process.platform === 'win32') return;
    const directory = openSync(this.directory, 'r');
    try {
      await fsync(directory);
    } finally {
      closeSync(directory);
    }
  }
}

/** The Vault and Memory of one home directory. */
export function openHomeStores(home: string): { vault: Vault; memory: Memory } {
  return { vault: new FileKeyValueStore(join(home, 'secrets')), memory: new FileKeyValueStore(join(home, 'state')) };
}
