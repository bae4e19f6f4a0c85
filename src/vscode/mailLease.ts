// Which window pulls an identity's messages. Every window of one VS Code profile shares the
// identity, the peers and the mailbox, so every window shows the same mail; one window pulls
// (the mailbox lock would keep two pullers from storing a message twice, but two would read the
// relay twice for nothing) and holds a lease for it: a pid file in the Agent Pair home, named
// after the identity's fingerprint (a profile has its own identity, so its own lease), holding
// the pid of that window's extension host. When that process is gone (the window closed,
// reloaded or crashed) the next window that tries takes the lease over.
//
// Nothing here imports `vscode`: the home is a path, so the rule is tested with plain files.

import { join } from 'node:path';
import { claimPidFile, processAlive, releasePidFile } from '../node/pidFile.js';

export const MAIL_LEASE_PREFIX = 'vscode-mail-';

export function mailLeaseFile(home: string, fingerprint: string): string {
  return join(home, `${MAIL_LEASE_PREFIX}${fingerprint}.pid`);
}

export interface MailLease {
  /** Gives the lease up (deletes the file if it still names this process). */
  release(): void;
}

/**
 * Takes the lease for `fingerprint`, or resolves undefined while another live process holds it.
 * A lease this process already holds (the extension activated again in the same extension
 * host) is taken again; one whose process is gone is taken over. (Two windows taking over one
 * stale lease in the same instant could both win; the mailbox lock still stores each message once.)
 */
export function takeMailLease(home: string, fingerprint: string, options: { pid?: number; alive?: (pid: number) => boolean } = {}): MailLease | undefined {
  const pid = options.pid ?? process.pid;
  const path = mailLeaseFile(home, fingerprint);
  if (!claimPidFile(path, { pid, alive: options.alive ?? processAlive, ownFileIsOurs: true })) return undefined;
  return { release: () => { releasePidFile(path, pid); } };
}
