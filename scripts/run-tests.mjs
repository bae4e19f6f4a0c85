// Runs every test/**/*.test.ts with node's test runner. Arguments narrow the set:
// `node scripts/run-tests.mjs test/core` runs only that folder.
//
// The files are compiled once, up front, by esbuild (one build for all of them, each test file a
// bundle of itself and the sources it imports, the code several share in common chunks; packages
// stay in node_modules) and run as plain JavaScript with source maps, so stack traces name the
// .ts lines. Running them through tsx instead spent about 0.35 CPU-seconds per file on its loader
// thread (a fifth of a core-minute per run on 77 files); a file runs the same either way
// (`node --import tsx --test FILE` still works).
//
// Each file runs in a Node process of its own, several files at once: most tests wait on
// processes, sockets and timers rather than compute, so on a 2-core machine running
// CONCURRENCY files at a time takes a fraction of running them two by two. Files start longest
// first (each file's duration in the last run, kept in .cache/test-durations.json; on a fresh
// clone the committed scripts/test-durations.json), so a slow file never starts last and holds
// the run up alone. A file's report is printed whole when it ends, never interleaved with
// another's, and the run ends with the totals of every file in the TAP runner's words and as one
// line, `N passed, N failed`, after each file's CPU (see TIME) and the costliest files'.
//
// The relay's Redis tests need Debian's redis-server: scripts/install-redis.sh installs it first
// if it is missing. In CI (CI=true, or --ci: `npm test` passes it, so a clean checkout's
// `.ci/run` is CI whatever its environment says) Debian's chromium is installed too
// (scripts/install-chromium.sh): there the webview page tests must run, not skip.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const ROOT = resolve(import.meta.dirname, '..');
const DURATIONS_FILE = join(ROOT, '.cache', 'test-durations.json');
/**
 * Each file's duration in one whole run on the 2-core machine, committed: a fresh clone has no
 * durations of its own yet, and in name order its longest file (the Redis flood) started near the
 * end and ran alone. Only the order matters; this checkout's own durations take over once timed.
 */
const SEED_DURATIONS_FILE = join(import.meta.dirname, 'test-durations.json');
const COMPILED_ROOT = join(ROOT, '.cache', 'tests');
/**
 * This run's compiled files, a directory of its own: two runs in one checkout at once (a narrowed
 * run while the whole suite runs) must not empty each other's files mid-run.
 */
const COMPILED_DIR = join(COMPILED_ROOT, `run-${process.pid}`);
/**
 * Files at once: three per core, at least three; AGENT_PAIR_TEST_CONCURRENCY overrides. Most files
 * spend most of their time waiting (peerRules: 20 s for 2.4 CPU-seconds); on the 2-core machine,
 * under other work (load 8 to 14), the whole run took 111 s four at a time and 91 s six at a time
 * for the same CPU.
 */
const CONCURRENCY = Number(process.env['AGENT_PAIR_TEST_CONCURRENCY'] ?? Math.max(3, availableParallelism() * 3));
/**
 * GNU time, when the machine has it, measures each file's CPU: its own process and every process
 * it started and waited for (CLI processes, relays, redis-server), which is what the run costs a
 * 2-core machine. Without it the run reports wall times only.
 */
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
/**
 * The environment every test file's process starts with, and through it every process a test
 * starts (the CLI 300 times a run, relays, MCP servers). Left out: NODE_EXTRA_CA_CERTS, which a
 * machine sets to trust its own certificate authority. Node parses the whole bundle into OpenSSL's
 * store at every start whether or not the process opens a TLS connection (220 KB of Debian's bundle
 * here: `node -e 0` took 0.10 CPU-s with it, 0.06 without), and no test opens one: they talk to
 * loopback relays over plain http, and nothing leaves the machine. One whole run took 241 CPU-s
 * with it and 215 without.
 */
const TEST_ENV = { ...process.env };
delete TEST_ENV['NODE_EXTRA_CA_CERTS'];
/** Loaded before node:test in each file's process: node:test's async hook made every promise dearer (see the file). */
const NO_TEST_ASYNC_HOOK = pathToFileURL(join(import.meta.dirname, 'no-test-async-hook.mjs')).href;
const COUNTED = ['tests', 'suites', 'pass', 'fail', 'cancelled', 'skipped', 'todo'];
/**
 * The TypeScript scripts tests start as processes of their own, compiled with the test files:
 * through tsx each start spent about 0.3 CPU-seconds in its loader, four times a bare Node start
 * (test/node/codeCache starts twenty). Tests find them through test/helpers/scripts.ts.
 */
const PROCESS_SCRIPTS = ['test/helpers/codeCacheLoad.ts', 'test/helpers/connectAhead.ts', 'test/helpers/relayWindow.ts'];

function collect(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'e2e' ? [] : collect(path);
    return name.endsWith('.test.ts') ? [path] : [];
  });
}

function readJsonOr(path, fallback) {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return fallback;
  }
}

function readDurations() {
  return { ...readJsonOr(SEED_DURATIONS_FILE, {}), ...readJsonOr(DURATIONS_FILE, {}) };
}

function installOrExit(script, what) {
  const installed = spawnSync('bash', [join(import.meta.dirname, script)], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (installed.status !== 0) {
    console.error(`run-tests: scripts/${script} failed; ${what}`);
    process.exit(1);
  }
}

/**
 * In a compiled file, `import.meta.url` and `import.meta.dirname` still name the source file each
 * line came from (tests and sources find dist/, media/ and ../shared by them), and `vscode` is
 * the tests' stand-in (test/vscode/fakeVscode.ts), one module for the test and the code it drives.
 */
const sourceLocations = {
  name: 'source-locations',
  setup(context) {
    context.onResolve({ filter: /^vscode$/ }, () => ({ path: join(ROOT, 'test', 'vscode', 'fakeVscode.ts') }));
    context.onLoad({ filter: /\.ts$/ }, (args) => {
      const contents = readFileSync(args.path, 'utf8')
        .replaceAll('import.meta.dirname', JSON.stringify(dirname(args.path)))
        .replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href));
      return { contents, loader: 'ts' };
    });
  },
};

/** Whether process `pid` still runs (a run that was killed leaves its compiled files behind). */
function isRunning(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

/** Compiles `files` into COMPILED_DIR, first removing what runs no longer running left; returns each file's compiled path. */
async function compile(files) {
  mkdirSync(COMPILED_ROOT, { recursive: true });
  for (const name of readdirSync(COMPILED_ROOT)) {
    const pid = /^run-(\d+)$/.exec(name)?.[1];
    if (pid === undefined || !isRunning(Number(pid))) rmSync(join(COMPILED_ROOT, name), { recursive: true, force: true });
  }
  await build({
    entryPoints: [...files, ...PROCESS_SCRIPTS],
    outdir: COMPILED_DIR,
    outbase: ROOT,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    // Code reached only through import() stays a chunk of its own, loaded when it runs, with the
    // packages it imports: as one bundle, each file importing the relay (relay/node.ts loads its
    // SQLite, Redis and metrics code when a relay asks for them) loaded node-sqlite3-wasm,
    // ioredis and prom-client at start, 0.1-0.3 CPU-seconds in 40 files that mostly never use them.
    splitting: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: 'linked',
    logLevel: 'error',
    plugins: [sourceLocations],
  });
  return new Map(files.map((file) => [file, join(COMPILED_DIR, file.replace(/\.ts$/, '.mjs'))]));
}

/** Runs one test file; resolves its exit code, its TAP report and its duration. */
function runFile(file, index) {
  return new Promise((resolveRun) => {
    const startedAt = performance.now();
    const command = [process.execPath, '--enable-source-maps', '--import', NO_TEST_ASYNC_HOOK, '--test-reporter=tap', compiled.get(file)];
    const cpuFile = join(stateDir, `cpu-${index}`);
    const timed = TIME ? [TIME, '-f', '%U %S', '-o', cpuFile, ...command] : command;
    const child = spawn(timed[0], timed.slice(1), { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...TEST_ENV, AGENT_PAIR_STATE_DIR: stateDir, XDG_CACHE_HOME: join(stateDir, 'cache'), AGENT_PAIR_TEST_COMPILED_DIR: COMPILED_DIR, ...(ci && { CI: 'true' }) } });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk) => (output += chunk));
    child.once('close', (code, signal) => resolveRun({ code: code ?? (signal ? 1 : 0), signal, output, ms: performance.now() - startedAt, cpuMs: TIME ? cpuMsOf(cpuFile) : undefined }));
  });
}

/** User plus system CPU milliseconds GNU time wrote for one file (its last line: `%U %S`). */
function cpuMsOf(cpuFile) {
  try {
    const [user, system] = readFileSync(cpuFile, 'utf8').trim().split('\n').at(-1).split(' ').map(Number);
    return Math.round((user + system) * 1000);
  } catch {
    return undefined;
  }
}

/**
 * The runner's closing counts in a file's TAP report (`# pass 12`). Skipped counts every test and
 * suite reported `# SKIP`: node:test's own count leaves out a skipped suite (the webview pages'
 * without chromium), whose tests are then never reported at all.
 */
function countsOf(output) {
  const counts = {};
  for (const name of COUNTED) {
    const match = new RegExp(`^# ${name} (\\d+)$`, 'm').exec(output);
    counts[name] = match ? Number(match[1]) : 0;
  }
  counts.skipped = (output.match(/^\s*ok \d+ - .* # SKIP\b/gm) ?? []).length;
  return counts;
}

// `--ci`: the whole check (`npm test`, what CI runs) as in CI whether or not the environment says
// CI=true: chromium installed first, and the webview page tests fail rather than skip without it.
const ci = process.env['CI'] === 'true' || process.argv.includes('--ci');
const roots = process.argv.slice(2).filter((arg) => arg !== '--ci');
const files = (roots.length ? roots : ['test']).flatMap((root) => (statSync(root).isDirectory() ? collect(root) : [root])).map((file) => relative(ROOT, resolve(file)));
if (files.length === 0) {
  console.error('run-tests: no test files found');
  process.exit(1);
}
installOrExit('install-redis.sh', 'the relay tests need redis-server');
const compiled = await compile(files);
if (ci) installOrExit('install-chromium.sh', 'in CI the webview page tests need chromium');

const durations = readDurations();
// Longest first; files never timed, here or in the seed (new ones), first of all, as they may be long.
const queue = [...files].sort((a, b) => (durations[b] ?? Infinity) - (durations[a] ?? Infinity) || a.localeCompare(b));
const totals = Object.fromEntries(COUNTED.map((name) => [name, 0]));
const failedFiles = [];
/** Failing tests, plus one for each file that failed without a failing test (a crash at load). */
let failures = 0;
/** Each file's CPU milliseconds in this run, when GNU time measured them. */
const cpuMs = new Map();
let started = 0;
const startedAt = performance.now();

async function worker() {
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    const run = await runFile(file, started++);
    if (run.cpuMs !== undefined) cpuMs.set(file, run.cpuMs);
    const counts = countsOf(run.output);
    for (const name of COUNTED) totals[name] += counts[name];
    durations[file] = Math.round(run.ms);
    // A file that exits non-zero without a failing test (a crash, an error at load) fails too.
    const failed = run.code !== 0 || counts.fail > 0;
    if (failed) failedFiles.push(file);
    failures += failed ? Math.max(counts.fail, 1) : 0;
    process.stdout.write(`# file ${file}: ${failed ? 'FAILED' : 'ok'} in ${(run.ms / 1000).toFixed(1)} s${run.cpuMs === undefined ? '' : ` (CPU ${(run.cpuMs / 1000).toFixed(1)} s)`}\n${run.output}`);
  }
}

// Local relays the tests start keep their SQLite files here, never in the person's own state
// directory (~/.local/state/agent-pair); each port has a file of its own. So do the code caches of
// the CLI the tests run ($XDG_CACHE_HOME/agent-pair/code-cache), never the person's ~/.cache:
// shared by this run's files, gone with it.
const stateDir = mkdtempSync(join(tmpdir(), 'agent-pair-test-state-'));
await Promise.all(Array.from({ length: Math.min(CONCURRENCY, files.length) }, worker));
rmSync(stateDir, { recursive: true, force: true });
rmSync(COMPILED_DIR, { recursive: true, force: true });

mkdirSync(join(ROOT, '.cache'), { recursive: true });
writeFileSync(DURATIONS_FILE, `${JSON.stringify(durations, null, 2)}\n`);
const seconds = ((performance.now() - startedAt) / 1000).toFixed(1);
// Less sensitive to the machine's load than the wall time: what the files took one after another,
// and the longest one, below which no schedule can go.
const ran = files.map((file) => [file, durations[file] ?? 0]);
const summed = (ran.reduce((sum, [, ms]) => sum + ms, 0) / 1000).toFixed(1);
const [longestFile, longestMs] = ran.reduce((longest, entry) => (entry[1] > longest[1] ? entry : longest));
if (cpuMs.size > 0) {
  const costliest = [...cpuMs].sort((a, b) => b[1] - a[1]).slice(0, 15);
  const totalCpu = [...cpuMs.values()].reduce((sum, ms) => sum + ms, 0);
  process.stdout.write(`# CPU ${(totalCpu / 1000).toFixed(1)} s in all (${files.length} files); the costliest:\n${costliest.map(([file, ms]) => `#   ${(ms / 1000).toFixed(1).padStart(6)} s  ${file}`).join('\n')}\n`);
}
if (failedFiles.length > 0) process.stdout.write(`# failed files:\n${failedFiles.map((file) => `#   ${file}`).join('\n')}\n`);
process.stdout.write(`# files ${files.length} (${CONCURRENCY} at a time) in ${seconds} s; ${summed} s one after another; the longest, ${longestFile}, ${(longestMs / 1000).toFixed(1)} s\n${COUNTED.map((name) => `# ${name} ${totals[name]}`).join('\n')}\n`);
process.stdout.write(`${totals.pass} passed, ${failures} failed${totals.skipped > 0 ? `, ${totals.skipped} skipped` : ''}\n`);
process.exit(failedFiles.length > 0 ? 1 : 0);
