// The person sets a peer's rule (what this side does with its messages: notify, hand to the
// agent, mute) from the Peers view row's "Messages" submenu (one command per rule, the row
// passes itself), from the palette (Set a Peer's Message Rule: pick the peer, then the rule,
// the current one marked) and from the conversation header (which runs setPeerRule with the
// fingerprint and the rule). Stored with the pinned peer through core's setPeerRule, the one
// model `agent-pair rule` uses in the CLI (over the CLI's own home). The agent never reaches
// these: they are commands for the person, not MCP tools, and no tool sets a rule.

import * as vscode from 'vscode';
import { PairError } from '../../core/errors.js';
import { PEER_RULES, type PeerRule, isPeerRule } from '../../core/vocabulary.js';
import type { AgentHandover } from '../agentHandover.js';
import type { ExtensionDeps } from '../deps.js';
import { COMMANDS } from '../ids.js';
import type { WindowMessaging } from '../messaging.js';
import { RULE_WORDS, ruleSentence } from '../ruleWords.js';
import { registerCommand } from '../ui.js';
import { choosePeer } from './messages.js';

export interface RuleParts {
  messaging: WindowMessaging;
  handover: AgentHandover;
}

export function registerRuleCommands(context: vscode.ExtensionContext, deps: ExtensionDeps, parts: RuleParts): void {
  const setRule = async (peerArgument: unknown, rule: PeerRule | undefined): Promise<PeerRule | undefined> => {
    const peer = await choosePeer(parts.messaging, peerArgument, 'Whose messages do you want to set a rule for?');
    if (!peer) return undefined;
    const chosen = rule ?? (await pickRule(peer.handle, peer.rule));
    if (chosen === undefined) return undefined;
    const changed = await parts.messaging.setRule(peer.fingerprint, chosen);
    if (!changed) throw new PairError('not_found', `${peer.handle} is no longer pinned.`);
    // A yes to handing over belongs to the rule it was given for: a later `agent` asks again.
    if (chosen !== 'agent') await parts.handover.forgetConsent(peer.fingerprint);
    vscode.window.setStatusBarMessage(`$(${RULE_WORDS[chosen].icon}) Agent Pair: ${ruleSentence(peer.handle, chosen)}`, 5_000);
    return chosen;
  };

  registerCommand(context, deps, COMMANDS.setPeerRule, async (peerArgument?: unknown, ruleArgument?: unknown) => {
    if (ruleArgument !== undefined && !isPeerRule(ruleArgument)) throw new PairError('bad_input', `A peer's rule is one of ${PEER_RULES.join(', ')}.`);
    return setRule(peerArgument, ruleArgument);
  });
  const oneRule: [string, PeerRule][] = [
    [COMMANDS.ruleNotify, 'notify'],
    [COMMANDS.ruleAgent, 'agent'],
    [COMMANDS.ruleMute, 'mute'],
  ];
  for (const [command, rule] of oneRule) registerCommand(context, deps, command, (peerArgument?: unknown) => setRule(peerArgument, rule));
}

async function pickRule(handle: string, current: PeerRule): Promise<PeerRule | undefined> {
  const picked = await vscode.window.showQuickPick(
    PEER_RULES.map((rule) => ({ label: `$(${RULE_WORDS[rule].icon}) ${RULE_WORDS[rule].label}`, description: rule === current ? 'current' : '', detail: RULE_WORDS[rule].detail, rule })),
    { title: `Agent Pair: Messages from ${handle}`, placeHolder: `What should happen with new messages from ${handle}?` },
  );
  return picked?.rule;
}
