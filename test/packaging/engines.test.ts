// `npm ci` must install cleanly on the oldest Node the project says it runs on: every package in
// the lockfile (the packaging tool's dependencies included) accepts package.json's engines.node,
// and the README names the same Node.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import semver from 'semver';

const root = new URL('../../', import.meta.url);
const manifest = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { engines: { node: string } };
const lock = JSON.parse(readFileSync(new URL('package-lock.json', root), 'utf8')) as {
  packages: Record<string, { engines?: { node?: string } | string[]; optional?: boolean }>;
};

describe('engines', () => {
  const oldest = semver.minVersion(manifest.engines.node);

  it('names a lowest Node version', () => {
    assert.ok(oldest, manifest.engines.node);
  });

  it('every locked package accepts the oldest Node the project supports (no EBADENGINE on npm ci)', () => {
    const refusing = Object.entries(lock.packages).flatMap(([path, entry]) => {
      const range = entry.engines && !Array.isArray(entry.engines) ? entry.engines.node : undefined;
      if (range === undefined || oldest === null) return [];
      return semver.satisfies(oldest, range, { includePrerelease: true }) ? [] : [`${path} wants node ${range}`];
    });
    assert.deepEqual(refusing, []);
  });

  it('.nvmrc installs a Node the project supports', () => {
    const wanted = readFileSync(new URL('.nvmrc', root), 'utf8').trim();
    assert.match(wanted, /^\d+$/);
    assert.ok(oldest && Number(wanted) === oldest.major, `.nvmrc says ${wanted}, engines.node ${manifest.engines.node}`);
  });

  it('the README asks for the same Node and this one satisfies it', () => {
    const readme = readFileSync(new URL('README.md', root), 'utf8');
    assert.ok(readme.includes(`Node.js ${oldest?.major ?? '?'}.${oldest?.minor ?? '?'}`), 'README names the Node version from engines.node');
    assert.ok(semver.satisfies(process.version, manifest.engines.node), `${process.version} is outside ${manifest.engines.node}`);
  });
});
