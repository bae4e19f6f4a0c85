// What a VS Code webview page gets from its host, for type-checking the page scripts in media/
// (tsconfig.media.json) against their message contracts: each page names the messages it may
// post where it takes the API, e.g.
// `/** @type {WebviewApi<import('../src/vscode/panelMessages.js').WebviewToHost>} */`.
import type { ConversationToHost } from './conversationMessages.js';
import type { WebviewToHost } from './panelMessages.js';

declare global {
  interface WebviewApi<ToHost extends PageToHost> {
    postMessage(message: ToHost): void;
  }
  /** Every message some page may post; a page's own annotation narrows it to its contract. */
  type PageToHost = WebviewToHost | ConversationToHost;
  /** Without the page's annotation `ToHost` is `never`: a page that names no contract can post nothing. */
  function acquireVsCodeApi<ToHost extends PageToHost = never>(): WebviewApi<ToHost>;
}
