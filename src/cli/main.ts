// `agent-pair`: argv in, one command out. No protocol logic lives here: every command is a thin
// call into the core (sessions, identity, trust), the relay, or the MCP server.

import { parseArgs } from 'node:util';
import { PairError, isPairError } from '../core/errors.js';
import { initSelfIdempotent, loadIdentity } from '../core/identity.js';
import { listPeers } from '../core/trust.js';
import { SAS_MISMATCH_REASON } from '../core/session.js';
import { SessionStore } from '../core/store.js';
import { createRelayConnector, normaliseRelayUrl } from '../relay/client.js';
import { DEFAULT_RELAY_HOST, DEFAULT_RELAY_PORT, DEFAULT_RELAY_URL } from '../relay/embedded.js';
import { startRelay, trustedProxies } from '../relay/node.js';
import { parseRedisUrl } from '../relay/storeUrl.js';
import { defaultHome, systemClock, systemRandom } from '../node/system.js';
import { openHomeStores } from './fileStore.js';
import { MESSAGE_OPTIONS, MESSAGE_USAGE, MessageUsageError, forgetCommand, inboxCommand, sendCommand } from './messages.js';
import { resolveRelay, runPairing } from './pair.js';
import { Terminal } from './terminal.js';

const USAGE = `agent-pair: pair two people's coding agents by identity.

Usage:
  agent-pair host [--relay URL] [--handle NAME]        host a pairing and print the code to read out
  agent-pair join CODE [--relay URL] [--handle NAME]   join with the code the other person read out
  agent-pair confirm SESSION                           verify the SAS of a pairing an agent started (MCP)
  agent-pair whoami                                    show this identity
  agent-pair init HANDLE [--relay URL]                 set up this identity (idempotent)
  agent-pair peers                                     list pinned peers
  agent-pair forget FINGERPRINT                        unpin a peer and revoke its access to your inbox
${MESSAGE_USAGE}  agent-pair relay [--host 127.0.0.1] [--port 8771]    run a relay
        [--store redis://HOST:PORT[/DB]]               keep its state in Redis (many relay processes, restarts)
        [--trust-proxy CIDR,...]                       take the client address from these proxies' X-Forwarded-For
  agent-pair mcp [--relay URL]                         run the MCP server on stdio (for Claude Code, Cursor, ...)

Options:
  --home DIR   identity and trust directory (default: $AGENT_PAIR_HOME or ~/.agent-pair)
  --json       one JSON event per line on stdout; human text on stderr
  --relay URL  relay to pair through (default: ${DEFAULT_RELAY_URL}, started here if none answers)
`;

/** Exit statuses: 0 paired or done, 1 the operation failed, 2 the command line was wrong, 130 interrupted. */
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        relay: { type: 'string' },
        handle: { type: 'string' },
        home: { type: 'string' },
        json: { type: 'boolean', default: false },
        host: { type: 'string', default: DEFAULT_RELAY_HOST },
        port: { type: 'string', default: String(DEFAULT_RELAY_PORT) },
        store: { type: 'string', default: process.env['AGENT_PAIR_RELAY_STORE'] ?? '' },
        'trust-proxy': { type: 'string', default: process.env['AGENT_PAIR_RELAY_TRUST_PROXY'] ?? '' },
        help: { type: 'boolean', short: 'h', default: false },
        ...MESSAGE_OPTIONS,
      },
    });
  } catch (error) {
    process.stderr.write(`agent-pair: ${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (values.help || command === undefined || command === 'help') {
    process.stdout.write(USAGE);
    return command === undefined && !values.help ? EXIT_USAGE : 0;
  }
  const terminal = new Terminal(values.json);
  const home = values.home ?? defaultHome();
  const relayUrl = values.relay === undefined ? undefined : normaliseRelayUrl(values.relay);
  const expectArgs = (count: number, shape: string): string[] => {
    if (rest.length !== count) throw new UsageError(`${command} takes ${shape}`);
    return rest;
  };

  try {
    switch (command) {
      case 'host':
        expectArgs(0, 'no arguments');
        return (await runPairing({ role: 'host', home, ...(relayUrl && { relayUrl }), ...(values.handle !== undefined && { handle: values.handle }) }, terminal)) ? 0 : EXIT_FAILED;
      case 'join': {
        const [code] = expectArgs(1, 'the code phrase, like 47-UE2BZG');
        return (await runPairing({ role: 'guest', home, code: code ?? '', ...(relayUrl && { relayUrl }), ...(values.handle !== undefined && { handle: values.handle }) }, terminal)) ? 0 : EXIT_FAILED;
      }
      case 'confirm': {
        const [sessionId] = expectArgs(1, 'the session id an agent gave you');
        return await confirmFromTerminal(home, sessionId ?? '', terminal);
      }
      case 'whoami': {
        expectArgs(0, 'no arguments');
        const identity = await loadIdentity(homeDeps(home));
        if (!identity) throw new PairError('identity_missing', `No identity in ${home} yet. Create one with: agent-pair init YOUR_HANDLE`);
        terminal.result({ handle: identity.handle, fingerprint: identity.fingerprint, relay_url: identity.relay?.url ?? null }, `${identity.handle}  ${identity.fingerprint}${identity.relay ? `  inbox on ${identity.relay.url}` : ''}`);
        return 0;
      }
      case 'init': {
        const [handle] = expectArgs(1, 'a handle (letters, digits, _ or -, up to 64)');
        const deps = homeDeps(home);
        const { identity, created } = await initSelfIdempotent(deps, handle ?? '', relayUrl === undefined ? undefined : deps.relays(relayUrl));
        terminal.result({ handle: identity.handle, fingerprint: identity.fingerprint, created }, `${created ? 'Created' : 'Already set up:'} ${identity.handle} (${identity.fingerprint})`);
        return 0;
      }
      case 'peers': {
        expectArgs(0, 'no arguments');
        const peers = await listPeers(homeDeps(home));
        if (peers.length === 0 && !terminal.json) terminal.say('No pinned peers yet. Pair with: agent-pair host');
        for (const peer of peers) {
          terminal.result({ handle: peer.handle, fingerprint: peer.fingerprint, relay_url: peer.relayUrl, pinned_at: peer.pinnedAt }, `${peer.fingerprint}  ${peer.handle}  pinned ${peer.pinnedAt}`);
        }
        return 0;
      }
      case 'forget': {
        const [fingerprint] = expectArgs(1, 'a peer fingerprint (16 hex characters)');
        return await forgetCommand(homeDeps(home), fingerprint ?? '', terminal);
      }
      case 'send':
        return await sendCommand(homeDeps(home), rest, values, terminal);
      case 'inbox':
        return await inboxCommand(homeDeps(home), rest, values, terminal);
      case 'relay':
        expectArgs(0, 'no arguments');
        return await runRelay(values.host, values.port, { store: values.store, trustProxy: values['trust-proxy'] }, terminal);
      case 'mcp': {
        expectArgs(0, 'no arguments');
        const relay = await resolveRelay(relayUrl);
        const { runStdioServer } = await import('../mcp/stdio.js');
        await runStdioServer({ home, relayUrl: relay.url, confirmSends: values['confirm-sends'] });
        return 0;
      }
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}`);
    }
  } catch (error) {
    if (error instanceof UsageError || error instanceof MessageUsageError) {
      process.stderr.write(`agent-pair: ${error.message}\n\n${USAGE}`);
      return EXIT_USAGE;
    }
    const code = isPairError(error) ? error.code : 'relay_error';
    const message = error instanceof Error ? error.message : String(error);
    terminal.event({ event: 'error', code, message });
    terminal.warn(`agent-pair: ${message}`);
    if (!isPairError(error) && process.env['AGENT_PAIR_DEBUG'] === '1' && error instanceof Error) terminal.warn(error.stack ?? '');
    return EXIT_FAILED;
  } finally {
    terminal.close();
  }
}

class UsageError extends Error {}

function homeDeps(home: string) {
  const { vault, memory } = openHomeStores(home);
  return { vault, memory, random: systemRandom, clock: systemClock, relays: createRelayConnector() };
}

/**
 * The person's half of an agent's pairing: the MCP stdio server persisted the session in the
 * home directory; this process restores it without network I/O, shows the SAS and takes the
 * digits. The MCP server sees the confirmation on its next call.
 */
async function confirmFromTerminal(home: string, sessionId: string, terminal: Terminal): Promise<number> {
  const store = new SessionStore(homeDeps(home));
  await store.restore();
  let snapshot = await store.trySas(sessionId);
  if (snapshot.state === 'opened') snapshot = await store.waitForSas(sessionId, 30_000);
  if (snapshot.state !== 'sas_ready') {
    throw new PairError('invalid_state', `Pairing ${sessionId} is ${snapshot.state}${snapshot.abortReason ? ` (${snapshot.abortReason})` : ''}: there is no SAS to verify. ${snapshot.nextStep}`);
  }
  const sas = store.sasForPerson(sessionId);
  terminal.event({ event: 'sas', sas, session_id: sessionId });
  terminal.say(`Your SAS: ${sas}\nRead it to the other person and listen to theirs. They must be the same.`);
  const typed = await terminal.ask('Type the 6 digits the other person reads out: ');
  if (typed === undefined) throw new PairError('cancelled', 'No digits were typed; the pairing still waits for the SAS.');
  try {
    await store.confirmSas(sessionId, typed);
  } catch (error) {
    if (!isPairError(error, 'sas_mismatch')) throw error;
    terminal.event({ event: 'aborted', reason: SAS_MISMATCH_REASON, code: 'sas_mismatch' });
    terminal.warn(error.message);
    return EXIT_FAILED;
  }
  terminal.say('Confirmed. Your agent can finalize the pairing now.');
  return 0;
}

async function runRelay(host: string, portText: string, serving: { store: string; trustProxy: string }, terminal: Terminal): Promise<number> {
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new UsageError(`--port ${portText} is not a port; expected 0 to 65535`);
  const store = serving.store === '' ? undefined : serving.store;
  const trustProxy = serving.trustProxy === '' ? [] : serving.trustProxy.split(',');
  try {
    if (store !== undefined) parseRedisUrl(store);
    trustedProxies(trustProxy);
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const relay = await startRelay({ host, port, trustProxy, metrics: true, ...(store !== undefined && { store }) });
  terminal.say(`Agent Pair relay listening on ${relay.url} (Ctrl-C stops it).`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await relay.close();
  terminal.say('Relay stopped.');
  return 0;
}

const exitCode = await main(process.argv.slice(2));
process.exitCode = exitCode;
