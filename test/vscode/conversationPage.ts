// A conversation panel's page (conversationHtml + media/conversation.js + media/conversation.css)
// in a real browser, outside VS Code: served from a local origin under the CSP the extension
// sets, with `acquireVsCodeApi` stood in to record what the page posts. Skipped where Debian's
// chromium is not installed (the e2e installer puts it there). Run by
// webviewPages.test.ts, on the browser it shares with the other page.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { conversationHtml } from '../../src/vscode/conversationHtml.js';
import type { ConversationEntry, ConversationView } from '../../src/vscode/conversationMessages.js';
import { skipWithoutChromium, webviewSuite } from '../helpers/chromium.js';

const NONCE = 'dGVzdC1ub25jZS0xMjM0';
const BOB = { handle: 'bob', fingerprint: '0123456789abcdef' };

function entry(fields: Partial<ConversationEntry>): ConversationEntry {
  return { id: 'a'.repeat(32), direction: 'in', kind: 'text', text: 'hello', sentAt: '2026-11-30T01:00:00Z', state: 'unread', ...fields };
}

function view(fields: Partial<ConversationView> = {}): ConversationView {
  return { peer: BOB, entries: [], lost: 0, pendingGap: 0, sending: false, canSend: true, forwardSecrecy: 'on', rule: 'notify', ...fields };
}

const talk = view({
  entries: [
    entry({ id: '1'.repeat(32), text: '<img src=x onerror="window.__pwned=1"> hi', state: 'handled' }),
    entry({ id: '2'.repeat(32), direction: 'out', text: 'hi bob', state: 'delivered' }),
    entry({ id: '3'.repeat(32), direction: 'out', text: 'are you there?', state: 'sent' }),
    entry({ id: '4'.repeat(32), kind: 'data', text: '{\n  "line": 3\n}', state: 'handled' }),
  ],
});

describe('the conversation page in chromium', { skip: skipWithoutChromium() }, () => {
  const open = webviewSuite((origin) => conversationHtml({ title: 'Agent Pair: bob', cspSource: origin, nonce: NONCE, scriptUri: `${origin}/conversation.js`, styleUris: [`${origin}/webview.css`, `${origin}/conversation.css`] }), ['conversation.js', 'webview.css', 'conversation.css']);

  it('asks for the view under the CSP, and starts in the compose box', async () => {
    const { page, sent, cspViolations } = await open();
    assert.deepEqual(await sent(), [{ type: 'ready' }]);
    assert.equal(await page.evaluate<string | undefined>('document.activeElement?.id'), 'message');
    assert.deepEqual(cspViolations, []);
  });

  it('shows both sides with sent and delivered marks, the peer\'s text as text, data as JSON', async () => {
    const { page, show } = await open();
    await show(talk);
    assert.equal(await page.locator('#peer-handle').textContent(), 'bob');
    assert.equal(await page.locator('#peer-fingerprint').textContent(), 'Fingerprint 0123456789abcdef');
    const bodies = await page.locator('#entries .body').allTextContents();
    assert.deepEqual(bodies, ['<img src=x onerror="window.__pwned=1"> hi', 'hi bob', 'are you there?', '{\n  "line": 3\n}']);
    assert.equal(await page.locator('#entries img').count(), 0);
    assert.equal(await page.evaluate<unknown>('window.__pwned'), undefined);
    assert.deepEqual(await page.locator('#entries .mark').allTextContents(), ['✓✓ delivered', '✓ sent']);
    assert.deepEqual(await page.locator('#entries .who').allTextContents(), ['bob', 'You', 'You', 'bob']);
    assert.equal(await page.locator('#entries pre.body').count(), 1);
    assert.equal(await page.locator('#empty').isVisible(), false);
    assert.equal(await page.locator('#lost').isVisible(), false);
  });

  it('says when the relay may have lost messages, and when earlier ones are still missing', async () => {
    const { page, show } = await open();
    await show(view({ lost: 2, pendingGap: 1 }));
    assert.equal(await page.locator('#lost').textContent(), 'The relay may have lost 2 messages from bob. 1 earlier message has not arrived yet.');
  });

  it('says whether the peer\'s messages have forward secrecy yet', async () => {
    const { page, show } = await open();
    for (const state of ['on', 'upgrading', 'off'] as const) {
      await show(view({ forwardSecrecy: state }));
      assert.equal(await page.locator('#forward-secrecy').getAttribute('data-forward-secrecy'), state);
    }
    assert.match((await page.locator('#forward-secrecy').textContent()) ?? '', /^No forward secrecy yet/);
  });

  it('shows the peer\'s rule in the header and posts setRule when the person picks another; a forgotten peer\'s cannot be changed', async () => {
    const { page, show, sent } = await open();
    await show(view({ rule: 'agent' }));
    assert.equal(await page.locator('#rule').inputValue(), 'agent');
    assert.equal(await page.locator('main').getAttribute('data-rule'), 'agent');
    assert.equal(await page.locator('#rule-handle').textContent(), 'bob');
    assert.match((await page.locator('#rule-detail').textContent()) ?? '', /^Each new message goes to the agent in Chat on its own/);
    await page.locator('#rule').selectOption('mute');
    assert.deepEqual((await sent()).at(-1), { type: 'setRule', rule: 'mute' });
    assert.equal(await page.locator('#rule-detail').textContent(), 'Kept and counted as unread, with no notification.');
    // A view with a rule that is none is not rendered.
    await show({ ...view(), rule: 'always' });
    assert.equal(await page.locator('main').getAttribute('data-rule'), 'agent');
    await show(view({ rule: 'notify', canSend: false }));
    assert.equal(await page.locator('#rule').isDisabled(), true);
  });

  it('sends with Ctrl+Enter or the button, not an empty box; clears once the host says sent', async () => {
    const { page, show, sent, post } = await open();
    await show(talk);
    await page.keyboard.press('Control+Enter');
    assert.deepEqual(await sent(), [{ type: 'ready' }]);
    assert.equal(await page.locator('#send-error').textContent(), 'Write a message first.');
    await page.keyboard.type('line one');
    await page.keyboard.press('Shift+Enter');
    await page.keyboard.type('line two');
    await page.keyboard.press('Control+Enter');
    assert.deepEqual((await sent()).at(-1), { type: 'send', text: 'line one\nline two' });
    await show({ ...talk, sending: true });
    assert.equal(await page.locator('#send').textContent(), 'Sending…');
    assert.equal(await page.locator('#message').isDisabled(), true);
    await post({ type: 'sent' });
    await show(talk);
    assert.equal(await page.locator('#message').inputValue(), '');
    assert.equal(await page.evaluate<string | undefined>('document.activeElement?.id'), 'message');
    await show({ ...talk, error: 'The relay refused: <b>no</b>' });
    assert.equal(await page.locator('#send-error').textContent(), 'The relay refused: <b>no</b>');
  });

  it('reaches the messages, each "Ask the agent" and Send with the keyboard', async () => {
    const { page, show, sent } = await open();
    await show(talk);
    await page.locator('#message').fill('draft');
    await page.keyboard.press('Shift+Tab');
    const order: (string | undefined)[] = [];
    for (let i = 0; i < 3; i++) {
      order.push(await page.evaluate<string | undefined>("document.activeElement?.id || document.activeElement?.getAttribute('aria-label') || undefined"));
      await page.keyboard.press('Shift+Tab');
    }
    assert.deepEqual(order, ['Ask the agent about this message from bob', 'Ask the agent about this message from bob', 'log']);
    // Back to the log, then its first message's button.
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    assert.deepEqual((await sent()).at(-1), { type: 'askAgent', id: '1'.repeat(32) });
    await page.locator('#message').focus();
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate<string | undefined>('document.activeElement?.id'), 'send');
  });

  it('keeps the person\'s selection when the host re-sends an unchanged view', async () => {
    const { page, show } = await open();
    await show(talk);
    await page.evaluate("(() => { const range = document.createRange(); range.selectNodeContents(document.querySelectorAll('#entries .body')[1]); getSelection().removeAllRanges(); getSelection().addRange(range); })()");
    await show(talk);
    assert.equal(await page.evaluate<string>('getSelection().toString()'), 'hi bob');
  });

  it('ignores malformed views, and hides the compose box once the peer is forgotten', async () => {
    const { page, show } = await open();
    await show(talk);
    for (const bad of [{ ...talk, entries: [{ ...talk.entries[0], state: 'hacked' }] }, { ...talk, lost: -1 }, { ...talk, peer: null }, null]) await show(bad);
    assert.equal(await page.locator('#entries li').count(), 4);
    await show({ ...talk, canSend: false });
    assert.equal(await page.locator('#compose').isVisible(), false);
  });
});
