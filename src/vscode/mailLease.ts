// Which window pulls an identity's messages. Every window of one VS Code profile shares the
// identity, the peers and the mailbox (global state), so every window shows the same mail; but
// if two windows pulled the same inbox at once, both would read one envelope before either had
// recorded its id (global state reaches other windows a moment later), and the person would
// see it twice. So one window pulls, and holds a lease for it: a file in the Agent Pair home,
// named after the identity's fingerprint (a profile has its own identity, so its own lease),
// holding the pid of that window's extension host. When that process is gone (the window
// closed, reloaded or crashed) the next window that tries takes the lease over.
//
// Nothing here imports `vscode`: the home is a path, so the rule is tested with plain files.

import { closeSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export const MAIL_LEASE_PREFIX = 'vscode-mail-';

export function mailLeaseFile(home: string, fingerprint: string): string {
  return join(home, `${MAIL_LEASE_PREFIX}${fingerprint}.pid`);
}

export interface MailLease {
  /** Gives the lease up (deletes the file if it still names this process). */
  release(): void;
}

/** True while a process with this pid runs (EPERM: it runs under another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** How long a lease file may stay without a pid before it counts as abandoned. */
export const LEASE_WRITE_GRACE_MS = 5_000;

function ageMs(path: string): number {
  try {
    return Date.now() - statSync(path).mtimeMs;
  } catch {
    return Infinity;
  }
}

function readHolder(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Takes the lease for `fingerprint`, or resolves undefined while another live process holds it.
 * A lease this process already holds (the extension activated again in the same extension
 * host) is taken again; one whose process is gone is taken over. (Two windows taking over one
 * stale lease in the same instant could both win; the mailbox's id dedup then still holds,
 * within global state's propagation delay.)
 */
export function takeMailLease(home: string, fingerprint: string, options: { pid?: number; alive?: (pid: number) => boolean } = {}): MailLease | undefined {
  const pid = options.pid ?? process.pid;
  const alive = options.alive ?? processAlive;
  const path = mailLeaseFile(home, fingerprint);
  const lease: MailLease = {
    release: () => {
      if (readHolder(path) !== pid) return;
      try {
        unlinkSync(path);
      } catch {
        // already gone
      }
    },
  };
  mkdirSync(home, { recursive: true, mode: 0o700 });
  // Two tries: the second follows the removal of a stale lease.
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      try {
        writeSync(fd, `${pid}\n`);
      } finally {
        closeSync(fd);
      }
      return lease;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = readHolder(path);
    if (holder === pid) return lease;
    if (holder !== undefined && alive(holder)) return undefined;
    // An empty file this young is another window between creating it and writing its pid.
    if (holder === undefined && ageMs(path) < LEASE_WRITE_GRACE_MS) return undefined;
    try {
      unlinkSync(path);
    } catch {
      // another window removed it first; the next try tells who won
    }
  }
  return undefined;
}
