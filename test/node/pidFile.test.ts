// Whether a pid file's holder still runs (node/pidFile.ts processAlive): the mail lock, the
// window's mail lease, the session writers and the SQLite relay's lock all take over a file whose
// process is gone, and a zombie (exited, not reaped) is gone: where no init reaps orphans, a killed
// holder stays one for good. Real processes.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { claimPidFile, processAlive, readPidFile } from '../../src/node/pidFile.js';
import { until } from '../helpers/until.js';

/** /proc's state letter for `pid`, or undefined where there is none. */
function procState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.charAt(stat.lastIndexOf(')') + 2);
  } catch {
    return undefined;
  }
}

describe('processAlive', () => {
  it('this process runs; a child that exited and was reaped does not', async () => {
    assert.equal(processAlive(process.pid), true);
    const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    const pid = child.pid;
    assert.ok(pid !== undefined);
    await new Promise((resolve) => child.once('exit', resolve));
    await until('the child reaped', () => procState(pid) === undefined || undefined);
    assert.equal(processAlive(pid), false);
  });

  it('a zombie does not run, and a pid file it holds is taken over', { skip: process.platform !== 'linux' && 'zombies are read from /proc' }, async () => {
    // The shell starts a child that exits at once, then becomes `sleep`, which never reaps it.
    const parent = spawn('sh', ['-c', 'sleep 0 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
    const dir = await mkdtemp(join(tmpdir(), 'agent-pair-pid-file-'));
    try {
      let output = '';
      parent.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
      const zombie = await until('the child pid', () => (output.endsWith('\n') ? Number(output.trim()) : undefined));
      await until('the child a zombie', () => procState(zombie) === 'Z');
      assert.equal(processAlive(zombie), false);

      const lock = join(dir, 'mail.lock');
      await writeFile(lock, `${zombie}\n`, { mode: 0o600 });
      assert.equal(claimPidFile(lock, { pid: process.pid, alive: processAlive, ownFileIsOurs: false }), true);
      assert.equal(readPidFile(lock), process.pid);
    } finally {
      parent.kill();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
