// Run by test/node/codeCache.test.ts in a process of its own, as a new extension host starts:
// loads the bundle `argv[2]` with requireWithCodeCache (cache in `argv[3]`), calls its `sum(4, 5)`,
// saves the cache and prints what happened as one JSON line.

import { requireWithCodeCache } from '../../src/node/codeCache.js';

const [file, cacheDir] = process.argv.slice(2);
if (file === undefined || cacheDir === undefined) throw new Error('codeCacheLoad: expected the bundle and the cache directory');
const loaded = requireWithCodeCache(file, cacheDir);
const sum = (loaded.exports as { sum: (a: number, b: number) => number }).sum(4, 5);
loaded.saveCache();
process.stdout.write(`${JSON.stringify({ cache: loaded.cache, sum })}\n`);
