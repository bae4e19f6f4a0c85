// The CLI's Terminal over in-memory streams: a question can be withdrawn, and a line typed
// after that goes to the next question, not nowhere.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PassThrough } from 'node:stream';
import { Terminal } from '../../src/cli/terminal.js';

function terminal(): { term: Terminal; stdin: PassThrough; stderr: () => string } {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let written = '';
  stderr.on('data', (chunk: Buffer) => (written += chunk.toString()));
  return { term: new Terminal(true, stdout, stderr, stdin), stdin, stderr: () => written };
}

describe('Terminal.ask', () => {
  it('answers with the line typed, or undefined once stdin ends', async () => {
    const { term, stdin } = terminal();
    stdin.write('123456\n');
    assert.equal(await term.ask('Digits: '), '123456');
    stdin.end();
    assert.equal(await term.ask('Digits: '), undefined);
    term.close();
  });

  it('withdraws the question when the signal aborts, ending the prompt line; a later line goes to the next question', async () => {
    const { term, stdin, stderr } = terminal();
    const controller = new AbortController();
    const asking = term.ask('Digits: ', controller.signal);
    controller.abort();
    assert.equal(await asking, undefined);
    assert.equal(stderr(), 'Digits: \n');
    stdin.write('654321\n');
    assert.equal(await term.ask('Again: '), '654321');
    assert.equal(await term.ask('Now: ', controller.signal), undefined, 'an aborted signal withdraws at once');
    term.close();
  });
});
