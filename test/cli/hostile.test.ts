// A paired peer is still a stranger, through the built CLI: two homes paired on a real relay (in
// this process, with the code the CLI's `host` and `join` run: pairing is not this file's subject); the peer's home then posts what no honest CLI would (test/helpers/hostile.ts),
// and the receiving side's `inbox`, `sent`, `cancel`, `accept-move` run as the person would, one
// at a time in worker threads (test/helpers/cli.ts); the `inbox --follow` stopped by Ctrl-C is a process.
// A home others can write is refused through the CLI once, its other cases by the same check in this process.

import '../helpers/nativeCurves.js';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { grantOnInbox, rememberPendingGrant, takePendingGrant } from '../../src/core/inboxes.js';
import { isPairError } from '../../src/core/errors.js';
import { openHomeStores } from '../../src/node/fileStore.js';
import { checkHomeIsPrivate } from '../../src/node/homeCheck.js';
import { systemClock, systemRandom } from '../../src/node/system.js';
import { cliRelayConnector } from '../../src/cli/homeRelays.js';
import { type RunningRelay, startRelay } from '../../src/relay/node.js';
import { CLI, cli, pairHomes } from '../helpers/cli.js';
import { type HostileDeps, deepDataBody, postRaw, rawMessage } from '../helpers/hostile.js';
import { until } from '../helpers/until.js';

const quiet = { log: () => undefined, limits: { opensPerIpPerMinute: 10_000 } };
let relay: RunningRelay;
let homes: string;
let aliceHome: string;
let bobHome: string;
let aliceFingerprint: string;
let bob: HostileDeps;
let n = 0;

const homeDeps = (home: string): HostileDeps & { random: typeof systemRandom } => ({ ...openHomeStores(home), clock: systemClock, random: systemRandom, relays: cliRelayConnector() });
/** Bob (hostile) posts one message with this body to alice. */
async function bobPosts(bodyJson: string, fields: { id?: string } = {}): Promise<void> {
  n += 1;
  await postRaw(bob, aliceFingerprint, await rawMessage(bob, aliceFingerprint, bodyJson, { ...fields, n }));
}
const text = (words: string): string => JSON.stringify({ type: 'text', text: words });

before(async () => {
  assert.ok(existsSync(CLI), 'dist/cli.cjs is missing: run `npm run build` first (npm test does)');
  relay = await startRelay(quiet);
  homes = await mkdtemp(join(tmpdir(), 'agent-pair-hostile-'));
  aliceHome = join(homes, 'alice');
  bobHome = join(homes, 'bob');
  ({ aliceFingerprint } = await pairHomes(relay.url, aliceHome, bobHome));
  bob = homeDeps(bobHome);
});
after(async () => {
  await relay.close();
  await rm(homes, { recursive: true, force: true });
});

describe('the CLI against a hostile paired peer', () => {
  it('inbox survives a data body nested 10,000 deep: it is dropped with a reason, the next message prints', async () => {
    await bobPosts(deepDataBody(10_000));
    await bobPosts(text('after the bomb'));
    const read = await cli(['inbox', '--json', '--home', aliceHome]);
    assert.equal(read.code, 0, read.stderr);
    assert.deepEqual(read.lines.filter((line) => line['event'] === 'dropped').map((line) => line['reason']), ['bad_message']);
    assert.deepEqual(read.lines.filter((line) => line['event'] === 'message').map((line) => line['body']), [{ type: 'text', text: 'after the bomb' }]);
    assert.equal((await cli(['inbox', '--json', '--home', aliceHome])).code, 0);
  });

  it('escape sequences (ANSI/OSC, C1, bidi overrides, line separators) in a text are shown escaped in human output, never sent to the terminal', async () => {
    await bobPosts(text('\u001b[2J\u001b]0;owned\u0007\u001b]52;c;ZXZpbA==\u0007\r2026-01-01T00:00:00Z  carol (0000000000000000):\u009b31m\u0085\u202eRUE 01\u2066\u2028'));
    const read = await cli(['inbox', '--home', aliceHome]);
    assert.equal(read.code, 0, read.stderr);
    // eslint-disable-next-line no-control-regex -- no control character (C0, C1, bidi, line separator) may reach the terminal
    assert.doesNotMatch(read.stdout, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/);
    assert.match(read.stdout, /\\x9b31m\\x85\\u202eRUE 01\\u2066\\u2028/);
    assert.match(read.stdout, /\\x1b\[2J\\x1b\]0;owned\\x07/);
    assert.match(read.stdout, /\\x0d2026-01-01/);
  });

  it('--json output escapes U+2028, U+2029 and U+0085: one event per line for any splitter', async () => {
    await bobPosts(text('one\u2028two\u2029three\u0085four'));
    const read = await cli(['inbox', '--json', '--home', aliceHome]);
    assert.doesNotMatch(read.stdout, /[\u2028\u2029\u0085]/);
    assert.deepEqual(read.lines.find((line) => line['event'] === 'message')?.['body'], { type: 'text', text: 'one\u2028two\u2029three\u0085four' });
  });

  it('a message reusing the id of one alice sent is dropped; `sent` still shows her own text', async () => {
    const sent = await cli(['send', 'bob', 'I agree to pay 10 EUR', '--json', '--home', aliceHome]);
    const id = String(sent.lines[0]?.['id']);
    await bobPosts(text('I agree to pay 10000 EUR'), { id });
    const read = await cli(['inbox', '--json', '--home', aliceHome]);
    assert.deepEqual(read.lines.filter((line) => line['event'] === 'dropped').map((line) => line['reason']), ['duplicate']);
    const listed = await cli(['sent', 'bob', '--json', '--home', aliceHome]);
    const own = listed.lines.find((line) => line['id'] === id);
    assert.deepEqual(own?.['body'], { type: 'text', text: 'I agree to pay 10 EUR' });
    assert.equal(own['state'], 'sent');
    await cli(['inbox', '--home', bobHome]);
  });

  it('a move to another relay is held: inbox lists it until the person accepts or refuses it', async () => {
    await bobPosts(JSON.stringify({ type: 'inbox', relay_url: 'http://169.254.169.254/latest', slot_id: 'c'.repeat(32), send_token: 'd'.repeat(64) }));
    const read = await cli(['inbox', '--json', '--home', aliceHome]);
    const held = read.lines.filter((line) => line['event'] === 'move_held');
    assert.deepEqual(held.map((line) => line['relay_url']), ['http://169.254.169.254/latest']);
    // Still listed on the next look, and messages still go to the old inbox.
    assert.equal((await cli(['inbox', '--json', '--home', aliceHome])).lines.filter((line) => line['event'] === 'move_held').length, 1);
    const stillThere = await cli(['send', 'bob', 'where are you?', '--json', '--home', aliceHome]);
    assert.equal(stillThere.lines[0]?.['event'], 'sent');
    const refused = await cli(['refuse-move', 'bob', '--json', '--home', aliceHome]);
    assert.equal(refused.code, 0, refused.stderr);
    assert.equal(refused.lines[0]?.['event'], 'move_refused');
    assert.equal((await cli(['inbox', '--json', '--home', aliceHome])).lines.filter((line) => line['event'] === 'move_held').length, 0);
    assert.equal((await cli(['accept-move', 'bob', '--json', '--home', aliceHome])).code, 1);
    await cli(['inbox', '--home', bobHome]);
  });

  it('accept-move with the address inbox showed holds only while bob still asks for it', async () => {
    const move = (url: string): string => JSON.stringify({ type: 'inbox', relay_url: url, slot_id: 'c'.repeat(32), send_token: 'd'.repeat(64) });
    await bobPosts(move('https://relay.example.net'));
    const shown = await cli(['inbox', '--home', aliceHome]);
    assert.match(shown.stdout, /agent-pair accept-move [0-9a-f]{16} https:\/\/relay\.example\.net /);
    // Bob asks again, for another address, before alice answers what she read.
    await bobPosts(move('http://169.254.169.254/latest'));
    await cli(['inbox', '--home', aliceHome]);
    const stale = await cli(['accept-move', 'bob', 'https://relay.example.net', '--json', '--home', aliceHome]);
    assert.equal(stale.code, 1);
    assert.equal(stale.lines[0]?.['code'], 'conflict');
    const peers = await cli(['peers', '--json', '--home', aliceHome]);
    assert.equal(peers.lines.find((line) => line['handle'] === 'bob')?.['relay_url'], relay.url);
    assert.equal((await cli(['refuse-move', 'bob', '--home', aliceHome])).code, 0);
    await cli(['inbox', '--home', bobHome]);
  });
});

describe('a message under the grant of a pairing still in flight, against a running inbox --follow', () => {
  it('waits at the relay, unacknowledged, until the pairing ends; then it is handled and the message behind it prints', async () => {
    const alice = homeDeps(aliceHome);
    const relayPort = alice.relays(relay.url);
    const { inbox, sendToken, grantId } = await grantOnInbox(alice, relayPort);
    const pairId = 'e'.repeat(32);
    await rememberPendingGrant(alice, pairId, { relayUrl: inbox.relayUrl, slotId: inbox.slotId, grantId, heldUntil: Date.now() + 120_000 });
    const child = spawn(process.execPath, [CLI, 'inbox', '--follow', '--json', '--home', aliceHome]);
    const events: Record<string, unknown>[] = [];
    createInterface({ input: child.stdout }).on('line', (line) => {
      events.push(JSON.parse(line) as Record<string, unknown>);
    });
    try {
      // The new peer writes before this side pinned it; the pinned peer writes after it.
      await relayPort.postMessage(inbox.slotId, sendToken, 'bm90IGFuIGVudmVsb3Bl');
      await bobPosts(text('behind the new peer'));
      // Both stay at the relay while the pairing is in flight: nothing is dropped or acknowledged.
      await sleep(2000);
      // What else waited for alice (the receipt of bob's last read) is handled once the follow has
      // started, later than 2 s on a loaded machine; the two held messages stay.
      await until('only the two held messages at the relay', async () => (await relayPort.readMessages(inbox.slotId, inbox.ownerToken, { after: 0 })).messages.length === 2);
      const handled = (): unknown[] => events.filter((event) => event['event'] === 'dropped' || event['event'] === 'message').map((event) => event['event']);
      assert.deepEqual(handled(), []);
      await takePendingGrant(alice, pairId);
      await until('the message behind it', () => events.find((event) => event['event'] === 'message'));
      assert.deepEqual(handled(), ['dropped', 'message']);
      assert.equal(events.find((event) => event['event'] === 'dropped')?.['reason'], 'unknown_grant');
    } finally {
      child.kill('SIGINT');
      await new Promise((done) => child.on('exit', done));
    }
  });
});

describe('the outbox through the CLI', () => {
  it('a send the relay refuses for now (507) is queued, listed by `sent`, and `cancel` takes it back', async () => {
    const small = await startRelay({ ...quiet, limits: { ...quiet.limits, maxInboxMessages: 1 } });
    const outboxHomes = await mkdtemp(join(tmpdir(), 'agent-pair-outbox-'));
    try {
      const carol = join(outboxHomes, 'carol');
      const dave = join(outboxHomes, 'dave');
      await pairHomes(small.url, carol, dave);
      assert.equal((await cli(['send', 'bob', 'fills the inbox', '--json', '--home', carol])).lines[0]?.['event'], 'sent');
      const queued = await cli(['send', 'bob', 'waits', '--json', '--home', carol]);
      assert.equal(queued.code, 0, queued.stderr);
      assert.equal(queued.lines[0]?.['event'], 'queued');
      assert.equal(queued.lines[0]['code'], 'inbox_full');
      const id = String(queued.lines[0]['id']);
      const listed = await cli(['sent', '--json', '--home', carol]);
      assert.deepEqual(listed.lines.map((line) => line['state']), ['sent', 'queued']);
      const human = await cli(['sent', '--home', carol]);
      assert.match(human.stdout, /queued/);
      const cancelled = await cli(['cancel', id, '--json', '--home', carol]);
      assert.equal(cancelled.code, 0, cancelled.stderr);
      assert.deepEqual((await cli(['sent', '--json', '--home', carol])).lines.map((line) => line['state']), ['sent', 'cancelled']);
      assert.equal((await cli(['cancel', id, '--json', '--home', carol])).code, 1);
    } finally {
      await small.close();
      await rm(outboxHomes, { recursive: true, force: true });
    }
  });
});

describe('a home someone else can write', () => {
  /** The fix checkHomeIsPrivate names for `home` (the check run.ts makes before every command that takes --home), or undefined if the home passes. */
  const refusalOf = (home: string): string | undefined => {
    try {
      checkHomeIsPrivate(home);
      return undefined;
    } catch (error) {
      assert.ok(isPairError(error) && error.code === 'storage_failed', String(error));
      return error.message;
    }
  };

  it('is refused with one line naming the fix, as ssh does (writable by others, a readable secret, a writable state file or run directory, another owner)', async () => {
    const home = join(homes, 'shared');
    await mkdir(join(home, 'secrets'), { recursive: true, mode: 0o700 });
    await chmod(home, 0o777);
    // Through the CLI: the command stops before it runs, in one line.
    const open = await cli(['whoami', '--json', '--home', home]);
    assert.equal(open.code, 1);
    assert.equal(open.lines[0]?.['code'], 'storage_failed');
    assert.match(String(open.lines[0]['message']), new RegExp(`chmod go-w ${home}$`));
    assert.equal(open.lines[0]['message'], refusalOf(home));
    assert.equal(open.stderr.trim().split('\n').length, 1);

    // The other ways a home is someone else's, through the same check in this process.
    await chmod(home, 0o700);
    const secret = join(home, 'secrets', 'identity.seed');
    await writeFile(secret, 'x', { mode: 0o644 });
    await chmod(secret, 0o644);
    assert.match(refusalOf(home) ?? '', new RegExp(`chmod 600 ${secret}$`));

    await chmod(secret, 0o600);
    // A state file others can write (the pinned peers: a card's key swapped) and a run directory
    // others can write (the confirm channel's socket) are refused alike.
    const peers = join(home, 'state', 'peers.index');
    await mkdir(join(home, 'state'), { recursive: true, mode: 0o700 });
    await writeFile(peers, '[]', { mode: 0o600 });
    await chmod(peers, 0o666);
    assert.match(refusalOf(home) ?? '', new RegExp(`chmod go-w ${peers}$`));
    await chmod(peers, 0o600);
    await mkdir(join(home, 'run'), { mode: 0o700 });
    await chmod(join(home, 'run'), 0o777);
    assert.match(refusalOf(home) ?? '', new RegExp(`chmod go-w ${join(home, 'run')}$`));
    await chmod(join(home, 'run'), 0o700);
    if (process.getuid?.() === 0) {
      await chown(home, 65_534, 65_534);
      assert.match(refusalOf(home) ?? '', /belongs to user id 65534/);
      await chown(home, 0, 0);
      await chown(peers, 65_534, 65_534);
      assert.match(refusalOf(home) ?? '', /state\/peers\.index belongs to user id 65534/);
      await chown(peers, 0, 0);
    }
    // Private again: whoami runs (no identity yet, which is its own answer).
    assert.equal(refusalOf(home), undefined);
    assert.notEqual((await cli(['whoami', '--json', '--home', home])).lines[0]?.['code'], 'storage_failed');
  });
});
