// Two VS Code windows of one profile write the mailbox at once. VS Code keeps an extension's
// global state per window and writes it back as one object (last write wins), reaching the other
// windows a moment later; the stand-in global state below does exactly that, and propagates only
// when told. The pulling window stores messages while the other records a send and hands a
// message over, each before the other's write reached it: after propagation both windows must
// see every write, because the mailbox lives in files under the mailbox lock (storage.ts).

import '../helpers/nativeCurves.js';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type MessagingEvent, ReceiveRunner, SendRunner } from '../../src/core/inbox.js';
import { LOSS_GRACE_MS } from '../../src/core/mailbox.js';
import { SESSION_KEY_PREFIX } from '../../src/core/store.js';
import { type RunningRelay, startRelay } from '../../src/relay/node.js';
import { takeMailLease } from '../../src/vscode/mailLease.js';
import { WindowMessaging } from '../../src/vscode/messaging.js';
import { FileKeyValueStore } from '../../src/node/fileStore.js';
import { FILE_KEY_PREFIXES, MAILBOX_DIRECTORY, extensionStores, moveOutOfGlobalState } from '../../src/vscode/storage.js';
import { pairSides } from '../helpers/pairing.js';
import { makeSide } from '../helpers/sides.js';
import { FakeMemento, FakeSecretStorage, freshGlobalStorageUri } from './fakes.js';
import { until } from '../helpers/until.js';

/** The profile's stored global state, as VS Code's storage service holds it. */
class ProfileGlobalState {
  stored = new Map<string, unknown>();
}

/** One window's copy of it: reads its own copy, writes the whole copy back, hears of others' writes only on `propagate`. */
class WindowGlobalState extends FakeMemento {
  constructor(private readonly profile: ProfileGlobalState) {
    super();
    this.propagate();
  }

  override update(key: string, value: unknown): Thenable<void> {
    const done = super.update(key, value);
    this.profile.stored = new Map(this.values);
    return done;
  }

  propagate(): void {
    this.values.clear();
    for (const [key, value] of this.profile.stored) this.values.set(key, value);
  }
}


const quiet = { log: () => undefined };

describe('two windows of a profile write the mailbox at once', () => {
  let relay: RunningRelay;
  let home: string;
  const storageDirectories: string[] = [];

  before(async () => {
    relay = await startRelay(quiet);
    home = await mkdtemp(join(tmpdir(), 'agent-pair-home-'));
  });
  after(async () => {
    await relay.close();
    for (const directory of [home, ...storageDirectories]) await rm(directory, { recursive: true, force: true });
  });

  it('the pulling window stores messages while the other sends and hands over: no write is lost', async () => {
    const alice = await makeSide(relay.url, 'alice');
    const bob = await makeSide(relay.url, 'bob');
    await pairSides(alice, bob, relay.url);
    const profile = new ProfileGlobalState();
    const globalStorageUri = freshGlobalStorageUri();
    storageDirectories.push(globalStorageUri.fsPath);
    // Alice's state as the extension keeps it: peers, key pools and mailbox in the files, the rest in global state.
    const files = new FileKeyValueStore(join(globalStorageUri.fsPath, MAILBOX_DIRECTORY));
    for (const [key, value] of alice.memory.entries()) {
      if (key.startsWith(SESSION_KEY_PREFIX)) continue;
      if (FILE_KEY_PREFIXES.some((prefix) => key.startsWith(prefix))) await files.set(key, value);
      else profile.stored.set(key, value);
    }
    const secrets = new FakeSecretStorage();
    for (const [key, value] of alice.vault.entries()) secrets.values.set(key, value);

    const windowOf = (pid: number, events: MessagingEvent[]): { messaging: WindowMessaging; globalState: WindowGlobalState } => {
      const globalState = new WindowGlobalState(profile);
      const stores = extensionStores({ workspaceState: new FakeMemento(), globalState, secrets, globalStorageUri });
      const messaging = new WindowMessaging({
        deps: { ...stores, random: alice.deps.random, clock: alice.deps.clock, relays: alice.deps.relays },
        home,
        lossGraceMs: () => LOSS_GRACE_MS,
        log: { info: () => undefined, warn: () => undefined },
        onEvent: (event) => events.push(event),
        takeLease: (leaseHome, fingerprint) => takeMailLease(leaseHome, fingerprint, { pid, alive: () => true }),
      });
      return { messaging, globalState };
    };
    const pulled: MessagingEvent[] = [];
    const first = windowOf(1, pulled);
    const second = windowOf(2, []);
    const bobSender = new SendRunner(bob.deps);
    const messagesPulled = (): string[] => pulled.flatMap((event) => (event.type === 'message' ? [event.record.id] : []));
    try {
      await first.messaging.wake();
      await second.messaging.wake();
      assert.equal(first.messaging.pulling, true);
      assert.equal(second.messaging.pulling, false);

      // The pulling window stores "one"; the other window, not having heard of it, sends.
      const one = await bobSender.send('alice', { type: 'text', text: 'one' });
      await until('the first window to store "one"', () => messagesPulled().includes(one.id));
      const peer = await second.messaging.peer(bob.fingerprint);
      assert.ok(peer);
      const answer = await second.messaging.sendText(peer, 'from the second window');
      // The pulling window stores "two", not having heard of the send.
      const two = await bobSender.send('alice', { type: 'text', text: 'two' });
      await until('the first window to store "two"', () => messagesPulled().includes(two.id));
      assert.deepEqual(pulled.flatMap((event) => (event.type === 'message' ? [event.record.v] : [])), [2, 2], 'VS Code reads v2 (section 7)');
      // The second window hands over what it shows.
      await second.messaging.markShown(bob.fingerprint);

      first.globalState.propagate();
      second.globalState.propagate();
      for (const window of [first, second]) {
        const { records } = await window.messaging.conversation(bob.fingerprint);
        assert.deepEqual(
          records.map((record) => [record.id, record.direction, record.state]).sort(),
          [
            [one.id, 'in', 'handled'],
            [two.id, 'in', 'handled'],
            [answer.id, 'out', 'sent'],
          ].sort(),
        );
      }
      // And Bob hears that both were handed over.
      const bobReceiver = new ReceiveRunner(bob.deps);
      const receipts = new Set<string>();
      await until('the receipts at Bob', async () => {
        for (const event of await bobReceiver.pull({ waitSeconds: 1 })) if (event.type === 'receipt') for (const id of event.ids) receipts.add(id);
        return receipts.has(one.id) && receipts.has(two.id);
      });
      assert.ok(![...profile.stored.keys()].some((key) => FILE_KEY_PREFIXES.some((prefix) => key.startsWith(prefix))), 'nothing of the mailbox or the peers in global state');
      // Receive-key secrets beside the identity key in SecretStorage; how often they were written, in the locked files.
      assert.ok(secrets.values.has(`rkeys.${bob.fingerprint}`), 'the secrets of the keys given to Bob are in SecretStorage');
      assert.ok(![...profile.stored.keys()].some((key) => key.includes('rkeys')), 'no receive key in global state');
      assert.ok(existsSync(join(globalStorageUri.fsPath, MAILBOX_DIRECTORY, `mail.rkeys.${bob.fingerprint}.n`)), 'their write count in the mailbox files');
    } finally {
      await first.messaging.dispose();
      await second.messaging.dispose();
    }
  });

  it('a mailbox and pinned peers earlier builds kept in global state move to the files once, readable all along; a newer file stays', async () => {
    const globalState = new FakeMemento();
    const globalStorageUri = freshGlobalStorageUri();
    storageDirectories.push(globalStorageUri.fsPath);
    const storage = { workspaceState: new FakeMemento(), globalState, secrets: new FakeSecretStorage(), globalStorageUri };
    const { memory } = extensionStores(storage);
    await memory.set('mail.seen', '{"newer":1}');
    globalState.values.set('mail.seen', '{"older":1}');
    globalState.values.set('mail.peer.0123456789abcdef', '{"sentN":3}');
    globalState.values.set('peers.index', '["0123456789abcdef"]');
    globalState.values.set('peer.0123456789abcdef', '{"handle":"bob"}');
    globalState.values.set('grants.toRevoke', '[]');
    globalState.values.set('identity.card', '{}');
    assert.equal(await memory.get('peers.index'), '["0123456789abcdef"]', 'read through before the move');
    assert.equal(await moveOutOfGlobalState(storage), 4);
    assert.equal(await memory.get('mail.peer.0123456789abcdef'), '{"sentN":3}');
    assert.equal(await memory.get('mail.seen'), '{"newer":1}');
    assert.equal(await memory.get('peers.index'), '["0123456789abcdef"]');
    assert.equal(await memory.get('peer.0123456789abcdef'), '{"handle":"bob"}');
    assert.ok(existsSync(join(globalStorageUri.fsPath, MAILBOX_DIRECTORY, 'peers.index')));
    assert.deepEqual(globalState.keys(), ['identity.card']);
    await memory.set('peer.0123456789abcdef', '{"handle":"bob2"}');
    assert.deepEqual(globalState.keys(), ['identity.card'], 'peers are written to the files only');
    await memory.delete('peer.0123456789abcdef');
    assert.equal(await memory.get('peer.0123456789abcdef'), undefined);
    assert.ok(existsSync(join(globalStorageUri.fsPath, MAILBOX_DIRECTORY)));
    assert.equal(await moveOutOfGlobalState(storage), 0);
  });
});
