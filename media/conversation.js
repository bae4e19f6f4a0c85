// A conversation panel's page script. It renders what the extension sends (display data only)
// and sends back `ready`, `send` with the typed text, `askAgent` with a message id, `cancel`
// with the id of a queued message, and `setRule` when the person picks another rule for the
// peer's messages in the header (the options and their sentences come with the page's HTML).
// Messages from the extension are checked before use, and the peer's text is written with
// textContent, never as HTML.
// The contract is src/vscode/conversationMessages.ts; this file is type-checked against it
// (tsconfig.media.json), so the two sides cannot drift apart.
// @ts-check
/** @typedef {import('../src/vscode/conversationMessages.js').ConversationView} ConversationView */
/** @typedef {import('../src/vscode/conversationMessages.js').ConversationEntry} ConversationEntry */
/** @typedef {import('../src/vscode/conversationMessages.js').ConversationToHost} ConversationToHost */
/** @typedef {import('../src/vscode/conversationMessages.js').EntryState} EntryState */
(function () {
  'use strict';

  /** @type {WebviewApi<ConversationToHost>} */
  const vscode = acquireVsCodeApi();
  /** Every state an entry may be in: the contract's, checked complete by the type. */
  const STATES = /** @satisfies {Record<EntryState, true>} */ ({ unread: true, read: true, handled: true, queued: true, sent: true, delivered: true, failed: true, cancelled: true });
  /** @type {ConversationEntry['kind'][]} */
  const KINDS = ['text', 'data', 'unsupported'];
  /** Every rule a peer may have: the contract's, checked complete by the type. */
  const RULES = /** @satisfies {Record<ConversationView['rule'], true>} */ ({ notify: true, agent: true, mute: true });
  /** The contract's MAX_COMPOSE_CHARS (the page loads no module to import it from). */
  const MAX_COMPOSE_CHARS = 64 * 1024;

  /** @param {string} id */
  const byId = (id) => {
    const element = document.getElementById(id);
    if (!element) throw new Error(`missing #${id}`);
    return element;
  };
  const main = byId('agent-pair-conversation');
  const handle = byId('peer-handle');
  const fingerprint = byId('peer-fingerprint');
  const lost = byId('lost');
  const forwardSecrecy = byId('forward-secrecy');
  /** Whether the peer's messages have forward secrecy yet (PROTOCOL.md section 7). */
  const FORWARD_SECRECY = /** @satisfies {Record<ConversationView['forwardSecrecy'], string>} */ ({
    on: 'Forward secrecy on: a stolen key cannot open these messages later or forge theirs.',
    upgrading: 'Forward secrecy upgrading: on once you have both sent a message.',
    off: 'No forward secrecy yet: their app speaks only the older message format.',
  });
  const ruleSelect = /** @type {HTMLSelectElement} */ (byId('rule'));
  const ruleDetail = byId('rule-detail');
  const ruleHandle = byId('rule-handle');
  const log = byId('log');
  const empty = byId('empty');
  const entries = byId('entries');
  const form = byId('compose');
  const input = /** @type {HTMLTextAreaElement} */ (byId('message'));
  const sendError = byId('send-error');
  const sendButton = /** @type {HTMLButtonElement} */ (byId('send'));

  /** @param {unknown} value @returns {value is string} */
  const isString = (value) => typeof value === 'string';
  /** @param {unknown} value @returns {value is ConversationView['rule']} */
  const isRule = (value) => isString(value) && Object.hasOwn(RULES, value);
  /** @param {unknown} value @returns {value is number} */
  const isCount = (value) => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
  /**
   * @param {any} entry
   * @returns {entry is ConversationEntry}
   */
  function isEntry(entry) {
    return (
      typeof entry === 'object' && entry !== null &&
      isString(entry.id) && (entry.direction === 'in' || entry.direction === 'out') &&
      KINDS.includes(entry.kind) && isString(entry.text) && isString(entry.sentAt) &&
      isString(entry.state) && Object.hasOwn(STATES, entry.state) && (entry.replyTo === undefined || isString(entry.replyTo))
    );
  }
  /**
   * @param {any} view
   * @returns {view is ConversationView}
   */
  function isView(view) {
    return (
      typeof view === 'object' && view !== null &&
      typeof view.peer === 'object' && view.peer !== null && isString(view.peer.handle) && isString(view.peer.fingerprint) &&
      Array.isArray(view.entries) && view.entries.every(isEntry) &&
      isCount(view.lost) && isCount(view.pendingGap) &&
      typeof view.sending === 'boolean' && typeof view.canSend === 'boolean' &&
      Object.hasOwn(FORWARD_SECRECY, view.forwardSecrecy) &&
      isRule(view.rule) &&
      (view.error === undefined || isString(view.error))
    );
  }

  /** @param {string} sentAt */
  function formatTime(sentAt) {
    const date = new Date(sentAt);
    if (Number.isNaN(date.getTime())) return sentAt;
    const sameDay = date.toDateString() === new Date().toDateString();
    return sameDay ? date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) : date.toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' });
  }

  /** @param {EntryState} state */
  function stateText(state) {
    switch (state) {
      case 'queued':
        return 'queued: the peer\'s relay refused it for now; it is sent again later';
      case 'sent':
        return 'sent, not delivered yet';
      case 'delivered':
        return 'delivered';
      case 'failed':
        return 'not sent: the relay did not take it';
      case 'cancelled':
        return 'cancelled before it was sent';
      default:
        return '';
    }
  }

  /**
   * @template {keyof HTMLElementTagNameMap} Tag
   * @param {Tag} tag
   * @param {string} className
   * @param {string} [text]
   * @returns {HTMLElementTagNameMap[Tag]}
   */
  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  /**
   * @param {ConversationEntry} entry
   * @param {string} peerHandle
   */
  function renderEntry(entry, peerHandle) {
    const item = element('li', `entry ${entry.direction} ${entry.kind}`);
    item.dataset.id = entry.id;
    item.dataset.state = entry.state;
    const meta = element('p', 'meta');
    meta.append(element('span', 'who', entry.direction === 'in' ? peerHandle : 'You'));
    const time = element('time', 'when', formatTime(entry.sentAt));
    time.dateTime = entry.sentAt;
    meta.append(time);
    if (entry.direction === 'out') {
      /** @type {Partial<Record<EntryState, string>>} */
      const marks = { queued: '⧖ queued', sent: '✓ sent', delivered: '✓✓ delivered', failed: '✗ not sent', cancelled: '✗ cancelled' };
      const mark = element('span', `mark ${entry.state}`, marks[entry.state] || entry.state);
      mark.title = stateText(entry.state);
      meta.append(mark);
      if (entry.state === 'queued') {
        const cancel = element('button', 'cancel', 'Cancel');
        cancel.type = 'button';
        cancel.setAttribute('aria-label', 'Cancel this queued message: it will not be sent');
        cancel.addEventListener('click', () => {
          vscode.postMessage({ type: 'cancel', id: entry.id });
        });
        meta.append(cancel);
      }
    }
    item.append(meta);
    if (entry.kind === 'data') item.append(element('p', 'kind-note muted', 'Structured data for agents:'));
    item.append(element(entry.kind === 'data' ? 'pre' : 'p', 'body', entry.text));
    if (entry.direction === 'in' && entry.kind !== 'unsupported') {
      const ask = element('button', 'ask', 'Ask the agent…');
      ask.type = 'button';
      ask.setAttribute('aria-label', `Ask the agent about this message from ${peerHandle}`);
      ask.addEventListener('click', () => {
        vscode.postMessage({ type: 'askAgent', id: entry.id });
      });
      item.append(ask);
    }
    return item;
  }

  let shown = -1;
  let wasSending = false;
  /** The last view rendered, as JSON: the host re-sends unchanged views, which must not reset a selection. */
  let lastRendered = '';

  /** @param {ConversationView} view */
  function render(view) {
    main.dataset.state = 'ready';
    handle.textContent = view.peer.handle;
    fingerprint.textContent = `Fingerprint ${view.peer.fingerprint}`;
    forwardSecrecy.dataset.forwardSecrecy = view.forwardSecrecy;
    forwardSecrecy.textContent = FORWARD_SECRECY[view.forwardSecrecy];
    const warnings = [];
    if (view.lost > 0) warnings.push(`The relay may have lost ${view.lost} message${view.lost === 1 ? '' : 's'} from ${view.peer.handle}.`);
    if (view.pendingGap > 0) warnings.push(`${view.pendingGap} earlier message${view.pendingGap === 1 ? ' has' : 's have'} not arrived yet.`);
    lost.hidden = warnings.length === 0;
    lost.textContent = warnings.join(' ');
    ruleHandle.textContent = view.peer.handle;
    showRule(view.rule, view.canSend);

    const nearBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
    entries.replaceChildren(...view.entries.map((entry) => renderEntry(entry, view.peer.handle)));
    empty.hidden = view.entries.length > 0;
    if (view.entries.length !== shown && (nearBottom || shown < 0)) log.scrollTop = log.scrollHeight;
    shown = view.entries.length;

    form.hidden = !view.canSend;
    input.disabled = view.sending;
    sendButton.disabled = view.sending;
    sendButton.textContent = view.sending ? 'Sending…' : 'Send';
    sendError.textContent = view.error ?? '';
    if (wasSending && !view.sending) input.focus();
    wasSending = view.sending;
  }

  /**
   * @param {ConversationView['rule']} rule
   * @param {boolean} pinned
   */
  function showRule(rule, pinned) {
    main.dataset.rule = rule;
    // The person may be choosing right now: their pick is not undone by a view that crossed it.
    if (document.activeElement !== ruleSelect) ruleSelect.value = rule;
    ruleSelect.disabled = !pinned;
    ruleDetail.textContent = ruleSelect.selectedOptions[0]?.dataset['detail'] ?? '';
  }

  ruleSelect.addEventListener('change', () => {
    const rule = ruleSelect.value;
    ruleDetail.textContent = ruleSelect.selectedOptions[0]?.dataset['detail'] ?? '';
    if (isRule(rule)) vscode.postMessage({ type: 'setRule', rule });
  });

  function submit() {
    const text = input.value;
    if (text.trim() === '') {
      sendError.textContent = 'Write a message first.';
      input.focus();
      return;
    }
    if (text.length > MAX_COMPOSE_CHARS) {
      sendError.textContent = `A message holds at most ${MAX_COMPOSE_CHARS} characters.`;
      input.focus();
      return;
    }
    sendError.textContent = '';
    vscode.postMessage({ type: 'send', text });
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submit();
  });

  input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      submit();
    }
  });

  window.addEventListener('message', (event) => {
    /** @type {any} */
    const message = event.data;
    if (typeof message !== 'object' || message === null) return;
    if (message.type === 'sent') {
      input.value = '';
      return;
    }
    if (message.type !== 'view' || !isView(message.view)) return;
    const json = JSON.stringify(message.view);
    if (json === lastRendered) return;
    lastRendered = json;
    render(message.view);
  });

  vscode.postMessage({ type: 'ready' });
  input.focus();
})();
