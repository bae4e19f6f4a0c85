// The manifest and the code must agree: a command registered without a contribution has no
// title in the palette, and a contribution without a registration fails when run.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { COMMANDS, HIDDEN_FROM_PALETTE, MCP_PROVIDER_ID, MCP_SERVER_LABEL, SETTINGS } from '../../src/vscode/ids.js';

interface Manifest {
  publisher: string;
  name: string;
  main: string;
  engines: { vscode: string };
  activationEvents: string[];
  contributes: {
    commands: { command: string; title: string; category: string }[];
    menus: { commandPalette: { command: string; when: string }[] };
    configuration: { properties: Record<string, { type: string; default: unknown }> };
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
