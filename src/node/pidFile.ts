// A file that names the process holding something, created with O_EXCL so only one process can
// make it: VS Code's pull lease (vscode/mailLease.ts) and the mailbox lock (mailLock.ts) are
// both one of these. A file whose process is gone (closed, crashed) is taken over.

import { closeSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/** How long a pid file may stay empty (its maker between creating and writing it) before it counts as abandoned. */
export const PID_WRITE_GRACE_MS = 5_000;

/**
 * True while a process with this pid runs (EPERM: it runs under another user). One that has
 * exited but is not reaped yet (a zombie) does not run: it holds nothing, and where no init reaps
 * orphans (a container without one) a killed holder would stay a zombie, and its lock held, for good.
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return !isZombie(pid);
}

/** On Linux, whether /proc says the process is a zombie (its state, after its parenthesised name, is Z); elsewhere false. */
function isZombie(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  return stat.charAt(stat.lastIndexOf(')') + 2) === 'Z';
}

export interface PidFileOptions {
  pid: number;
  alive: (pid: number) => boolean;
  /**
   * Whether a file already naming `pid` counts as ours. A lease says yes (the same extension
   * host activating again); a lock says yes only when no one in this process holds it, since
   * then the file is a leftover of an earlier process that had the same pid.
   */
  ownFileIsOurs: boolean;
}

function ageMs(path: string): number {
  try {
    return Date.now() - statSync(path).mtimeMs;
  } catch {
    return Infinity;
  }
}

export function readPidFile(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Makes the pid file for `options.pid`, or takes over one whose process is gone; false while a live one holds it. */
export function claimPidFile(path: string, options: PidFileOptions): boolean {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  // Two tries: the second follows the removal of a stale file.
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      try {
        writeSync(fd, `${options.pid}\n`);
      } finally {
        closeSync(fd);
      }
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = readPidFile(path);
    if (holder === options.pid) return options.ownFileIsOurs;
    if (holder !== undefined && options.alive(holder)) return false;
    if (holder === undefined) {
      const age = ageMs(path);
      // Gone since the open: its holder released it. Try again, never unlink: by now another
      // process may have made a new one, and removing that would let two hold the lock at once.
      if (age === Infinity) continue;
      // An empty file this young is another process between creating it and writing its pid.
      if (age < PID_WRITE_GRACE_MS) return false;
    }
    try {
      unlinkSync(path);
    } catch {
      // another process removed it first; the next try tells who won
    }
  }
  return false;
}

/** Deletes the pid file if it still names `pid`. */
export function releasePidFile(path: string, pid: number): void {
  if (readPidFile(path) !== pid) return;
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}
