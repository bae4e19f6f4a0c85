// The whole extension, activated in plain Node over a stand-in `vscode` module (fakeVscode.ts)
// and a real relay: the composition root, the commands, the SAS panel's message protocol, the
// background driver, the status bar, restore after a reload, join links and the MCP server over
// HTTP with the panel as its ConfirmPort. The other person is a plain SessionStore, like the CLI.
// What needs a real VS Code (rendering, focus, the real MCP client) is in test/e2e.

import '../helpers/nativeCurves.js';
import assert from 'node:assert/strict';
import { register } from 'node:module';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { ExtensionContext } from 'vscode';
import { isPairError } from '../../src/core/errors.js';
import { listPeers } from '../../src/core/trust.js';
import type { SessionStore } from '../../src/core/store.js';
import { relayAnswers } from '../../src/relay/embedded.js';
import { type RunningRelay, startRelay } from '../../src/relay/node.js';
import type { HostResult } from '../../src/vscode/commands/hostPairing.js';
import type { JoinResult } from '../../src/vscode/commands/joinPairing.js';
import { COMMANDS, MCP_PROVIDER_ID, PEERS_VIEW_ID, sasPanelTitle } from '../../src/vscode/ids.js';
import { buildJoinLink } from '../../src/vscode/joinLink.js';
import type { PanelView } from '../../src/vscode/panelMessages.js';
import { LOCAL_RELAY_PORT_ENV, type LocalRelayStatus, localRelayRecordFile, localRelayStateDir } from '../../src/node/localRelay.js';
import { Pids, RELAY_COMMAND, freePort, untilExited } from '../helpers/relayProcess.js';
import { processAlive } from '../../src/node/pidFile.js';
import { makeSide } from '../helpers/sides.js';
import { errorCodeOf } from '../mcp/agents.js';
import { type FakeWebviewPanel, ProgressLocation, Uri, fake, fakeContext } from './fakeVscode.js';
import { until } from '../helpers/until.js';
import { windowOpened } from './windowFixtures.js';

// `import 'vscode'` anywhere below resolves to the stand-in.
const standIn = new URL('./fakeVscode.ts', import.meta.url).href;
register(`data:text/javascript,${encodeURIComponent(`export async function resolve(specifier, context, next) { return specifier === 'vscode' ? { url: ${JSON.stringify(standIn)}, shortCircuit: true } : next(specifier, context); }`)}`);
const extension = await import('../../src/vscode/extension.js');
// The window's module, which the shell imports once activated: the same module instance.
const { localRelayOverrides } = await import('../../src/vscode/window.js');

type Context = ReturnType<typeof fakeContext>;


function views(panel: FakeWebviewPanel): PanelView[] {
  return panel.posted.map((message) => (message as { view: PanelView }).view);
}

function lastView(panel: FakeWebviewPanel): PanelView | undefined {
  return views(panel).at(-1);
}

function statusItem() {
  const item = fake.statusItems.find((candidate) => candidate.id === 'agentPair.sessions');
  assert.ok(item, 'the status bar item exists');
  return item;
}

/** The other person: waits for their SAS and returns it (what they read out). */
async function peerSas(store: SessionStore, id: string): Promise<string> {
  while (store.status(id).state === 'opened') await store.waitForSas(id, 5_000);
  return store.sasForPerson(id);
}

/** The other person's side of finalize, retried as the CLI does. */
async function peerFinalizes(store: SessionStore, id: string): Promise<void> {
  for (;;) {
    try {
      await store.finalize(id, 5_000);
      return;
    } catch (error) {
      if (store.status(id).state !== 'confirmed') throw error;
    }
  }
}

describe('the extension, activated over a stand-in vscode', () => {
  let relay: RunningRelay;
  let context: Context;

  before(async () => {
    relay = await startRelay({ port: 0 });
  });
  after(async () => {
    await relay.close();
  });

  async function activate(storage?: Pick<Context, 'workspaceState' | 'globalState' | 'secrets'>, options: { relayUrl?: string } = {}): Promise<void> {
    fake.reset();
    fake.settings.set('agentPair.relayUrl', options.relayUrl ?? relay.url);
    context = fakeContext(storage);
    extension.activate(context as unknown as ExtensionContext);
    await windowOpened();
    await sleep(50); // restore runs in the background
  }

  /** Counts the requests the relay gets from now on. */
  function countRequests(): { count(): number } {
    let count = 0;
    relay.server.on('request', () => count++);
    return { count: () => count };
  }

  async function deactivate(): Promise<void> {
    for (const disposable of context.subscriptions.splice(0)) disposable.dispose();
    await extension.deactivate();
  }

  afterEach(async () => {
    await deactivate();
  });

  function logText(): string {
    return fake.outputChannels.flatMap((channel) => channel.lines).join('\n');
  }

  it('registers every command and hides the status bar while nothing is in flight', async () => {
    await activate();
    assert.deepEqual([...fake.commands.keys()].sort(), Object.values(COMMANDS).sort());
    assert.equal(statusItem().visible, false);
    assert.ok(fake.mcpProviders.has(MCP_PROVIDER_ID));
    assert.ok(fake.uriHandler);
  });

  it('registers the commands, the join link handler and the MCP provider before the window opens; a command run then waits for it', async () => {
    fake.reset();
    fake.settings.set('agentPair.relayUrl', relay.url);
    context = fakeContext();
    extension.activate(context as unknown as ExtensionContext);
    assert.deepEqual([...fake.commands.keys()].sort(), Object.values(COMMANDS).sort());
    assert.ok(fake.mcpProviders.has(MCP_PROVIDER_ID));
    assert.ok(fake.uriHandler);
    assert.equal(fake.treeViews.size, 0, 'the window opens once activate() returned');
    assert.deepEqual(await fake.commands.get(COMMANDS.listPeers)?.(), []);
    assert.ok(fake.treeViews.has(PEERS_VIEW_ID), 'the command ran in the opened window');
  });

  it('opens nothing when deactivated before the window opened', async () => {
    fake.reset();
    context = fakeContext();
    extension.activate(context as unknown as ExtensionContext);
    await extension.deactivate();
    await sleep(100);
    assert.equal(fake.treeViews.size, 0);
    assert.equal(fake.statusItems.length, 0);
    await assert.rejects(Promise.resolve(fake.commands.get(COMMANDS.listPeers)?.()), /shutting down/);
  });

  it('hosts: asks for a handle, shows the code, opens the panel at the SAS, and pairs once the person types the digits', async () => {
    await activate();
    fake.answerInputBox = (request) => (request.title === 'Agent Pair: Choose Your Handle' ? 'alice' : undefined);
    const hosted = (await fake.commands.get(COMMANDS.host)?.()) as HostResult;
    assert.match(hosted.code, /^[1-9][0-9]*-[A-Z2-7]{6}$/);
    assert.equal(hosted.relayUrl, relay.url);
    // One notification: the code, with its copy links (the identity and the opening of the
    // pairing are said in the status bar).
    assert.equal(fake.messages.length, 0, fake.messages.map((message) => message.text).join('; '));
    const notifications = fake.progress.filter((shown) => shown.location === ProgressLocation.Notification);
    assert.equal(notifications.length, 1);
    const codeNotification = notifications[0];
    assert.equal(codeNotification?.title, `Agent Pair code ${hosted.code}`);
    const copyArgs = encodeURIComponent(JSON.stringify([hosted.sessionId]));
    assert.match(codeNotification.messages.at(-1) ?? '', new RegExp(`^\\[Copy Code\\]\\(command:agentPair\\.copyCode\\?${copyArgs}\\) · \\[Copy Link\\]\\(command:agentPair\\.copyJoinLink\\?.+\\) · read it out; one join, until `));
    assert.equal(codeNotification.done, false);
    assert.ok(fake.statusMessages.some((text) => text.includes('Agent Pair: you are alice (fingerprint')));
    assert.equal(statusItem().text, '$(link) Agent Pair: 1 pairing');
    assert.equal(statusItem().visible, true);
    const link = (await fake.commands.get(COMMANDS.copyJoinLink)?.(hosted.sessionId)) as string;
    assert.match(link, /&expires=\d+$/);

    const bob = await makeSide(relay.url, 'bob');
    const joined = await bob.store.open('guest', relay.url, hosted.code);
    const bobSas = peerSas(bob.store, joined.sessionId);
    // The code is spent: its notification closes, and Copy Code no longer copies it.
    await until('the code notification to close', () => codeNotification.done);
    fake.clipboard = '';
    await fake.commands.get(COMMANDS.copyCode)?.(hosted.sessionId);
    assert.equal(fake.clipboard, '');
    assert.ok(fake.messages.some((message) => message.text.includes('has no code to share any more')));

    const panel = await until('the SAS panel', () => fake.panels.find((candidate) => candidate.title === sasPanelTitle(hosted.nameplate)));
    assert.deepEqual(panel.options, { enableScripts: true, localResourceRoots: [Uri.joinPath(context.extensionUri, 'media')], enableFindWidget: false, retainContextWhenHidden: false });
    assert.match(panel.webview.html, /script-src 'nonce-[A-Za-z0-9+/=]+'|script-src &#39;nonce-/);
    panel.send({ type: 'ready' });
    const ready = await until('the SAS in the panel', () => views(panel).find((view) => view.sas !== undefined));
    assert.equal(ready.state, 'sas_ready');
    assert.equal(ready.canConfirm, true);
    assert.equal(statusItem().backgroundColor?.id, 'statusBarItem.warningBackground');

    // A slip of the finger costs a retype, not the pairing.
    panel.send({ type: 'confirm', digits: '12345' });
    // Pins wording on purpose: the panel tells the person what it expects.
    assert.match((await until('an input error', () => lastView(panel)?.error)), /6 digits/);
    assert.equal(lastView(panel)?.state, 'sas_ready');
    // A message of an unknown shape is ignored.
    panel.send({ type: 'confirm', digits: '123456', sessionId: hosted.sessionId });
    assert.equal(lastView(panel)?.state, 'sas_ready');

    panel.send({ type: 'confirm', digits: await bobSas });
    await bob.store.confirmSas(joined.sessionId, ready.sas ?? '');
    await peerFinalizes(bob.store, joined.sessionId);

    // The panel is on screen and says it: a status bar line, not a second notification.
    const paired = await until('the paired status line', () => fake.statusMessages.find((text) => text.includes('Paired with')));
    assert.equal(paired, `$(pass) Agent Pair: Paired with bob (${bob.fingerprint}).`);
    assert.ok(!fake.messages.some((message) => message.text.includes('Paired with')));
    await until('the panel to show the peer', () => lastView(panel)?.peer?.handle === 'bob');
    assert.equal(lastView(panel)?.sas, undefined, 'the SAS is gone from the panel once confirmed');
    // The finished panel says it once: the tab and the state name the peer, the peer line the
    // fingerprint, the next step something else.
    assert.equal(panel.title, 'Agent Pair: Paired with bob');
    assert.deepEqual([lastView(panel)?.stateText, lastView(panel)?.nextStep], ['paired with bob', 'You can now write to bob: open the Agent Pair view in the activity bar and click bob.']);
    assert.equal(statusItem().visible, false);
    const peers = (await fake.commands.get(COMMANDS.listPeers)?.()) as { handle: string }[];
    assert.deepEqual(peers.map((peer) => peer.handle), ['bob']);

    // Never a code, a SAS or a token in the log.
    const log = logText();
    assert.ok(log.includes(`Hosting pairing ${hosted.nameplate}`));
    for (const secret of [hosted.code.split('-')[1] ?? '', (ready.sas ?? '').replace('-', ''), ready.sas ?? '']) assert.ok(!log.includes(secret), `the log holds ${secret}`);
  });

  it('joins with a code given as an argument; wrong digits abort the pairing for both sides', async () => {
    await activate();
    await fake.commands.get(COMMANDS.setUpIdentity)?.('carol');
    const dave = await makeSide(relay.url, 'dave');
    const hosted = await dave.store.open('host', relay.url);
    const joined = (await fake.commands.get(COMMANDS.join)?.(hosted.code)) as JoinResult;
    assert.equal(joined.nameplate, hosted.nameplate);
    const daveSas = await peerSas(dave.store, hosted.sessionId);

    const panel = await until('the SAS panel', () => fake.panels.find((candidate) => candidate.title === sasPanelTitle(hosted.nameplate)));
    panel.send({ type: 'ready' });
    await until('the SAS', () => lastView(panel)?.sas);
    const wrong = daveSas.replace(/^./, (digit) => String((Number(digit) + 1) % 10));
    panel.send({ type: 'confirm', digits: wrong });
    await until('the mismatch', () => lastView(panel)?.state === 'aborted');
    assert.equal(lastView(panel)?.stateText, 'wrong SAS digits');
    // Dave types his digits (he heard the right ones); finalizing then meets the abort.
    await dave.store.confirmSas(hosted.sessionId, daveSas);
    await assert.rejects(dave.store.finalize(hosted.sessionId, 5_000), (error: unknown) => isPairError(error, 'peer_aborted'));
  });

  it('refuses a malformed code in the join input box as it is typed', async () => {
    await activate();
    fake.answerInputBox = () => undefined;
    await fake.commands.get(COMMANDS.join)?.();
    const box = fake.inputBoxes.at(-1);
    assert.equal(box?.title, 'Agent Pair: Join a Pairing');
    const validate = box.validateInput;
    assert.ok(validate);
    assert.deepEqual(validate('47-UE2BZG'), undefined);
    assert.deepEqual(validate('47-UE'), { message: 'That code phrase is not valid: the part after the dash has 2 characters instead of 6. Expected a number, a dash and 6 characters from A-Z and 2-7, like 47-UE2BZG.', severity: 1 });
    assert.equal((validate('47-UE2B0G') as { severity: number }).severity, 3);
  });

  it('resumes a pairing in flight after a reload, and aborts it from the command', async () => {
    await activate();
    await fake.commands.get(COMMANDS.setUpIdentity)?.('erin');
    const hosted = (await fake.commands.get(COMMANDS.host)?.()) as HostResult;
    const storage = { workspaceState: context.workspaceState, globalState: context.globalState, secrets: context.secrets };
    await deactivate();

    await activate(storage);
    await until('the restored pairing in the status bar', () => statusItem().visible);
    assert.equal(statusItem().text, '$(link) Agent Pair: 1 pairing');
    const frank = await makeSide(relay.url, 'frank');
    const joined = await frank.store.open('guest', relay.url, hosted.code);
    const frankSas = await peerSas(frank.store, joined.sessionId);
    // The resumed driver polled on its own: the panel opens for the person.
    await until('the SAS panel', () => fake.panels.find((candidate) => candidate.title === sasPanelTitle(hosted.nameplate)));

    // Show Pairings lists it live; its actions are what fits the state; Abort ends it.
    const showing = fake.commands.get(COMMANDS.showSessions)?.();
    const pick = await until('the sessions quick pick', () => fake.quickPicks[0]);
    assert.deepEqual(pick.items.map((item) => [item.label, item.description?.replace(/\d+:\d+ left/, 'T left')]), [[`$(warning) ${hosted.nameplate} · host`, 'verify the SAS, T left']]);
    let offered: string[] = [];
    fake.answerQuickPick = (items) => {
      offered = (items as { label: string }[]).map((item) => item.label);
      return items.find((item) => (item as { label: string }).label === '$(close) Abort');
    };
    pick.accept(0);
    await showing;
    assert.deepEqual(offered, ['$(shield) Verify SAS', '$(close) Abort']);
    assert.equal(fake.statusMessages.at(-1), `Agent Pair: pairing ${hosted.nameplate} aborted`);
    await frank.store.confirmSas(joined.sessionId, frankSas);
    await assert.rejects(frank.store.finalize(joined.sessionId, 5_000), (error: unknown) => isPairError(error, 'peer_aborted'));
    assert.equal(frank.store.status(joined.sessionId).abortReason, 'aborted by the person');
    await until('the status bar to clear', () => !statusItem().visible);
  });

  it('opens a join link only after the person agrees', async () => {
    await activate();
    await fake.commands.get(COMMANDS.setUpIdentity)?.('grace');
    const heidi = await makeSide(relay.url, 'heidi');
    const hosted = await heidi.store.open('host', relay.url);
    const link = buildJoinLink('vscode', 'agent-pair.agent-pair', hosted.code ?? '', relay.url, Date.parse(hosted.expiresAt));

    fake.answerMessage = () => undefined; // the person dismisses the dialog
    await fake.uriHandler?.handleUri(Uri.parse(link));
    const dialog = fake.messages.at(-1);
    assert.equal(dialog?.modal, true);
    assert.equal(dialog.text, `Join the pairing ${hosted.code ?? ''}?`);
    assert.ok(dialog.detail?.startsWith(`Relay: ${relay.url}.`));
    assert.equal(heidi.store.status(hosted.sessionId).peerJoined, false);
    assert.equal(statusItem().visible, false);

    fake.answerMessage = (message) => (message.modal ? 'Join' : undefined);
    await fake.uriHandler?.handleUri(Uri.parse(link));
    await until('the joined pairing', () => statusItem().visible);
    await heidi.store.waitForSas(hosted.sessionId, 10_000);
    assert.equal(heidi.store.status(hosted.sessionId).state, 'sas_ready');
    // No join in progress: the status bar's progress ended and nothing says "exchanging keys".
    assert.ok(fake.progress.every((shown) => shown.done && shown.location === ProgressLocation.Window));
    assert.ok(!fake.statusMessages.some((text) => text.includes('exchanging keys')));

    // Opened again: this machine used it, so it says so without asking again or calling the relay.
    const asked = fake.messages.filter((message) => message.modal).length;
    const requests = countRequests();
    const said = fake.messages.length;
    await fake.uriHandler?.handleUri(Uri.parse(link));
    assert.equal(fake.messages.length, said + 1, 'says so, once');
    assert.equal(fake.messages.filter((message) => message.modal).length, asked);
    assert.equal(requests.count(), 0);
  });

  it('does not count a join link as used when the person cancels choosing a handle before joining', async () => {
    await activate(); // a fresh window: no identity yet
    const ivan = await makeSide(relay.url, 'ivan');
    const hosted = await ivan.store.open('host', relay.url);
    const link = buildJoinLink('vscode', 'agent-pair.agent-pair', hosted.code ?? '', relay.url, Date.parse(hosted.expiresAt));
    fake.answerMessage = (message) => (message.modal ? 'Join' : undefined);
    await fake.uriHandler?.handleUri(Uri.parse(link)); // agrees, then cancels the handle prompt
    assert.equal(fake.inputBoxes.length, 1);
    assert.equal(ivan.store.status(hosted.sessionId).peerJoined, false);
    await fake.uriHandler?.handleUri(Uri.parse(link));
    assert.equal(fake.messages.filter((message) => message.modal).length, 2, 'asked again: the code was never spent');
    assert.ok(!fake.messages.some((message) => message.text.includes('already used')));
  });

  it('refuses a join link whose pairing expired, without asking the person or the relay', async () => {
    await activate();
    const requests = countRequests();
    const stale = buildJoinLink('vscode', 'agent-pair.agent-pair', '47-UE2BZG', relay.url, Date.now() - 1_000);
    await fake.uriHandler?.handleUri(Uri.parse(stale));
    const [said, ...more] = fake.messages;
    assert.deepEqual(more, []);
    assert.equal(said?.modal, false);
    // Pins wording on purpose: an expired link says when it expired and what to do instead.
    assert.match(said.text, /^Agent Pair: this join link for pairing 47 expired at .+; a code works for 10 minutes\. Ask the other person to host a new pairing/);
    assert.equal(requests.count(), 0);
    assert.equal(statusItem().visible, false);
  });

  it('serves MCP over HTTP on the same store, and asks the person in the panel for pair_confirm', async () => {
    await activate();
    await fake.commands.get(COMMANDS.setUpIdentity)?.('ivan');
    const provider = fake.mcpProviders.get(MCP_PROVIDER_ID);
    assert.ok(provider);
    const [definition] = provider.provideMcpServerDefinitions();
    assert.ok(definition);
    assert.equal(definition.label, 'Agent Pair');
    assert.deepEqual(definition.headers, {}, 'nothing runs before VS Code starts the server');
    const resolved = await provider.resolveMcpServerDefinition?.(definition);
    assert.ok(resolved);
    assert.match(resolved.uri.toString(), /^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    assert.match(resolved.headers['Authorization'] ?? '', /^Bearer [0-9a-f]{64}$/);

    const client = new Client({ name: 'extension-test', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(resolved.uri.toString()), { requestInit: { headers: resolved.headers } }));
    try {
      const hostedResult = await client.callTool({ name: 'pair_host', arguments: {} });
      const session = (hostedResult.structuredContent as { session: { session_id: string; code: string; nameplate: string } }).session;
      // The commands see what the agent started: it is in the status bar.
      await until('the agent\'s pairing in the status bar', () => statusItem().visible);

      const judy = await makeSide(relay.url, 'judy');
      const joined = await judy.store.open('guest', relay.url, session.code);
      const judySas = peerSas(judy.store, joined.sessionId);
      for (let state = ''; state !== 'sas_ready'; ) {
        const status = await client.callTool({ name: 'pair_status', arguments: { session_id: session.session_id, wait_seconds: 5 } });
        state = (status.structuredContent as { sessions: { state: string }[] }).sessions[0]?.state ?? '';
      }

      const confirming = client.callTool({ name: 'pair_confirm', arguments: { session_id: session.session_id } });
      const panel = await until('the panel for the agent', () => fake.panels.find((candidate) => candidate.title === sasPanelTitle(session.nameplate)));
      panel.send({ type: 'ready' });
      const asked = await until('the agent request in the panel', () => views(panel).find((view) => view.agentRequest !== undefined && view.sas !== undefined));
      panel.send({ type: 'confirm', digits: await judySas });
      const confirmed = await confirming;
      assert.equal((confirmed.structuredContent as { session: { state: string } }).session.state, 'confirmed');
      assert.ok(!JSON.stringify(confirmed).includes((asked.sas ?? 'x').replace('-', '')), 'the agent never sees the SAS');

      await judy.store.confirmSas(joined.sessionId, asked.sas ?? '');
      const [finalized] = await Promise.all([client.callTool({ name: 'pair_finalize', arguments: { session_id: session.session_id } }), peerFinalizes(judy.store, joined.sessionId)]);
      assert.equal((finalized.structuredContent as { session: { state: string } }).session.state, 'finalized');
      assert.deepEqual((await listPeers({ vault: judy.vault, memory: judy.memory })).map((peer) => peer.handle), ['ivan']);

      // Closing the panel while an agent waits tells the agent the person cancelled.
      const second = await client.callTool({ name: 'pair_host', arguments: {} });
      const secondSession = (second.structuredContent as { session: { session_id: string; code: string; nameplate: string } }).session;
      const ken = await makeSide(relay.url, 'ken');
      const kenJoined = await ken.store.open('guest', relay.url, secondSession.code);
      const kenSas = peerSas(ken.store, kenJoined.sessionId);
      for (let state = ''; state !== 'sas_ready'; ) {
        const status = await client.callTool({ name: 'pair_status', arguments: { session_id: secondSession.session_id, wait_seconds: 5 } });
        state = (status.structuredContent as { sessions: { state: string }[] }).sessions[0]?.state ?? '';
      }
      await kenSas;
      const cancelled = client.callTool({ name: 'pair_confirm', arguments: { session_id: secondSession.session_id } });
      const secondPanel = await until('the second panel', () => fake.panels.find((candidate) => candidate.title === sasPanelTitle(secondSession.nameplate) && !candidate.disposed));
      await sleep(50);
      secondPanel.dispose();
      const result = await cancelled;
      assert.equal(result.isError, true);
      assert.equal(errorCodeOf(result as CallToolResult), 'cancelled');
    } finally {
      await client.close();
    }
  });
});

describe('the extension and the local relay (agentPair.relayUrl empty)', () => {
  const pids = new Pids();
  let port: number;
  let agentPairHome: string;
  let context: Context;

  async function activate(storage?: Pick<Context, 'workspaceState' | 'globalState' | 'secrets'>): Promise<void> {
    fake.reset();
    fake.settings.set('agentPair.relayUrl', '');
    context = fakeContext(storage);
    // The record of the relay process lives in this OS user's Agent Pair home, shared by windows.
    process.env['AGENT_PAIR_HOME'] = agentPairHome;
    extension.activate(context as unknown as ExtensionContext);
    await windowOpened();
    await sleep(50);
  }

  async function deactivate(): Promise<void> {
    for (const disposable of context.subscriptions.splice(0)) disposable.dispose();
    await extension.deactivate();
  }

  function logText(): string {
    return fake.outputChannels.flatMap((channel) => channel.lines).join('\n');
  }

  before(async () => {
    port = await freePort();
    // Port 8771 and dist/relay.mjs are the real ones; here a free port and the TypeScript entry.
    Object.assign(localRelayOverrides, { port, relayCommand: RELAY_COMMAND });
  });
  afterEach(async () => {
    await deactivate();
    // A relay the driver was restarting as the window went logs its pid and writes its record.
    await sleep(300);
    pids.addFromLog([logText()]);
    const record = await readFile(join(localRelayStateDir(), localRelayRecordFile(port)), 'utf8').catch(() => '{}');
    pids.add((JSON.parse(record) as { pid?: number }).pid);
    pids.killAll();
    await rm(agentPairHome, { recursive: true, force: true });
  });
  after(() => {
    delete process.env['AGENT_PAIR_HOME'];
    delete localRelayOverrides.port;
    delete localRelayOverrides.relayCommand;
  });

  it('starts the relay in a process of its own that outlives a reload, so a pairing in flight completes; Stop Local Relay stops it', async () => {
    agentPairHome = await mkdtemp(join(tmpdir(), 'agent-pair-home-'));
    const url = `http://127.0.0.1:${port}`;
    await activate();
    await fake.commands.get(COMMANDS.setUpIdentity)?.('olivia');
    const began = Date.now();
    const hosted = (await fake.commands.get(COMMANDS.host)?.()) as HostResult;
    const hostMs = Date.now() - began;
    assert.equal(hosted.relayUrl, url);
    const started = /Started the local relay at (\S+) \(pid (\d+)\) in (\d+) ms/.exec(logText());
    assert.ok(started, logText());
    const pid = Number(started[2]);
    pids.add(pid);
    assert.ok(hostMs < 5_000, `hosting took ${hostMs} ms`);

    // The window reloads: deactivate no longer stops the relay.
    const storage = { workspaceState: context.workspaceState, globalState: context.globalState, secrets: context.secrets };
    await deactivate();
    assert.ok(await relayAnswers(url), 'the relay answers after the window that started it went');
    assert.ok(processAlive(pid));

    await activate(storage);
    await until('the restored pairing in the status bar', () => statusItem().visible);
    const peggy = await makeSide(url, 'peggy');
    const joined = await peggy.store.open('guest', url, hosted.code);
    const peggySas = peerSas(peggy.store, joined.sessionId);
    const panel = await until('the SAS panel', () => fake.panels.find((candidate) => candidate.title === sasPanelTitle(hosted.nameplate)));
    panel.send({ type: 'ready' });
    const ready = await until('the SAS in the panel', () => views(panel).find((view) => view.sas !== undefined));
    panel.send({ type: 'confirm', digits: await peggySas });
    // The person went to another tab: the end comes as a notification, since no panel shows it.
    panel.visible = false;
    await peggy.store.confirmSas(joined.sessionId, ready.sas ?? '');
    await peerFinalizes(peggy.store, joined.sessionId);
    await until('the paired notification', () => fake.messages.find((message) => message.text === `Agent Pair: Paired with peggy (${peggy.fingerprint}).`));
    assert.ok(!logText().includes('Started the local relay'), 'the reloaded window used the running relay');

    // Start Local Relay says where it runs.
    const status = (await fake.commands.get(COMMANDS.startRelay)?.()) as LocalRelayStatus;
    assert.equal(status.process?.pid, pid);
    assert.equal(fake.messages.at(-1)?.text, `Agent Pair: the local relay runs at ${url}, in a process of its own (pid ${pid}) that outlives VS Code windows and exits after 10 minutes with no pairing in flight.`);

    // Stop Local Relay stops it from this window, though another one started it.
    assert.equal(await fake.commands.get(COMMANDS.stopRelay)?.(), true);
    assert.equal(fake.messages.at(-1)?.text, `Agent Pair: stopped the local relay at ${url}.`);
    assert.ok(!(await relayAnswers(url)));
    await untilExited(pid);
    await assert.rejects(stat(join(localRelayStateDir(), localRelayRecordFile(port))), { code: 'ENOENT' });
    assert.equal(await fake.commands.get(COMMANDS.stopRelay)?.(), false);
    assert.equal(fake.messages.at(-1)?.text, `Agent Pair: no local relay answers at ${url}.`);

    // Start Local Relay starts a new one.
    const restarted = (await fake.commands.get(COMMANDS.startRelay)?.()) as LocalRelayStatus;
    pids.add(restarted.process?.pid);
    assert.equal(restarted.started, true);
    assert.deepEqual([restarted.url, restarted.process?.url, processAlive(restarted.process?.pid ?? 0)], [url, url, true]);
  });

  it('asks before stopping the relay when pairings in this window use it', async () => {
    agentPairHome = await mkdtemp(join(tmpdir(), 'agent-pair-home-'));
    const url = `http://127.0.0.1:${port}`;
    await activate();
    await fake.commands.get(COMMANDS.setUpIdentity)?.('quentin');
    await fake.commands.get(COMMANDS.host)?.();
    const pid = Number(/Started the local relay at \S+ \(pid (\d+)\)/.exec(logText())?.[1]);
    pids.add(pid);
    fake.answerMessage = () => undefined; // the person dismisses the question
    assert.equal(await fake.commands.get(COMMANDS.stopRelay)?.(), false);
    const asked = fake.messages.at(-1);
    assert.equal(asked?.modal, true);
    assert.equal(asked.text, 'Stop the local relay? 1 pairing in flight in this window uses it.');
    assert.ok(await relayAnswers(url));
    assert.ok(processAlive(pid));

    fake.answerMessage = (message) => (message.modal ? 'Stop Relay' : undefined);
    assert.equal(await fake.commands.get(COMMANDS.stopRelay)?.(), true);
    assert.equal(fake.messages.at(-1)?.text, `Agent Pair: stopped the local relay at ${url}.`);
    await untilExited(pid);
    // The pairing was aborted first (its peer would read why), so nothing starts the relay again.
    await sleep(1_500);
    // Pins wording on purpose: the log says which pairing ended and why (the window keeps no other trace of it).
    assert.match(logText(), /Pairing \d+ ended: aborted: the local relay was stopped/);
    assert.equal(await relayAnswers(url), false, 'no driver restarted the relay');
  });

  it('leaves a relay another process runs (no record) alone', async () => {
    agentPairHome = await mkdtemp(join(tmpdir(), 'agent-pair-home-'));
    const url = `http://127.0.0.1:${port}`;
    await activate();
    // A CLI pairing runs the relay in its own process: no record, so it is not a window's to stop.
    const cli = await startRelay({ port });
    try {
      assert.equal(await fake.commands.get(COMMANDS.stopRelay)?.(), false);
      assert.equal(fake.messages.at(-1)?.text, `Agent Pair: the local relay at ${url} runs in another process, not one a VS Code window started: a CLI pairing (it stops when the pairing ends) or \`agent-pair relay\` (Ctrl-C in its terminal stops it).`);
      const status = (await fake.commands.get(COMMANDS.startRelay)?.()) as LocalRelayStatus;
      assert.deepEqual(status, { url, started: false });
      assert.equal(fake.messages.at(-1)?.text, `Agent Pair: the local relay runs at ${url}, in another process (a CLI pairing or \`agent-pair relay\`); it stops when that process ends.`);
      assert.ok(await relayAnswers(url));
    } finally {
      await cli.close();
    }
  });

  it('finds the local relay on the port of AGENT_PAIR_LOCAL_RELAY_PORT, as the CLI does; a wrong one is said, not guessed', async () => {
    agentPairHome = await mkdtemp(join(tmpdir(), 'agent-pair-home-'));
    const url = `http://127.0.0.1:${port}`;
    delete localRelayOverrides.port;
    process.env[LOCAL_RELAY_PORT_ENV] = String(port);
    const cli = await startRelay({ port });
    try {
      await activate();
      const status = (await fake.commands.get(COMMANDS.startRelay)?.()) as LocalRelayStatus;
      assert.deepEqual(status, { url, started: false }, 'the relay the CLI would use, on that port');
      await deactivate();

      process.env[LOCAL_RELAY_PORT_ENV] = '8o71';
      fake.reset();
      context = fakeContext();
      extension.activate(context as unknown as ExtensionContext);
      const told = await until('the person told', () => fake.messages.find((message) => message.kind === 'error'));
      assert.equal(told.text, 'Agent Pair could not start in this window: AGENT_PAIR_LOCAL_RELAY_PORT is "8o71"; expected a port, 1 to 65535. Reload the window to try again.');
    } finally {
      Reflect.deleteProperty(process.env, LOCAL_RELAY_PORT_ENV);
      localRelayOverrides.port = port;
      await cli.close();
    }
  });
});
