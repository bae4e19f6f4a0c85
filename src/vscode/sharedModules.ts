// The modules of the extension bundle that the lazily loaded MCP bundle (mcpEntry.ts) uses
// instead of bundling its own copies; esbuild.mjs resolves each of the MCP bundle's imports of
// src/core, src/node and src/relay to an entry here, by its path under src/. A test checks that
// every import the MCP bundle makes is listed.

import * as coreErrors from '../core/errors.js';
import * as coreGrants from '../core/grants.js';
import * as coreIdentity from '../core/identity.js';
import * as coreInbox from '../core/inbox.js';
import * as coreMessages from '../core/messages.js';
import * as corePairing from '../core/pairing.js';
import * as coreRules from '../core/rules.js';
import * as coreSession from '../core/session.js';
import * as coreTrust from '../core/trust.js';
import * as coreUntrusted from '../core/untrusted.js';
import * as coreVocabulary from '../core/vocabulary.js';

export const SHARED_MODULES: Readonly<Record<string, object>> = {
  'core/errors.js': coreErrors,
  'core/grants.js': coreGrants,
  'core/identity.js': coreIdentity,
  'core/inbox.js': coreInbox,
  'core/messages.js': coreMessages,
  'core/pairing.js': corePairing,
  'core/rules.js': coreRules,
  'core/session.js': coreSession,
  'core/trust.js': coreTrust,
  'core/untrusted.js': coreUntrusted,
  'core/vocabulary.js': coreVocabulary,
};
