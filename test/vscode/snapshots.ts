// Session snapshots for rendering tests, shaped like the store's (every field the type has).

import type { SessionSnapshot } from '../../src/core/session.js';

export function snapshot(overrides: Partial<SessionSnapshot> = {}): SessionSnapshot {
  return {
    sessionId: '0123456789abcdef0123456789abcdef',
    role: 'host',
    state: 'opened',
    relayUrl: 'http://127.0.0.1:8771',
    nameplate: '47',
    openedAt: '2026-11-25T06:00:00.000Z',
    expiresAt: '2026-11-25T06:10:00.000Z',
    secondsLeft: 598,
    peerJoined: false,
    personMustAct: false,
    ...overrides,
  };
}
