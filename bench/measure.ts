import { Bench } from 'tinybench';
/**
 * Small timing helpers shared by the suites: medians of repeated runs and a
 * results record that becomes `bench/results/latest.json`.
 */
export type Figure = { value: number; unit: string; note?: string };
export type Results = Record<string, Figure>;

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Runs `fn` `warmup` times unmeasured, then `runs` times; returns each run's milliseconds. */
export async function timeRuns(fn: () => unknown, runs: number, warmup = 1): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    out.push(performance.now() - t);
  }
  return out;
}

export const mbPerSecond = (bytes: number, ms: number): number => bytes / 1e6 / (ms / 1000);

/** Latency of `fn` with tinybench: median (p50) in ms and mean throughput in calls/s. */
export async function latency(
  fn: () => unknown,
  iterations: number,
): Promise<{ p50: number; perSecond: number }> {
  const bench = new Bench({
    iterations,
    time: 0,
    warmupIterations: Math.ceil(iterations / 10),
    warmupTime: 0,
  });
  bench.add('task', async () => {
    await fn();
  });
  await bench.run();
  const result = bench.tasks[0].result;
  if (!result || !('latency' in result)) throw new Error('tinybench produced no latency for the task');
  return { p50: result.latency.p50, perSecond: result.throughput.mean };
}
