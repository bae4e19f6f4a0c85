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

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const SPINNER_INTERVAL_MS = 120;

export class Terminal {
  private spinnerTimer: NodeJS.Timeout | undefined;
  private reader: Interface | undefined;
  private lines: AsyncIterator<string> | undefined;
  /** The next line, asked for by a question that was withdrawn before it came: the next question gets it. */
  private nextLine: Promise<IteratorResult<string>> | undefined;

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
    if (this.json) this.stdout.write(`${jsonQuote(event)}\n`);
  }

  /** A command's result: one JSON line on stdout in JSON mode, else the prose on stdout. */
  result(value: object, prose: string): void {
    this.stopSpinner();
    // U+2028/U+2029/U+0085 escaped: one event per line for any line splitter.
    this.stdout.write(`${this.json ? jsonQuote(value) : prose}\n`);
  }

  /** Prose for the person: stdout in human mode, stderr in JSON mode. */
  say(text: string): void {
    this.stopSpinner();
    (this.json ? this.stderr : this.stdout).write(`${text}\n`);
  }

  warn(text: string): void {
    this.stopSpinner();
    this.stderr.write(`${text}\n`);
  }

  /** A visible "still working" line on stderr; redrawn in place on a terminal, printed once otherwise. */
  spin(label: () => string): void {
    this.stopSpinner();
    const tty = 'isTTY' in this.stderr && this.stderr.isTTY;
    if (!tty) {
      this.stderr.write(`${label()}\n`);
      return;
    }
    let frame = 0;
    const draw = (): void => {
      this.stderr.write(`\r\x1b[2K${SPINNER[frame++ % SPINNER.length] ?? ''} ${label()}`);
    };
    draw();
    this.spinnerTimer = setInterval(draw, SPINNER_INTERVAL_MS);
  }

  stopSpinner(): void {
    if (!this.spinnerTimer) return;
    clearInterval(this.spinnerTimer);
    this.spinnerTimer = undefined;
    this.stderr.write('\r\x1b[2K');
  }

  /**
   * Asks for one line; undefined if stdin ends first. Once `signal` aborts, the question is
   * withdrawn: the prompt line is ended and it resolves undefined at once (a line typed later
   * goes to the next question).
   */
  async ask(prompt: string, signal?: AbortSignal): Promise<string | undefined> {
    this.stopSpinner();
    this.stderr.write(prompt);
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
      this.stderr.write('\n');
      return undefined;
    }
    if (this.nextLine === line) this.nextLine = undefined;
    return next.done === true ? undefined : next.value;
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
