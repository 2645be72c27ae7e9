/**
 * Whether a message costs what it touches: a 1.9 MB stable-memory write on an
 * empty canister and on one that already stores 1 GiB; an update on a
 * canister with a 10 MiB heap and on one with a 1 GiB heap, and what the
 * large heap costs in RAM.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Results } from '../measure.ts';

const GIB = 1024 ** 3;

export async function scaleSuite(results: Results): Promise<void> {
  const { emptyMs: empty, fullMs: full } = JSON.parse(
    execFileSync(process.execPath, [fileURLToPath(new URL('../stable-process.ts', import.meta.url))], {
      encoding: 'utf8',
    }),
  ) as { emptyMs: number; fullMs: number };
  results['scale.chunk_ms.empty'] = { value: empty, unit: 'ms', note: '1.9 MB stable write, in process' };
  results['scale.chunk_ms.1gib'] = { value: full, unit: 'ms', note: 'the same with 1 GiB already stored' };
  results['scale.ratio'] = { value: full / empty, unit: '×', note: 'target ≤ 1.1' };

  // Each heap in a process of its own: RSS is per process.
  const heapCase = (
    pages: number,
  ): { emptyMs: number; writeMs: number; heapBytes: number; rssGrowth: number } =>
    JSON.parse(
      execFileSync(
        process.execPath,
        [fileURLToPath(new URL('../heap-process.ts', import.meta.url)), String(pages)],
        {
          encoding: 'utf8',
        },
      ),
    );
  const small = heapCase(160);
  const large = heapCase(GIB / 65536);
  results['scale.heap_update_ms.10mib'] = {
    value: small.emptyMs,
    unit: 'ms',
    note: 'empty update, in process, 10 MiB heap (written)',
  };
  results['scale.heap_update_ms.1gib'] = {
    value: large.emptyMs,
    unit: 'ms',
    note: 'the same with a 1 GiB heap',
  };
  results['scale.heap_update_ratio'] = {
    value: large.emptyMs / small.emptyMs,
    unit: '×',
    note: 'target ≤ 2',
  };
  results['scale.heap_write_update_ms.1gib'] = {
    value: large.writeMs,
    unit: 'ms',
    note: 'an update that writes one byte, 1 GiB heap',
  };
  results['scale.heap_rss_ratio'] = {
    value: large.rssGrowth / large.heapBytes,
    unit: '×',
    note: 'growth of the RSS of the 1 GiB heap process (fill, then 400 updates) ÷ heap size; target ≤ 1.1',
  };
}
