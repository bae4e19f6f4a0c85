// Which relay a new pairing goes through, for VS Code and (with no --relay) the CLI and
// `agent-pair mcp`. With the setting `agentPair.relayUrl` empty it is the loopback relay at
// 127.0.0.1:8771, shared by every window (and the CLI) on this machine. The first window (or
// command) that needs it finds nothing answering GET /healthz and starts it as a
// detached process of its own (the shipped relay bundle, dist/relay.mjs), so it outlives the
// window: reloading or closing the window that started it does not end the pairings in flight
// through it, this window's or anyone else's. It keeps inboxes, grants and queued messages in a
// SQLite file in this OS user's state directory (localRelayStateDir: $AGENT_PAIR_STATE_DIR, else
// $XDG_STATE_HOME/agent-pair, else ~/.local/state/agent-pair), so its exit loses nothing. It exits
// on its own after LOCAL_RELAY_IDLE_EXIT_SECONDS with no pairing in flight, or on Agent Pair: Stop
// Local Relay from any window; then whatever needs it next (a pairing, a send, a pull) starts it
// again (startingLocalRelay).
//
// Two windows starting it at once race for the port; the loser's process exits and the loser
// uses the winner's. The process that holds the port writes a record (pid, url, start time) in
// this OS user's Agent Pair home (`~/.agent-pair`, or `$AGENT_PAIR_HOME`), shared by every
// window, profile and editor instance of the user (the port is one per machine, so the record
// must not be per profile), which is how any of them finds it to stop it. A relay that
// something else runs (a CLI, `agent-pair relay`) has no record and is left alone. A window
// holds nothing of the relay, so there is nothing to release when it closes.
//
// Nothing here imports `vscode`: the setting comes in as a function and the storage as a path,
// so this is tested with real relay processes on free ports. Nothing here is worded for a person
// either: what happened comes out as events and failures as data (RelayChoiceError), which each
// adapter words for its audience (VS Code names its setting, the CLI its --relay option).

import type { ChildProcess } from 'node:child_process';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type ErrorCode, PairError, isPairError, errorMessage } from '../core/errors.js';
import { normaliseRelayUrl } from '../relay/client.js';
import { mkdir, readFile, rm } from './fsAsync.js';
import { DEFAULT_RELAY_HOST, DEFAULT_RELAY_PORT, EXIT_STORE_IN_USE, type RelayProcessRecord, relayAnswers } from '../relay/embedded.js';
import type { RelayConnector, RelayPort } from '../core/ports.js';

/**
 * The relay process exits after this long with no pairing in flight (and no request). Longer
 * than a pairing slot lives, so a person who steps away mid-pairing still finds it.
 */
export const LOCAL_RELAY_IDLE_EXIT_SECONDS = 600;
/** How long a started relay process gets to answer GET /healthz. */
export const LOCAL_RELAY_START_TIMEOUT_MS = 5_000;
/** How long Stop Local Relay waits for the relay to stop answering. */
export const LOCAL_RELAY_STOP_TIMEOUT_MS = 5_000;
/** The record's file name in the state directory (on another port than 8771: local-relay-PORT.json). */
export const LOCAL_RELAY_RECORD_FILE = 'local-relay.json';
/** The local relay's SQLite file in localRelayStateDir() (on another port than 8771: relay-PORT.sqlite). */
export const LOCAL_RELAY_STORE_FILE = 'relay.sqlite';
/** Overrides where the local relay keeps its file (tests point it at a temporary directory). */
export const LOCAL_RELAY_STATE_DIR_ENV = 'AGENT_PAIR_STATE_DIR';
/**
 * Overrides the local relay's port (default 8771) for the CLI and VS Code alike, so both still
 * share one: for a machine where 8771 is taken, and for tests beside a developer's own relay.
 */
export const LOCAL_RELAY_PORT_ENV = 'AGENT_PAIR_LOCAL_RELAY_PORT';

/** The local relay's port: $AGENT_PAIR_LOCAL_RELAY_PORT, else the default relay's (8771). */
export function localRelayPort(env: NodeJS.ProcessEnv = process.env): number {
  const text = env[LOCAL_RELAY_PORT_ENV];
  if (text === undefined || text === '') return DEFAULT_RELAY_PORT;
  const port = Number(text);
  if (!/^\d+$/.test(text) || port < 1 || port > 65_535) throw new PairError('bad_input', `${LOCAL_RELAY_PORT_ENV} is ${JSON.stringify(text)}; expected a port, 1 to 65535.`);
  return port;
}

/**
 * The SQLite file of the local relay on `port`: one relay per port, one file per relay, so a
 * relay on another port (a test's) never meets the lock of the one on 8771.
 */
export function localRelayStorePath(port: number, env: NodeJS.ProcessEnv = process.env): string {
  return join(localRelayStateDir(env), port === DEFAULT_RELAY_PORT ? LOCAL_RELAY_STORE_FILE : `relay-${port}.sqlite`);
}

/** The record of the local relay process on `port`, like its SQLite file one per port. */
export function localRelayRecordFile(port: number): string {
  return port === DEFAULT_RELAY_PORT ? LOCAL_RELAY_RECORD_FILE : `local-relay-${port}.json`;
}

/**
 * This OS user's directory for state that is not configuration: `$AGENT_PAIR_STATE_DIR`, else
 * `$XDG_STATE_HOME/agent-pair`, else `~/.local/state/agent-pair` (on Windows
 * `%LOCALAPPDATA%\agent-pair`). One for every home, window and profile, like the port.
 */
export function localRelayStateDir(env: NodeJS.ProcessEnv = process.env): string {
  const configured = env[LOCAL_RELAY_STATE_DIR_ENV];
  if (configured !== undefined && configured !== '') return resolve(configured);
  const xdg = env['XDG_STATE_HOME'];
  if (xdg !== undefined && xdg !== '') return join(resolve(xdg), 'agent-pair');
  const localAppData = env['LOCALAPPDATA'];
  if (process.platform === 'win32' && localAppData !== undefined && localAppData !== '') return join(localAppData, 'agent-pair');
  return join(homedir(), '.local', 'state', 'agent-pair');
}
const POLL_MS = 50;

/** How to run the relay process; the relay's own flags are appended to `args`. */
export interface RelayCommand {
  command: string;
  args: string[];
  /** Added to this process's environment. */
  env?: Record<string, string>;
  /** Default: the state directory (never a workspace folder, which the process would hold on to). */
  cwd?: string;
}

/**
 * The relay bundle run by this runtime. In VS Code desktop the extension host's execPath is the
 * Electron binary, which ELECTRON_RUN_AS_NODE turns into plain Node; under code-server or a
 * remote extension host it already is Node, which ignores the variable.
 */
export function nodeScriptCommand(script: string): RelayCommand {
  return { command: process.execPath, args: [script], env: { ELECTRON_RUN_AS_NODE: '1' } };
}

/** What the shared local relay did, for an adapter's log. */
export type LocalRelayEvent =
  /** It answered already: started by a window (`process`), or run by another process. */
  | { type: 'using'; url: string; process?: RelayProcessRecord }
  /** Nothing answered: its process is being started. */
  | { type: 'starting'; url: string; pid?: number }
  /** This call started it, in `ms`; it exits after `idleExitSeconds` with no pairing in flight. */
  | { type: 'started'; url: string; process: RelayProcessRecord; ms: number; idleExitSeconds: number }
  /** Another window (`process`) or process started it meanwhile, and won the port. */
  | { type: 'startedByOther'; url: string; process?: RelayProcessRecord }
  | { type: 'stopped'; process: RelayProcessRecord };

/** Why the relay could not be chosen or started: data for the adapters to word. */
export type RelayChoiceFailure =
  /** The configured relay (the VS Code setting) is not a relay URL; `problem` says how. */
  | { reason: 'bad_configured_url'; value: string; problem: string }
  /** The state directory for the record could not be created. */
  | { reason: 'state_dir'; url: string; stateDir: string; detail: string }
  /** The relay process ended (or never ran) and nothing answers: `detail` like "exit code 1", "spawn ... ENOENT". */
  | { reason: 'process_ended'; url: string; port: number; detail: string }
  /** The relay process ran but did not answer within `waitedMs` (it was killed). */
  | { reason: 'no_answer'; url: string; waitedMs: number };

/** A failure of RelayChoice: a PairError (its code) that carries the data, for the adapter to word. */
export class RelayChoiceError extends PairError {
  constructor(
    readonly failure: RelayChoiceFailure,
    options?: { cause?: unknown },
  ) {
    super(failureCode(failure), plainFact(failure), options);
  }
}

/** The failure as a plain fact, with no advice (advice names an adapter's setting or option). */
function plainFact(failure: RelayChoiceFailure): string {
  switch (failure.reason) {
    case 'bad_configured_url':
      return `The configured relay ${JSON.stringify(failure.value)} is not a relay URL (${failure.problem}).`;
    case 'state_dir':
      return `No relay answers at ${failure.url}, and the local relay's state directory ${failure.stateDir} could not be created (${failure.detail}).`;
    case 'process_ended':
      return `No relay answers at ${failure.url}, and the local relay process could not start there (${failure.detail}).`;
    case 'no_answer':
      return `The local relay process did not answer at ${failure.url} within ${failure.waitedMs / 1000} s.`;
  }
}

function failureCode(failure: RelayChoiceFailure): ErrorCode {
  return failure.reason === 'bad_configured_url' ? 'bad_input' : 'relay_unreachable';
}

export function isRelayChoiceError(value: unknown): value is RelayChoiceError {
  return value instanceof RelayChoiceError;
}

export interface RelayChoiceOptions {
  /** The configured relay, like VS Code's `agentPair.relayUrl` (read on every use, so a change applies at once); empty for the local one. */
  configuredUrl: () => string;
  /** The loopback port of the shared relay; tests pass a free one. */
  port?: number;
  onEvent?: (event: LocalRelayEvent) => void;
  /**
   * A directory shared by everything of this OS user, whatever home or window started the relay
   * (localRelayStateDir()): the record lives there, so any of them finds the process to stop.
   */
  stateDir: string;
  /** How to run the relay process: dist/relay.mjs in the extension; tests run the TypeScript entry. */
  relayCommand: RelayCommand;
  idleExitSeconds?: number;
  startTimeoutMs?: number;
  /** The SQLite file the started relay keeps its inboxes in; default localRelayStorePath(port). */
  storePath?: string;
}

export interface LocalRelayStatus {
  url: string;
  /** True if this call started the relay process (false: it answered already, or another won the race). */
  started: boolean;
  /**
   * The relay process a VS Code window started, which any window can stop. Undefined when
   * another process runs the relay (a CLI pairing, `agent-pair relay`).
   */
  process?: RelayProcessRecord;
}

export type StopLocalResult =
  | { outcome: 'stopped'; process: RelayProcessRecord }
  /** Nothing answers at the local URL. */
  | { outcome: 'not_running' }
  /** A relay answers but no window started it: it stops when the process running it ends. */
  | { outcome: 'other_process' }
  /** Signalled, but it still answered when the wait ran out. */
  | { outcome: 'still_running'; process: RelayProcessRecord };

export class RelayChoice {
  private readonly port: number;
  readonly localUrl: string;
  readonly recordPath: string;
  readonly idleExitSeconds: number;
  readonly storePath: string;
  /** One probe-or-start at a time, so concurrent pairings never race each other for the port. */
  private ensuring: Promise<LocalRelayStatus> | undefined;

  constructor(private readonly options: RelayChoiceOptions) {
    this.port = options.port ?? DEFAULT_RELAY_PORT;
    this.localUrl = `http://${DEFAULT_RELAY_HOST}:${this.port}`;
    this.recordPath = join(options.stateDir, localRelayRecordFile(this.port));
    this.idleExitSeconds = options.idleExitSeconds ?? LOCAL_RELAY_IDLE_EXIT_SECONDS;
    this.storePath = options.storePath ?? localRelayStorePath(this.port);
  }

  /** The configured relay, normalised, or undefined when the setting is empty (use the local one). */
  configured(): string | undefined {
    const value = this.options.configuredUrl().trim();
    if (value === '') return undefined;
    try {
      return normaliseRelayUrl(value);
    } catch (error) {
      if (isPairError(error, 'bad_input')) throw new RelayChoiceError({ reason: 'bad_configured_url', value, problem: error.message }, { cause: error });
      throw error;
    }
  }

  /**
   * The relay for a new pairing: the configured one, else the local one. Opening a pairing on
   * the local one starts it if needed (see startingLocalRelay).
   */
  forNewPairing(): string {
    return this.configured() ?? this.localUrl;
  }

  /** True if `url` is the shared loopback relay (which this window may restart). */
  isLocal(url: string): boolean {
    return normaliseRelayUrl(url) === this.localUrl;
  }

  /** Makes sure the loopback relay answers: probes it, and starts its process if nothing does. */
  ensureLocal(): Promise<LocalRelayStatus> {
    this.ensuring ??= this.probeOrStart().finally(() => {
      this.ensuring = undefined;
    });
    return this.ensuring;
  }

  /** The loopback relay if it answers, without starting one. */
  async localStatus(): Promise<LocalRelayStatus | undefined> {
    if (!(await relayAnswers(this.localUrl))) return undefined;
    const record = await this.liveRecord();
    return { url: this.localUrl, started: false, ...(record && { process: record }) };
  }

  /**
   * Stops the relay process a window started, whichever window that was: SIGTERM (it answers
   * its long polls and closes gracefully), then waits until it no longer answers.
   */
  async stopLocal(): Promise<StopLocalResult> {
    const record = await this.liveRecord();
    if (!record) return (await relayAnswers(this.localUrl)) ? { outcome: 'other_process' } : { outcome: 'not_running' };
    if (!(await relayAnswers(record.url))) {
      // Alive but not answering at its URL: not something to signal on a guess.
      return { outcome: 'not_running' };
    }
    try {
      process.kill(record.pid, 'SIGTERM');
    } catch {
      // It exited between the check and the signal.
    }
    const deadline = Date.now() + LOCAL_RELAY_STOP_TIMEOUT_MS;
    while (await relayAnswers(record.url)) {
      if (Date.now() > deadline) return { outcome: 'still_running', process: record };
      await sleep(POLL_MS);
    }
    await this.removeRecord(record.pid);
    this.emit({ type: 'stopped', process: record });
    return { outcome: 'stopped', process: record };
  }

  private async probeOrStart(): Promise<LocalRelayStatus> {
    if (await relayAnswers(this.localUrl)) {
      const record = await this.liveRecord();
      this.emit({ type: 'using', url: this.localUrl, ...(record && { process: record }) });
      return { url: this.localUrl, started: false, ...(record && { process: record }) };
    }
    return this.startProcess();
  }

  /** Starts the relay process and waits until the relay answers (its own, or a racing window's). */
  private async startProcess(): Promise<LocalRelayStatus> {
    const url = this.localUrl;
    const began = Date.now();
    for (const stateDir of [this.options.stateDir, dirname(this.storePath)]) {
      try {
        await mkdir(stateDir, { recursive: true, mode: 0o700 });
      } catch (error) {
        throw new RelayChoiceError({ reason: 'state_dir', url, stateDir, detail: errorMessage(error) }, { cause: error });
      }
    }
    const command = this.options.relayCommand;
    // Loaded here, not at startup: child_process is a few milliseconds of every window's start.
    const { spawn } = await import('node:child_process');
    const args = [...command.args, '--host', DEFAULT_RELAY_HOST, '--port', String(this.port), '--store', `sqlite:${this.storePath}`, '--idle-exit', String(this.idleExitSeconds), '--record', this.recordPath];
    let ended: string | undefined;
    let child: ChildProcess | undefined;
    try {
      child = spawn(command.command, args, {
        detached: true,
        stdio: 'ignore',
        env: { ...process.env, ...command.env },
        cwd: command.cwd ?? this.options.stateDir,
        windowsHide: true,
      });
      child.once('error', (error) => {
        ended ??= errorMessage(error);
      });
      child.once('exit', (code, signal) => {
        // EXIT_STORE_IN_USE: another relay is starting on this store (a racing window's); wait for it, below.
        if (code !== EXIT_STORE_IN_USE) ended ??= signal === null ? `exit code ${String(code)}` : `killed by ${signal}`;
      });
      child.unref();
    } catch (error) {
      ended = errorMessage(error);
    }
    this.emit({ type: 'starting', url, ...(child?.pid !== undefined && { pid: child.pid }) });

    const deadline = began + (this.options.startTimeoutMs ?? LOCAL_RELAY_START_TIMEOUT_MS);
    for (;;) {
      if (await relayAnswers(url)) break;
      if (ended !== undefined) {
        // Lost the race for the port to another window (or a CLI) that answers by now, or failed.
        // (One that lost the race for the store waits for the winner until the deadline, below.)
        if (await relayAnswers(url)) break;
        throw new RelayChoiceError({ reason: 'process_ended', url, port: this.port, detail: ended });
      }
      if (Date.now() > deadline) {
        child?.kill();
        throw new RelayChoiceError({ reason: 'no_answer', url, waitedMs: deadline - began });
      }
      await sleep(POLL_MS);
    }

    const record = await this.liveRecord();
    const started = record !== undefined && child?.pid !== undefined && record.pid === child.pid;
    if (started) this.emit({ type: 'started', url, process: record, ms: Date.now() - began, idleExitSeconds: this.idleExitSeconds });
    else this.emit({ type: 'startedByOther', url, ...(record && { process: record }) });
    return { url, started, ...(record && { process: record }) };
  }

  private emit(event: LocalRelayEvent): void {
    this.options.onEvent?.(event);
  }

  /**
   * The record of the relay process a window started, if that process still runs; a record
   * left by one that did not exit gracefully (killed, crashed) is removed.
   */
  private async liveRecord(): Promise<RelayProcessRecord | undefined> {
    let record: RelayProcessRecord;
    try {
      const parsed: unknown = JSON.parse(await readFile(this.recordPath, 'utf8'));
      if (!isRecord(parsed) || parsed.url !== this.localUrl) return undefined;
      record = parsed;
    } catch {
      return undefined;
    }
    if (await this.isRelayProcess(record.pid)) return record;
    await this.removeRecord(record.pid);
    return undefined;
  }

  /** True if `pid` runs, and on Linux, runs a relay given this record path (a reused pid does not). */
  private async isRelayProcess(pid: number): Promise<boolean> {
    try {
      process.kill(pid, 0);
    } catch {
      return false; // ESRCH: gone; EPERM: another user's process, so not the relay a window of ours started
    }
    if (process.platform !== 'linux') return true;
    try {
      return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').includes(this.recordPath);
    } catch {
      return false;
    }
  }

  /** Removes the record if it still names `pid` (a newer relay may have replaced it). */
  private async removeRecord(pid: number): Promise<void> {
    let current: unknown;
    try {
      current = JSON.parse(await readFile(this.recordPath, 'utf8'));
    } catch {
      current = undefined; // gone already, or unreadable: nothing worth keeping
    }
    if (isRecord(current) && current.pid !== pid) return;
    await rm(this.recordPath, { force: true }).catch(() => undefined);
  }
}

function isRecord(value: unknown): value is RelayProcessRecord {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Partial<Record<keyof RelayProcessRecord, unknown>>;
  return typeof record.pid === 'number' && Number.isInteger(record.pid) && record.pid > 0 && typeof record.url === 'string' && typeof record.startedAt === 'string';
}

/**
 * A connector whose ports to the loopback relay start it whenever it is needed, whoever calls:
 * a command, an agent over MCP, a VS Code window. Anything that starts a pairing or an inbox
 * there (open, join, allocate) makes sure it runs first. Any other call (a send, a pull, an
 * acknowledgement, a grant) goes straight through, and when it finds nothing answering (the relay
 * exited when idle, or was killed) starts it and tries once more: the relay keeps inboxes and
 * queued messages in its file, so the second try meets them. Pairing slots do not survive it; a
 * pairing in flight meets `expired`, and its driver says so.
 */
export function startingLocalRelay(inner: RelayConnector, relays: RelayChoice): RelayConnector {
  return (url) => {
    const port = inner(url);
    if (!relays.isLocal(port.url)) return port;
    const ensure = async (): Promise<void> => {
      await relays.ensureLocal();
    };
    const restarting = async <T>(call: () => Promise<T>): Promise<T> => {
      try {
        return await call();
      } catch (error) {
        if (!isPairError(error, 'relay_unreachable') || (await relayAnswers(relays.localUrl))) throw error;
        await ensure();
        return call();
      }
    };
    const wrapped: RelayPort = {
      url: port.url,
      openHost: async () => (await ensure(), port.openHost()),
      joinGuest: async (nameplate) => (await ensure(), port.joinGuest(nameplate)),
      allocateSlot: async () => (await ensure(), port.allocateSlot()),
      put: (pairId, token, field, value) => port.put(pairId, token, field, value),
      get: (pairId, token, poll) => port.get(pairId, token, poll),
      grant: (slotId, ownerToken) => restarting(() => port.grant(slotId, ownerToken)),
      revokeGrant: (slotId, ownerToken, grantId) => restarting(() => port.revokeGrant(slotId, ownerToken, grantId)),
      postMessage: (slotId, sendToken, envelope) => restarting(() => port.postMessage(slotId, sendToken, envelope)),
      readMessages: (slotId, ownerToken, poll) => restarting(() => port.readMessages(slotId, ownerToken, poll)),
      ackMessages: (slotId, ownerToken, through) => restarting(() => port.ackMessages(slotId, ownerToken, through)),
    };
    return wrapped;
  };
}
