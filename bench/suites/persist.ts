/**
 * What persisting an instance costs (`icsim --state-dir`, REST `state_dir`; simulator/persist/):
 * an update through the instance's REST routes (submit + await, as the server forwards them)
 * on a persisted instance against the same on an in-memory one, with an empty and a 64 KiB
 * argument (each operation appends its request to the log before it is answered), and what a
 * restart costs: replaying a log of 1000 updates.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Principal } from '@icp-sdk/core/principal';
import { watToWasm } from '../../fixtures/wat.ts';
import { payload } from '../../fixtures/payload.ts';
import { PersistedEndpoint } from '../../simulator/persist/journal.ts';
import { writeNewLog } from '../../simulator/persist/records.ts';
import { InstanceEndpoint } from '../../simulator/server/instance-endpoint.ts';
import { RestDriver } from '../../simulator/testing/rest-driver.ts';
import { median, type Results } from '../measure.ts';
import { BENCH_CANISTER } from '../wat.ts';

const RUNS = 300;
const REPLAYED = 1000;
const IDLE_ROUNDS = 10_000;

function timeUpdates(rest: RestDriver, canister: Principal, method: string, arg: Uint8Array): number {
  for (let i = 0; i < 20; i++) rest.update(canister, method, arg);
  const ms: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    rest.update(canister, method, arg);
    ms.push(performance.now() - t);
  }
  return median(ms);
}

export async function persistSuite(results: Results): Promise<void> {
  const wasm = await watToWasm(BENCH_CANISTER);
  const dir = mkdtempSync(join(tmpdir(), 'icsim-bench-persist-'));
  try {
    const memory = InstanceEndpoint.create({ subnets: [{ kind: 'Application' }] }, {});
    const inMemory = new RestDriver((r) => memory.handle('rest', r));
    const log = join(dir, 'instance.log');
    writeNewLog(log, { kind: 'create', config: { subnets: [{ kind: 'Application' }] } });
    const persisted = PersistedEndpoint.open(log);
    const onDisk = new RestDriver((r) => persisted.handle('rest', r));
    const a = inMemory.deploy(wasm);
    const b = onDisk.deploy(wasm);

    const empty = new Uint8Array();
    const chunk = payload(64 * 1024, 3);
    const memoryMs = timeUpdates(inMemory, a, 'noop', empty);
    const persistedMs = timeUpdates(onDisk, b, 'noop', empty);
    const memoryChunkMs = timeUpdates(inMemory, a, 'chunk', chunk);
    const persistedChunkMs = timeUpdates(onDisk, b, 'chunk', chunk);
    results['persist.update_inmemory_ms'] = {
      value: memoryMs,
      unit: 'ms',
      note: 'empty update, submit + await through the REST routes, in process, not persisted',
    };
    results['persist.update_persisted_ms'] = {
      value: persistedMs,
      unit: 'ms',
      note: 'the same on a persisted instance: both requests in the log before each answer',
    };
    results['persist.update_overhead_ms'] = { value: persistedMs - memoryMs, unit: 'ms' };
    results['persist.update_64kib_inmemory_ms'] = {
      value: memoryChunkMs,
      unit: 'ms',
      note: '64 KiB argument written to stable memory',
    };
    results['persist.update_64kib_persisted_ms'] = {
      value: persistedChunkMs,
      unit: 'ms',
      note: 'the same, persisted',
    };

    // A restart: the log now holds the deploy and every update above; bring it to REPLAYED updates.
    const logged = 2 * 20 + 2 * RUNS;
    for (let i = logged; i < REPLAYED; i++) onDisk.update(b, 'noop', empty);
    persisted.delete();
    const t = performance.now();
    const reopened = PersistedEndpoint.open(log);
    const replayMs = performance.now() - t;
    reopened.delete();
    results['persist.replay_1000_updates_ms'] = {
      value: replayMs,
      unit: 'ms',
      note: `restart of an instance whose log holds ${REPLAYED} updates (${(statSync(log).size / 1e6).toFixed(1)} MB), ${RUNS + 20} of them with 64 KiB arguments`,
    };
    // Live mode: auto progress records a round ten times a second of uptime, busy or not.
    const live = join(dir, 'live.log');
    writeNewLog(live, { kind: 'create', config: { subnets: [{ kind: 'Application' }] } });
    const idle = PersistedEndpoint.open(live);
    const liveRest = new RestDriver((r) => idle.handle('rest', r));
    for (let i = 0; i < 3; i++) liveRest.deploy(wasm);
    for (let i = 0; i < IDLE_ROUNDS; i++) idle.endpoint.instance.progressStep();
    await new Promise((resolve) => setImmediate(resolve)); // the last round's record is written after it
    idle.delete();
    const t2 = performance.now();
    PersistedEndpoint.open(live).delete();
    const idleReplayMs = performance.now() - t2;
    results['persist.replay_idle_round_us'] = {
      value: (idleReplayMs * 1000) / IDLE_ROUNDS,
      unit: 'µs',
      note: `restart cost per round auto progress ran with nothing to do (3 canisters; ${IDLE_ROUNDS} rounds): ten a second in live mode`,
    };
    memory.delete();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
