// `npm run package` (scripts/package-vsix.mjs) as a person runs it, into a temporary file: the
// .vsix holds only what the extension runs and the marketplace shows, its README is the one for
// VS Code users, with its screenshots linked where --images-url serves them (VS Code shows
// README images from https: only) or left out, and its manifest carries nothing the CLI alone
// needs. Packaged once (with --images-url; 2.5 CPU-seconds a packaging): the README without it
// is the same function of README.vscode.md (scripts/vsix-readme.mjs), checked here in process.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type AddressInfo, createServer } from 'node:net';
import { inflateRawSync } from 'node:zlib';
import { vsixReadme } from '../../scripts/vsix-readme.mjs';

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

const IMAGES_URL = 'https://example.com/agent-pair/';
const SCREENSHOT = /!\[[^\]]*\]\(([^)]+)\)/g;

function packageVsix(file: string, ...args: string[]): Map<string, Buffer> {
  const result = spawnSync(process.execPath, ['scripts/package-vsix.mjs', '--out', file, ...args], { cwd: root, encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  return readZip(file);
}

describe('the .vsix', () => {
  const dir = mkdtempSync(join(tmpdir(), 'agent-pair-vsix-test-'));
  let entries: Map<string, Buffer>;

  before(() => {
    entries = packageVsix(join(dir, 'agent-pair.vsix'), '--images-url', IMAGES_URL);
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('holds the extension bundles (the shell, the window and its HPKE), the MCP bundle, the relay, the webview media, icon, README, CHANGELOG and LICENSE, nothing else', () => {
    const files = [...entries.keys()].filter((name) => name.startsWith('extension/')).map((name) => name.slice('extension/'.length)).sort();
    assert.deepEqual(files, [
      'LICENSE.txt',
      'changelog.md',
      'dist/extension-hpke.cjs',
      'dist/extension-window.cjs',
      'dist/extension.cjs',
      'dist/mcp.cjs',
      'dist/node-sqlite3-wasm.wasm',
      'dist/relay.mjs',
      'media/conversation.css',
      'media/conversation.js',
      'media/icon.png',
      'media/peers.svg',
      'media/sasPanel.css',
      'media/sasPanel.js',
      'media/webview.css',
      'package.json',
      'readme.md',
    ]);
  });

  it('runs its relay on a SQLite file from the .vsix alone, with no node_modules anywhere near', async () => {
    const unpacked = join(dir, 'unpacked');
    mkdirSync(unpacked);
    for (const file of ['relay.mjs', 'node-sqlite3-wasm.wasm']) writeFileSync(join(unpacked, file), entries.get(`extension/dist/${file}`) ?? '');
    // A taken --port on purpose: the store opens (the WebAssembly loads) before the relay listens,
    // so exit 1 naming the port proves the SQLite store opened; a missing .wasm fails before that.
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = String((taken.address() as AddressInfo).port);
    try {
      const store = join(unpacked, 'relay.sqlite');
      const result = spawnSync(process.execPath, [join(unpacked, 'relay.mjs'), '--port', port, '--host', '127.0.0.1', '--store', `sqlite:${store}`], { cwd: unpacked, encoding: 'utf8', timeout: 30_000 });
      assert.equal(result.status, 1, result.stderr);
      assert.match(result.stderr, new RegExp(`127\\.0\\.0\\.1:${port} is already in use`));
      assert.ok(existsSync(store), 'the SQLite file was created');
    } finally {
      taken.close();
    }
  });

  it('ships every media file the manifest names and every webview script and stylesheet in media/', () => {
    const manifestText = entries.get('extension/package.json')?.toString('utf8') ?? '';
    const named = new Set([...manifestText.matchAll(/media\/[\w.-]+\.\w+/g)].map((match) => match[0]));
    // A webview page loads media/<name>.js, media/webview.css and media/<name>.css (webviewAssets.ts): all of them ship.
    for (const file of readdirSync(join(root, 'media'))) if (/\.(?:js|css)$/.test(file)) named.add(`media/${file}`);
    assert.ok(named.has('media/conversation.js') && named.has('media/sasPanel.css') && named.has('media/webview.css') && named.has('media/peers.svg'), `found ${[...named].join(', ')}`);
    for (const file of named) assert.ok(entries.has(`extension/${file}`), `${file} is named but not shipped`);
  });

  it('ships a manifest without the CLI, the scripts or the dependencies, with an icon', () => {
    const manifest = JSON.parse(entries.get('extension/package.json')?.toString('utf8') ?? '{}') as Record<string, unknown>;
    for (const field of ['bin', 'scripts', 'dependencies', 'devDependencies', 'overrides']) assert.equal(field in manifest, false, field);
    assert.equal(manifest['icon'], 'media/icon.png');
    assert.equal(manifest['main'], './dist/extension.cjs');
    assert.deepEqual(manifest['engines'], { vscode: '^1.101.0' });
    assert.equal(entries.get('extension/media/icon.png')?.subarray(1, 4).toString(), 'PNG');
  });

  it('ships the README for VS Code users: with --images-url its screenshots are https links, without it they are left out, never broken', () => {
    const source = readFileSync(join(root, 'README.vscode.md'), 'utf8');
    const screenshots = [...source.matchAll(SCREENSHOT)].map((match) => match[1] ?? '');
    assert.ok(screenshots.length >= 4);
    for (const path of screenshots) assert.ok(existsSync(join(root, path)), `${path} is missing`);

    const linked = entries.get('extension/readme.md')?.toString('utf8') ?? '';
    assert.deepEqual([...linked.matchAll(SCREENSHOT)].map((match) => match[1]), screenshots.map((path) => `${IMAGES_URL}${path}`));
    // vsce ships the README as the script wrote it, so the one without --images-url is vsixReadme's alone.
    assert.equal(linked, vsixReadme(source, IMAGES_URL));
    const plain = vsixReadme(source, undefined);
    assert.deepEqual([...plain.matchAll(SCREENSHOT)], []);
    assert.equal(plain, source.replaceAll(/\n!\[[^\]]*\]\([^)]+\)\n/g, ''));
    for (const readme of [plain, linked]) assert.doesNotMatch(readme, /npm ci|npm start|\.\.\/shared|PROTOCOL\.md|agent-pair mcp/);
  });

  it('ships minified bundles without source maps', () => {
    assert.ok(![...entries.keys()].some((name) => name.endsWith('.map')));
    for (const bundle of ['extension.cjs', 'extension-window.cjs', 'extension-hpke.cjs']) {
      const bytes = entries.get(`extension/dist/${bundle}`)?.length ?? 0;
      assert.ok(bytes > 0 && bytes <= 600 * 1024, `dist/${bundle} is ${bytes} bytes`);
    }
  });
});
