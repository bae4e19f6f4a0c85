// The MCP tools: thin wrappers over the same SessionStore, identity and trust functions that the
// CLI and the VS Code commands use. The agent can host, join, poll, finalize and abort, but it
// never sees the SAS and cannot confirm one: `pair_confirm` asks the *person* through a
// ConfirmPort (the VS Code webview) or an MCP elicitation (shown by the client to the person).
// Domain failures come back as tool results with `isError` and the error code, never as
// protocol errors. No result and no log line carries the SAS, the digits typed, a seed, a key
// or a token; log lines do not carry the code phrase either.
//
// Each pairing runs in the core's pairing runner (started by pair_host or pair_join, or on
// restore); the tools only read its state, wait for it to move, and bring the person's answer
// to its question: through an elicitation, the VS Code panel (`showPerson`), or a terminal
// (`agent-pair confirm`, which hands the digits to this process). The runner watches the relay
// while the person is asked, so a peer's abort ends the question at once. Words: words.ts.

import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
// As a namespace of zod/v4, as the MCP SDK imports it: `import { z } from 'zod'` kept zod's every
// locale in the bundles (a value of zod's whole namespace, which esbuild cannot shake), a third of
// dist/cli-mcp.cjs and dist/mcp.cjs, parsed or read from the code cache at each `agent-pair mcp`.
import * as z from 'zod/v4';
import { PairError, isPairError } from '../core/errors.js';
import { initSelfIdempotent, loadIdentity } from '../core/identity.js';
import type { PairingRunners, RelayTroubleState } from '../core/pairing.js';
import type { SessionDeps, SessionSnapshot } from '../core/session.js';
import type { SessionStore } from '../core/store.js';
import { listPeers } from '../core/trust.js';
import { escapeHiddenCharacters, jsonQuote } from '../core/untrusted.js';
import { ReceiveRunner } from '../core/inbox.js';
import { forgetAndRevoke } from '../core/grants.js';
import { type BudgetLimits, PeerBudgets } from '../core/rules.js';
import { type AgentChannel, RECEIVING_CAPABILITIES, registerInboxResources, startAgentChannel } from './agentChannel.js';
import { type MessageReceiver, ok, registerMessageTools } from './messageTools.js';
import { sasElicitation } from './sasElicitation.js';
import { MCP_WORDS, agentNextStep, defaultPersonCommand, relayTroubleForAgent } from './words.js';
import { AGENT_SENDS_ENV, isTerminal, ABORTED_BY_AGENT_REASON, HANDLE_PATTERN } from '../core/vocabulary.js';

export const MCP_SERVER_NAME = 'agent-pair';
/** How long host, join and status may wait for the other side in one call (well under clients' request timeouts). */
export const MAX_TOOL_WAIT_SECONDS = 30;
/** How long finalize may wait for the other side in one call. */
export const MAX_FINALIZE_SECONDS = 120;
const DEFAULT_FINALIZE_SECONDS = 30;

export interface McpServerOptions {
  store: SessionStore;
  deps: SessionDeps;
  /** The runners of this process: the tools start pairings on them and answer their questions. */
  runners: PairingRunners;
  defaultRelayUrl: string;
  /**
   * Where the person answers without an elicitation (VS Code's SAS panel): brings it up; the
   * person's digits reach the runner's question from there. Resolves if the person closes it
   * without answering. Without it, pair_confirm elicits.
   */
  showPerson?: (sessionId: string) => Promise<void>;
  /** One line per tool call: the tool and its outcome (a state or an error code), nothing secret. */
  log?: (line: string) => void;
  version?: string;
  /** Every peer_send waits for the person's yes (MCP elicitation). */
  confirmSends?: boolean;
  /** The messaging tools' runner (VS Code: the window's); see messageTools.ts. */
  receiver?: MessageReceiver;
  /**
   * A command line the person runs in a terminal, as they can run it: the CLI as this server was
   * started (`node /abs/dist/cli.cjs` when agent-pair is not on PATH), `args`, and this server's
   * --home. Default: `agent-pair ARGS`.
   */
  personCommand?: (args: string) => string;
  /** The live process of this home that runs a session this server does not (the person's `confirm`), if any. */
  runByAnother?: (sessionId: string) => number | undefined;
  /**
   * Receive while a client is connected and hand `agent`-rule messages over (agentChannel.ts):
   * `agent-pair mcp`. VS Code's window pulls itself and passes `receiver` instead.
   */
  receiveWhileConnected?: boolean;
  /** The hourly budgets the person set; the core's defaults otherwise. */
  budgets?: Partial<BudgetLimits>;
  /**
   * Where the person raises the agent's hourly send budget, as an over_budget refusal tells them:
   * by default `agent-pair mcp`'s flag and environment variable; VS Code names its setting.
   */
  sendBudgetSetting?: string;
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
const relayTroubleOut = z
  .object({
    error_code: z.string().describe('How the relay failed, as an error code (relay_unreachable, relay_error, rate_limited, ...).'),
    since: z.string().describe('When the relay stopped answering (ISO 8601).'),
    next_retry_at: z.string().describe('When the pairing tries the relay again (ISO 8601); it keeps trying until the pairing expires.'),
    message: z.string(),
  })
  .describe('Present while the relay does not answer this pairing.');
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
  relay_trouble: relayTroubleOut.optional(),
  next_step: z.string(),
});
type SessionOut = z.infer<typeof sessionOut>;

/** A session for the agent; `trouble` is its runner's relay outage, if any. */
export function sessionToOutput(snapshot: SessionSnapshot, trouble?: RelayTroubleState): SessionOut {
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
    ...(trouble && !isTerminal(snapshot.state) && {
      relay_trouble: {
        error_code: trouble.code,
        since: new Date(trouble.since).toISOString(),
        next_retry_at: new Date(trouble.nextRetryAt).toISOString(),
        message: relayTroubleForAgent(snapshot.relayUrl, trouble.code, trouble.since, trouble.nextRetryAt),
      },
    }),
    next_step: agentNextStep(snapshot),
  };
}

function summarise(session: SessionOut): string {
  const parts = [`Pairing ${session.session_id} (${session.role}, nameplate ${session.nameplate}): ${session.state}`];
  // The reason may be the peer's own words (it aborted): quoted, never part of this sentence.
  if (session.abort_reason !== undefined) parts.push(`reason ${jsonQuote(session.abort_reason)}`);
  if (session.code !== undefined) parts.push(`code: ${session.code}`);
  if (session.peer) parts.push(`peer ${jsonQuote(session.peer.handle)} (fingerprint ${session.peer.fingerprint})`);
  if (session.relay_trouble) parts.push(session.relay_trouble.message);
  if (!isTerminal(session.state)) parts.push(`${session.seconds_left} s left`);
  return `${parts.join('; ')}.\nNext: ${session.next_step}`;
}

function failure(error: PairError): CallToolResult {
  // An error may quote a relay's or a peer's words: line separators escaped like every result's text.
  return { isError: true, content: [{ type: 'text', text: escapeHiddenCharacters(`${error.code}: ${error.message}`) }] };
}

function outcomeOf(result: CallToolResult): string {
  const structured = result.structuredContent as { session?: { state?: unknown }; sessions?: unknown[] } | undefined;
  if (typeof structured?.session?.state === 'string') return structured.session.state;
  if (Array.isArray(structured?.sessions)) return `${structured.sessions.length} session(s)`;
  return 'ok';
}

export function createMcpServer(options: McpServerOptions): McpServer {
  const { store, deps, runners } = options;
  const log = options.log ?? (() => undefined);
  const personCommand = options.personCommand ?? defaultPersonCommand;
  const confirmCommand = (sessionId: string): string => personCommand(`confirm ${sessionId}`);
  const receiving = options.receiveWhileConnected === true && !options.receiver;
  const server = new McpServer({ name: MCP_SERVER_NAME, version: options.version ?? '0.1.0' }, { capabilities: { tools: {}, ...(receiving && RECEIVING_CAPABILITIES) } });
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

  /** A session as the agent sees it, with its runner's relay trouble. */
  const output = (snapshot: SessionSnapshot): SessionOut => sessionToOutput(snapshot, runners.relayTrouble(snapshot.sessionId));

  const single = (snapshot: SessionSnapshot): CallToolResult => {
    const session = output(snapshot);
    return ok({ session }, summarise(session));
  };

  /** The session as it is now (a session past its TTL reads as expired). */
  const current = async (id: string): Promise<SessionSnapshot> => {
    await store.sweepExpired();
    try {
      return store.status(id);
    } catch (error) {
      const pid = isPairError(error, 'not_found') ? options.runByAnother?.(id) : undefined;
      if (pid !== undefined) throw new PairError('invalid_state', MCP_WORDS.runByAnother(id, pid), { cause: error });
      throw error;
    }
  };

  const elicitSas = sasElicitation({ server, runners, store, clock: deps.clock, confirmCommand });

  /** The error for a pairing that ended while its person was being asked to verify the SAS. */
  const endedWhileAsking = (snapshot: SessionSnapshot): PairError => new PairError(snapshot.abortCode ?? 'aborted', MCP_WORDS.endedWhileAsking(snapshot));

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
    if (!(await loadIdentity(deps))) throw new PairError('identity_missing', MCP_WORDS.noIdentity);
    const opened = await store.open(role, relay ?? options.defaultRelayUrl, code);
    runners.run(opened.sessionId);
    return single(await runners.waitForChange(opened.sessionId, 'opened', (wait ?? 0) * 1000));
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
    description: 'Shows one pairing (with session_id) or every pairing of this agent: state (opened, sas_ready, confirmed, finalized, or aborted with a reason), seconds left, and the next step. The pairing runs on its own; wait_seconds waits for its state to move on: after pair_host or pair_join until the state is sas_ready; on a sas_ready pairing, until the person confirmed or the pairing ended (the other side aborted, or it expired).',
    inputSchema: args({ session_id: sessionIdArg.optional(), wait_seconds: waitSecondsArg }),
    outputSchema: { sessions: z.array(sessionOut) },
    annotations: { readOnlyHint: true, openWorldHint: true },
  }, ({ session_id, wait_seconds }, extra) => guarded('pair_status', async () => {
    if (session_id === undefined) {
      await store.sweepExpired();
      const sessions = store.list().map(output);
      return ok({ sessions }, sessions.length === 0 ? 'No pairings. Start one with pair_host, or pair_join with a code.' : sessions.map(summarise).join('\n'));
    }
    let snapshot = await current(session_id);
    if (wait_seconds !== undefined && wait_seconds > 0 && !isTerminal(snapshot.state)) {
      runners.run(session_id); // a session restored ended or never run is a no-op or resumes here
      snapshot = await untilStateLeaves(session_id, snapshot.state, wait_seconds * 1000, extra.signal);
    }
    const session = output(snapshot);
    return ok({ sessions: [session] }, summarise(session));
  }));

  /**
   * Waits until the state is no longer `state` (ignoring new questions), or until the relay
   * stops answering or answers again (so a polling agent learns of it), at most `maxWaitMs`.
   */
  const untilStateLeaves = async (id: string, state: SessionSnapshot['state'], maxWaitMs: number, signal: AbortSignal): Promise<SessionSnapshot> => {
    const deadline = deps.clock.now() + maxWaitMs;
    const troubled = runners.relayTrouble(id) !== undefined;
    const troubleChanged = new AbortController();
    const unsubscribe = runners.onEvent((event) => {
      if (event.session.sessionId === id && (runners.relayTrouble(id) !== undefined) !== troubled) troubleChanged.abort();
    });
    const waiting = AbortSignal.any([signal, troubleChanged.signal]);
    try {
      let snapshot = store.status(id);
      while (snapshot.state === state && !waiting.aborted && deadline > deps.clock.now()) {
        snapshot = await runners.waitForChange(id, state, deadline - deps.clock.now(), waiting);
      }
      return snapshot;
    } finally {
      unsubscribe();
    }
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
    if (snapshot.state === 'aborted') throw new PairError(snapshot.abortCode ?? 'aborted', MCP_WORDS.ended(snapshot));
    if (snapshot.state === 'opened') throw new PairError('invalid_state', MCP_WORDS.notYetSas(session_id));
    if (asking.has(session_id)) throw new PairError('invalid_state', MCP_WORDS.alreadyAsking(session_id));
    asking.add(session_id);
    runners.run(session_id);
    // Withdraws the question once the session leaves sas_ready for any reason, and ends every
    // wait of this call once it returns.
    const moved = new AbortController();
    const unsubscribe = store.onDidChange(() => {
      if (store.status(session_id).state !== 'sas_ready') moved.abort();
    });
    const returned = new AbortController();
    const signal = AbortSignal.any([extra.signal, moved.signal, returned.signal]);
    try {
      if (options.showPerson) {
        const closed = options.showPerson(session_id).then(() => {
          if (store.status(session_id).state === 'sas_ready') throw new PairError('cancelled', MCP_WORDS.closed);
        });
        await Promise.race([closed, untilStateLeaves(session_id, 'sas_ready', Math.max(0, Date.parse(snapshot.expiresAt) - deps.clock.now()), signal)]);
      } else {
        await elicitSas(session_id, signal);
      }
    } catch (error) {
      const now = store.status(session_id);
      if (now.state === 'aborted') throw endedWhileAsking(now);
      if (now.state !== 'sas_ready') return single(now);
      throw error;
    } finally {
      returned.abort();
      unsubscribe();
      asking.delete(session_id);
    }
    const now = store.status(session_id);
    if (now.state === 'aborted') throw endedWhileAsking(now);
    return single(now);
  }));

  server.registerTool('pair_finalize', {
    title: 'Finalize a pairing',
    description: 'Call after pair_confirm succeeded (state confirmed). The pairing exchanges signed identity cards sealed under the pairing key and pins the peer by fingerprint on its own; this waits for that, up to timeout_seconds (the other person may still be verifying), and returns the peer. On a timeout error, call it again.',
    inputSchema: args({
      session_id: sessionIdArg,
      timeout_seconds: secondsArg('timeout_seconds', MAX_FINALIZE_SECONDS, `Seconds to wait for the other side (0-${MAX_FINALIZE_SECONDS}, default ${DEFAULT_FINALIZE_SECONDS}).`),
    }),
    outputSchema: { session: sessionOut },
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  }, ({ session_id, timeout_seconds }, extra) => guarded('pair_finalize', async () => {
    const before = await current(session_id);
    if (before.state === 'sas_ready') throw new PairError('invalid_state', MCP_WORDS.notConfirmedYet);
    if (before.state === 'opened') throw new PairError('invalid_state', MCP_WORDS.notYetSas(session_id));
    runners.run(session_id);
    const after = await untilStateLeaves(session_id, 'confirmed', (timeout_seconds ?? DEFAULT_FINALIZE_SECONDS) * 1000, extra.signal);
    if (after.state === 'aborted') throw new PairError(after.abortCode ?? 'aborted', MCP_WORDS.ended(after));
    if (after.state === 'confirmed') throw new PairError('timeout', MCP_WORDS.finalizeTimeout(after.secondsLeft));
    return single(after);
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
  }, ({ session_id, reason }) => guarded('pair_abort', async () => single(await store.abort(session_id, reason ?? ABORTED_BY_AGENT_REASON))));

  server.registerTool('peers_list', {
    title: 'List pinned peers',
    description: 'Lists the peers this agent has paired with and pinned: handle, fingerprint (their identity), relay, when pinned. Two peers may share a handle; the fingerprint tells them apart.',
    outputSchema: { peers: z.array(z.object({ handle: z.string(), fingerprint: z.string(), relay_url: z.string(), pinned_at: z.string() })) },
    annotations: { readOnlyHint: true, openWorldHint: false },
  }, () => guarded('peers_list', async () => {
    const peers = (await listPeers(deps)).map((peer) => ({ handle: peer.handle, fingerprint: peer.fingerprint, relay_url: peer.relayUrl, pinned_at: peer.pinnedAt }));
    return ok({ peers }, peers.length === 0 ? 'No pinned peers yet.' : peers.map((peer) => `peer ${jsonQuote(peer.handle)} (fingerprint ${peer.fingerprint}), pinned ${peer.pinned_at}`).join('\n'));
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

  const messagingDeps = { ...deps, log };
  const receiver = options.receiver ?? new ReceiveRunner(messagingDeps);
  let channel: AgentChannel | undefined;
  const tools = registerMessageTools(server, {
    deps: messagingDeps,
    guarded,
    personCommand,
    sendBudgetSetting: options.sendBudgetSetting ?? `agent-pair mcp --agent-sends-per-hour N, or ${AGENT_SENDS_ENV}`,
    receiver,
    budgets: new PeerBudgets(messagingDeps, receiver.mailbox, options.budgets),
    takeNotes: () => channel?.takeNotes(),
    ...(options.confirmSends !== undefined && { confirmSends: options.confirmSends }),
  });
  registerInboxResources(server, tools);
  if (receiving && receiver instanceof ReceiveRunner) {
    // Pushes need the client's capabilities, known once it initialised; a closed connection stops the pull.
    server.server.oninitialized = () => {
      channel ??= startAgentChannel(server, { ...tools, receiver }, messagingDeps, log);
    };
    const closed = server.server.onclose;
    server.server.onclose = () => {
      closed?.();
      void channel?.stop();
    };
  }
  return server;
}
