// How a pairing reads to the person, in one place: the status bar, its tooltip, the sessions
// quick pick and the SAS panel all describe a session with these words. Pure functions of
// snapshots, so they are tested without VS Code.

import { SAS_MISMATCH_REASON, type SessionSnapshot, peerAbortReason } from '../core/session.js';

/** `9:58 left`, `0:07 left`; ended sessions have no time left to show. */
export function formatTimeLeft(secondsLeft: number): string {
  const seconds = Math.max(0, Math.floor(secondsLeft));
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')} left`;
}

export function isInFlight(snapshot: SessionSnapshot): boolean {
  return snapshot.state !== 'finalized' && snapshot.state !== 'aborted';
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
    case 'peer_aborted': {
      const why = peerAbortReason(snapshot.abortReason ?? 'no reason given');
      return why === SAS_MISMATCH_REASON ? 'the other person typed wrong SAS digits' : `the other side aborted: ${why}`;
    }
    default:
      return `aborted: ${snapshot.abortReason ?? 'unknown reason'}`;
  }
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
