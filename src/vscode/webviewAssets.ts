// What a webview page of the extension needs from VS Code: the webview's CSP source, a fresh
// nonce, and the URIs of its script and stylesheet in media/ (`<name>.js`, `<name>.css`).

import { nodeCrypto } from '../node/lazyCrypto.js';
import * as vscode from 'vscode';
import type { PanelPage } from './panelHtml.js';

export function pageAssets(webview: vscode.Webview, media: vscode.Uri, name: string, title: string): PanelPage {
  return {
    title,
    cspSource: webview.cspSource,
    nonce: nodeCrypto().randomBytes(18).toString('base64'),
    scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(media, `${name}.js`)).toString(),
    styleUri: webview.asWebviewUri(vscode.Uri.joinPath(media, `${name}.css`)).toString(),
  };
}
