// What a VS Code webview page gets from its host, typed with the SAS panel's message contract
// (panelMessages.ts), for type-checking media/sasPanel.js (tsconfig.media.json).
import type { WebviewToHost } from './panelMessages.js';

declare global {
  function acquireVsCodeApi(): { postMessage(message: WebviewToHost): void };
}
