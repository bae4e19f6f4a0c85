// The core's boundary, checked on the source itself: every module in src/core imports only
// @noble/*, @hpke/* and its own siblings, and touches no Node or VS Code API, so the same protocol code
// runs in the extension host, the CLI, the MCP server and a browser.

import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';

const CORE_DIRECTORY = resolve(import.meta.dirname, '../../src/core');

/** Every specifier of `import … from '…'`, `export … from '…'`, `import '…'` and `import('…')`. */
function importSpecifiers(source: string): string[] {
  const patterns = [/\b(?:import|export)\s[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g, /\bimport\s*['"]([^'"]+)['"]/g, /\bimport\s*\(\s*['"`]([^'"`]+)['"`]\s*\)/g, /\brequire\s*\(\s*['"`]([^'"`]+)['"`]\s*\)/g];
  return patterns.flatMap((pattern) => [...source.matchAll(pattern)].map((match) => match[1] ?? ''));
}

const ALLOWED_SPECIFIER = /^(?:@noble\/(?:hashes|curves|ciphers)\/[a-z0-9_]+(?:\/[a-z0-9_]+)?\.js|@hpke\/(?:core|dhkem-x25519|chacha20poly1305)|\.\/[A-Za-z0-9_]+\.js)$/;
const FORBIDDEN_USAGE: [RegExp, string][] = [
  [/\bnode:/, 'a node: module'],
  [/\bvscode\b/, 'the vscode API'],
  [/\bBuffer\s*\./, 'Buffer'],
  [/\bprocess\s*\./, 'process'],
  [/\brequire\s*\(/, 'require'],
  [/\bsetTimeout\s*\(/, 'setTimeout (time comes through the Clock port)'],
  [/\bfetch\s*\(/, 'fetch (the relay comes through the RelayPort)'],
];

/** Comments may mention anything; only code counts. */
function stripComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

describe('src/core boundary', () => {
  const files = readdirSync(CORE_DIRECTORY).filter((name) => name.endsWith('.ts'));

  it('finds the core modules', () => {
    for (const expected of ['codePhrase.ts', 'spake2.ts', 'keySchedule.ts', 'identity.ts', 'trust.ts', 'bytes.ts', 'errors.ts', 'ports.ts']) {
      assert.ok(files.includes(expected), `${expected} is missing from src/core`);
    }
  });

  for (const name of files) {
    it(`${name} imports only @noble/*, @hpke/* and ./`, () => {
      const source = readFileSync(join(CORE_DIRECTORY, name), 'utf8');
      for (const specifier of importSpecifiers(source)) {
        assert.match(specifier, ALLOWED_SPECIFIER, `${name} imports ${specifier}`);
      }
    });

    it(`${name} uses no Node or VS Code API`, () => {
      const code = stripComments(readFileSync(join(CORE_DIRECTORY, name), 'utf8'));
      for (const [pattern, what] of FORBIDDEN_USAGE) assert.doesNotMatch(code, pattern, `${name} uses ${what}`);
    });
  }

  it('the scanner itself catches what it is meant to catch', () => {
    const sample = "import { x } from 'node:fs';\nimport type { Y } from '../relay/client.js';\nexport { z } from \"vscode\";\nconst m = await import('os');\nimport './side-effect.js';";
    assert.deepEqual(importSpecifiers(sample), ['node:fs', '../relay/client.js', 'vscode', './side-effect.js', 'os']);
    for (const specifier of importSpecifiers(sample).slice(0, 3)) assert.doesNotMatch(specifier, ALLOWED_SPECIFIER);
    assert.match('@noble/curves/ed25519.js', ALLOWED_SPECIFIER);
    assert.doesNotMatch('@noble/curves', ALLOWED_SPECIFIER);
    assert.equal(stripComments('// process.exit()\nconst url = "http://x"; /* Buffer.from */'), '\nconst url = "http://x"; ');
  });
});
