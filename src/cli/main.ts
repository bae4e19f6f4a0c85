// `agent-pair`: argv in, one command out. No protocol logic lives here: every command is a thin
// call into the core (sessions, identity, trust), the relay, or the MCP server.

import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PairError, isPairError } from '../core/errors.js';
import { FINGERPRINT_PATTERN, IDENTITY_KEYS, initSelfIdempotent, loadIdentity } from '../core/identity.js';
import { forgetPeer, listPeers } from '../core/trust.js';
import { createRelayConnector, normaliseRelayUrl } from '../relay/client.js';
import { DEFAULT_RELAY_HOST, DEFAULT_RELAY_PORT, DEFAULT_RELAY_URL } from '../relay/embedded.js';
import { startRelay } from '../relay/node.js';
import { defaultHome, systemClock, systemRandom } from '../node/system.js';
import { keyToFileName, openHomeStores } from '../node/fileStore.js';
import { confirmFromTerminal, listSessions } from './confirm.js';
import { resolveRelay, runPairing } from './pair.js';
import { Terminal } from './terminal.js';
import { type CliContext, identityConflictWords } from './words.js';

const USAGE = `agent-pair: pair two people's coding agents by identity.

Usage:
  agent-pair host [--relay URL] [--handle NAME]        host a pairing and print the code to read out
  agent-pair join CODE [--relay URL] [--handle NAME]   join with the code the other person read out
  agent-pair confirm SESSION                           verify the SAS of a pairing an agent started (MCP)
  agent-pair sessions                                  list the agents' pairings in flight (MCP)
  agent-pair whoami                                    show this identity
  agent-pair init HANDLE [--relay URL]                 set up this identity (idempotent)
  agent-pair peers                                     list pinned peers
  agent-pair forget FINGERPRINT                        unpin a peer
  agent-pair relay [--host 127.0.0.1] [--port 8771]    run a relay
  agent-pair mcp [--relay URL]                         run the MCP server on stdio (for Claude Code, Cursor, ...)

Options:
  --home DIR   identity and trust directory (default: $AGENT_PAIR_HOME or ~/.agent-pair)
  --json       one JSON event per line on stdout; human text on stderr
  --relay URL  relay to pair through (default: ${DEFAULT_RELAY_URL}, started here if none answers)
`;

/** Exit statuses: 0 paired or done, 1 the operation failed, 2 the command line was wrong, 130 interrupted. */
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;
const EXIT_INTERRUPTED = 130;
const PAIR_EXIT = { paired: 0, ended: EXIT_FAILED, interrupted: EXIT_INTERRUPTED } as const;

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
        help: { type: 'boolean', short: 'h', default: false },
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
  const context: CliContext = { command: 'agent-pair', home };
  const expectArgs = (count: number, shape: string): string[] => {
    if (rest.length !== count) throw new UsageError(`${command} takes ${shape}`);
    return rest;
  };

  try {
    switch (command) {
      case 'host':
        expectArgs(0, 'no arguments');
        return PAIR_EXIT[await runPairing({ role: 'host', home, context, ...(relayUrl && { relayUrl }), ...(values.handle !== undefined && { handle: values.handle }) }, terminal)];
      case 'join': {
        const [code] = expectArgs(1, 'the code phrase, like 47-UE2BZG');
        return PAIR_EXIT[await runPairing({ role: 'guest', home, context, code: code ?? '', ...(relayUrl && { relayUrl }), ...(values.handle !== undefined && { handle: values.handle }) }, terminal)];
      }
      case 'confirm': {
        const [sessionId] = expectArgs(1, 'the session id an agent gave you');
        if (!/^[0-9a-f]{32}$/.test(sessionId ?? '')) throw new UsageError(`SESSION ${JSON.stringify(sessionId)} is not a session id; expected the 32 lowercase hex characters your agent gave you (\`agent-pair sessions\` lists them)`);
        return (await confirmFromTerminal(context, sessionId ?? '', terminal)) ? 0 : EXIT_FAILED;
      }
      case 'sessions':
        expectArgs(0, 'no arguments');
        await listSessions(context, terminal);
        return 0;
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
        const { identity, created } = await initSelfIdempotent(deps, handle ?? '', relayUrl === undefined ? undefined : deps.relays(relayUrl)).catch(async (error: unknown) => {
          const existing = isPairError(error, 'identity_conflict') ? await loadIdentity(deps) : undefined;
          if (!existing) throw error;
          const files = { card: join(home, 'state', keyToFileName(IDENTITY_KEYS.card)), privateKey: join(home, 'secrets', keyToFileName(IDENTITY_KEYS.privateKey)) };
          throw new PairError('identity_conflict', identityConflictWords(existing, handle ?? '', files, context));
        });
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
        if (!FINGERPRINT_PATTERN.test((fingerprint ?? '').toLowerCase())) throw new UsageError(`FINGERPRINT ${JSON.stringify(fingerprint)} is not a fingerprint; expected 16 hex characters, as \`agent-pair peers\` lists them`);
        const removed = await forgetPeer(homeDeps(home), fingerprint ?? '');
        if (!removed) throw new PairError('not_found', `No pinned peer has fingerprint ${fingerprint ?? ''}. List them with: agent-pair peers`);
        terminal.say(`Forgot ${fingerprint ?? ''}.`);
        return 0;
      }
      case 'relay':
        expectArgs(0, 'no arguments');
        return await runRelay(values.host, values.port, terminal);
      case 'mcp': {
        expectArgs(0, 'no arguments');
        const relay = await resolveRelay(relayUrl, home);
        const { runStdioServer } = await import('../mcp/stdio.js');
        await runStdioServer({ home, relayUrl: relay.url });
        return 0;
      }
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
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

async function runRelay(host: string, portText: string, terminal: Terminal): Promise<number> {
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new UsageError(`--port ${portText} is not a port; expected 0 to 65535`);
  const relay = await startRelay({ host, port });
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
