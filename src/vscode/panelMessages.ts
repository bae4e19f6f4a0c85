// The typed contract between the SAS panel's host (sasPanel.ts) and its webview
// (media/sasPanel.js). The webview is a page like any other: every message from it is checked
// here before anything acts on it. Messages to it carry display data only; the SAS travels
// only while the session is `sas_ready`, and nothing else secret ever does.

import type { Role } from '../core/ports.js';
import type { SessionSnapshot } from '../core/session.js';
import type { SessionState } from '../core/vocabulary.js';
import { describeState, nextStepForPerson } from './sessionView.js';

/** What the panel shows. Everything is display text; `sas` only while the person must verify. */
export interface PanelView {
  nameplate: string;
  role: Role;
  state: SessionState;
  /** The live state in words: "waiting for the other person to join", "wrong SAS digits", ... */
  stateText: string;
  /** What the person should do next, in a sentence. */
  nextStep: string;
  /** Seconds left when the message was sent; the webview counts down from there. */
  secondsLeft: number;
  /** Our SAS, `ddd-ddd`, present only in `sas_ready`. */
  sas?: string;
  /** True while the person can type the peer's digits and confirm. */
  canConfirm: boolean;
  /** True while the host is checking digits the person already sent. */
  checking: boolean;
  peer?: { handle: string; fingerprint: string };
  /** An agent asked for this confirmation (MCP `pair_confirm`), with what it said of the peer. */
  agentRequest?: { peerHint: string };
  /** A problem with the last thing the person did, e.g. digits of the wrong length. */
  error?: string;
  /** Why an aborted pairing ended, as its error code (`sas_mismatch`, `peer_aborted`, ...): the page marks it, tests read it. */
  abortCode?: string;
}

export type HostToWebview = { type: 'view'; view: PanelView };

export type WebviewToHost = { type: 'ready' } | { type: 'confirm'; digits: string } | { type: 'abort' };

/** Longer input is not six digits with separators; refusing it keeps checks simple. */
const MAX_DIGITS_INPUT_CHARS = 32;

/**
 * A webview's message as a plain object and its sorted field names (joined by commas), or
 * undefined if it is not a plain object: the first step of every page's message check.
 */
export function messageShape(message: unknown): { fields: Record<string, unknown>; keys: string } | undefined {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) return undefined;
  const fields = message as Record<string, unknown>;
  return { fields, keys: Object.keys(fields).sort().join() };
}

/** Checks a message from the webview; anything not exactly one of the known shapes is undefined. */
export function parseWebviewMessage(message: unknown): WebviewToHost | undefined {
  const shape = messageShape(message);
  if (!shape) return undefined;
  const { fields, keys } = shape;
  switch (fields['type']) {
    case 'ready':
      return keys === 'type' ? { type: 'ready' } : undefined;
    case 'abort':
      return keys === 'type' ? { type: 'abort' } : undefined;
    case 'confirm': {
      const digits = fields['digits'];
      if (keys !== 'digits,type' || typeof digits !== 'string' || digits.length > MAX_DIGITS_INPUT_CHARS) return undefined;
      return { type: 'confirm', digits };
    }
    default:
      return undefined;
  }
}

/**
 * The six digits the person typed, as `594376`, accepting `594-376`, `594 376` and `594376`;
 * undefined for anything else. Checked before the store sees it, because the store treats a
 * wrong length like a wrong SAS and aborts the pairing for good: a slip of the finger should
 * cost a retype, not the pairing.
 */
export function normaliseDigits(typed: string): string | undefined {
  const trimmed = typed.trim();
  if (!/^[0-9]{3}[- ]?[0-9]{3}$/.test(trimmed)) return undefined;
  return trimmed.replace(/[- ]/g, '');
}

export const DIGITS_HINT = 'Type the 6 digits the other person reads out, like 594-376.';

export function panelView(snapshot: SessionSnapshot, extra: { sas?: string; checking?: boolean; agentRequest?: { peerHint: string }; error?: string }): PanelView {
  const canConfirm = snapshot.state === 'sas_ready' && extra.checking !== true;
  const view: PanelView = {
    nameplate: snapshot.nameplate,
    role: snapshot.role,
    state: snapshot.state,
    // Once paired the peer line carries the fingerprint, so the state says the handle alone.
    stateText: snapshot.state === 'finalized' && snapshot.peer ? `paired with ${snapshot.peer.handle}` : describeState(snapshot),
    nextStep: panelNextStep(snapshot),
    secondsLeft: snapshot.secondsLeft,
    canConfirm,
    checking: extra.checking === true && snapshot.state === 'sas_ready',
  };
  if (snapshot.state === 'sas_ready' && extra.sas !== undefined) view.sas = extra.sas;
  if (snapshot.peer) view.peer = { handle: snapshot.peer.handle, fingerprint: snapshot.peer.fingerprint };
  if (extra.agentRequest && snapshot.state === 'sas_ready') view.agentRequest = extra.agentRequest;
  if (extra.error !== undefined) view.error = extra.error;
  if (snapshot.state === 'aborted' && snapshot.abortCode !== undefined) view.abortCode = snapshot.abortCode;
  return view;
}

/** The panel's next step: the person's words, except that a finished panel says what the pairing is for (writing to the peer) rather than "Paired with" a second time. */
function panelNextStep(snapshot: SessionSnapshot): string {
  if (snapshot.state !== 'finalized') return nextStepForPerson(snapshot);
  return snapshot.peer ? `You can now write to ${snapshot.peer.handle}: open the Agent Pair view in the activity bar and click ${snapshot.peer.handle}.` : 'The Agent Pair view in the activity bar lists your peers.';
}
