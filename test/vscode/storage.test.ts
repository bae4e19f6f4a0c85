import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isPairError } from '../../src/core/errors.js';
import { initSelfIdempotent, loadIdentity } from '../../src/core/identity.js';
import type { SessionDeps } from '../../src/core/session.js';
import { SessionStore } from '../../src/core/store.js';
import { systemClock, systemRandom } from '../../src/node/system.js';
import { createRelayConnector } from '../../src/relay/client.js';
import { type RunningRelay, startRelay } from '../../src/relay/node.js';
import { extensionStores, mementoStore, secretStore } from '../../src/vscode/storage.js';
import { FakeMemento, FakeSecretStorage, fakeStorage } from './fakes.js';

function depsOver(storage: ReturnType<typeof fakeStorage>): SessionDeps {
  return { ...extensionStores(storage), random: systemRandom, clock: systemClock, relays: createRelayConnector() };
}

/** Every string a Memento holds, to check that no secret ended up in one. */
function mementoText(memento: FakeMemento): string {
  return [...memento.values.entries()].map(([key, value]) => `${key}=${JSON.stringify(value)}`).join('\n');
}

describe('extension storage routing', () => {
  let relay: RunningRelay;
  before(async () => {
    relay = await startRelay({ port: 0 });
  });
  after(async () => {
    await relay.close();
  });

  it('keeps identity in global state, pairings in workspace state and every secret in SecretStorage', async () => {
    const storage = fakeStorage();
    const deps = depsOver(storage);
    await initSelfIdempotent(deps, 'alice', deps.relays(relay.url));
    const store = new SessionStore(deps);
    const opened = await store.open('host', relay.url);
    const id = opened.sessionId;
    const code = opened.code;
    assert.ok(code);

    assert.deepEqual([...storage.workspaceState.keys()].sort(), [`session.${id}`, 'sessions.index']);
    assert.deepEqual([...storage.globalState.keys()].sort(), ['identity.card', 'identity.relay']);
    assert.deepEqual([...storage.secrets.values.keys()].sort(), ['identity.inbox', 'identity.privateKey', `session.${id}.secrets`]);

    const secrets = JSON.parse(storage.secrets.values.get(`session.${id}.secrets`) ?? '{}') as { seed: string; token: string; code: string };
    assert.equal(secrets.code, code);
    for (const memento of [storage.workspaceState, storage.globalState]) {
      const text = mementoText(memento);
      for (const secret of [secrets.seed, secrets.token, secrets.code, storage.secrets.values.get('identity.privateKey') ?? '']) {
        assert.ok(!text.includes(secret), 'a secret reached a Memento');
      }
    }
  });

  it('restores a pairing in flight in the same workspace, and only there', async () => {
    const storage = fakeStorage();
    const deps = depsOver(storage);
    await initSelfIdempotent(deps, 'bob');
    const opened = await new SessionStore(deps).open('host', relay.url);

    const reloaded = await new SessionStore(depsOver(storage)).restore();
    assert.deepEqual(reloaded.restored.map((snapshot) => [snapshot.sessionId, snapshot.state, snapshot.nameplate]), [[opened.sessionId, 'opened', opened.nameplate]]);

    // Another window: its own workspace state, the same global state and secrets.
    const otherWindow = { workspaceState: new FakeMemento(), globalState: storage.globalState, secrets: storage.secrets, globalStorageUri: storage.globalStorageUri };
    const elsewhere = depsOver(otherWindow);
    assert.deepEqual((await new SessionStore(elsewhere).restore()).restored, []);
    assert.equal((await loadIdentity(elsewhere))?.handle, 'bob');
  });

  it('clears a pairing\'s secrets once it ends, and keeps only its record (how it ended) for the retention time', async () => {
    const storage = fakeStorage();
    const deps = depsOver(storage);
    const store = new SessionStore(deps);
    const opened = await store.open('host', relay.url);
    await store.abort(opened.sessionId, 'changed my mind');
    assert.deepEqual([...storage.workspaceState.keys()].filter((key) => key !== 'sessions.index'), [`session.${opened.sessionId}`]);
    assert.equal(storage.workspaceState.get('sessions.index'), JSON.stringify([opened.sessionId]));
    assert.deepEqual([...storage.secrets.values.keys()], []);
  });
});

describe('mementoStore', () => {
  it('reads a value that is not a string (not ours) as absent', async () => {
    const memento = new FakeMemento();
    memento.values.set('identity.card', { not: 'a string' });
    memento.values.set('peers.index', 42);
    const store = mementoStore(memento, 'the global state');
    assert.equal(await store.get('identity.card'), undefined);
    assert.equal(await store.get('peers.index'), undefined);
  });

  it('deletes by removing the key', async () => {
    const memento = new FakeMemento();
    const store = mementoStore(memento, 'the global state');
    await store.set('peers.index', '[]');
    assert.equal(await store.get('peers.index'), '[]');
    await store.delete('peers.index');
    assert.deepEqual(memento.keys(), []);
  });

  it('reports a failed write as storage_failed naming the key, never the value', async () => {
    const memento = new FakeMemento();
    memento.failWrites = true;
    const store = mementoStore(memento, 'the workspace state');
    await assert.rejects(store.set('session.abc', 'VALUE-THAT-MUST-NOT-SHOW'), (error: unknown) => {
      assert.ok(isPairError(error, 'storage_failed'));
      assert.match(error.message, /write session\.abc to the workspace state \(disk full\)/);
      assert.ok(!error.message.includes('VALUE-THAT-MUST-NOT-SHOW'));
      return true;
    });
  });
});

describe('secretStore', () => {
  it('round-trips through SecretStorage', async () => {
    const secrets = new FakeSecretStorage();
    const store = secretStore(secrets);
    await store.set('identity.privateKey', 'ab'.repeat(32));
    assert.equal(await store.get('identity.privateKey'), 'ab'.repeat(32));
    await store.delete('identity.privateKey');
    assert.equal(await store.get('identity.privateKey'), undefined);
  });

  it('reports an unavailable keychain as storage_failed, for reads and writes', async () => {
    const secrets = new FakeSecretStorage();
    secrets.failAll = true;
    const store = secretStore(secrets);
    for (const attempt of [store.get('identity.privateKey'), store.set('identity.privateKey', 'SECRET-VALUE'), store.delete('identity.privateKey')]) {
      await assert.rejects(attempt, (error: unknown) => {
        assert.ok(isPairError(error, 'storage_failed'));
        assert.match(error.message, /identity\.privateKey.*secret storage \(keychain locked\)/);
        assert.ok(!error.message.includes('SECRET-VALUE'));
        return true;
      });
    }
  });
});
