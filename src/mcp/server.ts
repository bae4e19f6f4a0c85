// The MCP tools: thin wrappers over the same SessionStore, identity and trust functions that the
// CLI and the VS Code commands use. The agent can host, join, poll, finalize and abort, but it
// never sees the SAS and cannot confirm one: `pair_confirm` asks the *person* through a
// ConfirmPort (the VS Code webview) or an MCP elicitation (shown by the client to the person).
// Domain failures come back as tool results with `isError` and the error code, never as
// protocol errors. No result and no log line carries the SAS, the digits typed, a seed, a key
// or a token; log lines do not carry the code phrase either.
//
// While the person is being asked (`pair_confirm`) the session's relay slot is watched, so a
// peer's abort or an expired slot ends the question at once with an error saying so, instead
// of after the person typed; `pair_status` with `wait_seconds` on a `sas_ready` session waits
// the same way, so a polling agent learns of it too.

import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { type CallToolResult, ErrorCode as RpcErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { PairError, isPairError } from '../core/errors.js';
import { HANDLE_PATTERN, initSelfIdempotent, loadIdentity } from '../core/identity.js';
import type { ConfirmPort } from '../core/ports.js';
import type { SessionDeps, SessionSnapshot } from '../core/session.js';
import type { SessionStore } from '../core/store.js';
import { forgetAndRevoke } from '../core/inbox.js';
import { listPeers } from '../core/trust.js';
import { watchWhileAsked } from '../node/watch.js';
import { type MessageReceiver, registerMessageTools } from './messageTools.js';

export const MCP_SERVER_NAME = 'agent-pair';
/** How long host, join and status may wait for the other side in one call (well under clients' request timeouts). */
export const MAX_TOOL_WAIT_SECONDS = 30;
/** How long finalize may wait for the other side in one call. */
export const MAX_FINALIZE_SECONDS = 120;
const DEFAULT_FINALIZE_SECONDS = 30;
/** A person who types something that is not 6 digits is asked again, this many times in all. */
export const MAX_DIGIT_PROMPTS = 3;
/** What the person may type for the SAS: 6 digits, optionally split 3-3 by a dash or a space (as the webview accepts). */
const DIGITS_SHAPE = /^\s*\d{3}[- ]?\d{3}\s*$/;
/** With shared storage, a watch of a `sas_ready` session re-reads it this often (another process may confirm it). */
const SHARED_STORAGE_CHECK_MS = 2_000;
/** While the person is asked, the longest single watch of the relay. */
const CONFIRM_WATCH_SLICE_MS = 60_000;

export interface McpServerOptions {
  store: SessionStore;
  deps: SessionDeps;
  defaultRelayUrl: string;
  /** Where the person types the SAS digits (VS Code's webview); else MCP elicitation is used. */
  confirmPort?: ConfirmPort;
  /**
   * Another process may change sessions in the same storage (the stdio server shares its files
   * with `agent-pair confirm`): every session call first adopts what that process persisted.
   */
  sharedStorage?: boolean;
  /** One line per tool call: the tool and its outcome (a state or an error code), nothing secret. */
  log?: (line: string) => void;
  version?: string;
  /** Every peer_send waits for the person's yes (MCP elicitation). */
  confirmSends?: boolean;
  /** The messaging tools' runner (VS Code: the window's); see messageTools.ts. */
  receiver?: MessageReceiver;
}

// ---- Input schemas. The SDK turns a failed parse into a tool error that quotes these
// messages followed by "at <argument>", so each one names the argument and the expected shape.

function required(name: string, expected: string): (issue: { input?: unknown }) => string {
  return (issue) => (issue.input === undefined ? `${name} is required: ${expected}` : `${name} must be ${expected}`);
}

/** A strict argument object: an unknown (say, misspelled) argument is an error, not silently dropped. */
function args<Shape extends z.ZodRawShape>(shape: Shape): z.ZodObject<Shape, z.core.$strict> {
  const names = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (issue) => (issue.code === 'unrecognized_keys' ? `unknown argument ${issue.keys.map((key) => JSON.stringify(key)).join(', ')}: this tool takes only ${names}` : undefined),
  });
}

const SESSION_ID_SHAPE = '32 lowercase hex characters, the session_id returned by pair_host or pair_join';
const sessionIdArg = z
  .string({ error: required('session_id', SESSION_ID_SHAPE) })
  .regex(/^[0-9a-f]{32}$/, `session_id must be ${SESSION_ID_SHAPE}`)
  .describe('The session_id returned by pair_host or pair_join.');

function secondsArg(name: string, max: number, what: string): z.ZodOptional<z.ZodNumber> {
  const shape = `a whole number of seconds from 0 to ${max}`;
  return z.number({ error: required(name, shape) }).int(`${name} must be ${shape}`).min(0, `${name} must be ${shape}`).max(max, `${name} must be ${shape}`).optional().describe(what);
}

const waitSecondsArg = secondsArg('wait_seconds', MAX_TOOL_WAIT_SECONDS, `Wait up to this many seconds (0-${MAX_TOOL_WAIT_SECONDS}) for the other side before answering. Omit or 0 to answer at once.`);

const RELAY_SHAPE = 'an http:// or https:// URL, like https://relay.example.com';
const relayUrlArg = z
  .url({ protocol: /^https?$/, error: required('relay_url', RELAY_SHAPE) })
  .optional()
  .describe('The relay to pair through. Both people must use the same one. Omit it to use the default relay.');

// ---- Output schemas.

const peerOut = z.object({ handle: z.string(), fingerprint: z.string(), relay_url: z.string() });
const sessionOut = z.object({
  session_id: z.string(),
  role: z.enum(['host', 'guest']),
  state: z.enum(['opened', 'sas_ready', 'confirmed', 'finalized', 'aborted']),
  relay_url: z.string(),
  nameplate: z.string(),
  code: z.string().optional().describe('The code phrase the person reads to the other person (host only, until the key exchange ends).'),
  expires_at: z.string(),
  seconds_left: z.number(),
  peer_joined: z.boolean(),
  person_must_act: z.boolean().describe('True while only the person can move the pairing on (verifying the SAS).'),
  abort_reason: z.string().optional(),
  error_code: z.string().optional().describe('Why an aborted pairing ended, as an error code.'),
  peer: peerOut.optional(),
  next_step: z.string(),
});
type SessionOut = z.infer<typeof sessionOut>;

/** What the agent should do next, in terms of these tools. */
function agentNextStep(snapshot: SessionSnapshot): string {
  switch (snapshot.state) {
    case 'opened':
      return snapshot.role === 'host' && !snapshot.peerJoined && snapshot.code !== undefined
        ? `Tell the person the code ${snapshot.code}: they read it to the other person, whose agent joins with it (pair_join). Then call pair_status with wait_seconds until the state is sas_ready.`
        : 'The key exchange is running. Call pair_status with wait_seconds until the state is sas_ready.';
    case 'sas_ready':
      return 'Call pair_confirm: it asks the person (not you) to compare a 6-digit SAS (short authentication string) with the other person and type the digits the other person reads out. Tell the person to expect that prompt.';
    case 'confirmed':
      return 'Call pair_finalize to exchange and pin identity cards.';
    case 'finalized':
      return snapshot.peer ? `Paired: ${snapshot.peer.handle} (fingerprint ${snapshot.peer.fingerprint}) is pinned. Nothing more to do.` : 'Paired. Nothing more to do.';
    case 'aborted':
      return `${snapshot.nextStep} To try again, call pair_host or pair_join.`;
  }
}

/** A promise that rejects once `signal` aborts (and never settles otherwise). */
function abortion(signal: AbortSignal): Promise<never> {
  return new Promise<never>((_resolve, reject) => {
    const fail = (): void => {
      reject(new PairError('cancelled', 'Stopped waiting for the person\'s answer.'));
    };
    if (signal.aborted) fail();
    else signal.addEventListener('abort', fail, { once: true });
  });
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
    ...(snapshot.abortCode !== undefined && { error_code: snapshot.abortCode }),
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

function outcomeOf(result: CallToolResult): string {
  const structured = result.structuredContent as { session?: { state?: unknown }; sessions?: unknown[] } | undefined;
  if (typeof structured?.session?.state === 'string') return structured.session.state;
  if (Array.isArray(structured?.sessions)) return `${structured.sessions.length} session(s)`;
  return 'ok';
}

export function createMcpServer(options: McpServerOptions): McpServer {
  const { store, deps } = options;
  const log = options.log ?? (() => undefined);
  const server = new McpServer({ name: MCP_SERVER_NAME, version: options.version ?? '0.1.0' }, { capabilities: { tools: {} } });
  /** Sessions whose person is being asked right now, so a second pair_confirm does not ask twice. */
  const asking = new Set<string>();

  /** Runs a tool body; a PairError becomes an actionable tool error, anything else is a bug. */
  const guarded = async (tool: string, body: () => Promise<CallToolResult>): Promise<CallToolResult> => {
    try {
      const result = await body();
      log(`${tool}: ${outcomeOf(result)}`);
      return result;
    } catch (error) {
      if (isPairError(error)) {
        log(`${tool}: ${error.code}`);
        return failure(error);
      }
      log(`${tool}: unexpected failure (${error instanceof Error ? error.name : typeof error})`);
      throw error;
    }
  };

  const refresh = async (id: string): Promise<void> => {
    if (options.sharedStorage) await store.reloadFromStorage(id);
  };

  /**
   * The session as it is now: adopted from shared storage, and stepped once if the key exchange
   * is running. Past that it is read without writing, so polling never overwrites a
   * confirmation another process persists meanwhile.
   */
  const current = async (id: string): Promise<SessionSnapshot> => {
    await store.sweepExpired(); // first, so a session past its TTL reads as expired, not as ended elsewhere
    await refresh(id);
    const snapshot = store.status(id);
    return snapshot.state === 'opened' ? store.trySas(id) : snapshot;
  };

  /**
   * Waits while the session is `sas_ready`, at most `maxWaitMs`, for it to move on: a peer's
   * abort or an expired slot (seen at the relay), this process's own confirmation or abort, or
   * (with shared storage) what another process persisted, re-read every few seconds.
   */
  const watchSasReady = async (id: string, maxWaitMs: number, signal: AbortSignal): Promise<SessionSnapshot> => {
    const deadline = deps.clock.now() + maxWaitMs;
    for (;;) {
      const snapshot = store.status(id);
      const remainingMs = deadline - deps.clock.now();
      if (snapshot.state !== 'sas_ready' || remainingMs <= 0 || signal.aborted) return snapshot;
      await store.watchPeer(id, options.sharedStorage ? Math.min(remainingMs, SHARED_STORAGE_CHECK_MS) : remainingMs, signal);
      await refresh(id);
    }
  };

  /** The error for a pairing that ended while its person was being asked to verify the SAS. */
  const endedWhileAsking = (snapshot: SessionSnapshot): PairError => {
    const reason = snapshot.abortReason ?? 'aborted';
    const what = snapshot.abortCode === 'peer_aborted'
      ? `The other side aborted pairing ${snapshot.sessionId} (${reason}) while the person was verifying the SAS`
      : snapshot.abortCode === 'expired'
        ? `Pairing ${snapshot.sessionId} expired while the person was verifying the SAS`
        : `Pairing ${snapshot.sessionId} ended (${reason}) while the person was verifying the SAS`;
    return new PairError(snapshot.abortCode ?? 'aborted', `${what}; nothing was confirmed. ${agentNextStep(snapshot)}`);
  };

  const single = (snapshot: SessionSnapshot): CallToolResult => {
    const session = sessionToOutput(snapshot);
    return ok({ session }, summarise(session));
  };

  server.registerTool('identity_show', {
    title: 'Show this agent\'s identity',
    description: 'Shows who this agent is to peers: its handle, its fingerprint (what peers pin) and the relay of its inbox. Call it before pairing; if has_identity is false, call identity_init first.',
    outputSchema: {
      has_identity: z.boolean(),
      handle: z.string().optional(),
      fingerprint: z.string().optional(),
      relay_url: z.string().optional(),
      next_step: z.string().optional(),
    },
    annotations: { readOnlyHint: true, openWorldHint: false },
  }, () => guarded('identity_show', async () => {
    const identity = await loadIdentity(deps);
    if (!identity) {
      const next = 'No identity yet: call identity_init with a handle (ask the person for a short name, like alice).';
      return ok({ has_identity: false, next_step: next }, next);
    }
    return ok(
      { has_identity: true, handle: identity.handle, fingerprint: identity.fingerprint, ...(identity.relay && { relay_url: identity.relay.url }) },
      `${identity.handle} (fingerprint ${identity.fingerprint})${identity.relay ? `, inbox on ${identity.relay.url}` : ', no inbox yet (the first pairing sets it up)'}.`,
    );
  }));

  server.registerTool('identity_init', {
    title: 'Set up this agent\'s identity',
    description: 'Creates this agent\'s signing identity with a handle (a short name peers see next to the fingerprint), once. Idempotent: with the same handle it changes nothing and returns the existing identity; with a different handle it fails and never replaces the key, because peers pin it. relay_url also sets up the inbox there; without it, the first pairing does.',
    inputSchema: args({
      handle: z
        .string({ error: required('handle', '1 to 64 letters, digits, "_" or "-"') })
        .regex(HANDLE_PATTERN, 'handle must be 1 to 64 letters, digits, "_" or "-", like alice')
        .describe('A short name for this agent\'s person, like alice (1 to 64 letters, digits, "_" or "-").'),
      relay_url: relayUrlArg,
    }),
    outputSchema: { handle: z.string(), fingerprint: z.string(), created: z.boolean(), relay_url: z.string().optional() },
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  }, ({ handle, relay_url }) => guarded('identity_init', async () => {
    const { identity, created } = await initSelfIdempotent(deps, handle, relay_url === undefined ? undefined : deps.relays(relay_url));
    return ok(
      { handle: identity.handle, fingerprint: identity.fingerprint, created, ...(identity.relay && { relay_url: identity.relay.url }) },
      `${created ? 'Created' : 'Already set up:'} ${identity.handle} (fingerprint ${identity.fingerprint}).`,
    );
  }));

  const openAndMaybeWait = async (role: 'host' | 'guest', relay: string | undefined, code: string | undefined, wait: number | undefined): Promise<CallToolResult> => {
    if (!(await loadIdentity(deps))) throw new PairError('identity_missing', 'This agent has no identity yet. Call identity_init with a handle first (ask the person for a short name).');
    let snapshot = await store.open(role, relay ?? options.defaultRelayUrl, code);
    if (wait !== undefined && wait > 0 && snapshot.state === 'opened') snapshot = await store.waitForSas(snapshot.sessionId, wait * 1000);
    return single(snapshot);
  };

  server.registerTool('pair_host', {
    title: 'Host a pairing',
    description: 'Starts pairing this agent with another person\'s agent, when the person asks to pair or connect with someone. Returns a session_id and a code phrase (like 47-UE2BZG): tell YOUR PERSON the code; they read it to the other person, whose agent calls pair_join with it. Then: pair_status (wait for the key exchange), pair_confirm (the person verifies a 6-digit code you never see), pair_finalize. Leave wait_seconds out here: the person needs the code before the other side can join.',
    inputSchema: args({ relay_url: relayUrlArg, wait_seconds: waitSecondsArg }),
    outputSchema: { session: sessionOut },
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  }, ({ relay_url, wait_seconds }) => guarded('pair_host', () => openAndMaybeWait('host', relay_url, undefined, wait_seconds)));

  server.registerTool('pair_join', {
    title: 'Join a pairing',
    description: 'Joins a pairing another person\'s agent hosts, with the code phrase that person read out to your person (like 47-UE2BZG). A code works for one join only. Then: pair_status (wait for the key exchange), pair_confirm (the person verifies a 6-digit code you never see), pair_finalize.',
    inputSchema: args({
      code: z
        .string({ error: required('code', 'the code phrase the other person read out, like 47-UE2BZG') })
        .min(1, 'code must not be empty: pass the code phrase the other person read out, like 47-UE2BZG')
        .max(64, 'code is too long: a code phrase looks like 47-UE2BZG')
        .describe('The code phrase the other person read out, like 47-UE2BZG.'),
      relay_url: relayUrlArg,
      wait_seconds: waitSecondsArg,
    }),
    outputSchema: { session: sessionOut },
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  }, ({ code, relay_url, wait_seconds }) => guarded('pair_join', () => openAndMaybeWait('guest', relay_url, code, wait_seconds)));

  server.registerTool('pair_status', {
    title: 'Pairing status',
    description: 'Shows one pairing (with session_id) or every pairing of this agent: state (opened, sas_ready, confirmed, finalized, or aborted with a reason), seconds left, and the next step. With a session_id each call also advances the key exchange, and wait_seconds waits for it to finish; poll it after pair_host or pair_join until the state is sas_ready. On a sas_ready pairing, wait_seconds waits for it to move on instead: the person confirming, or the pairing ending (the other side aborted, or it expired).',
    inputSchema: args({ session_id: sessionIdArg.optional(), wait_seconds: waitSecondsArg }),
    outputSchema: { sessions: z.array(sessionOut) },
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  }, ({ session_id, wait_seconds }, extra) => guarded('pair_status', async () => {
    if (session_id === undefined) {
      await store.sweepExpired();
      for (const known of store.list()) await refresh(known.sessionId);
      const sessions = store.list().map(sessionToOutput);
      return ok({ sessions }, sessions.length === 0 ? 'No pairings. Start one with pair_host, or pair_join with a code.' : sessions.map(summarise).join('\n'));
    }
    let snapshot = await current(session_id);
    if (wait_seconds !== undefined && wait_seconds > 0) {
      if (snapshot.state === 'opened') snapshot = await store.waitForSas(session_id, wait_seconds * 1000);
      else if (snapshot.state === 'sas_ready') snapshot = await watchSasReady(session_id, wait_seconds * 1000, extra.signal);
    }
    const session = sessionToOutput(snapshot);
    return ok({ sessions: [session] }, summarise(session));
  }));

  /**
   * Asks the person for the digits the other person reads out, showing them their own SAS.
   * Once `signal` aborts (the tool call was cancelled, or the session moved on), it stops
   * waiting for the answer.
   */
  const askPerson = async (snapshot: SessionSnapshot, signal: AbortSignal): Promise<string> => {
    const sas = store.sasForPerson(snapshot.sessionId);
    const expiresAt = Date.parse(snapshot.expiresAt);
    if (options.confirmPort) {
      const asked = options.confirmPort.askForDigits({ sessionId: snapshot.sessionId, sas, peerHint: `nameplate ${snapshot.nameplate}`, expiresAt });
      // The port settles its own request when the session ends (the SAS panel does); a port
      // that does not is simply no longer listened to.
      return Promise.race([asked, abortion(signal)]);
    }
    if (!server.server.getClientCapabilities()?.elicitation) {
      throw new PairError('confirm_unavailable', `This MCP client cannot ask the person for the SAS digits. Tell the person to run this in a terminal: agent-pair confirm ${snapshot.sessionId}  (it shows them the SAS and takes the digits), then call pair_status or pair_finalize.`);
    }
    let retryNote = '';
    for (let attempt = 1; attempt <= MAX_DIGIT_PROMPTS; attempt++) {
      const typed = await elicitDigits(snapshot, sas, retryNote, expiresAt, signal);
      if (typed !== undefined && DIGITS_SHAPE.test(typed)) return typed;
      retryNote = ' That was not 6 digits, so nothing was checked yet.';
    }
    throw new PairError('bad_input', `The person typed something other than 6 digits ${MAX_DIGIT_PROMPTS} times, so nothing was checked; the pairing still waits. Call pair_confirm again when they are ready, or pair_abort.`);
  };

  /** One elicitation; undefined when the answer has the wrong shape (the caller asks again). */
  const elicitDigits = async (snapshot: SessionSnapshot, sas: string, retryNote: string, expiresAt: number, signal: AbortSignal): Promise<string | undefined> => {
    const secondsLeft = Math.max(1, Math.ceil((expiresAt - deps.clock.now()) / 1000));
    let answer;
    try {
      answer = await server.server.elicitInput({
        mode: 'form',
        message:
          `Agent Pair: verify the pairing (nameplate ${snapshot.nameplate}).${retryNote}\n\n` +
          `Your SAS: ${sas}\n\n` +
          'Read it to the other person and listen to theirs: the two must be the same. Type the 6 digits THE OTHER PERSON reads out. ' +
          'If they differ, type what you heard anyway: the pairing then aborts safely on both sides. Your agent never sees these digits.',
        requestedSchema: {
          type: 'object',
          properties: { digits: { type: 'string', title: 'Digits the other person reads out', description: '6 digits, like 594-376', minLength: 6, maxLength: 9 } },
          required: ['digits'],
        },
      }, { signal, timeout: secondsLeft * 1000 });
    } catch (error) {
      if (error instanceof McpError && error.code === (RpcErrorCode.InvalidParams as number)) return undefined; // the answer failed the schema
      if (error instanceof McpError && error.code === (RpcErrorCode.RequestTimeout as number)) {
        throw new PairError('timeout', 'The person did not answer before the pairing\'s time ran out.', { cause: error });
      }
      if (signal.aborted) throw new PairError('cancelled', 'The tool call was cancelled; the pairing still waits for the person to verify the SAS.', { cause: error });
      throw new PairError('confirm_unavailable', `The client could not ask the person for the digits. The pairing still waits: try pair_confirm again, or the person confirms in a terminal: agent-pair confirm ${snapshot.sessionId}`, { cause: error });
    }
    if (answer.action !== 'accept') {
      throw new PairError('cancelled', 'The person declined to verify the SAS; the pairing still waits (sas_ready). Ask them whether to try again (pair_confirm) or to stop (pair_abort).');
    }
    const digits = answer.content?.['digits'];
    return typeof digits === 'string' ? digits : undefined;
  };

  server.registerTool('pair_confirm', {
    title: 'Ask the person to verify the SAS',
    description: 'Call when pair_status says sas_ready. Asks THE PERSON (never you) to compare a 6-digit short authentication string (SAS) with the other person, by voice or video, and to type the digits the other person reads out. You pass only the session_id: you never see the SAS or the digits, and must not ask the person for them. Tell the person a prompt is coming. A match moves the pairing to confirmed (then call pair_finalize); a mismatch aborts it on both sides. If the other side aborts or the pairing expires while the person is being asked, the question ends at once with an error that says so.',
    inputSchema: args({ session_id: sessionIdArg }),
    outputSchema: { session: sessionOut },
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  }, ({ session_id }, extra) => guarded('pair_confirm', async () => {
    const snapshot = await current(session_id);
    if (snapshot.state === 'confirmed' || snapshot.state === 'finalized') return single(snapshot);
    if (snapshot.state === 'aborted') throw new PairError(snapshot.abortCode ?? 'aborted', `Pairing ${session_id} has ended (${snapshot.abortReason ?? 'aborted'}); there is no SAS to verify. ${agentNextStep(snapshot)}`);
    if (snapshot.state === 'opened') throw new PairError('invalid_state', `Pairing ${session_id} is still in the key exchange; there is no SAS yet. Call pair_status with wait_seconds until the state is sas_ready.`);
    if (asking.has(session_id)) throw new PairError('invalid_state', `The person is already being asked to verify pairing ${session_id}; wait for that answer.`);
    asking.add(session_id);
    // Meanwhile the relay is watched: a peer's abort or an expired slot ends the question.
    const watching = new AbortController();
    const moved = new AbortController();
    // Relay trouble pauses the watch; it never fails the question, nor does any other failure
    // of the watch (it just stops).
    const watch = watchWhileAsked(() => watchSasReady(session_id, CONFIRM_WATCH_SLICE_MS, watching.signal), watching.signal, (error, retryMs) => {
      log(`pair_confirm: watching the relay failed (${error.code}); watching again in ${retryMs / 1000} s`);
    }).then((ended) => {
      if (ended) moved.abort();
    });
    try {
      let digits: string;
      try {
        digits = await askPerson(snapshot, AbortSignal.any([extra.signal, moved.signal]));
      } catch (error) {
        const now = store.status(session_id);
        if (now.state === 'aborted') throw endedWhileAsking(now);
        if (now.state !== 'sas_ready') return single(now); // confirmed in a terminal meanwhile
        throw error;
      }
      // The person may have confirmed in a terminal while the prompt was open.
      await refresh(session_id);
      const now = store.status(session_id);
      if (now.state === 'aborted') throw endedWhileAsking(now);
      if (now.state !== 'sas_ready') return single(now);
      try {
        return single(await store.confirmSas(session_id, digits));
      } catch (error) {
        // Ended between the answer and the check: say how, not just that it is over.
        if (isPairError(error, 'aborted') && store.status(session_id).abortCode !== 'aborted') throw endedWhileAsking(store.status(session_id));
        throw error;
      }
    } finally {
      watching.abort();
      await watch;
      asking.delete(session_id);
    }
  }));

  server.registerTool('pair_finalize', {
    title: 'Finalize a pairing',
    description: 'Call after pair_confirm succeeded (state confirmed). Exchanges signed identity cards sealed under the pairing key and pins the peer by fingerprint; returns the peer. Waits for the other side up to timeout_seconds (their person may still be verifying); on a timeout error, call it again.',
    inputSchema: args({
      session_id: sessionIdArg,
      timeout_seconds: secondsArg('timeout_seconds', MAX_FINALIZE_SECONDS, `Seconds to wait for the other side (0-${MAX_FINALIZE_SECONDS}, default ${DEFAULT_FINALIZE_SECONDS}).`),
    }),
    outputSchema: { session: sessionOut },
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  }, ({ session_id, timeout_seconds }) => guarded('pair_finalize', async () => {
    await refresh(session_id);
    const before = store.status(session_id);
    if (before.state === 'sas_ready') throw new PairError('invalid_state', 'The person has not verified the SAS yet: call pair_confirm first (it asks them).');
    if (before.state === 'opened') throw new PairError('invalid_state', 'The key exchange has not finished yet: call pair_status with wait_seconds until the state is sas_ready, then pair_confirm.');
    try {
      return single(await store.finalize(session_id, (timeout_seconds ?? DEFAULT_FINALIZE_SECONDS) * 1000));
    } catch (error) {
      if (!isPairError(error, 'timeout')) throw error;
      const { secondsLeft } = store.status(session_id);
      throw new PairError('timeout', `The other side has not finished yet (their person may still be verifying the SAS). Call pair_finalize again to keep waiting; the pairing stays open ${secondsLeft} more seconds.`, { cause: error });
    }
  }));

  server.registerTool('pair_abort', {
    title: 'Abort a pairing',
    description: 'Ends a pairing for good, when the person wants to stop or something looks wrong; the other side learns the reason on its next poll.',
    inputSchema: args({
      session_id: sessionIdArg,
      reason: z
        .string({ error: required('reason', 'a short reason for the other side, up to 200 characters') })
        .trim()
        .min(1, 'reason must not be empty')
        .max(200, 'reason must be at most 200 characters')
        .optional()
        .describe('A short reason the other side sees, like "wrong person".'),
    }),
    outputSchema: { session: sessionOut },
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  }, ({ session_id, reason }) => guarded('pair_abort', async () => single(await store.abort(session_id, reason ?? 'aborted by the agent'))));

  server.registerTool('peers_list', {
    title: 'List pinned peers',
    description: 'Lists the peers this agent has paired with and pinned: handle, fingerprint (their identity), relay, when pinned. Two peers may share a handle; the fingerprint tells them apart.',
    outputSchema: { peers: z.array(z.object({ handle: z.string(), fingerprint: z.string(), relay_url: z.string(), pinned_at: z.string() })) },
    annotations: { readOnlyHint: true, openWorldHint: false },
  }, () => guarded('peers_list', async () => {
    const peers = (await listPeers(deps)).map((peer) => ({ handle: peer.handle, fingerprint: peer.fingerprint, relay_url: peer.relayUrl, pinned_at: peer.pinnedAt }));
    return ok({ peers }, peers.length === 0 ? 'No pinned peers yet.' : peers.map((peer) => `${peer.handle} (${peer.fingerprint}), pinned ${peer.pinned_at}`).join('\n'));
  }));

  server.registerTool('peers_forget', {
    title: 'Forget a pinned peer',
    description: 'Unpins a peer by its fingerprint (16 hex characters, from peers_list), when the person asks to; pairing with them again needs a new pairing.',
    inputSchema: args({
      fingerprint: z
        .string({ error: required('fingerprint', '16 hex characters, from peers_list') })
        .regex(/^[0-9a-fA-F]{16}$/, 'fingerprint must be 16 hex characters, from peers_list')
        .describe('The peer\'s fingerprint, from peers_list.'),
    }),
    outputSchema: { forgotten: z.boolean(), fingerprint: z.string() },
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  }, ({ fingerprint }) => guarded('peers_forget', async () => {
    const normalised = fingerprint.toLowerCase();
    const { forgotten, revoked } = await forgetAndRevoke(deps, normalised);
    if (!forgotten) throw new PairError('not_found', `No pinned peer has fingerprint ${normalised}. Call peers_list to see them.`);
    return ok({ forgotten: true, fingerprint: normalised }, `Forgot ${normalised}${revoked ? '; the relay now refuses their messages to you' : ''}.`);
  }));

  registerMessageTools(server, { deps: { ...deps, log }, guarded, ...(options.confirmSends !== undefined && { confirmSends: options.confirmSends }), ...(options.receiver && { receiver: options.receiver }) });
  return server;
}
