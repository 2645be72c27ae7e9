/**
 * Whether a message costs what it touches: a 1.9 MB stable-memory write on an
 * empty canister and on one that already stores 1 GiB.
 */
import { watToWasm } from '../../fixtures/wat.ts';
import { payload } from '../../fixtures/payload.ts';
import { Harness, replyOf } from '../../simulator/testing/harness.ts';
import { replicaOf } from '../../simulator/instance.ts';
import { median, timeRuns, type Results } from '../measure.ts';
import { BENCH_CANISTER } from '../wat.ts';

const CHUNK = 1_900_000;
const GIB = 1024 ** 3;

export async function scaleSuite(results: Results): Promise<void> {
  const h = new Harness();
  const id = h.deploy(await watToWasm(BENCH_CANISTER));
  const chunk = payload(CHUNK, 3);
  const empty = median(await timeRuns(() => replyOf(h.update(id, 'chunk', chunk)), 20, 3));
  while (replicaOf(h.ic).findCanister(id)!.stable.byteLength < BigInt(GIB))
    replyOf(h.update(id, 'chunk', chunk));
  const full = median(await timeRuns(() => replyOf(h.update(id, 'chunk', chunk)), 20, 3));
  results['scale.chunk_ms.empty'] = { value: empty, unit: 'ms', note: '1.9 MB stable write, in process' };
  results['scale.chunk_ms.1gib'] = { value: full, unit: 'ms', note: 'the same with 1 GiB already stored' };
  results['scale.ratio'] = { value: full / empty, unit: '×', note: 'target ≤ 1.1' };
}
