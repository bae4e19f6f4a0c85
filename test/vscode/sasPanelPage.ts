// The SAS panel's page (panelHtml + media/sasPanel.js + media/sasPanel.css) in a real browser,
// outside VS Code: served from a local origin under the same CSP the extension sets, with
// `acquireVsCodeApi` stood in to record what the page posts. Skipped where Debian's chromium
// is not installed (the e2e installer puts it there). Run by
// webviewPages.test.ts, on the browser it shares with the other page.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PanelView } from '../../src/vscode/panelMessages.js';
import { panelHtml } from '../../src/vscode/panelHtml.js';
import { skipWithoutChromium, webviewSuite } from '../helpers/chromium.js';

const NONCE = 'dGVzdC1ub25jZS0xMjM0';

function view(fields: Partial<PanelView> = {}): PanelView {
  return { nameplate: '47', role: 'host', state: 'opened', stateText: 'waiting for the other person to join', nextStep: 'The SAS appears here once the other person has joined with the code.', secondsLeft: 598, canConfirm: false, checking: false, ...fields };
}

/** The seconds a `M:SS left` countdown shows, failing on anything else. */
function secondsShown(text: string | null): number {
  const match = /^(\d+):(\d\d) left$/.exec(text ?? '');
  assert.ok(match, `a countdown, not ${String(text)}`);
  return Number(match[1]) * 60 + Number(match[2]);
}

const sasReady = view({ state: 'sas_ready', stateText: 'verify the SAS', sas: '594-376', canConfirm: true, secondsLeft: 300 });

describe('the SAS panel page in chromium', { skip: skipWithoutChromium() }, () => {
  const open = webviewSuite((origin) => panelHtml({ title: 'Agent Pair: Verify 47', cspSource: origin, nonce: NONCE, scriptUri: `${origin}/sasPanel.js`, styleUris: [`${origin}/webview.css`, `${origin}/sasPanel.css`] }), ['sasPanel.js', 'webview.css', 'sasPanel.css']);

  it('loads its script and stylesheets under the CSP and asks for the view', async () => {
    const { page, sent, cspViolations } = await open();
    assert.deepEqual(await sent(), [{ type: 'ready' }]);
    // Both stylesheets applied: the SAS is set large (the page's), buttons point (the shared one),
    // and the page's own button spacing wins over the shared.
    await page.evaluate("document.getElementById('sas-section').removeAttribute('hidden')");
    assert.ok(Number.parseFloat(await page.evaluate<string>("getComputedStyle(document.getElementById('sas')).fontSize")) > 30);
    assert.equal(await page.evaluate<string>("getComputedStyle(document.getElementById('confirm')).cursor"), 'pointer');
    assert.equal(await page.evaluate<string>("getComputedStyle(document.getElementById('confirm')).paddingTop"), '6px');
    assert.deepEqual(cspViolations, []);
  });

  it('refuses a script without the nonce', async () => {
    const { page, cspViolations } = await open();
    const ran = await page.evaluate<boolean>(`(() => {
      const script = document.createElement('script');
      script.textContent = 'window.__injected = true;';
      document.body.append(script);
      return window.__injected === true;
    })()`);
    assert.equal(ran, false);
    assert.equal(cspViolations.length, 1);
  });

  it('shows the waiting state with a ticking countdown and an abort button, no SAS and no input', async () => {
    const { page, show } = await open();
    const shownAt = Date.now();
    await show(view({ secondsLeft: 125 }));
    assert.equal(await page.locator('#agent-pair-sas').getAttribute('data-state'), 'opened');
    assert.equal(await page.locator('#state').textContent(), 'Waiting for the other person to join');
    // 2:05 as shown, less the whole seconds gone by before the test reads it: on a loaded machine
    // reading the page can take seconds.
    const first = await page.locator('#time-left').textContent();
    const firstSeconds = secondsShown(first);
    assert.ok(firstSeconds <= 125 && firstSeconds >= 125 - Math.ceil((Date.now() - shownAt) / 1000) - 1, `shows ${String(first)}`);
    // (waitForFunction would need eval, which the page's CSP rightly refuses.)
    const deadline = Date.now() + 10_000;
    while ((await page.locator('#time-left').textContent()) === first) {
      assert.ok(Date.now() < deadline, 'the countdown ticks');
      await page.waitForTimeout(50);
    }
    const next = await page.locator('#time-left').textContent();
    assert.ok(secondsShown(next) < firstSeconds && secondsShown(next) >= 125 - Math.ceil((Date.now() - shownAt) / 1000) - 1, `it ticks down: ${String(first)}, then ${String(next)}`);
    assert.equal(await page.locator('#sas-section').isVisible(), false);
    assert.equal(await page.locator('#confirm-form').isVisible(), false);
    assert.equal(await page.locator('#abort').isVisible(), true);
  });

  it('shows the SAS, focuses the input, and sends the typed digits on Enter', async () => {
    const { page, show, sent } = await open();
    await show(sasReady);
    assert.equal(await page.locator('#sas').textContent(), '594-376');
    assert.equal(await page.evaluate<string | undefined>('document.activeElement?.id'), 'peer-digits');
    assert.equal(await page.locator('#peer-digits').getAttribute('inputmode'), 'numeric');
    await page.keyboard.type('123 456');
    await page.keyboard.press('Enter');
    assert.deepEqual((await sent()).at(-1), { type: 'confirm', digits: '123 456' });
  });

  it('keeps a wrong-length entry on the page with an error instead of sending it', async () => {
    const { page, show, sent } = await open();
    await show(sasReady);
    await page.locator('#peer-digits').fill('12345');
    await page.locator('#confirm').click();
    assert.deepEqual(await sent(), [{ type: 'ready' }]);
    assert.match((await page.locator('#input-error').textContent()) ?? '', /6 digits/);
    assert.equal(await page.locator('#peer-digits').getAttribute('aria-invalid'), 'true');
    await page.locator('#peer-digits').fill('123-456');
    assert.equal(await page.locator('#input-error').textContent(), '', 'typing clears the error');
  });

  it('reaches input, Confirm and Abort with Tab, in that order', async () => {
    const { page, show, sent } = await open();
    await show(sasReady);
    const order: (string | undefined)[] = [];
    for (let i = 0; i < 3; i++) {
      order.push(await page.evaluate<string | undefined>('document.activeElement?.id'));
      await page.keyboard.press('Tab');
    }
    assert.deepEqual(order, ['peer-digits', 'confirm', 'abort']);
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Enter');
    assert.deepEqual((await sent()).at(-1), { type: 'abort' });
  });

  it('shows the end: the peer once paired, the reason once aborted, nothing to type', async () => {
    const { page, show } = await open();
    assert.equal(await page.locator('h1').textContent(), 'Agent Pair');
    await show(view());
    assert.equal(await page.locator('h1').textContent(), 'Pairing 47');
    await show(view({ state: 'finalized', stateText: 'paired with bob', nextStep: 'You can now write to bob: open the Agent Pair view in the activity bar and click bob.', peer: { handle: 'bob', fingerprint: '0123456789abcdef' }, secondsLeft: 0 }));
    // Each thing once: the heading names the pairing, the state the peer, the peer line the fingerprint.
    assert.equal(await page.locator('h1').textContent(), 'Pairing 47');
    assert.equal(await page.locator('#state').textContent(), 'Paired with bob');
    assert.equal(await page.locator('#peer').textContent(), "bob's fingerprint: 0123456789abcdef");
    assert.equal((await page.locator('main').innerText()).match(/0123456789abcdef/g)?.length, 1);
    assert.doesNotMatch(await page.locator('main').innerText(), /Verify|Abort/);
    assert.equal(await page.locator('#confirm-form').isVisible(), false);
    assert.equal(await page.locator('#abort').isVisible(), false);
    assert.equal(await page.locator('#time-left').textContent(), '');
    await show(view({ state: 'aborted', stateText: 'wrong SAS digits', secondsLeft: 0 }));
    assert.equal(await page.locator('#agent-pair-sas').getAttribute('data-state'), 'aborted');
    assert.equal(await page.locator('#state').textContent(), 'Wrong SAS digits');
  });

  it('ignores messages that are not a well-formed view, and writes text, never HTML', async () => {
    const { page, show } = await open();
    await show(sasReady);
    for (const bad of [{ ...sasReady, sas: '<img src=x onerror=alert(1)>' }, { ...sasReady, state: 'hacked' }, { ...sasReady, secondsLeft: 'soon' }, null, 'view']) await show(bad);
    assert.equal(await page.locator('#sas').textContent(), '594-376');
    await show({ ...sasReady, error: '<b>bold</b>' });
    assert.equal(await page.locator('#error').textContent(), '<b>bold</b>');
    assert.equal(await page.locator('#error b').count(), 0);
  });
});
