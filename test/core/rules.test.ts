// Per-peer rules and the hourly budgets (core/rules.ts, core/vocabulary.ts, trust.ts setPeerRule):
// the rule kept with the pinned peer and through a re-pairing, the budgets counted in a sliding
// hour on an injected clock, at and past each limit, shared by two "processes" (two Mailbox
// objects over one store and one MailLock) without double-spending the last unit.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isPairError } from '../../src/core/errors.js';
import { type Card, cardFingerprint, createCard } from '../../src/core/identity.js';
import { Mailbox } from '../../src/core/mailbox.js';
import type { Clock, KeyValueStore, MailLock } from '../../src/core/ports.js';
import { MemoryKeyValueStore } from '../../src/core/routedStore.js';
import { BUDGET_WINDOW_MS, PeerBudgets, decideHandover } from '../../src/core/rules.js';
import { type PeerToPin, getPeer, listPeers, peerRecordKey, pinPeer, setPeerRule, updatePeer } from '../../src/core/trust.js';
import {
  AGENT_SENDS_PER_PEER_PER_HOUR,
  AUTO_HANDOVERS_PER_PEER_PER_HOUR,
  DEFAULT_PEER_RULE,
  MAX_BUDGET_PER_HOUR,
  PEER_RULES,
  parseBudgetPerHour,
  parsePeerRule,
} from '../../src/core/vocabulary.js';

/** A clock a test moves by hand. */
class ManualClock implements Clock {
  constructor(public at = Date.UTC(2026, 10, 25, 10)) {}
  now(): number {
    return this.at;
  }
  sleep(): Promise<void> {
    return Promise.resolve();
  }
}

function makeCard(handle: string, seedByte: number): Card {
  return createCard(handle, new Uint8Array(32).fill(seedByte), '2026-11-25T00:00:00Z');
}

function makePeer(handle: string, seedByte: number): PeerToPin {
  const card = makeCard(handle, seedByte);
  return { fingerprint: cardFingerprint(card), handle, card, relayUrl: 'http://127.0.0.1:8771', slotId: 'ab'.repeat(16), pinnedAt: '2026-11-25T10:00:00Z' };
}

function makeDeps(clock = new ManualClock()) {
  return { vault: new MemoryKeyValueStore(), memory: new MemoryKeyValueStore(), clock };
}

describe('the rule words', () => {
  it('lists notify, agent and mute once, notify the default, and names them when a word is wrong', () => {
    assert.deepEqual([...PEER_RULES], ['notify', 'agent', 'mute']);
    assert.equal(DEFAULT_PEER_RULE, 'notify');
    assert.equal(parsePeerRule(' Agent '), 'agent');
    assert.throws(() => parsePeerRule('auto'), (error) => isPairError(error, 'bad_input') && /notify, agent, mute/.test(error.message) && /"auto"/.test(error.message));
    assert.throws(() => parsePeerRule(''), (error) => isPairError(error, 'bad_input'));
  });

  it('budgets: the defaults are 30 sends and 20 hand-overs; a typed budget is a whole number 0..max', () => {
    assert.equal(AGENT_SENDS_PER_PEER_PER_HOUR, 30);
    assert.equal(AUTO_HANDOVERS_PER_PEER_PER_HOUR, 20);
    assert.equal(parseBudgetPerHour('0', 'x'), 0);
    assert.equal(parseBudgetPerHour(` ${MAX_BUDGET_PER_HOUR} `, 'x'), MAX_BUDGET_PER_HOUR);
    for (const bad of [String(MAX_BUDGET_PER_HOUR + 1), '-1', '2.5', 'ten', '', '1e3']) {
      assert.throws(() => parseBudgetPerHour(bad, '--agent-sends-per-hour'), (error) => isPairError(error, 'bad_input') && error.message.startsWith('--agent-sends-per-hour'), bad);
    }
  });
});

describe('a pinned peer\'s rule', () => {
  it('is notify for a new peer and for a record written before rules existed', async () => {
    const deps = makeDeps();
    const peer = makePeer('bob', 2);
    await pinPeer(deps, peer, 'token');
    assert.equal((await getPeer(deps, peer.fingerprint))?.rule, 'notify');
    // An older record: no rule field at all.
    const stored = JSON.parse((await deps.memory.get(peerRecordKey(peer.fingerprint))) ?? '{}') as Record<string, unknown>;
    delete stored['rule'];
    await deps.memory.set(peerRecordKey(peer.fingerprint), JSON.stringify(stored));
    assert.equal((await getPeer(deps, peer.fingerprint))?.rule, 'notify');
  });

  it('is set by setPeerRule, kept by other updates and by pairing again', async () => {
    const deps = makeDeps();
    const peer = makePeer('bob', 2);
    await pinPeer(deps, peer, 'token');
    assert.equal((await setPeerRule(deps, peer.fingerprint.toUpperCase(), 'agent'))?.rule, 'agent');
    assert.equal((await getPeer(deps, peer.fingerprint))?.rule, 'agent');
    await updatePeer(deps, peer.fingerprint, { inbox: { relayUrl: 'http://127.0.0.1:9', slotId: 'cd'.repeat(16), sendToken: 't2' } });
    assert.equal((await getPeer(deps, peer.fingerprint))?.rule, 'agent');
    await pinPeer(deps, { ...peer, pinnedAt: '2026-11-26T10:00:00Z' }, 'token-again');
    assert.equal((await listPeers(deps))[0]?.rule, 'agent');
    await setPeerRule(deps, peer.fingerprint, 'mute');
    assert.equal((await getPeer(deps, peer.fingerprint))?.rule, 'mute');
  });

  it('refuses a wrong rule and an unknown peer, and a damaged rule fails the record loudly', async () => {
    const deps = makeDeps();
    const peer = makePeer('bob', 2);
    assert.equal(await setPeerRule(deps, peer.fingerprint, 'agent'), undefined);
    await pinPeer(deps, peer, 'token');
    await assert.rejects(setPeerRule(deps, peer.fingerprint, 'always' as never), (error) => isPairError(error, 'bad_input') && /notify, agent, mute/.test(error.message));
    assert.equal((await getPeer(deps, peer.fingerprint))?.rule, 'notify');
    const stored = JSON.parse((await deps.memory.get(peerRecordKey(peer.fingerprint))) ?? '{}') as Record<string, unknown>;
    await deps.memory.set(peerRecordKey(peer.fingerprint), JSON.stringify({ ...stored, rule: 'always' }));
    await assert.rejects(getPeer(deps, peer.fingerprint), (error) => isPairError(error, 'storage_failed'));
  });
});

describe('hourly budgets', () => {
  it('counts up to the limit, refuses past it without counting, and says when one frees', async () => {
    const deps = makeDeps();
    const budgets = new PeerBudgets(deps, new Mailbox(deps), { agentSends: 3 });
    const start = deps.clock.at;
    for (let use = 1; use <= 3; use++) {
      const { spent, state } = await budgets.spend('agentSends', 'aa'.repeat(8));
      assert.equal(spent, true);
      assert.equal(state.used, use);
      deps.clock.at += 60_000;
    }
    const over = await budgets.spend('agentSends', 'aa'.repeat(8));
    assert.equal(over.spent, false);
    assert.deepEqual(over.state, { kind: 'agentSends', peer: 'aa'.repeat(8), limit: 3, used: 3, within: false, freesAt: start + BUDGET_WINDOW_MS });
    assert.equal((await budgets.state('agentSends', 'aa'.repeat(8))).used, 3, 'a refused use is not counted');
    // Another peer and the other kind have budgets of their own.
    assert.equal((await budgets.spend('agentSends', 'bb'.repeat(8))).spent, true);
    assert.equal((await budgets.spend('autoHandovers', 'aa'.repeat(8))).spent, true);
    // The hour slides: one millisecond before the first use is an hour old it still counts, then it frees.
    deps.clock.at = start + BUDGET_WINDOW_MS - 1;
    assert.equal((await budgets.state('agentSends', 'aa'.repeat(8))).within, false);
    deps.clock.at = start + BUDGET_WINDOW_MS;
    const freed = await budgets.spend('agentSends', 'aa'.repeat(8));
    assert.equal(freed.spent, true);
    assert.equal(freed.state.used, 3);
  });

  it('uses the named defaults, and a limit of 0 never frees', async () => {
    const deps = makeDeps();
    const budgets = new PeerBudgets(deps, new Mailbox(deps));
    assert.deepEqual(budgets.limits, { agentSends: AGENT_SENDS_PER_PEER_PER_HOUR, autoHandovers: AUTO_HANDOVERS_PER_PEER_PER_HOUR });
    for (let use = 0; use < AUTO_HANDOVERS_PER_PEER_PER_HOUR; use++) assert.equal((await budgets.spend('autoHandovers', 'cc'.repeat(8))).spent, true);
    assert.equal((await budgets.spend('autoHandovers', 'cc'.repeat(8))).spent, false);
    const none = new PeerBudgets(deps, new Mailbox(deps), { agentSends: 0 });
    const refused = await none.spend('agentSends', 'cc'.repeat(8));
    assert.equal(refused.spent, false);
    assert.equal(refused.state.freesAt, undefined);
    assert.throws(() => new PeerBudgets(deps, new Mailbox(deps), { agentSends: -1 }), RangeError);
    assert.throws(() => new PeerBudgets(deps, new Mailbox(deps), { autoHandovers: MAX_BUDGET_PER_HOUR + 1 }), RangeError);
  });

  it('is one count for two processes of one identity: the last unit is spent once', async () => {
    const clock = new ManualClock();
    const memory = new MemoryKeyValueStore();
    // One lock file's worth of exclusion between two Mailbox objects (two processes).
    let held = false;
    const mailLock: MailLock = {
      tryLock: () => {
        if (held) return Promise.resolve(undefined);
        held = true;
        return Promise.resolve(() => {
          held = false;
          return Promise.resolve();
        });
      },
    };
    // Two processes do not share the in-process lock: each gets a store object of its own over the same values.
    const view = (): KeyValueStore => ({ get: (key) => memory.get(key), set: (key, value) => memory.set(key, value), delete: (key) => memory.delete(key) });
    const processes = [view(), view()].map((store) => new PeerBudgets({ memory: store, clock }, new Mailbox({ memory: store, clock, mailLock }), { autoHandovers: 5 }));
    const [first, second] = processes as [PeerBudgets, PeerBudgets];
    const answers = await Promise.all(Array.from({ length: 12 }, (_, index) => (index % 2 === 0 ? first : second).spend('autoHandovers', 'dd'.repeat(8))));
    assert.equal(answers.filter((answer) => answer.spent).length, 5);
    assert.equal((await processes[0]?.state('autoHandovers', 'dd'.repeat(8)))?.used, 5);
  });

  it('a damaged count is read for what it still says, never as a crash', async () => {
    const deps = makeDeps();
    const budgets = new PeerBudgets(deps, new Mailbox(deps), { agentSends: 2 });
    await deps.memory.set('mail.budget.agentSends.' + 'ee'.repeat(8), 'not json');
    assert.equal((await budgets.state('agentSends', 'ee'.repeat(8))).used, 0);
    await deps.memory.set('mail.budget.agentSends.' + 'ee'.repeat(8), JSON.stringify([deps.clock.at, 'x', null, deps.clock.at - 1]));
    assert.equal((await budgets.state('agentSends', 'ee'.repeat(8))).used, 2);
  });
});

describe('deciding a hand-over', () => {
  it('by the peer\'s rule as it is now, spending the hand-over budget only for agent', async () => {
    const deps = makeDeps();
    const budgets = new PeerBudgets(deps, new Mailbox(deps), { autoHandovers: 2 });
    const peer = makePeer('bob', 2);
    await pinPeer(deps, peer, 'token');
    assert.deepEqual(await decideHandover(deps, budgets, peer.fingerprint), { kind: 'notify' });
    await setPeerRule(deps, peer.fingerprint, 'mute');
    assert.deepEqual(await decideHandover(deps, budgets, peer.fingerprint), { kind: 'mute' });
    assert.equal((await budgets.state('autoHandovers', peer.fingerprint)).used, 0);
    await setPeerRule(deps, peer.fingerprint, 'agent');
    assert.deepEqual(await decideHandover(deps, budgets, peer.fingerprint), { kind: 'agent' });
    assert.deepEqual(await decideHandover(deps, budgets, peer.fingerprint), { kind: 'agent' });
    const over = await decideHandover(deps, budgets, peer.fingerprint);
    assert.ok(over.kind === 'overBudget');
    assert.equal(over.state.used, 2);
    assert.deepEqual(await decideHandover(deps, budgets, makePeer('carol', 3).fingerprint), { kind: 'unknownPeer' });
  });
});
