// Two people's terminals converse: two processes of the built CLI pair through a real relay,
// then `send` and `inbox --json` carry text, data, replies, receipts and the error cases.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { type RunningRelay, startRelay } from '../../src/relay/node.js';

const CLI = resolve(import.meta.dirname, '../../dist/cli.mjs');

interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
  lines: Record<string, unknown>[];
}

async function cli(args: string[], onLine?: (line: Record<string, unknown>, stdin: NodeJS.WritableStream) => void): Promise<Finished> {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, AGENT_PAIR_HOME: '' } });
  let stdout = '';
  let stderr = '';
  const lines: Record<string, unknown>[] = [];
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  createInterface({ input: child.stdout }).on('line', (line) => {
    stdout += `${line}\n`;
    try {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      lines.push(parsed);
      onLine?.(parsed, child.stdin);
    } catch {
      // human output
    }
  });
  if (!onLine) child.stdin.end();
  const code = await new Promise<number | null>((done) => child.on('exit', done));
  return { code, stdout, stderr, lines };
}

let relay: RunningRelay;
let homes: string;
let aliceHome: string;
let bobHome: string;
let aliceFingerprint: string;
let bobFingerprint: string;

before(async () => {
  assert.ok(existsSync(CLI), 'dist/cli.mjs is missing: run `npm run build` first (npm test does)');
  relay = await startRelay({ host: '127.0.0.1', port: 0 });
  homes = await mkdtemp(join(tmpdir(), 'agent-pair-msg-'));
  aliceHome = join(homes, 'alice');
  bobHome = join(homes, 'bob');
  let code = '';
  let hostSas = '';
  let codeSeen!: () => void;
  const codeReady = new Promise<void>((done) => (codeSeen = done));
  const host = cli(['host', '--json', '--relay', relay.url, '--home', aliceHome, '--handle', 'alice'], (line, stdin) => {
    if (line['event'] === 'code') {
      code = String(line['code']);
      codeSeen();
    }
    if (line['event'] === 'sas') {
      hostSas = String(line['sas']);
      stdin.write(`${hostSas}\n`);
    }
  });
  await codeReady;
  const guest = cli(['join', code, '--json', '--relay', relay.url, '--home', bobHome, '--handle', 'bob'], (line, stdin) => {
    if (line['event'] === 'sas') stdin.write(`${String(line['sas'])}\n`);
  });
  const [hostDone, guestDone] = await Promise.all([host, guest]);
  assert.equal(hostDone.code, 0, hostDone.stderr);
  assert.equal(guestDone.code, 0, guestDone.stderr);
  bobFingerprint = String(hostDone.lines.find((line) => line['event'] === 'paired')?.['peer_fingerprint']);
  aliceFingerprint = String(guestDone.lines.find((line) => line['event'] === 'paired')?.['peer_fingerprint']);
});
after(async () => {
  await relay.close();
  await rm(homes, { recursive: true, force: true });
});

describe('agent-pair send / inbox', () => {
  it('two CLIs converse: text, a data reply, receipts, and nothing printed twice', async () => {
    const sent = await cli(['send', 'bob', 'the tests pass — on my side', '--json', '--home', aliceHome]);
    assert.equal(sent.code, 0, sent.stderr);
    const sentEvent = sent.lines[0]!;
    assert.equal(sentEvent['event'], 'sent');
    assert.match(String(sentEvent['id']), /^[0-9a-f]{32}$/);
    assert.deepEqual(sentEvent['peer'], { fingerprint: bobFingerprint, handle: 'bob' });

    const read = await cli(['inbox', '--json', '--home', bobHome]);
    assert.equal(read.code, 0, read.stderr);
    const messages = read.lines.filter((line) => line['event'] === 'message');
    assert.equal(messages.length, 1);
    const message = messages[0]!;
    assert.deepEqual(Object.keys(message).sort(), ['body', 'event', 'from', 'id', 'n', 'sent_at']);
    assert.equal(message['id'], sentEvent['id']);
    assert.deepEqual(message['from'], { fingerprint: aliceFingerprint, handle: 'alice' });
    assert.equal(message['n'], 1);
    assert.match(String(message['sent_at']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.deepEqual(message['body'], { type: 'text', text: 'the tests pass — on my side' });
    // Printed means handled: the next read prints nothing.
    assert.deepEqual((await cli(['inbox', '--json', '--home', bobHome])).lines, []);

    const reply = await cli(['send', aliceFingerprint, '--data', '{"ok":true,"count":3}', '--reply-to', String(sentEvent['id']), '--json', '--home', bobHome]);
    assert.equal(reply.code, 0, reply.stderr);
    const aliceRead = await cli(['inbox', '--json', '--wait', '5', '--home', aliceHome]);
    const receipt = aliceRead.lines.find((line) => line['event'] === 'receipt');
    assert.deepEqual(receipt, { event: 'receipt', peer: bobFingerprint, peer_handle: 'bob', ids: [sentEvent['id']] });
    const data = aliceRead.lines.find((line) => line['event'] === 'message');
    assert.deepEqual(data?.['body'], { type: 'data', data: { ok: true, count: 3 }, reply_to: sentEvent['id'] });
  });

  it('inbox --wait returns as soon as a message arrives', async () => {
    await cli(['inbox', '--home', bobHome]);
    const waiting = cli(['inbox', '--json', '--wait', '20', '--home', bobHome]);
    await new Promise((done) => setTimeout(done, 300));
    assert.equal((await cli(['send', 'bob', 'ping', '--home', aliceHome])).code, 0);
    const read = await waiting;
    assert.deepEqual(read.lines.find((line) => line['event'] === 'message')?.['body'], { type: 'text', text: 'ping' });
  });

  it('inbox --follow prints messages as they come until interrupted', async () => {
    const child = spawn(process.execPath, [CLI, 'inbox', '--follow', '--json', '--home', bobHome]);
    const got = new Promise<Record<string, unknown>>((done) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        const parsed = JSON.parse(line) as Record<string, unknown>;
        if (parsed['event'] === 'message') done(parsed);
      });
    });
    assert.equal((await cli(['send', 'bob', 'streamed', '--home', aliceHome])).code, 0);
    assert.deepEqual((await got)['body'], { type: 'text', text: 'streamed' });
    child.kill('SIGINT');
    assert.equal(await new Promise((done) => child.on('exit', done)), 0);
  });

  it('human output is prose', async () => {
    assert.match((await cli(['send', 'bob', 'hi there', '--home', aliceHome])).stdout, /^Sent to bob \([0-9a-f]{16}\); message id [0-9a-f]{32}\./);
    const read = await cli(['inbox', '--home', bobHome]);
    assert.match(read.stdout, /alice \([0-9a-f]{16}\):\n {2}hi there/);
    assert.match((await cli(['inbox', '--home', bobHome])).stdout, /No new messages\./);
  });

  it('errors are one line with a code and a meaningful exit', async () => {
    const unknown = await cli(['send', 'carol', 'hi', '--json', '--home', aliceHome]);
    assert.equal(unknown.code, 1);
    assert.equal(unknown.lines[0]?.['code'], 'not_found');
    assert.equal(unknown.stderr.trim().split('\n').length, 1);
    const badData = await cli(['send', 'bob', '--data', '{nope', '--home', aliceHome]);
    assert.equal(badData.code, 1);
    assert.match(badData.stderr, /--data is not JSON/);
    const badReply = await cli(['send', 'bob', 'x', '--reply-to', 'abc', '--home', aliceHome]);
    assert.equal(badReply.code, 1);
    assert.match(badReply.stderr, /reply_to/);
    const usage = await cli(['send', 'bob', '--home', aliceHome]);
    assert.equal(usage.code, 2);
    const badWait = await cli(['inbox', '--wait', 'soon', '--home', aliceHome]);
    assert.equal(badWait.code, 2);
    assert.match(badWait.stderr, /--wait soon is not a number of seconds/);
  });

  it('forget revokes: the forgotten peer is refused by the relay', async () => {
    const forgot = await cli(['forget', aliceFingerprint, '--json', '--home', bobHome]);
    assert.deepEqual(forgot.lines[0], { event: 'forgotten', fingerprint: aliceFingerprint, revoked: true });
    const refused = await cli(['send', 'bob', 'anyone?', '--json', '--home', aliceHome]);
    assert.equal(refused.code, 1);
    assert.equal(refused.lines[0]?.['code'], 'revoked');
  });
});
