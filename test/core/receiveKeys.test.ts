// PROTOCOL.md 7.1 and 7.2 on the key store alone (an injected clock, real 0600 files for the
// secrets): what is given, spent, kept and deleted, and when.

import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fromBase64, toBase64 } from '../../src/core/bytes.js';
import { type GivenKey, receiveKeyPublic } from '../../src/core/messagesV2.js';
import type { Clock, KeyValueStore } from '../../src/core/ports.js';
import {
  LAST_RESORT_GRACE_MS,
  LAST_RESORT_ROTATION_MS,
  MAX_POOL_KEYS,
  MAX_SECRETS_PER_PEER,
  ONE_TIME_KEY_LIFETIME_MS,
  ONE_TIME_KEYS_REFILL,
  ONE_TIME_KEYS_TARGET,
  ReceiveKeys,
  SECRETS_CATCH_UP_POLLS,
} from '../../src/core/receiveKeys.js';
import { MemoryKeyValueStore } from '../../src/core/routedStore.js';
import { FileKeyValueStore } from '../../src/node/fileStore.js';
import { systemRandom } from '../../src/node/system.js';

const PEER = '0123456789abcdef';

class ManualClock implements Clock {
  constructor(public at = Date.parse('2026-12-03T12:00:00Z')) {}
  now(): number {
    return this.at;
  }
  sleep(): Promise<void> {
    return Promise.resolve();
  }
}

const homes: string[] = [];
after(async () => {
  for (const home of homes) await rm(home, { recursive: true, force: true });
});

async function keyStore() {
  const home = await mkdtemp(join(tmpdir(), 'agent-pair-rkeys-'));
  homes.push(home);
  const clock = new ManualClock();
  const vault = new FileKeyValueStore(join(home, 'secrets'));
  const keys = new ReceiveKeys({ vault, memory: new MemoryKeyValueStore(), random: systemRandom, clock });
  return { keys, clock, vault, home };
}

describe('receive keys this side gives (7.1)', () => {
  it('gives 8 one-time keys and a last-resort key at pairing, then refills to 16 once the peer holds fewer than 8', async () => {
    const { keys } = await keyStore();
    const paired = await keys.forPairing('pair');
    assert.equal(paired.filter((key) => !key.last).length, ONE_TIME_KEYS_TARGET);
    assert.equal(paired.filter((key) => key.last).length, 1);
    await keys.adoptPairing('pair', PEER);
    assert.deepEqual(await keys.topUp(PEER), [], 'the peer holds 8 unused keys and a fresh last-resort key');
    await keys.used(PEER, paired[0]!.kid);
    const refill = await keys.topUp(PEER);
    assert.equal(refill.length, ONE_TIME_KEYS_REFILL - (ONE_TIME_KEYS_TARGET - 1));
    for (const key of refill) assert.equal(key.last, undefined);
    for (const key of paired.slice(1, 8)) await keys.used(PEER, key.kid);
    assert.deepEqual(await keys.topUp(PEER), [], 'still 9 unused');
  });

  it('gives at most 16 one-time keys in one message, and a last-resort key first', async () => {
    const { keys } = await keyStore();
    const first = await keys.topUp(PEER);
    assert.equal(first.filter((key) => !key.last).length, ONE_TIME_KEYS_REFILL);
    assert.equal(first.filter((key) => key.last).length, 1);
    for (const key of first) assert.match(key.kid, /^[0-9a-f]{16}$/);
    assert.deepEqual(await keys.topUp(PEER), []);
  });

  it('holds the secret behind each public key given, and deletes a one-time secret once used (really gone from the file)', async () => {
    const { keys, home } = await keyStore();
    const given = await keys.topUp(PEER);
    const oneTime = given.find((key) => !key.last)!;
    const secret = await keys.secretFor(PEER, oneTime.kid);
    assert.ok(secret);
    assert.equal(toBase64(receiveKeyPublic(secret)), oneTime.pub);
    const secretHex = Buffer.from(secret).toString('hex');
    await keys.used(PEER, oneTime.kid);
    assert.equal(await keys.secretFor(PEER, oneTime.kid), undefined);
    assert.ok(secret.every((byte) => byte === 0), 'the bytes handed out are wiped with the key');
    const files = await readdir(join(home, 'secrets'));
    assert.deepEqual(files, ['rkeys.' + PEER], 'one file, no temporary or backup copy');
    const text = await readFile(join(home, 'secrets', files[0]!), 'utf8');
    assert.ok(!text.includes(secretHex), 'the used secret is not in the file');
    assert.ok(!text.includes(oneTime.kid));
  });

  it('hands out one array per held secret, wiped once the key is deleted: here at once, by another process at this side\'s next look', async () => {
    const home = await mkdtemp(join(tmpdir(), 'agent-pair-rkeys-'));
    homes.push(home);
    const deps = { vault: new FileKeyValueStore(join(home, 'secrets')), memory: new MemoryKeyValueStore(), random: systemRandom, clock: new ManualClock() };
    const keys = new ReceiveKeys(deps);
    const otherProcess = new ReceiveKeys(deps);
    const given = await keys.topUp(PEER);
    const [first, second] = given.filter((key) => !key.last) as [GivenKey, GivenKey];
    const last = given.find((key) => key.last)!;
    const zeroed = (bytes: Uint8Array): boolean => bytes.every((byte) => byte === 0);

    const firstSecret = (await keys.secretFor(PEER, first.kid))!;
    assert.equal(await keys.secretFor(PEER, first.kid), firstSecret, 'the same array while the key is held');
    assert.equal(toBase64(receiveKeyPublic(firstSecret)), first.pub);
    await keys.used(PEER, first.kid);
    assert.ok(zeroed(firstSecret));

    const secondSecret = (await keys.secretFor(PEER, second.kid))!;
    await otherProcess.used(PEER, second.kid);
    const lastSecret = (await keys.secretFor(PEER, last.kid))!;
    assert.ok(zeroed(secondSecret), 'deleted by another process: wiped at this side\'s next read');
    // The last-resort key is not deleted by its use: its bytes stay as they are.
    await keys.used(PEER, last.kid);
    assert.equal(toBase64(receiveKeyPublic(lastSecret)), last.pub);
    await keys.forget(PEER);
    assert.ok(zeroed(lastSecret));
  });

  it('keeps using the last-resort key (never deleted on use), rotates it daily, and deletes the old one 8 days after a newer one was given', async () => {
    const { keys, clock } = await keyStore();
    const last = (await keys.topUp(PEER)).find((key) => key.last)!;
    await keys.used(PEER, last.kid);
    assert.ok(await keys.secretFor(PEER, last.kid), 'a last-resort key is reused');
    clock.at += LAST_RESORT_ROTATION_MS - 1;
    assert.deepEqual(await keys.topUp(PEER), []);
    clock.at += 1;
    const newer = (await keys.topUp(PEER)).find((key) => key.last);
    assert.ok(newer && newer.kid !== last.kid, 'a new last-resort key once the current one is 24 hours old');
    const givenAt = clock.at;
    clock.at = givenAt + LAST_RESORT_GRACE_MS - 1;
    assert.ok(await keys.secretFor(PEER, last.kid), 'still opens until 8 days after the newer one was given');
    clock.at = givenAt + LAST_RESORT_GRACE_MS;
    assert.equal(await keys.secretFor(PEER, last.kid), undefined);
    assert.ok(await keys.secretFor(PEER, newer.kid));
  });

  it('deletes an unused one-time key 30 days after it was given', async () => {
    const { keys, clock, vault } = await keyStore();
    const oneTime = (await keys.topUp(PEER)).find((key) => !key.last)!;
    clock.at += ONE_TIME_KEY_LIFETIME_MS - 1;
    assert.ok(await keys.secretFor(PEER, oneTime.kid));
    clock.at += 1;
    assert.equal(await keys.secretFor(PEER, oneTime.kid), undefined);
    await keys.prune(PEER);
    assert.ok(!(await vault.get(`rkeys.${PEER}`))?.includes(oneTime.kid), 'pruning rewrote the file without it');
  });

  it('keeps at most 64 secrets per peer, the oldest unused one-time keys going first', async () => {
    const { keys, clock } = await keyStore();
    const pairings: string[][] = [];
    for (let i = 0; i < 8; i++) {
      clock.at += 1000;
      pairings.push((await keys.forPairing(`pair${i}`)).map((key) => key.kid));
      await keys.adoptPairing(`pair${i}`, PEER);
    }
    const held = await Promise.all(pairings.flat().map(async (kid) => ((await keys.secretFor(PEER, kid)) ? kid : undefined)));
    assert.equal(held.filter(Boolean).length, MAX_SECRETS_PER_PEER);
    assert.equal(held.indexOf(undefined), 0, 'the very first one-time key went first');
    const lastResorts = pairings.map((kids) => kids.at(-1)!);
    for (const kid of lastResorts) assert.ok(await keys.secretFor(PEER, kid), 'last-resort keys are never dropped for room');
  });
});

/**
 * One window's view of the secret storage every window of a profile shares, as VS Code's
 * SecretStorage is: a window reads its own copy, which hears of another window's writes only
 * a moment later (here: when `catchUp` runs).
 */
class WindowVault implements KeyValueStore {
  private copy: Map<string, string>;

  constructor(private readonly shared: Map<string, string>) {
    this.copy = new Map(shared);
  }

  get(key: string): Promise<string | undefined> {
    return Promise.resolve(this.copy.get(key));
  }

  set(key: string, value: string): Promise<void> {
    this.copy.set(key, value);
    this.shared.set(key, value);
    return Promise.resolve();
  }

  delete(key: string): Promise<void> {
    this.copy.delete(key);
    this.shared.delete(key);
    return Promise.resolve();
  }

  catchUp(): void {
    this.copy = new Map(this.shared);
  }
}

describe('two windows whose secret storage shows the other\'s writes late (VS Code)', () => {
  it('the pulling window waits to see the sending window\'s top-up before rewriting: no given key is lost, no used secret comes back', async () => {
    const shared = new Map<string, string>();
    // The mailbox's locked files: every window sees every write at once.
    const memory = new MemoryKeyValueStore();
    const clock = new ManualClock();
    const sendingVault = new WindowVault(shared);
    const pullingVault = new WindowVault(shared);
    // While the pulling window waits, the other window's write reaches it.
    const pullingClock: Clock = {
      now: () => clock.now(),
      sleep: () => {
        pullingVault.catchUp();
        return Promise.resolve();
      },
    };
    const sending = new ReceiveKeys({ vault: sendingVault, memory, random: systemRandom, clock });
    const pulling = new ReceiveKeys({ vault: pullingVault, memory, random: systemRandom, clock: pullingClock });
    const paired = await sending.forPairing('pair');
    await sending.adoptPairing('pair', PEER);
    pullingVault.catchUp();
    await pulling.used(PEER, paired[0]!.kid);
    sendingVault.catchUp();
    // The sending window's next message refills the peer; the pulling window has not heard of it when the next message arrives.
    const refill = await sending.topUp(PEER);
    assert.ok(refill.length > 0);
    await pulling.used(PEER, paired[1]!.kid);
    sendingVault.catchUp();
    pullingVault.catchUp();
    for (const window of [sending, pulling]) {
      for (const key of refill) assert.ok(await window.secretFor(PEER, key.kid), `the refill's ${key.kid} is held`);
      for (const key of paired.slice(0, 2)) assert.equal(await window.secretFor(PEER, key.kid), undefined, 'a used secret stays deleted');
    }
  });

  it('a vault that never shows the newest write is read as it is after SECRETS_CATCH_UP_POLLS polls: nothing wedges', async () => {
    const memory = new MemoryKeyValueStore();
    let polls = 0;
    const clock: Clock = {
      now: () => Date.parse('2026-12-03T12:00:00Z'),
      sleep: () => {
        polls++;
        return Promise.resolve();
      },
    };
    const keys = new ReceiveKeys({ vault: new MemoryKeyValueStore(), memory, random: systemRandom, clock });
    // The locked files count writes the vault lost (a keychain reset, say).
    await memory.set(`mail.rkeys.${PEER}.n`, '7');
    const given = await keys.topUp(PEER);
    assert.equal(given.length, ONE_TIME_KEYS_REFILL + 1);
    assert.equal(polls, SECRETS_CATCH_UP_POLLS);
    assert.equal(await memory.get(`mail.rkeys.${PEER}.n`), '8');
    polls = 0;
    assert.ok(await keys.secretFor(PEER, given[0]!.kid));
    assert.equal(polls, 0, 'caught up: no wait');
  });
});

describe('the pool a peer gave (7.2)', () => {
  const peerKeys = (count: number, withLast: boolean) =>
    Array.from({ length: count }, (_, i) => ({ kid: i.toString(16).padStart(16, '0'), pub: toBase64(new Uint8Array(32).fill(i + 1)) })).concat(
      withLast ? [{ kid: 'f'.repeat(16), pub: toBase64(new Uint8Array(32).fill(255)), last: true } as never] : [],
    );

  it('spends one-time keys oldest first, each once, then reuses the last-resort key', async () => {
    const { keys } = await keyStore();
    await keys.addToPool(PEER, peerKeys(2, true));
    const kids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const route = await keys.route(PEER);
      assert.ok(route.v === 2);
      kids.push(route.kid);
    }
    assert.deepEqual(kids, ['0000000000000000', '0000000000000001', 'f'.repeat(16), 'f'.repeat(16)]);
    const route = await keys.route(PEER);
    assert.ok(route.v === 2);
    assert.equal(route.keys.length, 0, 'the peer still holds 8 unused keys of ours: nothing to top up');
    assert.deepEqual(route.pub, fromBase64(toBase64(new Uint8Array(32).fill(255)), 'pub'));
  });

  it('two processes spend from one pool: each reads what the other wrote, so no one-time key is spent twice', async () => {
    const { clock, vault } = await keyStore();
    const memory = new MemoryKeyValueStore();
    const here = new ReceiveKeys({ vault, memory, random: systemRandom, clock });
    const otherProcess = new ReceiveKeys({ vault, memory, random: systemRandom, clock });
    await here.addToPool(PEER, peerKeys(4, true));
    const kids: string[] = [];
    for (const spender of [here, otherProcess, otherProcess, here, here]) {
      const route = await spender.route(PEER);
      assert.ok(route.v === 2);
      kids.push(route.kid);
    }
    assert.deepEqual(kids, ['0000000000000000', '0000000000000001', '0000000000000002', '0000000000000003', 'f'.repeat(16)]);
    await otherProcess.addToPool(PEER, peerKeys(6, false).slice(5));
    assert.equal(((await here.route(PEER)) as { kid: string }).kid, '0000000000000005', 'the key the other process added');
  });

  it('drops one-time keys the peer gave more than 30 days ago, and keeps at most 64', async () => {
    const { keys, clock } = await keyStore();
    await keys.addToPool(PEER, peerKeys(2, true));
    clock.at += ONE_TIME_KEY_LIFETIME_MS;
    const route = await keys.route(PEER);
    assert.ok(route.v === 2 && route.kid === 'f'.repeat(16));
    for (let i = 0; i < 5; i++) await keys.addToPool(PEER, peerKeys(16, false).map((key, j) => ({ ...key, kid: (i * 16 + j).toString(16).padStart(16, 'a') })));
    const spent = new Set<string>();
    for (let i = 0; i < MAX_POOL_KEYS + 1; i++) {
      const next = await keys.route(PEER);
      if (next.v === 2) spent.add(next.kid);
    }
    assert.equal(spent.size, MAX_POOL_KEYS + 1, '64 one-time keys, then the last-resort key');
  });

  it('without keys from the peer: section 6, with the upgrading keys once', async () => {
    const { keys } = await keyStore();
    const first = await keys.route(PEER);
    assert.ok(first.v === 1 && first.upgrade && first.upgrade.length === ONE_TIME_KEYS_REFILL + 1);
    assert.deepEqual(await keys.route(PEER), { v: 1 });
    assert.deepEqual(await keys.forwardSecrecy(PEER), { state: 'off', sending: false, receiving: false });
    await keys.markSpokeV2(PEER);
    assert.equal(await keys.spokeV2(PEER), true);
  });
});
