/**
 * A 1.9 MB stable-memory write on an empty canister and on the same canister
 * once it stores 1 GiB, measured in a process of its own: in the bench's
 * process the earlier suites' leftovers (heaps, buffers, a garbage collector
 * tuned to them) moved this millisecond-sized figure by a millisecond either
 * way between runs. Prints the median milliseconds of each as JSON on stdout.
 *
 * Run by `suites/scale.ts`; alone: `node bench/stable-process.ts`.
 */
import { watToWasm } from '../fixtures/wat.ts';
import { payload } from '../fixtures/payload.ts';
import { Harness, replyOf } from '../simulator/testing/harness.ts';
import { replicaOf } from '../simulator/instance.ts';
import { median, timeRuns } from './measure.ts';
import { BENCH_CANISTER } from './wat.ts';

const CHUNK = 1_900_000;
const GIB = 1024 ** 3;
/** Writes timed per case; each appends fresh pages, as an upload does. */
const RUNS = 40;

const h = new Harness();
const id = h.deploy(await watToWasm(BENCH_CANISTER));
const chunk = payload(CHUNK, 3);
const write = (): unknown => replyOf(h.update(id, 'chunk', chunk));
const emptyMs = median(await timeRuns(write, RUNS, 10));
while (replicaOf(h.ic).findCanister(id)!.stable.byteLength < BigInt(GIB)) write();
const fullMs = median(await timeRuns(write, RUNS, 10));
process.stdout.write(JSON.stringify({ emptyMs, fullMs }) + '\n');
