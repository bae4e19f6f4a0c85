// The CLI's output in a pipe its reader closes early (`agent-pair peers | head -1`, `--help | head`): real CLI
// processes whose stdout is a real pipe, closed by this side before or while they write. The
// command ends quietly, as a Unix tool does (another failure, a full disk, is said in a line),
// and `inbox` marks read only what it wrote before the output closed: what the person was not
// shown stays unread for the next inbox.

import '../helpers/nativeCurves.js';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { describe, it } from 'node:test';
import { homeDeps } from '../../src/cli/homeDeps.js';
import { EXIT_FAILED, EXIT_OUTPUT_CLOSED } from '../../src/cli/usage.js';
import { SendRunner } from '../../src/core/inbox.js';
import { CLI, cli } from '../helpers/cli.js';
import { pairedHomesForFile } from '../helpers/pairedHomes.js';
import { until } from '../helpers/until.js';

const paired = pairedHomesForFile('agent-pair-closed-');

interface Cut {
  code: number | null;
  stderr: string;
  /** What this side read of stdout before closing it. */
  read: string;
}

/**
 * Runs the CLI with stdout a pipe this side closes: at once (before the process can write), or
 * once `enough` says what was read is enough, as `head` does.
 */
async function cutShort(args: string[], enough?: (read: string) => boolean): Promise<Cut> {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, AGENT_PAIR_HOME: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let read = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  if (enough === undefined) child.stdout.destroy();
  else {
    child.stdout.on('data', (chunk: Buffer) => {
      read += chunk.toString();
      if (enough(read)) child.stdout.destroy();
    });
  }
  const code = await new Promise<number | null>((done) => child.on('exit', done));
  return { code, stderr, read };
}

/** Runs the CLI with stdout on a full disk (/dev/full): its exit status and what it said on stderr. */
async function toFullDisk(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const full = openSync('/dev/full', 'w');
  try {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, AGENT_PAIR_HOME: '' }, stdio: ['ignore', full, 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((done) => child.on('exit', done));
    return { code, stderr };
  } finally {
    closeSync(full);
  }
}

/** Ids of the messages an `inbox --json` run printed. */
function messageIds(lines: Record<string, unknown>[]): string[] {
  return lines.filter((line) => line['event'] === 'message').map((line) => String(line['id']));
}

describe('output closed early', () => {
  it('peers, human and --json, with its pipe closed before it writes: no stack trace, the status a Unix tool has', async () => {
    for (const json of [[], ['--json']]) {
      const cut = await cutShort(['peers', ...json, '--home', paired.aliceHome]);
      assert.equal(cut.stderr, '', 'nothing said on stderr');
      assert.equal(cut.code, EXIT_OUTPUT_CLOSED);
    }
  });

  it("--version and --help, which main answers itself, with their pipe closed before they write: quiet, 141", async () => {
    for (const args of [['--version'], ['--help'], ['send', '--help']]) {
      const cut = await cutShort(args);
      assert.equal(cut.stderr, '', `nothing said on stderr for ${args.join(' ')}`);
      assert.equal(cut.code, EXIT_OUTPUT_CLOSED, args.join(' '));
    }
  });

  it('--version to a full disk (/dev/full) says so in a line and exits 1', async () => {
    assert.deepEqual(await toFullDisk(['--version']), { code: EXIT_FAILED, stderr: 'agent-pair: could not write to standard output (ENOSPC).\n' });
  });

  it('peers whose stdout fails otherwise (a full disk: /dev/full) says so in a line and exits 1', async () => {
    assert.deepEqual(await toFullDisk(['peers', '--home', paired.aliceHome]), { code: EXIT_FAILED, stderr: 'agent-pair: could not write to standard output (ENOSPC).\n' });
  });

  it('inbox whose pipe closes before it writes leaves every message unread', async () => {
    const sender = new SendRunner(homeDeps(paired.aliceHome));
    const ids = [];
    for (const text of ['one', 'two', 'three']) ids.push((await sender.send('bob', { type: 'text', text })).id);
    const cut = await cutShort(['inbox', '--json', '--home', paired.bobHome]);
    assert.equal(cut.stderr, '');
    assert.equal(cut.code, EXIT_OUTPUT_CLOSED);
    const next = await cli(['inbox', '--json', '--home', paired.bobHome]);
    assert.equal(next.code, 0, next.stderr);
    assert.deepEqual(messageIds(next.lines), ids, 'all three shown by the next inbox');
  });

  it('inbox read like `| head -1` (the pipe closed after its first line, mid-write): the messages not shown stay unread', async () => {
    const sender = new SendRunner(homeDeps(paired.aliceHome));
    const ids = [];
    // Eight messages of 60 KB: before this side closes the pipe, at most the pipe's buffer (64 KiB)
    // and what this side read (a 64 KiB read at a time, up to the first line) leave the CLI, so
    // it is still writing when the reader closes, however slow this side is.
    for (const mark of 'abcdefgh') ids.push((await sender.send('bob', { type: 'text', text: mark.repeat(60_000) })).id);
    for (const human of [true, false]) {
      const cut = await cutShort(['inbox', ...(human ? [] : ['--json']), '--home', paired.bobHome], (read) => read.includes('\n'));
      assert.match(cut.read.split('\n')[0] ?? '', human ? /\(.+\), message [0-9a-f]{32}:$/ : /^\{"event":"message"/, 'the reader got the first message\'s line');
      assert.equal(cut.stderr, '', `nothing said on stderr (${human ? 'human' : '--json'})`);
      assert.equal(cut.code, EXIT_OUTPUT_CLOSED);
    }
    const next = await cli(['inbox', '--json', '--home', paired.bobHome]);
    assert.equal(next.code, 0, next.stderr);
    assert.deepEqual(messageIds(next.lines), ids, 'none was marked read: the reader may have dropped any of them unread');
  });

  it('inbox --follow whose pipe was closed ends at the next message, leaving it unread', async () => {
    const polls = paired.relay.stats().longPolls;
    const following = cutShort(['inbox', '--follow', '--home', paired.bobHome]);
    await until('inbox --follow waiting at the relay', () => paired.relay.stats().longPolls > polls);
    const { id } = await new SendRunner(homeDeps(paired.aliceHome)).send('bob', { type: 'text', text: 'while no one reads' });
    const cut = await following;
    assert.equal(cut.stderr, '');
    assert.equal(cut.code, EXIT_OUTPUT_CLOSED);
    const next = await cli(['inbox', '--json', '--home', paired.bobHome]);
    assert.deepEqual(messageIds(next.lines), [id]);
  });
});
