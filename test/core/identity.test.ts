import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { ed25519 } from '@noble/curves/ed25519.js';
import { fromHex, toBase64 } from '../../src/core/bytes.js';
import { curves, useCurves } from '../../src/core/curves.js';
import { isPairError } from '../../src/core/errors.js';
import {
  type Card,
  IDENTITY_KEYS,
  type IdentityDeps,
  canonicalJson,
  cardFingerprint,
  createCard,
  fingerprint,
  initSelfIdempotent,
  isRfc3339Utc,
  loadIdentity,
  loadInboxOwnerToken,
  loadSigningKey,
  verifyCard,
  verifyPinnedCard,
} from '../../src/core/identity.js';
import type { Clock, InboxSlot, KeyValueStore, Random, RelayPort } from '../../src/core/ports.js';
import { MemoryKeyValueStore } from '../../src/core/routedStore.js';
import { nativeCurves } from '../../src/node/nativeCurves.js';
import { protocolVectors } from './vectors.js';
import { HANDLE_PATTERN, sanitiseHandle } from '../../src/core/vocabulary.js';

const vectorCard = protocolVectors.card;
const vectorSeed = fromHex(vectorCard.private_seed_hex, 'seed', 32);
const systemRandom: Random = { bytes: (length) => new Uint8Array(randomBytes(length)) };

describe('card vectors (PROTOCOL.md section 5)', () => {
  it('creates the vector card byte for byte', () => {
    assert.deepEqual(createCard('alice', vectorSeed, '2026-11-25T00:00:00Z'), vectorCard.card);
  });

  it('signs the canonical JSON of the card without sig', () => {
    const { sig, ...unsigned } = vectorCard.card;
    assert.equal(canonicalJson(unsigned), vectorCard.canonical_unsigned);
    const publicKey = ed25519.getPublicKey(vectorSeed);
    assert.ok(ed25519.verify(Buffer.from(sig, 'base64'), new TextEncoder().encode(vectorCard.canonical_unsigned), publicKey));
  });

  it('verifies the vector card and computes its fingerprint', () => {
    assert.deepEqual(verifyCard(structuredClone(vectorCard.card)), vectorCard.card);
    assert.equal(cardFingerprint(vectorCard.card), vectorCard.fingerprint);
    assert.equal(fingerprint(ed25519.getPublicKey(vectorSeed)), vectorCard.fingerprint);
  });
});

describe('canonicalJson', () => {
  const table: [string, unknown, string][] = [
    ['sorts keys', { b: 1, a: 2, A: 3 }, '{"A":3,"a":2,"b":1}'],
    ['sorts by code point, not UTF-16 unit (U+FFFF before U+1F600)', { '\u{1F600}': 1, '\uFFFF': 2 }, '{"\uFFFF":2,"\u{1F600}":1}'],
    ['sorts a prefix first', { ab: 1, a: 2, '': 3 }, '{"":3,"a":2,"ab":1}'],
    ['sorts nested objects and keeps array order', { z: [{ y: 1, x: 2 }, 3], a: null }, '{"a":null,"z":[{"x":2,"y":1},3]}'],
    ['escapes quote, backslash and controls as Python json.dumps does', { s: 'a"b\\c\nd\u0001\u001f\b\f\t\r' }, '{"s":"a\\"b\\\\c\\nd\\u0001\\u001f\\b\\f\\t\\r"}'],
    ['leaves non-ASCII as is', { s: 'é✓😀\u2028\u007f' }, '{"s":"é✓😀\u2028\u007f"}'],
    ['writes booleans, null and integers', [true, false, null, 0, -0, -7, 9007199254740991], '[true,false,null,0,0,-7,9007199254740991]'],
    ['writes empty containers', { a: {}, b: [] }, '{"a":{},"b":[]}'],
    ['accepts objects without a prototype', Object.assign(Object.create(null) as object, { b: 1, a: 1 }), '{"a":1,"b":1}'],
  ];
  for (const [why, value, expected] of table) {
    it(why, () => { assert.equal(canonicalJson(value), expected); });
  }

  const cyclic: Record<string, unknown> = {};
  cyclic['self'] = cyclic;
  class Custom {
    a = 1;
  }
  const refused: [string, unknown][] = [
    ['NaN', { n: Number.NaN }],
    ['Infinity', [Number.POSITIVE_INFINITY]],
    ['a fraction', { n: 1.5 }],
    ['an unsafe integer', { n: 2 ** 53 }],
    ['undefined at the top', undefined],
    ['an undefined member', { a: undefined }],
    ['a function', { f: () => 1 }],
    ['a symbol', { s: Symbol('x') }],
    ['a bigint', { n: 1n }],
    ['a Date', { d: new Date(0) }],
    ['a Map', new Map()],
    ['a class instance', new Custom()],
    ['a lone high surrogate', { s: '\uD800' }],
    ['a lone low surrogate in a key', { '\uDC00': 1 }],
    ['a cycle', cyclic],
  ];
  for (const [why, value] of refused) {
    it(`refuses ${why}`, () => { assert.throws(() => canonicalJson(value), (error) => isPairError(error, 'bad_input')); });
  }
});

describe('verifyCard refuses bad cards', () => {
  const good = vectorCard.card;
  const otherSeed = new Uint8Array(32).fill(1);
  const otherCard = createCard('alice', otherSeed, good.created_at);
  const identityPointKey = toBase64(fromHex('01' + '00'.repeat(31), 'identity point'));
  const smallOrderKey = toBase64(fromHex('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a', 'order 8 point'));
  const with_ = (changes: Record<string, unknown>): Record<string, unknown> => ({ ...good, ...changes });
  const without = (field: string): Record<string, unknown> => Object.fromEntries(Object.entries(good).filter(([name]) => name !== field));

  const cases: { name: string; value: unknown; reason: RegExp }[] = [
    { name: 'null', value: null, reason: /not a JSON object/ },
    { name: 'a string', value: JSON.stringify(good), reason: /not a JSON object/ },
    { name: 'an array', value: [good], reason: /not a JSON object/ },
    { name: 'an extra field', value: with_({ admin: true }), reason: /unexpected field "admin"/ },
    ...['v', 'handle', 'key', 'created_at', 'sig'].map((field) => ({ name: `a missing ${field}`, value: without(field), reason: new RegExp(`missing the field "${field}"`) })),
    { name: 'version 2', value: with_({ v: 2 }), reason: /version/ },
    { name: 'version "1"', value: with_({ v: '1' }), reason: /version/ },
    { name: 'an empty handle', value: with_({ handle: '' }), reason: /handle/ },
    { name: 'a 65-character handle', value: with_({ handle: 'a'.repeat(65) }), reason: /handle/ },
    { name: 'a handle with a space', value: with_({ handle: 'al ice' }), reason: /handle/ },
    { name: 'a non-ASCII handle', value: with_({ handle: 'alicé' }), reason: /handle/ },
    { name: 'a numeric handle', value: with_({ handle: 42 }), reason: /handle/ },
    { name: 'a key that is not base64', value: with_({ key: 'not-base64!' }), reason: /"key" is not standard padded base64/ },
    { name: 'a key of 31 bytes', value: with_({ key: toBase64(new Uint8Array(31)) }), reason: /"key" .* of 32 bytes/ },
    { name: 'a key that is not a point', value: with_({ key: toBase64(fromHex('02' + '00'.repeat(31), 'y=2')) }), reason: /not an Ed25519 public key/ },
    { name: 'the identity point as key', value: with_({ key: identityPointKey }), reason: /prime-order subgroup/ },
    { name: 'a small-order key', value: with_({ key: smallOrderKey }), reason: /prime-order subgroup/ },
    { name: 'a created_at with a space', value: with_({ created_at: '2026-11-25 00:00:00Z' }), reason: /created_at/ },
    { name: 'a created_at with an offset', value: with_({ created_at: '2026-11-25T00:00:00+01:00' }), reason: /created_at/ },
    { name: 'a created_at on 30 February', value: with_({ created_at: '2026-02-30T00:00:00Z' }), reason: /created_at/ },
    { name: 'a created_at at hour 24', value: with_({ created_at: '2026-11-25T24:00:00Z' }), reason: /created_at/ },
    { name: 'a created_at as a number', value: with_({ created_at: 1_790_000_000 }), reason: /created_at/ },
    { name: 'a signature of 63 bytes', value: with_({ sig: toBase64(new Uint8Array(63)) }), reason: /"sig" .* of 64 bytes/ },
    { name: 'a changed handle (signature no longer covers it)', value: with_({ handle: 'mallory' }), reason: /signature that does not verify/ },
    { name: 'a changed created_at', value: with_({ created_at: '2026-11-25T00:00:01Z' }), reason: /signature that does not verify/ },
    { name: "another card's signature", value: with_({ sig: otherCard.sig }), reason: /signature that does not verify/ },
    { name: 'another key under the same signature', value: with_({ key: otherCard.key }), reason: /signature that does not verify/ },
    // The classic forgery: identity key, signature (R = identity, S = 0) "verifies" any message.
    { name: 'the identity-key forgery', value: with_({ key: identityPointKey, sig: toBase64(fromHex('01' + '00'.repeat(63), 'forged sig')) }), reason: /prime-order subgroup/ },
  ];
  for (const { name, value, reason } of cases) {
    it(`refuses ${name}`, () => { assert.throws(() => verifyCard(value), (error) => isPairError(error, 'bad_card') && reason.test(error.message)); });
  }

  // A pinned card read back from this home's store (trust.ts): every check but the key's point
  // checks, which ran at pinning (see verifyPinnedCard for why they guard nothing there).
  const pointChecks = /prime-order subgroup|not an Ed25519 public key/;
  const forgery = cases.find((refusal) => refusal.name === 'the identity-key forgery')?.value;
  for (const { name, value, reason } of cases.filter((refusal) => refusal.value !== forgery)) {
    it(`refuses ${name} read back as a pinned card`, () => {
      // A key failing the point checks is refused there by the signature instead.
      const expected = pointChecks.test(reason.source) ? /signature that does not verify/ : reason;
      assert.throws(() => verifyPinnedCard(value), (error) => isPairError(error, 'bad_card') && expected.test(error.message));
    });
  }

  it('reads a pinned card back without its point checks, and never vouches for it to verifyCard', () => {
    assert.deepEqual(verifyPinnedCard(structuredClone(good)), good);
    // Under the CLI's curves (OpenSSL's verify, which admits small-order keys) the identity-key
    // forgery verifies by its signature alone: read back it passes (only a writer of the home
    // could have stored it, and pinPeer refuses it), but a peer handing the same card over is
    // still refused, however often it was read back before.
    const installedBefore = curves();
    useCurves(nativeCurves);
    try {
      assert.equal(verifyPinnedCard(forgery).key, identityPointKey);
      assert.equal(verifyPinnedCard(forgery).key, identityPointKey);
      assert.throws(() => verifyCard(forgery), (error) => isPairError(error, 'bad_card') && /prime-order subgroup/.test(error.message));
    } finally {
      useCurves(installedBefore);
    }
  });

  it('returns a fresh object holding only the card fields', () => {
    const input: Card = structuredClone(good);
    const verified = verifyCard(input);
    assert.notEqual(verified, input);
    assert.deepEqual(Object.keys(verified).sort(), ['created_at', 'handle', 'key', 'sig', 'v']);
  });

  it('accepts RFC 3339 UTC times with fractions and leap seconds, as their own signature covers', () => {
    for (const time of ['2026-11-25T00:00:00.123Z', '2016-12-31T23:59:60Z', '2028-02-29T12:00:00Z']) {
      assert.ok(isRfc3339Utc(time), time);
      assert.equal(verifyCard(createCard('bob', otherSeed, time)).created_at, time);
    }
    for (const time of ['2027-02-29T12:00:00Z', '2026-13-01T00:00:00Z', '2026-11-25T00:00:00z', '2026-11-25T00:00:00']) assert.ok(!isRfc3339Utc(time), time);
  });

  it('createCard refuses bad arguments', () => {
    assert.throws(() => createCard('bad handle', otherSeed, good.created_at), (error) => isPairError(error, 'bad_input'));
    assert.throws(() => createCard('alice', new Uint8Array(31), good.created_at), (error) => isPairError(error, 'bad_input'));
    assert.throws(() => createCard('alice', otherSeed, '2026-11-25T00:00:00.000+00:00'), (error) => isPairError(error, 'bad_input'));
  });
});

// ---------------------------------------------------------------------------------------------
// Identity in storage.

class FixedClock implements Clock {
  constructor(public time = Date.UTC(2026, 10, 25, 9, 30, 15, 250)) {}
  now(): number {
    return this.time;
  }
  sleep(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * A stand-in for the relay's inbox allocation, counting calls. The real relay client is being
 * written concurrently in src/relay; these tests only need allocateSlot, so the other methods
 * of the port are not reachable here and fail loudly if called.
 */
class CountingInboxRelay implements RelayPort {
  readonly url = 'http://127.0.0.1:8771';
  allocations = 0;
  async allocateSlot(): Promise<InboxSlot> {
    this.allocations++;
    await Promise.resolve(); // let concurrent callers interleave, as over a network
    return { slotId: `slot${this.allocations}`.padEnd(32, '0'), ownerToken: `owner${this.allocations}`.padEnd(64, 'f') };
  }
  openHost(): never {
    throw new Error('not used by identity');
  }
  joinGuest(): never {
    throw new Error('not used by identity');
  }
  put(): never {
    throw new Error('not used by identity');
  }
  get(): never {
    throw new Error('not used by identity');
  }
  grant(): never {
    throw new Error('not used by identity');
  }
  revokeGrant(): never {
    throw new Error('not used by identity');
  }
  postMessage(): never {
    throw new Error('not used by identity');
  }
  readMessages(): never {
    throw new Error('not used by identity');
  }
  ackMessages(): never {
    throw new Error('not used by identity');
  }
}

/** A store that crashes (throws) on its `failOnSet`-th write, like a process killed mid-write. */
class CrashingStore implements KeyValueStore {
  writes = 0;
  constructor(
    readonly inner: MemoryKeyValueStore,
    private readonly failOnSet: () => boolean,
  ) {}
  get(key: string): Promise<string | undefined> {
    return this.inner.get(key);
  }
  async set(key: string, value: string): Promise<void> {
    if (this.failOnSet()) throw new Error('simulated crash');
    this.writes++;
    await this.inner.set(key, value);
  }
  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }
}

function makeDeps(): IdentityDeps & { vault: MemoryKeyValueStore; memory: MemoryKeyValueStore; clock: FixedClock } {
  return { vault: new MemoryKeyValueStore(), memory: new MemoryKeyValueStore(), random: systemRandom, clock: new FixedClock() };
}

describe('initSelfIdempotent', () => {
  it('creates an identity: private key in the vault only, card in memory', async () => {
    const deps = makeDeps();
    const { identity, created } = await initSelfIdempotent(deps, 'alice');
    assert.equal(created, true);
    assert.equal(identity.handle, 'alice');
    assert.equal(identity.card.created_at, '2026-11-25T09:30:15Z');
    assert.deepEqual(verifyCard(identity.card), identity.card);
    assert.equal(identity.fingerprint, cardFingerprint(identity.card));
    assert.equal(identity.relay, undefined);

    const privateHex = await deps.vault.get(IDENTITY_KEYS.privateKey);
    assert.ok(privateHex !== undefined);
    assert.equal(toBase64(ed25519.getPublicKey(fromHex(privateHex, 'stored key', 32))), identity.card.key);
    assert.ok(!deps.memory.entries().some(([, value]) => value.includes(privateHex)), 'the private key must not be in memory');
    assert.deepEqual(await loadIdentity(deps), identity);
    assert.deepEqual(await loadSigningKey(deps), fromHex(privateHex, 'stored key', 32));
  });

  it('is idempotent for the same handle: same card, nothing rewritten', async () => {
    const deps = makeDeps();
    const first = await initSelfIdempotent(deps, 'alice');
    const before = [...deps.vault.entries(), ...deps.memory.entries()];
    deps.clock.time += 60_000;
    const second = await initSelfIdempotent(deps, 'alice');
    assert.equal(second.created, false);
    assert.deepEqual(second.identity, first.identity);
    assert.deepEqual([...deps.vault.entries(), ...deps.memory.entries()], before);
  });

  it('refuses a different handle without touching the identity', async () => {
    const deps = makeDeps();
    const { identity } = await initSelfIdempotent(deps, 'alice');
    await assert.rejects(initSelfIdempotent(deps, 'bob'), (error) => {
      return isPairError(error, 'identity_conflict') && error.message.includes('"alice"') && error.message.includes(identity.fingerprint) && /Keep it/.test(error.message) && /start over/.test(error.message);
    });
    assert.deepEqual(await loadIdentity(deps), identity);
  });

  it('refuses a bad handle', async () => {
    for (const handle of ['', 'has space', 'a'.repeat(65), 'dot.ted']) {
      await assert.rejects(initSelfIdempotent(makeDeps(), handle), (error) => isPairError(error, 'bad_input') && /handle/.test(error.message));
    }
  });

  it('allocates the inbox slot once, even when asked concurrently and again later', async () => {
    const deps = makeDeps();
    const relay = new CountingInboxRelay();
    const results = await Promise.all(Array.from({ length: 5 }, () => initSelfIdempotent(deps, 'alice', relay)));
    assert.equal(relay.allocations, 1);
    assert.equal(results.filter((result) => result.created).length, 1);
    for (const { identity } of results) assert.deepEqual(identity.relay, { url: relay.url, slotId: 'slot1'.padEnd(32, '0') });
    await initSelfIdempotent(deps, 'alice', relay);
    assert.equal(relay.allocations, 1);

    const ownerToken = await loadInboxOwnerToken(deps);
    assert.equal(ownerToken, 'owner1'.padEnd(64, 'f'));
    assert.ok(!deps.memory.entries().some(([, value]) => value.includes(ownerToken)), 'the owner token must not be in memory');
    assert.deepEqual((await loadIdentity(deps))?.relay, { url: relay.url, slotId: 'slot1'.padEnd(32, '0') });
  });

  it('binds an existing identity to a relay the first time one is given', async () => {
    const deps = makeDeps();
    const relay = new CountingInboxRelay();
    const { identity } = await initSelfIdempotent(deps, 'alice');
    assert.equal(await loadInboxOwnerToken(deps), undefined);
    const bound = await initSelfIdempotent(deps, 'alice', relay);
    assert.equal(bound.created, false);
    assert.equal(bound.identity.fingerprint, identity.fingerprint);
    assert.equal(relay.allocations, 1);
    assert.equal(bound.identity.relay?.url, relay.url);
  });

  it('never leaves half an identity when interrupted at any write, and a retry completes it', async () => {
    const relay = new CountingInboxRelay();
    // First count the writes a full setup makes, then crash before each one in turn.
    const counting = makeDeps();
    const countingVault = new CrashingStore(counting.vault, () => false);
    const countingMemory = new CrashingStore(counting.memory, () => false);
    await initSelfIdempotent({ ...counting, vault: countingVault, memory: countingMemory }, 'alice', relay);
    const totalWrites = countingVault.writes + countingMemory.writes;
    assert.equal(totalWrites, 4);

    for (let crashAt = 0; crashAt < totalWrites; crashAt++) {
      const deps = makeDeps();
      let writes = 0;
      const crashes = () => writes++ === crashAt;
      const crashing = { ...deps, vault: new CrashingStore(deps.vault, crashes), memory: new CrashingStore(deps.memory, crashes) };
      await assert.rejects(initSelfIdempotent(crashing, 'alice', relay), /simulated crash/);

      const partial = await loadIdentity(deps);
      if (partial) {
        // A complete card and key exist; only the inbox binding may be missing.
        assert.deepEqual(verifyCard(partial.card), partial.card);
        assert.equal(partial.relay, undefined);
        assert.equal(await loadInboxOwnerToken(deps), undefined);
      }
      const storedKey = await deps.vault.get(IDENTITY_KEYS.privateKey);
      const retried = await initSelfIdempotent(deps, 'alice', relay);
      assert.ok(retried.identity.relay, `crash at write ${crashAt}: the retry binds the inbox`);
      assert.equal(await loadInboxOwnerToken(deps) !== undefined, true);
      if (storedKey !== undefined) {
        // A key written before the crash is reused: the fingerprint is the one the key implies.
        assert.equal(retried.identity.fingerprint, fingerprint(ed25519.getPublicKey(fromHex(storedKey, 'key', 32))));
      }
      if (partial) assert.equal(retried.identity.fingerprint, partial.fingerprint);
    }
  });

  it('treats a card without its private key as absent, and replaces it on the next init', async () => {
    const deps = makeDeps();
    const { identity } = await initSelfIdempotent(deps, 'alice');
    await deps.vault.delete(IDENTITY_KEYS.privateKey);
    assert.equal(await loadIdentity(deps), undefined);
    await assert.rejects(loadSigningKey(deps), (error) => isPairError(error, 'identity_missing'));
    const again = await initSelfIdempotent(deps, 'alice');
    assert.equal(again.created, true);
    assert.notEqual(again.identity.fingerprint, identity.fingerprint);
  });

  it('treats a card that does not match the stored key as absent', async () => {
    const deps = makeDeps();
    await initSelfIdempotent(deps, 'alice');
    await deps.memory.set(IDENTITY_KEYS.card, canonicalJson(vectorCard.card));
    assert.equal(await loadIdentity(deps), undefined);
  });

  it('treats a card with the stored key but a signature that does not cover it as absent (its own card skips only the point checks)', async () => {
    const deps = makeDeps();
    const { identity } = await initSelfIdempotent(deps, 'alice');
    // Another handle under the same key and signature: the key matches the seed, the signature does not verify.
    await deps.memory.set(IDENTITY_KEYS.card, canonicalJson({ ...identity.card, handle: 'mallory' }));
    assert.equal(await loadIdentity(deps), undefined);
    await assert.rejects(loadSigningKey(deps), (error) => isPairError(error, 'identity_missing'));
  });

  it('repairs a damaged card from the stored key, keeping the fingerprint', async () => {
    const deps = makeDeps();
    const { identity } = await initSelfIdempotent(deps, 'alice');
    await deps.memory.set(IDENTITY_KEYS.card, '{"v":1,');
    assert.equal(await loadIdentity(deps), undefined);
    const repaired = await initSelfIdempotent(deps, 'alice');
    assert.equal(repaired.created, true);
    assert.equal(repaired.identity.fingerprint, identity.fingerprint);
  });

  it("ignores an inbox binding that belongs to another identity's fingerprint", async () => {
    const deps = makeDeps();
    const relay = new CountingInboxRelay();
    await initSelfIdempotent(deps, 'alice', relay);
    await deps.vault.delete(IDENTITY_KEYS.privateKey);
    const fresh = await initSelfIdempotent(deps, 'alice', relay);
    assert.equal(relay.allocations, 2, 'the new identity gets its own inbox');
    assert.equal(fresh.identity.relay?.slotId, 'slot2'.padEnd(32, '0'));
  });

  it('ignores an inbox binding whose owner token is missing', async () => {
    const deps = makeDeps();
    const relay = new CountingInboxRelay();
    await initSelfIdempotent(deps, 'alice', relay);
    await deps.vault.delete(IDENTITY_KEYS.inbox);
    assert.equal((await loadIdentity(deps))?.relay, undefined);
    assert.equal(await loadInboxOwnerToken(deps), undefined);
  });

  it('reads again whenever a stored value changed since the last read, and hands out copies', async () => {
    const deps = makeDeps();
    const relay = new CountingInboxRelay();
    const { identity } = await initSelfIdempotent(deps, 'alice', relay);
    const card = await deps.memory.get(IDENTITY_KEYS.card);
    const key = await deps.vault.get(IDENTITY_KEYS.privateKey);
    const inbox = await deps.vault.get(IDENTITY_KEYS.inbox);
    assert.ok(card !== undefined && key !== undefined && inbox !== undefined);
    const seed = fromHex(key, 'stored key', 32);
    assert.deepEqual(await loadIdentity(deps), identity);
    // What a caller does to what it was given (it wipes the seed after signing) is its own.
    const given = await loadSigningKey(deps);
    given.fill(0);
    const loaded = await loadIdentity(deps);
    assert.ok(loaded?.relay);
    loaded.relay.slotId = 'changed';
    loaded.card.handle = 'mallory';
    assert.deepEqual(await loadSigningKey(deps), seed);
    assert.deepEqual(await loadIdentity(deps), identity);
    // Each stored value, changed and put back, between reads of the same stores.
    await deps.memory.set(IDENTITY_KEYS.card, canonicalJson(vectorCard.card));
    assert.equal(await loadIdentity(deps), undefined);
    await deps.memory.set(IDENTITY_KEYS.card, card);
    assert.deepEqual(await loadIdentity(deps), identity);
    await deps.vault.set(IDENTITY_KEYS.privateKey, vectorCard.private_seed_hex);
    assert.equal(await loadIdentity(deps), undefined);
    await deps.vault.set(IDENTITY_KEYS.privateKey, key);
    assert.deepEqual(await loadIdentity(deps), identity);
    await deps.vault.delete(IDENTITY_KEYS.inbox);
    assert.equal((await loadIdentity(deps))?.relay, undefined);
    assert.equal(await loadInboxOwnerToken(deps), undefined);
    await deps.vault.set(IDENTITY_KEYS.inbox, inbox);
    assert.deepEqual(await loadIdentity(deps), identity);
    assert.equal(await loadInboxOwnerToken(deps), (JSON.parse(inbox) as { owner_token: string }).owner_token);
  });

  it('reports no identity in empty stores', async () => {
    const deps = makeDeps();
    assert.equal(await loadIdentity(deps), undefined);
    assert.equal(await loadInboxOwnerToken(deps), undefined);
    await assert.rejects(loadSigningKey(deps), (error) => isPairError(error, 'identity_missing'));
  });
});

describe('sanitiseHandle', () => {
  const cases: [string, string][] = [
    ['alice', 'alice'],
    ['jane.doe', 'jane-doe'],
    ['Jane Doe', 'Jane-Doe'],
    ['CORP\\Jane Doe', 'Jane-Doe'],
    ['  bob  ', 'bob'],
    ['renée', 'rene'],
    ['a..b  c', 'a-b-c'],
    ['.hidden.', 'hidden'],
    ['x'.repeat(80), 'x'.repeat(64)],
    ['', 'agent'],
    ['日本', 'agent'],
    ['---', 'agent'],
  ];
  for (const [name, handle] of cases) {
    it(`${JSON.stringify(name)} becomes ${JSON.stringify(handle)}, a valid handle`, () => {
      assert.equal(sanitiseHandle(name), handle);
      assert.match(sanitiseHandle(name), HANDLE_PATTERN);
    });
  }
});
