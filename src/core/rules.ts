// Per-peer rules and the budgets that stop agent loops (issue 19). The person sets each pinned
// peer's rule (trust.ts `setPeerRule`; the words are in vocabulary.ts); this module decides, for
// a message the receive runner accepted, whether it goes to the agent on its own, and counts
// what agents do without the person in a sliding hour:
//
//   autoHandovers  messages from one `agent`-rule peer handed to an agent on their own
//                  (AUTO_HANDOVERS_PER_PEER_PER_HOUR): a flooding peer stops there
//   agentSends     messages an agent sent to one peer without the person
//                  (AGENT_SENDS_PER_PEER_PER_HOUR): two agents answering each other stop there
//
// Past a budget nothing is counted and nothing is handed over: the adapter asks the person.
//
// Storage keys (Memory; under the `mail.` prefix so they live with the mailbox, in the home's
// files for the CLI and MCP and in the profile's files for VS Code):
//   `mail.budget.<kind>.<fp>`   [ms, ...]: when each counted use happened, oldest first, only
//                               those within the last hour
// Every count is a read-modify-write under the mailbox lock (Mailbox.exclusive), so the
// processes of one identity (an MCP server, `inbox --follow --exec`, VS Code windows) share one
// count per peer and never both spend its last unit. A receive runner given a hand-over policy
// (ReceiveRunner.setHandover) decides in the critical section that stores the message and
// carries the decision on its `message` event: the adapter hands it over without waiting for
// the mailbox again.

import type { HeldMailbox, Mailbox } from './mailbox.js';
import type { Clock, Memory } from './ports.js';
import { type PinnedPeer, type TrustDeps, getPeer } from './trust.js';
import { AGENT_SENDS_PER_PEER_PER_HOUR, AUTO_HANDOVERS_PER_PEER_PER_HOUR, MAX_BUDGET_PER_HOUR } from './vocabulary.js';

/** Budgets count over a sliding window of this length. */
export const BUDGET_WINDOW_MS = 60 * 60 * 1000;

export type BudgetKind = 'agentSends' | 'autoHandovers';
export const BUDGET_KINDS: readonly BudgetKind[] = ['agentSends', 'autoHandovers'];

/** Per peer per hour. */
export interface BudgetLimits {
  agentSends: number;
  autoHandovers: number;
}

export const DEFAULT_BUDGET_LIMITS: Readonly<BudgetLimits> = {
  agentSends: AGENT_SENDS_PER_PEER_PER_HOUR,
  autoHandovers: AUTO_HANDOVERS_PER_PEER_PER_HOUR,
};

/** One peer's budget of one kind, as of now. */
export interface BudgetState {
  kind: BudgetKind;
  peer: string;
  limit: number;
  /** Uses counted within the last hour. */
  used: number;
  /** True while another use fits (used < limit). */
  within: boolean;
  /** When over: the moment (ms) one use frees again; undefined with a limit of 0 (it never does). */
  freesAt?: number;
}

export interface BudgetDeps {
  memory: Memory;
  clock: Clock;
}

const budgetKey = (kind: BudgetKind, peer: string): string => `mail.budget.${kind}.${peer}`;

export class PeerBudgets {
  readonly limits: Readonly<BudgetLimits>;

  /** `mailbox` is the identity's: its lock (in this process and across processes) guards each count. */
  constructor(
    private readonly deps: BudgetDeps,
    private readonly mailbox: Pick<Mailbox, 'exclusive'>,
    limits: Partial<BudgetLimits> = {},
  ) {
    this.limits = { ...DEFAULT_BUDGET_LIMITS, ...limits };
    for (const kind of BUDGET_KINDS) {
      const limit = this.limits[kind];
      if (!Number.isInteger(limit) || limit < 0 || limit > MAX_BUDGET_PER_HOUR) throw new RangeError(`budget ${kind} must be a whole number from 0 to ${MAX_BUDGET_PER_HOUR}`);
    }
  }

  /** The budget as it stands, counting nothing. */
  async state(kind: BudgetKind, peer: string): Promise<BudgetState> {
    return this.stateOf(kind, peer, await this.recent(kind, peer));
  }

  /**
   * Counts one use if it fits: resolves the state after it (`within` true: go ahead), or the
   * state as it was with `within` false (nothing counted: ask the person). `held`: the caller
   * holds the mailbox already (a pull's critical section, see ReceiveRunner's hand-over), so the
   * count is made inside it instead of waiting for it.
   */
  async spend(kind: BudgetKind, peer: string, held?: HeldMailbox): Promise<{ spent: boolean; state: BudgetState }> {
    const count = async (): Promise<{ spent: boolean; state: BudgetState }> => {
      const uses = await this.recent(kind, peer);
      const before = this.stateOf(kind, peer, uses);
      if (!before.within) return { spent: false, state: before };
      uses.push(this.deps.clock.now());
      await this.deps.memory.set(budgetKey(kind, peer), JSON.stringify(uses));
      return { spent: true, state: this.stateOf(kind, peer, uses) };
    };
    return held ? count() : this.mailbox.exclusive(count);
  }

  /** Drops a peer's counts (it was forgotten). */
  async forget(peer: string): Promise<void> {
    await this.mailbox.exclusive(async () => {
      for (const kind of BUDGET_KINDS) await this.deps.memory.delete(budgetKey(kind, peer));
    });
  }

  private stateOf(kind: BudgetKind, peer: string, uses: number[]): BudgetState {
    const limit = this.limits[kind];
    const used = uses.length;
    if (used < limit) return { kind, peer, limit, used, within: true };
    // Down to limit - 1 uses once the (used - limit + 1) oldest have left the hour.
    const freeing = uses[used - limit];
    return { kind, peer, limit, used, within: false, ...(freeing !== undefined && { freesAt: freeing + BUDGET_WINDOW_MS }) };
  }

  /** The uses within the last hour, oldest first; a damaged list counts what it still says. */
  private async recent(kind: BudgetKind, peer: string): Promise<number[]> {
    const now = this.deps.clock.now();
    let stored: unknown;
    try {
      stored = JSON.parse((await this.deps.memory.get(budgetKey(kind, peer))) ?? '[]');
    } catch {
      stored = [];
    }
    if (!Array.isArray(stored)) return [];
    return stored
      .filter((at): at is number => typeof at === 'number' && Number.isFinite(at) && now - at < BUDGET_WINDOW_MS)
      .sort((a, b) => a - b)
      .slice(-MAX_BUDGET_PER_HOUR);
  }
}

/** What becomes of one accepted message, by its peer's rule and the hand-over budget. */
export type Handover =
  /** `agent` rule, within budget (one use counted): hand it to the agent, then mark it handled. */
  | { kind: 'agent' }
  /** `notify` rule: the person hears of it, as before rules existed. */
  | { kind: 'notify' }
  /** `mute` rule: stored and counted, no word to anyone. */
  | { kind: 'mute' }
  /** `agent` rule, budget spent: not handed over; it stays unread and the person is told. */
  | { kind: 'overBudget'; state: BudgetState }
  /** The peer is no longer pinned (forgotten while its message was stored). */
  | { kind: 'unknownPeer' };

/**
 * Decides the hand-over of a message from `fingerprint`, reading the peer's rule as it is now
 * (the person may just have changed it) and spending one auto-handover when it goes to the agent.
 */
export async function decideHandover(deps: TrustDeps, budgets: PeerBudgets, fingerprint: string): Promise<Handover> {
  const peer = await getPeer(deps, fingerprint);
  if (!peer) return { kind: 'unknownPeer' };
  return handoverOf(peer, budgets);
}

/**
 * The hand-over of a message from `peer` as read just now; `held`: inside the mailbox's critical
 * section that stored the message (the receive runner's, so the count is made there).
 */
export async function handoverOf(peer: Pick<PinnedPeer, 'fingerprint' | 'rule'>, budgets: PeerBudgets, held?: HeldMailbox): Promise<Handover> {
  if (peer.rule !== 'agent') return { kind: peer.rule };
  const { spent, state } = await budgets.spend('autoHandovers', peer.fingerprint, held);
  return spent ? { kind: 'agent' } : { kind: 'overBudget', state };
}
