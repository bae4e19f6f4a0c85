// The SAS panel's page script. It renders what the extension sends (display data only: the SAS
// arrives only while the person must verify it) and sends back three messages: `ready`,
// `confirm` with the typed digits, and `abort`. Messages from the extension are checked before
// use, and everything is written with textContent, never as HTML.
// The contract is src/vscode/panelMessages.ts; this file is type-checked against it
// (tsconfig.media.json), so the two sides cannot drift apart.
// @ts-check
/** @typedef {import('../src/vscode/panelMessages.js').PanelView} PanelView */
/** @typedef {import('../src/vscode/panelMessages.js').WebviewToHost} WebviewToHost */
(function () {
  'use strict';

  /** @type {WebviewApi<WebviewToHost>} */
  const vscode = acquireVsCodeApi();
  const STATES = ['opened', 'sas_ready', 'confirmed', 'finalized', 'aborted'];
  const DIGITS = /^[0-9]{3}[- ]?[0-9]{3}$/;

  /** @param {string} id */
  const byId = (id) => {
    const element = document.getElementById(id);
    if (!element) throw new Error(`missing #${id}`);
    return element;
  };
  const main = byId('agent-pair-sas');
  const heading = byId('heading');
  const details = byId('session-details');
  const state = byId('state');
  const timeLeft = byId('time-left');
  const agentRequest = byId('agent-request');
  const sasSection = byId('sas-section');
  const sas = byId('sas');
  const form = byId('confirm-form');
  const input = /** @type {HTMLInputElement} */ (byId('peer-digits'));
  const inputError = byId('input-error');
  const confirmButton = /** @type {HTMLButtonElement} */ (byId('confirm'));
  const abortButton = byId('abort');
  const nextStep = byId('next-step');
  const peer = byId('peer');
  const error = byId('error');

  /** The countdown's end on this page's clock (the extension host's clock may differ). */
  let deadline = 0;
  let ticking = false;
  let wasConfirmable = false;

  /** @param {unknown} value @returns {value is string} */
  const isString = (value) => typeof value === 'string';
  /**
   * @param {any} view
   * @returns {view is PanelView}
   */
  function isView(view) {
    return (
      typeof view === 'object' && view !== null &&
      isString(view.nameplate) && (view.role === 'host' || view.role === 'guest') &&
      STATES.includes(view.state) && isString(view.stateText) && isString(view.nextStep) &&
      typeof view.secondsLeft === 'number' && Number.isFinite(view.secondsLeft) &&
      typeof view.canConfirm === 'boolean' && typeof view.checking === 'boolean' &&
      (view.sas === undefined || (isString(view.sas) && /^[0-9]{3}-[0-9]{3}$/.test(view.sas))) &&
      (view.peer === undefined || (typeof view.peer === 'object' && view.peer !== null && isString(view.peer.handle) && isString(view.peer.fingerprint))) &&
      (view.agentRequest === undefined || (typeof view.agentRequest === 'object' && view.agentRequest !== null && isString(view.agentRequest.peerHint))) &&
      (view.error === undefined || isString(view.error)) &&
      (view.abortCode === undefined || (isString(view.abortCode) && /^[a-z_]{1,40}$/.test(view.abortCode)))
    );
  }

  /** @param {number} seconds */
  function formatTimeLeft(seconds) {
    const whole = Math.max(0, Math.floor(seconds));
    return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, '0')} left`;
  }

  function tick() {
    const inFlight = main.dataset.state !== 'finalized' && main.dataset.state !== 'aborted';
    const seconds = Math.ceil((deadline - Date.now()) / 1000);
    timeLeft.textContent = inFlight ? (seconds > 0 ? formatTimeLeft(seconds) : 'time is up') : '';
    if (!inFlight || seconds <= 0) ticking = false;
    if (!ticking) return;
    // Wake when the displayed second changes.
    const remainder = (deadline - Date.now()) % 1000;
    setTimeout(tick, remainder > 0 ? remainder : 1000);
  }

  /** @param {PanelView} view */
  function render(view) {
    const inFlight = view.state !== 'finalized' && view.state !== 'aborted';
    main.dataset.state = view.state;
    main.dataset.checking = String(view.checking);
    main.dataset.abortCode = view.abortCode ?? '';
    // The heading names the pairing; the state line alone says what to do or how it ended.
    heading.textContent = `Pairing ${view.nameplate}`;
    details.textContent = `You are the ${view.role}.`;
    state.textContent = view.checking ? 'Checking the digits…' : capitalise(view.stateText);
    nextStep.textContent = view.nextStep;

    deadline = Date.now() + view.secondsLeft * 1000;
    if (!ticking && inFlight) {
      ticking = true;
      tick();
    } else if (!inFlight) {
      timeLeft.textContent = '';
    }

    agentRequest.hidden = view.agentRequest === undefined;
    agentRequest.textContent = view.agentRequest
      ? `Your agent asked you to verify this pairing${view.agentRequest.peerHint ? ` (${view.agentRequest.peerHint})` : ''}. Only you can confirm it.`
      : '';

    sasSection.hidden = view.sas === undefined;
    sas.textContent = view.sas ?? '';

    form.hidden = view.state !== 'sas_ready';
    input.disabled = !view.canConfirm;
    confirmButton.disabled = !view.canConfirm;
    abortButton.hidden = !inFlight;
    if (view.canConfirm && !wasConfirmable) input.focus();
    wasConfirmable = view.canConfirm;

    peer.hidden = view.peer === undefined;
    peer.textContent = view.peer ? `${view.peer.handle}'s fingerprint: ${view.peer.fingerprint}` : '';
    error.textContent = view.error ?? '';
  }

  /** @param {string} text */
  function capitalise(text) {
    return text.charAt(0).toUpperCase() + text.slice(1);
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const typed = input.value.trim();
    if (!DIGITS.test(typed)) {
      inputError.textContent = 'Type the 6 digits the other person reads out, like 594-376.';
      input.setAttribute('aria-invalid', 'true');
      input.focus();
      return;
    }
    inputError.textContent = '';
    input.removeAttribute('aria-invalid');
    vscode.postMessage({ type: 'confirm', digits: typed });
  });

  input.addEventListener('input', () => {
    if (inputError.textContent !== '') {
      inputError.textContent = '';
      input.removeAttribute('aria-invalid');
    }
  });

  abortButton.addEventListener('click', () => {
    vscode.postMessage({ type: 'abort' });
  });

  window.addEventListener('message', (event) => {
    /** @type {any} */
    const message = event.data;
    if (typeof message !== 'object' || message === null || message.type !== 'view' || !isView(message.view)) return;
    render(message.view);
  });

  vscode.postMessage({ type: 'ready' });
})();
