// `npm run package` (scripts/package-vsix.mjs) as a person runs it, into a temporary file: the
// .vsix holds only what the extension runs and the marketplace shows, its README is the one for
// VS Code users with its screenshots, and its manifest carries nothing the CLI alone needs.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { inflateRawSync } from 'node:zlib';

const root = new URL('../../', import.meta.url).pathname;

/** The entries of a zip file, by name (stored or deflated, as vsce writes them). */
function readZip(file: string): Map<string, Buffer> {
  const zip = readFileSync(file);
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  assert.ok(end >= 0, 'a zip file');
  const count = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  const entries = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    const method = zip.readUInt16LE(at + 10);
    const size = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    const local = zip.readUInt32LE(at + 42);
    const name = zip.toString('utf8', at + 46, at + 46 + nameLength);
    const dataAt = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const data = zip.subarray(dataAt, dataAt + size);
    entries.set(name, method === 8 ? inflateRawSync(data) : Buffer.from(data));
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

describe('the .vsix', () => {
  const dir = mkdtempSync(join(tmpdir(), 'agent-pair-vsix-test-'));
  const vsix = join(dir, 'agent-pair.vsix');
  let entries: Map<string, Buffer>;

  before(() => {
    const result = spawnSync(process.execPath, ['scripts/package-vsix.mjs', '--out', vsix], { cwd: root, encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    entries = readZip(vsix);
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('holds the extension and MCP bundles, the relay, the webview media, icon, screenshots, README, CHANGELOG and LICENSE, nothing else', () => {
    const files = [...entries.keys()].filter((name) => name.startsWith('extension/')).map((name) => name.slice('extension/'.length)).sort();
    const screenshots = files.filter((name) => name.startsWith('media/screenshots/'));
    assert.ok(screenshots.length >= 4 && screenshots.every((name) => name.endsWith('.png')), screenshots.join(', '));
    assert.deepEqual(files.filter((name) => !screenshots.includes(name)), [
      'LICENSE.txt',
      'changelog.md',
      'dist/extension.cjs',
      'dist/mcp.cjs',
      'dist/relay.mjs',
      'media/icon.png',
      'media/sasPanel.css',
      'media/sasPanel.js',
      'package.json',
      'readme.md',
    ]);
  });

  it('ships a manifest without the CLI, the scripts or the dependencies, with an icon', () => {
    const manifest = JSON.parse(entries.get('extension/package.json')?.toString('utf8') ?? '{}') as Record<string, unknown>;
    for (const field of ['bin', 'scripts', 'dependencies', 'devDependencies', 'overrides']) assert.equal(field in manifest, false, field);
    assert.equal(manifest['icon'], 'media/icon.png');
    assert.equal(manifest['main'], './dist/extension.cjs');
    assert.deepEqual(manifest['engines'], { vscode: '^1.101.0' });
    assert.equal(entries.get('extension/media/icon.png')?.subarray(1, 4).toString(), 'PNG');
  });

  it('ships the README for VS Code users, whose every image is in the package', () => {
    const readme = entries.get('extension/readme.md')?.toString('utf8') ?? '';
    assert.equal(readme, readFileSync(join(root, 'README.vscode.md'), 'utf8'));
    assert.doesNotMatch(readme, /npm ci|npm start|\.\.\/shared|PROTOCOL\.md/);
    const images = [...readme.matchAll(/!\[[^\]]*\]\(([^)]+)\)/g)].map((match) => match[1] ?? '');
    assert.ok(images.length >= 4);
    for (const image of images) assert.ok(entries.has(`extension/${image}`), `${image} is not in the .vsix`);
  });

  it('ships minified bundles without source maps', () => {
    assert.ok(![...entries.keys()].some((name) => name.endsWith('.map')));
    const extension = entries.get('extension/dist/extension.cjs')?.length ?? 0;
    assert.ok(extension > 0 && extension <= 600 * 1024, `dist/extension.cjs is ${extension} bytes`);
  });
});
