/**
 * Instances on every core: K instances driven by parallel PicJS clients with
 * the server confined to one core (`taskset -c 0`) and with all cores; the
 * latency of a tiny update on instance B, idle and while instance A runs a
 * 40 B-instruction loop; how long SIGTERM takes to end a server whose
 * canister is looping.
 */
import { PocketIc } from '@dfinity/pic';
import type { Principal } from '@icp-sdk/core/principal';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { watToWasm } from '../../fixtures/wat.ts';
import { median, type Results } from '../measure.ts';
import { binPath } from '../pic.ts';
import { BENCH_CANISTER } from '../wat.ts';

const u32 = (n: number): Uint8Array => new Uint8Array(new Uint32Array([n]).buffer);
const SPIN = 20_000_000;
const CALLS_PER_CLIENT = 24;
/** Throughput runs per mode; the median counts (one run is ~1 s, noisy on a shared machine). */
const RUNS = 3;

interface Server {
  url: string;
  child: ChildProcess;
  stop(): Promise<number>;
}

/** The built launcher, optionally pinned to CPU 0, on a port file of its own. */
async function startServer(pinned: boolean): Promise<Server> {
  const portFile = join(mkdtempSync(join(tmpdir(), 'icsim-bench-')), 'port');
  const cmd = pinned ? ['taskset', '-c', '0', process.execPath, binPath] : [process.execPath, binPath];
  const child = spawn(cmd[0]!, [...cmd.slice(1), '--port-file', portFile], { stdio: 'ignore' });
  while (!(existsSync(portFile) && /^\d+\n$/.test(readFileSync(portFile, 'utf8')))) {
    if (child.exitCode !== null) throw new Error(`icsim exited with ${child.exitCode}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  const exited = new Promise<number>((resolve) => child.on('exit', () => resolve(performance.now())));
  return {
    url: `http://127.0.0.1:${parseInt(readFileSync(portFile, 'utf8'), 10)}`,
    child,
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

async function deploy(pic: PocketIc, wasm: Uint8Array): Promise<Principal> {
  const canisterId = await pic.createCanister();
  await pic.installCode({ canisterId, wasm });
  return canisterId;
}

/** K clients, each on its own instance, each making CALLS_PER_CLIENT compute-heavy updates. */
async function throughput(url: string, wasm: Uint8Array, k: number): Promise<number> {
  const clients = await Promise.all(
    Array.from({ length: k }, async () => {
      const pic = await PocketIc.create(url);
      return { pic, canisterId: await deploy(pic, wasm) };
    }),
  );
  const t = performance.now();
  await Promise.all(
    clients.map(async ({ pic, canisterId }) => {
      for (let i = 0; i < CALLS_PER_CLIENT; i++)
        await pic.updateCall({ canisterId, method: 'spin', arg: u32(SPIN) });
    }),
  );
  const seconds = (performance.now() - t) / 1000;
  await Promise.all(clients.map(({ pic }) => pic.tearDown()));
  return (k * CALLS_PER_CLIENT) / seconds;
}

async function latencies(pic: PocketIc, canisterId: Principal, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await pic.updateCall({ canisterId, method: 'noop', arg: new Uint8Array() });
    out.push(performance.now() - t);
  }
  return out.sort((a, b) => a - b);
}

const p99 = (sorted: number[]): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))]!;

export async function concurrencySuite(results: Results): Promise<void> {
  const wasm = await watToWasm(BENCH_CANISTER);
  const cores = availableParallelism();

  for (const pinned of [true, false]) {
    const server = await startServer(pinned);
    try {
      await throughput(server.url, wasm, cores); // warm: workers loaded, module compiled
      const runs: number[] = [];
      for (let i = 0; i < RUNS; i++) runs.push(await throughput(server.url, wasm, cores));
      const perSecond = median(runs);
      results[`concurrency.calls_per_s_${pinned ? '1_core' : 'all_cores'}`] = {
        value: perSecond,
        unit: 'calls/s',
        note: `median of ${RUNS}: ${cores} instances × ${CALLS_PER_CLIENT} updates of ${SPIN} loop iterations, parallel PicJS clients${pinned ? '; server under taskset -c 0' : ''}`,
      };
    } finally {
      await server.stop();
    }
  }
  const speedup =
    results['concurrency.calls_per_s_all_cores']!.value / results['concurrency.calls_per_s_1_core']!.value;
  results['concurrency.speedup'] = {
    value: speedup,
    unit: '×',
    note: `all cores ÷ one core on ${cores} cores; target ≥ 0.8 × cores`,
  };

  const server = await startServer(false);
  try {
    const a = await PocketIc.create(server.url);
    const b = await PocketIc.create(server.url);
    const [onA, onB] = [await deploy(a, wasm), await deploy(b, wasm)];
    await latencies(b, onB, 50);
    const idle = await latencies(b, onB, 1000);
    const looping = a.updateCall({ canisterId: onA, method: 'loop', arg: new Uint8Array() }).catch(() => {});
    await new Promise((r) => setTimeout(r, 300));
    const busy = await latencies(b, onB, 1000);
    results['concurrency.tiny_update_p99_idle_ms'] = {
      value: p99(idle),
      unit: 'ms',
      note: 'instance B, A idle',
    };
    results['concurrency.tiny_update_p99_beside_loop_ms'] = {
      value: p99(busy),
      unit: 'ms',
      note: 'instance B while A runs a 40 B-instruction loop',
    };
    results['concurrency.tiny_update_p99_delta_ms'] = {
      value: p99(busy) - p99(idle),
      unit: 'ms',
      note: 'target: within 10 ms of idle',
    };
    results['concurrency.tiny_update_median_beside_loop_ms'] = { value: median(busy), unit: 'ms' };
    const t = performance.now();
    const exitedAt = await server.stop();
    results['concurrency.sigterm_during_loop_ms'] = {
      value: exitedAt - t,
      unit: 'ms',
      note: 'SIGTERM to process exit while a canister loops; target ≤ 1000',
    };
    await looping;
  } finally {
    if (server.child.exitCode === null) await server.stop();
  }
}
