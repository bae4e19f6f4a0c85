// A per-session async mutex: operations on one pairing run one at a time, operations on
// different pairings never wait for each other.

export class AsyncLock {
  private tail: Promise<void> = Promise.resolve();
  private holders = 0;

  /** True while an operation holds the lock or waits for it. */
  get busy(): boolean {
    return this.holders > 0;
  }

  async run<T>(operation: () => Promise<T>): Promise<T> {
    this.holders++;
    const previous = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((resolve) => {
      release = resolve;
    });
    try {
      await previous;
      return await operation();
    } finally {
      this.holders--;
      release();
    }
  }
}
