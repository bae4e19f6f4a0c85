// The MCP tools: thin wrappers over the same SessionStore, identity and trust functions that the
// CLI and the VS Code commands use. The agent can host, join, poll, finalize and abort, but it
// never sees the SAS and cannot confirm one: `pair_confirm` asks the *person* through a
// ConfirmPort (the VS Code webview) or an MCP elicitation (shown by the client to the person).
// Domain failures come back as tool results with `isError`, never as protocol errors.

import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { PairError, isPairError } from '../core/errors.js';
import { HANDLE_PATTERN, initSelfIdempotent, loadIdentity } from '../core/identity.js';
import type { ConfirmPort } from '../core/ports.js';
import type { SessionDeps, SessionSnapshot } from '../core/session.js';
import type { SessionStore } from '../core/store.js';
import { forgetPeer, listPeers } from '../core/trust.js';

export const MCP_SERVER_NAME = 'agent-pair';
/** How long host, join and status may wait for the other side in one call. */
export const MAX_TOOL_WAIT_SECONDS = 30;
/** How long finalize may wait for the other side in one call. */
export const MAX_FINALIZE_SECONDS = 120;
const DEFAULT_FINALIZE_SECONDS = 30;

export interface McpServerOptions {
  store: SessionStore;
  deps: SessionDeps;
  defaultRelayUrl: string;
  /** Where the person types the SAS digits (VS Code's webview); else MCP elicitation is used. */
  confirmPort?: ConfirmPort;
  /** Where another process may confirm a session (the stdio server shares files with `agent-pair confirm`). */
  sharedStorage?: boolean;
  log?: (line: string) => void;
  version?: string;
}

const sessionId = z.string().regex(/^[0-9a-f]{32}$/, 'a session_id is 32 lowercase hex characters, as returned by pair_host or pair_join').describe('The session_id returned by pair_host or pair_join.');
const waitSeconds = z.number().int().min(0).max(MAX_TOOL_WAIT_SECONDS).optional().describe(`Wait up to this many seconds (0-${MAX_TOOL_WAIT_SECONDS}) for the other side before answering.`);
const relayUrl = z.url({ protocol: /^https?$/ }).optional().describe('Relay URL; omit to use the default relay.');

const peerOut = z.object({ handle: z.string(), fingerprint: z.string(), relay_url: z.string() });
const sessionOut = z.object({
  session_id: z.string(),
  role: z.enum(['host', 'guest']),
  state: z.enum(['opened', 'sas_ready', 'confirmed', 'finalized', 'aborted']),
  relay_url: z.string(),
  nameplate: z.string(),
  code: z.string().optional().describe('The code phrase for the person to read to the other person (host, before they join).'),
  expires_at: z.string(),
  seconds_left: z.number(),
  peer_joined: z.boolean(),
  person_must_act: z.boolean(),
  abort_reason: z.string().optional(),
  peer: peerOut.optional(),
  next_step: z.string(),
});
type SessionOut = z.infer<typeof sessionOut>;

/** What the agent is told to do next, in terms of these tools. */
function agentNextStep(snapshot: SessionSnapshot): string {
  switch (snapshot.state) {
    case 'opened':
      return snapshot.role === 'host' && !snapshot.peerJoined && snapshot.code !== undefined
        ? `Tell the person to read the code ${snapshot.code} to the other person, who joins with it. Then call pair_status with wait_seconds to follow the key exchange.`
        : 'The key exchange is running. Call pair_status with wait_seconds until the state is sas_ready.';
    case 'sas_ready':
      return 'Call pair_confirm: it asks the person (not you) to compare the 6-digit SAS with the other person and type the digits they read out.';
    case 'confirmed':
      return 'Call pair_finalize to exchange and pin identity cards.';
    case 'finalized':
    case 'aborted':
      return snapshot.nextStep;
  }
}

export function sessionToOutput(snapshot: SessionSnapshot): SessionOut {
  return {
    session_id: snapshot.sessionId,
    role: snapshot.role,
    state: snapshot.state,
    relay_url: snapshot.relayUrl,
    nameplate: snapshot.nameplate,
    ...(snapshot.code !== undefined && { code: snapshot.code }),
    expires_at: snapshot.expiresAt,
    seconds_left: snapshot.secondsLeft,
    peer_joined: snapshot.peerJoined,
    person_must_act: snapshot.personMustAct,
    ...(snapshot.abortReason !== undefined && { abort_reason: snapshot.abortReason }),
    ...(snapshot.peer && { peer: { handle: snapshot.peer.handle, fingerprint: snapshot.peer.fingerprint, relay_url: snapshot.peer.relayUrl } }),
    next_step: agentNextStep(snapshot),
  };
}

function summarise(session: SessionOut): string {
  const parts = [`Pairing ${session.session_id} (${session.role}, nameplate ${session.nameplate}): ${session.state}`];
  if (session.abort_reason !== undefined) parts.push(`reason: ${session.abort_reason}`);
  if (session.code !== undefined) parts.push(`code: ${session.code}`);
  if (session.peer) parts.push(`peer: ${session.peer.handle} (${session.peer.fingerprint})`);
  if (session.state !== 'finalized' && session.state !== 'aborted') parts.push(`${session.seconds_left} s left`);
  return `${parts.join('; ')}.\nNext: ${session.next_step}`;
}

function ok(structured: Record<string, unknown>, text: string): CallToolResult {
  return { content: [{ type: 'text', text }], structuredContent: structured };
}

function failure(error: PairError): CallToolResult {
  return { isError: true, content: [{ type: 'text', text: `${error.code}: ${error.message}` }] };
}

export function createMcpServer(options: McpServerOptions): McpServer {
  const { store, deps } = options;
  const log = options.log ?? (() => undefined);
  const server = new McpServer({ name: MCP_SERVER_NAME, version: options.version ?? '0.1.0' }, { capabilities: { tools: {} } });

  /** Runs a tool body; a PairError becomes an actionable tool error, anything else is a bug. */
  const guarded = async (tool: string, body: () => Promise<CallToolResult>): Promise<CallToolResult> => {
    try {
      return await body();
    } catch (error) {
      if (isPairError(error)) {
        log(`${tool}: ${error.code}`);
        return failure(error);
      }
      log(`${tool}: unexpected failure: ${error instanceof Error ? error.message : String(error)}`);
      throw error;
    }
  };

  const refresh = async (id: string): Promise<void> => {
    if (options.sharedStorage) await store.reloadFromStorage(id);
  };

  const single = (snapshot: SessionSnapshot): CallToolResult => {
    const session = sessionToOutput(snapshot);
    return ok({ session }, summarise(session));
  };

  server.registerTool('identity_show', {
    title: 'Show this agent\'s identity',
    description: 'Shows who this agent is: its handle, its fingerprint (what peers pin) and the relay of its inbox. Call it before pairing to check an identity exists.',
    outputSchema: { handle: z.string(), fingerprint: z.string(), relay_url: z.string().optional() },
  }, () => guarded('identity_show', async () => {
    const identity = await loadIdentity(deps);
    if (!identity) throw new PairError('identity_missing', 'This agent has no identity yet. Call identity_init with a handle (for example the person\'s name).');
    return ok({ handle: identity.handle, fingerprint: identity.fingerprint, ...(identity.relay && { relay_url: identity.relay.url }) }, `${identity.handle} (fingerprint ${identity.fingerprint})`);
  }));

  server.registerTool('identity_init', {
    title: 'Set up this agent\'s identity',
    description: 'Creates this agent\'s signing identity with a handle, once. Idempotent: with the same handle it returns the existing identity; with a different handle it fails and never re-keys.',
    inputSchema: {
      handle: z.string().regex(HANDLE_PATTERN, 'a handle is 1 to 64 letters, digits, _ or -').describe('A short name for this agent\'s person, like alice.'),
      relay_url: relayUrl,
    },
    outputSchema: { handle: z.string(), fingerprint: z.string(), created: z.boolean(), relay_url: z.string().optional() },
  }, ({ handle, relay_url }) => guarded('identity_init', async () => {
    const { identity, created } = await initSelfIdempotent(deps, handle, relay_url === undefined ? undefined : deps.relays(relay_url));
    return ok(
      { handle: identity.handle, fingerprint: identity.fingerprint, created, ...(identity.relay && { relay_url: identity.relay.url }) },
      `${created ? 'Created' : 'Already set up:'} ${identity.handle} (fingerprint ${identity.fingerprint}).`,
    );
  }));

  const openAndMaybeWait = async (role: 'host' | 'guest', relay: string | undefined, code: string | undefined, wait: number | undefined): Promise<CallToolResult> => {
    if (!(await loadIdentity(deps))) throw new PairError('identity_missing', 'This agent has no identity yet. Call identity_init with a handle first.');
    let snapshot = await store.open(role, relay ?? options.defaultRelayUrl, code);
    if (wait !== undefined && wait > 0) snapshot = await store.waitForSas(snapshot.sessionId, wait * 1000);
    return single(snapshot);
  };

  server.registerTool('pair_host', {
    title: 'Host a pairing',
    description: 'Starts pairing this agent with another person\'s agent. Returns a code phrase (like 47-UE2BZG) that YOUR PERSON must read to the other person, who joins with it. Then follow with pair_status, pair_confirm (the person verifies) and pair_finalize.',
    inputSchema: { relay_url: relayUrl, wait_seconds: waitSeconds },
    outputSchema: { session: sessionOut },
  }, ({ relay_url, wait_seconds }) => guarded('pair_host', () => openAndMaybeWait('host', relay_url, undefined, wait_seconds)));

  server.registerTool('pair_join', {
    title: 'Join a pairing',
    description: 'Joins a pairing hosted by another person\'s agent, with the code phrase that person read out (like 47-UE2BZG). A code works for one join only. Then follow with pair_status, pair_confirm and pair_finalize.',
    inputSchema: { code: z.string().min(1).max(64).describe('The code phrase the other person read out, like 47-UE2BZG.'), relay_url: relayUrl, wait_seconds: waitSeconds },
    outputSchema: { session: sessionOut },
  }, ({ code, relay_url, wait_seconds }) => guarded('pair_join', () => openAndMaybeWait('guest', relay_url, code, wait_seconds)));

  server.registerTool('pair_status', {
    title: 'Pairing status',
    description: 'Shows one pairing (with session_id; each call also advances the key exchange) or all pairings: state (opened, sas_ready, confirmed, finalized, aborted with reason), seconds left, and what to do next.',
    inputSchema: { session_id: sessionId.optional(), wait_seconds: waitSeconds },
    outputSchema: { sessions: z.array(sessionOut) },
  }, ({ session_id, wait_seconds }) => guarded('pair_status', async () => {
    if (session_id === undefined) {
      const sessions = store.list().map(sessionToOutput);
      return ok({ sessions }, sessions.length === 0 ? 'No pairings. Start one with pair_host or pair_join.' : sessions.map(summarise).join('\n'));
    }
    await refresh(session_id);
    let snapshot = await store.trySas(session_id);
    if (snapshot.state === 'opened' && wait_seconds !== undefined && wait_seconds > 0) snapshot = await store.waitForSas(session_id, wait_seconds * 1000);
    const session = sessionToOutput(snapshot);
    return ok({ sessions: [session] }, summarise(session));
  }));

  server.registerTool('pair_confirm', {
    title: 'Ask the person to verify the SAS',
    description: 'Asks THE PERSON (never the agent) to compare the 6-digit short authentication string with the other person and type the digits they read out. You pass only the session_id; you never see the SAS or the digits. A mismatch aborts the pairing.',
    inputSchema: { session_id: sessionId },
    outputSchema: { session: sessionOut },
  }, ({ session_id }) => guarded('pair_confirm', async () => {
    await refresh(session_id);
    let snapshot = await store.trySas(session_id);
    if (snapshot.state === 'confirmed') return single(snapshot);
    if (snapshot.state !== 'sas_ready') {
      throw new PairError('invalid_state', `Pairing ${session_id} is ${snapshot.state}${snapshot.abortReason === undefined ? '' : ` (${snapshot.abortReason})`}; there is no SAS to verify. ${agentNextStep(snapshot)}`);
    }
    const digits = await askPerson(snapshot);
    await refresh(session_id);
    snapshot = await store.confirmSas(session_id, digits);
    return single(snapshot);
  }));

  const askPerson = async (snapshot: SessionSnapshot): Promise<string> => {
    const sas = store.sasForPerson(snapshot.sessionId);
    const request = { sessionId: snapshot.sessionId, sas, peerHint: `nameplate ${snapshot.nameplate}`, expiresAt: Date.parse(snapshot.expiresAt) };
    if (options.confirmPort) return options.confirmPort.askForDigits(request);
    if (server.server.getClientCapabilities()?.elicitation) {
      let answer;
      try {
        answer = await server.server.elicitInput({
        mode: 'form',
        message: `Agent Pair: verify pairing ${snapshot.nameplate}.\n\nYour SAS is ${sas}.\nRead it to the other person and listen to theirs: they must be the same. Then type the 6 digits the other person reads out.`,
        requestedSchema: {
          type: 'object',
          properties: { digits: { type: 'string', title: 'Digits the other person reads out', description: '6 digits, like 594-376', minLength: 6, maxLength: 9 } },
          required: ['digits'],
        },
        });
      } catch (error) {
        throw new PairError('cancelled', `The client could not ask the person for the digits (${error instanceof Error ? error.message : String(error)}). The pairing still waits; try pair_confirm again, or confirm in a terminal: agent-pair confirm ${snapshot.sessionId}`, { cause: error });
      }
      const digits = answer.content?.['digits'];
      if (answer.action !== 'accept' || typeof digits !== 'string') {
        throw new PairError('cancelled', 'The person declined to verify the SAS; the pairing still waits. Call pair_confirm again when they are ready, or pair_abort.');
      }
      return digits;
    }
    throw new PairError('confirm_unavailable', `This MCP client cannot ask the person for the SAS digits. The person confirms in a terminal: agent-pair confirm ${snapshot.sessionId}  (then call pair_finalize).`);
  };

  server.registerTool('pair_finalize', {
    title: 'Finalize a pairing',
    description: 'After the person confirmed the SAS: exchanges signed identity cards sealed under the pairing key and pins the peer by fingerprint. Waits for the other side up to timeout_seconds; on a timeout, call it again.',
    inputSchema: { session_id: sessionId, timeout_seconds: z.number().int().min(0).max(MAX_FINALIZE_SECONDS).optional().describe(`Seconds to wait for the other side (0-${MAX_FINALIZE_SECONDS}, default ${DEFAULT_FINALIZE_SECONDS}).`) },
    outputSchema: { session: sessionOut },
  }, ({ session_id, timeout_seconds }) => guarded('pair_finalize', async () => {
    await refresh(session_id);
    return single(await store.finalize(session_id, (timeout_seconds ?? DEFAULT_FINALIZE_SECONDS) * 1000));
  }));

  server.registerTool('pair_abort', {
    title: 'Abort a pairing',
    description: 'Aborts a pairing; the other side learns the reason on its next poll.',
    inputSchema: { session_id: sessionId, reason: z.string().min(1).max(200).optional().describe('A short reason for the other side.') },
    outputSchema: { session: sessionOut },
  }, ({ session_id, reason }) => guarded('pair_abort', async () => single(await store.abort(session_id, reason ?? 'aborted by the agent'))));

  server.registerTool('peers_list', {
    title: 'List pinned peers',
    description: 'Lists the peers this agent has paired with and pinned: handle, fingerprint, relay, when pinned.',
    outputSchema: { peers: z.array(z.object({ handle: z.string(), fingerprint: z.string(), relay_url: z.string(), pinned_at: z.string() })) },
  }, () => guarded('peers_list', async () => {
    const peers = (await listPeers(deps)).map((peer) => ({ handle: peer.handle, fingerprint: peer.fingerprint, relay_url: peer.relayUrl, pinned_at: peer.pinnedAt }));
    return ok({ peers }, peers.length === 0 ? 'No pinned peers yet.' : peers.map((peer) => `${peer.handle} (${peer.fingerprint})`).join('\n'));
  }));

  server.registerTool('peers_forget', {
    title: 'Forget a pinned peer',
    description: 'Unpins a peer by its fingerprint (16 hex characters), so it must be paired again.',
    inputSchema: { fingerprint: z.string().regex(/^[0-9a-f]{16}$/, 'a fingerprint is 16 lowercase hex characters').describe('The peer\'s fingerprint, from peers_list.') },
    outputSchema: { forgotten: z.boolean() },
  }, ({ fingerprint }) => guarded('peers_forget', async () => {
    if (!(await forgetPeer(deps, fingerprint))) throw new PairError('not_found', `No pinned peer has fingerprint ${fingerprint}. Call peers_list to see them.`);
    return ok({ forgotten: true }, `Forgot ${fingerprint}.`);
  }));

  return server;
}
