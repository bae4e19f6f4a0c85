// The audit's floods on the memory engine (test/relay/flood.ts).

import { floodSuite } from './flood.js';

floodSuite('memory');
