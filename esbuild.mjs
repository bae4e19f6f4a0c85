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
import { chmodSync, copyFileSync, rmSync } from 'node:fs';
import { basename, relative, resolve } from 'node:path';
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
 * In dist/cli.mjs: main.ts's one dynamic import, of run.ts, is the command side's entry chunk
 * (its file name, hash included, from that build's metafile), not bundled.
 */
function commandSideApart(runChunk) {
  return {
    name: 'command-side-apart',
    setup(context) {
      context.onResolve({ filter: /^\.\/run\.js$/ }, () => ({ path: `./${runChunk}`, external: true }));
    },
  };
}

rmSync(outdir, { recursive: true, force: true });
// The CLI in two builds. The command side first: run.ts and everything the commands use, split
// (each command imports its code when it runs, see src/cli/run.ts) into dist/cli-*.mjs chunks
// beside cli.mjs, as relay.mjs is: pair.ts finds it from its chunk.
const cliCommands = build({
  ...shared,
  entryPoints: { 'cli-run': 'src/cli/run.ts' },
  outdir,
  entryNames: '[name]-[hash]',
  outExtension: { '.js': '.mjs' },
  chunkNames: 'cli-[name]-[hash]',
  splitting: true,
  format: 'esm',
  metafile: true,
  banner: { js: esmRequireShim },
});
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
  // Then dist/cli.mjs: main.ts alone, in one file with no imports of its own (every ESM file is
  // a round of reads at start-up), so --version, --help and a wrong command line load nothing
  // else. It bundles no CommonJS, so it needs no require shim.
  cliCommands.then(({ metafile }) => {
    const runChunk = Object.keys(metafile.outputs).find((path) => /\/cli-run-[A-Z0-9]+\.mjs$/.test(path));
    if (runChunk === undefined) throw new Error('esbuild.mjs: the command side built no cli-run-*.mjs');
    return build({ ...shared, entryPoints: ['src/cli/main.ts'], outfile: `${outdir}/cli.mjs`, format: 'esm', banner: { js: '#!/usr/bin/env node' }, plugins: [commandSideApart(basename(runChunk))] });
  }),
  build({ ...shared, entryPoints: ['src/relay/main.ts'], outfile: `${outdir}/relay.mjs`, format: 'esm', banner: { js: `#!/usr/bin/env node\n${esmRequireShim}` } }),
]);
// The SQLite store's WebAssembly, beside the bundles that may load it (relay.mjs, cli.mjs).
copyFileSync('node_modules/node-sqlite3-wasm/dist/node-sqlite3-wasm.wasm', `${outdir}/node-sqlite3-wasm.wasm`);
// The CLI and the relay start with #!/usr/bin/env node: runnable as they are, like npm's bin links make them.
for (const script of ['cli.mjs', 'relay.mjs']) chmodSync(`${outdir}/${script}`, 0o755);
