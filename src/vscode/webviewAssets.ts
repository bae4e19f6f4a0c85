// What a webview page of the extension needs from VS Code: the webview's CSP source, a fresh
// nonce, and the URIs of its script and stylesheets in media/ (`<name>.js`; webview.css, which
// every page shares, then `<name>.css`).

import { nodeCrypto } from '../node/lazyCrypto.js';
import * as vscode from 'vscode';
import type { PanelPage } from './panelHtml.js';

export function pageAssets(webview: vscode.Webview, media: vscode.Uri, name: string, title: string): PanelPage {
  return {
    title,
    cspSource: webview.cspSource,
    nonce: nodeCrypto().randomBytes(18).toString('base64'),
    scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(media, `${name}.js`)).toString(),
    styleUris: ['webview.css', `${name}.css`].map((file) => webview.asWebviewUri(vscode.Uri.joinPath(media, file)).toString()),
  };
}
