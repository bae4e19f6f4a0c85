// Bundles every shipped entry point into a dist/ emptied first (no stale file, source map or
// .vsix survives a build). The extension is CommonJS with `vscode` external (the extension host
// provides it), in three bundles: dist/extension.cjs, the shell VS Code loads at activation
// (commands, join links and the MCP provider registered, each forwarding to the window);
// dist/extension-window.cjs, the window's Agent Pair (the store, pairing, messaging, crypto),
// which the shell requires right after activation; dist/extension-hpke.cjs, the message
// encryption (HPKE: @hpke/*), loaded at the first message sealed or opened; and dist/mcp.cjs,
// the MCP server with its SDK and zod, loaded only when VS Code starts the server. The CLI and
// the standalone relay are ESM for Node. Everything else, @noble/* and the MCP SDK included, is
// bundled, so the .vsix and the CLI need no node_modules at run time. Every bundle is minified.
import { chmodSync, copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { build } from 'esbuild';

const production = process.argv.includes('--production');
// `--outdir DIR`: build there instead (scripts/package-vsix.mjs builds the .vsix's bundles apart).
const outdirAt = process.argv.indexOf('--outdir');
const outdir = outdirAt === -1 ? 'dist' : process.argv[outdirAt + 1];
if (outdir === undefined || outdir === '') throw new Error('esbuild.mjs: --outdir needs a directory');
const shared = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  sourcemap: production ? false : 'linked',
  // Minified always: less to read and parse at every start (the source maps name the sources).
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
};

// ESM bundles of CommonJS dependencies need a real `require` for Node built-ins, and `__dirname`
// (node-sqlite3-wasm finds its .wasm there).
const esmRequireShim =
  "import { createRequire as __agentPairCreateRequire } from 'node:module'; import { dirname as __agentPairDirname } from 'node:path'; import { fileURLToPath as __agentPairFileURLToPath } from 'node:url'; const require = __agentPairCreateRequire(import.meta.url); const __dirname = __agentPairDirname(__agentPairFileURLToPath(import.meta.url));";

const SRC = resolve('src');
const SHARED_DIRS = ['core', 'node', 'relay'];

/** A module that is not bundled but required from `bundle` (beside this one) when first imported. */
const apart = (module, bundle) => ({
  name: `${module}-apart`,
  setup(context) {
    context.onResolve({ filter: new RegExp(`^\\./${module}\\.js$`) }, () => ({ path: `./${bundle}`, external: true }));
  },
});

/**
 * In the shell: windowModule.ts (the window's module imported from the sources, for the tests) is
 * windowBundle.ts, which loads dist/extension-window.cjs through V8's code cache.
 */
const windowFromBundle = {
  name: 'window-from-bundle',
  setup(context) {
    context.onResolve({ filter: /^\.\/windowModule\.js$/ }, () => ({ path: resolve('src/vscode/windowBundle.ts') }));
  },
};

/**
 * In the MCP and HPKE bundles: every import of src/core, src/node or src/relay is the window
 * bundle's own module (exported as __agentPairShared, see src/vscode/sharedModules.ts), not a
 * second copy (the curves the window installed, one PairError, one SessionStore).
 */
const coreFromExtension = {
  name: 'core-from-extension',
  setup(context) {
    context.onResolve({ filter: /^\.\.?\// }, (args) => {
      if (args.namespace === 'agent-pair-shared') return { path: args.path, external: true };
      if (args.kind === 'entry-point') return undefined;
      const key = relative(SRC, resolve(args.resolveDir, args.path)).replaceAll('\\', '/');
      return SHARED_DIRS.includes(key.split('/')[0]) ? { path: key, namespace: 'agent-pair-shared' } : undefined;
    });
    context.onLoad({ filter: /.*/, namespace: 'agent-pair-shared' }, (args) => ({
      contents: `const shared = require('./extension-window.cjs').__agentPairShared[${JSON.stringify(args.path)}];
if (shared === undefined) throw new Error(${JSON.stringify(`dist/extension-window.cjs does not share src/${args.path}: add it to src/vscode/sharedModules.ts`)});
module.exports = shared;`,
      loader: 'js',
    }));
  },
};

/**
 * main.ts reads only `version` from package.json; the rest of it (VS Code's contributions, a fifth
 * of dist/cli.cjs) would be parsed and built into an object at every command.
 */
const packageVersionOnly = {
  name: 'package-version-only',
  setup(context) {
    context.onLoad({ filter: /[\\/]package\.json$/ }, (args) => ({ contents: JSON.stringify({ version: JSON.parse(readFileSync(args.path, 'utf8')).version }), loader: 'json' }));
  },
};

/**
 * In dist/cli.cjs: groupModules.ts (each group's module imported from the sources, for the tests)
 * is groupBundles.ts, which loads dist/cli-GROUP.cjs through V8's code cache.
 */
const groupsFromBundles = {
  name: 'groups-from-bundles',
  setup(context) {
    context.onResolve({ filter: /^\.\/groupModules\.js$/ }, () => ({ path: resolve('src/cli/groupBundles.ts') }));
  },
};

/**
 * In the command groups: relay/embedded.ts's in-process relay (relay/node.js and the stores it
 * brings: SQLite, Redis, metrics) is what `host`, `join` and `mcp` use only when run from the
 * sources, where there is no dist/relay.mjs to start as a process (cli/pair.ts resolveRelay). A
 * group bundles its dynamic imports, so that import is answered here by a module saying what is
 * missing instead; `agent-pair relay` imports relay/node.js itself and bundles it.
 */
const noInProcessRelay = {
  name: 'no-in-process-relay',
  setup(context) {
    context.onResolve({ filter: /^\.\/node\.js$/ }, (args) =>
      args.importer === resolve(SRC, 'relay/embedded.ts') ? { path: 'in-process-relay', namespace: 'no-in-process-relay' } : undefined,
    );
    context.onLoad({ filter: /.*/, namespace: 'no-in-process-relay' }, () => ({
      contents: "export function startRelay() { throw new Error('dist/relay.mjs is missing beside the CLI: build again (npm run build) or reinstall agent-pair'); }",
      loader: 'js',
    }));
  },
};

/**
 * In the command groups: @noble/curves/ed25519.js runs at its first use, not when the group
 * loads. Its top level builds the curves (fields, constants checked with BigInt exponentiations,
 * several ms cold), and the CLI computes with node:crypto's curves (run.ts installs them), so a
 * command like `peers` never uses noble's (pinned cards are read back without the point checks,
 * core/identity.ts verifyPinnedCard). Each import of it gets a stand-in whose `ed25519` and
 * `x25519` forward every property to the real ones, require()d at the first property read:
 * esbuild bundles a require()d ES module behind a function that runs it once, then. The stand-in
 * requires a module re-exporting only those two, so the rest of ed25519.js is still left out.
 */
const NOBLE_AT_FIRST_USE = 'noble-curves-at-first-use';
const nobleCurvesAtFirstUse = {
  name: NOBLE_AT_FIRST_USE,
  setup(context) {
    context.onResolve({ filter: /^@noble\/curves\/ed25519\.js$/ }, (args) =>
      // The re-exporting module's own import is the real one.
      args.namespace === NOBLE_AT_FIRST_USE ? undefined : { path: 'stand-in', namespace: NOBLE_AT_FIRST_USE },
    );
    context.onResolve({ filter: /^noble-curves-used$/ }, () => ({ path: 'used', namespace: NOBLE_AT_FIRST_USE }));
    const contents = {
      'stand-in': `let real;
const atFirstUse = (name) => new Proxy({}, { get: (_, property) => Reflect.get((real ??= require('noble-curves-used'))[name], property) });
export const ed25519 = atFirstUse('ed25519');
export const x25519 = atFirstUse('x25519');`,
      used: "export { ed25519, x25519 } from '@noble/curves/ed25519.js';",
    };
    context.onLoad({ filter: /.*/, namespace: NOBLE_AT_FIRST_USE }, (args) => ({ contents: contents[args.path], loader: 'js', resolveDir: resolve('.') }));
  },
};

rmSync(outdir, { recursive: true, force: true });
await Promise.all([
  build({ ...shared, entryPoints: ['src/vscode/extension.ts'], outfile: `${outdir}/extension.cjs`, format: 'cjs', external: ['vscode'], plugins: [windowFromBundle] }),
  // Its imports of the MCP and HPKE bundles are require()s: it runs as a vm.Script (node/codeCache.ts),
  // which has no loader of its own for import().
  build({
    ...shared,
    entryPoints: ['src/vscode/window.ts'],
    outfile: `${outdir}/extension-window.cjs`,
    format: 'cjs',
    external: ['vscode'],
    supported: { 'dynamic-import': false },
    plugins: [apart('mcpEntry', 'mcp.cjs'), apart('hpke', 'extension-hpke.cjs')],
  }),
  // core/messages.ts imports core/hpke.ts at the first seal or open: in the window, from a bundle
  // of its own, so opening the window does not parse @hpke/* (a sixth of the window's bundle).
  build({ ...shared, entryPoints: ['src/core/hpke.ts'], outfile: `${outdir}/extension-hpke.cjs`, format: 'cjs', plugins: [coreFromExtension] }),
  build({ ...shared, entryPoints: ['src/vscode/mcpEntry.ts'], outfile: `${outdir}/mcp.cjs`, format: 'cjs', external: ['vscode'], plugins: [coreFromExtension] }),
  // The CLI: dist/cli.cjs (package.json `bin`) is main.ts alone, in one file with no imports of
  // its own (every file is a round of reads and a compile at start-up), so --version, --help and a
  // wrong command line load nothing else. CommonJS: Node starts an ES module entry through its
  // ES module loader, several ms more at every command than the same code as CommonJS.
  build({ ...shared, entryPoints: ['src/cli/main.ts'], outfile: `${outdir}/cli.cjs`, format: 'cjs', banner: { js: '#!/usr/bin/env node' }, plugins: [groupsFromBundles, packageVersionOnly] }),
  // A command that runs loads its group (src/cli/groups/, see src/cli/run.ts): one file each,
  // dist/cli-GROUP.cjs, holding all the group uses (not split: a group's dynamic imports are
  // bundled in), beside relay.mjs, which pair.ts finds from there. CommonJS, because cli.mjs
  // runs it as a vm.Script with V8's code cache (src/cli/groupBundles.ts), and a vm.Script can
  // neither be an ES module nor import(): its imports of Node's modules are require()s, and its
  // import.meta.dirname is the bundle's own directory. Strict, as the ES modules it is built from
  // are (the banner comes before esbuild's own "use strict", which is then no longer a directive).
  build({
    ...shared,
    entryPoints: Object.fromEntries(['home', 'pairing', 'messaging', 'relay', 'mcp'].map((group) => [`cli-${group}`, `src/cli/groups/${group}.ts`])),
    outdir,
    outExtension: { '.js': '.cjs' },
    format: 'cjs',
    supported: { 'dynamic-import': false },
    define: { 'import.meta.dirname': '__dirname' },
    banner: { js: "'use strict';" },
    plugins: [noInProcessRelay, nobleCurvesAtFirstUse],
  }),
  build({ ...shared, entryPoints: ['src/relay/main.ts'], outfile: `${outdir}/relay.mjs`, format: 'esm', banner: { js: `#!/usr/bin/env node\n${esmRequireShim}` } }),
]);
// The SQLite store's WebAssembly, beside the bundles that may load it (relay.mjs, cli-relay.cjs).
copyFileSync('node_modules/node-sqlite3-wasm/dist/node-sqlite3-wasm.wasm', `${outdir}/node-sqlite3-wasm.wasm`);
// dist/cli.mjs, the CLI's entry before it was CommonJS, still runs it, for MCP clients and
// scripts set up with that path.
writeFileSync(`${outdir}/cli.mjs`, "#!/usr/bin/env node\n// The CLI is dist/cli.cjs; this path runs it too.\nimport './cli.cjs';\n");
// The CLI and the relay start with #!/usr/bin/env node: runnable as they are, like npm's bin links make them.
for (const script of ['cli.cjs', 'cli.mjs', 'relay.mjs']) chmodSync(`${outdir}/${script}`, 0o755);
