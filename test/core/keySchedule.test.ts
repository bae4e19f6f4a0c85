import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromBase64, fromHex, fromUtf8, toBase64, toHex, utf8 } from '../../src/core/bytes.js';
import { codeHash } from '../../src/core/codePhrase.js';
import { isPairError } from '../../src/core/errors.js';
import {
  MAX_BOOTSTRAP_BYTES,
  MAX_BOOTSTRAP_PAYLOAD_BYTES,
  bootstrapKey,
  confirmMac,
  deriveSas,
  formatSas,
  openBootstrap,
  pakeCommitment,
  sealBootstrap,
  spake2Entropy,
  typedSasMatches,
  verifyPeerConfirm,
} from '../../src/core/keySchedule.js';
import type { Role } from '../../src/core/ports.js';
import { spake2Start } from '../../src/core/spake2.js';
import { protocolVectors as pv } from './vectors.js';

const hex = (text: string): Uint8Array => fromHex(text, 'vector');
const K = hex(pv.K_hex);
const nonce = hex(pv.bootstrap.nonce_hex);
const payload = utf8(pv.bootstrap.payload_utf8);

describe('protocol vectors (PROTOCOL.md section 4)', () => {
  it('code hash', () => { assert.equal(codeHash(pv.code), pv.code_hash); });

  for (const role of ['host', 'guest'] as const) {
    const side = pv[role];
    it(`${role}: entropy, pake message and commitment`, () => {
      const entropy = spake2Entropy(hex(side.seed_hex));
      assert.equal(toHex(entropy), side.entropy_hex);
      const pending = spake2Start(utf8(pv.code), utf8(pv.pair_id), entropy);
      assert.equal(toHex(pending.message), side.pake_msg_hex);
      assert.equal(pakeCommitment(pending.message), side.commit);
    });

    it(`${role}: confirmation MAC and bootstrap key`, () => {
      assert.equal(toBase64(confirmMac(K, pv.code_hash, role)), side.confirm_b64);
      assert.equal(toHex(bootstrapKey(K, pv.code_hash, role)), side.bootstrap_key_hex);
    });
  }

  it('both sides arrive at K', () => {
    const host = spake2Start(utf8(pv.code), utf8(pv.pair_id), spake2Entropy(hex(pv.host.seed_hex)));
    const guest = spake2Start(utf8(pv.code), utf8(pv.pair_id), spake2Entropy(hex(pv.guest.seed_hex)));
    assert.equal(toHex(host.finish(guest.message)), pv.K_hex);
    assert.equal(toHex(guest.finish(host.message)), pv.K_hex);
  });

  it('SAS', () => {
    assert.equal(deriveSas(K, pv.code_hash), pv.sas);
    assert.equal(formatSas(pv.sas), `${pv.sas.slice(0, 3)}-${pv.sas.slice(3)}`);
  });

  it('bootstrap sealed bytes, exactly, with the given nonce', () => {
    assert.equal(sealBootstrap(K, pv.code_hash, pv.bootstrap.sender_role, pv.pair_id, payload, nonce), pv.bootstrap.sealed_b64);
  });

  it('bootstrap opens back to the payload', () => {
    const opened = openBootstrap(K, pv.code_hash, pv.bootstrap.sender_role, pv.pair_id, pv.bootstrap.sealed_b64);
    assert.equal(fromUtf8(opened), pv.bootstrap.payload_utf8);
  });
});

describe('key confirmation', () => {
  it("verifies the peer's MAC against the peer's role only", () => {
    const hostMac = confirmMac(K, pv.code_hash, 'host');
    assert.equal(verifyPeerConfirm(K, pv.code_hash, 'host', hostMac), true);
    assert.equal(verifyPeerConfirm(K, pv.code_hash, 'guest', hostMac), false, 'a reflected MAC must not verify');
  });

  it('fails for a different code, a different key, or a damaged MAC', () => {
    const hostMac = confirmMac(K, pv.code_hash, 'host');
    assert.equal(verifyPeerConfirm(K, codeHash('47-UE2BZH'), 'host', hostMac), false);
    const otherKey = K.slice();
    otherKey[0]! ^= 1;
    assert.equal(verifyPeerConfirm(otherKey, pv.code_hash, 'host', hostMac), false);
    for (let i = 0; i < hostMac.length; i += 7) {
      const damaged = hostMac.slice();
      damaged[i]! ^= 0x80;
      assert.equal(verifyPeerConfirm(K, pv.code_hash, 'host', damaged), false);
    }
    assert.equal(verifyPeerConfirm(K, pv.code_hash, 'host', hostMac.subarray(0, 31)), false);
    assert.equal(verifyPeerConfirm(K, pv.code_hash, 'host', new Uint8Array(0)), false);
  });
});

describe('SAS entry', () => {
  const table: [string, boolean, string][] = [
    ['594376', true, 'plain digits'],
    ['594-376', true, 'with the dash'],
    [' 594 376 ', true, 'with spaces'],
    ['5 9 4 - 3 7 6', true, 'digits spread out'],
    ['594-377', false, 'one digit off'],
    ['59437', false, 'five digits'],
    ['5943760', false, 'seven digits'],
    ['', false, 'empty'],
    ['abc-def', false, 'no digits'],
    ['٥٩٤٣٧٦', false, 'non-ASCII digits are stripped, leaving none'],
  ];
  for (const [typed, expected, why] of table) {
    it(`${expected ? 'accepts' : 'refuses'} ${why}`, () => { assert.equal(typedSasMatches(pv.sas, typed), expected); });
  }

  it('pads small SAS values to six digits', () => {
    // Search a few keys for a SAS below 100000 to see the zero padding happen.
    let found: string | undefined;
    for (let i = 0; i < 2000 && found === undefined; i++) {
      const key = new Uint8Array(32);
      new DataView(key.buffer).setUint32(0, i);
      const sas = deriveSas(key, pv.code_hash);
      assert.match(sas, /^[0-9]{6}$/);
      if (sas.startsWith('0')) found = sas;
    }
    assert.ok(found !== undefined, 'no SAS starting with 0 among 2000 keys');
    assert.equal(typedSasMatches(found, found), true);
    assert.equal(typedSasMatches(found, found.slice(1)), false);
  });

  it('refuses to format or compare something that is not a SAS', () => {
    for (const notSas of ['59437', '5943766', '594-376', 'abcdef']) {
      assert.throws(() => formatSas(notSas), (error) => isPairError(error, 'bad_input'));
      assert.throws(() => typedSasMatches(notSas, '594376'), (error) => isPairError(error, 'bad_input'));
    }
  });
});

describe('bootstrap seal and open', () => {
  const sealed = pv.bootstrap.sealed_b64;
  const open = (overrides: { key?: Uint8Array; codeHash?: string; role?: Role; pairId?: string; sealed?: string } = {}) =>
    openBootstrap(overrides.key ?? K, overrides.codeHash ?? pv.code_hash, overrides.role ?? 'host', overrides.pairId ?? pv.pair_id, overrides.sealed ?? sealed);
  const rewrite = (change: (bytes: Uint8Array) => Uint8Array): string => toBase64(change(fromBase64(sealed, 'sealed')));
  const flipAt = (index: number) => (bytes: Uint8Array) => {
    const copy = bytes.slice();
    const at = index < 0 ? copy.length + index : index;
    copy[at]! ^= 1;
    return copy;
  };

  const failures: { name: string; attempt: () => Uint8Array; reason: RegExp }[] = [
    { name: 'reflected (opened as the other role)', attempt: () => open({ role: 'guest' }), reason: /does not open/ },
    { name: 'opened for another pair id', attempt: () => open({ pairId: 'ffffffffffffffffffffffffffffffff' }), reason: /does not open/ },
    { name: 'opened with another code hash', attempt: () => open({ codeHash: codeHash('47-UE2BZH') }), reason: /does not open/ },
    { name: 'opened with a wrong key', attempt: () => open({ key: new Uint8Array(32).fill(7) }), reason: /does not open/ },
    { name: 'nonce tampered', attempt: () => open({ sealed: rewrite(flipAt(0)) }), reason: /does not open/ },
    { name: 'ciphertext tampered', attempt: () => open({ sealed: rewrite(flipAt(40)) }), reason: /does not open/ },
    { name: 'tag tampered', attempt: () => open({ sealed: rewrite(flipAt(-1)) }), reason: /does not open/ },
    { name: 'truncated by one byte', attempt: () => open({ sealed: rewrite((bytes) => bytes.subarray(0, bytes.length - 1)) }), reason: /does not open/ },
    { name: 'extended by one byte', attempt: () => open({ sealed: rewrite((bytes) => Uint8Array.of(...bytes, 0)) }), reason: /does not open/ },
    { name: 'shorter than nonce and tag', attempt: () => open({ sealed: toBase64(new Uint8Array(27)) }), reason: /too short/ },
    { name: 'empty', attempt: () => open({ sealed: '' }), reason: /too short/ },
    { name: 'not base64', attempt: () => open({ sealed: 'not base64!' }), reason: /base64/ },
    { name: 'base64 missing its last character', attempt: () => open({ sealed: sealed.slice(0, -1) }), reason: /base64/ },
    { name: 'base64 with whitespace', attempt: () => open({ sealed: ` ${sealed}` }), reason: /base64/ },
    { name: 'URL-safe base64', attempt: () => open({ sealed: toBase64(new Uint8Array(30).fill(0xfb)).replace(/\+/g, '-').replace(/\//g, '_') }), reason: /base64/ },
    { name: 'larger than 16 KiB decoded', attempt: () => open({ sealed: toBase64(new Uint8Array(MAX_BOOTSTRAP_BYTES + 1)) }), reason: /larger than 16384/ },
    { name: 'a huge string', attempt: () => open({ sealed: 'A'.repeat(1_000_000) }), reason: /larger than 16384/ },
  ];
  for (const { name, attempt, reason } of failures) {
    it(`fails when ${name}`, () => { assert.throws(attempt, (error) => isPairError(error, 'protocol_violation') && reason.test(error.message)); });
  }

  it('round-trips for both roles and refuses each as the other', () => {
    for (const sender of ['host', 'guest'] as const) {
      const other: Role = sender === 'host' ? 'guest' : 'host';
      const box = sealBootstrap(K, pv.code_hash, sender, pv.pair_id, utf8('hello'), new Uint8Array(12).fill(9));
      assert.equal(fromUtf8(openBootstrap(K, pv.code_hash, sender, pv.pair_id, box)), 'hello');
      assert.throws(() => openBootstrap(K, pv.code_hash, other, pv.pair_id, box), (error) => isPairError(error, 'protocol_violation'));
    }
  });

  it('seals the largest payload that fits the relay limit, and opens it', () => {
    const largest = new Uint8Array(MAX_BOOTSTRAP_PAYLOAD_BYTES).fill(0x61);
    const box = sealBootstrap(K, pv.code_hash, 'guest', pv.pair_id, largest, nonce);
    assert.equal(fromBase64(box, 'box').length, MAX_BOOTSTRAP_BYTES);
    assert.equal(openBootstrap(K, pv.code_hash, 'guest', pv.pair_id, box).length, MAX_BOOTSTRAP_PAYLOAD_BYTES);
    assert.throws(() => sealBootstrap(K, pv.code_hash, 'guest', pv.pair_id, new Uint8Array(MAX_BOOTSTRAP_PAYLOAD_BYTES + 1), nonce), (error) => isPairError(error, 'bad_input'));
  });
});

describe('argument checks', () => {
  const table: { name: string; call: () => unknown }[] = [
    { name: 'seed of 31 bytes', call: () => spake2Entropy(new Uint8Array(31)) },
    { name: 'key of 16 bytes', call: () => confirmMac(new Uint8Array(16), pv.code_hash, 'host') },
    { name: 'code hash in uppercase hex', call: () => confirmMac(K, pv.code_hash.toUpperCase(), 'host') },
    { name: 'the code instead of its hash', call: () => deriveSas(K, pv.code) },
    { name: 'a role that is neither host nor guest', call: () => bootstrapKey(K, pv.code_hash, 'admin' as Role) },
    { name: 'nonce of 24 bytes', call: () => sealBootstrap(K, pv.code_hash, 'host', pv.pair_id, payload, new Uint8Array(24)) },
    { name: 'empty pair id', call: () => sealBootstrap(K, pv.code_hash, 'host', '', payload, nonce) },
    { name: 'payload that is a string', call: () => sealBootstrap(K, pv.code_hash, 'host', pv.pair_id, 'text' as unknown as Uint8Array, nonce) },
    { name: 'open with a bad sender role', call: () => openBootstrap(K, pv.code_hash, 'peer' as Role, pv.pair_id, pv.bootstrap.sealed_b64) },
  ];
  for (const { name, call } of table) {
    it(`refuses ${name}`, () => { assert.throws(call, (error) => isPairError(error, 'bad_input')); });
  }
});
