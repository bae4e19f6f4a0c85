// How a pairing reads to the person in VS Code, in one place (the extension's wording table,
// keyed by state and error code): the status bar, its tooltip, the sessions quick pick, the
// SAS panel and the notifications all describe a session with these words. Pure functions of
// snapshots, so they are tested without VS Code.

import { type SessionSnapshot } from '../core/session.js';
import { isTerminal, CANCELLED_REASON, OWN_KEY_REASON, SAS_MISMATCH_REASON } from '../core/vocabulary.js';
import type { PeerSummary } from '../core/sessionRecord.js';
import { plainPeerText } from './messageWords.js';

/** `9:58 left`, `0:07 left`; ended sessions have no time left to show. */
export function formatTimeLeft(secondsLeft: number): string {
  const seconds = Math.max(0, Math.floor(secondsLeft));
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')} left`;
}

export function isInFlight(snapshot: SessionSnapshot): boolean {
  return !isTerminal(snapshot.state);
}

/** A short phrase for the session's state, as the person would say it. */
export function describeState(snapshot: SessionSnapshot): string {
  switch (snapshot.state) {
    case 'opened':
      if (snapshot.peerJoined) return 'exchanging keys';
      return snapshot.role === 'host' ? 'waiting for the other person to join' : 'waiting for the host';
    case 'sas_ready':
      return 'verify the SAS';
    case 'confirmed':
      return 'exchanging identity cards';
    case 'finalized':
      return snapshot.peer ? `paired with ${snapshot.peer.handle} (${snapshot.peer.fingerprint})` : 'paired';
    case 'aborted':
      return describeAbort(snapshot);
  }
}

function describeAbort(snapshot: SessionSnapshot): string {
  switch (snapshot.abortCode) {
    case 'expired':
      return 'expired';
    case 'wrong_code':
      return 'wrong code';
    case 'sas_mismatch':
      return 'wrong SAS digits';
    case 'own_key':
      return 'both sides have the same identity';
    case 'peer_aborted': {
      const why = snapshot.abortReason ?? 'no reason given';
      if (why === SAS_MISMATCH_REASON) return 'the other person typed wrong SAS digits';
      if (why === CANCELLED_REASON) return 'the other person cancelled';
      if (why === OWN_KEY_REASON) return 'both sides have the same identity';
      // The peer's own words (at most 200 characters of anything): quoted, and shown, not obeyed.
      return `the other side aborted: “${plainPeerText(why)}”`;
    }
    default:
      return `aborted: ${plainPeerText(snapshot.abortReason ?? 'unknown reason')}`;
  }
}

/** What the person should do next, in a sentence (the SAS panel, the sessions quick pick). */
export function nextStepForPerson(snapshot: SessionSnapshot): string {
  switch (snapshot.state) {
    case 'opened':
      return snapshot.peerJoined ? 'The two sides are exchanging keys; the SAS appears here in a moment.' : 'The SAS appears here once the other person has joined with the code.';
    case 'sas_ready':
      return 'Read your SAS to the other person, listen to theirs, and type the digits they read out. If they differ, abort.';
    case 'confirmed':
      return 'Confirmed. Waiting for the other side to confirm too, then the identity cards are exchanged.';
    case 'finalized':
      return snapshot.peer ? `Paired with ${snapshot.peer.handle} (${snapshot.peer.fingerprint}).` : 'Paired.';
    case 'aborted':
      return afterAbort(snapshot);
  }
}

/** After an abort: what it may mean, and what to do. */
function afterAbort(snapshot: SessionSnapshot): string {
  const reason = snapshot.abortReason ?? '';
  switch (snapshot.abortCode) {
    case 'wrong_code':
      return 'The two sides used different codes (misheard or mistyped, or someone guessed at the nameplate). Nothing was exchanged. Start a new pairing and read the code out again.';
    case 'sas_mismatch':
      return 'A digit may have been misheard, or someone may be intercepting this pairing, so both sides stopped. Start a new pairing.';
    case 'expired':
      return 'The pairing expired (10 minutes), or the relay no longer knows it. Start a new pairing.';
    case 'own_key':
      return 'Both sides use the same identity. Pair with someone else\'s VS Code profile or machine.';
    case 'identity_missing':
      return 'Set up your identity, then start a new pairing.';
    case 'peer_aborted':
      if (reason === SAS_MISMATCH_REASON) return 'A digit may have been misheard, or someone may be intercepting this pairing, so both sides stopped. Start a new pairing.';
      if (reason === OWN_KEY_REASON) return 'Both sides use the same identity. Pair with someone else\'s VS Code profile or machine.';
      return 'Start a new pairing when you are both ready.';
    default:
      return 'Start a new pairing.';
  }
}

/** The notification when a pairing ended without a peer. */
export function endedNotice(snapshot: SessionSnapshot): { text: string; setUpIdentity: boolean } {
  return { text: `Agent Pair: pairing ${snapshot.nameplate}: ${describeState(snapshot)}. ${afterAbort(snapshot)}`, setUpIdentity: snapshot.abortCode === 'identity_missing' };
}

export function pairedNotice(peer: PeerSummary): string {
  return `Agent Pair: Paired with ${peer.handle} (${peer.fingerprint}).`;
}

export function relayTroubleNotice(snapshot: SessionSnapshot): string {
  return `Agent Pair: the relay ${snapshot.relayUrl} does not answer; pairing ${snapshot.nameplate} keeps retrying while it lasts.`;
}

/** `47 · host`: how a session is named in lists. The nameplate is public, the code is not. */
export function sessionLabel(snapshot: SessionSnapshot): string {
  return `${snapshot.nameplate} · ${snapshot.role}`;
}

export interface StatusModel {
  /** Hidden when nothing is in flight: an idle item would sit in every window for a rare task. */
  visible: boolean;
  text: string;
  /** True when the person must act (a SAS waits to be verified). */
  warning: boolean;
  /** Markdown lines, one per session in flight; untrusted text already escaped. */
  tooltip: string;
  accessibilityLabel: string;
}

export function statusModel(snapshots: readonly SessionSnapshot[]): StatusModel {
  const inFlight = snapshots.filter(isInFlight);
  const toVerify = inFlight.filter((snapshot) => snapshot.personMustAct).length;
  if (inFlight.length === 0) return { visible: false, text: '', warning: false, tooltip: '', accessibilityLabel: '' };
  const pairings = `${inFlight.length} pairing${inFlight.length === 1 ? '' : 's'}`;
  const text = `$(link) Agent Pair: ${pairings}${toVerify > 0 ? `, ${toVerify} to verify` : ''}`;
  const lines = inFlight.map((snapshot) => `- **${escapeMarkdown(sessionLabel(snapshot))}**: ${escapeMarkdown(describeState(snapshot))}, ${formatTimeLeft(snapshot.secondsLeft)}`);
  const hint = toVerify > 0 ? 'Click to verify the SAS.' : 'Click to see the pairings.';
  return {
    visible: true,
    text,
    warning: toVerify > 0,
    tooltip: `**Agent Pair**\n\n${lines.join('\n')}\n\n${hint}`,
    accessibilityLabel: `Agent Pair: ${pairings} in flight${toVerify > 0 ? `, ${toVerify} waiting for you to verify the SAS` : ''}`,
  };
}

/**
 * Escapes Markdown so text from elsewhere (a peer's abort reason, a relay URL) shows as
 * written: no links, emphasis or HTML can be smuggled into a tooltip.
 */
export function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_{}[\]()<>#+\-.!|~&$:]/g, (character) => `\\${character}`).replace(/\s+/g, ' ');
}
