/**
 * The simulator's own costs: start-up, instance creation, installs, empty
 * calls through PicJS and in process, and the overhead on a compute-heavy
 * method against the same Wasm called bare.
 */
import { PocketIc } from '@dfinity/pic';
import { IDL } from '@icp-sdk/core/candid';
import { buildAzleCanister } from '../../fixtures/azle.ts';
import { watToWasm } from '../../fixtures/wat.ts';
import { Harness, replyOf } from '../../simulator/testing/harness.ts';
import { latency, median, timeRuns, type Results } from '../measure.ts';
import { startPic } from '../pic.ts';
import { BENCH_CANISTER } from '../wat.ts';

const u32 = (n: number): Uint8Array => new Uint8Array(new Uint32Array([n]).buffer);
const SPIN = 30_000_000;

export async function simulatorSuite(results: Results): Promise<void> {
  // Start to first instance, and on to the first update call on a canister: `POST /instances`
  // answers before the instance's worker has loaded the core, so the first canister operation is
  // where that wait shows.
  const benchWasm = await watToWasm(BENCH_CANISTER);
  const starts: number[] = [];
  const firstCalls: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    const { server, pic, ms } = await startPic();
    starts.push(ms);
    const canisterId = await pic.createCanister();
    await pic.installCode({ canisterId, wasm: benchWasm });
    await pic.updateCall({ canisterId, method: 'noop', arg: new Uint8Array() });
    firstCalls.push(performance.now() - t);
    await pic.tearDown();
    await server.stop();
  }
  results['simulator.start_to_first_instance_ms'] = {
    value: median(starts),
    unit: 'ms',
    note: 'median of 5: PocketIcServer.start + PocketIc.create',
  };
  results['simulator.start_to_first_update_ms'] = {
    value: median(firstCalls),
    unit: 'ms',
    note: 'the same, then createCanister, installCode (a WAT canister) and one update call',
  };

  const { server, pic } = await startPic();
  try {
    const creates = await timeRuns(async () => (await PocketIc.create(server.getUrl())).tearDown(), 10);
    results['simulator.instance_create_ms'] = {
      value: median(creates),
      unit: 'ms',
      note: 'create + tearDown',
    };

    const azle = (await buildAzleCanister({ name: 'basic', main: 'fixtures/azle/basic/index.ts' })).wasm;
    const initArg = IDL.encode([IDL.Text], ['Hi']);
    const installOnce = async (): Promise<number> => {
      const canisterId = await pic.createCanister();
      const t = performance.now();
      await pic.installCode({ canisterId, wasm: azle, arg: initArg });
      return performance.now() - t;
    };
    results['simulator.install_azle_cold_ms'] = {
      value: await installOnce(),
      unit: 'ms',
      note: 'first install of the module on the server: validate, instrument, compile',
    };
    results['simulator.install_azle_cached_ms'] = {
      value: median([await installOnce(), await installOnce(), await installOnce()]),
      unit: 'ms',
      note: 'compiled module cached by hash',
    };

    const wasm = benchWasm;
    const canisterId = await pic.createCanister();
    await pic.installCode({ canisterId, wasm });
    const empty = new Uint8Array();
    const updates = await latency(() => pic.updateCall({ canisterId, method: 'noop', arg: empty }), 300);
    const queries = await latency(() => pic.queryCall({ canisterId, method: 'noop_query', arg: empty }), 300);
    results['simulator.update_empty_picjs_median_ms'] = { value: updates.p50, unit: 'ms' };
    results['simulator.query_empty_picjs_median_ms'] = { value: queries.p50, unit: 'ms' };
    results['simulator.calls_per_s_picjs'] = {
      value: updates.perSecond,
      unit: 'calls/s',
      note: 'sequential updates',
    };
    const spinPic = await timeRuns(() => pic.updateCall({ canisterId, method: 'spin', arg: u32(SPIN) }), 5);
    results['simulator.compute_picjs_ms'] = {
      value: median(spinPic),
      unit: 'ms',
      note: `${SPIN} loop iterations`,
    };
  } finally {
    await pic.tearDown();
    await server.stop();
  }

  // In process: the same canister through the Instance API, no HTTP.
  const wasm = await watToWasm(BENCH_CANISTER);
  const h = new Harness();
  const id = h.deploy(wasm);
  const updates = await latency(() => replyOf(h.update(id, 'noop')), 2000);
  const queries = await latency(() => replyOf(h.query(id, 'noop_query')), 2000);
  results['simulator.update_empty_inprocess_median_ms'] = { value: updates.p50, unit: 'ms' };
  results['simulator.query_empty_inprocess_median_ms'] = { value: queries.p50, unit: 'ms' };
  results['simulator.calls_per_s_inprocess'] = {
    value: updates.perSecond,
    unit: 'calls/s',
    note: 'sequential updates',
  };

  const spinSim = median(await timeRuns(() => replyOf(h.update(id, 'spin', u32(SPIN))), 5));
  // Bare: the same module, instantiated by V8 with stub imports, no simulator around it.
  const bare = await bareSpin(wasm, 'spin_bare');
  results['simulator.compute_inprocess_ms'] = { value: spinSim, unit: 'ms', note: `${SPIN} loop iterations` };
  results['limits.compute_bare_ms'] = {
    value: bare,
    unit: 'ms',
    note: 'same Wasm, plain WebAssembly.Instance with stub imports',
  };
  results['simulator.compute_overhead_ratio'] = {
    value: spinSim / bare,
    unit: '×',
    note: 'in process ÷ bare; target ≤ 1.1',
  };
  // The same with a heap store per iteration: what the dirty-page checks in front of stores cost
  // (simulator/wasm/dirty-pages.ts) on code that does little else.
  const storeSim = median(await timeRuns(() => replyOf(h.update(id, 'spin_store', u32(SPIN))), 5));
  results['simulator.compute_stores_overhead_ratio'] = {
    value: storeSim / (await bareSpin(wasm, 'spin_store_bare')),
    unit: '×',
    note: `${SPIN} iterations with one heap store each, in process ÷ bare`,
  };
}

async function bareSpin(wasm: Uint8Array, name: string): Promise<number> {
  const memory: { current?: WebAssembly.Memory } = {};
  const stub = () => undefined;
  const ic0 = new Proxy(
    {
      msg_arg_data_copy: (dst: number) => new DataView(memory.current!.buffer).setUint32(dst, SPIN, true),
      msg_arg_data_size: () => 4,
    } as Record<string, (...a: number[]) => unknown>,
    { get: (t, k: string) => t[k] ?? stub },
  );
  const instance = new WebAssembly.Instance(new WebAssembly.Module(wasm as Uint8Array<ArrayBuffer>), { ic0 });
  memory.current = instance.exports.memory as WebAssembly.Memory;
  const spin = instance.exports[name] as () => number;
  return median(await timeRuns(() => spin(), 5));
}
