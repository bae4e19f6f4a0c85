// Relay limits for load: one loopback machine opens every pairing and sends every message, so
// the per-address and per-token limits and the caps are raised far above what the benchmarks reach.

import type { RelayLimits } from '../src/relay/contract.js';

export const BENCH_RELAY_LIMITS: Partial<RelayLimits> = {
  opensPerIpPerMinute: 100_000_000,
  maxOpenSlots: 1_000_000,
  maxPairSlotsPerAddress: 1_000_000,
  maxInboxSlotsPerAddress: 1_000_000,
  messagesPerTokenPerMinute: 100_000_000,
  maxInboxMessages: 10_000_000,
  maxInboxBytes: 10_000_000_000,
  maxInboxMessagesPerGrant: 10_000_000,
  maxInboxBytesPerGrant: 10_000_000_000,
  failedTokenChecksPerIpPerMinute: 100_000_000,
};
