// `agent-pair send`, `agent-pair inbox` and the revoking half of `agent-pair forget`: thin
// renderings of the core messaging runners (src/core/inbox.ts). No polling or retrying here.
//
// --json lines on stdout (one per event):
//   {"event":"sent","id","peer":{"fingerprint","handle"},"n","seq","sent_at"}
//   {"event":"queued","id","peer":{"fingerprint","handle"},"n","sent_at","code","message"}   the relay
//                                                 refused it for now; it waits in the outbox
//   {"event":"send_failed","id","peer":{...},"code","message"}   a queued send refused for good or aged out
//   {"event":"outgoing","id","peer":{...},"n","sent_at","state","body"}   `sent`: one per sent message
//                                                 (state queued, sent, delivered, failed or cancelled)
//   {"event":"cancelled","id","peer":{...}}
//   {"event":"overflow","peer":{...},"count"}   older unhandled messages dropped to keep the limit
//   {"event":"move_held","peer":{...},"relay_url"}   the peer asks to move to another relay: accept-move / refuse-move
//   {"event":"move_accepted"|"move_refused","peer":{...},"relay_url"}
//   {"event":"message","id","from":{"fingerprint","handle"},"n","sent_at","body":{...}}
//   {"event":"receipt","peer":{"fingerprint","handle"},"ids":[...]}      (those messages are delivered)
//   {"event":"dropped","reason","detail"}
//   {"event":"lost","peer":{"fingerprint","handle"},"count"}
//   {"event":"peer_moved","peer":{"fingerprint","handle"},"relay_url"}   {"event":"inbox_moved","relay_url","told":[...]}
//   {"event":"relay_trouble","relay_url","code","message"[,"peer":{"fingerprint","handle"}]}
//   {"event":"forgotten","peer":{"fingerprint","handle"},"revoked"}
// A peer is always named by that object, as in `host`/`join`'s {"event":"paired","peer":{...}}.
//   {"event":"error","code","message"}   (then exit 1)

import { PairError } from '../core/errors.js';
import { type MessagingDeps, type MessagingEvent, type PeerRef, ReceiveRunner, SendRunner, decidePeerMove, heldMoves, resolvePeer } from '../core/inbox.js';
import { forgetAndRevoke } from '../core/grants.js';
import type { MailRecord } from '../core/mailbox.js';
import { isKnownBody } from '../core/messages.js';
import { type Handover, PeerBudgets } from '../core/rules.js';
import { listPeers } from '../core/trust.js';
import { jsonQuote, showControls } from '../core/untrusted.js';
import { runHandler } from './exec.js';
import type { Terminal } from './terminal.js';
import { EXIT_OUTPUT_CLOSED } from './usage.js';
import { type CliContext, homeOption } from './words.js';
import { MAX_TEXT_BYTES } from '../core/vocabulary.js';
import { close, open, read } from '../node/fsAsync.js';
import { connectAhead } from '../relay/transport.js';

export interface SendInput {
  text?: string;
  data?: unknown;
  replyTo?: string;
}

export interface InboxInput {
  waitSeconds: number;
  follow: boolean;
  lossGraceSeconds?: number;
  /** With follow: the person's handler command for messages of `agent`-rule peers (see exec.ts). */
  exec?: { command: string; timeoutSeconds: number; autoHandoversPerHour: number };
}

/** Where `send` takes its text from: `send PEER -` reads stdin, `--file PATH` a file. */
export type TextSource = { stdin: NodeJS.ReadableStream } | { file: string };

/**
 * The text of a message from stdin or a file, read at most MAX_TEXT_BYTES + 1 bytes (so a huge
 * file is refused without being read whole) and decoded as strict UTF-8.
 */
export async function readMessageText(source: TextSource): Promise<string> {
  const limit = MAX_TEXT_BYTES + 1;
  const chunks: Buffer[] = [];
  let size = 0;
  const what = 'file' in source ? source.file : 'standard input';
  if ('file' in source) {
    const handle = await open(source.file, 'r').catch((error: unknown) => {
      throw new PairError('bad_input', `--file ${JSON.stringify(source.file)} cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)}); expected the path of a text file.`);
    });
    try {
      const buffer = Buffer.alloc(limit);
      while (size < limit) {
        const { bytesRead } = await read(handle, buffer, size, limit - size, null);
        if (bytesRead === 0) break;
        size += bytesRead;
      }
      chunks.push(buffer.subarray(0, size));
    } finally {
      await close(handle);
    }
  } else {
    for await (const chunk of source.stdin) {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      chunks.push(bytes);
      size += bytes.length;
      if (size >= limit) break;
    }
  }
  if (size > MAX_TEXT_BYTES) throw new PairError('too_large', `The text in ${what} is over ${MAX_TEXT_BYTES / 1024} KiB of UTF-8, the most a message carries; split it, or send it as several messages.`);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
  } catch {
    throw new PairError('bad_input', `The text in ${what} is not UTF-8; expected a text file.`);
  }
}

/** The command line checked the input's shape (TEXT or --data, a message id); the core checks sizes. */
export async function sendCommand(deps: MessagingDeps, context: CliContext, peerRef: string, input: SendInput, terminal: Terminal): Promise<number> {
  const body: Record<string, unknown> = input.data !== undefined ? { type: 'data', data: input.data } : { type: 'text', text: input.text ?? '' };
  if (input.replyTo !== undefined) body['reply_to'] = input.replyTo;
  const peer = await resolvePeer(deps, peerRef);
  await connectAhead(peer.relayUrl);
  const sender = new SendRunner(deps);
  let refusal: Extract<MessagingEvent, { type: 'queued' }> | undefined;
  sender.on((event) => {
    if (event.type === 'queued') refusal = event;
  });
  const sent = await sender.send(peer, body);
  if (sent.queued) {
    terminal.result(
      { event: 'queued', id: sent.id, peer: sent.peer, n: sent.record?.n, sent_at: sent.record?.sentAt, code: refusal?.code, message: refusal?.message },
      `Queued for ${sent.peer.handle} (${sent.peer.fingerprint}); message id ${sent.id}. Their relay refused it for now (${showControls(refusal?.message ?? '')}); ` +
        `it is sent again with the next send, inbox or a running inbox --follow, for up to 7 days. See it with: ${context.command} sent${homeOption(context)}; take it back with: ${context.command} cancel ${sent.id}${homeOption(context)}`,
    );
    return 0;
  }
  terminal.result(
    { event: 'sent', id: sent.id, peer: sent.peer, n: sent.record?.n, sent_at: sent.record?.sentAt },
    `Sent to ${sent.peer.handle} (${sent.peer.fingerprint}); message id ${sent.id}. It is delivered once their side has shown it to them (your inbox then prints the receipt).`,
  );
  return 0;
}

/** `sent [PEER]`: what this side sent, oldest first, with what became of each (queued, sent, delivered...). */
export async function sentCommand(deps: MessagingDeps, peerRef: string | undefined, terminal: Terminal): Promise<number> {
  const sender = new SendRunner(deps);
  const peers = peerRef === undefined ? await listPeers(deps) : [await resolvePeer(deps, peerRef)];
  const handles = new Map(peers.map((peer) => [peer.fingerprint, peer.handle]));
  const records = await sender.mailbox.list([...handles.keys()], { direction: 'out' });
  for (const record of records) {
    const peer = { fingerprint: record.peer, handle: handles.get(record.peer) ?? record.peer };
    terminal.result(
      { event: 'outgoing', id: record.id, peer, n: record.n, sent_at: record.sentAt, state: record.state, body: record.body },
      `${record.sentAt}  to ${peer.handle} (${peer.fingerprint})  ${record.state.padEnd(9)}  ${record.id}  ${preview(record)}`,
    );
  }
  if (records.length === 0) terminal.say('Nothing sent yet.');
  return 0;
}

/** `cancel ID`: takes back a message still waiting in the outbox. */
export async function cancelCommand(deps: MessagingDeps, id: string, terminal: Terminal): Promise<number> {
  const record = await new SendRunner(deps).cancel(id);
  const peer = peerObject(await resolvePeer(deps, record.peer));
  terminal.result({ event: 'cancelled', id, peer }, `Cancelled message ${id} to ${describePeer(peer)}; it will not be sent.`);
  return 0;
}

/**
 * `accept-move PEER [RELAY_URL]` / `refuse-move PEER`: the person's answer to a peer's move to
 * another relay; with RELAY_URL, only while the peer still asks for the address inbox showed.
 */
export async function decideMoveCommand(deps: MessagingDeps, peerRef: string, decision: 'accept' | 'refuse', terminal: Terminal, shownRelayUrl?: string): Promise<number> {
  const { peer, relayUrl } = await decidePeerMove(deps, peerRef, decision, shownRelayUrl);
  terminal.result(
    { event: decision === 'accept' ? 'move_accepted' : 'move_refused', peer, relay_url: relayUrl },
    decision === 'accept'
      ? `Messages to ${peer.handle} (${peer.fingerprint}) now go to ${showControls(relayUrl)}.`
      : `Refused: messages to ${peer.handle} (${peer.fingerprint}) still go where they went before.`,
  );
  return 0;
}

export async function inboxCommand(deps: MessagingDeps, context: CliContext, input: InboxInput, terminal: Terminal): Promise<number> {
  const { waitSeconds, lossGraceSeconds } = input;
  const receiver = new ReceiveRunner(deps, lossGraceSeconds === undefined ? {} : { lossGraceMs: lossGraceSeconds * 1000 });
  const peers = await listPeers(deps);
  if (peers.length === 0) throw new PairError('not_found', `No pinned peers yet in ${context.home}, so no one can write to you. Pair first: ${context.command} host${homeOption(context)}`);
  const render = new EventRenderer(terminal);
  for (const held of await heldMoves(deps)) render.event({ type: 'peerMoveHeld', peer: held.peer, relayUrl: held.relayUrl });
  // What this side stored earlier but no one handled yet (another process pulled it) comes first.
  const waiting = await receiver.mailbox.list(peers.map((peer) => peer.fingerprint), { direction: 'in' });
  const handles = new Map(peers.map((peer) => [peer.fingerprint, peer.handle]));
  const earlier = waiting.filter((record) => record.state !== 'handled');
  for (const record of earlier) render.message(record, handles.get(record.peer) ?? record.peer);
  if (!(await markShown(receiver, terminal, earlier))) return EXIT_OUTPUT_CLOSED;
  await receiver.sendReceipts();

  if (input.follow) {
    // Messages are handed over one at a time, in the order they came; the receipts go out at once.
    let handing: Promise<unknown> = Promise.resolve();
    const controller = new AbortController();
    const handOver = input.exec ? execHandOver(receiver, input.exec, terminal) : undefined;
    // The runner reads each message's rule (and, with --exec, spends the hand-over) as it stores it.
    receiver.setHandover({ budgets: new PeerBudgets(deps, receiver.mailbox, input.exec ? { autoHandovers: input.exec.autoHandoversPerHour } : {}), wantsHandover: () => handOver !== undefined });
    receiver.on((event) => {
      if (event.type !== 'message') {
        render.event(event);
        return;
      }
      const { handover } = event;
      handing = handing.then(async () => {
        // A muted peer's messages are kept and counted, never shown here: `inbox` lists them.
        if (handover?.kind === 'mute') return;
        // Once the output was closed (`| head`), following ends and the rest wait unread for the next inbox.
        if (terminal.stdoutFailure !== undefined) {
          controller.abort();
          return;
        }
        render.event(event);
        if (!handOver || handover?.kind === 'notify') {
          if (!(await markShown(receiver, terminal, [event.record]))) controller.abort();
        } else if (handover?.kind === 'agent' || handover?.kind === 'overBudget') await handOver(event.record, event.peer, handover);
        // Else its hand-over could not be decided (logged): it waits unread for `agent-pair inbox`.
      });
    });
    const stop = (): void => {
      controller.abort();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    terminal.say(input.exec ? `Waiting for messages (Ctrl-C stops); those from peers whose rule is agent go to: ${input.exec.command}` : 'Waiting for messages (Ctrl-C stops).');
    try {
      await receiver.run({ signal: controller.signal });
      await handing;
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }
    return 0;
  }

  const events = await receiver.pull({ waitSeconds });
  for (const event of events) render.event(event);
  const pulledHere = events.flatMap((event) => (event.type === 'message' ? [event.record] : []));
  // The pull also returns when another process of this home stored what arrived: shown here too.
  const shown = new Set([...earlier, ...pulledHere].map((record) => record.id));
  const storedElsewhere = (await receiver.mailbox.list(peers.map((peer) => peer.fingerprint), { direction: 'in' })).filter((record) => record.state !== 'handled' && !shown.has(record.id));
  for (const record of storedElsewhere) render.message(record, handles.get(record.peer) ?? record.peer);
  if (!(await markShown(receiver, terminal, [...pulledHere, ...storedElsewhere]))) return EXIT_OUTPUT_CLOSED;
  // Only a read that failed fails the command; a peer not told of a new inbox yet is retried later.
  const trouble = events.find((event): event is Extract<MessagingEvent, { type: 'relayTrouble' }> => event.type === 'relayTrouble' && event.peer === undefined);
  if (render.count === 0 && earlier.length === 0 && !trouble) terminal.say(waitSeconds > 0 ? `No new messages in ${waitSeconds} s.` : 'No new messages.');
  if (trouble && !events.some((event) => event.type === 'message')) {
    throw new PairError(trouble.code, `Could not read your inbox at ${trouble.relayUrl}: ${trouble.message}`);
  }
  return 0;
}

/**
 * Marks messages read once the output accepted their text; false, marking none, if it failed
 * (`inbox | head -1` ended): its reader may have dropped any of them unread, so they wait for
 * the next inbox.
 */
async function markShown(receiver: ReceiveRunner, terminal: Terminal, records: MailRecord[]): Promise<boolean> {
  if (!(await terminal.written())) return false;
  await receiver.markHandled(records);
  return true;
}

/**
 * `inbox --follow --exec CMD`: each message from an `agent`-rule peer, within the hand-over
 * budget, runs CMD with its JSON event on stdin; exit 0 marks it handled (receipt), anything else
 * leaves it unread and says so on stderr. Past the budget it is not handed over: it waits unread
 * for the person, who is told when handing over resumes.
 */
function execHandOver(receiver: ReceiveRunner, exec: NonNullable<InboxInput['exec']>, terminal: Terminal): (record: MailRecord, peer: PeerRef, handover: Extract<Handover, { kind: 'agent' | 'overBudget' }>) => Promise<void> {
  return async (record, peer, handover) => {
    if (handover.kind === 'overBudget') {
      const { used, freesAt } = handover.state;
      terminal.warn(
        `Not handed to ${exec.command}: ${used} messages from ${describePeer(peer)} went to it in the last hour, the limit (--auto-handovers-per-hour). ` +
          `Message ${record.id} waits unread for you (agent-pair inbox)${freesAt === undefined ? '' : `; handing over resumes at ${new Date(freesAt).toISOString()}`}.`,
      );
      return;
    }
    const outcome = await runHandler(exec.command, `${jsonQuote(messageEvent(record, peer.handle))}\n`, exec.timeoutSeconds * 1000);
    if (outcome.kind === 'handled') {
      await receiver.markHandled([record]);
      return;
    }
    const why =
      outcome.kind === 'timeout' ? `was stopped after ${exec.timeoutSeconds} s (--exec-timeout)`
      : outcome.kind === 'notStarted' ? `could not start (${outcome.message})`
      : outcome.signal !== null ? `was killed by ${outcome.signal}`
      : outcome.exitCode !== null && outcome.exitCode > 128 ? `exited with status ${outcome.exitCode} (killed by signal ${outcome.exitCode - 128}, as the shell reports it)`
      : `exited with status ${outcome.exitCode ?? '?'}`;
    terminal.warn(`${exec.command} ${why}: message ${record.id} from ${describePeer(peer)} is left unread (agent-pair inbox shows it).`);
  };
}

/** A received message as `inbox --json` prints it and `--exec` hands it over: one object, the same everywhere. */
function messageEvent(record: MailRecord, handle: string): Record<string, unknown> {
  // `v`: 2 when the message came sealed to a receive key and signed (forward secrecy, PROTOCOL.md 7).
  return { event: 'message', id: record.id, v: record.v ?? 1, from: { fingerprint: record.peer, handle }, n: record.n, sent_at: record.sentAt, body: record.body };
}

/** `peerRef`: a fingerprint, or a handle no other pinned peer shares (as `send` takes it). */
export async function forgetCommand(deps: MessagingDeps, peerRef: string, terminal: Terminal): Promise<number> {
  const peer = await resolvePeer(deps, peerRef);
  const { fingerprint, handle } = peer;
  const { forgotten, revoked } = await forgetAndRevoke(deps, fingerprint);
  if (!forgotten) throw new PairError('not_found', `No pinned peer has fingerprint ${fingerprint}.`);
  terminal.result(
    { event: 'forgotten', peer: { fingerprint, handle }, revoked },
    revoked
      ? `Forgot ${handle} (${fingerprint}); the relay no longer accepts messages from them to you.`
      : `Forgot ${handle} (${fingerprint}). The relay could not be told to refuse their messages now; anything they send is dropped here.`,
  );
  return 0;
}

/** Renders runner events: JSON lines in --json mode, sentences for a person otherwise. */
class EventRenderer {
  count = 0;

  constructor(private readonly terminal: Terminal) {}

  message(record: MailRecord, handle: string): void {
    this.count++;
    let prose: string;
    try {
      prose = describeMessage(record, handle);
    } catch {
      // A message kept by an earlier version that cannot be shown must not stop the others.
      prose = `${record.sentAt}  ${handle} (${record.peer}): message ${record.id} cannot be shown here.`;
    }
    this.terminal.result(messageEvent(record, handle), prose);
  }

  event(event: MessagingEvent): void {
    switch (event.type) {
      case 'message':
        this.message(event.record, event.peer.handle);
        return;
      case 'receipt':
        this.terminal.result(
          { event: 'receipt', peer: peerObject(event.peer), ids: event.ids },
          `Delivered to ${event.peer.handle}: ${event.ids.length === 1 ? `your message ${event.ids[0] ?? ''}` : `${event.ids.length} of your messages`}.`,
        );
        return;
      case 'dropped':
        // Never presented as coming from a peer: the relay or someone else sent something that failed a check.
        this.terminal.result({ event: 'dropped', reason: event.reason, detail: event.detail }, `Dropped an envelope that failed a check (${event.reason}): ${showControls(event.detail)}.`);
        return;
      case 'overflow':
        this.terminal.result(
          { event: 'overflow', peer: peerObject(event.peer), count: event.count },
          `Dropped the ${event.count} oldest unhandled message${event.count === 1 ? '' : 's'} from ${event.peer.handle} (${event.peer.fingerprint}) to keep the limit of messages waiting per peer; read your inbox more often or ask them to send less.`,
        );
        return;
      case 'peerMoveHeld':
        this.terminal.result(
          { event: 'move_held', peer: peerObject(event.peer), relay_url: event.relayUrl },
          `${event.peer.handle} (${event.peer.fingerprint}) asks you to send to them on another relay, ${jsonQuote(showControls(event.relayUrl))}. Nothing changes until you decide: ` +
            `agent-pair accept-move ${event.peer.fingerprint} ${showControls(event.relayUrl)}   or   agent-pair refuse-move ${event.peer.fingerprint}`,
        );
        return;
      case 'queued':
        this.terminal.result({ event: 'queued', id: event.record.id, peer: peerObject(event.peer), code: event.code, message: event.message }, `Message ${event.record.id} to ${describePeer(event.peer)} waits in the outbox: ${showControls(event.message)}`);
        return;
      case 'sendFailed':
        this.terminal.result({ event: 'send_failed', id: event.record.id, peer: peerObject(event.peer), code: event.code, message: event.message }, `Message ${event.record.id} to ${describePeer(event.peer)} could not be sent: ${showControls(event.message)}`);
        return;
      case 'lost':
        this.terminal.result(
          { event: 'lost', peer: peerObject(event.peer), count: event.count },
          `The relay may have lost ${event.count} message${event.count === 1 ? '' : 's'} from ${event.peer.handle} (${event.peer.fingerprint}); ask them to send again.`,
        );
        return;
      case 'peerMoved':
        this.terminal.result(
          { event: 'peer_moved', peer: peerObject(event.peer), relay_url: event.relayUrl },
          `${event.peer.handle} moved their inbox to ${showControls(event.relayUrl)}; messages to them go there now.`,
        );
        return;
      case 'inboxMoved':
        this.terminal.result(
          { event: 'inbox_moved', relay_url: event.relayUrl, told: event.told },
          `The relay at ${event.relayUrl} had forgotten your inbox; a new one is there now` +
            (event.told.length > 0 ? ` and ${event.told.map((peer) => peer.handle).join(', ')} ${event.told.length === 1 ? 'was' : 'were'} told.` : '. Peers that could not be told yet are told later; if they moved too, pair with them again.'),
        );
        return;
      case 'relayTrouble':
        if (this.terminal.json) {
          this.terminal.result({ event: 'relay_trouble', relay_url: event.relayUrl, code: event.code, message: event.message, ...(event.peer && { peer: peerObject(event.peer) }) }, '');
        } else {
          this.terminal.warn(showControls(event.peer ? `Could not tell ${event.peer.handle} (${event.peer.fingerprint}) where your inbox is now: ${event.message} If both of your inboxes were lost, pair again.` : `Relay ${event.relayUrl}: ${event.message}`));
        }
        return;
      case 'sent':
        if (event.record?.state === 'sent') this.terminal.result({ event: 'sent', id: event.id, peer: peerObject(event.peer), n: event.record.n, sent_at: event.record.sentAt }, `Queued message ${event.id} to ${describePeer(event.peer)} was sent.`);
        return;
    }
  }
}

/** A peer in a JSON event: the same object in every event. */
function peerObject(peer: { fingerprint: string; handle: string }): { fingerprint: string; handle: string } {
  return { fingerprint: peer.fingerprint, handle: peer.handle };
}

function describePeer(peer: PeerRef): string {
  return `${peer.handle} (${peer.fingerprint})`;
}

/** One line of what a sent message said, for the `sent` list. */
function preview(record: MailRecord): string {
  const { body } = record;
  const text = body.type === 'text' && typeof body['text'] === 'string' ? body['text'] : body.type === 'data' ? JSON.stringify(body['data']) : body.type;
  return showControls(text.length > 60 ? `${text.slice(0, 59)}…` : text, { oneLine: true });
}

/**
 * A received message for the person's terminal: control characters the peer wrote (ANSI and OSC
 * escapes, C0/C1, bidi overrides) shown escaped, so the text cannot drive the terminal or fake
 * a line from someone else; every line of a text is indented under its sender.
 */
function describeMessage(record: MailRecord, handle: string): string {
  // The id is what send --reply-to takes to answer this message.
  const head = `${record.sentAt}  ${handle} (${record.peer}), message ${record.id}${'reply_to' in record.body && typeof record.body['reply_to'] === 'string' ? `, replying to ${record.body['reply_to']}` : ''}:`;
  const { body } = record;
  if (!isKnownBody(body)) return `${head} a message of type ${jsonQuote(showControls(body.type))}, which this version cannot show.`;
  if (body.type === 'text') return `${head}\n${showControls(body.text).replace(/^/gm, '  ')}`;
  if (body.type === 'data') return `${head} data ${showControls(jsonQuote(body.data))}`;
  return `${head} ${body.type}`;
}
