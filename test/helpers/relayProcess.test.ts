// The test fixtures' free ports: below the kernel's ephemeral range, so a port a test frees and
// takes again (a killed relay's, a restarted redis-server's) is never handed meanwhile to a
// listener on port 0 or an outgoing connection of another test file.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { freePort } from './relayProcess.js';

describe('freePort', () => {
  it('gives a port below the ephemeral range that can be listened on, never 8771', async () => {
    const ephemeralFrom = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    for (let i = 0; i < 20; i++) {
      const port = await freePort();
      assert.ok(port >= 10_000 && port < ephemeralFrom && port !== 8771, `port ${port}`);
      const server = createServer();
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', resolve);
      });
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
    }
  });
});
