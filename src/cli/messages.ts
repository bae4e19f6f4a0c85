// `agent-pair send`, `agent-pair inbox` and the revoking half of `agent-pair forget`: thin
// renderings of the core messaging runners (src/core/inbox.ts). No polling or retrying here.
//
// --json lines on stdout (one per event):
//   {"event":"sent","id","peer":{"fingerprint","handle"},"n","seq","sent_at"}
//   {"event":"message","id","from":{"fingerprint","handle"},"n","sent_at","body":{...}}
//   {"event":"receipt","peer":"<fingerprint>","peer_handle","ids":[...]}
//   {"event":"dropped","reason","detail"}
//   {"event":"lost","peer":"<fingerprint>","peer_handle","count"}
//   {"event":"peer_moved","peer","peer_handle","relay_url"}   {"event":"inbox_moved","relay_url","told":[...]}
//   {"event":"relay_trouble","relay_url","code","message"[,"peer","peer_handle"]}
//   {"event":"error","code","message"}   (then exit 1)

import { PairError } from '../core/errors.js';
import { type MessagingDeps, type MessagingEvent, ReceiveRunner, SendRunner, forgetAndRevoke } from '../core/inbox.js';
import type { MailRecord } from '../core/mailbox.js';
import { isKnownBody } from '../core/messages.js';
import { listPeers } from '../core/trust.js';
import type { Terminal } from './terminal.js';

export interface SendInput {
  text?: string;
  data?: unknown;
  replyTo?: string;
}

export interface InboxInput {
  waitSeconds: number;
  follow: boolean;
  lossGraceSeconds?: number;
}

/** The command line checked the input's shape (TEXT or --data, a message id); the core checks sizes. */
export async function sendCommand(deps: MessagingDeps, peerRef: string, input: SendInput, terminal: Terminal): Promise<number> {
  const body: Record<string, unknown> = input.data !== undefined ? { type: 'data', data: input.data } : { type: 'text', text: input.text ?? '' };
  if (input.replyTo !== undefined) body['reply_to'] = input.replyTo;
  const sent = await new SendRunner(deps).send(peerRef, body);
  terminal.result(
    { event: 'sent', id: sent.id, peer: sent.peer, n: sent.record?.n, seq: sent.seq, sent_at: sent.record?.sentAt },
    `Sent to ${sent.peer.handle} (${sent.peer.fingerprint}); message id ${sent.id}. It shows as delivered once they have read it.`,
  );
  return 0;
}

export async function inboxCommand(deps: MessagingDeps, input: InboxInput, terminal: Terminal): Promise<number> {
  const { waitSeconds, lossGraceSeconds } = input;
  const receiver = new ReceiveRunner(deps, lossGraceSeconds === undefined ? {} : { lossGraceMs: lossGraceSeconds * 1000 });
  const peers = await listPeers(deps);
  if (peers.length === 0) throw new PairError('not_found', 'No pinned peers yet, so no one can write to you. Pair first: agent-pair host');
  const render = new EventRenderer(terminal);
  // What this side stored earlier but no one handled yet (another process pulled it) comes first.
  const waiting = await receiver.mailbox.list(peers.map((peer) => peer.fingerprint), { direction: 'in' });
  const handles = new Map(peers.map((peer) => [peer.fingerprint, peer.handle]));
  const earlier = waiting.filter((record) => record.state !== 'handled');
  for (const record of earlier) render.message(record, handles.get(record.peer) ?? record.peer);
  await receiver.markHandled(earlier);
  await receiver.sendReceipts();

  if (input.follow) {
    // Each message is handed over as printed; the receipts go out at once.
    let handing: Promise<unknown> = Promise.resolve();
    receiver.on((event) => {
      render.event(event);
      if (event.type === 'message') handing = handing.then(() => receiver.markHandled([event.record]));
    });
    const controller = new AbortController();
    const stop = (): void => {
      controller.abort();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    terminal.say('Waiting for messages (Ctrl-C stops).');
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
  await receiver.markHandled(events.flatMap((event) => (event.type === 'message' ? [event.record] : [])));
  // Only a read that failed fails the command; a peer not told of a new inbox yet is retried later.
  const trouble = events.find((event): event is Extract<MessagingEvent, { type: 'relayTrouble' }> => event.type === 'relayTrouble' && event.peer === undefined);
  if (render.count === 0 && earlier.length === 0 && !trouble) terminal.say(waitSeconds > 0 ? `No new messages in ${waitSeconds} s.` : 'No new messages.');
  if (trouble && !events.some((event) => event.type === 'message')) {
    throw new PairError(trouble.code, `Could not read your inbox at ${trouble.relayUrl}: ${trouble.message}`);
  }
  return 0;
}

export async function forgetCommand(deps: MessagingDeps, fingerprint: string, terminal: Terminal): Promise<number> {
  const { forgotten, revoked } = await forgetAndRevoke(deps, fingerprint);
  if (!forgotten) throw new PairError('not_found', `No pinned peer has fingerprint ${fingerprint}. List them with: agent-pair peers`);
  terminal.result(
    { event: 'forgotten', fingerprint, revoked },
    revoked
      ? `Forgot ${fingerprint}; the relay no longer accepts messages from them to you.`
      : `Forgot ${fingerprint}. The relay could not be told to refuse their messages now; anything they send is dropped here.`,
  );
  return 0;
}

/** Renders runner events: JSON lines in --json mode, sentences for a person otherwise. */
class EventRenderer {
  count = 0;

  constructor(private readonly terminal: Terminal) {}

  message(record: MailRecord, handle: string): void {
    this.count++;
    const from = { fingerprint: record.peer, handle };
    // `v`: 2 when the message came sealed to a receive key and signed (forward secrecy, PROTOCOL.md 7).
    this.terminal.result({ event: 'message', id: record.id, v: record.v ?? 1, from, n: record.n, sent_at: record.sentAt, body: record.body }, describeMessage(record, handle));
  }

  event(event: MessagingEvent): void {
    switch (event.type) {
      case 'message':
        this.message(event.record, event.peer.handle);
        return;
      case 'receipt':
        this.terminal.result(
          { event: 'receipt', peer: event.peer.fingerprint, peer_handle: event.peer.handle, ids: event.ids },
          `${event.peer.handle} has read ${event.ids.length === 1 ? `your message ${event.ids[0] ?? ''}` : `${event.ids.length} of your messages`}.`,
        );
        return;
      case 'dropped':
        // Never presented as coming from a peer: the relay or someone else sent something that failed a check.
        this.terminal.result({ event: 'dropped', reason: event.reason, detail: event.detail }, `Dropped an envelope that failed a check (${event.reason}): ${event.detail}.`);
        return;
      case 'lost':
        this.terminal.result(
          { event: 'lost', peer: event.peer.fingerprint, peer_handle: event.peer.handle, count: event.count },
          `The relay may have lost ${event.count} message${event.count === 1 ? '' : 's'} from ${event.peer.handle} (${event.peer.fingerprint}); ask them to send again.`,
        );
        return;
      case 'peerMoved':
        this.terminal.result(
          { event: 'peer_moved', peer: event.peer.fingerprint, peer_handle: event.peer.handle, relay_url: event.relayUrl },
          `${event.peer.handle} moved their inbox to ${event.relayUrl}; messages to them go there now.`,
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
          this.terminal.result({ event: 'relay_trouble', relay_url: event.relayUrl, code: event.code, message: event.message, ...(event.peer && { peer: event.peer.fingerprint, peer_handle: event.peer.handle }) }, '');
        } else {
          this.terminal.warn(event.peer ? `Could not tell ${event.peer.handle} (${event.peer.fingerprint}) where your inbox is now: ${event.message} If both of your inboxes were lost, pair again.` : `Relay ${event.relayUrl}: ${event.message}`);
        }
        return;
      case 'sent':
        return;
    }
  }
}

function describeMessage(record: MailRecord, handle: string): string {
  const head = `${record.sentAt}  ${handle} (${record.peer})${'reply_to' in record.body && typeof record.body['reply_to'] === 'string' ? `, replying to ${record.body['reply_to']}` : ''}:`;
  const { body } = record;
  if (!isKnownBody(body)) return `${head} a message of type ${JSON.stringify(body.type)}, which this version cannot show (id ${record.id}).`;
  if (body.type === 'text') return `${head}\n${body.text.replace(/^/gm, '  ')}`;
  if (body.type === 'data') return `${head} data ${JSON.stringify(body.data)}`;
  return `${head} ${body.type}`;
}
