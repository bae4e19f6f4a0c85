// Bundles every shipped entry point. The extension is CommonJS with `vscode` external (the
// extension host provides it); the CLI, the MCP stdio server and the standalone relay are ESM
// for Node. Everything else, @noble/* and the MCP SDK included, is bundled, so the .vsix and
// the CLI need no node_modules at run time.
import { build } from 'esbuild';

const production = process.argv.includes('--production');
const shared = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  sourcemap: production ? false : 'linked',
  minify: production,
  legalComments: 'none',
  logLevel: 'warning',
};

// ESM bundles of CommonJS dependencies need a real `require` for Node built-ins.
const esmRequireShim = "import { createRequire as __agentPairCreateRequire } from 'node:module'; const require = __agentPairCreateRequire(import.meta.url);";

await Promise.all([
  build({ ...shared, entryPoints: ['src/vscode/extension.ts'], outfile: 'dist/extension.cjs', format: 'cjs', external: ['vscode'] }),
  build({ ...shared, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.mjs', format: 'esm', banner: { js: `#!/usr/bin/env node\n${esmRequireShim}` } }),
  build({ ...shared, entryPoints: ['src/relay/main.ts'], outfile: 'dist/relay.mjs', format: 'esm', banner: { js: `#!/usr/bin/env node\n${esmRequireShim}` } }),
]);
