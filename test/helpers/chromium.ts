// Debian's chromium, for the webview page tests (playwright-core drives it; it cannot download a
// browser here). Where it is missing those tests skip on a developer's machine, but in CI
// (CI=true) they run and fail: a CI run must never pass without having rendered the pages.
// `scripts/run-tests.mjs` installs chromium first when CI=true (scripts/install-chromium.sh).

import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** The `skip` option of a suite that needs chromium (`path` and `env` for this helper's own test). */
export function skipWithoutChromium(path = CHROMIUM, env: NodeJS.ProcessEnv = process.env): string | false {
  if (existsSync(path) || env['CI'] === 'true') return false;
  return `${path} is not installed (bash scripts/install-chromium.sh installs it; in CI this fails instead of skipping)`;
}

let launched: Promise<Browser> | undefined;

/**
 * The one chromium of this test process, launched at the first call: a launch is about 1.5
 * CPU-seconds, so the page suites share it, each page still a fresh one (closeSharedChromium
 * ends it).
 */
export function sharedChromium(): Promise<Browser> {
  launched ??= chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-background-networking'] });
  return launched;
}

export async function closeSharedChromium(): Promise<void> {
  const browser = launched;
  launched = undefined;
  await (await browser)?.close();
}
