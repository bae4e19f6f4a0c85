// The extension ships as two CommonJS bundles (esbuild.mjs): dist/extension.cjs, loaded at every
// startup, and dist/mcp.cjs, the MCP server with its SDK and zod, loaded when VS Code starts the
// server. The MCP bundle must use the extension bundle's core (one PairError, one SessionStore),
// and the startup bundle must not carry the MCP SDK. Reads the development build.

import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { SHARED_MODULES } from '../../src/vscode/sharedModules.js';

const dist = new URL('../../dist/', import.meta.url);
const read = (name: string): string => readFileSync(new URL(name, dist), 'utf8');

describe('the extension bundles', { skip: existsSync(new URL('mcp.cjs.map', dist)) ? false : 'dist/ holds no development build: run `npm run build` first (npm test does)' }, () => {
  it('load the MCP SDK and zod only from dist/mcp.cjs, which the extension requires on first use', () => {
    const extension = read('extension.cjs');
    const mcp = read('mcp.cjs');
    for (const marker of ['StreamableHTTPServerTransport', 'node_modules/zod/', 'node_modules/@modelcontextprotocol/']) {
      assert.ok(!extension.includes(marker), `dist/extension.cjs holds ${marker}`);
      assert.ok(mcp.includes(marker), `dist/mcp.cjs lacks ${marker}`);
    }
    assert.match(extension, /import\("\.\/mcp\.cjs"\)/);
  });

  it('keep one copy of the core: the MCP bundle takes every core module it uses from the extension bundle', () => {
    const extension = read('extension.cjs');
    const mcp = read('mcp.cjs');
    assert.equal(extension.match(/\bPairError = class\b/g)?.length, 1);
    assert.doesNotMatch(mcp, /\bPairError = class\b|\bSessionStore = class\b|^\/\/ src\/(core|node|relay)\//m);
    const taken = [...mcp.matchAll(/__agentPairShared\["([^"]+)"\]/g)].map((match) => match[1] ?? '');
    assert.ok(taken.includes('core/errors.js'));
    assert.deepEqual(taken.filter((key) => !(key in SHARED_MODULES)), [], 'listed in src/vscode/sharedModules.ts');
  });

  it('leave nothing stale in dist/: each bundle and its own source map, SQLite\'s WebAssembly, nothing else', () => {
    const bundles = ['cli.mjs', 'extension.cjs', 'mcp.cjs', 'relay.mjs'];
    // And the SQLite WebAssembly the relay (and the CLI's in-process relay) load from beside them.
    const expected = [...bundles, ...bundles.map((name) => `${name}.map`), 'node-sqlite3-wasm.wasm'].sort();
    assert.deepEqual(readdirSync(dist).filter((name) => name !== 'agent-pair.vsix').sort(), expected);
  });
});
