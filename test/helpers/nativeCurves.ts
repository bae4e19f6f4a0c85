// The native crypto the adapters install at start (src/cli/run.ts, src/vscode/window.ts): node:crypto's
// Ed25519, X25519, HMAC and ChaCha20-Poly1305 instead of noble's pure JavaScript. A test file whose subject is a flow run
// in this process (pairing, messages, an MCP server, a CLI home paired in process) imports this
// first, so it runs on the curves the CLI and the extension run on, for a fraction of the CPU.
// Files about hostile keys and signatures keep the core's default (noble), and
// test/core/curves.test.ts and symmetric.test.ts run both implementations against the vectors.

import { installNativeCrypto } from '../../src/node/nativeSymmetric.js';

installNativeCrypto();
