// Opens join links (joinLink.ts): shows the code and the relay, and joins only once the person
// agrees, since a code is good for one join and a link can come from anyone. A link whose
// pairing has expired is refused here, before the relay is asked anything (its nameplate may
// by now belong to a stranger's pairing); one this machine already used is answered at once.

import * as vscode from 'vscode';
import { joinWithCode } from './commands/joinPairing.js';
import type { ExtensionDeps } from './deps.js';
import { ensureIdentity } from './identityPrompt.js';
import { isJoinLinkStale, parseJoinLink } from './joinLink.js';
import { showError } from './ui.js';
import { UsedJoinLinks } from './usedJoinLinks.js';

export function joinLinkHandler(context: vscode.ExtensionContext, deps: ExtensionDeps): (uri: vscode.Uri) => Promise<void> {
  const used = new UsedJoinLinks(context.globalState);
  return async (uri) => {
    try {
      const link = parseJoinLink(uri.path, uri.query);
      if (isJoinLinkStale(link, Date.now())) {
        const when = new Date(link.expiresAt).toLocaleString([], { dateStyle: 'short', timeStyle: 'short' });
        void vscode.window.showWarningMessage(`Agent Pair: this join link for pairing ${link.nameplate} expired at ${when}; a code works for 10 minutes. Ask the other person to host a new pairing and send a new link.`);
        return;
      }
      if (used.has(link)) {
        void vscode.window.showInformationMessage(`Agent Pair: you already used this code (pairing ${link.nameplate}) on this machine; a code works for one join. Ask the other person for a new one to pair again.`);
        return;
      }
      const relayUrl = link.relayUrl ?? deps.relays.forNewPairing();
      const answer = await vscode.window.showInformationMessage(
        `Join the pairing ${link.code}?`,
        {
          modal: true,
          detail: `Relay: ${relayUrl}${link.relayUrl === undefined ? ' (yours; the link names none)' : ''}.\n\nJoin only if the person you are pairing with sent you this link: the code works for one join, and joining starts a pairing with whoever hosts it. You will still compare the SAS digits before anything is exchanged.`,
        },
        'Join',
      );
      if (answer !== 'Join') return;
      // An identity first (the person may still cancel choosing a handle: nothing is spent
      // then); remembered before joining, since a join attempt spends the code whatever its outcome.
      if (!(await ensureIdentity(deps))) return;
      await used.remember(link);
      deps.log.info(`Joining pairing ${link.nameplate} from a join link.`);
      await joinWithCode(deps, link.code, relayUrl);
    } catch (error) {
      showError(deps, error, 'Agent Pair join link');
    }
  };
}
