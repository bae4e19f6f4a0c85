// A peer's rule (core/vocabulary.ts PeerRule, stored with the pinned peer; only the person sets
// it) in VS Code's words, one table for every place that shows or sets it: the Peers view's row
// and its "Messages" submenu, the palette's quick pick, the conversation header's control and
// the status bar. The agent reads rules (peer_status) and never sets them: nothing here is a tool.

import type { PeerRule } from '../core/vocabulary.js';

export interface RuleWords {
  /** The choice, as a menu or a control offers it. */
  label: string;
  /** The codicon that marks the rule (a row, a quick pick entry). */
  icon: string;
  /** What the rule does, in a sentence. */
  detail: string;
  /** How a Peers view row says it; empty for the default. */
  rowNote: string;
}

export const RULE_WORDS: Readonly<Record<PeerRule, RuleWords>> = {
  notify: { label: 'Notify me', icon: 'bell', detail: 'A notification for each new message, with Open and Ask the agent.', rowNote: '' },
  agent: { label: 'Hand to the agent', icon: 'hubot', detail: 'Each new message goes to the agent in Chat on its own, quoted as data; past the hourly limit you are asked.', rowNote: '→ agent' },
  mute: { label: 'Mute', icon: 'bell-slash', detail: 'Kept and counted as unread, with no notification.', rowNote: 'muted' },
};

/** "Messages from bob: hand to the agent", for a status line. */
export function ruleSentence(handle: string, rule: PeerRule): string {
  return `messages from ${handle}: ${RULE_WORDS[rule].label.toLowerCase()}`;
}
