// The README's example commands run as a newcomer types them, in a fresh clone: each `npm start --`
// line is a command the CLI knows, a file it names is in the clone, and a line that names alice or
// bob (the one-machine pairing's identities) says which home it runs in, since without --home it
// would look in ~/.agent-pair, where neither is pinned.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { commandLine } from '../helpers/commandLine.js';

const root = new URL('../../', import.meta.url);
const readme = readFileSync(new URL('README.md', root), 'utf8');

/** Every `npm start -- ARGS` line of the README's sh blocks, as its words (comments cut). */
function startExamples(): string[][] {
  const blocks = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((match) => match[1] ?? '');
  return blocks
    .flatMap((block) => block.split('\n'))
    .map((line) => line.replace(/\s+#.*$/, '').trim())
    .filter((line) => line.startsWith('npm start -- '))
    .map((line) => [...line.slice('npm start -- '.length).matchAll(/'[^']*'|"[^"]*"|\S+/g)].map((word) => word[0].replace(/^(['"])(.*)\1$/, '$2')));
}

describe('the README\'s example commands', () => {
  const examples = startExamples();

  it('are there to check', () => {
    assert.ok(examples.length >= 10, `${examples.length} npm start examples`);
  });

  it('name files that are in a fresh clone', () => {
    const missing = examples.flatMap((words) => words.flatMap((word, index) => (words[index - 1] === '--file' && !existsSync(new URL(word, root)) ? [`${words.join(' ')}: ${word}`] : [])));
    assert.deepEqual(missing, []);
  });

  it('say which home they run in whenever they name alice or bob', () => {
    const homeless = examples.filter((words) => words.some((word) => word === 'alice' || word === 'bob') && !words.includes('--home'));
    assert.deepEqual(homeless.map((words) => words.join(' ')), []);
  });

  // The help main.ts prints for `COMMAND --help`, from the same table and function, in this process (test/helpers/commandLine.ts).
  it('are commands and options the CLI takes (help for each, exit 0)', () => {
    for (const words of examples) {
      const [command = ''] = words;
      const help = commandLine(command, '--help');
      assert.ok(help.kind === 'help' && help.exitCode === 0, `${words.join(' ')}: ${JSON.stringify(help)}`);
      for (const option of words.filter((word) => word.startsWith('--'))) assert.ok(help.text.includes(`${option} `) || help.text.includes(`${option}\n`), `${words.join(' ')}: ${command} --help does not list ${option}`);
    }
  });
});
