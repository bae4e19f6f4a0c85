// A conversation panel's page, in the shell every webview page shares (panelHtml.ts: the strict
// Content-Security-Policy, only the extension's stylesheet and the one nonced script).
// The page holds no message: the script asks for the view once it runs, and writes the peer's
// text with textContent. The header's rule control lists the rules in the words of
// ruleWords.ts (each option carries its sentence for the line beside it), so the page script
// holds no words of its own for them.
//
// Element ids are stable hooks for the page test and the end-to-end tests.

import { PEER_RULES } from '../core/vocabulary.js';
import { type PanelPage, escapeHtml, webviewPage } from './panelHtml.js';
import { RULE_WORDS } from './ruleWords.js';

function ruleOptions(): string {
  return PEER_RULES.map((rule) => `<option value="${rule}" data-detail="${escapeHtml(RULE_WORDS[rule].detail)}">${escapeHtml(RULE_WORDS[rule].label)}</option>`).join('');
}

export function conversationHtml(page: PanelPage): string {
  return webviewPage(
    page,
    `<main id="agent-pair-conversation" data-state="loading" aria-labelledby="heading">
  <header>
    <h1 id="heading">Conversation with <span id="peer-handle"></span></h1>
    <p id="peer-fingerprint" class="muted"></p>
    <p id="forward-secrecy" class="muted"></p>
    <p id="rule-line"><label for="rule">Messages from <span id="rule-handle"></span>:</label> <select id="rule" aria-describedby="rule-detail">${ruleOptions()}</select> <span id="rule-detail" class="muted"></span></p>
  </header>
  <p id="lost" class="warning" role="status" hidden></p>
  <section id="log" role="log" aria-live="polite" aria-label="Messages" tabindex="0">
    <p id="empty" class="muted">No messages yet. Write the first one below.</p>
    <ol id="entries"></ol>
  </section>
  <form id="compose" novalidate>
    <label for="message">Message</label>
    <textarea id="message" name="message" rows="3" spellcheck="true" aria-describedby="compose-help send-error"></textarea>
    <p id="compose-help" class="muted">End-to-end encrypted to this peer. Ctrl+Enter sends.</p>
    <p id="send-error" class="error" role="alert"></p>
    <button id="send" type="submit">Send</button>
  </form>
</main>`,
  );
}
