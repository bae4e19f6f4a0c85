// Debian's chromium, for the webview page tests (playwright-core drives it; it cannot download a
// browser here). Where it is missing those tests skip on a developer's machine, but in CI
// (CI=true) they run and fail: a CI run must never pass without having rendered the pages.
// `scripts/run-tests.mjs` installs chromium first when CI=true (scripts/install-chromium.sh).

import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before } from 'node:test';
import type { Browser, Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** The `skip` option of a suite that needs chromium (`path` and `env` for this helper's own test). */
export function skipWithoutChromium(path = CHROMIUM, env: NodeJS.ProcessEnv = process.env): string | false {
  if (existsSync(path) || env['CI'] === 'true') return false;
  return `${path} is not installed (bash scripts/install-chromium.sh installs it; in CI this fails instead of skipping)`;
}

let launched: Promise<Browser> | undefined;

/**
 * The Chromium features playwright-core turns off at every launch (its chromiumSwitches), then the
 * omnibox's WebUI popups: headless Chromium still gives each tab an omnibox and preloads its
 * popup, a chrome://omnibox-popup page in a renderer process of its own that no test ever shows.
 * Turned off, test/vscode/webviewPages took 4 CPU-seconds less (median of 4 paired runs, 13.5
 * against 9.6, every chromium process counted; the runner's GNU time, which does not see every
 * chromium process, 0.8). Chromium keeps only the last --disable-features it is given, so this
 * list, passed after playwright-core's, repeats it; sharedChromium checks that it still does.
 */
const DISABLED_FEATURES = [
  'AvoidUnnecessaryBeforeUnloadCheckSync',
  'DestroyProfileOnBrowserClose',
  'HttpsUpgrades',
  'HttpsFirstBalancedModeAutoEnable',
  'LensOverlay',
  'MediaRouter',
  'PaintHolding',
  'ThirdPartyStoragePartitioning',
  'AvoidCorsURLLoaderRestartOnRedirect',
  'TcpPortRandomizationWin',
  'OptimizationHints',
  'NetworkTimeServiceQuerying',
  'AimEnabled',
  'PreconnectToSearch',
  'msForceBrowserSignIn',
  'msEdgeUpdateLaunchServicesPreferredVersion',
  'WebUIOmniboxPopup',
  'WebUIOmniboxAimPopup',
  'WebUIOmniboxFullPopup',
];
const DISABLE_FEATURES = '--disable-features=';

/**
 * The one chromium of this test process, launched at the first call: a launch is about 1.5
 * CPU-seconds, so the page suites share it, each test still on a page loaded afresh (closeSharedChromium
 * ends it). playwright-core is loaded here, not with this module: loading it is about 0.7
 * CPU-seconds, which chromiumSkip.test.ts (skipWithoutChromium alone) need not pay.
 */
export function sharedChromium(): Promise<Browser> {
  launched ??= import('playwright-core').then(async ({ chromium }) => {
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-background-networking', `${DISABLE_FEATURES}${DISABLED_FEATURES.join(',')}`] });
    try {
      const dropped = featuresOnlyPlaywrightDisables();
      if (dropped.length > 0) throw new Error(`playwright-core now turns off ${dropped.join(', ')} as well: DISABLED_FEATURES (test/helpers/chromium.ts) must name every feature it turns off`);
    } catch (error) {
      await browser.close();
      throw error;
    }
    return browser;
  });
  return launched;
}

/**
 * The features an earlier --disable-features of the chromium this process launched names and
 * DISABLED_FEATURES (the last, the one Chromium keeps) lacks: its command line, read where Linux
 * shows it (the chromium is a child of this process).
 */
function featuresOnlyPlaywrightDisables(): string[] {
  if (process.platform !== 'linux') return [];
  const children = readdirSync(`/proc/${process.pid}/task`).flatMap((task) => readFileSync(`/proc/${process.pid}/task/${task}/children`, 'utf8').split(' ').filter(Boolean));
  const args = children.map(commandLineOf).find((line) => line.includes('--remote-debugging-pipe'));
  if (args === undefined) throw new Error('the chromium playwright-core launched is not a child of this process');
  const lists = args.filter((arg) => arg.startsWith(DISABLE_FEATURES)).map((arg) => arg.slice(DISABLE_FEATURES.length).split(','));
  if (lists.at(-1)?.join(',') !== DISABLED_FEATURES.join(',')) throw new Error(`chromium was not given DISABLED_FEATURES last: ${JSON.stringify(lists)}`);
  return [...new Set(lists.flat())].filter((feature) => !DISABLED_FEATURES.includes(feature));
}

/** Process `pid`'s arguments; none if it has exited since it was listed. */
function commandLineOf(pid: string): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return [];
  }
}

export async function closeSharedChromium(): Promise<void> {
  const browser = launched;
  launched = undefined;
  sharedTab = undefined;
  await (await browser)?.close();
}

/** A webview page served from a local origin, as the browser loads it: its HTML at `/`, its media files beside it. */
export interface ServedPage {
  origin: string;
  close(): Promise<void>;
}

/**
 * Serves `html(origin)` at `/` and each of `mediaFiles` (read from media/) at `/NAME`, on a
 * loopback port of its own: the page's CSP names its origin, known once the server listens.
 */
export async function servePage(html: (origin: string) => string, mediaFiles: string[]): Promise<ServedPage> {
  const routes = new Map(mediaFiles.map((name) => [`/${name}`, [name.endsWith('.css') ? 'text/css' : 'text/javascript', readFileSync(new URL(`../../media/${name}`, import.meta.url), 'utf8')] as const]));
  let page = '';
  const server = createServer((request, response) => {
    const route = request.url === '/' ? (['text/html', page] as const) : routes.get(request.url ?? '');
    response.writeHead(route ? 200 : 404, { 'content-type': route?.[0] ?? 'text/plain' });
    response.end(route?.[1] ?? 'not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  page = html(origin);
  return {
    origin,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      }),
  };
}

/** A webview page loaded in chromium, as VS Code would host it. */
export interface OpenWebview {
  page: Page;
  /** Console lines where the page broke its Content Security Policy. */
  cspViolations: string[];
  /** What the page posted to the extension, in order. */
  sent: () => Promise<unknown[]>;
  /** Posts `message` to the page, as the extension does, and lets it render. */
  post: (message: unknown) => Promise<void>;
  /** Posts `{ type: 'view', view: shown }`. */
  show: (shown: unknown) => Promise<void>;
}

/** A tab of the shared chromium: `open(origin)` loads the page at `origin` afresh in it. */
interface WebviewTab {
  open: (origin: string) => Promise<OpenWebview>;
}

let sharedTab: Promise<WebviewTab> | undefined;

/**
 * The one tab of the shared chromium (closed with it), in which each `open(origin)` loads a page
 * afresh: a new document, script and stand-in API each time, so no test sees another's state. One
 * tab serves every suite because each new tab starts a renderer process of its own, while a page
 * of the same site (every page here is on 127.0.0.1) loads in the tab's: a tab per suite cost the
 * page tests 0.9 CPU-seconds more a run (median of 6 paired runs, every chromium process counted).
 */
function sharedWebviewTab(): Promise<WebviewTab> {
  sharedTab ??= sharedChromium().then(async (browser) => {
    const page = await browser.newPage();
    // The open page's list: a page's console messages all arrive before the call that follows them
    // in that page returns, so none reaches the next open's list.
    let cspViolations: string[] = [];
    page.on('console', (message) => {
      if (message.text().includes('Content Security Policy')) cspViolations.push(message.text());
    });
    // A string, not a function: tsx's transform of a function would reference its own helpers.
    await page.addInitScript({ content: 'window.__sent = []; window.acquireVsCodeApi = () => ({ postMessage: (message) => window.__sent.push(message) });' });
    const post = async (message: unknown): Promise<void> => {
      await page.evaluate(`window.postMessage(${JSON.stringify(message)}, '*')`);
      await page.waitForTimeout(30);
    };
    const open = async (origin: string): Promise<OpenWebview> => {
      cspViolations = [];
      const violations = cspViolations;
      await page.goto(origin);
      return { page, cspViolations: violations, post, sent: () => page.evaluate<unknown[]>('window.__sent'), show: (shown) => post({ type: 'view', view: shown }) };
    };
    return { open };
  });
  return sharedTab;
}

/**
 * For one suite (call it inside `describe`): serves the page `html` makes, with `mediaFiles`,
 * before its tests and closes it after; the function returned loads it afresh in the shared tab
 * (sharedWebviewTab).
 */
export function webviewSuite(html: (origin: string) => string, mediaFiles: string[]): () => Promise<OpenWebview> {
  let served: ServedPage | undefined;
  let tab: WebviewTab | undefined;
  before(async () => {
    served = await servePage(html, mediaFiles);
    tab = await sharedWebviewTab();
  });
  after(async () => {
    await served?.close();
  });
  return () => {
    if (!tab || !served) throw new Error('webviewSuite: the page is served only once the suite has started');
    return tab.open(served.origin);
  };
}
