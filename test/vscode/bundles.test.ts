// The extension ships as four CommonJS bundles (esbuild.mjs): dist/extension.cjs, the shell VS
// Code loads at activation; dist/extension-window.cjs, the window's Agent Pair, which the shell
// loads once activation is over; dist/extension-hpke.cjs, the message encryption, loaded at the
// first message sealed or opened; and dist/mcp.cjs, the MCP server with its SDK and zod, loaded
// when VS Code starts the server. The HPKE and MCP bundles must use the window bundle's core (the
// curves it installed, one PairError, one SessionStore, one lock registry), the shell must hold
// none of it, and none but the MCP bundle may carry the MCP SDK. Reads the development build: the bundles are minified, so what each
// holds is read from its source map's list of sources.

import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { SHARED_MODULES } from '../../src/vscode/sharedModules.js';

const dist = new URL('../../dist/', import.meta.url);
const read = (name: string): string => readFileSync(new URL(name, dist), 'utf8');
/** The files a bundle was built from, as its source map names them (paths relative to dist/). */
const sourcesOf = (name: string): string[] => (JSON.parse(read(`${name}.map`)) as { sources: string[] }).sources;

describe('the extension bundles', { skip: existsSync(new URL('mcp.cjs.map', dist)) ? false : 'dist/ holds no development build: run `npm run build` first (npm test does)' }, () => {
  it('load the MCP SDK and zod only from dist/mcp.cjs, which the window requires on first use', () => {
    const mcp = sourcesOf('mcp.cjs');
    for (const marker of ['node_modules/zod/', 'node_modules/@modelcontextprotocol/']) {
      for (const bundle of ['extension.cjs', 'extension-window.cjs', 'extension-hpke.cjs']) assert.ok(!sourcesOf(bundle).some((source) => source.includes(marker)), `dist/${bundle} holds ${marker}`);
      assert.ok(mcp.some((source) => source.includes(marker)), `dist/mcp.cjs lacks ${marker}`);
    }
    assert.ok(mcp.some((source) => source.includes('/server/streamableHttp.')), 'dist/mcp.cjs lacks the HTTP transport');
    assert.match(read('extension-window.cjs'), /require\("\.\/mcp\.cjs"\)/);
  });

  it('activate from a shell that holds no core or relay module and no dependency, and opens the window from dist/extension-window.cjs through V8\'s code cache', () => {
    const shell = sourcesOf('extension.cjs');
    assert.deepEqual(shell.filter((source) => /^\.\.\/src\/(core|node|relay)\/|node_modules\//.test(source)).sort(), ['../src/node/codeCache.ts', '../src/node/lazyCrypto.ts']);
    assert.ok(shell.includes('../src/vscode/windowBundle.ts') && !shell.includes('../src/vscode/window.ts'));
    assert.match(read('extension.cjs'), /"extension-window\.cjs"/);
    const window = sourcesOf('extension-window.cjs');
    assert.ok(window.some((source) => source.includes('node_modules/@noble/curves/')), 'the curves are in the window bundle');
    // Both hold the ids (names and constants) and the one line that loads node:crypto, no state; nothing else is in both.
    assert.deepEqual(shell.filter((source) => window.includes(source)).sort(), ['../src/node/lazyCrypto.ts', '../src/vscode/ids.ts']);
  });

  it('load HPKE only from dist/extension-hpke.cjs, which the window imports at the first message sealed or opened', () => {
    const hpke = sourcesOf('extension-hpke.cjs');
    assert.ok(hpke.includes('../src/core/hpke.ts') && hpke.some((source) => source.includes('node_modules/@hpke/core/')));
    for (const bundle of ['extension.cjs', 'extension-window.cjs']) {
      assert.deepEqual(sourcesOf(bundle).filter((source) => source.includes('node_modules/@hpke/') || source.endsWith('/core/hpke.ts')), [], `dist/${bundle} holds no HPKE`);
    }
    assert.match(read('extension-window.cjs'), /require\("\.\/extension-hpke\.cjs"\)/);
  });

  for (const [bundle, uses] of [['mcp.cjs', 'core/errors.js'], ['extension-hpke.cjs', 'core/curves.js']] as const) {
    it(`keep one copy of the core: dist/${bundle} takes every core module it uses from the window bundle`, () => {
      const text = read(bundle);
      assert.ok(sourcesOf('extension-window.cjs').includes(`../src/${uses.replace(/\.js$/, '.ts')}`));
      assert.deepEqual(sourcesOf(bundle).filter((source) => /^\.\.\/src\/(core|node|relay)\//.test(source) && source !== '../src/core/hpke.ts'), [], `dist/${bundle} bundles no core, node or relay module of its own`);
      assert.ok(text.includes('require("./extension-window.cjs")') && !text.includes('require("./extension.cjs")'), `dist/${bundle} takes the core from the window bundle`);
      const taken = [...text.matchAll(/__agentPairShared\["([^"]+)"\]/g)].map((match) => match[1] ?? '');
      assert.ok(taken.includes(uses));
      assert.deepEqual(taken.filter((key) => !(key in SHARED_MODULES)), [], 'listed in src/vscode/sharedModules.ts');
    });
  }

  it('leave nothing stale in dist/: each bundle and its own source map, SQLite\'s WebAssembly, nothing else', () => {
    const files = readdirSync(dist).filter((name) => name !== 'agent-pair.vsix');
    // The CLI's command groups (esbuild.mjs builds one file per group, see src/cli/run.ts).
    const groups = ['home', 'pairing', 'messaging', 'relay', 'mcp'].map((group) => `cli-${group}.cjs`);
    const bundles = ['cli.cjs', 'extension.cjs', 'extension-window.cjs', 'extension-hpke.cjs', 'mcp.cjs', 'relay.mjs', ...groups];
    // And the SQLite WebAssembly the relay (and `agent-pair relay`) load from beside them, and
    // dist/cli.mjs, the CLI's old entry, which runs dist/cli.cjs.
    const expected = [...bundles, ...bundles.map((name) => `${name}.map`), 'node-sqlite3-wasm.wasm', 'cli.mjs'].sort();
    assert.deepEqual(files.sort(), expected);
  });
});
