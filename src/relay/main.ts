// The standalone relay (`node dist/relay.mjs [--host H] [--port P] [--store STORE]
// [--trust-proxy CIDR,...] [--idle-exit S] [--record F]`), for running one on a server, and the
// process VS Code, the CLI and `agent-pair mcp` start for the shared local relay. Its options
// (and their AGENT_PAIR_RELAY_* environment variables) are the table in options.ts, shared with
// `agent-pair relay`, read by commandLine.ts. It serves GET /metrics.
//
// --store sqlite:PATH keeps inboxes and queued messages in one file that survives a restart or a
// kill (the local relay's default); redis://HOST:PORT[/DB] in Redis, so any number of relay
// processes behind a load balancer serve the same pairings; default: this process's memory.
//
// --trust-proxy CIDR,...: requests from these addresses (a TLS-terminating reverse proxy) are
// counted under the client address their X-Forwarded-For names.
//
// --idle-exit SECONDS: close gracefully and exit (code 0) once the relay has had no pair slot,
// no pending long poll and no request at all for that long; 0 (the default) never. A request
// counts as activity so that a window which just found the relay answering (GET /healthz) and
// is about to open a pairing never meets a relay that exited in between. Inbox slots do not
// keep it alive: on a SQLite store they are in the file, and whoever needs the relay next
// starts it again.
//
// --record FILE: once listening, write {"pid","url","startedAt"} there (mode 0600), and remove
// it on a graceful exit if it still names this process. The relay writes it itself, after it
// holds the port, so a process that lost the race for the port never claims to be the relay.

import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { isAbsolute, relative } from 'node:path';
import { DEFAULT_RELAY_HOST, DEFAULT_RELAY_PORT, EXIT_STORE_IN_USE, type RelayProcessRecord, describeListenFailure } from './embedded.js';
import { type RunningRelay, startRelay } from './node.js';
import { parseRelayCommandLine, relayUsage } from './commandLine.js';
import { StoreUnavailableError } from './store.js';
import { errorMessage } from '../core/errors.js';

/** How this process was started, as a person would type it again: `node dist/relay.mjs`. */
const invokedAs = `node ${shownScript(process.argv[1] ?? 'relay.mjs')}`;

/** The script relative to the working directory when it is under it, else as given (absolute). */
function shownScript(script: string): string {
  const fromHere = relative(process.cwd(), script);
  return fromHere === '' || fromHere.startsWith('..') || isAbsolute(fromHere) ? script : fromHere;
}

/** One line naming the wrong argument and its shape; exit 2. */
function usage(message: string): never {
  process.stderr.write(`relay: ${message}\n`);
  process.exit(2);
}

const commandLine = (() => {
  try {
    return parseRelayCommandLine(process.argv.slice(2), process.env);
  } catch (error) {
    return usage(errorMessage(error));
  }
})();
if (commandLine.kind === 'help') {
  process.stdout.write(relayUsage(invokedAs));
  process.exit(0);
}
const { settings } = commandLine;
const host = settings.host ?? DEFAULT_RELAY_HOST;
const port = settings.port ?? DEFAULT_RELAY_PORT;
const idleExitSeconds = settings['idle-exit'] ?? 0;
const recordPath = settings.record;

let relay: RunningRelay;
try {
  relay = await startRelay({ host, port, trustProxy: settings['trust-proxy'] ?? [], metrics: true, ...(settings.store !== undefined && { store: settings.store }) });
} catch (error) {
  process.stderr.write(`relay: ${error instanceof StoreUnavailableError ? error.message : describeListenFailure(host, port, error)}\n`);
  // By name: the SQLite module (and its WebAssembly) is loaded only when a relay runs on it.
  process.exit(error instanceof Error && error.name === 'StoreInUseError' ? EXIT_STORE_IN_USE : 1);
}
// Before anyone learns the relay runs (the record, the line below): a signal that comes before
// its handler ends the process at once, without closing the store or removing the record.
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

// Synchronously, before any request is handled: whoever sees the relay answer finds the record.
if (recordPath !== undefined) writeRecord(recordPath, { pid: process.pid, url: relay.url, startedAt: new Date().toISOString() });
process.stdout.write(`Agent Pair relay listening on ${relay.url} (store: ${relay.storeDescription})\n`);


const idleExitMs = idleExitSeconds * 1000;
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
      process.stdout.write(`Agent Pair relay idle for ${idleExitSeconds} s; exiting\n`);
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
    process.stderr.write(`relay: could not write ${path}: ${errorMessage(error)}\n`);
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
