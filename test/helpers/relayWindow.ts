// A stand-in for a VS Code window's extension host, run as its own process by the tests: it
// makes sure the local relay answers through a RelayChoice, prints its log (in VS Code's words) and then the status
// (`status {json}`), and idles until the test kills it (as VS Code ends an extension host on a reload).
// Usage: node --import tsx test/helpers/relayWindow.ts PORT STATE_DIR (test/helpers/scripts.ts: compiled under the runner)

import { RelayChoice } from '../../src/node/localRelay.js';
import { localRelayLogLine } from '../../src/vscode/relayWords.js';
import { RELAY_COMMAND } from './relayProcess.js';

const [port, stateDir] = process.argv.slice(2);
if (port === undefined || stateDir === undefined) throw new Error('usage: relayWindow.ts PORT STATE_DIR');
// startTimeoutMs: a relay process starts slowly on a loaded machine.
const relays = new RelayChoice({ configuredUrl: () => '', port: Number(port), stateDir, relayCommand: RELAY_COMMAND, startTimeoutMs: 20_000, onEvent: (event) => process.stdout.write(`${localRelayLogLine(event)}\n`) });
const status = await relays.ensureLocal();
process.stdout.write(`status ${JSON.stringify(status)}\n`);
setInterval(() => undefined, 60_000);
