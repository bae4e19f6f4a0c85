// Test fixtures for messaging: two real sides paired to the end through a real relay, and a
// real HTTP proxy in front of a real relay that turns hostile to messages on demand.

import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { Side } from './sides.js';
import { bothWaitForSas, makeSide, openPair } from './sides.js';

/** Two fresh sides, alice and bob, paired to the end through the relay at `relayUrl`. */
export async function pairedSides(relayUrl: string): Promise<{ alice: Side; bob: Side }> {
  const alice = await makeSide(relayUrl, 'alice');
  const bob = await makeSide(relayUrl, 'bob');
  await pairSides(alice, bob, relayUrl);
  return { alice, bob };
}

/** Runs a whole pairing between two sides (SAS typed correctly on both) and resolves once both are finalized. */
export async function pairSides(host: Pick<Side, 'store'>, guest: Pick<Side, 'store'>, relayUrl: string): Promise<void> {
  const ids = await openPair(host, guest, relayUrl);
  await bothWaitForSas(host, guest, ids);
  const sas = host.store.sasForPerson(ids.hostId);
  await host.store.confirmSas(ids.hostId, sas);
  await guest.store.confirmSas(ids.guestId, sas);
  const [hostDone, guestDone] = await Promise.all([host.store.finalize(ids.hostId, 10_000), guest.store.finalize(ids.guestId, 10_000)]);
  if (hostDone.state !== 'finalized' || guestDone.state !== 'finalized') throw new Error(`pairing ended ${hostDone.state}/${guestDone.state}: ${hostDone.abortReason ?? guestDone.abortReason ?? ''}`);
}

/**
 * What the proxy does to the next message traffic:
 * - `replay`: a read answer gets its first message again under a new seq
 * - `flip`: a read answer's first envelope has one ciphertext bit flipped
 * - `foreignGrant`: a read answer reports a grant_id nobody was given
 * - `swallow`: the next message POST is answered 201 and never reaches the relay
 * - `unavailable`: the next message POST is answered 503 and never reaches the relay
 * - `cutAfterStore`: the next message POST reaches the relay, but the connection is cut before the answer
 * Each mode acts once, then the proxy passes traffic through again.
 */
export type HostileMode = 'replay' | 'flip' | 'foreignGrant' | 'swallow' | 'unavailable' | 'cutAfterStore';

/** A status the handler returns to have the connection cut instead of answered. */
const CUT = -1;

export class HostileProxy {
  mode: HostileMode | undefined;
  /** The body of every message POST that reached the relay through this proxy. */
  readonly posts: string[] = [];
  /** Inbox slots the proxy answers 404 for, as a relay that forgot them would (idle expiry, restart). */
  readonly forgotten = new Set<string>();
  private server: Server | undefined;
  url = '';

  constructor(private target: string) {}

  retarget(target: string): void {
    this.target = target;
  }

  async start(port = 0): Promise<void> {
    const server = createServer((req, res) => {
      void this.handle(req).then(
        ({ status, headers, body }) => {
          if (status === CUT) {
            res.socket?.destroy();
            return;
          }
          res.writeHead(status, headers);
          res.end(body);
        },
        () => {
          res.writeHead(502);
          res.end();
        },
      );
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no address');
    this.server = server;
    this.url = `http://127.0.0.1:${address.port}`;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    const server = this.server;
    if (server) {
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
    }
  }

  private async handle(req: IncomingMessage): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const isMessages = /^\/v1\/slot\/[0-9a-f]{32}\/messages/.test(req.url ?? '');
    const slot = /^\/v1\/slot\/([0-9a-f]{32})/.exec(req.url ?? '')?.[1];
    if (slot !== undefined && this.forgotten.has(slot)) {
      return { status: 404, headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify({ error: { code: 'not_found', message: 'No such inbox.' } })) };
    }
    if (isMessages && req.method === 'POST' && this.mode === 'swallow') {
      this.mode = undefined;
      return { status: 201, headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify({ seq: 1 })) };
    }
    if (isMessages && req.method === 'POST' && this.mode === 'unavailable') {
      this.mode = undefined;
      return { status: 503, headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify({ error: { code: 'capacity', message: 'Busy.' } })) };
    }
    if (isMessages && req.method === 'POST' && this.mode === 'cutAfterStore') {
      this.mode = undefined;
      this.posts.push(body.toString('utf8'));
      await this.forward(req, body);
      return { status: CUT, headers: {}, body: Buffer.alloc(0) };
    }
    if (isMessages && req.method === 'POST') this.posts.push(body.toString('utf8'));
    const answer = await this.forward(req, body);
    if (!isMessages || req.method !== 'GET' || answer.status !== 200 || this.mode === undefined || this.mode === 'swallow') return answer;
    const page = JSON.parse(answer.body.toString('utf8')) as { messages: { seq: number; value: string; grant_id: string; received_at: string }[]; last_seq: number };
    const first = page.messages[0];
    if (first === undefined) return answer;
    if (this.mode === 'replay') {
      page.last_seq += 1;
      page.messages.push({ ...first, seq: page.last_seq });
    } else if (this.mode === 'flip') {
      const envelope = JSON.parse(Buffer.from(first.value, 'base64').toString('utf8')) as { ct: string };
      const ct = Buffer.from(envelope.ct, 'base64');
      ct[0] = (ct[0] ?? 0) ^ 1;
      envelope.ct = ct.toString('base64');
      first.value = Buffer.from(JSON.stringify(envelope)).toString('base64');
    } else {
      first.grant_id = randomBytes(16).toString('hex');
    }
    this.mode = undefined;
    return { ...answer, body: Buffer.from(JSON.stringify(page)) };
  }

  private forward(req: IncomingMessage, body: Buffer): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> {
    return new Promise((resolve, reject) => {
      const target = new URL(req.url ?? '/', this.target);
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string' && name !== 'host' && name !== 'connection') headers[name] = value;
      const outgoing = httpRequest(target, { method: req.method ?? 'GET', headers }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const answerHeaders: Record<string, string> = {};
          for (const name of ['content-type', 'retry-after']) {
            const value = response.headers[name];
            if (typeof value === 'string') answerHeaders[name] = value;
          }
          resolve({ status: response.statusCode ?? 502, headers: answerHeaders, body: Buffer.concat(chunks) });
        });
      });
      outgoing.on('error', reject);
      outgoing.end(body);
    });
  }
}
