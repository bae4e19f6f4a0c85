// A stand-in for the `vscode` module, just large enough to activate the extension in plain Node
// and drive it the way a person would: commands run, notifications and input boxes are answered
// by the test's script, webview panels record what the extension posts and let the test post
// back as the page would. extension.test.ts maps `import 'vscode'` here with a resolve hook.
//
// It imitates the API's shapes, not VS Code's behaviour (no rendering, no focus, no real modal
// dialogs): what only a real VS Code can show is left to test/e2e.

import { FakeMemento, FakeSecretStorage, freshGlobalStorageUri } from './fakes.js';

type Listener<T> = (value: T) => unknown;

class Emitter<T> {
  private readonly listeners = new Set<Listener<T>>();
  readonly event = (listener: Listener<T>): { dispose(): void } => {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  };
  fire(value: T): void {
    for (const listener of [...this.listeners]) listener(value);
  }
}

export class Uri {
  private constructor(
    readonly scheme: string,
    readonly authority: string,
    readonly path: string,
    readonly query: string,
  ) {}

  static parse(text: string): Uri {
    const url = new URL(text);
    return new Uri(url.protocol.slice(0, -1), url.host, decodeURIComponent(url.pathname), url.search.slice(1));
  }

  static file(path: string): Uri {
    return new Uri('file', '', path, '');
  }

  static joinPath(base: Uri, ...segments: string[]): Uri {
    return new Uri(base.scheme, base.authority, [base.path.replace(/\/$/, ''), ...segments].join('/'), base.query);
  }

  get fsPath(): string {
    return this.path;
  }

  toString(): string {
    return `${this.scheme}://${this.authority}${this.path}${this.query === '' ? '' : `?${this.query}`}`;
  }
}

export class ThemeColor {
  constructor(readonly id: string) {}
}

export class MarkdownString {
  supportHtml = false;
  constructor(readonly value: string) {}
}

export class ThemeIcon {
  constructor(readonly id: string) {}
}

export const TreeItemCollapsibleState = { None: 0, Collapsed: 1, Expanded: 2 } as const;

export class TreeItem {
  id: string | undefined;
  description: string | undefined;
  tooltip: MarkdownString | string | undefined;
  iconPath: ThemeIcon | undefined;
  contextValue: string | undefined;
  accessibilityInformation: unknown;
  command: { command: string; title: string; arguments?: unknown[] } | undefined;
  constructor(
    readonly label: string,
    readonly collapsibleState: number,
  ) {}
}

/** vscode.EventEmitter: `event` subscribes, `fire` calls every listener. */
export class EventEmitter<T> {
  private readonly inner = new Emitter<T>();
  readonly event = this.inner.event;
  fire(value: T): void {
    this.inner.fire(value);
  }
  dispose(): void {
    // listeners go with the emitter
  }
}

interface TreeDataProvider {
  getChildren(element?: unknown): unknown[] | Promise<unknown[]>;
  getTreeItem(element: unknown): TreeItem;
  onDidChangeTreeData?: (listener: () => unknown) => { dispose(): void };
}

/** A tree view: the test reads its rows as VS Code would render them. */
export class FakeTreeView {
  badge: { value: number; tooltip: string } | undefined;
  changes = 0;
  constructor(
    readonly id: string,
    readonly provider: TreeDataProvider,
  ) {
    provider.onDidChangeTreeData?.(() => {
      this.changes++;
    });
  }
  async items(): Promise<TreeItem[]> {
    const children = await this.provider.getChildren();
    return children.map((child) => this.provider.getTreeItem(child));
  }
  dispose(): void {
    fake.treeViews.delete(this.id);
  }
}

export class McpHttpServerDefinition {
  constructor(
    readonly label: string,
    public uri: Uri,
    public headers: Record<string, string> = {},
    public version?: string,
  ) {}
}

export const StatusBarAlignment = { Left: 1, Right: 2 } as const;
export const ProgressLocation = { SourceControl: 1, Window: 10, Notification: 15 } as const;
export const ViewColumn = { Active: -1, Beside: -2, One: 1 } as const;
export const InputBoxValidationSeverity = { Info: 1, Warning: 2, Error: 3 } as const;

export interface ShownMessage {
  kind: 'info' | 'warning' | 'error';
  text: string;
  items: string[];
  modal: boolean;
  detail?: string;
}

export interface InputBoxRequest {
  title?: string;
  prompt?: string;
  value?: string;
  validateInput?: (text: string) => unknown;
}

export class FakeStatusBarItem {
  text = '';
  tooltip: MarkdownString | string | undefined;
  backgroundColor: ThemeColor | undefined;
  command: string | { command: string; arguments?: unknown[] } | undefined;
  name: string | undefined;
  accessibilityInformation: unknown;
  visible = false;
  constructor(readonly id: string) {}
  show(): void {
    this.visible = true;
  }
  hide(): void {
    this.visible = false;
  }
  dispose(): void {
    this.visible = false;
  }
}

export interface ShownProgress {
  location: number;
  title: string;
  messages: string[];
  done: boolean;
}

export class FakeWebviewPanel {
  readonly posted: unknown[] = [];
  disposed = false;
  /** A new panel is on screen; a test sets false to stand for another tab in front. */
  visible = true;
  private readonly viewState = new Emitter<undefined>();
  readonly onDidChangeViewState = this.viewState.event;
  private readonly received = new Emitter<unknown>();
  private readonly disposing = new Emitter<undefined>();
  readonly webview = {
    html: '',
    cspSource: 'https://fake.vscode-cdn.net',
    asWebviewUri: (uri: Uri) => Uri.parse(`https://fake.vscode-cdn.net${uri.path}`),
    postMessage: (message: unknown) => {
      if (!this.disposed) this.posted.push(message);
      return Promise.resolve(!this.disposed);
    },
    onDidReceiveMessage: this.received.event,
  };
  readonly onDidDispose = this.disposing.event;

  constructor(
    readonly viewType: string,
    public title: string,
    readonly options: unknown,
  ) {}

  reveal(): void {
    fake.revealed.push(this.title);
  }

  /** The person switches to another tab (false) or back (true). */
  setVisible(visible: boolean): void {
    this.visible = visible;
    this.viewState.fire(undefined);
  }

  /** What the page's script would send. */
  send(message: unknown): void {
    this.received.fire(message);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.disposing.fire(undefined);
  }
}

/** A quick pick built with createQuickPick; the test accepts a row or hides it. */
export class FakeQuickPick {
  items: readonly { label: string; description?: string }[] = [];
  activeItems: readonly unknown[] = [];
  selectedItems: readonly unknown[] = [];
  title: string | undefined;
  placeholder: string | undefined;
  matchOnDescription = false;
  visible = false;
  private readonly accepting = new Emitter<undefined>();
  private readonly hiding = new Emitter<undefined>();
  readonly onDidAccept = this.accepting.event;
  readonly onDidHide = this.hiding.event;

  show(): void {
    this.visible = true;
    fake.quickPicks.push(this);
  }
  hide(): void {
    if (!this.visible) return;
    this.visible = false;
    this.hiding.fire(undefined);
  }
  dispose(): void {
    this.visible = false;
  }
  /** The person picks the row at `index`. */
  accept(index: number): void {
    this.selectedItems = [this.items[index]];
    this.accepting.fire(undefined);
  }
}

export class FakeOutputChannel {
  readonly lines: string[] = [];
  constructor(readonly name: string) {}
  private add(level: string, message: unknown): void {
    this.lines.push(`${level} ${message instanceof Error ? (message.stack ?? message.message) : String(message)}`);
  }
  trace(message: unknown): void {
    this.add('trace', message);
  }
  debug(message: unknown): void {
    this.add('debug', message);
  }
  info(message: unknown): void {
    this.add('info', message);
  }
  warn(message: unknown): void {
    this.add('warn', message);
  }
  error(message: unknown): void {
    this.add('error', message);
  }
  show(): void {
    fake.shownLog = true;
  }
  dispose(): void {
    // nothing to release
  }
}

interface McpProvider {
  provideMcpServerDefinitions(token?: unknown): McpHttpServerDefinition[];
  resolveMcpServerDefinition?(server: McpHttpServerDefinition, token?: unknown): Promise<McpHttpServerDefinition | undefined>;
}

/** The test's handle on everything the extension did through this module. */
export const fake = {
  commands: new Map<string, (...args: unknown[]) => unknown>(),
  messages: [] as ShownMessage[],
  /** Every withProgress: where, its title, what it reported, and whether it is closed. */
  progress: [] as ShownProgress[],
  statusMessages: [] as string[],
  inputBoxes: [] as InputBoxRequest[],
  panels: [] as FakeWebviewPanel[],
  revealed: [] as string[],
  statusItems: [] as FakeStatusBarItem[],
  outputChannels: [] as FakeOutputChannel[],
  quickPicks: [] as FakeQuickPick[],
  treeViews: new Map<string, FakeTreeView>(),
  windowState: new Emitter<{ focused: boolean }>(),
  configuration: new Emitter<{ affectsConfiguration(section: string): boolean }>(),
  /** Commands VS Code itself provides (like workbench.action.chat.open), as the test stands them in. */
  builtInCommands: new Map<string, (...args: unknown[]) => unknown>(),
  mcpProviders: new Map<string, McpProvider>(),
  uriHandler: undefined as { handleUri(uri: Uri): unknown } | undefined,
  settings: new Map<string, unknown>(),
  clipboard: '',
  shownLog: false,
  /** Answers an input box; undefined cancels it. */
  answerInputBox: (_request: InputBoxRequest): string | undefined => undefined,
  /** Answers a notification or modal; undefined dismisses it. */
  answerMessage: (_message: ShownMessage): string | undefined => undefined,
  answerQuickPick: (_items: unknown[]): unknown => undefined,

  reset(): void {
    this.commands.clear();
    this.messages.length = 0;
    this.progress.length = 0;
    this.statusMessages.length = 0;
    this.inputBoxes.length = 0;
    this.panels.length = 0;
    this.revealed.length = 0;
    this.statusItems.length = 0;
    this.outputChannels.length = 0;
    this.quickPicks.length = 0;
    this.treeViews.clear();
    this.builtInCommands.clear();
    this.windowState = new Emitter();
    this.configuration = new Emitter();
    this.mcpProviders.clear();
    this.uriHandler = undefined;
    this.answerInputBox = () => undefined;
    this.answerMessage = () => undefined;
    this.answerQuickPick = () => undefined;
  },
};

function showMessage(kind: ShownMessage['kind'], text: string, rest: unknown[]): Promise<string | undefined> {
  const options = typeof rest[0] === 'object' && rest[0] !== null ? (rest[0] as { modal?: boolean; detail?: string }) : undefined;
  const items = rest.filter((item): item is string => typeof item === 'string');
  const message: ShownMessage = { kind, text, items, modal: options?.modal === true };
  if (options?.detail !== undefined) message.detail = options.detail;
  fake.messages.push(message);
  return Promise.resolve(fake.answerMessage(message));
}

export const window = {
  createOutputChannel: (name: string) => {
    const channel = new FakeOutputChannel(name);
    fake.outputChannels.push(channel);
    return channel;
  },
  createStatusBarItem: (id: string) => {
    const item = new FakeStatusBarItem(id);
    fake.statusItems.push(item);
    return item;
  },
  createWebviewPanel: (viewType: string, title: string, _showOptions: unknown, options: unknown) => {
    const panel = new FakeWebviewPanel(viewType, title, options);
    fake.panels.push(panel);
    return panel;
  },
  showInformationMessage: (text: string, ...rest: unknown[]) => showMessage('info', text, rest),
  showWarningMessage: (text: string, ...rest: unknown[]) => showMessage('warning', text, rest),
  showErrorMessage: (text: string, ...rest: unknown[]) => showMessage('error', text, rest),
  showInputBox: (request: InputBoxRequest) => {
    fake.inputBoxes.push(request);
    return Promise.resolve(fake.answerInputBox(request));
  },
  showQuickPick: (items: unknown[]) => Promise.resolve(fake.answerQuickPick(items)),
  createQuickPick: () => new FakeQuickPick(),
  withProgress: async <T>(options: { location: number; title?: string }, task: (progress: { report(value: { message?: string }): void }) => Promise<T>): Promise<T> => {
    const shown: ShownProgress = { location: options.location, title: options.title ?? '', messages: [], done: false };
    fake.progress.push(shown);
    try {
      return await task({ report: (value) => value.message !== undefined && shown.messages.push(value.message) });
    } finally {
      shown.done = true;
    }
  },
  setStatusBarMessage: (text: string) => {
    fake.statusMessages.push(text);
    return { dispose: () => undefined };
  },
  createTreeView: (id: string, options: { treeDataProvider: TreeDataProvider }) => {
    const view = new FakeTreeView(id, options.treeDataProvider);
    fake.treeViews.set(id, view);
    return view;
  },
  onDidChangeWindowState: (listener: (state: { focused: boolean }) => unknown) => fake.windowState.event(listener),
  registerUriHandler: (handler: { handleUri(uri: Uri): unknown }) => {
    fake.uriHandler = handler;
    return { dispose: () => undefined };
  },
};

export const commands = {
  registerCommand: (id: string, handler: (...args: unknown[]) => unknown) => {
    if (fake.commands.has(id)) throw new Error(`command ${id} already exists`);
    fake.commands.set(id, handler);
    return { dispose: () => fake.commands.delete(id) };
  },
  executeCommand: (id: string, ...args: unknown[]): Promise<unknown> => {
    const handler = fake.commands.get(id) ?? fake.builtInCommands.get(id);
    if (!handler) return Promise.reject(new Error(`command '${id}' not found`));
    return Promise.resolve(handler(...args));
  },
};

export const workspace = {
  onDidChangeConfiguration: (listener: (change: { affectsConfiguration(section: string): boolean }) => unknown) => fake.configuration.event(listener),
  getConfiguration: (section: string) => ({
    get: <T>(key: string, defaultValue: T): T => (fake.settings.has(`${section}.${key}`) ? (fake.settings.get(`${section}.${key}`) as T) : defaultValue),
  }),
};

export const lm = {
  registerMcpServerDefinitionProvider: (id: string, provider: McpProvider) => {
    fake.mcpProviders.set(id, provider);
    return { dispose: () => fake.mcpProviders.delete(id) };
  },
};

export const env = {
  uriScheme: 'vscode',
  clipboard: {
    writeText: (text: string) => {
      fake.clipboard = text;
      return Promise.resolve();
    },
    readText: () => Promise.resolve(fake.clipboard),
  },
};

/** An ExtensionContext with fresh or given storage (a reload keeps the storage). */
export function fakeContext(storage?: { workspaceState: FakeMemento; globalState: FakeMemento; secrets: FakeSecretStorage; globalStorageUri?: { fsPath: string } }): {
  subscriptions: { dispose(): unknown }[];
  workspaceState: FakeMemento;
  globalState: FakeMemento;
  secrets: FakeSecretStorage;
  globalStorageUri: Uri;
  extensionUri: Uri;
  extension: { id: string; packageJSON: { version: string } };
} {
  return {
    subscriptions: [] as { dispose(): unknown }[],
    workspaceState: storage?.workspaceState ?? new FakeMemento(),
    globalState: storage?.globalState ?? new FakeMemento(),
    secrets: storage?.secrets ?? new FakeSecretStorage(),
    globalStorageUri: Uri.file((storage?.globalStorageUri ?? freshGlobalStorageUri()).fsPath),
    extensionUri: Uri.file('/ext/agent-pair'),
    extension: { id: 'agent-pair.agent-pair', packageJSON: { version: '0.1.0' } },
  };
}
