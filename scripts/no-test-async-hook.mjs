// Imported (node --import) by scripts/run-tests.mjs into each test file's process, before node:test
// loads. node:test (Node 20) enables an async hook with init and destroy callbacks in the thread
// that runs the tests. With it on, every promise the tests and the code under them make calls
// into it: a loop of awaits took 18 times its CPU inside a test on this machine, the relay floods
// 2.4 times. node:test needs it for two things:
// - to file a suite's tests and hooks under it: `it` and `before` look up which test or suite
//   runs by the current async id. A suite is an AsyncResource, its callback runs in its scope,
//   so its own id is the one looked up; the hook learned of it through `init`.
// - to charge an error nothing caught to the test whose code made it.
// So node:test gets a hook that is never enabled (it asks for one as it sets up, named by the
// stack; every other caller gets a real one), and its `init` is called here for each
// AsyncResource made (its suites, tests and hooks, a few hundred per file, against the
// millions of promises), which keeps the first use whole. Describe callbacks must stay
// synchronous (node:test asks that anyway): after an await in one, no id would lead to it.
//
// What the second loses, on failing runs only: node:test reports an error nothing caught as a
// diagnostic of the file, not as a failure of its test, and sets exit code 1 (the runner counts
// the file failed either way). Its test may then wait for something that never comes, so the
// error is printed here at once, and a file still running WAIT_AFTER_UNCAUGHT_MS later ends.

import asyncHooks from 'node:async_hooks';
import { isMainThread } from 'node:worker_threads';

const WAIT_AFTER_UNCAUGHT_MS = 30_000;
const { createHook, AsyncResource } = asyncHooks;
/** node:test's init callback, once it asked for its hook. */
let testRunnerInit;

asyncHooks.createHook = (callbacks) => {
  if (!(new Error().stack ?? '').includes('node:internal/test_runner/')) return createHook(callbacks);
  testRunnerInit = callbacks.init;
  const inert = { enable: () => inert, disable: () => inert };
  return inert;
};

asyncHooks.AsyncResource = class extends AsyncResource {
  constructor(type, options) {
    super(type, options);
    testRunnerInit?.(this.asyncId(), type, this.triggerAsyncId(), this);
  }
};

function uncaught(error, event) {
  process.stderr.write(`# ${event}, its test unknown (scripts/no-test-async-hook.mjs): ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
  setTimeout(() => {
    process.stderr.write(`# the file still ran ${WAIT_AFTER_UNCAUGHT_MS / 1000} s after that error: ended\n`);
    process.exit(1);
  }, WAIT_AFTER_UNCAUGHT_MS).unref();
}
// A worker the tests start (the floods') inherits this import; an error in it stays the worker's
// `error` event, for its test to fail on.
if (isMainThread) {
  process.on('uncaughtException', (error) => uncaught(error, 'uncaughtException'));
  process.on('unhandledRejection', (reason) => uncaught(reason, 'unhandledRejection'));
}
