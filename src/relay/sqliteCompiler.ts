// Imported by sqliteStore.ts before node-sqlite3-wasm, so it runs before SQLite's WebAssembly is
// compiled or run: that code stays on V8's baseline compiler (Liftoff). With V8's default tier-up,
// the statements a relay runs at start (opening the file, its pragmas and schema) already made
// SQLite's interpreter hot enough to be compiled again by TurboFan on a background thread: 0.4
// CPU-seconds at every start of a relay on a SQLite file (0.67 against 0.27 in all, the local
// relay each `agent-pair send` may start included), which the requests never paid back: the
// audit's 60,000 requests on the SQLite engine (test/relay/flood.sqlite.test.ts) took less CPU
// on Liftoff alone (4.6 against 5.2 CPU-seconds). Only processes that run a relay on SQLite load
// this module (relay/node.ts imports the store when a relay asks for it), and SQLite is the only
// WebAssembly they run (any other, such as the HTTP parser of fetch, would run correctly, unoptimized).

import { setFlagsFromString } from 'node:v8';

setFlagsFromString('--liftoff-only');
