import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { codeInputProblem } from '../../src/vscode/codeInput.js';

describe('codeInputProblem (the join input box, as the person types)', () => {
  it('is silent for a valid code in any accepted spelling', () => {
    for (const text of ['47-UE2BZG', '47 ue2bzg', '  47-ue2bzg ']) assert.equal(codeInputProblem(text), undefined, text);
  });

  it('only hints while the input can still become a code', () => {
    for (const text of ['', '4', '47', '47-', '47-UE2', '47 ue2bz']) assert.equal(codeInputProblem(text)?.severity, 'info', text);
  });

  it('errs once it cannot', () => {
    for (const text of ['047-UE2BZG', '47-UE2BZ0', '47-UE2BZGH', 'UE2BZG', '47--UE2BZG', '47-UE 2BZG']) {
      const problem = codeInputProblem(text);
      assert.equal(problem?.severity, 'error', text);
      assert.match(problem.message, /Expected a number, a dash and 6 characters/);
    }
  });
});
