// A hostile but properly paired peer: seals whatever plaintext it likes with its real key for
// the other side's real inbox and posts it with its real send token, skipping every check the
// honest SendRunner makes. It speaks section 7 (signed, sealed to a receive key the other side
// gave it) once it holds such a key, as an honest peer does, so the other side never has reason
// to refuse it as a downgrade. Works over any side's stores (in-memory sides, or a CLI home).

import { toBase64, utf8 } from '../../src/core/bytes.js';
import { curves } from '../../src/core/curves.js';
import { canonicalJson, loadIdentity, loadSigningKey } from '../../src/core/identity.js';
import { hpkeSuite, sealEnvelope } from '../../src/core/messages.js';
import { MESSAGE_V2_INFO } from '../../src/core/messagesV2.js';
import type { Clock, Memory, RelayConnector, Vault } from '../../src/core/ports.js';
import { ReceiveKeys } from '../../src/core/receiveKeys.js';
import { getPeer, loadPeerSendToken } from '../../src/core/trust.js';
import { randomBytes } from 'node:crypto';
import { formatTimestamp } from '../../src/core/vocabulary.js';

export interface HostileDeps {
  vault: Vault;
  memory: Memory;
  clock: Clock;
  relays: RelayConnector;
}

/** A fresh message id (32 hex). */
export const freshId = (): string => randomBytes(16).toString('hex');

/**
 * The plaintext of a message from `deps`' identity to `to`, with `body` as raw JSON text (so it
 * may nest 10,000 deep) and any field overridden.
 */
export async function rawMessage(deps: HostileDeps, to: string, bodyJson: string, fields: { id?: string; n?: number; sent_at?: string } = {}): Promise<string> {
  const identity = await loadIdentity(deps);
  if (!identity) throw new Error('no identity');
  const id = fields.id ?? freshId();
  const sentAt = fields.sent_at ?? formatTimestamp(deps.clock.now());
  return `{"body":${bodyJson},"from":"${identity.fingerprint}","id":"${id}","n":${fields.n ?? 1},"sent_at":"${sentAt}","to":"${to}","v":1}`;
}

/**
 * Seals `plaintext` for the pinned peer `to` and posts it to its inbox; on section 7, with `keys`
 * (whatever it is) as the receive keys the message gives.
 */
export async function postRaw(deps: HostileDeps, to: string, plaintext: string, keys: unknown = []): Promise<void> {
  const peer = await getPeer(deps, to);
  const token = await loadPeerSendToken(deps, to);
  if (!peer || token === undefined) throw new Error(`${to} is not pinned`);
  const seed = await loadSigningKey(deps);
  const route = await new ReceiveKeys({ ...deps, random: { bytes: (length) => randomBytes(length) } }).route(to);
  const envelope =
    route.v === 2
      ? await sealRawV2(seed, route.kid, route.pub, peer.slotId, plaintext, keys)
      : await sealEnvelope({ senderSeed: seed, recipientPublic: Buffer.from(peer.card.key, 'base64'), recipientSlotId: peer.slotId, plaintext: utf8(plaintext) });
  await deps.relays(peer.relayUrl).postMessage(peer.slotId, token, toBase64(envelope));
}

/**
 * Section 7.3 over a raw plaintext: when it parses, it becomes a v2 message giving `keys`, signed
 * as 7.3 says; when it does not (or is too deep to re-encode), it is sealed as it is, unsigned.
 */
async function sealRawV2(seed: Uint8Array, kid: string, recipientKey: Uint8Array, slotId: string, plaintext: string, keys: unknown): Promise<Uint8Array> {
  const suite = await hpkeSuite();
  const context = await suite.createSenderContext({ recipientPublicKey: await suite.kem.deserializePublicKey(recipientKey), info: utf8(MESSAGE_V2_INFO) });
  const enc = new Uint8Array(context.enc);
  let sealed = plaintext;
  try {
    const message = { ...(JSON.parse(plaintext) as Record<string, unknown>), v: 2, keys };
    const signed = Buffer.concat([utf8(MESSAGE_V2_INFO), Buffer.from([0]), utf8(kid), Buffer.from([0]), enc, utf8(canonicalJson(message))]);
    sealed = canonicalJson({ ...message, sig: toBase64(curves().ed25519Sign(signed, seed)) });
  } catch {
    // Not JSON, or nested past what re-encoding takes: sent as it is, for the receiver to refuse.
  }
  const ct = new Uint8Array(await context.seal(utf8(sealed), utf8(slotId)));
  return utf8(canonicalJson({ v: 2, kid, enc: toBase64(enc), ct: toBase64(ct) }));
}

/** A `data` body nested `depth` arrays deep, as JSON text. */
export function deepDataBody(depth: number): string {
  return `{"data":${'['.repeat(depth)}${']'.repeat(depth)},"type":"data"}`;
}
