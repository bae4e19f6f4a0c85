import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeState, escapeMarkdown, formatTimeLeft, statusModel } from '../../src/vscode/sessionView.js';
import { snapshot } from './snapshots.js';

describe('formatTimeLeft', () => {
  for (const [seconds, text] of [[600, '10:00 left'], [598, '9:58 left'], [61, '1:01 left'], [7, '0:07 left'], [0, '0:00 left'], [-3, '0:00 left']] as const) {
    it(`${seconds} s reads ${text}`, () => {
      assert.equal(formatTimeLeft(seconds), text);
    });
  }
});

describe('describeState', () => {
  const cases: [string, Parameters<typeof snapshot>[0], string][] = [
    ['host before the guest joins', { role: 'host', state: 'opened', peerJoined: false }, 'waiting for the other person to join'],
    ['guest before the host answers', { role: 'guest', state: 'opened', peerJoined: false }, 'waiting for the host'],
    ['either side once the peer committed', { state: 'opened', peerJoined: true }, 'exchanging keys'],
    ['SAS ready', { state: 'sas_ready', peerJoined: true, personMustAct: true }, 'verify the SAS'],
    ['confirmed', { state: 'confirmed' }, 'exchanging identity cards'],
    ['finalized', { state: 'finalized', peer: { handle: 'bob', fingerprint: '0123456789abcdef', relayUrl: 'http://r' } }, 'paired with bob (0123456789abcdef)'],
    ['expired', { state: 'aborted', abortCode: 'expired', abortReason: 'expired' }, 'expired'],
    ['wrong code', { state: 'aborted', abortCode: 'wrong_code', abortReason: 'wrong code' }, 'wrong code'],
    ['SAS mismatch', { state: 'aborted', abortCode: 'sas_mismatch', abortReason: 'sas mismatch' }, 'wrong SAS digits'],
    ['peer abort', { state: 'aborted', abortCode: 'peer_aborted', abortReason: 'lunch' }, 'the other side aborted: “lunch”'],
    // The peer's reason reaches notifications and quick picks: escaped, on one line, no link.
    ['peer abort with escapes and a link', { state: 'aborted', abortCode: 'peer_aborted', abortReason: '\u001b]0;x\u0007[Accept](command:agentPair.forgetPeer)\u009b\u202eevil\u2028\nnext' }, 'the other side aborted: “\\x1b)0;x\\x07(Accept)(command:agentPair.forgetPeer)\\x9b\\u202eevil next”'],
    ['peer typed wrong digits', { state: 'aborted', abortCode: 'peer_aborted', abortReason: 'sas mismatch' }, 'the other person typed wrong SAS digits'],
  ];
  for (const [name, fields, expected] of cases) {
    it(name, () => {
      assert.equal(describeState(snapshot(fields)), expected);
    });
  }
});

describe('statusModel', () => {
  it('is hidden when nothing is in flight, even with ended pairings listed', () => {
    const model = statusModel([snapshot({ state: 'finalized' }), snapshot({ state: 'aborted', abortCode: 'expired' })]);
    assert.equal(model.visible, false);
    assert.equal(statusModel([]).visible, false);
  });

  it('counts pairings in flight, without warning while nobody must act', () => {
    const model = statusModel([
      snapshot({ sessionId: 'a'.repeat(32), nameplate: '47' }),
      snapshot({ sessionId: 'b'.repeat(32), nameplate: '12', role: 'guest', peerJoined: true, secondsLeft: 61 }),
      snapshot({ sessionId: 'c'.repeat(32), state: 'finalized' }),
    ]);
    assert.equal(model.visible, true);
    assert.equal(model.text, '$(link) Agent Pair: 2 pairings');
    assert.equal(model.warning, false);
    assert.equal(
      model.tooltip,
      '**Agent Pair**\n\n- **47 · host**: waiting for the other person to join, 9:58 left\n- **12 · guest**: exchanging keys, 1:01 left\n\nClick to see the pairings.',
    );
    assert.equal(model.accessibilityLabel, 'Agent Pair: 2 pairings in flight');
  });

  it('warns when a SAS waits for the person', () => {
    const model = statusModel([snapshot({ state: 'sas_ready', personMustAct: true, peerJoined: true, secondsLeft: 7 })]);
    assert.equal(model.text, '$(link) Agent Pair: 1 pairing, 1 to verify');
    assert.equal(model.warning, true);
    assert.match(model.tooltip, /verify the SAS, 0:07 left/);
    assert.match(model.tooltip, /Click to verify the SAS\.$/);
    assert.equal(model.accessibilityLabel, 'Agent Pair: 1 pairing in flight, 1 waiting for you to verify the SAS');
  });
});

describe('escapeMarkdown', () => {
  it('neutralises links, emphasis, HTML and code spans', () => {
    const escaped = escapeMarkdown('[click](https://evil.example) *bold* <img src=x> `code`');
    // Every character Markdown could read as syntax comes with a backslash before it.
    assert.doesNotMatch(escaped, /(?<!\\)[[\]()*<>`]/);
    // Removing the escapes gives the text back.
    assert.equal(escaped.replace(/\\(.)/g, '$1'), '[click](https://evil.example) *bold* <img src=x> `code`');
  });

  it('folds line breaks, so one item stays one line', () => {
    assert.equal(escapeMarkdown('a\n\n# b'), 'a \\# b');
  });
});
