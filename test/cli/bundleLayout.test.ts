// What a CLI command loads before it runs, read from the development build (esbuild.mjs): every
// file a process loads is a round of reads and a compile at start-up, so dist/cli.cjs (the
// command line, the help, --version) imports no other file of ours, and a command then loads one
// file, its group's (dist/cli-GROUP.cjs, through V8's code cache: test/cli/codeCache.test.ts),
// which requires nothing of ours and holds its group's code, not the others'. The bundles are
// minified: what each file holds is read from its source map's list of sources.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const dist = new URL('../../dist/', import.meta.url);
const read = (name: string): string => readFileSync(new URL(name, dist), 'utf8');
const sourcesOf = (name: string): string[] => (JSON.parse(read(`${name}.map`)) as { sources: string[] }).sources;

/** The files of ours `name` imports (`from"./x.mjs"`, `import"./x.mjs"`, `import("./x.mjs")`) or requires (`require("./x")`). */
function filesOfOursLoadedBy(name: string): string[] {
  const code = read(name);
  const patterns = [/(?:from|import)\s*"\.\/([^"]+)"/g, /import\("\.\/([^"]+)"\)/g, /require\("\.\/([^"]+)"\)/g];
  return [...new Set(patterns.flatMap((pattern) => [...code.matchAll(pattern)].map((match) => match[1] ?? '')))];
}

const GROUPS = ['home', 'mcp', 'messaging', 'pairing', 'relay'];

/** What a command's group file holds, checked to load no other file of ours. */
function groupSources(group: string): string[] {
  const name = `cli-${group}.cjs`;
  assert.deepEqual(filesOfOursLoadedBy(name), [], `${name} loads files of ours`);
  return sourcesOf(name);
}

/** Modules of pairing, messaging, the relay server and the MCP server, by a source each. */
const PAIRING = ['../src/cli/pair.ts', '../src/core/pairing.ts', '../src/core/spake2.ts'];
const MESSAGING = ['../src/cli/messages.ts', '../src/core/inbox.ts', '../src/core/hpke.ts'];
const RELAY_CLIENT = '../src/relay/client.ts';
const RELAY_SERVER = ['../src/relay/node.ts', '../src/relay/server.ts', '../src/relay/sqliteStore.ts', '../src/relay/redisStore.ts'];
const MCP = ['../src/mcp/stdio.ts'];

describe('what the CLI loads', { skip: existsSync(new URL('cli.cjs.map', dist)) ? false : 'dist/ holds no development build: run `npm run build` first (npm test does)' }, () => {
  it('--version, --help and the command line load dist/cli.cjs alone: it imports no file of ours, and loads a command group\'s bundle by name when one of its commands runs', () => {
    assert.deepEqual(filesOfOursLoadedBy('cli.cjs'), []);
    // groupBundles.ts names the group's file (`cli-${group}.cjs`) as main.ts's GROUP_OF gives it.
    assert.ok(read('cli.cjs').includes('`cli-${'), 'dist/cli.cjs does not name the group bundles');
    assert.deepEqual(
      readdirSync(dist).filter((name) => /^cli-.*\.(?:c|m)?js$/.test(name)).sort(),
      GROUPS.map((group) => `cli-${group}.cjs`),
    );
    const sources = sourcesOf('cli.cjs');
    assert.ok(sources.includes('../src/cli/commandLine.ts'));
    assert.ok(sources.includes('../src/cli/groupBundles.ts') && !sources.includes('../src/cli/groupModules.ts'), 'dist/cli.cjs imports the groups from the sources');
    assert.ok(!sources.some((source) => source.includes('node_modules/')), 'dist/cli.cjs bundles no package');
  });

  it('dist/cli.mjs, the entry before dist/cli.cjs, still runs the CLI (MCP clients set up with that path)', () => {
    const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
    assert.equal(execFileSync(process.execPath, [fileURLToPath(new URL('cli.mjs', dist)), '--version'], { encoding: 'utf8' }), `${version}\n`);
  });

  it('peers (and whoami) load one file more, with neither the relay client nor pairing, messaging or the MCP server', () => {
    const sources = groupSources('home');
    assert.ok(sources.includes('../src/cli/peers.ts'));
    // noble's curves are built at their first use (esbuild.mjs), which reading pinned peers is not.
    assert.ok(sources.includes('noble-curves-at-first-use:stand-in'), "peers builds noble's curves as the group loads");
    for (const unwanted of [RELAY_CLIENT, ...PAIRING, ...MESSAGING, ...RELAY_SERVER, ...MCP, '../src/cli/commandLine.ts']) {
      assert.ok(!sources.includes(unwanted), `peers loads ${unwanted}`);
    }
  });

  it('send (and the other messaging commands) load one file more, with HPKE in it, and neither pairing, the relay server nor the MCP server', () => {
    const sources = groupSources('messaging');
    for (const wanted of [...MESSAGING, RELAY_CLIENT]) assert.ok(sources.includes(wanted), `send does not bundle ${wanted}`);
    for (const unwanted of [...PAIRING, ...RELAY_SERVER, ...MCP, '../src/cli/commandLine.ts']) {
      assert.ok(!sources.includes(unwanted), `send loads ${unwanted}`);
    }
  });

  it('host and join load one file more, without the relay server (they start dist/relay.mjs as a process) or the MCP server', () => {
    const sources = groupSources('pairing');
    for (const wanted of PAIRING) assert.ok(sources.includes(wanted), `join does not bundle ${wanted}`);
    for (const unwanted of [...RELAY_SERVER, ...MCP]) assert.ok(!sources.includes(unwanted), `join loads ${unwanted}`);
  });

  it('the relay and mcp commands each load one file more, the relay without the MCP server and mcp without the relay server', () => {
    const relay = groupSources('relay');
    assert.ok(relay.includes('../src/relay/node.ts'));
    for (const unwanted of [...MCP, ...PAIRING]) assert.ok(!relay.includes(unwanted), `relay loads ${unwanted}`);
    const mcp = groupSources('mcp');
    assert.ok(mcp.includes(MCP[0] ?? ''));
    for (const unwanted of RELAY_SERVER) assert.ok(!mcp.includes(unwanted), `mcp loads ${unwanted}`);
    // zod's locales (all but English, which zod sets itself) would be a third of the file: kept
    // only when zod's whole namespace is imported as a value (src/mcp/server.ts).
    for (const name of ['cli-mcp.cjs', 'mcp.cjs']) {
      const locales = sourcesOf(name).filter((source) => /zod\/v4\/locales\/(?!en\.js$)/.test(source));
      assert.deepEqual(locales, [], `${name} bundles zod's locales`);
    }
  });
});
