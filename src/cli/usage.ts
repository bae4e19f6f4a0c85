// What both halves of the CLI share: the exit statuses, and the wrong command line, found by
// main.ts's checks (commandLine.ts) or by a command's own (run.ts: combinations the option table
// cannot express). Apart from commandLine.ts so the command side does not load the option table.

/**
 * Exit statuses: 0 paired or done, 1 the operation failed, 2 the command line was wrong, 130
 * interrupted, 141 the output was closed early (`| head -1`): what a Unix tool killed by
 * SIGPIPE reports (128 + 13), which Node's processes ignore.
 */
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
export const EXIT_INTERRUPTED = 130;
export const EXIT_OUTPUT_CLOSED = 141;

/** A mistake on the command line: exit 2, one line. `code` is the JSON error event's code. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly code = 'usage',
  ) {
    super(message);
  }
}

/** How long `inbox --follow --exec` lets CMD run for one message before stopping it (--exec-timeout). */
export const EXEC_TIMEOUT_SECONDS = 120;
