// A home someone else can write is not this person's (issue 17 item 9): whoever can write there
// can swap the identity key, the pinned peers or a send token. As ssh does for ~/.ssh, the home,
// its stores, its run directory (the confirm channel's socket), every secret file and every
// state file that holds peers, keys, grants or sessions must belong to the user and be writable
// by no one else (secret files readable by no one else either); otherwise the command stops with
// one line naming the fix. A home that does not exist yet is made private when first written.

import { readdirSync, statSync, type Stats } from 'node:fs';
import { join, resolve } from 'node:path';
import { PairError } from '../core/errors.js';

/** Group and others may not write the home or its stores. */
const NO_FOREIGN_WRITE = 0o022;
/** Group and others may neither read nor write a secret file. */
const SECRET_PRIVATE = 0o077;
/**
 * State files the mailbox keeps one per message or per accepted id (tens of thousands in a busy
 * home, so not stat'ed on every command): message text and dedup memory, no peer, key or grant.
 */
const PER_MESSAGE_STATE_FILES = /^mail\.(?:msg|seen|seenlog|out)\./;

function statIfThere(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch (error) {
    if (error instanceof Error && 'code' in error && error.code === 'ENOENT') return undefined;
    throw error;
  }
}

function refuse(path: string, problem: string, fix: string): PairError {
  return new PairError('storage_failed', `Refusing the Agent Pair home: ${path} ${problem}, so someone else could change your keys or peers. Fix: ${fix}`);
}

/** Throws a PairError (storage_failed) naming the fix if the home at `home` is not the user's alone. */
export function checkHomeIsPrivate(home: string): void {
  if (process.platform === 'win32' || typeof process.getuid !== 'function') return;
  const uid = process.getuid();
  const root = resolve(home);
  const check = (path: string, stats: Stats, privateMask: number, fixMode: string): void => {
    if (stats.uid !== uid) throw refuse(path, `belongs to user id ${stats.uid}, not to you (${uid})`, `use a home of your own (--home DIR, or AGENT_PAIR_HOME), or chown -R ${uid} ${root}`);
    if ((stats.mode & privateMask) !== 0) throw refuse(path, `has mode ${(stats.mode & 0o777).toString(8).padStart(4, '0')}`, `chmod ${fixMode} ${path}`);
  };
  for (const directory of [root, join(root, 'state'), join(root, 'secrets'), join(root, 'run')]) {
    const stats = statIfThere(directory);
    if (stats) check(directory, stats, NO_FOREIGN_WRITE, 'go-w');
  }
  const checkFiles = (directory: string, privateMask: number, fixMode: string, skip?: RegExp): void => {
    if (!statIfThere(directory)) return;
    for (const name of readdirSync(directory)) {
      if (skip?.test(name)) continue;
      const path = join(directory, name);
      const stats = statIfThere(path);
      if (stats?.isFile()) check(path, stats, privateMask, fixMode);
    }
  };
  checkFiles(join(root, 'secrets'), SECRET_PRIVATE, '600');
  checkFiles(join(root, 'state'), NO_FOREIGN_WRITE, 'go-w', PER_MESSAGE_STATE_FILES);
}
