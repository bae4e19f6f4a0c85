import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { isPairError } from '../../src/core/errors.js';
import { createRelayConnector } from '../../src/relay/client.js';
import { relayAnswers } from '../../src/relay/embedded.js';
import { RelayChoice, startingLocalRelay } from '../../src/vscode/embeddedRelay.js';

/** A loopback port nothing listens on right now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => {
    server.close(() => {
      resolve();
    });
  });
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

function choice(port: number, configured = ''): { relays: RelayChoice; lines: string[] } {
  const lines: string[] = [];
  return { relays: new RelayChoice({ configuredUrl: () => configured, port, log: (line) => lines.push(line) }), lines };
}

describe('RelayChoice (the shared local relay)', () => {
  it('starts the local relay when nothing answers, and another window uses it', async () => {
    const port = await freePort();
    const first = choice(port);
    const second = choice(port);
    try {
      assert.equal(await first.relays.localStatus(), undefined);
      assert.deepEqual(await first.relays.ensureLocal(), { url: `http://127.0.0.1:${port}`, runsHere: true });
      assert.deepEqual(await second.relays.ensureLocal(), { url: `http://127.0.0.1:${port}`, runsHere: false });
      assert.deepEqual(await second.relays.localStatus(), { url: `http://127.0.0.1:${port}`, runsHere: false });
      assert.equal(await second.relays.stopLocal(), false, 'a window that does not run it cannot stop it');
      assert.ok(await relayAnswers(`http://127.0.0.1:${port}`));
    } finally {
      await first.relays.dispose();
    }
    assert.ok(!(await relayAnswers(`http://127.0.0.1:${port}`)));
  });

  it('lets two windows racing for the port end up on one relay', async () => {
    const port = await freePort();
    const windows = [choice(port), choice(port), choice(port)];
    try {
      const statuses = await Promise.all(windows.map((window) => window.relays.ensureLocal()));
      assert.equal(statuses.filter((status) => status.runsHere).length, 1);
      assert.ok(statuses.every((status) => status.url === `http://127.0.0.1:${port}`));
    } finally {
      await Promise.all(windows.map((window) => window.relays.dispose()));
    }
  });

  it('starts a new relay in another window once the one running it closes', async () => {
    const port = await freePort();
    const first = choice(port);
    const second = choice(port);
    try {
      await first.relays.ensureLocal();
      assert.equal((await second.relays.ensureLocal()).runsHere, false);
      assert.equal(await first.relays.stopLocal(), true);
      assert.equal((await second.relays.ensureLocal()).runsHere, true);
      assert.ok(await relayAnswers(`http://127.0.0.1:${port}`));
    } finally {
      await Promise.all([first.relays.dispose(), second.relays.dispose()]);
    }
  });

  it('fails clearly when something else holds the port', async () => {
    const squatter = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const address = squatter.address();
    assert.ok(address !== null && typeof address !== 'string');
    const { relays } = choice(address.port);
    try {
      await assert.rejects(relays.ensureLocal(), (error: unknown) => isPairError(error, 'relay_unreachable') && error.message.includes(String(address.port)));
    } finally {
      await new Promise<void>((resolve) => {
        squatter.close(() => {
          resolve();
        });
      });
    }
  });

  it('uses the configured relay, normalised, and the local one when the setting is empty', () => {
    assert.equal(choice(8771, '  https://Relay.Example.com/base/ ').relays.forNewPairing(), 'https://relay.example.com/base');
    assert.equal(choice(8771, '').relays.forNewPairing(), 'http://127.0.0.1:8771');
    assert.equal(choice(8771, '').relays.configured(), undefined);
  });

  it('names the setting when it holds no usable URL', () => {
    for (const bad of ['relay.example.com', 'ftp://relay', 'https://user:pw@relay.example.com']) {
      assert.throws(() => choice(8771, bad).relays.forNewPairing(), (error: unknown) => isPairError(error, 'bad_input') && error.message.startsWith('The setting agentPair.relayUrl'), bad);
    }
  });

  it('recognises the local relay in any spelling', () => {
    const { relays } = choice(8771);
    assert.ok(relays.isLocal('http://127.0.0.1:8771/'));
    assert.ok(!relays.isLocal('http://127.0.0.1:8772'));
    assert.ok(!relays.isLocal('http://localhost:8771'));
  });
});

describe('startingLocalRelay', () => {
  it('starts the local relay before opening a pairing on it, so an agent need not', async () => {
    const port = await freePort();
    const { relays } = choice(port);
    try {
      const connector = startingLocalRelay(createRelayConnector({ retries: 0 }), relays);
      const opened = await connector(`http://127.0.0.1:${port}`).openHost();
      assert.match(opened.nameplate, /^[1-9][0-9]*$/);
      assert.equal((await relays.localStatus())?.runsHere, true);
    } finally {
      await relays.dispose();
    }
  });

  it('leaves other relays alone', async () => {
    const port = await freePort();
    const { relays } = choice(port);
    const connector = startingLocalRelay(createRelayConnector({ retries: 0 }), relays);
    const other = await freePort();
    await assert.rejects(connector(`http://127.0.0.1:${other}`).openHost(), (error: unknown) => isPairError(error, 'relay_unreachable'));
    assert.equal(await relays.localStatus(), undefined);
  });
});
