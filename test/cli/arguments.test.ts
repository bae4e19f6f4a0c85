// The CLI's argument layer as a person meets it: help and version, one-line errors with exit 2
// for every wrong argument (checked before anything has an effect), the command named as it was
// invoked, and one message for a busy relay port. What main.ts answers for a command line is
// parseCommandLine's decision against the command table (src/cli/commandLine.ts, commands.ts):
// each command's help and the table of wrong arguments are checked against those functions in
// this process (test/helpers/commandLine.ts), and what main adds to them (help on stdout, exit 0; an error as one line
// `agent-pair: ...` on stderr, nothing on stdout, exit 2; the JSON event) through the built
// bundle, each with the text the functions gave; node dist/relay.mjs's command line likewise
// (src/relay/commandLine.ts). --version, --help, a busy port, a relay, a host
// and the command found on PATH or run from elsewhere are real processes; a thread runs the same
// bundle where no process is needed (test/helpers/cli.ts).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { describeInvocation } from '../../src/cli/invocation.js';
import { errorMessage } from '../../src/core/errors.js';
import { KEY_EXCHANGE_QUIET_ENV, KEY_EXCHANGE_QUIET_MS, MAX_KEY_EXCHANGE_QUIET_SECONDS, keyExchangeQuietMs } from '../../src/cli/pair.js';
import { parseRelayCommandLine, relayUsage } from '../../src/relay/commandLine.js';
import { type RunningRelay, startRelay } from '../../src/relay/node.js';
import { runCli } from '../helpers/cli.js';
import { helpOf, usageErrorOf } from '../helpers/commandLine.js';

const REPO = resolve(import.meta.dirname, '../..');
const CLI = join(REPO, 'dist/cli.cjs');
const RELAY = join(REPO, 'dist/relay.mjs');
const VERSION = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
const COMMANDS = ['host', 'join', 'confirm', 'whoami', 'init', 'peers', 'forget', 'relay', 'mcp'];

/** The environment of a person's shell: none of the npm_* variables `npm test` sets. */
function shellEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('npm_'))), AGENT_PAIR_HOME: '', ...extra };
}

interface Ended {
  code: number | null;
  stdout: string;
  stderr: string;
}

async function runToEnd(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Ended> {
  const child = spawn(command, args, { cwd: options.cwd ?? REPO, env: options.env ?? shellEnv() });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin.end();
  const code = await new Promise<number | null>((done) => child.on('exit', done));
  return { code, stdout, stderr };
}

/** The command line in a process, as a person's shell starts it. */
const cliProcess = async (...args: string[]): Promise<Ended> => runToEnd(process.execPath, [CLI, ...args]);

/** The command line in a worker thread, with the same environment. */
async function cli(...args: string[]): Promise<Ended> {
  const { code, stdout, stderr } = await runCli('thread', args, { env: shellEnv() });
  return { code, stdout, stderr };
}

/** The one-line message node dist/relay.mjs refuses `args` with (after `relay: `, exit 2). */
function relayRefusal(args: string[]): string {
  try {
    parseRelayCommandLine(args, {});
  } catch (error) {
    return errorMessage(error);
  }
  return assert.fail(`${args.join(' ')} was not refused`);
}

let scratch: string;
let relay: RunningRelay;

before(async () => {
  assert.ok(existsSync(CLI) && existsSync(RELAY), 'dist/ is missing: run `npm run build` first (npm test does)');
  scratch = await mkdtemp(join(tmpdir(), 'agent-pair-args-'));
  relay = await startRelay({ host: '127.0.0.1', port: 0 });
});
after(async () => {
  await relay.close();
  await rm(scratch, { recursive: true, force: true });
});

describe('agent-pair --version and --help', () => {
  it('--version prints the package version alone', async () => {
    const result = await cliProcess('--version');
    assert.deepEqual(result, { code: 0, stdout: `${VERSION}\n`, stderr: '' });
  });

  it('--help lists every command and says how to get a command\'s own help', async () => {
    const result = await cliProcess('--help');
    assert.equal(result.code, 0);
    for (const command of COMMANDS) assert.match(result.stdout, new RegExp(`^  ${command}\\b`, 'm'), command);
    assert.match(result.stdout, /Run node dist\/cli\.cjs COMMAND --help/);
  });

  for (const command of COMMANDS) {
    it(`${command} --help (and help ${command}) is that command's usage, options and examples`, () => {
      const [flag, word] = [helpOf(command, '--help'), helpOf('help', command)];
      assert.equal(flag.exitCode, 0);
      assert.equal(word.exitCode, 0);
      assert.equal(word.text, flag.text);
      assert.match(flag.text, new RegExp(`^Usage: node dist/cli\\.cjs ${command}\\b`));
      assert.match(flag.text, /\nOptions:\n[\s\S]*-h, --help/);
      assert.match(flag.text, new RegExp(`\\nExamples:\\n  node dist/cli\\.cjs ${command}\\b`));
    });
  }

  it('a command\'s help is printed alone on stdout, exit 0', async () => {
    const printed = await cliProcess('join', '--help');
    assert.deepEqual(printed, { code: 0, stdout: helpOf('join', '--help').text, stderr: '' });
  });

  it('relay --help calls its store-less example what it is: a relay in memory, not the local relay that keeps a file', () => {
    const { text } = helpOf('relay', '--help');
    const example = text.split('\n').findIndex((line) => line.trim() === 'node dist/cli.cjs relay');
    const why = text.split('\n')[example + 1] ?? '';
    assert.match(why, /in memory/, why);
    assert.doesNotMatch(why, /^\s*the local relay/, why);
  });

  it('node dist/relay.mjs --help prints the relay\'s options', () => {
    // The help main prints (test/relay/main.test.ts runs it: named as it was run, dist/relay.mjs from the repository).
    assert.deepEqual(parseRelayCommandLine(['--help'], {}), { kind: 'help' });
    const help = relayUsage('node dist/relay.mjs');
    for (const option of ['--host', '--port', '--store', '--trust-proxy', '--idle-exit', '--record']) assert.ok(help.includes(option), option);
  });
});

describe('a wrong argument is one line naming it and the expected shape, exit 2', () => {
  const cases: [string[], RegExp][] = [
    [['host', '--relay', 'localhost:8771'], /--relay "localhost:8771" is not a relay URL; expected an http:\/\/ or https:\/\/ URL/],
    [['host', '--relay', 'ftp://x'], /--relay "ftp:\/\/x" is not a relay URL; expected/],
    [['host', '--relay', 'http://relay.example?x=1'], /--relay "http:\/\/relay.example\?x=1" is not a relay URL; expected .* without \?, #/],
    [['host', '--relay', 'http://user:secret@relay.example'], /--relay \(hidden\) is not a relay URL/],
    [['host', '--relay'], /--relay needs a value: --relay URL/],
    [['host', '--handle', 'a b'], /--handle "a b" is not a handle; expected 1 to 64 letters, digits, _ or -/],
    [['host', '--port', '1'], /host does not take --port/],
    [['host', 'extra'], /host takes no arguments, only options/],
    [['join'], /join needs CODE \(the code phrase .* like 47-UE2BZG\)/],
    [['join', 'hello'], /code phrase is not valid: .*Expected a number, a dash and 6 characters/],
    [['join', '47-UE2BZG', 'more'], /join takes only CODE/],
    [['confirm', 'abc'], /SESSION "abc" is not a session id; expected the 32 hex characters/],
    [['forget', 'z z'], /PEER "z z" is neither a fingerprint nor a handle; expected 16 hex characters or a handle/],
    [['init', 'a b'], /HANDLE "a b" is not a handle/],
    [['whoami', '--relay', 'http://x'], /whoami does not take --relay/],
    [['whoami', '--json=yes'], /--json takes no value/],
    [['relay', '--port', '99999'], /--port "99999" is not a port; expected a whole number from 0 to 65535/],
    [['relay', '--host', ''], /--host "" is not an address/],
    [['relay', '--store', 'mysql://db'], /--store mysql:\/\/db is not a store; expected memory, sqlite:PATH .* or redis:\/\/HOST:PORT\[\/DB\]/],
    [['peers', '--home', ''], /--home is empty; expected a directory path/],
    [['frobnicate'], /unknown command "frobnicate"; run node dist\/cli\.cjs --help/],
    [['--frob'], /unknown option --frob/],
    [['peers', '--frob'], /unknown option --frob; see node dist\/cli\.cjs peers --help/],
    [['host', '--version'], /--version takes no command/],
  ];
  for (const [args, expected] of cases) {
    it(args.join(' '), () => {
      const { message } = usageErrorOf(...args);
      assert.doesNotMatch(message, /\n/, 'one line');
      assert.match(message, expected);
    });
  }

  it('the process prints the error alone, as one line on stderr, and exits 2', async () => {
    const args = ['host', '--relay', 'localhost:8771'];
    const result = await cliProcess(...args);
    assert.deepEqual(result, { code: 2, stdout: '', stderr: `agent-pair: ${usageErrorOf(...args).message}\n` });
  });

  it('in --json mode the same error is also a JSON event on stdout', async () => {
    const args = ['join', '47_UE2BZG', '--json'];
    const refused = usageErrorOf(...args);
    assert.equal(refused.json, true);
    const result = await cli(...args);
    assert.equal(result.code, 2);
    assert.equal(result.stderr, `agent-pair: ${refused.message}\n`);
    const event = JSON.parse(result.stdout) as Record<string, unknown>;
    assert.equal(refused.code, 'bad_code');
    assert.deepEqual(event, { event: 'error', code: refused.code, message: refused.message });
    assert.match(refused.message, /47-UE2BZG/);
  });

  it('join with a bad code creates no identity and starts no relay before refusing it', async () => {
    const home = join(scratch, 'never-created');
    const result = await cli('join', 'hello', '--home', home);
    assert.equal(result.code, 2);
    assert.equal(existsSync(home), false, 'the home directory was created');
    assert.doesNotMatch(result.stderr, /Started a relay/);
  });

  it('node dist/relay.mjs answers a wrong option in one line, exit 2', async () => {
    // What its command line makes of each (src/relay/commandLine.ts), in this process: one line,
    // not node:util's own words; main prints it after `relay: `, as the process shows once.
    for (const args of [['--frob'], ['--port'], ['--port', 'x'], ['stray']]) {
      const message = relayRefusal(args);
      assert.match(message, /^[^\n]+$/, args.join(' '));
      assert.doesNotMatch(message, /as in '--/, args.join(' '));
    }
    const result = await runToEnd(process.execPath, [RELAY, '--frob']);
    assert.equal(result.code, 2);
    assert.equal(result.stderr, `relay: ${relayRefusal(['--frob'])}\n`);
  });
});

describe('a busy relay port', () => {
  it('agent-pair relay and node dist/relay.mjs say the same thing, exit 1', async () => {
    const port = new URL(relay.url).port;
    const [viaCli, viaRelay] = await Promise.all([cliProcess('relay', '--port', port), runToEnd(process.execPath, [RELAY, '--port', port])]);
    assert.equal(viaCli.code, 1);
    assert.equal(viaRelay.code, 1);
    const expected = `127.0.0.1:${port} is already in use (a relay or another program listens there); stop it, or choose another port with --port\n`;
    assert.equal(viaCli.stderr, `agent-pair: ${expected}`);
    assert.equal(viaRelay.stderr, `relay: ${expected}`);
  });
});

describe('agent-pair relay --store', () => {
  it('says at start which store it runs on, and both relay command lines refuse a bad --store alike', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'agent-pair-store-'));
    try {
      const file = join(dir, 'relay.sqlite');
      const child = spawn(process.execPath, [CLI, 'relay', '--port', '0', '--store', `sqlite:${file}`], { cwd: REPO, env: shellEnv() });
      let output = '';
      const said = new Promise<void>((resolveSaid) => {
        const onData = (chunk: Buffer): void => {
          output += chunk.toString();
          if (output.includes('listening')) resolveSaid();
        };
        child.stdout.on('data', onData);
        child.stderr.on('data', onData);
      });
      const exited = new Promise<number | null>((done) => child.once('close', done));
      await said;
      assert.match(output, new RegExp(`listening on http://127\\.0\\.0\\.1:\\d+ \\(store: SQLite file ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)`));
      child.kill('SIGTERM');
      assert.equal(await exited, 0);

      // Each command line's decision, in this process (main.ts and relay/main.ts print them).
      const viaCli = usageErrorOf('relay', '--store', 'sqlite:');
      assert.equal(viaCli.message.replace(/; see .*$/s, ''), relayRefusal(['--store', 'sqlite:']), 'one option table: the same words');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the command is named as it was invoked', () => {
  it('as node dist/cli.cjs from the repo, and by its absolute path from elsewhere', async () => {
    assert.match((await cli('join', '--help')).stdout, /^Usage: node dist\/cli\.cjs join CODE/);
    const elsewhere = await runToEnd(process.execPath, [CLI, 'join', '--help'], { cwd: scratch });
    assert.ok(elsewhere.stdout.startsWith(`Usage: node ${CLI} join CODE`), elsewhere.stdout.split('\n')[0]);
  });

  it('as agent-pair when found on PATH under that name, and as npx agent-pair under npm exec', async () => {
    const bin = join(scratch, 'bin');
    await mkdir(bin, { recursive: true });
    await symlink(CLI, join(bin, 'agent-pair'));
    const path = `${bin}${delimiter}${process.env['PATH'] ?? ''}`;
    const onPath = await runToEnd('agent-pair', ['join', '--help'], { env: shellEnv({ PATH: path }) });
    assert.match(onPath.stdout, /^Usage: agent-pair join CODE/);
    const viaNpx = await runToEnd('agent-pair', ['join', '--help'], { env: shellEnv({ PATH: path, npm_command: 'exec' }) });
    assert.match(viaNpx.stdout, /^Usage: npx agent-pair join CODE/);
  });

  it('the host tells the other person the command as this person ran it', async () => {
    const child = spawn(process.execPath, [CLI, 'host', '--relay', relay.url, '--home', join(scratch, 'host'), '--handle', 'alice'], { cwd: REPO, env: shellEnv() });
    let stdout = '';
    const said = new Promise<string>((done) => {
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes('They run:')) done(stdout);
      });
    });
    const text = await said;
    child.kill('SIGINT');
    await new Promise((done) => child.on('exit', done));
    assert.match(text, new RegExp(`They run: node dist/cli\\.cjs join \\d+-[A-Z2-7]{6} --relay ${relay.url.replaceAll('.', '\\.')}\\n`));
  });

  it('describeInvocation quotes a path a shell would split', () => {
    assert.equal(describeInvocation({ script: '/home/a b/cli.cjs', env: {}, cwd: '/tmp' }), "node '/home/a b/cli.cjs'");
    assert.equal(describeInvocation({ script: undefined, env: {}, cwd: '/' }), 'agent-pair');
  });

  it('describeInvocation for a command run elsewhere (an MCP server\'s hint) keeps the script absolute', () => {
    const script = join(REPO, 'dist/cli.cjs');
    assert.equal(describeInvocation({ script, env: {}, cwd: REPO }), 'node dist/cli.cjs');
    assert.equal(describeInvocation({ script, env: {}, cwd: REPO, anywhere: true }), `node ${script}`);
    // Found on PATH, it is its name wherever it runs.
    assert.equal(describeInvocation({ script, env: { PATH: join(REPO, 'dist') }, cwd: '/', anywhere: true }), 'cli.cjs');
  });
});

describe(`${KEY_EXCHANGE_QUIET_ENV}: how long a key exchange is quiet before the terminal says what it waits for`, () => {
  it(`takes whole seconds from 1 to ${MAX_KEY_EXCHANGE_QUIET_SECONDS}; unset or empty is the default`, () => {
    assert.equal(keyExchangeQuietMs({}), KEY_EXCHANGE_QUIET_MS);
    assert.equal(keyExchangeQuietMs({ [KEY_EXCHANGE_QUIET_ENV]: '' }), KEY_EXCHANGE_QUIET_MS);
    assert.equal(keyExchangeQuietMs({ [KEY_EXCHANGE_QUIET_ENV]: '1' }), 1_000);
    assert.equal(keyExchangeQuietMs({ [KEY_EXCHANGE_QUIET_ENV]: String(MAX_KEY_EXCHANGE_QUIET_SECONDS) }), MAX_KEY_EXCHANGE_QUIET_SECONDS * 1000);
    for (const wrong of ['0', String(MAX_KEY_EXCHANGE_QUIET_SECONDS + 1), '1.5', '-3', ' 2', 'soon', '99999']) {
      assert.throws(() => keyExchangeQuietMs({ [KEY_EXCHANGE_QUIET_ENV]: wrong }), (error: Error) => error.message.includes(`${KEY_EXCHANGE_QUIET_ENV} is ${JSON.stringify(wrong)}; expected whole seconds, 1 to ${MAX_KEY_EXCHANGE_QUIET_SECONDS}`), wrong);
    }
  });

  it('a wrong value stops host before it opens a pairing (exit 1, the variable named), and makes no home', async () => {
    const home = join(scratch, 'quiet-wrong');
    const openBefore = relay.stats().pairSlots;
    const ended = await runToEnd(process.execPath, [CLI, 'host', '--relay', relay.url, '--home', home, '--handle', 'alice'], { env: shellEnv({ [KEY_EXCHANGE_QUIET_ENV]: '0' }) });
    assert.equal(ended.code, 1, ended.stderr);
    assert.ok(ended.stderr.includes(`${KEY_EXCHANGE_QUIET_ENV} is "0"; expected whole seconds`), ended.stderr);
    assert.equal(existsSync(home), false, 'nothing was written');
    assert.equal(relay.stats().pairSlots, openBefore, 'no pairing was opened at the relay');
  });
});
