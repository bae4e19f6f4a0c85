// The modules of the window's bundle that the lazily loaded bundles (the MCP server,
// mcpEntry.ts, and the message encryption, core/hpke.ts) use instead of bundling their own
// copies; esbuild.mjs resolves each of their imports of src/core, src/node and src/relay to an
// entry here, by its path under src/. A test checks that every import they make is listed.

import * as coreBytes from '../core/bytes.js';
import * as coreCurves from '../core/curves.js';
import * as coreErrors from '../core/errors.js';
import * as coreGrants from '../core/grants.js';
import * as coreIdentity from '../core/identity.js';
import * as coreInbox from '../core/inbox.js';
import * as coreMessages from '../core/messages.js';
import * as corePairing from '../core/pairing.js';
import * as coreRules from '../core/rules.js';
import * as coreSession from '../core/session.js';
import * as coreSymmetric from '../core/symmetric.js';
import * as coreTrust from '../core/trust.js';
import * as coreUntrusted from '../core/untrusted.js';
import * as coreVocabulary from '../core/vocabulary.js';

export const SHARED_MODULES: Readonly<Record<string, object>> = {
  'core/bytes.js': coreBytes,
  'core/curves.js': coreCurves,
  'core/errors.js': coreErrors,
  'core/grants.js': coreGrants,
  'core/identity.js': coreIdentity,
  'core/inbox.js': coreInbox,
  'core/messages.js': coreMessages,
  'core/pairing.js': corePairing,
  'core/rules.js': coreRules,
  'core/session.js': coreSession,
  'core/symmetric.js': coreSymmetric,
  'core/trust.js': coreTrust,
  'core/untrusted.js': coreUntrusted,
  'core/vocabulary.js': coreVocabulary,
};
