// The audit's floods on the redis engine (test/relay/flood.ts).

import { floodSuite } from './flood.js';

floodSuite('redis');
