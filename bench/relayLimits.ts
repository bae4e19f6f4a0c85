// Relay limits for load: one loopback machine opens every pairing, so the per-address rate
// limit and the open-slot cap are raised far above what the benchmarks reach.

import type { RelayLimits } from '../src/relay/contract.js';

export const BENCH_RELAY_LIMITS: Partial<RelayLimits> = {
  opensPerIpPerMinute: 100_000_000,
  maxOpenSlots: 1_000_000,
  maxPairSlotsPerAddress: 1_000_000,
  maxInboxSlotsPerAddress: 1_000_000,
  // The message benchmarks post from few send tokens far faster than a person would.
  messagesPerTokenPerMinute: 100_000_000,
  maxInboxMessages: 1_000_000,
  maxInboxBytes: 1024 ** 3,
};
