// Section 6 against section 7 messages (PROTOCOL.md 6 and 7), as the CLI runs them: homes of
// 0600 files on disk with the mail lock, the relay in its own process, real runners. Two pairs
// converse in turns (A sends, B reads, B sends, A reads), one pair held to section 6 (as with a
// peer that speaks only section 6), one speaking v2 (key choice and spend under the lock, top-up
// secrets written, Base mode + Ed25519 signature; on reading, the verify, the one-time secret's
// deletion and the pool update). The two are interleaved so drift hits both alike.
// - send: SendRunner.send, from the call to the relay's answer (seal, POST, records kept)
// - read: ReceiveRunner.pull with one message waiting (read, open, checks, stored, acknowledged)
// Run directly: node --import tsx bench/messageVersions.ts [runs]

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { initSelfIdempotent } from '../src/core/identity.js';
import { type MessagingDeps, ReceiveRunner } from '../src/core/inbox.js';
import { ReceiveKeys } from '../src/core/receiveKeys.js';
import { SessionStore } from '../src/core/store.js';
import { openHomeStores } from '../src/node/fileStore.js';
import { homeMailLock } from '../src/node/mailLock.js';
import { systemClock, systemRandom } from '../src/node/system.js';
import { createRelayConnector } from '../src/relay/client.js';
import { pairSides } from '../test/helpers/pairing.js';
import { startServerProcess } from './processes.js';
import { type Summary, summarize } from './stats.js';

const WARM_UP_RUNS = 10;

export interface MessageVersionsBench {
  v1Send: Summary;
  v2Send: Summary;
  v1Read: Summary;
  v2Read: Summary;
}

interface Home {
  store: SessionStore;
  deps: MessagingDeps;
  fingerprint: string;
  runner: ReceiveRunner;
}

async function fileSide(relayUrl: string, root: string, handle: string): Promise<Home> {
  const home = join(root, handle);
  const { vault, memory } = openHomeStores(home);
  const deps = { vault, memory, clock: systemClock, random: systemRandom, relays: createRelayConnector(), mailLock: homeMailLock(home) };
  const { identity } = await initSelfIdempotent(deps, handle, deps.relays(relayUrl));
  return { store: new SessionStore(deps), deps, fingerprint: identity.fingerprint, runner: new ReceiveRunner(deps) };
}

/** Holds a pair to section 6: neither has a key from the other, and neither sends the upgrading keys message. */
async function holdToSection6(a: Home, b: Home): Promise<void> {
  for (const [self, peer] of [[a, b], [b, a]] as const) {
    await new ReceiveKeys(self.deps).forget(peer.fingerprint);
    await self.deps.memory.set(`mail.keys.${peer.fingerprint}`, JSON.stringify({ oneTime: [], spokeV2: false, idKeysSent: true }));
  }
}

async function turn(from: Home, to: Home, text: string, sends: number[], reads: number[], expectedV: 1 | 2): Promise<void> {
  const sendStarted = performance.now();
  const sent = await from.runner.sender.send(to.fingerprint, { type: 'text', text });
  sends.push(performance.now() - sendStarted);
  const readStarted = performance.now();
  const events = await to.runner.pull();
  reads.push(performance.now() - readStarted);
  const got = events.find((event) => event.type === 'message');
  if (got?.type !== 'message' || got.record.id !== sent.id || (got.record.v ?? 1) !== expectedV) throw new Error(`the v${expectedV} message did not arrive as v${expectedV}`);
}

export async function benchMessageVersions(runs = 100): Promise<MessageVersionsBench> {
  const relay = await startServerProcess('relay');
  const root = await mkdtemp(join(tmpdir(), 'agent-pair-bench-v2-'));
  try {
    const [a1, b1, a2, b2] = await Promise.all(['alice1', 'bob1', 'alice2', 'bob2'].map((handle) => fileSide(relay.url, root, handle)));
    if (!a1 || !b1 || !a2 || !b2) throw new Error('homes');
    await pairSides(a1, b1, relay.url);
    await pairSides(a2, b2, relay.url);
    await holdToSection6(a1, b1);
    const times = { v1Send: [] as number[], v2Send: [] as number[], v1Read: [] as number[], v2Read: [] as number[] };
    const scratch = { sends: [] as number[], reads: [] as number[] };
    for (let i = 0; i < WARM_UP_RUNS + runs; i++) {
      const keep = i >= WARM_UP_RUNS;
      const v1 = keep ? { sends: times.v1Send, reads: times.v1Read } : scratch;
      const v2 = keep ? { sends: times.v2Send, reads: times.v2Read } : scratch;
      await turn(a1, b1, `ping ${i}`, v1.sends, v1.reads, 1);
      await turn(a2, b2, `ping ${i}`, v2.sends, v2.reads, 2);
      await turn(b1, a1, `pong ${i}`, v1.sends, v1.reads, 1);
      await turn(b2, a2, `pong ${i}`, v2.sends, v2.reads, 2);
    }
    return { v1Send: summarize(times.v1Send), v2Send: summarize(times.v2Send), v1Read: summarize(times.v1Read), v2Read: summarize(times.v2Read) };
  } finally {
    await relay.close();
    await rm(root, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await benchMessageVersions(Number(process.argv[2] ?? 100))));
}
