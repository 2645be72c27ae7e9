/**
 * One canister with a heap of `argv[2]` 64 KiB pages, measured in a process
 * of its own (RSS is per process, and the suite's other cases would count):
 * prints the median latency of an empty update and of one that writes one
 * byte, the heap's size, and how much the process's RSS grew from before the
 * heap grew to after the updates, as JSON on stdout.
 *
 * Run by `suites/scale.ts`; alone: `node bench/heap-process.ts 16384`.
 */
import { watToWasm } from '../fixtures/wat.ts';
import { Harness, replyOf } from '../simulator/testing/harness.ts';
import { replicaOf } from '../simulator/instance.ts';
import { latency } from './measure.ts';
import { HEAP_CANISTER } from './wat.ts';

const pages = Number(process.argv[2]);
const h = new Harness();
const id = h.deploy(await watToWasm(HEAP_CANISTER));
const rssBefore = process.memoryUsage().rss;
replyOf(h.update(id, 'fill', new Uint8Array(new Uint32Array([pages]).buffer)));
const empty = await latency(() => replyOf(h.update(id, 'noop')), 200);
const write = await latency(() => replyOf(h.update(id, 'touch')), 200);
const rssAfter = process.memoryUsage().rss;
process.stdout.write(
  JSON.stringify({
    emptyMs: empty.p50,
    writeMs: write.p50,
    heapBytes: replicaOf(h.ic).findCanister(id)!.runtime!.heapSize(),
    rssGrowth: rssAfter - rssBefore,
  }) + '\n',
);
