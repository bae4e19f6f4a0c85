// What the extension tests over the stand-in `vscode` share: a window's storage holding what a
// core side (test/helpers/sides.ts) pinned, and the views a conversation panel was sent.

import { SESSION_KEY_PREFIX } from '../../src/core/store.js';
import type { ConversationView } from '../../src/vscode/conversationMessages.js';
import type { Side } from '../helpers/sides.js';
import { FakeMemento, FakeSecretStorage } from './fakes.js';
import type { FakeWebviewPanel } from './fakeVscode.js';

/** A window's storage holding what a core side pinned: identity and peers in global state, secrets in SecretStorage. */
export function windowStorageOf(side: Side): { workspaceState: FakeMemento; globalState: FakeMemento; secrets: FakeSecretStorage } {
  const globalState = new FakeMemento();
  for (const [key, value] of side.memory.entries()) if (!key.startsWith(SESSION_KEY_PREFIX)) globalState.values.set(key, value);
  const secrets = new FakeSecretStorage();
  for (const [key, value] of side.vault.entries()) secrets.values.set(key, value);
  return { workspaceState: new FakeMemento(), globalState, secrets };
}

/** Every view the host posted to a conversation panel's page, oldest first. */
export function conversationViews(panel: FakeWebviewPanel): ConversationView[] {
  return panel.posted.filter((message) => (message as { type: string }).type === 'view').map((message) => (message as { view: ConversationView }).view);
}
