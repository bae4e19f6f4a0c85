// Debian's chromium, for the webview page tests (playwright-core drives it; it cannot download a
// browser here). Where it is missing those tests skip on a developer's machine, but in CI
// (CI=true) they run and fail: a CI run must never pass without having rendered the pages.
// `scripts/run-tests.mjs` installs chromium first when CI=true (scripts/install-chromium.sh).

import { existsSync } from 'node:fs';

export const CHROMIUM = '/usr/bin/chromium';

/** The `skip` option of a suite that needs chromium (`path` and `env` for this helper's own test). */
export function skipWithoutChromium(path = CHROMIUM, env: NodeJS.ProcessEnv = process.env): string | false {
  if (existsSync(path) || env['CI'] === 'true') return false;
  return `${path} is not installed (bash scripts/install-chromium.sh installs it; in CI this fails instead of skipping)`;
}
