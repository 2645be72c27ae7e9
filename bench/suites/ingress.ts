/**
 * icsim's own ingress throughput: 1.9 MB update calls through PicJS to a
 * canister that only stores its argument (`fixtures/wat/store.ts`), so that
 * what is measured is the path (PicJS's client, HTTP, the server, queues, the
 * System API's copies) and not the canister. Beside the wall-clock figures,
 * the CPU time each side spent per byte: the PicJS client (this process) and
 * the server process (its threads, and its child when the launcher spawned one).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { IDL, type IDL as CandidIDL } from '@icp-sdk/core/candid';
import type { ActorInterface } from '@dfinity/pic';
import { payload } from '../../fixtures/payload.ts';
import { watToWasm } from '../../fixtures/wat.ts';
import { STORE_WAT } from '../../fixtures/wat/store.ts';
import { mbPerSecond, type Results } from '../measure.ts';
import { startPic } from '../pic.ts';

const CHUNK = 1_900_000;
/** Calls measured per figure (76 MB). */
const CALLS = 40;
const LANES = 4;

const idlFactory: CandidIDL.InterfaceFactory = ({ IDL }) =>
  IDL.Service({
    store: IDL.Func([IDL.Vec(IDL.Nat8)], [], []),
    stored: IDL.Func([], [IDL.Nat64], ['query']),
  });
type StoreActor = ActorInterface<{
  store: (bytes: Uint8Array) => Promise<undefined>;
  stored: () => Promise<bigint>;
}>;

/** CPU seconds (user + system) of a process and every descendant still running, from /proc. */
function treeCpuSeconds(root: number): number {
  const ticks = 100; // USER_HZ: /proc reports in 1/100 s on Linux
  const stats = new Map<number, { ppid: number; cpu: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command name, which may hold spaces: state ppid … utime(14) stime(15).
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      stats.set(Number(entry), { ppid: Number(rest[1]), cpu: (Number(rest[11]) + Number(rest[12])) / ticks });
    } catch {
      // The process ended while we read.
    }
  }
  const inTree = (pid: number): boolean => {
    for (let p = pid; p > 1; p = stats.get(p)?.ppid ?? 0) if (p === root) return true;
    return false;
  };
  let total = 0;
  for (const [pid, s] of stats) if (inTree(pid)) total += s.cpu;
  return total;
}

const processCpuSeconds = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

export async function ingressSuite(results: Results): Promise<void> {
  const wasm = await watToWasm(STORE_WAT);
  const { server, pic } = await startPic();
  // PicJS keeps the spawned server in a private field; without it the CPU split is skipped.
  const serverPid = (server as unknown as { serverProcess?: { pid?: number } }).serverProcess?.pid;
  try {
    const { actor } = await pic.setupCanister<StoreActor>({ idlFactory, wasm });
    const chunk = payload(CHUNK, 5);
    for (let i = 0; i < 5; i++) await actor.store(chunk);
    let sent = 5;

    const measure = async (lanes: number): Promise<{ ms: number; client: number; server: number }> => {
      const client0 = processCpuSeconds();
      const server0 = serverPid ? treeCpuSeconds(serverPid) : 0;
      const t = performance.now();
      await Promise.all(
        Array.from({ length: lanes }, async () => {
          for (let i = 0; i < CALLS / lanes; i++) await actor.store(chunk);
        }),
      );
      const ms = performance.now() - t;
      sent += CALLS;
      return {
        ms,
        client: processCpuSeconds() - client0,
        server: serverPid ? treeCpuSeconds(serverPid) - server0 : 0,
      };
    };
    const one = await measure(1);
    const many = await measure(LANES);

    // Every byte arrived: the canister stored each call's whole Candid argument.
    const argBytes = IDL.encode([IDL.Vec(IDL.Nat8)], [chunk]).byteLength;
    const stored = await actor.stored();
    if (stored !== BigInt(sent * argBytes))
      throw new Error(`the store canister holds ${stored} bytes, expected ${sent * argBytes}`);

    const bytes = CALLS * CHUNK;
    results['ingress.picjs.mb_per_s'] = {
      value: mbPerSecond(bytes, one.ms),
      unit: 'MB/s',
      note: `${CALLS} × ${CHUNK / 1e6} MB store calls, one lane, PicJS → icsim → a canister that only stores them`,
    };
    results['ingress.picjs_lanes.mb_per_s'] = {
      value: mbPerSecond(bytes, many.ms),
      unit: 'MB/s',
      note: `the same over ${LANES} lanes at once`,
    };
    results['ingress.picjs_client_mb_per_cpu_s'] = {
      value: bytes / 1e6 / many.client,
      unit: 'MB/CPU·s',
      note: 'bytes ÷ CPU time of the PicJS client (JSON and base64 of each argument, fetch), 4 lanes',
    };
    if (serverPid)
      results['ingress.server_mb_per_cpu_s'] = {
        value: bytes / 1e6 / many.server,
        unit: 'MB/CPU·s',
        note: "bytes ÷ CPU time of icsim's server process, all threads, 4 lanes: what the simulator itself needs",
      };
  } finally {
    await pic.tearDown();
    await server.stop();
  }
}
