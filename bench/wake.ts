// Long-poll wake latency: one side's long poll is pending at the relay (checked through the
// relay's own stats); the other side writes; measured from the start of that write to the
// moment the pending poll returns to its caller. Real relay clients, relay in its own process.
// With a Redis store URL, across processes: two relay processes on that Redis, the poll
// pending on B, the write sent to A (woken through Redis pub/sub).
// Run directly: node --import tsx bench/wake.ts [runs] [redis://…]

import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { RelayClient } from '../src/relay/client.js';
import type { RelayFetch } from '../src/relay/transport.js';
import { type ServerProcess, startServerProcess, untilLongPolls } from './processes.js';
import { type Summary, summarize } from './stats.js';

const WARM_UP_RUNS = 10;

/** `fetch`: the clients' transport (default the global fetch, as VS Code's; the CLI and `agent-pair mcp` use node:http, transport.ts's httpFetch). */
export async function benchWake(runs = 200, crossProcessStore?: string, fetch?: RelayFetch): Promise<Summary> {
  const relay = await startServerProcess('relay', crossProcessStore);
  const writer = crossProcessStore === undefined ? relay : await startServerProcess('relay', crossProcessStore);
  try {
    const host = new RelayClient(relay.url, fetch && { fetch });
    const guest = new RelayClient(writer.url, fetch && { fetch });
    const samples: number[] = [];
    for (let i = 0; i < WARM_UP_RUNS + runs; i++) {
      const ms = await wakeOnce(relay, host, guest);
      if (i >= WARM_UP_RUNS) samples.push(ms);
    }
    return summarize(samples);
  } finally {
    await relay.close();
    if (writer !== relay) await writer.close();
  }
}

/**
 * One wake, in ms: `host` opens a pairing on `polled` and long-polls it, `guest` (on the same
 * relay, or another on the same Redis) joins and writes once the poll is held there.
 */
export async function wakeOnce(polled: ServerProcess, host: RelayClient, guest: RelayClient): Promise<number> {
  const opened = await host.openHost();
  const joined = await guest.joinGuest(opened.nameplate);
  let returnedAt = 0;
  const poll = host.get(opened.pairId, opened.token, { after: 0, waitSeconds: 25 }).then((view) => {
    returnedAt = performance.now();
    return view;
  });
  await untilLongPolls(polled, 1);
  const writtenAt = performance.now();
  await guest.put(joined.pairId, joined.token, 'commit', randomBytes(32).toString('hex'));
  const view = await poll;
  if (view.peer.commit === undefined) throw new Error('the poll returned without the write');
  return returnedAt - writtenAt;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await benchWake(Number(process.argv[2] ?? 200), process.argv[3])));
}
