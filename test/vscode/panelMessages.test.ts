import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normaliseDigits, panelView, parseWebviewMessage } from '../../src/vscode/panelMessages.js';
import { snapshot } from './snapshots.js';

describe('parseWebviewMessage', () => {
  it('accepts exactly the three message shapes', () => {
    assert.deepEqual(parseWebviewMessage({ type: 'ready' }), { type: 'ready' });
    assert.deepEqual(parseWebviewMessage({ type: 'abort' }), { type: 'abort' });
    assert.deepEqual(parseWebviewMessage({ type: 'confirm', digits: '594-376' }), { type: 'confirm', digits: '594-376' });
  });

  const refused: [string, unknown][] = [
    ['undefined', undefined],
    ['null', null],
    ['a string', 'ready'],
    ['an array', [{ type: 'ready' }]],
    ['an unknown type', { type: 'confirmSas', digits: '594376' }],
    ['no type', { digits: '594376' }],
    ['confirm without digits', { type: 'confirm' }],
    ['digits that are not a string', { type: 'confirm', digits: 594376 }],
    ['digits far too long', { type: 'confirm', digits: '5'.repeat(33) }],
    ['extra fields on confirm', { type: 'confirm', digits: '594376', sessionId: 'x' }],
    ['extra fields on ready', { type: 'ready', sas: '123-456' }],
    ['extra fields on abort', { type: 'abort', reason: 'x' }],
  ];
  for (const [name, message] of refused) {
    it(`refuses ${name}`, () => {
      assert.equal(parseWebviewMessage(message), undefined);
    });
  }
});

describe('normaliseDigits', () => {
  for (const typed of ['594-376', '594376', '594 376', ' 594376 ', '\t594-376\n']) {
    it(`reads ${JSON.stringify(typed)} as 594376`, () => {
      assert.equal(normaliseDigits(typed), '594376');
    });
  }
  for (const typed of ['', '59437', '5943760', '594--376', '594-3766', 'abc-def', '594_376', '594- 376', '５９４３７６', '594-37a']) {
    it(`refuses ${JSON.stringify(typed)}`, () => {
      assert.equal(normaliseDigits(typed), undefined);
    });
  }
});

describe('panelView', () => {
  it('carries the SAS only while the session is sas_ready', () => {
    const ready = panelView(snapshot({ state: 'sas_ready', personMustAct: true }), { sas: '594-376' });
    assert.equal(ready.sas, '594-376');
    assert.equal(ready.canConfirm, true);
    for (const state of ['opened', 'confirmed', 'finalized', 'aborted'] as const) {
      const view = panelView(snapshot({ state }), { sas: '594-376' });
      assert.equal(view.sas, undefined, state);
      assert.equal(view.canConfirm, false, state);
    }
  });

  it('stops taking digits while the last ones are being checked', () => {
    const view = panelView(snapshot({ state: 'sas_ready' }), { sas: '594-376', checking: true });
    assert.equal(view.canConfirm, false);
    assert.equal(view.checking, true);
  });

  it('never carries the code phrase, only the nameplate', () => {
    const view = panelView(snapshot({ code: '47-UE2BZG' }), {});
    assert.ok(!JSON.stringify(view).includes('UE2BZG'));
    assert.equal(view.nameplate, '47');
  });

  it('shows the peer once paired, and the agent request only while the SAS waits', () => {
    const peer = { handle: 'bob', fingerprint: '0123456789abcdef', relayUrl: 'http://r' };
    const paired = panelView(snapshot({ state: 'finalized', peer }), { agentRequest: { peerHint: 'nameplate 47' } });
    assert.deepEqual(paired.peer, { handle: 'bob', fingerprint: '0123456789abcdef' });
    assert.equal(paired.agentRequest, undefined);
    assert.deepEqual(panelView(snapshot({ state: 'sas_ready' }), { agentRequest: { peerHint: 'nameplate 47' } }).agentRequest, { peerHint: 'nameplate 47' });
  });
});
