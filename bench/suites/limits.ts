/** The machine's own limits, measured in the same run: native SHA-256 and memcpy. */
import { createHash } from 'node:crypto';
import { payload } from '../../fixtures/payload.ts';
import { mbPerSecond, median, timeRuns, type Results } from '../measure.ts';

export async function limitsSuite(results: Results): Promise<void> {
  const data = payload(64 * 1_000_000, 9);
  const sha = median(await timeRuns(() => createHash('sha256').update(data).digest(), 5));
  results['limits.sha256_native_mb_per_s'] = {
    value: mbPerSecond(data.length, sha),
    unit: 'MB/s',
    note: 'node:crypto',
  };
  const target = new Uint8Array(data.length);
  const copy = median(await timeRuns(() => target.set(data), 10));
  results['limits.memcpy_gb_per_s'] = {
    value: mbPerSecond(data.length, copy) / 1000,
    unit: 'GB/s',
    note: 'Uint8Array.set',
  };
}
