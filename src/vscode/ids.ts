// Every identifier VS Code and the end-to-end tests know this extension by: command ids, the
// status bar item, the webview's view type and title, the MCP provider. The palette shows the
// commands with a title in package.json; the per-session ones (finalize, copy code, copy join
// link) take a session id and are reached from the sessions quick pick and notifications, so the
// palette hides them. A test checks that this file and package.json agree.

export const COMMANDS = {
  host: 'agentPair.host',
  join: 'agentPair.join',
  showSessions: 'agentPair.showSessions',
  verifySas: 'agentPair.verifySas',
  abort: 'agentPair.abort',
  finalize: 'agentPair.finalize',
  copyCode: 'agentPair.copyCode',
  copyJoinLink: 'agentPair.copyJoinLink',
  showIdentity: 'agentPair.showIdentity',
  setUpIdentity: 'agentPair.setUpIdentity',
  listPeers: 'agentPair.listPeers',
  forgetPeer: 'agentPair.forgetPeer',
  startRelay: 'agentPair.startRelay',
  stopRelay: 'agentPair.stopRelay',
  showLog: 'agentPair.showLog',
  openConversation: 'agentPair.openConversation',
  sendMessage: 'agentPair.sendMessage',
  askAgent: 'agentPair.askAgent',
  refreshPeers: 'agentPair.refreshPeers',
} as const;

/** Commands that need a session id and so stay out of the palette. */
export const HIDDEN_FROM_PALETTE: readonly string[] = [COMMANDS.finalize, COMMANDS.copyCode, COMMANDS.copyJoinLink, COMMANDS.askAgent, COMMANDS.refreshPeers];

/** In the DOM the item's id is `agent-pair.agent-pair.agentPair.sessions`. */
export const STATUS_ITEM_ID = 'agentPair.sessions';

export const SAS_PANEL_VIEW_TYPE = 'agentPair.sas';

/** The SAS panel's title, which is also the `title` of its iframe in the DOM. */
export function sasPanelTitle(nameplate: string): string {
  return `Agent Pair: Verify ${nameplate}`;
}

/** The Peers view, in the Agent Pair view container of the activity bar. */
export const PEERS_VIEW_CONTAINER_ID = 'agentPair';
export const PEERS_VIEW_ID = 'agentPair.peers';
/** A peer row's contextValue, which its inline and context menus match. */
export const PEER_ITEM_CONTEXT = 'agentPair.peer';

/** In the DOM the item's id is `agent-pair.agent-pair.agentPair.unread`. */
export const UNREAD_ITEM_ID = 'agentPair.unread';

export const CONVERSATION_VIEW_TYPE = 'agentPair.conversation';

/** A conversation panel's title, which is also the `title` of its iframe in the DOM. */
export function conversationTitle(handle: string): string {
  return `Agent Pair: ${handle}`;
}

export const MCP_PROVIDER_ID = 'agentPair.mcp';
/** The label VS Code shows in "MCP: List Servers" and in the names of the tools. */
export const MCP_SERVER_LABEL = 'Agent Pair';

/** The settings this extension reads (section `agentPair`). */
export const SETTINGS = { section: 'agentPair', relayUrl: 'relayUrl', handle: 'handle', lossGraceMinutes: 'messages.lossGraceMinutes', confirmAgentSends: 'messages.confirmAgentSends' } as const;
