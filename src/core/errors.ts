// One closed set of error codes. Every failure that reaches a person (CLI, MCP tool result,
// VS Code notification) is a PairError with one of these codes and a message that says what
// happened and what to do next. Adapters map codes, never parse messages.

export const ERROR_CODES = [
  'bad_input', // an argument has the wrong shape; the message names it and the expected shape
  'bad_code', // a code phrase that does not parse
  'wrong_code', // key confirmation failed: the two sides typed different codes
  'sas_mismatch', // the digits the person typed do not match this side's SAS
  'commitment_mismatch', // the peer revealed a SPAKE2 message that does not match its commitment
  'protocol_violation', // the peer or relay sent something the protocol forbids
  'expired', // the pairing's 10 minutes ran out, or the relay no longer knows the slot
  'peer_aborted', // the other side aborted
  'aborted', // this side aborted; the session is over
  'invalid_state', // the operation does not fit the session's current state
  'not_found', // no such session, peer or nameplate
  'conflict', // the relay refused a write or join that collides with an earlier one
  'timeout', // a bounded wait ran out; the operation can be retried
  'relay_unreachable', // the relay could not be reached (network, DNS, refused)
  'relay_error', // the relay answered with something unexpected
  'rate_limited', // the relay asked us to slow down
  'relay_full', // the relay has no room for another pairing right now
  'identity_missing', // no identity yet: set one up first
  'identity_conflict', // an identity with another handle exists; we never re-key silently
  'bad_card', // an identity card that fails verification
  'own_key', // the peer presented our own key
  'storage_failed', // persisting state failed; nothing was half-written
  'confirm_unavailable', // nowhere to ask the person for the SAS digits
  'cancelled', // the person declined or closed the prompt
  'inbox_full', // the peer's inbox at its relay is full (507): they must read their messages first
  'revoked', // the relay refused our send token (401): the peer forgot us or revoked the grant
  'inbox_gone', // the relay no longer knows an inbox (404): a restarted in-memory relay; make a new one
  'too_large', // a message or envelope is over its size limit
  'over_budget', // an hourly budget the person set (agent sends, auto hand-overs) is spent: the person decides, or raises it
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export class PairError extends Error {
  override readonly name = 'PairError';
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export function isPairError(value: unknown, code?: ErrorCode): value is PairError {
  return value instanceof PairError && (code === undefined || value.code === code);
}

/** The relay failures that may pass (down, erring, overloaded, slowing us down): worth retrying. */
const RELAY_TROUBLE: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['relay_unreachable', 'relay_error', 'rate_limited', 'relay_full']);

export function isRelayTrouble(value: unknown): value is PairError {
  return isPairError(value) && RELAY_TROUBLE.has(value.code);
}

/** A bad argument: names the argument, what was wrong, and the expected shape. */
export function badInput(argument: string, problem: string, expected: string): PairError {
  return new PairError('bad_input', `${argument} ${problem}; expected ${expected}.`);
}
