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
import { IDL } from '@icp-sdk/core/candid';
import { Principal } from '@icp-sdk/core/principal';
import { watToWasm } from '../../fixtures/wat.ts';
import { payload } from '../../fixtures/payload.ts';
import { methods } from '../../simulator/management/idl.ts';
import { PersistedEndpoint } from '../../simulator/persist/journal.ts';
import { writeNewLog } from '../../simulator/persist/records.ts';
import type { WireRequest, WireResponse } from '../../simulator/server/http.ts';
import { InstanceEndpoint } from '../../simulator/server/instance-endpoint.ts';
import { median, type Results } from '../measure.ts';
import { BENCH_CANISTER } from '../wat.ts';

const RUNS = 300;
const REPLAYED = 1000;
const IDLE_ROUNDS = 10_000;

type Handler = (request: WireRequest) => WireResponse;

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');
const post = (path: string, json: unknown): WireRequest => ({
  method: 'POST',
  path,
  headers: { 'content-type': 'application/json' },
  body: Buffer.from(JSON.stringify(json)),
});

/** An ingress message submitted and awaited through the REST routes; the reply's bytes. */
function update(handle: Handler, canister: Principal, method: string, arg: Uint8Array): Uint8Array {
  const call = {
    sender: b64(Principal.anonymous().toUint8Array()),
    canister_id: b64(canister.toUint8Array()),
    effective_principal:
      canister.toText() === 'aaaaa-aa' ? 'None' : { CanisterId: b64(canister.toUint8Array()) },
    method,
    payload: b64(arg),
  };
  const submitted = JSON.parse(
    Buffer.from(handle(post('/update/submit_ingress_message', call)).body).toString(),
  ) as {
    Ok: unknown;
  };
  const awaited = JSON.parse(
    Buffer.from(handle(post('/update/await_ingress_message', submitted.Ok)).body).toString(),
  ) as { Ok?: string; Err?: unknown };
  if (awaited.Ok === undefined) throw new Error(`${method}: ${JSON.stringify(awaited.Err)}`);
  return new Uint8Array(Buffer.from(awaited.Ok, 'base64'));
}

function deploy(handle: Handler, wasm: Uint8Array): Principal {
  const management = Principal.managementCanister();
  const created = update(
    handle,
    management,
    'provisional_create_canister_with_cycles',
    IDL.encode(
      [methods.provisional_create_canister_with_cycles.arg!],
      [{ amount: [], settings: [], specified_id: [], sender_canister_version: [] }],
    ),
  );
  const [{ canister_id }] = IDL.decode(
    [methods.provisional_create_canister_with_cycles.ret!],
    created,
  ) as unknown as [{ canister_id: Principal }];
  update(
    handle,
    management,
    'install_code',
    IDL.encode(
      [methods.install_code.arg!],
      [
        {
          mode: { install: null },
          canister_id,
          wasm_module: wasm,
          arg: new Uint8Array(),
          sender_canister_version: [],
        },
      ],
    ),
  );
  return canister_id;
}

function timeUpdates(handle: Handler, canister: Principal, method: string, arg: Uint8Array): number {
  for (let i = 0; i < 20; i++) update(handle, canister, method, arg);
  const ms: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    update(handle, canister, method, arg);
    ms.push(performance.now() - t);
  }
  return median(ms);
}

export async function persistSuite(results: Results): Promise<void> {
  const wasm = await watToWasm(BENCH_CANISTER);
  const dir = mkdtempSync(join(tmpdir(), 'icsim-bench-persist-'));
  try {
    const memory = InstanceEndpoint.create({ subnets: [{ kind: 'Application' }] }, {});
    const inMemory: Handler = (r) => memory.handle('rest', r);
    const log = join(dir, 'instance.log');
    writeNewLog(log, { kind: 'create', config: { subnets: [{ kind: 'Application' }] } });
    const persisted = PersistedEndpoint.open(log);
    const onDisk: Handler = (r) => persisted.handle('rest', r);
    const a = deploy(inMemory, wasm);
    const b = deploy(onDisk, wasm);

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
    for (let i = logged; i < REPLAYED; i++) update(onDisk, b, 'noop', empty);
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
    const liveHandle: Handler = (r) => idle.handle('rest', r);
    for (let i = 0; i < 3; i++) deploy(liveHandle, wasm);
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
