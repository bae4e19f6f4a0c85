// The one-writer lock of the pairings persisted in a CLI home: a pid file per session
// (`<home>/run/session-<id>.lock`, O_EXCL, see pidFile.ts) that the process running the session
// holds. Every `agent-pair mcp` server takes it for each session it opens or restores, and
// `agent-pair confirm` takes it when no server runs the session, to run it itself. So a pairing
// has one writer at a time whichever process starts first, and a process that died holding it
// (a per-call server killed by its client) leaves a file naming a pid that no longer runs, which
// the next taker removes.

import { nodeCrypto } from './lazyCrypto.js';
import { join } from 'node:path';
import { claimPidFile, processAlive, readPidFile, releasePidFile } from './pidFile.js';
import { runDirectory } from './confirmChannel.js';

export function sessionWriterPath(home: string, sessionId: string): string {
  return join(runDirectory(home), `session-${sessionId}.lock`);
}

/** The writer locks this process holds in one home. */
export class SessionWriters {
  private readonly held = new Set<string>();

  constructor(
    private readonly home: string,
    private readonly pid = process.pid,
  ) {}

  /**
   * Takes the session's lock (true), or says another live process holds it (false). A file
   * naming this pid that `held` does not know is a leftover of an earlier process with that pid.
   */
  claim(sessionId: string): boolean {
    if (this.held.has(sessionId)) return true;
    if (!claimPidFile(sessionWriterPath(this.home, sessionId), { pid: this.pid, alive: processAlive, ownFileIsOurs: true })) return false;
    this.held.add(sessionId);
    return true;
  }

  /** The live process holding a session's lock, if one other than this one does. */
  holder(sessionId: string): number | undefined {
    const pid = readPidFile(sessionWriterPath(this.home, sessionId));
    return pid !== undefined && pid !== this.pid && processAlive(pid) ? pid : undefined;
  }

  releaseAll(): void {
    for (const sessionId of this.held) releasePidFile(sessionWriterPath(this.home, sessionId), this.pid);
    this.held.clear();
  }
}

/**
 * The mark a CLI `host` keeps in its home while it hosts a nameplate on a relay, so that a `join`
 * of that very pairing from the same home (which would pin its own key) is refused before any
 * key exchange, not after both people typed the SAS.
 */
export function hostingMarkPath(home: string, relayUrl: string, nameplate: string): string {
  const relay = nodeCrypto().createHash('sha256').update(relayUrl).digest('hex').slice(0, 16);
  return join(runDirectory(home), `hosting-${relay}-${nameplate}.pid`);
}

/** Marks this process as the host of `nameplate` on `relayUrl` in `home`; returns the unmark. */
export function markHosting(home: string, relayUrl: string, nameplate: string): () => void {
  const path = hostingMarkPath(home, relayUrl, nameplate);
  if (!claimPidFile(path, { pid: process.pid, alive: processAlive, ownFileIsOurs: true })) return () => undefined;
  return () => {
    releasePidFile(path, process.pid);
  };
}

/** The live process of `home` hosting `nameplate` on `relayUrl`, if any. */
export function hostOf(home: string, relayUrl: string, nameplate: string): number | undefined {
  const pid = readPidFile(hostingMarkPath(home, relayUrl, nameplate));
  return pid !== undefined && processAlive(pid) ? pid : undefined;
}
