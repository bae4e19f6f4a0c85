// `npm run package`: the .vsix, packaged from a staging directory that holds only what it
// ships, so nothing of the repository leaks in: production bundles built there (not into
// dist/, which keeps the development build), the webview's media, the icon and the screenshots,
// README.vscode.md as its README (written for VS Code users; the repository's README is for
// developers), CHANGELOG.md, LICENSE, and a manifest without what only the CLI and the
// developers use (bin, scripts, dependencies). .vscodeignore is the allowlist vsce applies.
//
//   node scripts/package-vsix.mjs [--out FILE]     (default dist/agent-pair.vsix)
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const outAt = process.argv.indexOf('--out');
const out = resolve(outAt === -1 ? join(root, 'dist', 'agent-pair.vsix') : process.argv[outAt + 1] ?? '');

/** The manifest fields VS Code and the marketplace read; anything else stays in the repository. */
const SHIPPED_FIELDS = ['name', 'displayName', 'description', 'version', 'publisher', 'license', 'icon', 'engines', 'categories', 'keywords', 'main', 'activationEvents', 'contributes', 'capabilities'];

function run(command, args, cwd) {
  const result = spawnSync(command, args, { cwd, stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`package-vsix: ${[command, ...args].join(' ')} failed (${result.status ?? result.signal})`);
}

const stage = mkdtempSync(join(tmpdir(), 'agent-pair-vsix-'));
try {
  run(process.execPath, ['esbuild.mjs', '--production', '--outdir', join(stage, 'dist')], root);
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const shipped = Object.fromEntries(SHIPPED_FIELDS.filter((field) => field in manifest).map((field) => [field, manifest[field]]));
  // The extension host is VS Code's own Node: only the editor's version matters here.
  shipped.engines = { vscode: manifest.engines.vscode };
  writeFileSync(join(stage, 'package.json'), `${JSON.stringify(shipped, null, 2)}\n`);
  copyFileSync(join(root, 'README.vscode.md'), join(stage, 'README.md'));
  for (const file of ['CHANGELOG.md', 'LICENSE', '.vscodeignore']) copyFileSync(join(root, file), join(stage, file));
  mkdirSync(join(stage, 'media'));
  for (const file of ['sasPanel.js', 'sasPanel.css', 'icon.png']) copyFileSync(join(root, 'media', file), join(stage, 'media', file));
  cpSync(join(root, 'media', 'screenshots'), join(stage, 'media', 'screenshots'), { recursive: true });

  mkdirSync(dirname(out), { recursive: true });
  const vsce = join(dirname(createRequire(import.meta.url).resolve('@vscode/vsce/package.json')), 'vsce');
  // Relative links stay relative: VS Code shows an installed extension's README with its own files.
  run(process.execPath, [vsce, 'package', '--no-dependencies', '--allow-missing-repository', '--no-rewrite-relative-links', '--out', out], stage);
} finally {
  rmSync(stage, { recursive: true, force: true });
}
