// The standalone relay (`node dist/relay.mjs [--host H] [--port P] [--store redis://HOST:PORT[/DB]]
// [--trust-proxy CIDR,...] [--idle-exit S] [--record F]`), for running one on a server, and the
// process VS Code starts for the shared local relay. Configuration by flags or
// AGENT_PAIR_RELAY_HOST / AGENT_PAIR_RELAY_PORT / AGENT_PAIR_RELAY_STORE /
// AGENT_PAIR_RELAY_TRUST_PROXY / AGENT_PAIR_RELAY_IDLE_EXIT. It serves GET /metrics.
//
// --store redis://HOST:PORT[/DB]: keep every slot, inbox and message in Redis, so any number of
// relay processes behind a load balancer serve the same pairings and a restart loses nothing.
// Default: this process's memory.
//
// --trust-proxy CIDR,...: requests from these addresses (a TLS-terminating reverse proxy) are
// counted under the client address their X-Forwarded-For names.
//
// --idle-exit SECONDS: close gracefully and exit (code 0) once the relay has had no pair slot,
// no pending long poll and no request at all for that long; 0 (the default) never. A request
// counts as activity so that a window which just found the relay answering (GET /healthz) and
// is about to open a pairing never meets a relay that exited in between. Inbox slots do not
// keep it alive: an identity bound to a local relay loses its inbox when the relay exits, as it
// did when the VS Code window that ran the relay closed.
//
// --record FILE: once listening, write {"pid","url","startedAt"} there (mode 0600), and remove
// it on a graceful exit if it still names this process. The relay writes it itself, after it
// holds the port, so a process that lost the race for the port never claims to be the relay.

import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DEFAULT_RELAY_HOST, DEFAULT_RELAY_PORT, type RelayProcessRecord, describeListenFailure } from './embedded.js';
import { type RunningRelay, startRelay } from './node.js';
import { trustedProxies } from './trustProxy.js';
import { parseRedisUrl } from './storeUrl.js';
import { StoreUnavailableError } from './store.js';

const USAGE = `Usage: node relay.mjs [--host ADDRESS] [--port PORT] [--store redis://HOST:PORT[/DB]] [--trust-proxy CIDR,...] [--idle-exit SECONDS] [--record FILE]

Runs an Agent Pair relay until SIGINT or SIGTERM. The relay is untrusted by design: it never
sees the code's secret, the SAS or the key.

Options:
  --host ADDRESS         address to listen on (default ${DEFAULT_RELAY_HOST}; 0.0.0.0 for every interface)
  --port PORT            TCP port (default ${DEFAULT_RELAY_PORT}; 0 picks a free one)
  --store URL            keep state in Redis (redis://[:PASSWORD@]HOST:PORT[/DB]) so restarts lose nothing
                         and several relay processes serve the same pairings (default: in memory)
  --trust-proxy CIDRS    take the client address from X-Forwarded-For only from these proxies
  --idle-exit SECONDS    exit once idle that long: no pairing in flight, no request (default 0: never)
  --record FILE          write {"pid","url","startedAt"} there once listening (mode 0600)
  -h, --help             show this help

The environment sets the same: AGENT_PAIR_RELAY_HOST, AGENT_PAIR_RELAY_PORT, AGENT_PAIR_RELAY_STORE,
AGENT_PAIR_RELAY_TRUST_PROXY, AGENT_PAIR_RELAY_IDLE_EXIT.

Examples:
  node dist/relay.mjs --host 0.0.0.0 --port 8771
  node dist/relay.mjs --port 0 --idle-exit 600
  node dist/relay.mjs --host 127.0.0.1 --store redis://127.0.0.1:6379/0 --trust-proxy 127.0.0.1
`;

/** One line naming the wrong argument and its shape; exit 2. */
function usage(message: string): never {
  process.stderr.write(`relay: ${message}\n`);
  process.exit(2);
}

const { values } = (() => {
  try {
    return parseArgs({
      options: {
        host: { type: 'string', default: process.env['AGENT_PAIR_RELAY_HOST'] ?? DEFAULT_RELAY_HOST },
        port: { type: 'string', default: process.env['AGENT_PAIR_RELAY_PORT'] ?? String(DEFAULT_RELAY_PORT) },
        'idle-exit': { type: 'string', default: process.env['AGENT_PAIR_RELAY_IDLE_EXIT'] ?? '0' },
        store: { type: 'string', default: process.env['AGENT_PAIR_RELAY_STORE'] ?? '' },
        'trust-proxy': { type: 'string', default: process.env['AGENT_PAIR_RELAY_TRUST_PROXY'] ?? '' },
        record: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    // Node's own messages suggest `-- "--x"` with unbalanced quotes; name the argument instead.
    const argument = error instanceof Error ? (/'(-{1,2}[\w-]+|[^']*)/.exec(error.message)?.[1] ?? 'an argument') : 'an argument';
    const missingValue = error instanceof Error && 'code' in error && error.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE';
    return usage(missingValue ? `${argument} needs a value` : `${argument} is not an option of the relay; expected --host, --port, --store, --trust-proxy, --idle-exit or --record, each with a value`);
  }
})();
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const port = Number(values.port);
if (!/^\d+$/.test(values.port) || port > 65_535) usage(`--port ${values.port} is not a port; expected 0 to 65535`);
const idleExitText = values['idle-exit'];
if (!/^\d{1,9}$/.test(idleExitText)) usage(`--idle-exit ${idleExitText} is not a number of seconds; expected a whole number of seconds, 0 to never exit`);
const idleExitMs = Number(idleExitText) * 1000;
const recordPath = values.record;
if (recordPath === '') usage('--record needs a file path');
const store = values.store === '' ? undefined : values.store;
const trustProxy = values['trust-proxy'] === '' ? [] : values['trust-proxy'].split(',');
try {
  if (store !== undefined) parseRedisUrl(store);
  trustedProxies(trustProxy);
} catch (error) {
  usage(error instanceof Error ? error.message : String(error));
}

let relay: RunningRelay;
try {
  relay = await startRelay({ host: values.host, port, trustProxy, metrics: true, ...(store !== undefined && { store }) });
} catch (error) {
  process.stderr.write(`relay: ${error instanceof StoreUnavailableError ? error.message : describeListenFailure(values.host, port, error)}\n`);
  process.exit(1);
}
// Synchronously, before any request is handled: whoever sees the relay answer finds the record.
if (recordPath !== undefined) writeRecord(recordPath, { pid: process.pid, url: relay.url, startedAt: new Date().toISOString() });
process.stdout.write(`Agent Pair relay listening on ${relay.url}${store === undefined ? '' : ` (store: Redis)`}\n`);

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  void relay.close().then(() => {
    if (recordPath !== undefined) removeOwnRecord(recordPath);
    process.exit(0);
  });
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);

if (idleExitMs > 0) {
  let lastActivity = Date.now();
  relay.server.on('request', () => {
    lastActivity = Date.now();
  });
  const idleCheck = setInterval(() => {
    const { pairSlots, longPolls } = relay.stats();
    const now = Date.now();
    if (pairSlots > 0 || longPolls > 0) lastActivity = now;
    else if (now - lastActivity >= idleExitMs) {
      clearInterval(idleCheck);
      process.stdout.write(`Agent Pair relay idle for ${idleExitText} s; exiting\n`);
      stop();
    }
  }, Math.min(1000, idleExitMs / 4));
  idleCheck.unref();
}

function writeRecord(path: string, record: RelayProcessRecord): void {
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(temporary, `${JSON.stringify(record)}\n`, { mode: 0o600 });
    renameSync(temporary, path);
  } catch (error) {
    // The relay still serves; only stopping it from VS Code needs the record.
    process.stderr.write(`relay: could not write ${path}: ${error instanceof Error ? error.message : String(error)}\n`);
  }
}

function removeOwnRecord(path: string): void {
  try {
    const record = JSON.parse(readFileSync(path, 'utf8')) as Partial<RelayProcessRecord>;
    if (record.pid === process.pid) rmSync(path, { force: true });
  } catch {
    // gone already, or not ours to judge
  }
}
