// Per-peer rules and `inbox --follow --exec` with the built CLI, between two homes paired through
// a real relay (the follower a real process; `rule`, `peers` and the command lines `inbox`
// refuses in worker threads, test/helpers/cli.ts; those main refuses, and the help, checked in
// this process, test/helpers/commandLine.ts): `rule` shows and sets, `peers` shows it, a wrong rule is a
// usage error naming the allowed words; --exec hands CMD exactly one JSON event per message on
// stdin, handles exit codes, stops a hanging CMD (its whole process group) at --exec-timeout,
// survives one that crashes, stops at the hand-over budget, and never hands over messages of
// notify or mute peers.

import '../helpers/nativeCurves.js';
import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { SendRunner } from '../../src/core/inbox.js';
import { Mailbox } from '../../src/core/mailbox.js';
import { openHomeStores } from '../../src/node/fileStore.js';
import { homeMailLock } from '../../src/node/mailLock.js';
import { systemClock, systemRandom } from '../../src/node/system.js';
import { cliRelayConnector } from '../../src/cli/homeRelays.js';
import { type RunningRelay, startRelay } from '../../src/relay/node.js';
import { CLI, cli, pairHomes } from '../helpers/cli.js';
import { helpOf, usageErrorOf } from '../helpers/commandLine.js';
import { until } from '../helpers/until.js';

let relay: RunningRelay;
let homes: string;
let aliceHome: string;
let bobHome: string;
let aliceFingerprint: string;

before(async () => {
  assert.ok(existsSync(CLI), 'dist/cli.cjs is missing: run `npm run build` first (npm test does)');
  relay = await startRelay({ host: '127.0.0.1', port: 0 });
  homes = await mkdtemp(join(tmpdir(), 'agent-pair-rules-'));
  aliceHome = join(homes, 'alice');
  bobHome = join(homes, 'bob');
  ({ aliceFingerprint } = await pairHomes(relay.url, aliceHome, bobHome));
});
after(async () => {
  await relay.close();
  await rm(homes, { recursive: true, force: true });
});

function aliceSender(): SendRunner {
  return new SendRunner({ ...openHomeStores(aliceHome), mailLock: homeMailLock(aliceHome), random: systemRandom, clock: systemClock, relays: cliRelayConnector() });
}

function bobMailbox(): Mailbox {
  return new Mailbox({ memory: openHomeStores(bobHome).memory, clock: systemClock, mailLock: homeMailLock(bobHome) });
}

describe('agent-pair rule', () => {
  it('prints notify for a new peer, sets agent, and peers shows it', async () => {
    const shown = await cli(['rule', 'alice', '--json', '--home', bobHome]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.deepEqual(shown.lines[0], { event: 'rule', peer: { fingerprint: aliceFingerprint, handle: 'alice' }, rule: 'notify', changed: false });
    const set = await cli(['rule', aliceFingerprint.toUpperCase(), 'Agent', '--home', bobHome]);
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, /alice .*: agent/);
    const peers = await cli(['peers', '--json', '--home', bobHome]);
    assert.equal(peers.lines[0]?.['rule'], 'agent');
    assert.match((await cli(['peers', '--home', bobHome])).stdout, /rule agent/);
    await cli(['rule', 'alice', 'notify', '--home', bobHome]);
  });

  it('refuses a wrong rule in one line naming the allowed ones (exit 2), and an unknown peer (exit 1)', async () => {
    // Refused by the command line, before the command runs (test/cli/arguments.test.ts has main print such a refusal: one line, exit 2).
    const wrong = usageErrorOf('rule', 'alice', 'always', '--home', bobHome);
    assert.doesNotMatch(wrong.message, /\n/);
    assert.match(wrong.message, /RULE "always" is not a rule; expected one of notify, agent, mute/);
    const unknown = await cli(['rule', 'carol', 'agent', '--home', bobHome]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /carol/);
    assert.match(helpOf('rule', '--help').text, /notify, agent, mute/);
  });

  it('checks --exec and its companions before anything runs', async () => {
    const noFollow = await cli(['inbox', '--exec', 'true', '--home', bobHome]);
    assert.equal(noFollow.code, 2);
    assert.match(noFollow.stderr, /--exec needs --follow/);
    const stray = await cli(['inbox', '--follow', '--exec-timeout', '5', '--home', bobHome]);
    assert.equal(stray.code, 2);
    assert.match(stray.stderr, /--exec-timeout needs --exec/);
    assert.match(usageErrorOf('inbox', '--follow', '--exec', 'true', '--auto-handovers-per-hour', 'lots', '--home', bobHome).message, /--auto-handovers-per-hour "lots" is not a budget/);
    assert.match(helpOf('inbox', '--help').text, /--exec CMD[\s\S]*rule is agent/);
  });
});

describe('inbox --follow --exec', () => {
  let follower: ChildProcessWithoutNullStreams | undefined;
  after(() => {
    follower?.kill('SIGKILL');
  });

  it('hands CMD one JSON event per message on stdin: 0 handled, failures, a hang and a crash left unread, the budget kept, notify and mute never handed over', async () => {
    assert.equal((await cli(['rule', 'alice', 'agent', '--home', bobHome])).code, 0);
    const log = join(homes, 'handed.jsonl');
    const grandchildren = join(homes, 'grandchildren.txt');
    const handler = join(homes, 'handler.mjs');
    writeFileSync(
      handler,
      `import { appendFileSync, readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
const input = readFileSync(0, 'utf8');
appendFileSync(${JSON.stringify(log)}, JSON.stringify({ input, argv: process.argv.slice(2), env: JSON.stringify(process.env) }) + '\\n');
const text = JSON.parse(input).body.text;
if (text.startsWith('ok')) process.exit(0);
if (text.startsWith('fail')) process.exit(3);
if (text.startsWith('crash')) process.kill(process.pid, 'SIGKILL');
if (text.startsWith('hang')) {
  const sleeper = spawn('sleep', ['1000'], { stdio: 'ignore' });
  appendFileSync(${JSON.stringify(grandchildren)}, sleeper.pid + '\\n');
  setInterval(() => undefined, 1000);
}
`,
    );
    const stdoutLines: Record<string, unknown>[] = [];
    const stderrLines: string[] = [];
    const child = spawn(
      process.execPath,
      [CLI, 'inbox', '--follow', '--json', '--home', bobHome, '--exec', `${JSON.stringify(process.execPath)} ${JSON.stringify(handler)}`, '--exec-timeout', '2', '--auto-handovers-per-hour', '5'],
      { env: { ...process.env, AGENT_PAIR_HOME: '' } },
    );
    follower = child;
    createInterface({ input: child.stdout }).on('line', (line) => stdoutLines.push(JSON.parse(line) as Record<string, unknown>));
    createInterface({ input: child.stderr }).on('line', (line) => stderrLines.push(line));
    await until('the follower to wait', () => stderrLines.some((line) => line.startsWith('Waiting for messages')));

    const sender = aliceSender();
    const texts = ['ok first zq1', 'fail zq2', 'hang zq3', 'crash zq4', 'ok after the crash zq5'];
    const ids: string[] = [];
    for (const text of texts) ids.push((await sender.send('bob', { type: 'text', text })).id);
    // A handler may be in the middle of appending its line: only whole lines count.
    const handed = (): { input: string; argv: string[]; env: string }[] => {
      const written = existsSync(log) ? readFileSync(log, 'utf8') : '';
      return written.slice(0, written.lastIndexOf('\n') + 1).split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as { input: string; argv: string[]; env: string });
    };
    await until('CMD to get all five', () => handed().length === 5 && stderrLines.filter((line) => line.includes('left unread')).length === 3, 30_000);

    // Exactly one JSON line each, in order, the same object inbox --json prints; the text only there.
    const inputs = handed();
    assert.deepEqual(inputs.map((entry) => entry.input.split('\n').length), [2, 2, 2, 2, 2], 'one line, newline-terminated');
    const events = inputs.map((entry) => JSON.parse(entry.input) as Record<string, unknown>);
    assert.deepEqual(events.map((event) => (event['body'] as { text: string }).text), texts);
    for (const [index, event] of events.entries()) {
      assert.deepEqual(event, stdoutLines.find((line) => line['id'] === ids[index]));
      assert.deepEqual(inputs[index]?.argv, []);
      assert.ok(!inputs[index].env.includes(texts[index] ?? '?'), 'peer text never in the environment');
    }
    assert.ok(stderrLines.some((line) => /exited with status 3: message [0-9a-f]{32} from alice .* is left unread/.test(line)));
    assert.ok(stderrLines.some((line) => /was stopped after 2 s \(--exec-timeout\)/.test(line)));
    assert.ok(stderrLines.some((line) => /was killed by SIGKILL|killed by signal 9/.test(line)), stderrLines.join('\n'));
    // The hang's whole process group went with it.
    const sleeper = Number(readFileSync(grandchildren, 'utf8').trim());
    await until('the hanging command\'s child to be gone', () => {
      try {
        process.kill(sleeper, 0);
        return false;
      } catch {
        return true;
      }
    });
    // CMD wrote its log line before it exited: the follower marks the last one handled just after.
    const mailbox = bobMailbox();
    const states = (): Promise<(string | undefined)[]> => Promise.all(ids.map(async (id) => (await mailbox.get(aliceFingerprint, id))?.state));
    await until('the last message to be marked handled', async () => (await states())[4] === 'handled');
    assert.deepEqual(await states(), ['handled', 'unread', 'unread', 'unread', 'handled']);

    // The sixth within the hour is over the budget of 5: not handed over, left unread, the person told.
    const sixth = (await sender.send('bob', { type: 'text', text: 'ok over budget' })).id;
    await until('the budget note', () => stderrLines.some((line) => line.includes('--auto-handovers-per-hour') && line.includes(sixth)));
    assert.equal((await mailbox.get(aliceFingerprint, sixth))?.state, 'unread');

    // notify: printed and handled as before, never handed over; mute: kept quietly, unread.
    assert.equal((await cli(['rule', 'alice', 'notify', '--home', bobHome])).code, 0);
    const notified = (await sender.send('bob', { type: 'text', text: 'ok for the person' })).id;
    await until('the notify message to print', () => stdoutLines.some((line) => line['id'] === notified));
    await until('it to be handled', async () => (await mailbox.get(aliceFingerprint, notified))?.state === 'handled');
    assert.equal((await cli(['rule', 'alice', 'mute', '--home', bobHome])).code, 0);
    const muted = (await sender.send('bob', { type: 'text', text: 'ok muted' })).id;
    await until('the muted message to be stored', async () => (await mailbox.get(aliceFingerprint, muted))?.state === 'unread');
    assert.equal(handed().length, 5);
    assert.ok(!stdoutLines.some((line) => line['id'] === muted));

    child.kill('SIGTERM');
    assert.equal(await new Promise((done) => child.on('exit', done)), 0);
    follower = undefined;
    await cli(['rule', 'alice', 'notify', '--home', bobHome]);
  });
});
