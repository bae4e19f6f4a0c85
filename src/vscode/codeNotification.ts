// The host's code, shown while it can still be used. A plain notification outlives the pairing
// (the API cannot close one), and its Copy Code would then copy a spent code; a progress
// notification closes when its task ends. So the code shows as one, with Copy Code and Copy Link
// (the join link) as command links, and closes itself as soon as the other person has joined, the pairing
// ended, or the window goes.

import * as vscode from 'vscode';
import type { SessionSnapshot } from '../core/session.js';
import type { SessionStore } from '../core/store.js';
import { COMMANDS } from './ids.js';
import { hostCode } from './ui.js';

/** A command link for a notification's Markdown: `[label](command:id?["arg"])`. */
export function commandLink(label: string, command: string, ...args: string[]): string {
  return `[${label}](command:${command}?${encodeURIComponent(JSON.stringify(args))})`;
}

/** `Agent Pair code 47-UE2BZG` */
export function codeNotificationTitle(code: string): string {
  return `Agent Pair code ${code}`;
}

export function codeNotificationMessage(snapshot: SessionSnapshot): string {
  const until = new Date(snapshot.expiresAt).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  const links = `${commandLink('Copy Code', COMMANDS.copyCode, snapshot.sessionId)} · ${commandLink('Copy Link', COMMANDS.copyJoinLink, snapshot.sessionId)}`;
  // A toast shows one line: the links come first, so they stay in sight.
  return `${links} · read it out; one join, until ${until}`;
}

/** Shows the code of a hosted pairing until it is spent; disposing closes it early. */
export function showHostCode(store: SessionStore, snapshot: SessionSnapshot): { dispose(): void } {
  const code = hostCode(snapshot);
  let closed = false;
  let close = (): void => {
    closed = true;
  };
  if (code === undefined) return { dispose: close };
  void vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: codeNotificationTitle(code) }, async (progress) => {
    if (closed) return;
    progress.report({ message: codeNotificationMessage(snapshot) });
    await new Promise<void>((resolve) => {
      const stillUsable = (): boolean => {
        try {
          return hostCode(store.status(snapshot.sessionId)) !== undefined;
        } catch {
          return false; // forgotten by the store
        }
      };
      const unsubscribe = store.onDidChange(() => {
        if (!stillUsable()) close();
      });
      close = () => {
        closed = true;
        unsubscribe();
        resolve();
      };
      if (!stillUsable()) close();
    });
  });
  return {
    dispose: () => {
      close();
    },
  };
}
