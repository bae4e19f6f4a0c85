// The manifest and the code must agree: a command registered without a contribution has no
// title in the palette, and a contribution without a registration fails when run.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { COMMANDS, HIDDEN_FROM_PALETTE, MCP_PROVIDER_ID, MCP_SERVER_LABEL, PEER_ITEM_CONTEXT_PREFIX, PEER_RULE_SUBMENU_ID, PEERS_VIEW_CONTAINER_ID, PEERS_VIEW_ID, SETTINGS } from '../../src/vscode/ids.js';
import { AGENT_SENDS_PER_PEER_PER_HOUR, AUTO_HANDOVERS_PER_PEER_PER_HOUR, MAX_BUDGET_PER_HOUR, PEER_RULES } from '../../src/core/vocabulary.js';
import { peerItemContext } from '../../src/vscode/ids.js';
import { LOSS_GRACE_DEFAULT_MINUTES, LOSS_GRACE_MAX_MINUTES, LOSS_GRACE_MIN_MINUTES, budgetSetting } from '../../src/vscode/messaging.js';

interface MenuEntry {
  command?: string;
  submenu?: string;
  when?: string;
  group?: string;
}

interface Manifest {
  publisher: string;
  name: string;
  main: string;
  engines: { vscode: string };
  activationEvents: string[];
  contributes: {
    commands: { command: string; title: string; category: string }[];
    menus: Record<'commandPalette' | 'view/item/context' | 'view/title', MenuEntry[]> & Partial<Record<string, MenuEntry[]>>;
    submenus: { id: string; label: string }[];
    configuration: { properties: Record<string, { type: string; default: unknown; minimum?: number; maximum?: number }> };
    viewsContainers: { activitybar: { id: string; icon: string }[] };
    views: Record<string, { id: string }[]>;
    mcpServerDefinitionProviders: { id: string; label: string }[];
  };
}

const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as Manifest;

describe('package.json', () => {
  it('contributes every command the extension registers, and no other, under "Agent Pair"', () => {
    const contributed = manifest.contributes.commands.map((entry) => entry.command).sort();
    assert.deepEqual(contributed, Object.values(COMMANDS).sort());
    for (const entry of manifest.contributes.commands) {
      assert.equal(entry.category, 'Agent Pair', entry.command);
      assert.ok(entry.title.length > 0 && !entry.title.startsWith('Agent Pair'), entry.command);
    }
  });

  it('hides exactly the per-session commands from the palette', () => {
    const hidden = manifest.contributes.menus.commandPalette.filter((entry) => entry.when === 'false').map((entry) => entry.command).sort();
    assert.deepEqual(hidden, [...HIDDEN_FROM_PALETTE].sort());
  });

  it('declares the MCP provider the extension registers', () => {
    assert.deepEqual(manifest.contributes.mcpServerDefinitionProviders, [{ id: MCP_PROVIDER_ID, label: MCP_SERVER_LABEL }]);
  });

  it('declares the settings the extension reads, empty by default', () => {
    for (const key of [SETTINGS.relayUrl, SETTINGS.handle]) {
      const setting = manifest.contributes.configuration.properties[`${SETTINGS.section}.${key}`];
      assert.deepEqual([setting?.type, setting?.default], ['string', ''], key);
    }
    const grace = manifest.contributes.configuration.properties[`${SETTINGS.section}.${SETTINGS.lossGraceMinutes}`];
    assert.deepEqual([grace?.type, grace?.default, grace?.minimum, grace?.maximum], ['number', LOSS_GRACE_DEFAULT_MINUTES, LOSS_GRACE_MIN_MINUTES, LOSS_GRACE_MAX_MINUTES]);
    const confirmSends = manifest.contributes.configuration.properties[`${SETTINGS.section}.${SETTINGS.confirmAgentSends}`];
    assert.deepEqual([confirmSends?.type, confirmSends?.default], ['boolean', false]);
  });

  it('puts the Peers view in its own activity bar container, with Send and Forget on each row', () => {
    const [container] = manifest.contributes.viewsContainers.activitybar;
    assert.equal(container?.id, PEERS_VIEW_CONTAINER_ID);
    assert.deepEqual(manifest.contributes.views[PEERS_VIEW_CONTAINER_ID]?.map((view) => view.id), [PEERS_VIEW_ID]);
    const inline = manifest.contributes.menus['view/item/context'].filter((entry) => entry.group?.startsWith('inline') === true);
    assert.deepEqual(inline.map((entry) => entry.command), [COMMANDS.sendMessage, COMMANDS.forgetPeer]);
    const rowContext = `viewItem =~ /^${PEER_ITEM_CONTEXT_PREFIX.replace(/\./g, '\\.')}/`;
    for (const entry of manifest.contributes.menus['view/item/context']) assert.equal(entry.when, `view == ${PEERS_VIEW_ID} && ${rowContext}`);
  });

  it('sets a peer\'s rule from its row\'s "Messages" submenu (the current rule hidden) and from the palette, never from the agent', () => {
    assert.deepEqual(manifest.contributes.submenus, [{ id: PEER_RULE_SUBMENU_ID, label: 'Messages' }]);
    assert.ok(manifest.contributes.menus['view/item/context'].some((entry) => entry.submenu === PEER_RULE_SUBMENU_ID && entry.group?.startsWith('1_messages') === true));
    const rowContext = `viewItem =~ /^${PEER_ITEM_CONTEXT_PREFIX.replace(/\./g, '\\.')}/`;
    assert.deepEqual(
      manifest.contributes.menus[PEER_RULE_SUBMENU_ID]?.map((entry) => [entry.command, entry.when]),
      PEER_RULES.map((rule) => [{ notify: COMMANDS.ruleNotify, agent: COMMANDS.ruleAgent, mute: COMMANDS.ruleMute }[rule], `${rowContext} && viewItem != ${peerItemContext(rule)}`]),
    );
    const titles = new Map(manifest.contributes.commands.map((entry) => [entry.command, entry.title]));
    assert.deepEqual([titles.get(COMMANDS.ruleNotify), titles.get(COMMANDS.ruleAgent), titles.get(COMMANDS.ruleMute), titles.get(COMMANDS.setPeerRule)], ['Notify Me', 'Hand to the Agent', 'Mute', "Set a Peer's Message Rule"]);
    // Rules are the person's: they are commands and settings, and the extension contributes no language model tools.
    assert.equal((manifest.contributes as { languageModelTools?: unknown }).languageModelTools, undefined);
  });

  it('names and bounds the two agent budgets, with the core\'s defaults', () => {
    const budgets: [string, number][] = [
      [SETTINGS.sendsPerPeerPerHour, AGENT_SENDS_PER_PEER_PER_HOUR],
      [SETTINGS.handoversPerPeerPerHour, AUTO_HANDOVERS_PER_PEER_PER_HOUR],
    ];
    for (const [key, defaultValue] of budgets) {
      const setting = manifest.contributes.configuration.properties[`${SETTINGS.section}.${key}`];
      assert.deepEqual([setting?.type, setting?.default, setting?.minimum, setting?.maximum], ['integer', defaultValue, 0, MAX_BUDGET_PER_HOUR], key);
    }
    assert.equal(budgetSetting(0), 0);
    assert.equal(budgetSetting(MAX_BUDGET_PER_HOUR), MAX_BUDGET_PER_HOUR);
    for (const bad of [-1, MAX_BUDGET_PER_HOUR + 1, 2.5, '5', null, undefined]) assert.equal(budgetSetting(bad), undefined, String(bad));
  });

  it('activates after startup (to resume pairings in flight) and for join links, nothing more', () => {
    assert.deepEqual(manifest.activationEvents, ['onStartupFinished', 'onUri']);
    assert.equal(manifest.engines.vscode, '^1.101.0');
    assert.equal(manifest.main, './dist/extension.cjs');
  });

  it('has the publisher and name that join links address', () => {
    assert.equal(`${manifest.publisher}.${manifest.name}`, 'agent-pair.agent-pair');
  });
});
