import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { contentSecurityPolicy, panelHtml } from '../../src/vscode/panelHtml.js';

const page = {
  title: 'Agent Pair: Verify 47',
  cspSource: 'https://*.vscode-cdn.net',
  nonce: 'n0nce+/=',
  scriptUri: 'https://file+.vscode-resource.vscode-cdn.net/ext/media/sasPanel.js',
  styleUris: ['https://file+.vscode-resource.vscode-cdn.net/ext/media/webview.css', 'https://file+.vscode-resource.vscode-cdn.net/ext/media/sasPanel.css'],
};

describe('panelHtml', () => {
  const html = panelHtml(page);

  it('declares a CSP that allows only our stylesheet and the nonce-carrying script', () => {
    assert.equal(contentSecurityPolicy(page.cspSource, page.nonce), "default-src 'none'; style-src https://*.vscode-cdn.net; script-src 'nonce-n0nce+/='");
    assert.ok(html.includes(`<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;; style-src https://*.vscode-cdn.net; script-src &#39;nonce-n0nce+/=&#39;">`));
    assert.ok(!html.includes('unsafe-inline') && !html.includes('unsafe-eval'));
  });

  it('has one script, external and carrying the nonce, and no inline style or handlers', () => {
    const scripts = html.match(/<script\b[^>]*>/g) ?? [];
    assert.deepEqual(scripts, [`<script nonce="n0nce+/=" src="${page.scriptUri}">`]);
    assert.ok(!/<style\b/.test(html));
    assert.ok(!/\sstyle=/.test(html));
    assert.ok(!/\son[a-z]+=/.test(html));
  });

  it('links the stylesheet every page shares, then the page\'s own', () => {
    assert.deepEqual(html.match(/<link\b[^>]*>/g), page.styleUris.map((uri) => `<link rel="stylesheet" href="${uri}">`));
  });

  it('has the stable ids the end-to-end tests select', () => {
    for (const id of ['agent-pair-sas', 'state', 'time-left', 'sas', 'confirm-form', 'peer-digits', 'confirm', 'abort', 'input-error', 'peer', 'error', 'heading']) {
      assert.ok(html.includes(`id="${id}"`), id);
    }
  });

  it('labels the digits input, asks for a numeric keyboard, and announces state changes', () => {
    assert.ok(html.includes('<label for="peer-digits">'));
    assert.match(html, /<input id="peer-digits"[^>]*inputmode="numeric"[^>]*autofocus>/s);
    assert.match(html, /<p id="state" role="status" aria-live="polite"/);
  });

  it('escapes what it interpolates', () => {
    const hostile = panelHtml({ ...page, title: '<script>alert(1)</script>', nonce: '"><script>' });
    assert.ok(!hostile.includes('<script>alert(1)'));
    assert.ok(!hostile.includes('"><script>'));
  });
});
