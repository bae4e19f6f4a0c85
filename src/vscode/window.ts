// The window's Agent Pair, opened by the shell (extension.ts) right after activation, from a
// bundle of its own (dist/extension-window.cjs, esbuild.mjs) so that loading the extension
// parses none of it: builds the window's one SessionStore over VS Code's storage, the relay
// choice, the pairing runners (core) and what renders their events, the SAS panels, the status
// bar, the messaging (the pull, the Peers view, the conversations), the join link handler and
// the commands' handlers, and hands every disposable to the extension context. Nothing here
// talks to the network as it opens: restoring pairings in flight reads local state only; the
// relay and the MCP server start when first needed. The local relay runs in a process of its own
// that outlives this window (node/localRelay.ts), so closing the window leaves it running.

import { nodeCrypto } from '../node/lazyCrypto.js';
import { setMaxListeners } from 'node:events';
import * as vscode from 'vscode';
import { PairingRunners } from '../core/pairing.js';
import { SessionStore } from '../core/store.js';
import { installNativeCrypto } from '../node/nativeSymmetric.js';
import { defaultHome, systemClock, systemRandom } from '../node/system.js';
import { createRelayConnector } from '../relay/client.js';
import { COMMANDS, SETTINGS } from './ids.js';
import { registerAbortPairing } from './commands/abortPairing.js';
import { registerCopyCode } from './commands/copyCode.js';
import { registerCopyJoinLink } from './commands/copyJoinLink.js';
import { registerFinalizePairing } from './commands/finalizePairing.js';
import { registerForgetPeer } from './commands/forgetPeer.js';
import { registerHostPairing } from './commands/hostPairing.js';
import { registerJoinPairing } from './commands/joinPairing.js';
import { registerListPeers } from './commands/listPeers.js';
import { registerSetUpIdentity } from './commands/setUpIdentity.js';
import { registerShowIdentity } from './commands/showIdentity.js';
import { registerShowLog } from './commands/showLog.js';
import { registerShowSessions } from './commands/showSessions.js';
import { registerStartRelay } from './commands/startRelay.js';
import { registerStopRelay } from './commands/stopRelay.js';
import { registerVerifySas } from './commands/verifySas.js';
import { registerMessageCommands } from './commands/messages.js';
import { ConversationPanels } from './conversationPanel.js';
import { MessageNotifier } from './messageNotifications.js';
import { WindowMessaging, budgetSetting, lossGraceSettingMs } from './messaging.js';
import { AgentHandover } from './agentHandover.js';
import { registerRuleCommands } from './commands/peerRules.js';
import type { BudgetLimits } from '../core/rules.js';
import type { Clock } from '../core/ports.js';
import { PeersView } from './peersView.js';
import { UnreadStatusItem } from './unreadStatus.js';
import type { ExtensionDeps } from './deps.js';
import { type RelayChoiceOptions, RelayChoice, localRelayPort, localRelayStateDir, nodeScriptCommand, startingLocalRelay } from '../node/localRelay.js';
import { localRelayLogLine } from './relayWords.js';
import { watchExpiry } from './expiryWatch.js';
import { suggestedHandle } from './identityPrompt.js';
import type { McpEndpoint } from './mcpProvider.js';
import { PairingPresenter } from './pairingUi.js';
import { SasPanels } from './sasPanel.js';
import { SHARED_MODULES } from './sharedModules.js';
import { SessionStatusBar } from './statusBar.js';
import { extensionStores, moveOutOfGlobalState } from './storage.js';
import { joinLinkHandler } from './uriHandler.js';
import { CommandTable } from './commandTable.js';
import { errorMessage } from '../core/errors.js';
import { isTerminal } from '../core/vocabulary.js';

/**
 * For tests in plain Node only: where the local relay listens and how its process runs (the
 * real ones are port 8771, or $AGENT_PAIR_LOCAL_RELAY_PORT as for the CLI, and dist/relay.mjs,
 * which needs a build).
 */
export const localRelayOverrides: Partial<Pick<RelayChoiceOptions, 'port' | 'relayCommand' | 'idleExitSeconds'>> = {};

/**
 * For tests in plain Node only: the clock the notifications wait on while they gather a peer's
 * messages (NOTIFY_COALESCE_MS, a second of real time): a test lets it pass at once, or holds it
 * until the burst it sent is all stored.
 */
export const notifyOverrides: { clock?: Pick<Clock, 'sleep'> } = {};

/** What the shell (extension.ts) gives the window: its log and the extension's version. */
export interface WindowShell {
  log: vscode.LogOutputChannel;
  /** The extension's version, which the MCP server reports. */
  version: string;
}

/** What the shell forwards to the window: the commands it registered, join links and the MCP server's start. */
export interface AgentPairWindow {
  /** The handlers of every command in COMMANDS, run by the shell's registrations. */
  commands: CommandTable;
  handleUri(uri: vscode.Uri): Promise<void>;
  startMcp(): Promise<McpEndpoint>;
  /** Stops the pull; what else it opened ends with the context's subscriptions. */
  dispose(): Promise<void>;
}

export function openWindow(context: vscode.ExtensionContext, { log, version }: WindowShell): AgentPairWindow {
  // Ed25519, X25519, and HPKE's HMAC and ChaCha20-Poly1305 on node:crypto instead of noble's JavaScript.
  installNativeCrypto();

  const relays = new RelayChoice({
    configuredUrl: () => vscode.workspace.getConfiguration(SETTINGS.section).get<string>(SETTINGS.relayUrl, ''),
    onEvent: (event) => {
      log.info(localRelayLogLine(event));
    },
    stateDir: localRelayStateDir(),
    relayCommand: nodeScriptCommand(vscode.Uri.joinPath(context.extensionUri, 'dist', 'relay.mjs').fsPath),
    port: localRelayPort(),
    ...localRelayOverrides,
  });
  const core: ExtensionDeps['core'] = {
    ...extensionStores(context),
    random: systemRandom,
    clock: systemClock,
    relays: startingLocalRelay(createRelayConnector(), relays),
  };
  const store = new SessionStore(core);

  const runners = new PairingRunners({
    store,
    clock: systemClock,
    log: (line) => {
      log.warn(line);
    },
    relayLost: async (relayUrl) => {
      // The shared local relay's process stopped (idle exit, Stop Local Relay, killed): start
      // a new one (or find the one a racing window started). Pairings in flight through the old
      // one are gone with it and end as expired.
      if (relays.isLocal(relayUrl)) await relays.ensureLocal();
    },
  });
  // Every pairing in flight listens on it; that is not a leak.
  setMaxListeners(0, runners.stopSignal);
  const panels = new SasPanels({ extensionUri: context.extensionUri, store, questions: runners.questions, log });
  const pairings = new PairingPresenter(runners, panels, log);
  const expiry = watchExpiry(store, (line) => {
    log.warn(line);
  });
  context.subscriptions.push(panels, pairings, new SessionStatusBar(store, COMMANDS.showSessions), { dispose: () => { runners.dispose(); } }, expiry);

  const commands = new CommandTable();
  const deps: ExtensionDeps = { store, core, relays, runners, pairings, panels, log, suggestedHandle, commands };
  const messaging = startMessaging(context, deps);
  const handleUri = joinLinkHandler(context, deps);
  for (const register of [
    registerHostPairing,
    registerJoinPairing,
    registerShowSessions,
    registerVerifySas,
    registerAbortPairing,
    registerFinalizePairing,
    registerCopyCode,
    registerCopyJoinLink,
    registerShowIdentity,
    registerSetUpIdentity,
    registerListPeers,
    registerForgetPeer,
    registerStartRelay,
    registerStopRelay,
    registerShowLog,
  ]) {
    register(context, deps);
  }
  commands.requireHandlers(Object.values(COMMANDS));

  void resumePairings(store, pairings, log);
  return {
    commands,
    handleUri,
    startMcp: () =>
      startMcp(deps, version, messaging).catch((error: unknown) => {
        log.error(`The MCP server could not start: ${errorMessage(error)}`);
        throw error;
      }),
    dispose: () => messaging.dispose(),
  };
}

/** The hourly budgets the person set (agentPair.agents.*): an unset or out-of-range one is the core's default. */
function budgetLimits(): Partial<BudgetLimits> {
  const settings = vscode.workspace.getConfiguration(SETTINGS.section);
  const agentSends = budgetSetting(settings.get<unknown>(SETTINGS.sendsPerPeerPerHour));
  const autoHandovers = budgetSetting(settings.get<unknown>(SETTINGS.handoversPerPeerPerHour));
  return { ...(agentSends !== undefined && { agentSends }), ...(autoHandovers !== undefined && { autoHandovers }) };
}

/**
 * Messaging: the pull (in one window of the profile), the Peers view, the conversation panels,
 * the unread count and the notifications. A finished pairing, the window gaining focus and a
 * change of the loss grace wake it.
 */
function startMessaging(context: vscode.ExtensionContext, deps: ExtensionDeps): WindowMessaging {
  const lossGraceMs = (): number => lossGraceSettingMs(vscode.workspace.getConfiguration(SETTINGS.section).get<unknown>(SETTINGS.lossGraceMinutes));
  const messaging = new WindowMessaging({
    deps: { ...deps.core, log: (line) => { deps.log.info(line); } },
    home: defaultHome(),
    lossGraceMs,
    budgetLimits,
    log: deps.log,
    onEvent: (event) => {
      notifier.handle(event);
    },
    wantsHandover: (peer): boolean => handover.wantsHandover(peer),
  });
  const conversations = new ConversationPanels({ extensionUri: context.extensionUri, messaging, log: deps.log });
  const handover = new AgentHandover({
    messaging,
    consent: context.globalState,
    notify: (peer, records) => {
      notifier.notify(peer, records);
    },
    log: deps.log,
  });
  const notifier = new MessageNotifier(conversations, messaging, handover, deps.log, notifyOverrides.clock ?? systemClock);
  registerMessageCommands(context, deps, { messaging, conversations });
  registerRuleCommands(context, deps, { messaging, handover });
  const stopWatchingStore = deps.store.onDidChange(() => {
    void messaging.wake();
  });
  context.subscriptions.push(
    conversations,
    notifier,
    new PeersView(messaging),
    new UnreadStatusItem(messaging),
    vscode.window.onDidChangeWindowState((state) => {
      if (state.focused) void messaging.wake();
    }),
    vscode.workspace.onDidChangeConfiguration((change) => {
      if (change.affectsConfiguration(`${SETTINGS.section}.${SETTINGS.lossGraceMinutes}`)) void messaging.restart();
    }),
    { dispose: () => { stopWatchingStore(); void messaging.dispose(); } },
  );
  // A mailbox and pinned peers earlier builds kept in global state move to the files before the first pull.
  void moveOutOfGlobalState(context)
    .then((moved) => {
      if (moved > 0) deps.log.info(`Messages: moved ${moved} mailbox and peer entries out of the global state.`);
    })
    .catch((error: unknown) => {
      deps.log.warn(`Messages: could not move the mailbox and peers out of the global state: ${errorMessage(error)}`);
    })
    .finally(() => {
      messaging.start();
    });
  return messaging;
}

/** Pairings this workspace had in flight when it last closed carry on where they stopped. */
async function resumePairings(store: SessionStore, pairings: PairingPresenter, log: vscode.LogOutputChannel): Promise<void> {
  try {
    const { restored: kept, dropped } = await store.restore();
    // Ended pairings come back only to tell how they ended (pairing_status); nothing runs them.
    const restored = kept.filter((snapshot) => !isTerminal(snapshot.state));
    if (restored.length > 0) log.info(`Resumed ${restored.length} pairing${restored.length === 1 ? '' : 's'} in flight.`);
    if (dropped.length > 0) log.warn(`Dropped ${dropped.length} stored pairing${dropped.length === 1 ? '' : 's'} that could not be read back.`);
    for (const snapshot of restored) pairings.resume(snapshot);
  } catch (error) {
    log.error(`Restoring pairings failed: ${errorMessage(error)}`);
  }
}

/** What the lazily loaded MCP bundle (dist/mcp.cjs) reads of this one: see sharedModules.ts. */
export const __agentPairShared = SHARED_MODULES;

/**
 * The MCP server over Streamable HTTP, on the same store and runners: loaded on first use from a
 * bundle of its own (esbuild.mjs), so activation does not pay for the MCP SDK. The person
 * answers in the SAS panel.
 */
async function startMcp(deps: ExtensionDeps, version: string, messaging: WindowMessaging): Promise<McpEndpoint> {
  const { createMcpServer, startMcpHttpServer } = await import('./mcpEntry.js');
  return startMcpHttpServer({
    host: '127.0.0.1',
    token: nodeCrypto().randomBytes(32).toString('hex'),
    // One server per MCP client session; each reads the relay setting as it is then.
    createServer: () =>
      createMcpServer({
        store: deps.store,
        deps: deps.core,
        runners: deps.runners,
        defaultRelayUrl: deps.relays.forNewPairing(),
        showPerson: (sessionId) => deps.panels.show(sessionId, { forAgent: true }),
        version,
        receiver: messaging.forTools(),
        confirmSends: vscode.workspace.getConfiguration(SETTINGS.section).get<boolean>(SETTINGS.confirmAgentSends, false),
        // The agent's sends spend the same per-peer budget (counted in the profile's mailbox) that peer_status shows.
        budgets: budgetLimits(),
        sendBudgetSetting: `the setting ${SETTINGS.section}.${SETTINGS.sendsPerPeerPerHour}`,
        log: (line) => {
          deps.log.info(`MCP ${line}`);
        },
      }),
  });
}
