// The webview page tests skip without chromium on a developer's machine, never in CI (CI=true).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { skipWithoutChromium } from '../helpers/chromium.js';

const MISSING = '/nonexistent/agent-pair/chromium';

describe('tests that need chromium', () => {
  it('skip where it is missing, naming what to install', () => {
    const skip = skipWithoutChromium(MISSING, {});
    assert.equal(typeof skip, 'string');
    assert.match(String(skip), /install-chromium\.sh/);
  });

  it('run (and so fail) in CI where it is missing', () => {
    assert.equal(skipWithoutChromium(MISSING, { CI: 'true' }), false);
  });

  it('run where it is installed', () => {
    assert.equal(skipWithoutChromium(process.execPath, {}), false);
  });
});
