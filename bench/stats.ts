// Shared by every benchmark: summaries of timed samples, and a yield that lets timers and I/O
// run between measurements.

export interface Summary {
  runs: number;
  medianMs: number;
  p99Ms: number;
}

/** The nearest-rank percentile of ascending `sorted` samples (`fraction` 0.5 = median). */
export function percentile(sorted: readonly number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1))] ?? Number.NaN;
}

export function summarize(samples: readonly number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  return { runs: sorted.length, medianMs: percentile(sorted, 0.5), p99Ms: percentile(sorted, 0.99) };
}

/** Lets a surrounding runner (timers, output, sockets) proceed between measurements. */
export const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
