// The table the shell's command registrations run (extension.ts) and the window fills (window.ts).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CommandTable } from '../../src/vscode/commandTable.js';

describe('the command table', () => {
  it('runs the handler of a command with its arguments, until the registration is disposed', async () => {
    const table = new CommandTable();
    const registration = table.register('agentPair.echo', (...args) => Promise.resolve(args));
    assert.deepEqual(await table.run('agentPair.echo', ['a', 1]), ['a', 1]);
    registration.dispose();
    await assert.rejects(table.run('agentPair.echo', []), /the command agentPair\.echo has no handler in this window/);
  });

  it('refuses a second handler for one command', () => {
    const table = new CommandTable();
    table.register('agentPair.one', () => Promise.resolve(1));
    assert.throws(() => table.register('agentPair.one', () => Promise.resolve(2)), /agentPair\.one has a handler already/);
  });

  it('names the commands that have no handler when all are required', () => {
    const table = new CommandTable();
    table.register('agentPair.one', () => Promise.resolve(1));
    table.requireHandlers(['agentPair.one']);
    assert.throws(() => { table.requireHandlers(['agentPair.one', 'agentPair.two', 'agentPair.three']); }, /no handler for the commands agentPair\.two, agentPair\.three$/);
  });
});
