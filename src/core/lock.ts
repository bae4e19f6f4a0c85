// Async mutexes: operations under one lock run one at a time, in the order they asked; a lock
// per pairing (store.ts) or per store (lockPerStore) keeps unrelated work from waiting.

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

/**
 * One lock per store object (a vault, a memory), made on first use: read-modify-writes of one
 * store run one at a time, while separate stores (another identity's, a test's) never wait for
 * each other. The map holds its stores weakly, so a dropped store takes its lock with it.
 */
export function lockPerStore(): (store: object) => AsyncLock {
  const locks = new WeakMap<object, AsyncLock>();
  return (store) => {
    let lock = locks.get(store);
    if (!lock) {
      lock = new AsyncLock();
      locks.set(store, lock);
    }
    return lock;
  };
}
