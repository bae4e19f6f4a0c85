// A hostile paired peer against the extension, activated in plain Node over the stand-in
// `vscode` module and a real relay on port 0: the window's pull survives data nested 10,000
// deep, notifications show a peer's control characters escaped, a move to another relay asks
// the person (Accept/Refuse) and changes nothing until they answer, and the conversation panel
// shows a peer's bidi controls and invisible characters escaped, and marks a send the relay
// refused for now as queued and cancels it.

import '../helpers/nativeCurves.js';
import assert from 'node:assert/strict';
import { register } from 'node:module';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ExtensionContext } from 'vscode';
import { type RunningRelay, startRelay } from '../../src/relay/node.js';
import { COMMANDS, CONVERSATION_VIEW_TYPE, PEERS_VIEW_ID } from '../../src/vscode/ids.js';
import { pairSides } from '../helpers/pairing.js';
import { type Side, makeSide } from '../helpers/sides.js';
import { deepDataBody, postRaw, rawMessage } from '../helpers/hostile.js';
import { until } from '../helpers/until.js';
import { fake, fakeContext } from './fakeVscode.js';
import { conversationViews, windowOpened, windowStorageOf } from './windowFixtures.js';

const standIn = new URL('./fakeVscode.ts', import.meta.url).href;
register(`data:text/javascript,${encodeURIComponent(`export async function resolve(specifier, context, next) { return specifier === 'vscode' ? { url: ${JSON.stringify(standIn)}, shortCircuit: true } : next(specifier, context); }`)}`);
const extension = await import('../../src/vscode/extension.js');

type Context = ReturnType<typeof fakeContext>;
const quiet = { log: () => undefined, limits: { opensPerIpPerMinute: 10_000 } };


describe('the extension against a hostile paired peer', () => {
  let relay: RunningRelay;
  let context: Context | undefined;
  let home: string | undefined;

  before(async () => {
    relay = await startRelay(quiet);
  });
  after(async () => {
    await relay.close();
    delete process.env['AGENT_PAIR_HOME'];
  });

  async function activate(side: Side, relayUrl: string): Promise<void> {
    fake.reset();
    fake.settings.set('agentPair.relayUrl', relayUrl);
    home = await mkdtemp(join(tmpdir(), 'agent-pair-home-'));
    process.env['AGENT_PAIR_HOME'] = home;
    context = fakeContext(windowStorageOf(side));
    extension.activate(context as unknown as ExtensionContext);
    await windowOpened();
    await sleep(50);
  }

  afterEach(async () => {
    for (const disposable of context?.subscriptions.splice(0) ?? []) disposable.dispose();
    await extension.deactivate();
    if (home) await rm(home, { recursive: true, force: true });
  });

  it('the pull survives data nested 10,000 deep; escapes are shown escaped; a move to another relay waits for Accept', async () => {
    const alice = await makeSide(relay.url, 'alice');
    const bob = await makeSide(relay.url, 'bob');
    await pairSides(alice, bob, relay.url);
    await postRaw(bob.deps, alice.fingerprint, await rawMessage(bob.deps, alice.fingerprint, deepDataBody(10_000), { n: 1 }));
    await postRaw(bob.deps, alice.fingerprint, await rawMessage(bob.deps, alice.fingerprint, JSON.stringify({ type: 'text', text: 'hi \u001b]0;owned\u0007 \u202eevil' }), { n: 2 }));
    let answerMove = false;
    await activate(alice, relay.url);
    fake.answerMessage = (message) => (answerMove && message.items.includes('Accept') ? 'Accept' : undefined);

    const notice = await until('the message notification', () => fake.messages.find((message) => message.text.startsWith('Agent Pair: bob wrote:')));
    assert.equal(notice.text, 'Agent Pair: bob wrote: “hi \\x1b)0;owned\\x07 \\u202eevil”');
    assert.match(fake.outputChannels.flatMap((channel) => channel.lines).join('\n'), /dropped message seq 1 .*bad_message/);

    answerMove = true;
    await postRaw(bob.deps, alice.fingerprint, await rawMessage(bob.deps, alice.fingerprint, JSON.stringify({ type: 'inbox', relay_url: 'https://relay.example.net', slot_id: 'e'.repeat(32), send_token: 'f'.repeat(64) }), { n: 3 }));
    const ask = await until('the move question', () => fake.messages.find((message) => message.text.includes('asks you to send to them on another relay')));
    assert.deepEqual(ask.items, ['Accept', 'Refuse']);
    assert.match(ask.text, /https:\/\/relay\.example\.net/);
    const tree = fake.treeViews.get(PEERS_VIEW_ID);
    assert.ok(tree);
    await until('the accepted move in the Peers view', async () => {
      await fake.commands.get(COMMANDS.refreshPeers)?.();
      const [row] = await tree.items();
      return (row?.tooltip as { value: string } | undefined)?.value.includes('Inbox on `https://relay.example.net`');
    });
  });

  it('the conversation panel shows a peer\'s bidi controls, invisible characters and line separators escaped, in text, data and a body type', async () => {
    const alice = await makeSide(relay.url, 'alice');
    const bob = await makeSide(relay.url, 'bob');
    await pairSides(alice, bob, relay.url);
    const hidden = 'pay \u202eevil\u202c to\u200b\u{e0041}x\u2028next';
    await postRaw(bob.deps, alice.fingerprint, await rawMessage(bob.deps, alice.fingerprint, JSON.stringify({ type: 'text', text: `${hidden}\n\tsecond line` }), { n: 1 }));
    await postRaw(bob.deps, alice.fingerprint, await rawMessage(bob.deps, alice.fingerprint, JSON.stringify({ type: 'data', data: { note: hidden } }), { n: 2 }));
    await postRaw(bob.deps, alice.fingerprint, await rawMessage(bob.deps, alice.fingerprint, JSON.stringify({ type: 'x\u2066y' }), { n: 3 }));
    await activate(alice, relay.url);
    await fake.commands.get(COMMANDS.openConversation)?.({ fingerprint: bob.fingerprint, handle: 'bob' });
    const panel = fake.panels.find((candidate) => candidate.viewType === CONVERSATION_VIEW_TYPE);
    assert.ok(panel);
    panel.send({ type: 'ready' });
    const { entries } = await until('the three messages in the panel', () => conversationViews(panel).find((view) => view.entries.length === 3));
    const shown = 'pay \\u202eevil\\u202c to\\u{200b}\\u{e0041}x\\u2028next';
    assert.deepEqual(
      entries.map((entry) => entry.text),
      [`${shown}\n\tsecond line`, `{\n  "note": "${shown}"\n}`, 'A message of a type this version cannot show ("x\\u2066y").'],
      'the same escapes as the CLI and the notifications; newlines and tabs of a text stay',
    );
  });

  it('the conversation panel marks a send the relay refused for now as queued, and cancels it', async () => {
    const small = await startRelay({ ...quiet, limits: { ...quiet.limits, maxInboxMessages: 1 } });
    try {
      const alice = await makeSide(small.url, 'alice');
      const bob = await makeSide(small.url, 'bob');
      await pairSides(alice, bob, small.url);
      await activate(alice, small.url);
      await fake.commands.get(COMMANDS.openConversation)?.({ fingerprint: bob.fingerprint, handle: 'bob' });
      const panel = fake.panels.find((candidate) => candidate.viewType === CONVERSATION_VIEW_TYPE);
      assert.ok(panel);
      panel.send({ type: 'ready' });
      panel.send({ type: 'send', text: 'fills the inbox' });
      // Sent, and the panel no longer sending: a view can show the message sent before its send
      // returned, and a send meanwhile is ignored (the page disables its input while `sending`).
      await until('the first message sent', () => conversationViews(panel).find((view) => !view.sending && view.entries.some((entry) => entry.state === 'sent')));
      panel.send({ type: 'send', text: 'waits' });
      const queued = await until('the queued message', () => conversationViews(panel).flatMap((view) => view.entries).find((entry) => entry.state === 'queued'));
      assert.equal(queued.text, 'waits');
      panel.send({ type: 'cancel', id: queued.id });
      await until('the cancelled message', () => conversationViews(panel).find((view) => view.entries.some((entry) => entry.id === queued.id && entry.state === 'cancelled')));
    } finally {
      await small.close();
    }
  });
});
