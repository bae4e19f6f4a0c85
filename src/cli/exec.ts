// `inbox --follow --exec CMD`: the person's own agent (a script, a CLI agent) gets each message
// handed over from an `agent`-rule peer. CMD runs through the shell the person typed it for, in
// a process group of its own, with the message event as one JSON line on its stdin: the peer's
// words never reach a command line or an environment variable, where a shell or a log would
// read them. Its exit status decides: 0 handled, anything else (a crash, a signal, a timeout)
// leaves the message unread. CMD's output goes to our stderr, so `--json` stdout stays ours.

import { errorMessage } from '../core/errors.js';

export type HandlerOutcome =
  | { kind: 'handled' }
  /** Exited non-zero, or was killed by a signal it did not get from us. */
  | { kind: 'failed'; exitCode: number | null; signal: NodeJS.Signals | null }
  /** Ran past the timeout: its process group was killed. */
  | { kind: 'timeout' }
  /** Could not start at all. */
  | { kind: 'notStarted'; message: string };

/** Runs `command` with `input` on stdin; never rejects. */
export function runHandler(command: string, input: string, timeoutMs: number): Promise<HandlerOutcome> {
  return new Promise((resolve) => {
    let child;
    try {
      // detached: its own process group, so a timeout ends whatever it started too.
      // node:child_process at the first handler, not when `send` or a plain `inbox` loads this module.
      child = process.getBuiltinModule('node:child_process').spawn(command, { shell: true, detached: true, stdio: ['pipe', process.stderr, process.stderr] });
    } catch (error) {
      resolve({ kind: 'notStarted', message: errorMessage(error) });
      return;
    }
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid);
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      resolve({ kind: 'notStarted', message: error.message });
    });
    child.once('close', (exitCode, signal) => {
      clearTimeout(timer);
      if (timedOut) resolve({ kind: 'timeout' });
      else if (exitCode === 0) resolve({ kind: 'handled' });
      else resolve({ kind: 'failed', exitCode, signal });
    });
    // A command that exits without reading its stdin closes the pipe under us: not our failure.
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // The group is gone already.
  }
}
