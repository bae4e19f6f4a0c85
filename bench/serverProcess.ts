// A server in its own process, so the load generator never shares its core. Forked by
// bench/processes.ts with one argument (and, for the relay, optionally a second: the
// redis://… store URL, for the Redis engine):
//   relay   the real relay (startRelay) on a free loopback port, limits raised for load
//   bare    a bare Node `http` server that answers every request with a trivial JSON body:
//           the floor any HTTP server in Node pays per request, to compare the relay against
// It sends {kind: 'listening', port} once up, then answers {kind: 'usage'} with its CPU time,
// memory and (for the relay) stats, and exits on {kind: 'close'}.

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startRelay } from '../src/relay/node.js';
import type { RelayStats } from '../src/relay/server.js';
import { BENCH_RELAY_LIMITS } from './relayLimits.js';

export type ServerKind = 'relay' | 'bare';

export interface ServerUsage {
  kind: 'usage';
  /** CPU time of the whole process (user + system), in ms. */
  cpuMs: number;
  /** The part of cpuMs spent in the process's own code (user mode): the rest is the kernel's, on its behalf (sockets, wake-ups). */
  userCpuMs: number;
  heapUsedBytes: number;
  stats?: RelayStats;
}

export type ToServer = { kind: 'usage' } | { kind: 'close' };
export type FromServer = { kind: 'listening'; port: number } | ServerUsage;


const TRIVIAL_BODY = '{"ok":true}';

async function listen(kind: ServerKind, store: string | undefined): Promise<{ port: number; stats?: () => RelayStats; close: () => Promise<void> }> {
  if (kind === 'relay') {
    const relay = await startRelay({ host: '127.0.0.1', port: 0, limits: BENCH_RELAY_LIMITS, ...(store !== undefined && { store }) });
    return { port: relay.port, stats: () => relay.stats(), close: () => relay.close() };
  }
  const server = createServer((req, res) => {
    // Read the body, as any server must, then answer without looking at it.
    req.resume();
    req.once('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(TRIVIAL_BODY.length) });
      res.end(TRIVIAL_BODY);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}

const send = (message: FromServer): void => {
  process.send?.(message);
};

const kind = process.argv[2];
if (kind !== 'relay' && kind !== 'bare') throw new Error(`serverProcess: expected "relay" or "bare", got ${String(kind)}`);
const running = await listen(kind, process.argv[3]);
process.on('message', (message: ToServer) => {
  if (message.kind === 'usage') {
    const cpu = process.cpuUsage();
    const usage: ServerUsage = { kind: 'usage', cpuMs: (cpu.user + cpu.system) / 1000, userCpuMs: cpu.user / 1000, heapUsedBytes: process.memoryUsage().heapUsed };
    if (running.stats) usage.stats = running.stats();
    send(usage);
  } else {
    void running.close().then(() => process.exit(0));
  }
});
send({ kind: 'listening', port: running.port });
