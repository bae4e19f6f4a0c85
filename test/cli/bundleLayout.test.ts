// What a CLI command loads before it runs, read from the development build (esbuild.mjs): every
// file an ESM process loads is a round of reads and a compile at start-up, so dist/cli.mjs (the
// command line, the help, --version) imports no other file of ours until a command runs, and a
// command loads its own code, not the others'. The bundles are minified: what each file holds is
// read from its source map's list of sources.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

const dist = new URL('../../dist/', import.meta.url);
const read = (name: string): string => readFileSync(new URL(name, dist), 'utf8');
const sourcesOf = (name: string): string[] => (JSON.parse(read(`${name}.map`)) as { sources: string[] }).sources;

/** The files of ours `name` imports: statically (`from"./x.mjs"`, `import"./x.mjs"`) and dynamically (`import("./x.mjs")`). */
function importsOf(name: string): { static: string[]; dynamic: string[] } {
  const code = read(name);
  const unique = (pattern: RegExp): string[] => [...new Set([...code.matchAll(pattern)].map((match) => match[1] ?? ''))];
  return { static: unique(/(?:from|import)\s*"\.\/([^"]+\.mjs)"/g), dynamic: unique(/import\("\.\/([^"]+\.mjs)"\)/g) };
}

/** Every file loaded once `names` are: their static imports, transitively. */
function staticClosure(names: string[]): Set<string> {
  const loaded = new Set<string>();
  const pending = [...names];
  for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
    if (loaded.has(name)) continue;
    loaded.add(name);
    pending.push(...importsOf(name).static);
  }
  return loaded;
}

/** The chunk a module of `from` imports dynamically whose sources include `source`. */
function dynamicChunkOf(from: string, source: string): string {
  const chunk = importsOf(from).dynamic.find((name) => sourcesOf(name).includes(source));
  assert.ok(chunk !== undefined, `${from} imports no chunk built from ${source}`);
  return chunk;
}

describe('what the CLI loads', { skip: existsSync(new URL('cli.mjs.map', dist)) ? false : 'dist/ holds no development build: run `npm run build` first (npm test does)' }, () => {
  it('--version, --help and the command line load dist/cli.mjs alone: it imports no file of ours but the command side, when a command runs', () => {
    const { static: staticImports, dynamic } = importsOf('cli.mjs');
    assert.deepEqual(staticImports, []);
    assert.equal(dynamic.length, 1);
    assert.match(dynamic[0] ?? '', /^cli-run-[A-Z0-9]+\.mjs$/);
    assert.ok(sourcesOf('cli.mjs').includes('../src/cli/commandLine.ts'));
    assert.ok(!sourcesOf('cli.mjs').some((source) => source.includes('node_modules/')), 'dist/cli.mjs bundles no package');
  });

  it('peers loads neither the relay client nor pairing, messaging or the MCP server', () => {
    const run = importsOf('cli.mjs').dynamic[0] ?? '';
    const loaded = staticClosure([run, dynamicChunkOf(run, '../src/cli/peers.ts')]);
    const sources = [...loaded].flatMap(sourcesOf);
    for (const unwanted of ['../src/relay/client.ts', '../src/cli/pair.ts', '../src/cli/messages.ts', '../src/core/inbox.ts', '../src/mcp/stdio.ts', '../src/cli/commandLine.ts']) {
      assert.ok(!sources.includes(unwanted), `peers loads ${unwanted}`);
    }
  });
});
