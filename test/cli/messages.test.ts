// Two people's terminals converse: two homes paired through a real relay (in this process, with
// the code `host` and `join` run: pairing through CLI processes is test/cli/cli.test.ts's and the
// restart test's below), then the built CLI's `send` and `inbox --json` text, data, replies,
// receipts and the error cases. Each command runs in a worker thread (test/helpers/cli.ts), the
// same bundle with its own argv, environment, stdout, stderr and exit status, one at a time per
// home; what reads stdin, follows until a signal, or hosts runs as a process of its own, and
// one test checks that a thread prints and exits exactly as the process does.

import '../helpers/nativeCurves.js';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { type RunningRelay, startRelay } from '../../src/relay/node.js';
import { CLI, cli, cliProcess, pairCliHomes, pairHomes } from '../helpers/cli.js';
import { helpOf, usageErrorOf } from '../helpers/commandLine.js';
import { until } from '../helpers/until.js';
import { MAX_TEXT_BYTES } from '../../src/core/vocabulary.js';

let relay: RunningRelay;
let homes: string;
let aliceHome: string;
let bobHome: string;
let aliceFingerprint: string;
let bobFingerprint: string;
let emptyFile: string;

before(async () => {
  assert.ok(existsSync(CLI), 'dist/cli.cjs is missing: run `npm run build` first (npm test does)');
  relay = await startRelay({ host: '127.0.0.1', port: 0 });
  homes = await mkdtemp(join(tmpdir(), 'agent-pair-msg-'));
  aliceHome = join(homes, 'alice');
  bobHome = join(homes, 'bob');
  ({ aliceFingerprint, bobFingerprint } = await pairHomes(relay.url, aliceHome, bobHome));
  emptyFile = join(homes, 'empty.md');
  await writeFile(emptyFile, '\n  \n');
});
after(async () => {
  await relay.close();
  await rm(homes, { recursive: true, force: true });
});

describe('agent-pair send / inbox', () => {
  it('a command in a thread prints and exits as its process does: 0, 1 and 2, stdout and stderr, human and JSON', async () => {
    const lines = [
      ['peers', '--json', '--home', aliceHome],
      ['sent', '--home', aliceHome],
      ['sent', 'carol', '--json', '--home', aliceHome],
      ['send', 'bob', '--home', aliceHome],
      ['rule', 'bob', 'always', '--home', aliceHome],
    ];
    const codes: (number | null)[] = [];
    for (const args of lines) {
      const [inThread, inProcess] = [await cli(args), await cliProcess(args)];
      assert.deepEqual(inThread, inProcess, args.join(' '));
      codes.push(inThread.code);
    }
    assert.deepEqual(codes, [0, 0, 1, 2, 2]);
  });

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
    assert.deepEqual(Object.keys(message).sort(), ['body', 'event', 'from', 'id', 'n', 'sent_at', 'v']);
    assert.equal(message['v'], 2, 'two homes paired with section 7 talk v2');
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
    assert.deepEqual(receipt, { event: 'receipt', peer: { fingerprint: bobFingerprint, handle: 'bob' }, ids: [sentEvent['id']] });
    const data = aliceRead.lines.find((line) => line['event'] === 'message');
    assert.deepEqual(data?.['body'], { type: 'data', data: { ok: true, count: 3 }, reply_to: sentEvent['id'] });
  });

  it('inbox --wait returns as soon as a message arrives', async () => {
    await cli(['inbox', '--home', bobHome]);
    const waiting = cli(['inbox', '--json', '--wait', '20', '--home', bobHome]);
    // The send goes out once the reader waits at the relay, not after a guess at how long its start takes.
    await until('the inbox --wait process waiting at the relay', () => relay.stats().longPolls >= 1);
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

  it('human output is prose, with the message id --reply-to takes', async () => {
    const sent = await cli(['send', 'bob', 'hi there', '--home', aliceHome]);
    assert.match(sent.stdout, /^Sent to bob \([0-9a-f]{16}\); message id [0-9a-f]{32}\./);
    const id = /message id ([0-9a-f]{32})/.exec(sent.stdout)?.[1] ?? '';
    const read = await cli(['inbox', '--home', bobHome]);
    assert.match(read.stdout, new RegExp(`alice \\([0-9a-f]{16}\\), message ${id}:\n {2}hi there`));
    const reply = await cli(['send', 'alice', 'got it', '--reply-to', id, '--home', bobHome]);
    assert.equal(reply.code, 0, reply.stderr);
    assert.match((await cli(['inbox', '--home', aliceHome])).stdout, new RegExp(`bob \\([0-9a-f]{16}\\), message [0-9a-f]{32}, replying to ${id}:\n {2}got it`));
    assert.match((await cli(['inbox', '--home', bobHome])).stdout, /No new messages\./);
  });

  it('errors are one line with a code and a meaningful exit', async () => {
    const unknown = await cli(['send', 'carol', 'hi', '--json', '--home', aliceHome]);
    assert.equal(unknown.code, 1);
    assert.equal(unknown.lines[0]?.['code'], 'not_found');
    assert.equal(unknown.stderr.trim().split('\n').length, 1);
    // It names the home it looked in, and how to list that home's peers.
    assert.ok(unknown.stderr.includes(`(in ${aliceHome};`) && unknown.stderr.includes(`peers --home ${aliceHome}`), unknown.stderr);
    // So does every other command that takes a peer.
    for (const args of [['sent', 'carol'], ['rule', 'carol'], ['forget', 'carol'], ['accept-move', 'carol'], ['refuse-move', 'carol']]) {
      const notHere = await cli([...args, '--home', aliceHome]);
      assert.equal(notHere.code, 1, `${args.join(' ')}: ${notHere.stderr}`);
      assert.ok(notHere.stderr.includes(`No pinned peer is called "carol"`) && notHere.stderr.includes(`(in ${aliceHome};`), `${args.join(' ')}: ${notHere.stderr}`);
    }
    // --handle names a new identity only: on alice's home it is refused before any pairing, saying how.
    const otherHandle = await cliProcess(['host', '--handle', 'carol', '--relay', relay.url, '--json', '--home', aliceHome]);
    assert.equal(otherHandle.code, 1);
    assert.equal(otherHandle.lines.at(-1)?.['code'], 'identity_conflict');
    assert.ok(otherHandle.stderr.includes('Drop --handle to pair as alice') && !otherHandle.lines.some((line) => line['event'] === 'code'), otherHandle.stderr);
    // Empty and whitespace-only texts are refused before anything is sent, from any source.
    for (const [args, input] of [[['   '], undefined], [['-'], ' \n\t'], [['--file', emptyFile], undefined]] as const) {
      const empty = await cliProcess(['send', 'bob', ...args, '--json', '--home', aliceHome], undefined, input);
      assert.equal(empty.code, 1, `${args.join(' ')}: ${empty.stderr}`);
      assert.equal(empty.lines[0]?.['code'], 'bad_input');
    }
    // Malformed arguments are the command line's to refuse (exit 2, before any command runs:
    // test/cli/arguments.test.ts has main print such a refusal).
    assert.match(usageErrorOf('send', 'bob', '--data', '{nope', '--home', aliceHome).message, /--data is not JSON/);
    assert.match(usageErrorOf('send', 'bob', 'x', '--reply-to', 'abc', '--home', aliceHome).message, /--reply-to "abc" is not a message id/);
    assert.match(usageErrorOf('inbox', '--wait', 'soon', '--home', aliceHome).message, /--wait "soon" is not a number of seconds/);
    // What the table cannot say is send's own to refuse, alike: exit 2.
    const usage = await cli(['send', 'bob', '--home', aliceHome]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /send takes one of TEXT, - \(stdin\), --file PATH or --data JSON/);
  });

  it('sends long text from a file or stdin, up to MAX_TEXT_BYTES and not past it', async () => {
    const atLimit = 'é'.repeat(MAX_TEXT_BYTES / 2);
    const file = join(homes, 'notes.md');
    await writeFile(file, atLimit);
    const fromFile = await cli(['send', 'bob', '--file', file, '--json', '--home', aliceHome]);
    assert.equal(fromFile.code, 0, fromFile.stderr);
    const fromStdin = await cliProcess(['send', 'bob', '-', '--json', '--home', aliceHome], undefined, 'from stdin\nsecond line\n');
    assert.equal(fromStdin.code, 0, fromStdin.stderr);
    const read = await cli(['inbox', '--json', '--wait', '5', '--home', bobHome]);
    assert.deepEqual(read.lines.filter((line) => line['event'] === 'message').map((line) => line['body']), [
      { type: 'text', text: atLimit },
      { type: 'text', text: 'from stdin\nsecond line\n' },
    ]);
    await writeFile(file, `${atLimit}x`);
    const over = await cli(['send', 'bob', '--file', file, '--json', '--home', aliceHome]);
    assert.equal(over.lines[0]?.['code'], 'too_large');
    const overStdin = await cliProcess(['send', 'bob', '-', '--json', '--home', aliceHome], undefined, `${atLimit}x`);
    assert.equal(overStdin.lines[0]?.['code'], 'too_large');
    const missing = await cli(['send', 'bob', '--file', join(homes, 'nope.md'), '--json', '--home', aliceHome]);
    assert.equal(missing.lines[0]?.['code'], 'bad_input');
    assert.match(helpOf('send', '--help').text, /at most 64 KiB of UTF-8/);
  });

  it('forget revokes: the forgotten peer is refused by the relay; it takes a handle as send does', async () => {
    const forgot = await cli(['forget', 'alice', '--json', '--home', bobHome]);
    assert.deepEqual(forgot.lines[0], { event: 'forgotten', peer: { fingerprint: aliceFingerprint, handle: 'alice' }, revoked: true });
    const refused = await cli(['send', 'bob', 'anyone?', '--json', '--home', aliceHome]);
    assert.equal(refused.code, 1);
    assert.equal(refused.lines[0]?.['code'], 'revoked');
  });

  it('pairing again through a relay that restarted in between works, and messages flow again', async () => {
    const first = await startRelay({ host: '127.0.0.1', port: 0 });
    const port = first.port;
    const carolHome = join(homes, 'carol');
    const daveHome = join(homes, 'dave');
    // The first pairing in this process (the code host and join run); the one after the restart through both CLIs.
    await pairHomes(first.url, carolHome, daveHome);
    await first.close();
    const second = await startRelay({ host: '127.0.0.1', port });
    try {
      const moved = await cli(['inbox', '--json', '--home', daveHome]);
      assert.equal(moved.code, 0, moved.stderr);
      assert.equal(moved.lines.find((line) => line['event'] === 'inbox_moved')?.['relay_url'], second.url);
      // Both inboxes went with the restart, so the peers cannot tell each other: they pair again, and that works.
      await pairCliHomes(second.url, carolHome, daveHome);
      assert.equal((await cli(['send', 'bob', 'after the restart', '--home', carolHome])).code, 0);
      const read = await cli(['inbox', '--json', '--home', daveHome]);
      assert.deepEqual(read.lines.find((line) => line['event'] === 'message')?.['body'], { type: 'text', text: 'after the restart' });
    } finally {
      await second.close();
    }
  });
});
