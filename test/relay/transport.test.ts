// The CLI's node:http transport opening a relay connection ahead of its first request
// (relay/transport.ts connectAhead): the request takes it, a failed or closed one is dropped
// for the request's own, and one no request takes lets the process end. Real servers on port 0;
// https through a process of its own that trusts the test's certificate.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { type Server, type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createSecureContext } from 'node:tls';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectAhead, httpFetch, readCapped } from '../../src/relay/transport.js';
import { scriptArgs } from '../helpers/scripts.js';
import { until } from '../helpers/until.js';

const CONNECT_AHEAD = join(import.meta.dirname, '..', 'helpers', 'connectAhead.ts');
/** A certificate for `localhost` (100 years), made for these tests only: its key protects nothing. */
const CERTIFICATE = join(import.meta.dirname, 'fixtures', 'localhost-cert.pem');
const KEY = join(import.meta.dirname, 'fixtures', 'localhost-key.pem');

/** Answers each request with the client port of the connection it came on. */
function answerWithClientPort(request: IncomingMessage, response: ServerResponse): void {
  response.end(`port ${String(request.socket.remotePort)}`);
}

interface CountingServer {
  url: string;
  /** Every connection the server accepted, in order. */
  connections: Socket[];
  close: () => Promise<void>;
}

async function listen(server: Server, host: string, scheme: 'http' | 'https', connectionEvent = 'connection'): Promise<CountingServer> {
  const connections: Socket[] = [];
  server.on(connectionEvent, (socket: Socket) => {
    connections.push(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${scheme}://${host}:${port}/`,
    connections,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}

const get = async (url: string): Promise<string> => {
  const response = await httpFetch(url, { method: 'GET', headers: {}, redirect: 'manual', signal: AbortSignal.timeout(10_000) });
  return `${response.status} ${await readCapped(response, 1024)}`;
};

describe('a relay connection opened ahead of the first request (node:http)', () => {
  it('the first request takes the connection opened ahead: the relay sees one connection', async () => {
    const server = await listen(createServer(answerWithClientPort), '127.0.0.1', 'http');
    try {
      await connectAhead(server.url);
      const ahead = await until('the connection opened ahead', () => server.connections[0]);
      assert.equal(await get(server.url), `200 port ${String(ahead.remotePort)}`);
      assert.equal(server.connections.length, 1);
    } finally {
      await server.close();
    }
  });

  it('a connection ahead that the relay closed is dropped: the request opens its own', async () => {
    const server = await listen(createServer(answerWithClientPort), '127.0.0.1', 'http');
    try {
      await connectAhead(server.url);
      const first = await until('the connection opened ahead', () => server.connections[0]);
      first.destroy();
      // A second one opens only once the first is dropped (one ahead per relay at a time).
      const second = await until('a second connection, once the first was dropped', async () => {
        await connectAhead(server.url);
        return server.connections[1];
      });
      assert.equal(await get(server.url), `200 port ${String(second.remotePort)}`);
      assert.equal(server.connections.length, 2);
    } finally {
      await server.close();
    }
  });

  it('a connection ahead that failed is dropped, and the request reports its own failure as always', async () => {
    const closed = await listen(createServer(answerWithClientPort), '127.0.0.1', 'http');
    await closed.close();
    await connectAhead(closed.url);
    // Its refusal, once it came, was no one's to report: the test process did not crash on it.
    await new Promise((resolve) => setTimeout(resolve, 100));
    await assert.rejects(get(closed.url), (error: Error) => {
      assert.equal((error.cause as NodeJS.ErrnoException | undefined)?.code, 'ECONNREFUSED');
      return true;
    });
  });

  it('a process whose connection ahead no request took ends: it is not kept alive by it', async () => {
    // No time limits of the server's own: only the process can end the connection.
    const server = await listen(createServer({ headersTimeout: 0, requestTimeout: 0 }, answerWithClientPort), '127.0.0.1', 'http');
    try {
      const child = spawn(process.execPath, [...scriptArgs(CONNECT_AHEAD), server.url, 'none'], { stdio: ['pipe', 'inherit', 'inherit'] });
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      await until('the connection opened ahead', () => server.connections[0]);
      child.stdin.end('connected\n');
      // The bound stands for "never": a connection that kept the process alive would keep it for
      // as long as the server keeps the connection, which here is for good.
      const bound = new AbortController();
      const outcome = await Promise.race([exited, sleep(20_000, 'still running', { signal: bound.signal })]);
      bound.abort();
      if (outcome === 'still running') child.kill();
      assert.equal(outcome, 0);
      assert.equal(server.connections.length, 1);
    } finally {
      await server.close();
    }
  });

  it('over https, the first request takes the connection and its TLS session opened ahead', async () => {
    // No certificate but for the name `localhost` asked by SNI, as a relay behind a shared address serves.
    const localhost = createSecureContext({ cert: readFileSync(CERTIFICATE), key: readFileSync(KEY) });
    const sni = (name: string, answer: (error: Error | null, context?: typeof localhost) => void): void => {
      if (name === 'localhost') answer(null, localhost);
      else answer(new Error(`no certificate for ${JSON.stringify(name)}`));
    };
    const server = await listen(createHttpsServer({ SNICallback: sni }, answerWithClientPort), 'localhost', 'https', 'secureConnection');
    try {
      const child = spawn(process.execPath, [...scriptArgs(CONNECT_AHEAD), server.url, 'request'], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, NODE_EXTRA_CA_CERTS: CERTIFICATE } });
      let output = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      assert.equal(code, 0);
      assert.equal(server.connections.length, 1, 'one TLS connection, the one opened ahead');
      assert.equal(output, `200 port ${String(server.connections[0]?.remotePort)}\n`);
    } finally {
      await server.close();
    }
  });
});
