// The audit's floods on the sqlite engine (test/relay/flood.ts).

import { floodSuite } from './flood.js';

floodSuite('sqlite');
