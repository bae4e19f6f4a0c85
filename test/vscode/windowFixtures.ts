// What the extension tests over the stand-in `vscode` share: a window's storage holding what a
// core side (test/helpers/sides.ts) pinned, the views a conversation panel was sent, and an MCP
// client (the real SDK's) connected to the window's MCP server as VS Code would connect it, and
// clocks for the wait that gathers a peer's messages into one notification.

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { MCP_PROVIDER_ID, PEERS_VIEW_ID } from '../../src/vscode/ids.js';
import { SESSION_KEY_PREFIX } from '../../src/core/store.js';
import type { Clock } from '../../src/core/ports.js';
import type { ConversationView } from '../../src/vscode/conversationMessages.js';
import type { Side } from '../helpers/sides.js';
import { until } from '../helpers/until.js';
import { FakeMemento, FakeSecretStorage } from './fakes.js';
import { type FakeWebviewPanel, fake } from './fakeVscode.js';

/**
 * Activation opens the window's Agent Pair once activate() returned (extension.ts), all at once:
 * it is open when its Peers view exists.
 */
export async function windowOpened(): Promise<void> {
  await until('the window to open', () => fake.treeViews.get(PEERS_VIEW_ID));
}

/** A window's storage holding what a core side pinned: identity and peers in global state, secrets in SecretStorage. */
export function windowStorageOf(side: Side): { workspaceState: FakeMemento; globalState: FakeMemento; secrets: FakeSecretStorage } {
  const globalState = new FakeMemento();
  for (const [key, value] of side.memory.entries()) if (!key.startsWith(SESSION_KEY_PREFIX)) globalState.values.set(key, value);
  const secrets = new FakeSecretStorage();
  for (const [key, value] of side.vault.entries()) secrets.values.set(key, value);
  return { workspaceState: new FakeMemento(), globalState, secrets };
}

/** Every view the host posted to a conversation panel's page, oldest first. */
export function conversationViews(panel: FakeWebviewPanel): ConversationView[] {
  return panel.posted.filter((message) => (message as { type: string }).type === 'view').map((message) => (message as { view: ConversationView }).view);
}

/**
 * An MCP client connected to the activated window's server, through the definition its provider
 * resolves (URL and bearer token). The client comes set up (capabilities, request handlers); the
 * caller closes it.
 */
export async function windowMcpClient(client: Client): Promise<Client> {
  const provider = fake.mcpProviders.get(MCP_PROVIDER_ID);
  const [definition] = provider?.provideMcpServerDefinitions() ?? [];
  const resolved = definition && (await provider?.resolveMcpServerDefinition?.(definition));
  if (!resolved) throw new Error('the window offers no MCP server');
  await client.connect(new StreamableHTTPClientTransport(new URL(resolved.uri.toString()), { requestInit: { headers: resolved.headers } }));
  return client;
}

/**
 * A client that can ask its person (MCP elicitation): it records each question in `asked`, and
 * its person declines the first and accepts every later one.
 */
export function decliningOnceClient(name: string): { client: Client; asked: string[] } {
  const asked: string[] = [];
  const client = new Client({ name, version: '1.0.0' }, { capabilities: { elicitation: { form: {} } } });
  client.setRequestHandler(ElicitRequestSchema, (request) => {
    asked.push(request.params.message);
    return { action: asked.length === 1 ? 'decline' : 'accept', content: {} };
  });
  return { client, asked };
}

/**
 * The clock the window's notifications wait on while they gather a peer's messages
 * (window.ts's notifyOverrides), with waits that end at once: a test that sends one message at a
 * time and waits for what it brought does not wait the product's second (NOTIFY_COALESCE_MS) each.
 */
export const passingClock: Pick<Clock, 'sleep'> = { sleep: () => Promise.resolve() };

/**
 * A clock for the same waits that ends them only when the test says so (or their signal aborts):
 * a test holds the gathering open until the burst it sent is all in, whatever the machine's load.
 */
export class HeldClock implements Pick<Clock, 'sleep'> {
  /** How many waits began. */
  started = 0;
  private readonly held = new Set<() => void>();

  sleep(_ms: number, signal?: AbortSignal): Promise<void> {
    this.started += 1;
    return new Promise((resolve) => {
      const end = (): void => {
        this.held.delete(end);
        resolve();
      };
      if (signal?.aborted) {
        resolve();
        return;
      }
      this.held.add(end);
      signal?.addEventListener('abort', end, { once: true });
    });
  }

  /** Waits begun and not ended yet. */
  get holding(): number {
    return this.held.size;
  }

  /** Ends every wait held now. */
  release(): void {
    for (const end of [...this.held]) end();
  }
}
