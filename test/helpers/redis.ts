// A real Debian redis-server for the relay's Redis tests: started on a free loopback port with a
// temp dir of its own (AOF on unless asked otherwise, fsync every second as operators run it; a
// stop is graceful, so the AOF is complete and a restart keeps what was written), stopped afterwards.
// scripts/run-tests.mjs runs scripts/install-redis.sh first, so redis-server is on PATH.

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './relayProcess.js';

/** How long redis-server may take to say it accepts connections. */
const START_TIMEOUT_MS = 10_000;

export class RedisServer {
  private child: ChildProcess | undefined;

  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly appendOnly: boolean,
  ) {}

  /**
   * `appendOnly: false` starts it without the AOF, for a test that never restarts it and writes
   * tens of thousands of times (the floods): appending every write cost the server about a fifth
   * of its CPU there, and what a restart keeps is the restart tests' subject, not theirs.
   */
  static async start({ appendOnly = true }: { appendOnly?: boolean } = {}): Promise<RedisServer> {
    const found = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
    if (found.error) throw new Error('redis-server is not installed: run `bash scripts/install-redis.sh` (npm test does)');
    const server = new RedisServer(await freePort(), mkdtempSync(join(tmpdir(), 'agent-pair-redis-')), appendOnly);
    await server.run();
    return server;
  }

  /** `redis://127.0.0.1:PORT/0` with a fresh key prefix, so every relay a test starts begins empty. */
  url(prefix = `t${randomBytes(6).toString('hex')}:`): string {
    return `redis://127.0.0.1:${this.port}/0?prefix=${prefix}`;
  }

  private async run(): Promise<void> {
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--appendonly', this.appendOnly ? 'yes' : 'no', '--appendfsync', 'everysec', '--save', '', '--daemonize', 'no', '--logfile', ''], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`redis-server did not start within ${START_TIMEOUT_MS} ms: ${output}`));
      }, START_TIMEOUT_MS);
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        output += chunk;
        if (output.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited with code ${String(code)}: ${output}`));
      });
    });
    child.stdout.resume();
    child.stderr.resume();
  }

  /** Stops it gracefully (SIGTERM: the AOF is flushed) and waits for the exit. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => {
      child.once('exit', () => {
        resolve();
      });
    });
    child.kill('SIGTERM');
    await exited;
  }

  /** Stops it and starts it again on the same port and dir: what was in the AOF comes back. */
  async restart(): Promise<void> {
    await this.stop();
    await this.run();
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
