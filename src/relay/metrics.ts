// `GET /metrics` for operators, in Prometheus text format (prom-client): requests by route and
// status, what the store holds (open pair slots, inboxes, queued messages and bytes), long polls
// waiting in this process, pairings completed and aborted by reason, and store latency. Each
// relay has its own registry, so two relays in one process (tests) never share counters. Labels
// come from fixed sets (routeLabel, the known abort reasons), so hostile input cannot grow them.

import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Relay, RelayObserver } from './server.js';

export interface RelayMetrics {
  observer: RelayObserver;
  /** Binds the gauges to the relay they read (the relay needs the observer first). */
  attach(relay: Relay): void;
  /** The exposition text and its content type. */
  render(): Promise<{ contentType: string; body: string }>;
}

export function createRelayMetrics(): RelayMetrics {
  const registry = new Registry();
  const requests = new Counter({ name: 'agent_pair_relay_requests_total', help: 'Requests answered, by route and status.', labelNames: ['route', 'status'], registers: [registry] });
  const pairings = new Counter({ name: 'agent_pair_relay_pairings_ended_total', help: 'Pairings that ended at this relay process, by outcome (completed, aborted) and reason.', labelNames: ['outcome', 'reason'], registers: [registry] });
  const storeSeconds = new Histogram({
    name: 'agent_pair_relay_store_seconds',
    help: 'Latency of store operations, by operation.',
    labelNames: ['operation'],
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 2],
    registers: [registry],
  });
  let relay: Relay | undefined;
  const gauge = (name: string, help: string, read: (stats: ReturnType<Relay['stats']>) => number): void => {
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        if (relay) this.set(read(relay.stats()));
      },
    });
  };
  gauge('agent_pair_relay_pair_slots', 'Pair slots open (whole store; Redis: as of the last sweep, once a second).', (stats) => stats.pairSlots);
  gauge('agent_pair_relay_inbox_slots', 'Inbox slots held.', (stats) => stats.inboxSlots);
  gauge('agent_pair_relay_messages_queued', 'Messages queued in every inbox.', (stats) => stats.inboxMessages);
  gauge('agent_pair_relay_message_bytes_queued', 'Decoded envelope bytes queued in every inbox.', (stats) => stats.inboxBytes);
  gauge('agent_pair_relay_long_polls', 'Long polls waiting in this process.', (stats) => stats.longPolls);

  return {
    observer: {
      answered: (route, status) => {
        requests.inc({ route, status: String(status) });
      },
      storeCall: (operation, seconds) => {
        storeSeconds.observe({ operation }, seconds);
      },
      pairingEnded: (outcome, reason) => {
        pairings.inc({ outcome, reason });
      },
    },
    attach: (target) => {
      relay = target;
    },
    render: async () => ({ contentType: registry.contentType, body: await registry.metrics() }),
  };
}
