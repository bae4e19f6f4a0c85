// Messages v2 (PROTOCOL.md section 7.3 and the checks of 7.4): sealed in HPKE Base mode to a
// receive key the recipient gave this one peer (or, for the one `keys` message that upgrades a
// peer pinned before section 7, to its identity-derived key under kid "id"), and signed with the
// sender's Ed25519 identity key. Base mode gives forward secrecy once the recipient deletes the
// receive key's secret; the signature is what a thief of the recipient's secrets cannot make.
//
// Which key to seal to and which secrets to hold is receiveKeys.ts's business; this module only
// builds and checks bytes. HPKE's Base mode is hpke.ts's (setupBaseSender, openBase): the suite
// section 6 uses, without @hpke's machinery around it.

import { concatBytes, fromBase64, fromHex, requireBytes, toBase64, utf8 } from './bytes.js';
import { PairError } from './errors.js';
import { canonicalJson } from './identity.js';
import {
  type Body,
  MessageRejected,
  type ParseExpectations,
  checkAddressed,
  checkMessageFields,
  checkSentAt,
  hasExactly,
  isPlainObject,
  loadHpke,
  parseEnvelopeJson,
  parsePlaintext,
} from './messages.js';
import { curves } from './curves.js';
import { MAX_ENVELOPE_BYTES, SLOT_ID_PATTERN } from './vocabulary.js';
import { IDENTITY_KID, MAX_ONE_TIME_KEYS_PER_MESSAGE, receiveKeyPublic } from './receiveKeys.js';

export const MESSAGE_V2_INFO = 'agent-pair/v2 message';
// Defined with the receive keys, so that module (and `agent-pair peers`) loads without HPKE.
export { IDENTITY_KID, MAX_ONE_TIME_KEYS_PER_MESSAGE, receiveKeyPublic };
export const MAX_KEYS_PER_MESSAGE = MAX_ONE_TIME_KEYS_PER_MESSAGE + 1;
export const KID_PATTERN = /^[0-9a-f]{16}$/;
const X25519_KEY_LENGTH = 32;
const ENC_LENGTH = 32;
const TAG_LENGTH = 16;
const SIGNATURE_LENGTH = 64;

/** A receive key as given on the wire (7.1). */
export interface GivenKey {
  kid: string;
  /** Base64 of the 32-byte X25519 public key. */
  pub: string;
  last?: true;
}

/** The body that only carries `keys` (never shown, never receipted). */
export interface KeysBody {
  type: 'keys';
  [field: string]: unknown;
}

export interface MessageV2 {
  v: 2;
  id: string;
  from: string;
  to: string;
  n: number;
  sent_at: string;
  body: Body | KeysBody;
  keys: GivenKey[];
  sig: string;
}
export type UnsignedMessageV2 = Omit<MessageV2, 'sig'>;

const infoBytes = utf8(MESSAGE_V2_INFO);

/**
 * Every 32-byte X25519 public key of low order, top bit clear: the u-coordinates (mod p) of the
 * points of order 1, 2, 4 or 8 on the curve or its twist (0, 1, p-1 and the two of order 8, the
 * list libsodium refuses), and the longer spellings of 0 and 1 below 2^255 (p and p+1; p-1 has
 * none, 2p-1 is past 2^255). RFC 7748 ignores the top bit, so a key is one of these whatever its
 * top bit is. Sealing to one gives an all-zero Diffie-Hellman, which HPKE refuses, so a peer
 * giving one could only make this side's sends to it fail.
 */
const LOW_ORDER_X25519 = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
  '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
].map((hex) => fromHex(hex, 'low-order point', X25519_KEY_LENGTH));

/**
 * True if the X25519 public key is a low-order point (RFC 7748 decoding: top bit ignored, then
 * mod p), compared byte for byte with the list above; a key that is not 32 bytes counts as one
 * (nothing can be sealed to it either).
 */
export function isLowOrderX25519(publicKey: Uint8Array): boolean {
  if (publicKey.length !== X25519_KEY_LENGTH) return true;
  return LOW_ORDER_X25519.some((point) => point.every((byte, index) => (index === X25519_KEY_LENGTH - 1 ? (publicKey[index] as number) & 0x7f : publicKey[index]) === byte));
}

/**
 * Checks a list of given keys (from a peer's bootstrap or message): at most 17, each exactly
 * `{"kid","pub"}` or `{"kid","pub","last":true}`, distinct kids, at most one last-resort key.
 * Throws an Error whose message completes "keys ...".
 */
export function parseGivenKeys(value: unknown): GivenKey[] {
  if (!Array.isArray(value) || value.length > MAX_KEYS_PER_MESSAGE) throw new Error(`is not a list of at most ${MAX_KEYS_PER_MESSAGE} receive keys`);
  const keys: GivenKey[] = [];
  for (const entry of value) {
    if (!isPlainObject(entry) || !hasExactly(entry, ['kid', 'pub'], ['last'])) throw new Error('holds an entry that is not exactly {"kid","pub"} or {"kid","pub","last":true}');
    const { kid, pub, last } = entry;
    if (typeof kid !== 'string' || !KID_PATTERN.test(kid)) throw new Error('holds a kid that is not 16 lowercase hex characters');
    if (typeof pub !== 'string') throw new Error('holds a pub that is not base64 of 32 bytes');
    let publicKey: Uint8Array;
    try {
      publicKey = fromBase64(pub, 'pub', X25519_KEY_LENGTH);
    } catch {
      throw new Error('holds a pub that is not base64 of 32 bytes');
    }
    if (isLowOrderX25519(publicKey)) throw new Error(`holds a pub that is a low-order X25519 point (kid ${kid}): nothing can be sealed to it`);
    if (last !== undefined && last !== true) throw new Error('holds a last that is not true');
    if (keys.some((key) => key.kid === kid)) throw new Error('holds one kid twice');
    keys.push(last === true ? { kid, pub, last } : { kid, pub });
  }
  if (keys.filter((key) => key.last).length > 1) throw new Error('holds more than one last-resort key');
  if (keys.length - (keys.some((key) => key.last) ? 1 : 0) > MAX_ONE_TIME_KEYS_PER_MESSAGE) throw new Error(`holds more than ${MAX_ONE_TIME_KEYS_PER_MESSAGE} one-time keys`);
  return keys;
}

/** `utf8("agent-pair/v2 message") || 0x00 || utf8(kid) || 0x00 || enc || C` (7.3). */
export function signedBytes(kid: string, enc: Uint8Array, unsigned: UnsignedMessageV2): Uint8Array {
  return concatBytes(infoBytes, new Uint8Array([0]), utf8(kid), new Uint8Array([0]), enc, utf8(canonicalJson(unsigned)));
}

export interface SealV2Request {
  /** This side's Ed25519 private seed: signs the message. */
  senderSeed: Uint8Array;
  /** The X25519 public key the recipient gave (or its identity-derived one for kid "id"). */
  recipientKey: Uint8Array;
  kid: string;
  /** The recipient's inbox slot id: the associated data. */
  recipientSlotId: string;
  message: UnsignedMessageV2;
  /** Test vectors only: the ephemeral key pair is DeriveKeyPair(ikm). Real senders omit it. */
  ephemeralIkm?: Uint8Array;
}

/** Signs and seals one v2 message; returns the envelope's canonical JSON as UTF-8 bytes. */
export async function sealEnvelopeV2(request: SealV2Request): Promise<Uint8Array> {
  if (!SLOT_ID_PATTERN.test(request.recipientSlotId)) throw new PairError('bad_input', 'recipientSlotId is not a slot id; expected 32 lowercase hex characters.');
  if (request.kid !== IDENTITY_KID && !KID_PATTERN.test(request.kid)) throw new PairError('bad_input', 'kid is not a receive key id; expected 16 lowercase hex characters or "id".');
  const { setupBaseSender } = await loadHpke();
  const recipientKey = requireBytes(request.recipientKey, 'recipientKey', X25519_KEY_LENGTH);
  // The context first: the signature covers `enc`, and the signed message is what gets sealed.
  let context: ReturnType<typeof setupBaseSender>;
  try {
    context = setupBaseSender(recipientKey, infoBytes, request.ephemeralIkm);
  } catch (error) {
    // The key came from the peer (kept by a build that took any 32 bytes): its failure is the peer's, never one that stops a pull.
    throw new PairError('protocol_violation', `The receive key ${request.kid} the peer gave is not a usable X25519 public key (${error instanceof Error ? error.message : 'HPKE refused it'}); this message was not sent.`, { cause: error });
  }
  const enc = context.enc;
  const sig = toBase64(curves().ed25519Sign(signedBytes(request.kid, enc, request.message), request.senderSeed));
  const plaintext = utf8(canonicalJson({ ...request.message, sig }));
  const ct = context.seal(plaintext, utf8(request.recipientSlotId));
  const envelope = utf8(canonicalJson({ v: 2, kid: request.kid, enc: toBase64(enc), ct: toBase64(ct) }));
  if (envelope.length > MAX_ENVELOPE_BYTES) throw new PairError('too_large', `The sealed message is ${envelope.length} bytes; an envelope may have at most ${MAX_ENVELOPE_BYTES}. Send less at once.`);
  return envelope;
}

export interface ParsedEnvelopeV2 {
  kid: string;
  enc: Uint8Array;
  ct: Uint8Array;
}

/**
 * The v2 envelope `{"v":2,"kid","enc","ct"}`, or undefined when the bytes are JSON whose `v` is
 * not 2 (a section 6 envelope, or nothing: messages.ts judges those). `bad_envelope` otherwise.
 */
export function parseEnvelopeV2(bytes: Uint8Array): ParsedEnvelopeV2 | undefined {
  const value = parseEnvelopeJson(bytes);
  if (!isPlainObject(value) || value['v'] !== 2) return undefined;
  if (!hasExactly(value, ['v', 'kid', 'enc', 'ct'], [])) throw new MessageRejected('bad_envelope', 'envelope is not exactly {"v":2,"kid","enc","ct"}');
  const kid = value['kid'];
  if (typeof kid !== 'string' || (kid !== IDENTITY_KID && !KID_PATTERN.test(kid))) throw new MessageRejected('bad_envelope', 'envelope kid is not 16 lowercase hex characters or "id"');
  try {
    const enc = fromBase64(value['enc'] as string, 'enc', ENC_LENGTH);
    const ct = fromBase64(value['ct'] as string, 'ct');
    if (ct.length < TAG_LENGTH) throw new Error('short');
    return { kid, enc, ct };
  } catch {
    throw new MessageRejected('bad_envelope', 'envelope enc or ct is not base64 of the expected size');
  }
}

export interface OpenV2Request {
  envelope: ParsedEnvelopeV2;
  /** The X25519 secret of the envelope's kid, or undefined when this side holds none for it (`unknown_key`). */
  recipientSecret: Uint8Array | undefined;
  /** This side's inbox slot id the envelope was read from. */
  ownSlotId: string;
  /** The Ed25519 public key of the peer the grant names (its pinned card). */
  senderPublic: Uint8Array;
  expect: ParseExpectations;
}

/**
 * Every check of 7.4 but the id dedup (the mailbox's), in its order: unknown_key, open_failed,
 * bad_message, wrong_sender, bad_signature, the "id" key carrying only `keys`, then stale /
 * from_future. Resolves the message, signature checked.
 */
export async function openEnvelopeV2(request: OpenV2Request): Promise<MessageV2> {
  const { kid, enc, ct } = request.envelope;
  if (request.recipientSecret === undefined) throw new MessageRejected('unknown_key', `kid ${kid} is no receive key this side gave that peer and still holds`);
  let plaintext: Uint8Array;
  try {
    const { openBase } = await loadHpke();
    // The array itself, never a copy: the curves find the key object they built for this secret
    // by it (nativeCurves.ts), so a receive key's secret is not imported again at each open.
    plaintext = openBase(enc, request.recipientSecret, infoBytes, utf8(request.ownSlotId), ct);
  } catch {
    throw new MessageRejected('open_failed', `HPKE OpenBase under kid ${kid} failed: not sealed to that key for this inbox, or altered`);
  }
  const message = parseMessageV2(plaintext);
  checkAddressed(message, request.expect);
  const { sig, ...unsigned } = message;
  if (!verifiesAs(sig, signedBytes(kid, enc, unsigned), request.senderPublic)) throw new MessageRejected('bad_signature', `the signature does not verify with the pinned key of ${request.expect.from}`);
  if (kid === IDENTITY_KID && message.body.type !== 'keys') throw new MessageRejected('bad_message', 'kid "id" carries only a keys body');
  checkSentAt(message.sent_at, request.expect.now);
  return message;
}

/** True if `sig` is base64 of an Ed25519 signature over `bytes` by `publicKey`; false for anything else. */
function verifiesAs(sig: string, bytes: Uint8Array, publicKey: Uint8Array): boolean {
  try {
    return curves().ed25519Verify(fromBase64(sig, 'sig', SIGNATURE_LENGTH), bytes, publicKey);
  } catch {
    return false;
  }
}

/** The plaintext as exactly the fields of 7.3 (`bad_message` otherwise); nothing checked against this side yet. */
function parseMessageV2(plaintext: Uint8Array): MessageV2 {
  const value = parsePlaintext(plaintext);
  if (!isPlainObject(value) || !hasExactly(value, ['v', 'id', 'from', 'to', 'n', 'sent_at', 'body', 'keys', 'sig'], [])) {
    throw new MessageRejected('bad_message', 'message does not have exactly the fields v, id, from, to, n, sent_at, body, keys, sig');
  }
  if (value['v'] !== 2) throw new MessageRejected('bad_message', 'message v is not 2');
  const rawBody = value['body'];
  // `keys` is v2's own body; every other body is section 6.2's.
  const isKeysBody = isPlainObject(rawBody) && rawBody['type'] === 'keys';
  if (isKeysBody && !hasExactly(rawBody, ['type'], [])) throw new MessageRejected('bad_message', 'message body of type keys has other fields than type');
  const fields = checkMessageFields(isKeysBody ? { ...value, body: { type: 'text', text: '' } } : value);
  let keys: GivenKey[];
  try {
    keys = parseGivenKeys(value['keys']);
  } catch (error) {
    throw new MessageRejected('bad_message', `message keys ${error instanceof Error ? error.message : 'is malformed'}`);
  }
  const sig = value['sig'];
  if (typeof sig !== 'string') throw new MessageRejected('bad_message', 'message sig is not a string');
  return { v: 2, ...fields, body: isKeysBody ? { type: 'keys' } : fields.body, keys, sig };
}
