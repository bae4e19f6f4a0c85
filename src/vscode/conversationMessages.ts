// The typed contract between a conversation panel's host (conversationPanel.ts) and its webview
// (media/conversation.js). Everything the host sends is display data; the peer's text travels as
// a string the page writes with textContent, never as HTML. Every message from the page is
// checked here before anything acts on it.

import type { MailRecord, PeerMailSummary } from '../core/mailbox.js';
import type { ForwardSecrecy } from '../core/receiveKeys.js';
import { showControls } from '../core/untrusted.js';
import { type PeerRule, isPeerRule } from '../core/vocabulary.js';
import { messageShape } from './panelMessages.js';

export type EntryState = MailRecord['state'];

export interface ConversationEntry {
  id: string;
  direction: 'in' | 'out';
  /** `unsupported`: a body type this version does not know, kept and shown as such. */
  kind: 'text' | 'data' | 'unsupported';
  /** What the page shows: the text, the data as indented JSON, or a line saying what it was. */
  text: string;
  /** RFC 3339 UTC, as the sender dated it. */
  sentAt: string;
  state: EntryState;
  replyTo?: string;
}

export interface ConversationView {
  peer: { handle: string; fingerprint: string };
  entries: ConversationEntry[];
  /** Messages from this peer the relay may have lost (reported after the loss grace). */
  lost: number;
  /** Numbers missing from the peer's counter still within the grace: maybe late, maybe lost. */
  pendingGap: number;
  /** True while a send from this panel waits for the peer's relay. */
  sending: boolean;
  /** A problem with the last send, in a sentence. */
  error?: string;
  /** False once the peer was forgotten: the page shows the history but cannot send. */
  canSend: boolean;
  /** Whether this peer's messages have forward secrecy yet (PROTOCOL.md section 7). */
  forwardSecrecy: ForwardSecrecy['state'];
  /** What this side does with the peer's messages; the header's control shows and sets it. */
  rule: PeerRule;
}

export type HostToConversation = { type: 'view'; view: ConversationView } | { type: 'sent' };

export type ConversationToHost = { type: 'ready' } | { type: 'send'; text: string } | { type: 'askAgent'; id: string } | { type: 'cancel'; id: string } | { type: 'setRule'; rule: PeerRule };

/** A compose box longer than this is refused by the page and the host (the core checks the 64 KiB in bytes). */
export const MAX_COMPOSE_CHARS = 64 * 1024;
const ID_PATTERN = /^[0-9a-f]{32}$/;

export function parseConversationMessage(message: unknown): ConversationToHost | undefined {
  const shape = messageShape(message);
  if (!shape) return undefined;
  const { fields, keys } = shape;
  switch (fields['type']) {
    case 'ready':
      return keys === 'type' ? { type: 'ready' } : undefined;
    case 'send': {
      const text = fields['text'];
      if (keys !== 'text,type' || typeof text !== 'string' || text.trim() === '' || text.length > MAX_COMPOSE_CHARS) return undefined;
      return { type: 'send', text };
    }
    case 'askAgent':
    case 'cancel': {
      const id = fields['id'];
      if (keys !== 'id,type' || typeof id !== 'string' || !ID_PATTERN.test(id)) return undefined;
      return { type: fields['type'], id };
    }
    case 'setRule': {
      const rule = fields['rule'];
      return keys === 'rule,type' && isPeerRule(rule) ? { type: 'setRule', rule } : undefined;
    }
    default:
      return undefined;
  }
}

/**
 * One kept message as the page shows it: control, bidi and invisible characters (U+202E, U+200B,
 * U+2028...) written as visible escapes, as the CLI and the notifications show them, so none can
 * reorder or hide what the person reads; a text's newlines and tabs stay.
 */
export function conversationEntry(record: MailRecord): ConversationEntry {
  const body = record.body as { type: string; text?: unknown; data?: unknown; reply_to?: unknown };
  let kind: ConversationEntry['kind'];
  let text: string;
  if (body.type === 'text' && typeof body.text === 'string') {
    kind = 'text';
    text = showControls(body.text);
  } else if (body.type === 'data') {
    kind = 'data';
    text = showControls(JSON.stringify(body.data, null, 2));
  } else {
    kind = 'unsupported';
    text = `A message of a type this version cannot show (${showControls(JSON.stringify(body.type).slice(0, 80))}).`;
  }
  const entry: ConversationEntry = { id: record.id, direction: record.direction, kind, text, sentAt: record.sentAt, state: record.state };
  if (typeof body.reply_to === 'string') entry.replyTo = body.reply_to;
  return entry;
}

export function conversationView(
  peer: { handle: string; fingerprint: string },
  records: MailRecord[],
  summary: PeerMailSummary,
  extra: { sending: boolean; canSend: boolean; forwardSecrecy: ForwardSecrecy['state']; rule: PeerRule; error?: string },
): ConversationView {
  const view: ConversationView = {
    peer: { handle: peer.handle, fingerprint: peer.fingerprint },
    entries: records.map(conversationEntry),
    lost: summary.lost,
    pendingGap: summary.pendingGap ?? 0,
    sending: extra.sending,
    canSend: extra.canSend,
    forwardSecrecy: extra.forwardSecrecy,
    rule: extra.rule,
  };
  if (extra.error !== undefined) view.error = extra.error;
  return view;
}
