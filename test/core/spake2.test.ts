import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ED25519_TORSION_SUBGROUP, ed25519 } from '@noble/curves/ed25519.js';
import type { EdwardsPoint } from '@noble/curves/abstract/edwards.js';
import { bytesToNumberBE, numberToBytesLE } from '@noble/curves/utils.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, fromHex, toHex, utf8 } from '../../src/core/bytes.js';
import { isPairError } from '../../src/core/errors.js';
import {
  SYMMETRIC_ELEMENT_HEX,
  passwordToScalar,
  scalarFromEntropy,
  sharedElement,
  spake2Start,
  symmetricElement,
  symmetricTranscript,
} from '../../src/core/spake2.js';
import { spake2Vectors } from './vectors.js';

const { params } = spake2Vectors;
const hex = (text: string): Uint8Array => fromHex(text, 'vector');

/** The seeds python-spake2 derives M, N (asymmetric roles, unused here) and S from. */
const ELEMENT_SEEDS = { M: utf8('M'), N: utf8('N'), S: utf8('symmetric') } as const;

/**
 * python-spake2's `arbitrary_element`, the derivation src/core/spake2.ts keeps S as a constant
 * of: y0 = int_be(HKDF(seed, "", "SPAKE2 arbitrary element", 48)) mod p; for y = y0, y0+1, ...:
 * the point with that y and even x (if y is on the curve), times the cofactor 8; the first
 * result that is not the identity.
 */
function arbitraryElement(seed: Uint8Array): EdwardsPoint {
  const { Point } = ed25519;
  const y0 = bytesToNumberBE(hkdf(sha256, seed, undefined, utf8('SPAKE2 arbitrary element'), 48)) % Point.Fp.ORDER;
  for (let plus = 0n; ; plus++) {
    // y < p < 2^255 leaves the encoding's sign bit clear, which selects the even root x.
    const encoding = numberToBytesLE((y0 + plus) % Point.Fp.ORDER, 32);
    let candidate: EdwardsPoint;
    try {
      candidate = Point.fromBytes(encoding);
    } catch {
      continue; // (y^2 - 1) / (d y^2 + 1) has no square root: y is not on the curve
    }
    const element = candidate.clearCofactor();
    if (!element.is0()) return element;
  }
}

/** python-spake2's test PRG (test/common.py), which the vectors' entropy came from. */
function vectorEntropy(seed: string): Uint8Array {
  return concatBytes(sha256(utf8(`prng-0-${seed}`)), sha256(utf8(`prng-1-${seed}`))).slice(0, 64);
}

describe('spake2 parameters (python-spake2 ParamsEd25519)', () => {
  it('derives M, N and S from their seeds exactly as the vectors record', () => {
    assert.equal(params.M_seed, 'M');
    assert.equal(params.N_seed, 'N');
    assert.equal(params.S_seed, 'symmetric');
    assert.equal(toHex(arbitraryElement(ELEMENT_SEEDS.M).toBytes()), params.M_point_hex);
    assert.equal(toHex(arbitraryElement(ELEMENT_SEEDS.N).toBytes()), params.N_point_hex);
    assert.equal(toHex(arbitraryElement(ELEMENT_SEEDS.S).toBytes()), params.S_point_hex);
    assert.equal(toHex(symmetricElement().toBytes()), params.S_point_hex);
  });

  it('keeps S as a constant that is its derivation from the seed "symmetric", in the prime-order subgroup', () => {
    assert.equal(SYMMETRIC_ELEMENT_HEX, toHex(arbitraryElement(ELEMENT_SEEDS.S).toBytes()));
    assert.equal(SYMMETRIC_ELEMENT_HEX, params.S_point_hex);
    const element = symmetricElement();
    assert.ok(element.equals(arbitraryElement(ELEMENT_SEEDS.S)));
    assert.ok(element.isTorsionFree() && !element.is0());
  });

  it('uses the same group as the vectors', () => {
    assert.equal(toHex(ed25519.Point.BASE.toBytes()), params.base_point_hex);
    assert.equal(ed25519.Point.Fn.ORDER, BigInt(params.group_order_L));
    assert.equal(ed25519.Point.Fp.ORDER, BigInt(params.field_prime_Q));
  });

  for (const vector of params.upstream_arbitrary_element_vectors) {
    it(`arbitrary element of seed ${vector.seed_hex} (upstream vector)`, () => {
      const element = arbitraryElement(hex(vector.seed_hex));
      assert.equal(toHex(element.toBytes()), vector.element_hex);
      assert.ok(element.isTorsionFree() && !element.is0());
    });
  }

  for (const vector of params.upstream_password_to_scalar_vectors) {
    it(`password scalar of ${vector.pw_hex} (upstream vector)`, () => {
      assert.equal(toHex(numberToBytesLE(passwordToScalar(hex(vector.pw_hex)), 32)), vector.scalar_le_hex);
    });
  }
});

describe('spake2 vectors', () => {
  for (const vector of spake2Vectors.vectors) {
    describe(vector.label, () => {
      const password = hex(vector.password_hex);
      const id = hex(vector.identity_hex);

      it('has password and identity bytes matching their text', () => {
        assert.equal(toHex(utf8(vector.password)), vector.password_hex);
        assert.equal(toHex(utf8(vector.identity)), vector.identity_hex);
      });

      it('derives the password scalar and both ephemeral scalars', () => {
        assert.equal(passwordToScalar(password).toString(), vector.pw_scalar_dec);
        assert.equal(toHex(numberToBytesLE(passwordToScalar(password), 32)), vector.pw_scalar_le_hex);
        for (const side of [vector.side1, vector.side2]) {
          assert.deepEqual(side.entropy_calls, [64]);
          assert.equal(toHex(vectorEntropy(side.entropy_seed)), side.entropy_hex);
          const x = scalarFromEntropy(hex(side.entropy_hex));
          assert.equal(x.toString(), side.xy_scalar_dec);
          assert.equal(toHex(numberToBytesLE(x, 32)), side.xy_scalar_le_hex);
        }
      });

      it('produces both messages, K, the transcript and the key in both directions', () => {
        const one = spake2Start(password, id, hex(vector.side1.entropy_hex));
        const two = spake2Start(password, id, hex(vector.side2.entropy_hex));
        assert.equal(toHex(one.message), vector.side1.msg_out_hex);
        assert.equal(toHex(two.message), vector.side2.msg_out_hex);

        const pw = passwordToScalar(password);
        const kFromOne = sharedElement(ed25519.Point.fromBytes(two.message.subarray(1)), pw, scalarFromEntropy(hex(vector.side1.entropy_hex)));
        const kFromTwo = sharedElement(ed25519.Point.fromBytes(one.message.subarray(1)), pw, scalarFromEntropy(hex(vector.side2.entropy_hex)));
        assert.equal(toHex(kFromOne), vector.K_bytes_hex);
        assert.equal(toHex(kFromTwo), vector.K_bytes_hex);

        const digests = [sha256(password), sha256(id)] as const;
        const transcriptOne = symmetricTranscript(...digests, one.message.subarray(1), two.message.subarray(1), kFromOne);
        const transcriptTwo = symmetricTranscript(...digests, two.message.subarray(1), one.message.subarray(1), kFromTwo);
        assert.equal(toHex(transcriptOne), vector.transcript_hex);
        assert.equal(toHex(transcriptTwo), vector.transcript_hex);

        assert.equal(toHex(one.finish(two.message)), vector.shared_key_hex);
        assert.equal(toHex(two.finish(one.message)), vector.shared_key_hex);
        assert.equal(toHex(sha256(hex(vector.transcript_hex))), vector.shared_key_hex);
      });
    });
  }

  for (const negative of spake2Vectors.negative) {
    it(`negative: ${negative.label}`, () => {
      const base = spake2Vectors.vectors[0]!;
      const id = hex(base.identity_hex);
      const one = spake2Start(utf8('12-ABCDEF'), id, vectorEntropy('1'));
      const two = spake2Start(utf8('12-ABCDEG'), id, vectorEntropy('2'));
      assert.equal(toHex(one.message), negative.side1_msg_out_hex);
      assert.equal(toHex(two.message), negative.side2_msg_out_hex);
      const keyOne = one.finish(two.message);
      const keyTwo = two.finish(one.message);
      assert.equal(toHex(keyOne), negative.side1_key_hex);
      assert.equal(toHex(keyTwo), negative.side2_key_hex);
      assert.notEqual(toHex(keyOne), toHex(keyTwo));
    });
  }

  it('gives different keys when only idSymmetric differs', () => {
    const one = spake2Start(utf8('12-ABCDEF'), utf8('pair-a'), vectorEntropy('1'));
    const two = spake2Start(utf8('12-ABCDEF'), utf8('pair-b'), vectorEntropy('2'));
    assert.notEqual(toHex(one.finish(two.message)), toHex(two.finish(one.message)));
  });
});

describe('spake2 finish refuses bad peer messages', () => {
  const password = utf8('12-ABCDEF');
  const id = utf8('pair-id-x');
  const start = () => spake2Start(password, id, vectorEntropy('1'));
  const honestPeer = spake2Start(password, id, vectorEntropy('2')).message;
  const withSide = (encodingHex: string): Uint8Array => concatBytes(Uint8Array.of(0x53), hex(encodingHex));
  const P = ed25519.Point.Fp.ORDER;
  const honestPoint = ed25519.Point.fromBytes(honestPeer.subarray(1));
  const orderEightPoint = ed25519.Point.fromHex(ED25519_TORSION_SUBGROUP[1]!);

  const cases: { name: string; message: () => Uint8Array; reason: RegExp }[] = [
    { name: 'empty', message: () => new Uint8Array(0), reason: /0 bytes instead of 33/ },
    { name: '32 bytes (side byte missing)', message: () => honestPeer.slice(1), reason: /32 bytes instead of 33/ },
    { name: '34 bytes', message: () => concatBytes(honestPeer, Uint8Array.of(0)), reason: /34 bytes instead of 33/ },
    { name: "side byte 'A' (asymmetric role)", message: () => concatBytes(Uint8Array.of(0x41), honestPeer.subarray(1)), reason: /side byte/ },
    { name: "side byte 'B' (asymmetric role)", message: () => concatBytes(Uint8Array.of(0x42), honestPeer.subarray(1)), reason: /side byte/ },
    { name: 'y = p (non-canonical spelling of y = 0)', message: () => withSide(toHex(numberToBytesLE(P, 32))), reason: /not a canonical point encoding \(y >= p\)/ },
    { name: 'y = p + 3 (non-canonical spelling of y = 3)', message: () => withSide(toHex(numberToBytesLE(P + 3n, 32))), reason: /y >= p/ },
    { name: 'y = 2^255 - 1', message: () => withSide('ff'.repeat(31) + '7f'), reason: /y >= p/ },
    { name: 'x = 0 with the sign bit set', message: () => withSide('01' + '00'.repeat(30) + '80'), reason: /not a canonical Ed25519 point encoding/ },
    { name: 'y = 2 (not on the curve)', message: () => withSide(toHex(numberToBytesLE(2n, 32))), reason: /not a canonical Ed25519 point encoding/ },
    { name: 'the identity point', message: () => withSide(ED25519_TORSION_SUBGROUP[0]!), reason: /identity point/ },
    ...ED25519_TORSION_SUBGROUP.slice(1).map((encoding, index) => ({
      name: `small-order torsion point #${index + 1}`,
      message: () => withSide(encoding),
      reason: /prime-order subgroup/,
    })),
    { name: 'an honest message plus an order-8 point (mixed order)', message: () => withSide(toHex(honestPoint.add(orderEightPoint).toBytes())), reason: /prime-order subgroup/ },
    { name: 'our own message reflected back', message: () => start().message, reason: /our own message/ },
  ];

  for (const { name, message, reason } of cases) {
    it(`refuses ${name}`, () => {
      const pending = start();
      assert.throws(() => pending.finish(message()), (error) => isPairError(error, 'protocol_violation') && reason.test(error.message));
    });
  }

  it('refuses a second finish, even after a first that failed', () => {
    const pending = start();
    assert.equal(pending.finish(honestPeer).length, 32);
    assert.throws(() => pending.finish(honestPeer), (error) => isPairError(error, 'invalid_state'));

    const failed = start();
    assert.throws(() => failed.finish(new Uint8Array(5)), (error) => isPairError(error, 'protocol_violation'));
    assert.throws(() => failed.finish(honestPeer), (error) => isPairError(error, 'invalid_state'));
  });

  it('refuses bad start arguments', () => {
    assert.throws(() => spake2Start(password, id, new Uint8Array(32)), (error) => isPairError(error, 'bad_input') && /64 bytes/.test(error.message));
    assert.throws(() => spake2Start('12-ABCDEF' as unknown as Uint8Array, id, vectorEntropy('1')), (error) => isPairError(error, 'bad_input'));
  });

  it('returns a message the caller cannot use to change the exchange', () => {
    const pending = start();
    pending.message.fill(0);
    const peer = spake2Start(password, id, vectorEntropy('2'));
    // The reflection check still compares against the real message, and the key is unchanged.
    assert.equal(toHex(pending.finish(peer.message)), toHex(spake2Start(password, id, vectorEntropy('1')).finish(peer.message)));
  });
});
