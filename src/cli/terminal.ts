// How the CLI talks to the person. Human mode writes prose to stdout and a spinner to stderr.
// `--json` mode writes one JSON event per line to stdout (for scripts and tests) and all human
// text to stderr. Either way stdin carries what the person types.

import type { Interface } from 'node:readline';
import type { Readable } from 'node:stream';
import { jsonQuote } from '../core/untrusted.js';

export type CliEvent =
  | { event: 'code'; code: string; relay_url: string; session_id: string }
  | { event: 'sas'; sas: string; session_id: string }
  | { event: 'paired'; peer: { fingerprint: string; handle: string; relay_url: string } }
  /** This command started the local relay (in a process of its own, or in this one). */
  | { event: 'relay_started'; relay_url: string; in_process: boolean }
  | { event: 'relay_trouble'; code: string; relay_url: string }
  | { event: 'relay_back'; relay_url: string }
  | { event: 'confirmed'; session_id: string }
  /** The key exchange has been quiet for a while with the other side joined (see KEY_EXCHANGE_QUIET_MS). */
  | { event: 'waiting_for_peer'; session_id: string }
  /** `confirm` found no server running the session and runs it in this process. */
  | { event: 'running_here'; session_id: string }
  | { event: 'aborted'; reason: string; code: string }
  | { event: 'error'; code: string; message: string };

type Output = 'stdout' | 'stderr';

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const SPINNER_INTERVAL_MS = 120;

export class Terminal {
  private spinnerTimer: NodeJS.Timeout | undefined;
  private reader: Interface | undefined;
  private lines: AsyncIterator<string> | undefined;
  /** The next line, asked for by a question that was withdrawn before it came: the next question gets it. */
  private nextLine: Promise<IteratorResult<string>> | undefined;
  /** The outputs a write failed on (stdout read by `head -1`, which has exited: EPIPE); nothing more is written to them. */
  private readonly failed = new Map<Output, NodeJS.ErrnoException>();
  private readonly watched = new Set<Output>();
  /** Settles once the last write to stdout was accepted by it, or failed. */
  private lastStdoutWrite: Promise<void> = Promise.resolve();

  /**
   * The process's own streams unless others are given, each read at its first use: making
   * process.stdin, stdout or stderr sets up a stream (a TTY, a pipe or a file) and costs
   * milliseconds of a command's start, before it has anything to say (`send` says nothing
   * before it opens the network; most commands never read stdin).
   */
  constructor(
    readonly json: boolean,
    private readonly givenStdout?: NodeJS.WritableStream,
    private readonly givenStderr?: NodeJS.WriteStream | NodeJS.WritableStream,
    private readonly givenStdin?: Readable,
  ) {}

  private get stdout(): NodeJS.WritableStream {
    return this.givenStdout ?? process.stdout;
  }

  private get stderr(): NodeJS.WriteStream | NodeJS.WritableStream {
    return this.givenStderr ?? process.stderr;
  }

  private get stdin(): Readable {
    return this.givenStdin ?? process.stdin;
  }

  /** A machine-readable event (JSON mode only; human mode says it in prose instead). */
  event(event: CliEvent): void {
    if (this.json) this.write('stdout', `${jsonQuote(event)}\n`);
  }

  /** A command's result: one JSON line on stdout in JSON mode, else the prose on stdout. */
  result(value: object, prose: string): void {
    this.stopSpinner();
    // U+2028/U+2029/U+0085 escaped: one event per line for any line splitter.
    this.write('stdout', `${this.json ? jsonQuote(value) : prose}\n`);
  }

  /** Prose for the person: stdout in human mode, stderr in JSON mode. */
  say(text: string): void {
    this.stopSpinner();
    this.write(this.json ? 'stderr' : 'stdout', `${text}\n`);
  }

  warn(text: string): void {
    this.stopSpinner();
    this.write('stderr', `${text}\n`);
  }

  /** A visible "still working" line on stderr; redrawn in place on a terminal, printed once otherwise. */
  spin(label: () => string): void {
    this.stopSpinner();
    const tty = 'isTTY' in this.stderr && this.stderr.isTTY;
    if (!tty) {
      this.write('stderr', `${label()}\n`);
      return;
    }
    let frame = 0;
    const draw = (): void => {
      this.write('stderr', `\r\x1b[2K${SPINNER[frame++ % SPINNER.length] ?? ''} ${label()}`);
    };
    draw();
    this.spinnerTimer = setInterval(draw, SPINNER_INTERVAL_MS);
  }

  stopSpinner(): void {
    if (!this.spinnerTimer) return;
    clearInterval(this.spinnerTimer);
    this.spinnerTimer = undefined;
    this.write('stderr', '\r\x1b[2K');
  }

  /**
   * Asks for one line; undefined if stdin ends first. Once `signal` aborts, the question is
   * withdrawn: the prompt line is ended and it resolves undefined at once (a line typed later
   * goes to the next question).
   */
  async ask(prompt: string, signal?: AbortSignal): Promise<string | undefined> {
    this.stopSpinner();
    this.write('stderr', prompt);
    if (!this.lines) {
      // node:readline is loaded here, when a command first reads a line, not at every start.
      this.reader = process.getBuiltinModule('node:readline').createInterface({ input: this.stdin, terminal: false });
      this.lines = this.reader[Symbol.asyncIterator]();
    }
    const line = (this.nextLine ??= this.lines.next());
    const next = await new Promise<IteratorResult<string> | undefined>((resolve, reject) => {
      const withdraw = (): void => {
        resolve(undefined);
      };
      if (signal?.aborted === true) {
        withdraw();
        return;
      }
      signal?.addEventListener('abort', withdraw, { once: true });
      line.then(
        (result) => {
          signal?.removeEventListener('abort', withdraw);
          resolve(result);
        },
        (error: unknown) => {
          signal?.removeEventListener('abort', withdraw);
          reject(error instanceof Error ? error : new Error(String(error)));
        },
      );
    });
    if (next === undefined) {
      this.write('stderr', '\n');
      return undefined;
    }
    if (this.nextLine === line) this.nextLine = undefined;
    return next.done === true ? undefined : next.value;
  }

  /**
   * Whether all written so far to stdout was accepted by it (into a pipe's buffer, a file, a
   * terminal): false once a write failed, its reader gone (`| head -1` ended: EPIPE) or another
   * error. Something that changes state because the person was shown a text (a message marked
   * read) waits for this first. A pipe's reader may still drop what it had not read when it
   * closed; no writer can know that, so what was written just before a failure counts as unshown.
   */
  async written(): Promise<boolean> {
    await this.lastStdoutWrite;
    return this.stdoutFailure === undefined;
  }

  /** Why a write to stdout failed, if one did: EPIPE when its reader closed early. */
  get stdoutFailure(): NodeJS.ErrnoException | undefined {
    return this.failed.get('stdout');
  }

  /**
   * Every write goes through here: a stream a write failed on is written to no more, and its
   * error (EPIPE, emitted as an 'error' event) is kept instead of ending the process with a
   * stack trace.
   */
  private write(output: Output, text: string): void {
    if (this.failed.has(output)) return;
    const stream = output === 'stdout' ? this.stdout : this.stderr;
    const fail = (error: NodeJS.ErrnoException): void => {
      if (!this.failed.has(output)) this.failed.set(output, error);
    };
    if (!this.watched.has(output)) {
      this.watched.add(output);
      stream.on('error', fail);
    }
    const accepted = new Promise<void>((resolve) => {
      stream.write(text, (error) => {
        if (error) fail(error);
        resolve();
      });
    });
    if (output === 'stdout') this.lastStdoutWrite = accepted;
  }

  /** Stops the spinner and lets go of stdin, so a finished command exits even if stdin stays open. */
  close(): void {
    this.stopSpinner();
    if (!this.reader) return;
    this.reader.close();
    this.reader = undefined;
    this.lines = undefined;
    this.nextLine = undefined;
    this.stdin.destroy();
  }
}

export function formatSecondsLeft(seconds: number): string {
  const minutes = Math.floor(seconds / 60);
  return `${minutes}:${String(seconds % 60).padStart(2, '0')} left`;
}
