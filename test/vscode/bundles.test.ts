// The extension ships as two CommonJS bundles (esbuild.mjs): dist/extension.cjs, loaded at every
// startup, and dist/mcp.cjs, the MCP server with its SDK and zod, loaded when VS Code starts the
// server. The MCP bundle must use the extension bundle's core (one PairError, one SessionStore),
// and the startup bundle must not carry the MCP SDK. Reads the development build: the bundles are
// minified, so what each holds is read from its source map's list of sources.

import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { SHARED_MODULES } from '../../src/vscode/sharedModules.js';

const dist = new URL('../../dist/', import.meta.url);
const read = (name: string): string => readFileSync(new URL(name, dist), 'utf8');
/** The files a bundle was built from, as its source map names them (paths relative to dist/). */
const sourcesOf = (name: string): string[] => (JSON.parse(read(`${name}.map`)) as { sources: string[] }).sources;

describe('the extension bundles', { skip: existsSync(new URL('mcp.cjs.map', dist)) ? false : 'dist/ holds no development build: run `npm run build` first (npm test does)' }, () => {
  it('load the MCP SDK and zod only from dist/mcp.cjs, which the extension requires on first use', () => {
    const extension = sourcesOf('extension.cjs');
    const mcp = sourcesOf('mcp.cjs');
    for (const marker of ['node_modules/zod/', 'node_modules/@modelcontextprotocol/']) {
      assert.ok(!extension.some((source) => source.includes(marker)), `dist/extension.cjs holds ${marker}`);
      assert.ok(mcp.some((source) => source.includes(marker)), `dist/mcp.cjs lacks ${marker}`);
    }
    assert.ok(mcp.some((source) => source.includes('/server/streamableHttp.')), 'dist/mcp.cjs lacks the HTTP transport');
    assert.match(read('extension.cjs'), /import\("\.\/mcp\.cjs"\)/);
  });

  it('keep one copy of the core: the MCP bundle takes every core module it uses from the extension bundle', () => {
    const mcp = read('mcp.cjs');
    assert.ok(sourcesOf('extension.cjs').includes('../src/core/errors.ts'));
    assert.deepEqual(sourcesOf('mcp.cjs').filter((source) => /^\.\.\/src\/(core|node|relay)\//.test(source)), [], 'dist/mcp.cjs bundles no core, node or relay module of its own');
    const taken = [...mcp.matchAll(/__agentPairShared\["([^"]+)"\]/g)].map((match) => match[1] ?? '');
    assert.ok(taken.includes('core/errors.js'));
    assert.deepEqual(taken.filter((key) => !(key in SHARED_MODULES)), [], 'listed in src/vscode/sharedModules.ts');
  });

  it('leave nothing stale in dist/: each bundle and its own source map, SQLite\'s WebAssembly, nothing else', () => {
    const files = readdirSync(dist).filter((name) => name !== 'agent-pair.vsix');
    // The CLI's command groups (esbuild.mjs builds one file per group, see src/cli/run.ts).
    const groups = ['home', 'pairing', 'messaging', 'relay', 'mcp'].map((group) => `cli-${group}.mjs`);
    const bundles = ['cli.mjs', 'extension.cjs', 'mcp.cjs', 'relay.mjs', ...groups];
    // And the SQLite WebAssembly the relay (and `agent-pair relay`) load from beside them.
    const expected = [...bundles, ...bundles.map((name) => `${name}.map`), 'node-sqlite3-wasm.wasm'].sort();
    assert.deepEqual(files.sort(), expected);
  });
});
