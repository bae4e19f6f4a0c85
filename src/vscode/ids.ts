// Every identifier VS Code and the end-to-end tests know this extension by: command ids, the
// status bar item, the webview's view type and title, the MCP provider. The palette shows the
// commands with a title in package.json; the per-session ones (finalize, copy code, copy join
// link) take a session id and are reached from the sessions quick pick and notifications, so the
// palette hides them. A test checks that this file and package.json agree.

import type { PeerRule } from '../core/vocabulary.js';

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
  setPeerRule: 'agentPair.setPeerRule',
  ruleNotify: 'agentPair.rule.notify',
  ruleAgent: 'agentPair.rule.agent',
  ruleMute: 'agentPair.rule.mute',
  refreshPeers: 'agentPair.refreshPeers',
} as const;

/**
 * Commands that need a session id, a message or a Peers view row, and so stay out of the palette
 * (the palette sets a peer's rule with setPeerRule, which asks for the peer and the rule).
 */
export const HIDDEN_FROM_PALETTE: readonly string[] = [COMMANDS.finalize, COMMANDS.copyCode, COMMANDS.copyJoinLink, COMMANDS.askAgent, COMMANDS.refreshPeers, COMMANDS.ruleNotify, COMMANDS.ruleAgent, COMMANDS.ruleMute];

/** The Peers view row's "Messages" submenu: one command per rule, the peer's current one hidden. */
export const PEER_RULE_SUBMENU_ID = 'agentPair.peerRule';

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
/**
 * A peer row's contextValue, `agentPair.peer.<rule>`: its inline and context menus match the
 * prefix, and the "Messages" submenu hides the rule the peer has.
 */
export const PEER_ITEM_CONTEXT_PREFIX = 'agentPair.peer.';
export function peerItemContext(rule: PeerRule): string {
  return `${PEER_ITEM_CONTEXT_PREFIX}${rule}`;
}

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
export const SETTINGS = {
  section: 'agentPair',
  relayUrl: 'relayUrl',
  handle: 'handle',
  lossGraceMinutes: 'messages.lossGraceMinutes',
  confirmAgentSends: 'messages.confirmAgentSends',
  sendsPerPeerPerHour: 'agents.sendsPerPeerPerHour',
  handoversPerPeerPerHour: 'agents.handoversPerPeerPerHour',
} as const;
