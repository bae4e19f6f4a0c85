// Issue 20's message-latency rows alone (the same functions `npm run bench` runs): the long-poll
// wake and send → waiting reader / receipt back, on the global fetch (VS Code's transport) and
// on node:http (the CLI's and `agent-pair mcp`'s), with the ratios the targets are set on.
// Quicker than the whole bench when working on the message path.
// Run: node --import tsx bench/latency.ts [runs]

import { benchDelivery } from './delivery.js';
import { benchWake } from './wake.js';
import { installNativeCrypto } from '../src/node/nativeSymmetric.js';
import { httpFetch } from '../src/relay/transport.js';
import type { RelayFetch } from '../src/relay/transport.js';

installNativeCrypto();
const runs = Number(process.argv[2] ?? 200);
const round = (ms: number): number => Math.round(ms * 100) / 100;

for (const [name, fetch] of [['fetch', undefined], ['node:http', httpFetch]] as [string, RelayFetch | undefined][]) {
  const wake = await benchWake(runs, undefined, fetch);
  const delivery = await benchDelivery(runs, fetch);
  console.log(
    JSON.stringify({
      transport: name,
      wakeMs: round(wake.medianMs),
      readerMs: round(delivery.toReader.medianMs),
      receiptMs: round(delivery.toReceipt.medianMs),
      readerRatio: round(delivery.toReader.medianMs / wake.medianMs),
      receiptRatio: round(delivery.toReceipt.medianMs / wake.medianMs),
    }),
  );
}
