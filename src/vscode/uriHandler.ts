// Opens join links (joinLink.ts): shows the code and the relay, and joins only once the person
// agrees, since a code is good for one join and a link can come from anyone.

import * as vscode from 'vscode';
import { joinWithCode } from './commands/joinPairing.js';
import type { ExtensionDeps } from './deps.js';
import { parseJoinLink } from './joinLink.js';
import { showError } from './ui.js';

export function registerJoinLinkHandler(context: vscode.ExtensionContext, deps: ExtensionDeps): void {
  context.subscriptions.push(
    vscode.window.registerUriHandler({
      handleUri: async (uri) => {
        try {
          const link = parseJoinLink(uri.path, uri.query);
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
          deps.log.info(`Joining pairing ${link.nameplate} from a join link.`);
          await joinWithCode(deps, link.code, relayUrl);
        } catch (error) {
          showError(deps, error, 'Agent Pair join link');
        }
      },
    }),
  );
}
