// The CLI as a person's two terminals would run it: two processes of the built bundle, speaking
// --json, pairing through a real relay on loopback. What they do after pairing (whoami, peers,
// forget) runs one at a time in worker threads (test/helpers/cli.ts); the command lines refused
// before anything runs are checked in this process (test/helpers/commandLine.ts).

import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { readFile } from 'node:fs/promises';
import { RelayChoice, localRelayRecordFile, localRelayStateDir, nodeScriptCommand } from '../../src/node/localRelay.js';
import { relayAnswers } from '../../src/relay/embedded.js';
import { type RunningRelay, startRelay } from '../../src/relay/node.js';
import { cli, cliProcess } from '../helpers/cli.js';
import { usageErrorOf } from '../helpers/commandLine.js';
import { Pids, freePort, runRelayMain } from '../helpers/relayProcess.js';

const CLI = resolve(import.meta.dirname, '../../dist/cli.cjs');

interface Running {
  child: ChildProcessWithoutNullStreams;
  next(predicate?: (event: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
  exit: Promise<number | null>;
  stderr: () => string;
  /** Every JSON event so far. */
  events: () => Record<string, unknown>[];
}

function run(args: string[], env: Record<string, string> = {}): Running {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, AGENT_PAIR_HOME: '', ...env } });
  const events: Record<string, unknown>[] = [];
  const waiters: (() => void)[] = [];
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  createInterface({ input: child.stdout }).on('line', (line) => {
    events.push(JSON.parse(line) as Record<string, unknown>);
    for (const wake of waiters.splice(0)) wake();
  });
  const exit = new Promise<number | null>((done) => child.on('exit', (code) => {
    done(code);
    for (const wake of waiters.splice(0)) wake();
  }));
  let read = 0;
  const next = async (predicate: (event: Record<string, unknown>) => boolean = () => true): Promise<Record<string, unknown>> => {
    for (;;) {
      while (read < events.length) {
        const event = events[read++]!;
        if (predicate(event)) return event;
      }
      if (child.exitCode !== null) throw new Error(`process exited (${child.exitCode}) before the expected event; stderr:\n${stderr}`);
      await new Promise<void>((wake) => waiters.push(wake));
    }
  };
  return { child, next, exit, stderr: () => stderr, events: () => events };
}

/** The one `error` event a failed `--json` command writes. */
function errorEvent(stdout: string): Record<string, unknown> {
  const event = JSON.parse(stdout.trim()) as Record<string, unknown>;
  assert.equal(event['event'], 'error', stdout);
  return event;
}

let relay: RunningRelay;
let homes: string;

before(async () => {
  assert.ok(existsSync(CLI), 'dist/cli.cjs is missing: run `npm run build` first (npm test does)');
  relay = await startRelay({ host: '127.0.0.1', port: 0 });
  homes = await mkdtemp(join(tmpdir(), 'agent-pair-cli-'));
});
after(async () => {
  await relay.close();
  await rm(homes, { recursive: true, force: true });
});

async function startPair(tag: string): Promise<{ host: Running; guest: Running; code: string; aliceHome: string; bobHome: string }> {
  const aliceHome = join(homes, `${tag}-alice`);
  const bobHome = join(homes, `${tag}-bob`);
  const host = run(['host', '--json', '--relay', relay.url, '--home', aliceHome, '--handle', 'alice']);
  const codeEvent = await host.next((event) => event['event'] === 'code');
  const code = String(codeEvent['code']);
  assert.match(code, /^\d{2,}-[A-Z2-7]{6}$/);
  const guest = run(['join', code, '--json', '--relay', relay.url, '--home', bobHome, '--handle', 'bob']);
  return { host, guest, code, aliceHome, bobHome };
}

/** The SAS with its last digit changed. */
function misheard(sas: string): string {
  const plain = sas.replace('-', '');
  return plain.slice(0, 5) + String((Number(plain[5]) + 1) % 10);
}

describe('agent-pair host / join --json', () => {
  it('pairs two processes: code, SAS, typed digits, paired; then whoami, peers and forget', async () => {
    const { host, guest, aliceHome, bobHome } = await startPair('ok');
    const [hostSas, guestSas] = await Promise.all([host.next((e) => e['event'] === 'sas'), guest.next((e) => e['event'] === 'sas')]);
    assert.match(String(hostSas['sas']), /^\d{3}-\d{3}$/);
    assert.equal(hostSas['sas'], guestSas['sas']);
    // A slip (an empty line, five digits) is asked again and checks nothing; then the digits.
    host.child.stdin.write(`\n${String(guestSas['sas']).replace('-', '').slice(0, 5)}\n${String(guestSas['sas'])}\n`);
    guest.child.stdin.write(`${String(hostSas['sas']).replace('-', '')}\n`);
    const [hostPaired, guestPaired] = await Promise.all([host.next((e) => e['event'] === 'paired'), guest.next((e) => e['event'] === 'paired')]);
    assert.equal((hostPaired['peer'] as { handle: string }).handle, 'bob');
    assert.equal((guestPaired['peer'] as { handle: string }).handle, 'alice');
    assert.equal(await host.exit, 0);
    assert.equal(await guest.exit, 0);
    assert.equal(host.stderr().match(/That was not 6 digits/g)?.length, 2);

    const aliceWho = JSON.parse((await cli(['whoami', '--json', '--home', aliceHome])).stdout) as Record<string, unknown>;
    assert.equal(aliceWho['handle'], 'alice');
    assert.deepEqual(guestPaired['peer'], { fingerprint: aliceWho['fingerprint'], handle: 'alice', relay_url: relay.url });
    const bobPeers = (await cli(['peers', '--json', '--home', bobHome])).stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.deepEqual(bobPeers.map((peer) => peer['fingerprint']), [aliceWho['fingerprint']]);

    // The identity files are private to the user.
    assert.equal((await stat(aliceHome)).mode & 0o777, 0o700);

    const forgotten = await cli(['forget', String(aliceWho['fingerprint']), '--home', bobHome]);
    assert.equal(forgotten.code, 0);
    assert.equal((await cli(['peers', '--json', '--home', bobHome])).stdout.trim(), '');
    const again = await cli(['forget', String(aliceWho['fingerprint']), '--json', '--home', bobHome]);
    assert.equal(again.code, 1);
    assert.equal(errorEvent(again.stdout)['code'], 'not_found');
  });

  it('refuses to join, before any key exchange, the pairing its own home hosts (the code stays good); ends both sides aborted, exit 1, when the typed digits are wrong', { timeout: 20_000 }, async () => {
    const aliceHome = join(homes, 'mismatch-alice');
    const host = run(['host', '--json', '--relay', relay.url, '--home', aliceHome, '--handle', 'alice']);
    const code = String((await host.next((event) => event['event'] === 'code'))['code']);
    const self = await cliProcess(['join', code, '--json', '--relay', relay.url, '--home', aliceHome]);
    assert.equal(self.code, 1);
    assert.equal((JSON.parse(self.stdout.trim().split('\n').at(-1) ?? '{}') as { code?: string }).code, 'own_key');
    assert.ok(self.stderr.includes(`pairing that ${aliceHome} itself hosts`), self.stderr);
    // The host keeps waiting and the code is still good for the real guest: nothing reached the relay.
    const guest = run(['join', code, '--json', '--relay', relay.url, '--home', join(homes, 'mismatch-bob'), '--handle', 'bob']);
    const [hostSas] = await Promise.all([host.next((e) => e['event'] === 'sas'), guest.next((e) => e['event'] === 'sas')]);
    const sas = String(hostSas['sas']).replace('-', '');
    const wrong = sas.slice(0, 5) + String((Number(sas[5]) + 1) % 10);
    host.child.stdin.write(`${wrong}\n`);
    guest.child.stdin.write(`${sas}\n`);
    const [hostEnd, guestEnd] = await Promise.all([host.next((e) => e['event'] === 'aborted'), guest.next((e) => e['event'] === 'aborted')]);
    assert.equal(hostEnd['reason'], 'sas mismatch');
    assert.equal(guestEnd['reason'], 'sas mismatch');
    assert.equal(await host.exit, 1);
    assert.equal(await guest.exit, 1);
  });

  it('aborts the pairing at the relay on Ctrl-C, so the peer learns at once', async () => {
    const { host, guest } = await startPair('interrupt');
    await Promise.all([host.next((e) => e['event'] === 'sas'), guest.next((e) => e['event'] === 'sas')]);
    host.child.kill('SIGINT');
    assert.equal(await host.exit, 130);
    // Said once: no second "aborted" line repeating it.
    assert.deepEqual(host.stderr().split('\n').filter((line) => /cancel|abort/i.test(line)), ['Pairing cancelled; the other side was told.']);
    // The guest's person is still at the digits prompt and types nothing.
    const end = await guest.next((e) => e['event'] === 'aborted');
    assert.equal(end['reason'], 'cancelled by the person');
    assert.equal(await guest.exit, 1);
  });

  it('ends the digits prompt at once when the other person typed wrong digits, without anyone typing here; a wrong-length entry before them aborts neither side', { timeout: 20_000 }, async () => {
    const { host, guest } = await startPair('peer-mismatch');
    const [hostSas] = await Promise.all([host.next((e) => e['event'] === 'sas'), guest.next((e) => e['event'] === 'sas')]);
    // Five digits are asked again; only six that differ abort.
    host.child.stdin.write(`12345\n${misheard(String(hostSas['sas']))}\n`);
    const [hostEnd, guestEnd] = await Promise.all([host.next((e) => e['event'] === 'aborted'), guest.next((e) => e['event'] === 'aborted')]);
    assert.deepEqual(hostEnd, { event: 'aborted', reason: 'sas mismatch', code: 'sas_mismatch' });
    assert.deepEqual(guestEnd, { event: 'aborted', reason: 'sas mismatch', code: 'peer_aborted' });
    assert.equal(await host.exit, 1);
    assert.equal(await guest.exit, 1);
    assert.equal(host.stderr().match(/That was not 6 digits/g)?.length, 1);
    // Pins wording on purpose: the reason is said once, in the person's words.
    assert.match(guest.stderr(), /Type the 6 digits the other person reads out: \nThe other person typed digits that do not match their SAS\. [^\n]*Start a new pairing\.\n$/);
  });

  it('rejects a malformed code before touching the relay, naming the expected shape', () => {
    // Refused by the command line before join runs (test/cli/arguments.test.ts has main print it, and its JSON event).
    const refused = usageErrorOf('join', '47_UE2BZG', '--json', '--relay', relay.url, '--home', join(homes, 'bad'));
    assert.deepEqual([refused.code, refused.json], ['bad_code', true]);
    assert.match(refused.message, /like 47-UE2BZG/);
  });

  it('answers usage errors with exit 2 and the usage text', () => {
    const unknown = usageErrorOf('frobnicate', '--json');
    assert.deepEqual([unknown.code, unknown.json], ['usage', true]);
    assert.ok(unknown.message.includes('--help'), unknown.message);
    const missing = usageErrorOf('join', '--json');
    assert.deepEqual([missing.code, missing.json], ['usage', true]);
  });
});

describe('agent-pair host / join: the person\'s prompt and the relay', () => {
  const pids = new Pids();
  after(() => {
    pids.killAll();
  });

  // Seven CLI processes and a relay one after another: 15 s on a quiet machine, past 30 s at a load of 20.
  it('with the default local relay, returns the prompt as soon as the pairing ends (a wrong code; the other terminal closing), while the relay keeps serving from its own process', { timeout: 90_000 }, async () => {
    const port = await freePort();
    const env = { AGENT_PAIR_LOCAL_RELAY_PORT: String(port) };
    const aliceHome = join(homes, 'local-alice');
    const host = run(['host', '--json', '--home', aliceHome, '--handle', 'alice'], env);
    const code = String((await host.next((event) => event['event'] === 'code'))['code']);
    // The record is this OS user's, beside the relay's SQLite file, not the starting home's.
    const record = JSON.parse(await readFile(join(localRelayStateDir(), localRelayRecordFile(port)), 'utf8')) as { pid: number; url: string };
    assert.ok(!existsSync(join(aliceHome, localRelayRecordFile(port))));
    pids.add(record.pid);
    assert.notEqual(record.pid, host.child.pid, 'the relay runs in a process of its own');
    assert.deepEqual(host.events().find((event) => event['event'] === 'relay_started'), { event: 'relay_started', relay_url: record.url, in_process: false });

    // A wrong code: both prompts come back at once (exit 1), and the relay still answers.
    const wrong = run(['join', `${code.split('-')[0] ?? ''}-AAAAAA`, '--json', '--home', join(homes, 'local-bob'), '--handle', 'bob'], env);
    const [hostEnd, guestEnd] = await Promise.all([host.next((e) => e['event'] === 'aborted'), wrong.next((e) => e['event'] === 'aborted')]);
    assert.deepEqual([hostEnd['code'], guestEnd['code']], ['wrong_code', 'wrong_code']);
    assert.deepEqual([await host.exit, await wrong.exit], [1, 1]);
    assert.ok(await relayAnswers(record.url), 'the relay outlives the pairing that started it');

    // The next pairing finds it answering; the other side's terminal closes (SIGHUP), which
    // aborts the pairing at the relay as Ctrl-C does; the prompt comes back at once.
    const again = run(['host', '--json', '--home', aliceHome], env);
    const nextCode = String((await again.next((event) => event['event'] === 'code'))['code']);
    assert.ok(!again.events().some((event) => event['event'] === 'relay_started'), 'the next pairing uses the running relay');
    const guest = run(['join', nextCode, '--json', '--home', join(homes, 'local-bob')], env);
    await Promise.all([again.next((e) => e['event'] === 'sas'), guest.next((e) => e['event'] === 'sas')]);
    guest.child.kill('SIGHUP');
    assert.deepEqual(await again.next((e) => e['event'] === 'aborted'), { event: 'aborted', reason: 'cancelled by the person', code: 'peer_aborted' });
    assert.deepEqual([await again.exit, await guest.exit], [1, 130]);
    assert.ok(await relayAnswers(record.url));

    // Whatever started it, a VS Code window (another home) finds the process and stops it.
    const window = new RelayChoice({ configuredUrl: () => '', port, stateDir: localRelayStateDir(), relayCommand: nodeScriptCommand(CLI) });
    assert.equal((await window.stopLocal()).outcome, 'stopped');
    assert.ok(!(await relayAnswers(record.url)));
  });

  it('shows both people at the SAS prompt that the relay stopped answering', { timeout: 30_000 }, async () => {
    const relayProcess = await runRelayMain(['--port', '0'], pids);
    const host = run(['host', '--json', '--relay', relayProcess.url, '--home', join(homes, 'dies-alice'), '--handle', 'alice']);
    const code = String((await host.next((event) => event['event'] === 'code'))['code']);
    const guest = run(['join', code, '--json', '--relay', relayProcess.url, '--home', join(homes, 'dies-bob'), '--handle', 'bob']);
    await Promise.all([host.next((e) => e['event'] === 'sas'), guest.next((e) => e['event'] === 'sas')]);
    relayProcess.child.kill('SIGKILL');
    const [hostTrouble, guestTrouble] = await Promise.all([host.next((e) => e['event'] === 'relay_trouble'), guest.next((e) => e['event'] === 'relay_trouble')]);
    assert.deepEqual([hostTrouble['code'], guestTrouble['relay_url']], ['relay_unreachable', relayProcess.url]);
    host.child.kill('SIGINT');
    guest.child.kill('SIGINT');
    await Promise.all([host.exit, guest.exit]);
    // Pins wording on purpose: the person (not only a script) is told, with the relay and the code.
    assert.match(host.stderr(), /The relay http:\S+ does not answer \(relay_unreachable\)/);
  });
});

describe('agent-pair words for bad input', () => {
  it('names the argument as the person typed it, and the files of an identity it will not replace', async () => {
    // Refused by the command line before forget runs (test/cli/arguments.test.ts has main print such a refusal, `agent-pair: ` first, exit 2).
    // Pins wording on purpose: bad input names the argument as typed and the expected shape.
    assert.match(usageErrorOf('forget', 'no one', '--home', join(homes, 'words')).message, /^PEER "no one" is neither a fingerprint nor a handle; expected 16 hex characters or a handle/);
    // A handle no peer has: the home it looked in.
    const nobody = await cli(['forget', 'nope', '--home', join(homes, 'words')]);
    assert.equal(nobody.code, 1);
    assert.ok(nobody.stderr.includes(`(in ${join(homes, 'words')};`), nobody.stderr);
    const confirm = usageErrorOf('confirm', 'nope', '--json', '--home', join(homes, 'words'));
    assert.deepEqual([confirm.code, confirm.json], ['usage', true]);

    const home = join(homes, 'init');
    assert.equal((await cli(['init', 'alice', '--home', home])).code, 0);
    const conflict = await cli(['init', 'bob', '--home', home]);
    assert.equal(conflict.code, 1);
    assert.ok(conflict.stderr.includes(join(home, 'secrets')) && conflict.stderr.includes(join(home, 'state')), conflict.stderr);
    // Pins wording on purpose: the command is named as this test invoked it (node …/cli.cjs), so the person can paste it.
    assert.match(conflict.stderr, /node \S*cli\.cjs init bob --home DIR/);
    // Hints keep the home they were run with: none would touch ~/.agent-pair instead.
    assert.ok(conflict.stderr.endsWith(`init bob --home ${home}\n`), conflict.stderr);
    const peers = await cli(['peers', '--home', home]);
    assert.ok(peers.stdout.includes(`host --home ${home}`), peers.stdout);
    const inbox = await cli(['inbox', '--home', home]);
    assert.ok(inbox.stderr.includes(`host --home ${home}`), inbox.stderr);
    const whoami = await cli(['whoami', '--home', join(homes, 'nobody')]);
    assert.ok(whoami.stderr.includes(`init YOUR_HANDLE --home ${join(homes, 'nobody')}`), whoami.stderr);
  });
});
