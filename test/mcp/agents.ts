// Test fixtures for the MCP server: an "agent" is one side (a real SessionStore over in-memory
// stores, a real relay client) behind an MCP server, driven by the SDK's real Client over the
// in-memory transport or over Streamable HTTP. The person is played by an elicitation handler.

import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { type CallToolResult, type ElicitResult, ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { PairingRunners } from '../../src/core/pairing.js';
import type { BudgetLimits } from '../../src/core/rules.js';
import { startMcpHttpServer } from '../../src/mcp/http.js';
import { createMcpServer } from '../../src/mcp/server.js';
import { type Side, makeSide } from '../helpers/sides.js';
import { until } from '../helpers/until.js';

/** What the person does when asked: sees the elicitation's message, answers. */
export type Person = (message: string) => ElicitResult | Promise<ElicitResult>;

export interface Agent {
  side: Side;
  runners: PairingRunners;
  client: Client;
  /** Every tool result this agent received, in order. */
  results: CallToolResult[];
  /** Every line the server logged. */
  logs: string[];
  /** Every message the person was shown (their view, not the agent's). */
  prompts: string[];
  /** Every notification the client received, in order. */
  notifications: { method: string; params?: Record<string, unknown> | undefined }[];
  call(name: string, args?: Record<string, unknown>): Promise<CallToolResult>;
  close(): Promise<void>;
}

export interface AgentOptions {
  relayUrl: string;
  handle: string;
  /** With a person, the client declares elicitation; without, it does not. */
  person?: Person;
  transport?: 'memory' | 'http';
  /** Where the person answers instead of an elicitation (like VS Code's panel): shown the session. */
  showPerson?: (sessionId: string, runners: PairingRunners) => void;
  /** A side that already exists (to share its stores). */
  side?: Side;
  /** The person must confirm every peer_send. */
  confirmSends?: boolean;
  /** The CLI command line the server names for the person (see McpServerOptions.personCommand). */
  personCommand?: (args: string) => string;
  /** The server receives while connected and hands agent-rule messages over (`agent-pair mcp`). */
  receive?: boolean;
  budgets?: Partial<BudgetLimits>;
  /** The client reads Claude Code channel pushes (declares the experimental capability). */
  readsChannels?: boolean;
}

export async function startAgent(options: AgentOptions): Promise<Agent> {
  const side = options.side ?? (await makeSide(options.relayUrl, options.handle));
  const logs: string[] = [];
  const runners = new PairingRunners({ store: side.store, clock: side.clock });
  const showPerson = options.showPerson;
  const makeServer = () =>
    createMcpServer({
      store: side.store,
      deps: side.deps,
      runners,
      defaultRelayUrl: options.relayUrl,
      log: (line) => logs.push(line),
      ...(options.personCommand && { personCommand: options.personCommand }),
      ...(showPerson && {
        showPerson: (sessionId: string) => {
          showPerson(sessionId, runners);
          return new Promise<void>(() => undefined); // the test's person never closes the prompt
        },
      }),
      ...(options.confirmSends && { confirmSends: true }),
      ...(options.receive && { receiveWhileConnected: true }),
      ...(options.budgets && { budgets: options.budgets }),
    });
  const client = new Client(
    { name: 'test-agent', version: '1' },
    { capabilities: { ...(options.person && { elicitation: {} }), ...(options.readsChannels && { experimental: { 'claude/channel': {} } }) } },
  );
  const notifications: Agent['notifications'] = [];
  client.fallbackNotificationHandler = (notification) => {
    notifications.push(notification);
    return Promise.resolve();
  };
  const prompts: string[] = [];
  const person = options.person;
  if (person) {
    client.setRequestHandler(ElicitRequestSchema, (request) => {
      prompts.push(request.params.message);
      return person(request.params.message);
    });
  }
  let stop: () => Promise<void>;
  if (options.transport === 'http') {
    const http = await startMcpHttpServer({ createServer: makeServer });
    await client.connect(new StreamableHTTPClientTransport(new URL(http.url), { requestInit: { headers: { Authorization: `Bearer ${http.token}` } } }));
    stop = async () => {
      runners.dispose();
      await client.close();
      await http.close();
    };
  } else {
    const server = makeServer();
    const [clientTransport, serverTransport] = InMemoryTransport.createLinkedPair();
    await Promise.all([server.connect(serverTransport), client.connect(clientTransport)]);
    stop = async () => {
      runners.dispose();
      await client.close();
      await server.close();
    };
  }
  const results: CallToolResult[] = [];
  const call = async (name: string, args: Record<string, unknown> = {}): Promise<CallToolResult> => {
    const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
    results.push(result);
    return result;
  };
  return { side, runners, client, results, logs, prompts, notifications, call, close: () => stop() };
}

export type SessionOut = Record<string, unknown> & { session_id: string; state: string };

/** The one session in a successful result (pair_host, pair_status with an id, ...). */
export function sessionOf(result: CallToolResult): SessionOut {
  assert.notEqual(result.isError, true, `expected success, got ${textOf(result)}`);
  const structured = result.structuredContent as { session?: SessionOut; sessions?: SessionOut[] } | undefined;
  const value = structured?.session ?? structured?.sessions?.[0];
  assert.ok(value, 'a session in the result');
  return value;
}

export function textOf(result: CallToolResult): string {
  return result.content.map((part) => (part.type === 'text' ? part.text : `[${part.type}]`)).join('\n');
}

/** Asserts a tool error and returns its text. */
export function errorOf(result: CallToolResult): string {
  assert.equal(result.isError, true, `expected a tool error, got ${JSON.stringify(result.structuredContent)}`);
  return textOf(result);
}

/**
 * Asserts a tool error and returns its error code: every failure's text starts with the code
 * (`sas_mismatch: ...`), the part an agent branches on; the rest is wording.
 */
export function errorCodeOf(result: CallToolResult): string {
  const text = errorOf(result);
  const code = /^([a-z_]+): /.exec(text)?.[1];
  assert.ok(code, `no error code in: ${text}`);
  return code;
}

/** The SAS the person sees in an elicitation message. */
export function sasIn(message: string): string {
  const match = /Your SAS: (\d{3}-\d{3})/.exec(message);
  assert.ok(match?.[1], `no SAS in the prompt: ${message}`);
  return match[1];
}

/**
 * Two people on a call: each reads out the SAS their prompt shows, and types what the other
 * one read out. Each answer waits until the other person has seen their own prompt.
 */
export function peoplePair(): { host: Person; guest: Person } {
  const readOut: { host?: (sas: string) => void; guest?: (sas: string) => void } = {};
  const heard = {
    host: new Promise<string>((resolve) => (readOut.guest = resolve)),
    guest: new Promise<string>((resolve) => (readOut.host = resolve)),
  };
  const person = (me: 'host' | 'guest'): Person => async (message) => {
    readOut[me]?.(sasIn(message));
    return { action: 'accept', content: { digits: await heard[me] } };
  };
  return { host: person('host'), guest: person('guest') };
}

/**
 * Host opens, guest joins with the code, both wait for the key exchange; returns the session ids.
 * The guest waits in pair_join itself (from `opened`); the host asks pair_status until it says
 * sas_ready. Not a pair_status wait: one that begins on a pairing already sas_ready goes on until
 * the person confirms (its documented use), and over HTTP the exchange had often ended before
 * that call was served, so it waited out its 10 seconds.
 */
export async function openBoth(host: Agent, guest: Agent): Promise<{ hostId: string; guestId: string; code: string }> {
  const hosted = sessionOf(await host.call('pair_host'));
  assert.equal(hosted.state, 'opened');
  const code = hosted['code'];
  assert.equal(typeof code, 'string');
  const joined = sessionOf(await guest.call('pair_join', { code, wait_seconds: 10 }));
  assert.equal(joined.state, 'sas_ready');
  await until('the host at sas_ready', async () => {
    const { state } = sessionOf(await host.call('pair_status', { session_id: hosted.session_id }));
    assert.ok(state === 'opened' || state === 'sas_ready', state);
    return state === 'sas_ready';
  });
  return { hostId: hosted.session_id, guestId: joined.session_id, code: String(code) };
}

/** Every secret string a side holds in its vault right now: seeds, relay tokens, private keys, inbox and send tokens. */
export function vaultSecrets(side: Side, options: { includeCode: boolean }): string[] {
  const secrets: string[] = [];
  const collect = (value: unknown, key: string): void => {
    if (typeof value === 'string') {
      if (key !== 'code' || options.includeCode) secrets.push(value);
    } else if (typeof value === 'object' && value !== null) {
      for (const [inner, innerValue] of Object.entries(value)) collect(innerValue, inner);
    }
  };
  for (const [key, value] of side.vault.entries()) {
    collect(parseObject(value) ?? value, key); // objects are JSON; the private key is plain hex
  }
  return secrets.filter((secret) => secret.length >= 8);
}

function parseObject(text: string): object | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? value : undefined;
  } catch {
    return undefined;
  }
}
