// The join links this machine has already used. A code is good for one join, so opening the same
// link again can only fail at the relay, after asking the person's consent for nothing; it is
// answered at once with "you already used this code" instead. Kept in global state (this
// machine, every window) as salted hashes, never the code itself, and only until the link expires.

import { nodeCrypto } from '../node/lazyCrypto.js';
import type * as vscode from 'vscode';
import type { JoinLink } from './joinLink.js';

const STATE_KEY = 'agentPair.usedJoinLinks';
const HASH_TAG = 'agent-pair/v1 used-join-link\n';
/** A bound on what a flood of opened links can make this machine remember. */
export const MAX_REMEMBERED_JOIN_LINKS = 100;

interface Remembered {
  hash: string;
  expiresAt: number;
}

function linkHash(link: JoinLink): string {
  return nodeCrypto().createHash('sha256').update(`${HASH_TAG}${link.code}\n${String(link.expiresAt)}`).digest('hex');
}

export class UsedJoinLinks {
  constructor(
    private readonly state: vscode.Memento,
    private readonly now: () => number = Date.now,
  ) {}

  has(link: JoinLink): boolean {
    const hash = linkHash(link);
    return this.live().some((entry) => entry.hash === hash);
  }

  async remember(link: JoinLink): Promise<void> {
    const kept = this.live().slice(-(MAX_REMEMBERED_JOIN_LINKS - 1));
    await this.state.update(STATE_KEY, [...kept, { hash: linkHash(link), expiresAt: link.expiresAt }]);
  }

  /** The entries whose links have not expired yet; anything malformed is dropped. */
  private live(): Remembered[] {
    const stored = this.state.get<unknown>(STATE_KEY);
    if (!Array.isArray(stored)) return [];
    const now = this.now();
    return stored.filter((entry): entry is Remembered => {
      if (typeof entry !== 'object' || entry === null) return false;
      const { hash, expiresAt } = entry as Partial<Remembered>;
      return typeof hash === 'string' && typeof expiresAt === 'number' && expiresAt > now;
    });
  }
}
