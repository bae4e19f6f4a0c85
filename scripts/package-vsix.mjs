// `npm run package`: the .vsix, packaged from a staging directory that holds only what it
// ships, so nothing of the repository leaks in: production bundles built there (not into
// dist/, which keeps the development build), the webview's media and the icon,
// README.vscode.md as its README (written for VS Code users; the repository's README is for
// developers), CHANGELOG.md, LICENSE, and a manifest without what only the CLI and the
// developers use (bin, scripts, dependencies). .vscodeignore is the allowlist vsce applies.
//
// The README's screenshots (media/screenshots/*.png): VS Code shows an extension's README with
// images from https: only (a relative path or a data: URL shows as a broken image), so they need
// a public home. `--images-url https://…/` names it (where this repository's files are served,
// e.g. https://raw.githubusercontent.com/OWNER/REPO/main/) and the README links them there;
// without it the README ships without them rather than with broken images (vsix-readme.mjs).
//
//   node scripts/package-vsix.mjs [--out FILE] [--images-url URL]     (default dist/agent-pair.vsix)
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { vsixReadme } from './vsix-readme.mjs';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
function option(name) {
  const at = process.argv.indexOf(name);
  if (at === -1) return undefined;
  const value = process.argv[at + 1];
  if (value === undefined || value.startsWith('--')) throw new Error(`package-vsix: ${name} needs a value`);
  return value;
}
const out = resolve(option('--out') ?? join(root, 'dist', 'agent-pair.vsix'));
const imagesUrl = option('--images-url');
if (imagesUrl !== undefined && !/^https:\/\/[^\s?#]+\/$/.test(imagesUrl)) throw new Error('package-vsix: --images-url must be an https:// URL ending in /, where media/screenshots/ is served');
/** The webviews' scripts and styles, the Peers view's icon and the extension's icon. */
const SHIPPED_MEDIA = ['webview.css', 'sasPanel.js', 'sasPanel.css', 'conversation.js', 'conversation.css', 'peers.svg', 'icon.png'];

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
  writeFileSync(join(stage, 'README.md'), vsixReadme(readFileSync(join(root, 'README.vscode.md'), 'utf8'), imagesUrl));
  if (imagesUrl === undefined) console.log('package-vsix: no --images-url, so the README ships without its screenshots (VS Code shows README images from https: only)');
  for (const file of ['CHANGELOG.md', 'LICENSE', '.vscodeignore']) copyFileSync(join(root, file), join(stage, file));
  mkdirSync(join(stage, 'media'));
  for (const file of SHIPPED_MEDIA) copyFileSync(join(root, 'media', file), join(stage, 'media', file));

  mkdirSync(dirname(out), { recursive: true });
  const vsce = join(dirname(createRequire(import.meta.url).resolve('@vscode/vsce/package.json')), 'vsce');
  // The README's links are as vsixReadme wrote them: vsce ships it as it is.
  run(process.execPath, [vsce, 'package', '--no-dependencies', '--allow-missing-repository', '--no-rewrite-relative-links', '--out', out], stage);
} finally {
  rmSync(stage, { recursive: true, force: true });
}
