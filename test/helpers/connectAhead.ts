// A process that opens a connection ahead to a relay (relay/transport.ts connectAhead), run
// by test/relay/transport.test.ts: in its own process because what is checked is how the process
// ends, and over https because a trusted certificate is read only at a process's start
// (NODE_EXTRA_CA_CERTS).
// Usage: node --import tsx test/helpers/connectAhead.ts URL request|none (test/helpers/scripts.ts: compiled under the runner)
// - request: then one GET of URL, and prints `status BODY`;
// - none: no request; waits for one line on standard input (the test's word that its server has
//   the connection) and then has nothing left to do, so it should exit.

import { connectAhead, httpFetch, readCapped } from '../../src/relay/transport.js';

const [url, mode] = process.argv.slice(2);
if (url === undefined || (mode !== 'request' && mode !== 'none')) throw new Error('usage: connectAhead.ts URL request|none');
await connectAhead(url);
if (mode === 'request') {
  const response = await httpFetch(url, { method: 'GET', headers: {}, redirect: 'manual', signal: AbortSignal.timeout(10_000) });
  process.stdout.write(`${response.status} ${await readCapped(response, 1024)}\n`);
} else {
  process.stdin.once('data', () => {
    process.stdin.destroy();
  });
}
