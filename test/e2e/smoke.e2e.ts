// Proof that the harness drives a real VS Code (code-server) end to end: an extension's command
// from the palette, its status bar item, typing into its webview, its HTTP MCP server's tools in
// vscode.lm.tools, VS Code's own "Run <tool>" confirmation, the tool's result, a window reload,
// and two instances side by side.
//
//   AGENT_PAIR_E2E_VSIX=/path/to/extension.vsix node --import tsx --test test/e2e/smoke.e2e.ts
//
// The extension under test is described by TARGET below (the one it was first proven against is
// a throwaway with a "Say Hello" command, a status item, a webview with #name/#send/#echo and an
// MCP server "Throwaway" whose `echo_upper` tool upper-cases its input and refuses requests
// without its bearer token). Pointing the test at another extension means changing TARGET.
// Timings and memory go to test-results/e2e/smoke-metrics.json.
import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  answerDialog,
  ensureCodeServer,
  forgetToolList,
  listTools,
  openWorkbench,
  packageHelperExtension,
  processGroupMemoryMb,
  readStatusBarItem,
  reloadWindow,
  RESULTS_DIR,
  runCommand,
  screenshot,
  startCodeServer,
  startMcpServer,
  startToolInvocation,
  waitForNotification,
  waitForTool,
  webviewFrame,
  type RunningCodeServer,
  type Workbench,
} from './harness.js';

const TARGET = {
  command: 'Throwaway: Say Hello',
  notification: 'Hello from the throwaway extension',
  statusItemId: 'throwaway.status',
  statusText: 'Throwaway: ready',
  openWebviewCommand: 'Throwaway: Open Panel',
  webviewTitle: 'Throwaway Panel',
  webviewInput: '#name',
  webviewSubmit: '#send',
  webviewEcho: '#echo',
  mcpServerLabel: 'Throwaway',
  toolName: 'mcp_throwaway_echo_upper',
  // VS Code's confirmation names the MCP tool without the mcp_<server>_ prefix.
  confirmationTitle: 'Run echo_upper',
  toolInput: (text: string) => ({ text }),
  expectedToolText: (text: string) => `ECHO:${text.toUpperCase()}`,
};

const vsixUnderTest = process.env.AGENT_PAIR_E2E_VSIX;

interface Instance {
  readonly name: string;
  readonly server: RunningCodeServer;
  readonly workbench: Workbench;
  readonly resultsDir: string;
}

const metrics: Record<string, number> = {};
function measure(name: string, since: number): void {
  metrics[name] = Date.now() - since;
}

describe('real VS Code end to end (code-server)', { skip: vsixUnderTest === undefined ? 'set AGENT_PAIR_E2E_VSIX to the .vsix under test' : false }, () => {
  const root = mkdtempSync(join(tmpdir(), 'agent-pair-e2e-'));
  const instances: Instance[] = [];
  let helperVsix = '';

  async function launch(name: string): Promise<Instance> {
    const dir = join(root, name);
    const workspace = join(dir, 'workspace');
    const resultsDir = join(dir, 'results');
    mkdirSync(workspace, { recursive: true });
    writeFileSync(join(workspace, 'README.md'), `# ${name}\n`);
    let started = Date.now();
    const server = await startCodeServer({
      userDataDir: join(dir, 'user-data'),
      extensionsDir: join(dir, 'extensions'),
      vsixPaths: [helperVsix, vsixUnderTest ?? ''],
      env: { AGENT_PAIR_E2E_RESULTS_DIR: resultsDir },
      name,
    });
    measure(`${name}: install extensions + start code-server (ms)`, started);
    started = Date.now();
    const workbench = await openWorkbench(server.url, workspace, { name: `${name}-workbench` });
    measure(`${name}: open workbench (ms)`, started);
    const instance = { name, server, workbench, resultsDir };
    instances.push(instance);
    return instance;
  }

  async function invokeAndApprove(instance: Instance, text: string): Promise<string> {
    const result = await startToolInvocation(instance.workbench.page, instance.resultsDir, TARGET.toolName, TARGET.toolInput(text));
    const dialog = await answerDialog(instance.workbench.page, TARGET.confirmationTitle, 'Yes');
    assert.equal(dialog.message, TARGET.confirmationTitle);
    const outcome = await result();
    assert.equal(outcome.ok, true, `tool failed: ${outcome.error ?? ''}`);
    return outcome.text ?? '';
  }

  let first: Instance;
  const suiteStarted = Date.now();

  before(async () => {
    const started = Date.now();
    ensureCodeServer();
    measure('install-code-server.sh (ms)', started);
    helperVsix = packageHelperExtension();
    first = await launch('first');
  });

  after(async () => {
    measure('whole suite (ms)', suiteStarted);
    for (const instance of instances) {
      await instance.workbench.close();
      await instance.server.stop();
    }
    mkdirSync(RESULTS_DIR, { recursive: true });
    writeFileSync(join(RESULTS_DIR, 'smoke-metrics.json'), JSON.stringify(metrics, null, 2));
    rmSync(root, { recursive: true, force: true });
  });

  it('shows the extension status bar item once the extension host has started', async () => {
    const started = Date.now();
    const text = await readStatusBarItem(first.workbench.page, TARGET.statusItemId);
    measure('first: workbench to status bar item (ms)', started);
    assert.match(text, new RegExp(TARGET.statusText));
    await screenshot(first.workbench.page, 'smoke-1-started');
  });

  it('runs a command from the command palette', async () => {
    await runCommand(first.workbench.page, TARGET.command);
    const toast = await waitForNotification(first.workbench.page, TARGET.notification);
    assert.match(await toast.innerText(), new RegExp(TARGET.notification));
    await screenshot(first.workbench.page, 'smoke-2-command');
  });

  it('types into the webview and the extension answers', async () => {
    const page = first.workbench.page;
    await runCommand(page, TARGET.openWebviewCommand);
    const frame = await webviewFrame(page, TARGET.webviewTitle);
    await frame.locator(TARGET.webviewInput).fill('typed in the webview');
    await frame.locator(TARGET.webviewSubmit).click();
    await frame.locator(TARGET.webviewEcho, { hasText: 'extension saw: typed in the webview' }).waitFor();
    assert.match(await readStatusBarItem(page, TARGET.statusItemId), /got typed in the webview/);
    await screenshot(page, 'smoke-3-webview');
  });

  it('lists the MCP server tools in vscode.lm.tools once the server is started', async () => {
    const started = Date.now();
    await startMcpServer(first.workbench.page, TARGET.mcpServerLabel);
    const tools = await waitForTool(first.resultsDir, (tool) => tool.name === TARGET.toolName);
    measure('first: MCP server start to tool listed (ms)', started);
    assert.ok(tools.some((tool) => tool.name === TARGET.toolName));
    await screenshot(first.workbench.page, 'smoke-4-mcp-started');
  });

  it('invokes the tool through VS Code, which asks first, and returns its result', async () => {
    const page = first.workbench.page;
    const result = await startToolInvocation(page, first.resultsDir, TARGET.toolName, TARGET.toolInput('hello'));
    await page.locator('.monaco-dialog-box', { hasText: TARGET.confirmationTitle }).waitFor();
    await screenshot(page, 'smoke-5-confirmation');
    const started = Date.now();
    await answerDialog(page, TARGET.confirmationTitle, 'Yes');
    const outcome = await result();
    measure('first: approve to tool result (ms)', started);
    assert.deepEqual({ ok: outcome.ok, text: outcome.text }, { ok: true, text: TARGET.expectedToolText('hello') });
  });

  it('cancelling the confirmation cancels the invocation', async () => {
    const page = first.workbench.page;
    const result = await startToolInvocation(page, first.resultsDir, TARGET.toolName, TARGET.toolInput('refused'));
    await answerDialog(page, TARGET.confirmationTitle, 'Cancel');
    const outcome = await result();
    assert.equal(outcome.ok, false);
    assert.match(outcome.error ?? '', /Cancel/);
  });

  it('survives a window reload: the extension comes back and its tool still works', async () => {
    const page = first.workbench.page;
    const started = Date.now();
    forgetToolList(first.resultsDir);
    await reloadWindow(page);
    assert.match(await readStatusBarItem(page, TARGET.statusItemId), new RegExp(TARGET.statusText));
    measure('first: reload to status bar item (ms)', started);
    // VS Code lists the tools it cached from the server's last run, without starting it again; they
    // arrive shortly after the extensions activate.
    await waitForTool(first.resultsDir, (tool) => tool.name === TARGET.toolName);
    measure('first: reload to cached tool listed (ms)', started);
    const tools = await listTools(page, first.resultsDir);
    assert.ok(tools.some((tool) => tool.name === TARGET.toolName), 'E2E: List Tools agrees');
    assert.equal(await invokeAndApprove(first, 'after reload'), TARGET.expectedToolText('after reload'));
    await screenshot(page, 'smoke-6-reloaded');
  });

  it('runs a second instance with its own user data beside the first', async () => {
    const second = await launch('second');
    assert.notEqual(second.server.port, first.server.port);
    await readStatusBarItem(second.workbench.page, TARGET.statusItemId);
    await startMcpServer(second.workbench.page, TARGET.mcpServerLabel);
    await waitForTool(second.resultsDir, (tool) => tool.name === TARGET.toolName);
    const [fromFirst, fromSecond] = await Promise.all([invokeAndApprove(first, 'one'), invokeAndApprove(second, 'two')]);
    assert.deepEqual([fromFirst, fromSecond], [TARGET.expectedToolText('one'), TARGET.expectedToolText('two')]);
    await screenshot(second.workbench.page, 'smoke-7-second-instance');
    for (const instance of instances) {
      metrics[`${instance.name}: code-server memory, PSS (MiB)`] = processGroupMemoryMb(instance.server.pid);
      if (instance.workbench.browserPid !== undefined) {
        metrics[`${instance.name}: chromium memory, PSS (MiB)`] = processGroupMemoryMb(instance.workbench.browserPid);
      }
    }
  });
});
