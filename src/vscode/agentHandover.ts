// Messages from a peer whose rule is `agent` go to the agent on their own (issue 19). In the
// pulling window (so once, whatever the number of windows) each burst from such a peer opens
// Chat in agent mode with the messages quoted as data from that peer (messageWords.agentQuery,
// the words "Ask the agent" uses) and submits it; the messages are then handled, so the peer
// sees them delivered, as after inbox_ack. The person stays in charge:
// - the first hand-over for a peer asks them once (modal). Yes is remembered for this pinning
//   of the peer, as long as its rule stays `agent`; "Notify Me Instead" sets the rule back to
//   notify; a dismissed question notifies this burst and asks again next time;
// - each message spends one of the peer's hand-overs for the hour (core/rules.ts, the limit is
//   agentPair.agents.handoversPerPeerPerHour); once the person said yes, the pull decides and
//   spends it as it stores the message (wantsHandover), the first burst's are spent here. Past it nothing goes to the agent: the messages
//   stay unread and the person is asked, Continue (these go to the agent) or Switch to notify;
// - if Chat cannot be opened (a VS Code without chat), the person is notified instead.

import * as vscode from 'vscode';
import { errorMessage } from '../core/errors.js';
import type { PeerRef } from '../core/inbox.js';
import type { MailRecord } from '../core/mailbox.js';
import type { Handover } from '../core/rules.js';
import type { PinnedPeer } from '../core/trust.js';
import type { PeerRule } from '../core/vocabulary.js';
import { openChat } from './chat.js';
import { agentQuery } from './messageWords.js';

export const HAND_OVER_ACTION = 'Hand Over';
export const NOTIFY_INSTEAD_ACTION = 'Notify Me Instead';
export const CONTINUE_ACTION = 'Continue';
export const SWITCH_TO_NOTIFY_ACTION = 'Switch to notify';

/** Where the person's yes to a peer's first hand-over is kept (global state: the person's, every window's). */
export const HANDOVER_CONSENT_KEY = 'agentPair.handoverConsent';

/** What the hand-over needs of the window's messaging. */
export interface HandoverMessaging {
  decideHandover(fingerprint: string): Promise<Handover>;
  markHandled(refs: { peer: string; id: string }[]): Promise<void>;
  setRule(fingerprint: string, rule: PeerRule): Promise<PinnedPeer | undefined>;
}

export interface AgentHandoverOptions {
  messaging: HandoverMessaging;
  /** The person's answers to first hand-overs: `fingerprint → pinnedAt` of the pinning they said yes for. */
  consent: vscode.Memento;
  /** Tells the person of messages that did not go to the agent, as a `notify` peer's would be. */
  notify: (peer: PeerRef, records: MailRecord[]) => void;
  log: { info(line: string): void; warn(line: string): void };
}

type FirstAnswer = 'yes' | 'no' | 'dismissed';

export class AgentHandover {
  /** The first-hand-over question showing now, per peer: a second burst waits for the same answer. */
  private readonly asking = new Map<string, Promise<FirstAnswer>>();
  /** Messages held over the budget while the person is asked, per peer: one question at a time. */
  private readonly held = new Map<string, { peer: PinnedPeer; records: MailRecord[] }>();

  constructor(private readonly options: AgentHandoverOptions) {}

  /**
   * Whether a message from `peer` goes to the agent without asking first (the person said yes for
   * this pinning): then the pull decides its hand-over as it stores it (WindowMessaging).
   */
  wantsHandover(peer: PinnedPeer): boolean {
    return this.consents()[peer.fingerprint] === peer.pinnedAt;
  }

  /**
   * Hands a burst of messages from an `agent`-rule peer to the agent, within the person's answers
   * and the budget. `decided`: hand-overs the pull decided (and spent) as it stored them, by id.
   */
  async handOver(peer: PinnedPeer, records: MailRecord[], decided: ReadonlyMap<string, Handover> = new Map()): Promise<void> {
    const answer = await this.firstAnswer(peer);
    if (answer !== 'yes') {
      this.options.notify(peer, records);
      return;
    }
    const toAgent: MailRecord[] = [];
    const toPerson: MailRecord[] = [];
    const overBudget: MailRecord[] = [];
    let limit = 0;
    for (const record of records) {
      // Decided as it was stored, or else now, per message: the person may have changed the rule
      // (or just said yes), and each message spends the budget once.
      const carried = decided.get(record.id);
      const decision = carried?.kind === 'agent' || carried?.kind === 'overBudget' ? carried : await this.options.messaging.decideHandover(peer.fingerprint);
      if (decision.kind === 'agent') toAgent.push(record);
      else if (decision.kind === 'notify') toPerson.push(record);
      else if (decision.kind === 'overBudget') {
        overBudget.push(record);
        limit = decision.state.limit;
      }
    }
    if (toAgent.length > 0) await this.toChat(peer, toAgent);
    if (toPerson.length > 0) this.options.notify(peer, toPerson);
    if (overBudget.length > 0) this.askOverBudget(peer, overBudget, limit);
  }

  /** The person's yes no longer holds (the rule changed, or the peer was forgotten). */
  async forgetConsent(fingerprint: string): Promise<void> {
    const kept = Object.entries(this.consents()).filter(([peer]) => peer !== fingerprint);
    await this.options.consent.update(HANDOVER_CONSENT_KEY, Object.fromEntries(kept));
  }

  private consents(): Record<string, string> {
    const stored = this.options.consent.get<unknown>(HANDOVER_CONSENT_KEY);
    if (typeof stored !== 'object' || stored === null || Array.isArray(stored)) return {};
    return Object.fromEntries(Object.entries(stored).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
  }

  private firstAnswer(peer: PinnedPeer): Promise<FirstAnswer> {
    // A yes holds for the pinning it was given for: a peer forgotten and paired anew asks again.
    if (this.consents()[peer.fingerprint] === peer.pinnedAt) return Promise.resolve('yes');
    let asking = this.asking.get(peer.fingerprint);
    if (!asking) {
      asking = this.askFirst(peer).finally(() => this.asking.delete(peer.fingerprint));
      this.asking.set(peer.fingerprint, asking);
    }
    return asking;
  }

  private async askFirst(peer: PinnedPeer): Promise<FirstAnswer> {
    const detail =
      `Each new message from ${peer.handle} (fingerprint ${peer.fingerprint}) would open Chat in agent mode and be sent to the agent on its own, quoted as data from ${peer.handle}, not as your instruction. ` +
      'Past the hourly limit you are asked again. You can change this on their row in the Peers view (Messages) or in the conversation.';
    const action = await vscode.window.showInformationMessage(`Hand messages from ${peer.handle} to the agent on its own?`, { modal: true, detail }, HAND_OVER_ACTION, NOTIFY_INSTEAD_ACTION);
    if (action === HAND_OVER_ACTION) {
      await this.options.consent.update(HANDOVER_CONSENT_KEY, { ...this.consents(), [peer.fingerprint]: peer.pinnedAt });
      return 'yes';
    }
    if (action === NOTIFY_INSTEAD_ACTION) {
      await this.options.messaging.setRule(peer.fingerprint, 'notify');
      return 'no';
    }
    return 'dismissed';
  }

  private async toChat(peer: PinnedPeer, records: MailRecord[]): Promise<void> {
    try {
      await openChat(agentQuery(peer, records, 'handover'), 'handover');
    } catch (error) {
      this.options.log.warn(`Messages: Chat could not be opened for ${peer.handle}'s messages (${errorMessage(error)}); you are notified instead.`);
      this.options.notify(peer, records);
      return;
    }
    await this.options.messaging.markHandled(records.map((record) => ({ peer: record.peer, id: record.id })));
    this.options.log.info(`Messages: handed ${records.length} message${records.length === 1 ? '' : 's'} from ${peer.handle} to the agent in Chat.`);
  }

  /** Past the budget: the messages wait unread and the person decides, once per peer at a time. */
  private askOverBudget(peer: PinnedPeer, records: MailRecord[], limit: number): void {
    const waiting = this.held.get(peer.fingerprint);
    if (waiting) {
      waiting.records.push(...records);
      return;
    }
    const held = { peer, records: [...records] };
    this.held.set(peer.fingerprint, held);
    const text = `Agent Pair: ${peer.handle} sent more messages than the ${limit} an hour that go to the agent on their own. Hand these to the agent too, or be notified of their messages from now on?`;
    void vscode.window.showWarningMessage(text, CONTINUE_ACTION, SWITCH_TO_NOTIFY_ACTION).then(async (action) => {
      this.held.delete(peer.fingerprint);
      try {
        if (action === CONTINUE_ACTION) await this.toChat(peer, held.records);
        if (action === SWITCH_TO_NOTIFY_ACTION) {
          await this.options.messaging.setRule(peer.fingerprint, 'notify');
          await this.forgetConsent(peer.fingerprint);
          this.options.notify(peer, held.records);
        }
        // Dismissed: they stay unread, in the conversation and the unread count.
      } catch (error) {
        this.options.log.warn(`Messages: ${peer.handle}'s messages over the limit: ${errorMessage(error)}`);
      }
    });
  }
}
