// The MailLock (core/ports.ts) of one mailbox: a pid file next to it, made with O_EXCL, that
// every process of the identity (CLI commands, `agent-pair mcp`, VS Code windows) takes around
// each mailbox write and each pull. A process that died holding it (killed mid-pull) leaves a
// file naming a pid that no longer runs, which the next taker removes. Waiting between tries
// is the core's (mailbox.ts); this only tries.

import { join } from 'node:path';
import type { MailLock } from '../core/ports.js';
import { claimPidFile, processAlive, releasePidFile } from './pidFile.js';

/** The lock file of the CLI's and MCP server's mailbox, in their home next to `state/`. */
export const HOME_MAIL_LOCK_FILE = 'mail.lock';

/** Paths this process holds now: a file naming our own pid is then busy, not stale. */
const heldHere = new Set<string>();

export function fileMailLock(path: string, options: { pid?: number; alive?: (pid: number) => boolean } = {}): MailLock {
  const pid = options.pid ?? process.pid;
  const alive = options.alive ?? processAlive;
  return {
    tryLock: () => {
      if (heldHere.has(path) || !claimPidFile(path, { pid, alive, ownFileIsOurs: true })) return Promise.resolve(undefined);
      heldHere.add(path);
      return Promise.resolve(() => {
        heldHere.delete(path);
        releasePidFile(path, pid);
        return Promise.resolve();
      });
    },
  };
}

/** The mailbox lock of a CLI home (`--home`, shared with `agent-pair mcp` on that home). */
export function homeMailLock(home: string): MailLock {
  return fileMailLock(join(home, HOME_MAIL_LOCK_FILE));
}
