// The handlers of the extension's commands. The shell (extension.ts) registers every command with
// VS Code at activation, before the window's bundle is loaded, and each registration runs the
// handler the window put here once it opened (window.ts, through ui.ts's registerCommand).

export type CommandHandler = (...args: unknown[]) => Promise<unknown>;

export class CommandTable {
  private readonly handlers = new Map<string, CommandHandler>();

  /** Disposing the result takes the handler out again. */
  register(id: string, handler: CommandHandler): { dispose(): void } {
    if (this.handlers.has(id)) throw new Error(`Agent Pair: the command ${id} has a handler already`);
    this.handlers.set(id, handler);
    return {
      dispose: () => {
        if (this.handlers.get(id) === handler) this.handlers.delete(id);
      },
    };
  }

  /**
   * Throws naming every command of `ids` without a handler: the shell registered them all with
   * VS Code, so the window that opens must handle them all.
   */
  requireHandlers(ids: readonly string[]): void {
    const missing = ids.filter((id) => !this.handlers.has(id));
    if (missing.length > 0) throw new Error(`Agent Pair: no handler for the command${missing.length === 1 ? '' : 's'} ${missing.join(', ')}`);
  }

  run(id: string, args: unknown[]): Promise<unknown> {
    const handler = this.handlers.get(id);
    if (handler === undefined) return Promise.reject(new Error(`Agent Pair: the command ${id} has no handler in this window`));
    return handler(...args);
  }
}
