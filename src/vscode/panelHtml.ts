// The extension's webview pages (the SAS panel here, a conversation in conversationHtml.ts) share
// one shell with a strict Content-Security-Policy: nothing loads but the extension's own
// stylesheets and the one script carrying this page's nonce; no inline script or style, no
// network. A page holds no data: its script asks for the view once it runs.
//
// Element ids are stable hooks for the end-to-end tests (see the report in sasPanel.ts).

export interface PanelPage {
  title: string;
  cspSource: string;
  nonce: string;
  scriptUri: string;
  /** In the order they apply: media/webview.css, which every page shares, then the page's own. */
  styleUris: readonly string[];
}

export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return `default-src 'none'; style-src ${cspSource}; script-src 'nonce-${nonce}'`;
}

/** The page around `main` (trusted markup of the extension's own, never data): CSP, style, title, the nonced script. */
export function webviewPage(page: PanelPage, main: string): string {
  const csp = contentSecurityPolicy(page.cspSource, page.nonce);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
${page.styleUris.map((uri) => `<link rel="stylesheet" href="${escapeHtml(uri)}">`).join('\n')}
<title>${escapeHtml(page.title)}</title>
</head>
<body>
${main}
<script nonce="${escapeHtml(page.nonce)}" src="${escapeHtml(page.scriptUri)}"></script>
</body>
</html>
`;
}

export function panelHtml(page: PanelPage): string {
  return webviewPage(
    page,
    `<main id="agent-pair-sas" data-state="loading" aria-labelledby="heading">
  <h1 id="heading">Agent Pair</h1>
  <p id="session-details" class="muted"></p>
  <p id="state" role="status" aria-live="polite" aria-atomic="true">Loading…</p>
  <p id="time-left" class="muted"></p>
  <p id="agent-request" class="notice" hidden></p>

  <section id="sas-section" aria-labelledby="sas-heading" hidden>
    <h2 id="sas-heading">Your SAS: read it out to the other person</h2>
    <p id="sas" class="sas" aria-describedby="sas-heading"></p>
  </section>

  <form id="confirm-form" novalidate hidden>
    <label for="peer-digits">Digits the other person reads out</label>
    <input id="peer-digits" name="peer-digits" type="text" inputmode="numeric" autocomplete="off" spellcheck="false"
      maxlength="11" placeholder="594-376" aria-describedby="digits-help input-error" autofocus>
    <p id="digits-help" class="muted">Six digits; 594-376, 594 376 and 594376 all work. If they differ from yours, abort.</p>
    <p id="input-error" class="error" role="alert"></p>
    <button id="confirm" type="submit">Confirm</button>
  </form>

  <button id="abort" type="button" class="secondary" hidden>Abort the pairing</button>

  <p id="next-step"></p>
  <p id="peer" class="peer" hidden></p>
  <p id="error" class="error" role="alert"></p>
</main>`,
  );
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}
