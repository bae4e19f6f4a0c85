// The grants this identity gave its peers (PROTOCOL.md 6.4), kept right over time: healing
// (a peer whose grant points at an inbox that is gone, or was never told of its new one, gets a
// new grant in an `inbox` message), revoking what this side no longer stands behind, and
// forgetting a peer (revoke its grant, unpin it, drop its keys and budgets). Every front end's
// "forget" is forgetAndRevoke; the receive runner heals and revokes as part of its rounds.

import { isPairError, isRelayTrouble, type PairError } from './errors.js';
import type { MessagingDeps, SendRunner } from './inbox.js';
import { firstInbox, inboxOn, listOwnInboxes } from './inboxes.js';
import { Mailbox } from './mailbox.js';
import { ReceiveKeys } from './receiveKeys.js';
import { PeerBudgets } from './rules.js';
import { type PeerRef, forgetPeer, getPeer, listPeers, pendingRevocations, peerRefOf, rememberRevocation, revocationsDone, updatePeer } from './trust.js';

/**
 * For each pinned peer whose grant points at an inbox this identity no longer has (or whose
 * new grant was not yet announced): a new grant on the current inbox at that relay, sent to the
 * peer in an `inbox` message. Safe to call at any time; resolves the peers told.
 */
export async function healGrants(deps: MessagingDeps, sender: SendRunner, onTrouble?: (error: PairError, relayUrl: string, peer: PeerRef) => void): Promise<PeerRef[]> {
  const told: PeerRef[] = [];
  const inboxes = await listOwnInboxes(deps);
  const first = await firstInbox(deps);
  for (const peer of await listPeers(deps)) {
    const given = peer.grant ?? (first && { ...first, announced: true });
    if (!given) continue;
    const current = inboxes.find((inbox) => inbox.relayUrl === given.relayUrl);
    if (current?.slotId === given.slotId && given.announced) continue;
    const relay = deps.relays(given.relayUrl);
    try {
      const inbox = current ?? (await inboxOn(deps, relay));
      // An earlier grant that never reached the peer is withdrawn before a new one is made.
      if (!given.announced && given.grantId !== undefined && given.slotId === inbox.slotId) {
        await relay.revokeGrant(inbox.slotId, inbox.ownerToken, given.grantId).catch(() => undefined);
      }
      const grant = await relay.grant(inbox.slotId, inbox.ownerToken);
      const record = { relayUrl: inbox.relayUrl, slotId: inbox.slotId, grantId: grant.grantId };
      await updatePeer(deps, peer.fingerprint, { grant: { ...record, announced: false } });
      await sender.sendBody(peer, { type: 'inbox', relay_url: inbox.relayUrl, slot_id: inbox.slotId, send_token: grant.sendToken }, false);
      await updatePeer(deps, peer.fingerprint, { grant: { ...record, announced: true } });
      told.push(peerRefOf(peer));
    } catch (error) {
      if (!isPairError(error)) throw error;
      onTrouble?.(error, given.relayUrl, peerRefOf(peer));
    }
  }
  return told;
}

/**
 * Revokes the grants this side no longer stands behind (a peer paired again, or forgotten while
 * the relay was unreachable). What the relay cannot be reached for stays for the next time.
 */
export async function revokePending(deps: MessagingDeps): Promise<void> {
  const pending = await pendingRevocations(deps);
  if (pending.length === 0) return;
  const inboxes = await listOwnInboxes(deps);
  const done: string[] = [];
  for (const grant of pending) {
    const inbox = inboxes.find((entry) => entry.relayUrl === grant.relayUrl && entry.slotId === grant.slotId);
    try {
      if (inbox) await deps.relays(inbox.relayUrl).revokeGrant(inbox.slotId, inbox.ownerToken, grant.grantId);
      done.push(grant.grantId);
    } catch (error) {
      if (!isPairError(error)) throw error;
      if (!isRelayTrouble(error)) done.push(grant.grantId);
    }
  }
  await revocationsDone(deps, done);
}

/**
 * Forgets a peer: revokes the grant this side gave it (so its sends get 401), then unpins it and
 * deletes its send token. The revocation is best effort (the relay may be down or have restarted);
 * `revoked` says whether the relay confirmed it.
 */
export async function forgetAndRevoke(deps: MessagingDeps, fingerprint: string): Promise<{ forgotten: boolean; revoked: boolean }> {
  const peer = await getPeer(deps, fingerprint);
  let revoked = false;
  const grant = peer?.grant;
  if (grant?.grantId !== undefined) {
    const inbox = (await listOwnInboxes(deps)).find((entry) => entry.relayUrl === grant.relayUrl && entry.slotId === grant.slotId);
    if (inbox) {
      try {
        await deps.relays(inbox.relayUrl).revokeGrant(inbox.slotId, inbox.ownerToken, grant.grantId);
        revoked = true;
      } catch (error) {
        if (!isPairError(error)) throw error;
        deps.log?.(`could not revoke the grant of ${fingerprint} at ${inbox.relayUrl}: ${error.code}`);
        // Tried again by the receive runner once the relay answers; a gone inbox needs nothing.
        if (isRelayTrouble(error)) await rememberRevocation(deps, { relayUrl: inbox.relayUrl, slotId: inbox.slotId, grantId: grant.grantId });
      }
    }
  }
  const forgotten = await forgetPeer(deps, fingerprint);
  const mailbox = new Mailbox(deps);
  await mailbox.exclusive(() => new ReceiveKeys(deps).forget(fingerprint));
  await new PeerBudgets(deps, mailbox).forget(fingerprint);
  return { forgotten, revoked };
}

