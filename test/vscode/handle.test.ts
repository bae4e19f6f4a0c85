import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { handleProblem } from '../../src/vscode/handle.js';
import { HANDLE_PATTERN } from '../../src/core/vocabulary.js';

describe('handleProblem', () => {
  it('accepts valid handles', () => {
    for (const handle of ['alice', 'Bob_2', 'a-b', 'x'.repeat(64)]) assert.equal(handleProblem(handle), undefined, handle);
  });

  it('names what is wrong', () => {
    assert.match(handleProblem('') ?? '', /Type a handle/);
    assert.match(handleProblem('x'.repeat(65)) ?? '', /at most 64 characters \(this one has 65\)/);
    assert.equal(handleProblem('jane doe.'), 'A handle may use only letters, digits, "_" and "-" (not space, ".").');
  });

  it('agrees with the core pattern', () => {
    for (const text of ['ok', 'not ok', 'é', 'a/b', '', 'x'.repeat(65)]) assert.equal(handleProblem(text) === undefined, HANDLE_PATTERN.test(text), text);
  });
});
