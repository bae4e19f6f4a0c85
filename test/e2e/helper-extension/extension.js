// Test-only helper extension for test/e2e. The tests drive it through the command palette (the
// only input a browser has into VS Code) and read what it did from JSON files in a results
// folder: the `agentPairE2e.resultsDir` setting, else $AGENT_PAIR_E2E_RESULTS_DIR (the extension
// host inherits code-server's environment). Each result is written to a temporary name and
// renamed, so a test polling for the file never reads half of it.
// Plain CommonJS with no build step, as the extension host loads it: the lint directives below
// say so to the project's lint config, which otherwise assumes ESM without Node globals.
/* eslint-disable @typescript-eslint/no-require-imports */
'use strict';
const vscode = require('vscode');
const fs = require('node:fs');
const path = require('node:path');

function resultsDir() {
  const configured = vscode.workspace.getConfiguration('agentPairE2e').get('resultsDir');
  const dir = configured || process.env.AGENT_PAIR_E2E_RESULTS_DIR;
  if (!dir) throw new Error('agent-pair-e2e-helper: set agentPairE2e.resultsDir or AGENT_PAIR_E2E_RESULTS_DIR');
  return dir;
}

// File names come from tool and command ids, which may hold characters a path must not.
function safeFileName(prefix, id) {
  return `${prefix}-${id.replace(/[^A-Za-z0-9_.-]/g, '_')}.json`;
}

function writeResult(fileName, value) {
  const dir = resultsDir();
  fs.mkdirSync(dir, { recursive: true });
  const target = path.join(dir, fileName);
  const partial = `${target}.partial`;
  fs.writeFileSync(partial, JSON.stringify(value, null, 2));
  fs.renameSync(partial, target);
}

function describeError(error) {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

// One input box rather than two keeps the palette choreography short: `<id> <JSON>`, where the
// JSON part may be left out.
async function askIdAndJson(prompt, placeHolder) {
  const line = await vscode.window.showInputBox({ prompt, placeHolder, ignoreFocusOut: true });
  if (line === undefined) return undefined;
  const trimmed = line.trim();
  const space = trimmed.search(/\s/);
  const id = space === -1 ? trimmed : trimmed.slice(0, space);
  const jsonText = space === -1 ? '' : trimmed.slice(space + 1).trim();
  try {
    return { id, json: jsonText === '' ? undefined : JSON.parse(jsonText) };
  } catch (error) {
    return { id, json: undefined, badJson: `not JSON (${describeError(error)}): ${jsonText}` };
  }
}

// LanguageModelToolResult content is a list of parts; text parts carry `value`, anything else is
// kept as its JSON so the test can still see it.
function resultParts(result) {
  return result.content.map((part) =>
    part instanceof vscode.LanguageModelTextPart ? { kind: 'text', text: part.value } : { kind: 'other', json: JSON.stringify(part) },
  );
}

function toolList() {
  return vscode.lm.tools.map((tool) => ({ name: tool.name, description: tool.description, tags: tool.tags, inputSchema: tool.inputSchema }));
}

// Rewrites tools.json whenever the set of tools changes, so a test can wait for a tool (an MCP
// server's tools arrive only once the server has started) by polling a file instead of re-running
// a command. Polling, because lm.onDidChangeTools is proposed API, missing in a stable extension
// host. Only when a results folder is configured: otherwise nothing is watching.
function watchTools(context) {
  let lastWritten = '';
  const timer = setInterval(() => {
    const names = vscode.lm.tools.map((tool) => tool.name).sort().join('\n');
    if (names === lastWritten) return;
    try {
      writeResult('tools.json', toolList());
      lastWritten = names;
    } catch {
      clearInterval(timer);
    }
  }, 250);
  context.subscriptions.push({ dispose: () => clearInterval(timer) });
}

function activate(context) {
  watchTools(context);
  context.subscriptions.push(
    vscode.commands.registerCommand('agentPairE2e.listTools', () => {
      writeResult('tools.json', toolList());
    }),
    vscode.commands.registerCommand('agentPairE2e.invokeTool', async () => {
      const request = await askIdAndJson('E2E: tool name, then its JSON input', 'mcp_server_tool {"key":"value"}');
      if (!request) return;
      const fileName = safeFileName('invoke', request.id);
      if (request.badJson) return writeResult(fileName, { tool: request.id, ok: false, error: request.badJson });
      const started = Date.now();
      try {
        const result = await vscode.lm.invokeTool(request.id, { input: request.json ?? {}, toolInvocationToken: undefined });
        const parts = resultParts(result);
        const text = parts.map((part) => part.text ?? '').join('');
        writeResult(fileName, { tool: request.id, ok: true, parts, text, ms: Date.now() - started });
      } catch (error) {
        writeResult(fileName, { tool: request.id, ok: false, error: describeError(error), ms: Date.now() - started });
      }
    }),
    vscode.commands.registerCommand('agentPairE2e.executeCommand', async () => {
      const request = await askIdAndJson('E2E: command id, then a JSON array of arguments', 'workbench.action.reloadWindow []');
      if (!request) return;
      const fileName = safeFileName('command', request.id);
      if (request.badJson) return writeResult(fileName, { command: request.id, ok: false, error: request.badJson });
      const args = request.json === undefined ? [] : Array.isArray(request.json) ? request.json : [request.json];
      try {
        const value = await vscode.commands.executeCommand(request.id, ...args);
        writeResult(fileName, { command: request.id, ok: true, value: value === undefined ? null : value });
      } catch (error) {
        writeResult(fileName, { command: request.id, ok: false, error: describeError(error) });
      }
    }),
  );
}

function deactivate() {}

module.exports = { activate, deactivate };
