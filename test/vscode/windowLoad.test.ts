// The shipped shell (dist/extension.cjs) when the window's bundle (dist/extension-window.cjs,
// beside it) cannot be loaded: the person is told why, in a notification, and the next command
// loads it again, instead of every command failing until a reload. Runs the built bundles,
// copied to a directory of their own (where the window's bundle can be missing, then appear),
// over the stand-in `vscode` module.

import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { ExtensionContext } from 'vscode';
import { COMMANDS, PEERS_VIEW_ID } from '../../src/vscode/ids.js';
import { until } from '../helpers/until.js';
import * as standIn from './fakeVscode.js';
import { fake, fakeContext } from './fakeVscode.js';

const DIST = fileURLToPath(new URL('../../dist/', import.meta.url));
const WINDOW_BUNDLES = ['extension-window.cjs', 'extension-hpke.cjs', 'mcp.cjs'];

interface Shell {
  activate(context: ExtensionContext): void;
  deactivate(): Promise<void>;
}

let root: string;
let dist: string;

before(async () => {
  assert.ok(existsSync(join(DIST, 'extension.cjs')), 'dist/extension.cjs is missing: run `npm run build` first (npm test does)');
  root = await mkdtemp(join(tmpdir(), 'agent-pair-window-load-'));
  // `require('vscode')` from the copied bundles finds the stand-in this test holds.
  mkdirSync(join(root, 'node_modules', 'vscode'), { recursive: true });
  (globalThis as { agentPairStandInVscode?: unknown }).agentPairStandInVscode = standIn;
  writeFileSync(join(root, 'node_modules', 'vscode', 'index.js'), 'module.exports = globalThis.agentPairStandInVscode;\n');
  dist = join(root, 'dist');
  mkdirSync(dist);
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A new copy of the shell (its own module state), activated with a fresh window's context. */
function activateShell(name: string): { shell: Shell; context: ReturnType<typeof fakeContext>; close: () => Promise<void> } {
  const file = join(dist, `${name}.cjs`);
  copyFileSync(join(DIST, 'extension.cjs'), file);
  const shell = createRequire(file)(file) as Shell;
  fake.reset();
  const context = fakeContext();
  shell.activate(context as unknown as ExtensionContext);
  return {
    shell,
    context,
    close: async () => {
      for (const disposable of context.subscriptions.splice(0)) disposable.dispose();
      await shell.deactivate();
    },
  };
}

function errorsShown(): string[] {
  return fake.messages.filter((message) => message.kind === 'error').map((message) => message.text);
}

describe('the shell when the window bundle does not load', () => {
  it('tells the person why, and loads it again at the next command', async () => {
    const { close } = activateShell('extension-missing');
    try {
      // The window opens once activation is over: its bundle is not there yet.
      const missing = join(dist, 'extension-window.cjs');
      const [first] = await until('the person told', () => (errorsShown().length > 0 ? errorsShown() : undefined));
      assert.equal(first, `Agent Pair could not start in this window: its file ${missing} could not be read (ENOENT). It tries again at your next Agent Pair command.`);
      assert.deepEqual(fake.messages[0]?.items, ['Show Log']);
      assert.equal(await fake.commands.get(COMMANDS.listPeers)?.(), undefined, 'a command while it is missing does nothing more than say so');
      assert.equal(errorsShown().length, 2, 'said again: the command tried again');
      assert.equal(fake.treeViews.size, 0);

      for (const bundle of WINDOW_BUNDLES) copyFileSync(join(DIST, bundle), join(dist, bundle));
      assert.deepEqual(await fake.commands.get(COMMANDS.listPeers)?.(), [], 'the next command loaded the window and ran in it');
      assert.ok(fake.treeViews.has(PEERS_VIEW_ID));
      assert.equal(errorsShown().length, 2);
    } finally {
      await close();
    }
  });

  it('a window bundle that loaded but could not open the window is not opened again: the person is told to reload', async () => {
    const window = join(dist, 'extension-window.cjs');
    // The first test's window module is in require's cache: this window loads the file again.
    Reflect.deleteProperty(createRequire(window).cache, window);
    writeFileSync(window, 'exports.openWindow = () => { throw new Error("the window could not be opened"); };\n');
    const { close } = activateShell('extension-throws');
    try {
      const [first] = await until('the person told', () => (errorsShown().length > 0 ? errorsShown() : undefined));
      assert.equal(first, 'Agent Pair could not start in this window: the window could not be opened. Reload the window to try again.');
      assert.equal(await fake.commands.get(COMMANDS.listPeers)?.(), undefined);
      assert.equal(errorsShown().length, 1, 'not tried again, not said again');
    } finally {
      await close();
    }
  });
});
