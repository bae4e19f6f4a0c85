// A hostile but properly paired peer: seals whatever plaintext it likes with its real key for
// the other side's real inbox and posts it with its real send token, skipping every check the
// honest SendRunner makes. Works over any side's stores (in-memory sides, or a CLI home).

import { toBase64, utf8 } from '../../src/core/bytes.js';
import { loadIdentity, loadSigningKey } from '../../src/core/identity.js';
import { sealEnvelope, sentAtOf } from '../../src/core/messages.js';
import type { Clock, Memory, RelayConnector, Vault } from '../../src/core/ports.js';
import { getPeer, loadPeerSendToken } from '../../src/core/trust.js';
import { randomBytes } from 'node:crypto';

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
  const sentAt = fields.sent_at ?? sentAtOf(deps.clock.now());
  return `{"body":${bodyJson},"from":"${identity.fingerprint}","id":"${id}","n":${fields.n ?? 1},"sent_at":"${sentAt}","to":"${to}","v":1}`;
}

/** Seals `plaintext` for the pinned peer `to` and posts it to its inbox. */
export async function postRaw(deps: HostileDeps, to: string, plaintext: string): Promise<void> {
  const peer = await getPeer(deps, to);
  const token = await loadPeerSendToken(deps, to);
  if (!peer || token === undefined) throw new Error(`${to} is not pinned`);
  const seed = await loadSigningKey(deps);
  const envelope = await sealEnvelope({ senderSeed: seed, recipientPublic: Buffer.from(peer.card.key, 'base64'), recipientSlotId: peer.slotId, plaintext: utf8(plaintext) });
  await deps.relays(peer.relayUrl).postMessage(peer.slotId, token, toBase64(envelope));
}

/** A `data` body nested `depth` arrays deep, as JSON text. */
export function deepDataBody(depth: number): string {
  return `{"data":${'['.repeat(depth)}${']'.repeat(depth)},"type":"data"}`;
}
