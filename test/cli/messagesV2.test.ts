// Messages v2 (PROTOCOL.md section 7) through the built CLI, homes on disk, a real relay on
// port 0: a thief who copies a whole home after a message was read opens nothing of it; two
// processes of one home sending at once never spend one key twice; a peer that speaks only
// section 6 and a v2 peer both converse with a v2 CLI. The two senders are processes; the other
// commands run one at a time in worker threads (test/helpers/cli.ts).

import '../helpers/nativeCurves.js';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fromBase64, fromHex, toBase64, toHex, utf8 } from '../../src/core/bytes.js';
import { loadIdentity, loadSigningKey } from '../../src/core/identity.js';
import { listOwnInboxes } from '../../src/core/inboxes.js';
import { encodeMessage, newMessageId, openEnvelope, parseMessage, sealEnvelope, hpkeSuite, x25519SecretFromSeed } from '../../src/core/messages.js';
import { MESSAGE_V2_INFO, parseEnvelopeV2 } from '../../src/core/messagesV2.js';
import { getPeer, loadPeerSendToken } from '../../src/core/trust.js';
import { openHomeStores } from '../../src/node/fileStore.js';
import { systemClock, systemRandom } from '../../src/node/system.js';
import { ReceiveKeys } from '../../src/core/receiveKeys.js';
import { cliRelayConnector } from '../../src/cli/homeRelays.js';
import { type RunningRelay, startRelay } from '../../src/relay/node.js';
import { CLI, cli, cliProcess, pairHomes } from '../helpers/cli.js';
import { formatTimestamp } from '../../src/core/vocabulary.js';

let relay: RunningRelay;
let homes: string;
const relays = cliRelayConnector();

before(async () => {
  assert.ok(existsSync(CLI), 'dist/cli.cjs is missing: run `npm run build` first (npm test does)');
  relay = await startRelay({ host: '127.0.0.1', port: 0, log: () => undefined });
  homes = await mkdtemp(join(tmpdir(), 'agent-pair-v2-'));
});
after(async () => {
  await relay.close();
  await rm(homes, { recursive: true, force: true });
});

async function pairedHomes(name: string): Promise<{ aliceHome: string; bobHome: string; aliceFingerprint: string; bobFingerprint: string }> {
  const aliceHome = join(homes, `${name}-alice`);
  const bobHome = join(homes, `${name}-bob`);
  return { aliceHome, bobHome, ...(await pairHomes(relay.url, aliceHome, bobHome)) };
}

/** The envelopes waiting in a home's own inbox, read with its owner token and left there. */
async function waitingEnvelopes(home: string): Promise<string[]> {
  const [inbox] = await listOwnInboxes(openHomeStores(home));
  assert.ok(inbox);
  return (await relays(inbox.relayUrl).readMessages(inbox.slotId, inbox.ownerToken, { after: 0 })).messages.map((message) => message.value);
}

async function filesUnder(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { withFileTypes: true, recursive: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
}

describe('a v2 CLI', () => {
  it('a thief who copies the whole home after a message was read cannot open its envelope with anything in the copy', async () => {
    const { aliceHome, bobHome, aliceFingerprint } = await pairedHomes('thief');
    const sent = await cli(['send', 'bob', 'the launch code is 0000', '--json', '--home', aliceHome]);
    assert.equal(sent.code, 0, sent.stderr);
    // What the relay (or anyone who recorded the traffic) keeps.
    const [kept] = await waitingEnvelopes(bobHome);
    assert.ok(kept);
    const envelope = parseEnvelopeV2(fromBase64(kept, 'envelope'));
    assert.ok(envelope && envelope.kid !== 'id');
    const held = (JSON.parse((await openHomeStores(bobHome).vault.get(`rkeys.${aliceFingerprint}`)) ?? '{"keys":[]}') as { keys: { kid: string; secret: string }[] }).keys;
    const usedSecret = held.find((key) => key.kid === envelope.kid)?.secret;
    assert.ok(usedSecret, 'Bob holds the secret until he reads the message');

    const read = await cli(['inbox', '--json', '--home', bobHome]);
    assert.equal(read.code, 0, read.stderr);
    assert.deepEqual(read.lines.filter((line) => line['event'] === 'message').map((line) => [line['v'], line['body']]), [[2, { type: 'text', text: 'the launch code is 0000' }]]);

    const stolen = join(homes, 'thief-copy');
    await cp(bobHome, stolen, { recursive: true });
    const candidates = new Map<string, Uint8Array>();
    const identitySecret = x25519SecretFromSeed(await loadSigningKey(openHomeStores(stolen)));
    candidates.set(toHex(identitySecret), identitySecret);
    for (const file of await filesUnder(stolen)) {
      const text = (await readFile(file)).toString('latin1');
      assert.ok(!text.includes(usedSecret), `the used secret is in ${file}`);
      assert.ok(!text.includes(toBase64(fromHex(usedSecret, 'secret'))), `the used secret is in ${file} (base64)`);
      // Every 32-byte value anywhere in the copy, hex or base64, is tried as an X25519 secret.
      for (const match of text.matchAll(/[0-9a-f]{64}/g)) candidates.set(match[0], fromHex(match[0], 'candidate'));
      for (const match of text.matchAll(/[A-Za-z0-9+/]{43}=/g)) candidates.set(match[0], fromBase64(match[0], 'candidate'));
    }
    assert.ok(candidates.size > 10, 'the copy was searched');
    const [stolenInbox] = await listOwnInboxes(openHomeStores(stolen));
    assert.ok(stolenInbox);
    const { slotId } = stolenInbox;
    const opens = async (secret: Uint8Array): Promise<boolean> => {
      try {
        const suite = await hpkeSuite();
        const recipientKey = await suite.kem.deserializePrivateKey(secret);
        await suite.open({ recipientKey, enc: envelope.enc, info: utf8(MESSAGE_V2_INFO) }, envelope.ct, utf8(slotId));
        return true;
      } catch {
        return false;
      }
    };
    assert.equal(await opens(fromHex(usedSecret, 'used secret')), true, 'the secret Bob deleted would have opened it');
    for (const secret of candidates.values()) {
      const opened = await opens(secret);
      assert.equal(opened, false, 'a value from the copied home opened the message');
    }
  });

  it('two processes of one home sending at once never spend one key twice (only the last-resort key is reused)', async () => {
    const { aliceHome, bobHome, bobFingerprint } = await pairedHomes('race');
    const pool = JSON.parse((await openHomeStores(aliceHome).memory.get(`mail.keys.${bobFingerprint}`)) ?? '{}') as { oneTime: { kid: string }[]; last: { kid: string } };
    assert.equal(pool.oneTime.length, 8);
    const ROUNDS = 5;
    for (let round = 0; round < ROUNDS; round++) {
      const both = await Promise.all([0, 1].map((which) => cliProcess(['send', bobFingerprint, `round ${round} from process ${which}`, '--json', '--home', aliceHome])));
      for (const done of both) assert.equal(done.code, 0, done.stderr);
    }
    const kids = (await waitingEnvelopes(bobHome)).map((value) => parseEnvelopeV2(fromBase64(value, 'envelope'))?.kid);
    assert.equal(kids.length, 2 * ROUNDS);
    const oneTime = kids.filter((kid) => kid !== pool.last.kid);
    assert.deepEqual([...oneTime].sort(), pool.oneTime.map((key) => key.kid).sort(), 'each one-time key exactly once');
    assert.equal(kids.length - oneTime.length, 2 * ROUNDS - 8, 'then the last-resort key');
    const read = await cli(['inbox', '--json', '--home', bobHome]);
    assert.equal(read.code, 0, read.stderr);
    assert.equal(read.lines.filter((line) => line['event'] === 'message' && line['v'] === 2).length, 2 * ROUNDS);
    assert.deepEqual(read.lines.filter((line) => line['event'] === 'dropped'), []);
  });

  it('a peer that speaks only section 6 and a v2 peer both converse with it', async () => {
    const { aliceHome, bobHome, bobFingerprint } = await pairedHomes('mixed');
    // Carol pairs with Alice too, then plays a section-6-only app: as if her bootstrap had carried
    // no keys, she sends section 6 and reads only section 6 (a v2 envelope is nothing she knows).
    const carolHome = join(homes, 'mixed-carol');
    const { bobFingerprint: carolFingerprint, aliceFingerprint } = await pairHomes(relay.url, aliceHome, carolHome);
    await new ReceiveKeys({ ...openHomeStores(aliceHome), random: systemRandom, clock: systemClock }).forget(carolFingerprint);
    const carol = { ...openHomeStores(carolHome), random: systemRandom };

    const fromCarol = await postSection6(carol, aliceFingerprint, 'hello from an older app');
    const fromBob = await cli(['send', 'alice', 'hello from v2', '--json', '--home', bobHome]);
    assert.equal(fromBob.code, 0, fromBob.stderr);
    const read = await cli(['inbox', '--json', '--home', aliceHome]);
    assert.equal(read.code, 0, read.stderr);
    const messages = read.lines.filter((line) => line['event'] === 'message');
    assert.deepEqual(
      messages.map((line) => [line['v'], (line['from'] as { fingerprint: string }).fingerprint, line['body']]).sort(),
      [
        [1, carolFingerprint, { type: 'text', text: 'hello from an older app' }],
        [2, bobFingerprint, { type: 'text', text: 'hello from v2' }],
      ].sort(),
    );
    assert.ok(messages.some((line) => line['id'] === fromCarol));

    for (const [to, text] of [[carolFingerprint, 'hi carol'], [bobFingerprint, 'hi bob']] as const) {
      const reply = await cli(['send', to, text, '--json', '--home', aliceHome]);
      assert.equal(reply.code, 0, reply.stderr);
    }
    // Carol gets one keys message under kid "id" (which she drops, as an older app does), then section 6.
    const atCarol = (await waitingEnvelopes(carolHome)).map((value) => fromBase64(value, 'envelope'));
    const texts: unknown[] = [];
    for (const envelope of atCarol) {
      if (parseEnvelopeV2(envelope)) continue;
      const plaintext = await openEnvelope({ recipientSeed: await loadSigningKey(carol), senderPublic: fromBase64((await getPeer(carol, aliceFingerprint))!.card.key, 'key'), ownSlotId: (await listOwnInboxes(carol))[0]!.slotId, envelope });
      texts.push(parseMessage(plaintext, { from: aliceFingerprint, to: carolFingerprint, now: Date.now() }).body);
    }
    assert.ok(texts.some((body) => JSON.stringify(body) === JSON.stringify({ type: 'text', text: 'hi carol' })), 'Carol reads Alice in section 6');
    assert.equal(atCarol.filter((envelope) => parseEnvelopeV2(envelope)?.kid === 'id').length, 1, 'one keys message, never more');

    const bobRead = await cli(['inbox', '--json', '--home', bobHome]);
    assert.deepEqual(bobRead.lines.filter((line) => line['event'] === 'message').map((line) => [line['v'], line['body']]), [[2, { type: 'text', text: 'hi bob' }]]);

    const peers = await cli(['peers', '--json', '--home', aliceHome]);
    assert.deepEqual(
      Object.fromEntries(peers.lines.map((line) => [line['fingerprint'], line['forward_secrecy']])),
      { [bobFingerprint]: 'on', [carolFingerprint]: 'off' },
    );
    // And in words, for a person.
    const said = (await cli(['peers', '--home', aliceHome])).stdout.split('\n');
    assert.match(said.find((line) => line.startsWith(bobFingerprint)) ?? '', /forward secrecy: on$/);
    assert.match(said.find((line) => line.startsWith(carolFingerprint)) ?? '', /forward secrecy: not yet \(their app speaks only the older message format\)$/);
  });
});

/** Sends as a section-6-only app: AuthSeal to the identity key, posted with the send token. */
async function postSection6(from: ReturnType<typeof openHomeStores> & { random: typeof systemRandom }, to: string, text: string): Promise<string> {
  const peer = await getPeer(from, to);
  const token = await loadPeerSendToken(from, to);
  assert.ok(peer && token);
  const identity = await loadIdentity(from);
  assert.ok(identity);
  const id = newMessageId(from.random.bytes(16));
  const message = { v: 1 as const, id, from: identity.fingerprint, to, n: 1, sent_at: formatTimestamp(Date.now()), body: { type: 'text', text } };
  const envelope = await sealEnvelope({ senderSeed: await loadSigningKey(from), recipientPublic: fromBase64(peer.card.key, 'key'), recipientSlotId: peer.slotId, plaintext: encodeMessage(message) });
  await relays(peer.relayUrl).postMessage(peer.slotId, token, toBase64(envelope));
  return id;
}
