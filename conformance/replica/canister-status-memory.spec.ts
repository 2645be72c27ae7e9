/**
 * IC interface specification, "IC method canister_status": `memory_size` is
 * the memory the canister uses, and `memory_metrics` breaks it down (Wasm
 * heap, stable memory, globals, the module, its `icp:` custom sections,
 * canister history, the chunk store, snapshots). The replica counts a
 * canister's system state too (dfinity/ic rs/replicated_state/src/
 * canister_state.rs `memory_usage`: execution memory + canister history +
 * chunk store + snapshots), so a canister without code still uses memory:
 * its history. Each history entry counts `size_of::<CanisterChange>()` plus
 * one `PrincipalId` (30 bytes) per controller it lists
 * (`CanisterChange::count_bytes`); each stored chunk counts a whole 1 MiB
 * chunk (wasm_chunk_store.rs); a custom section counts its name, a
 * visibility byte and its content (execution_state.rs `WasmMetadata`).
 */
import type { PocketIc } from '@dfinity/pic';
import { IDL } from '@icp-sdk/core/candid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPic } from '../support/pic.ts';
import { Principal, universalWasm } from '../support/universal.ts';
import { withCustomSection } from '../support/wasm.ts';

const MANAGEMENT = Principal.managementCanister();
const MiB = 1024n * 1024n;
const PAGE = 65536n;

const MemoryMetrics = IDL.Record({
  wasm_memory_size: IDL.Nat,
  stable_memory_size: IDL.Nat,
  global_memory_size: IDL.Nat,
  wasm_binary_size: IDL.Nat,
  custom_sections_size: IDL.Nat,
  canister_history_size: IDL.Nat,
  wasm_chunk_store_size: IDL.Nat,
  snapshots_size: IDL.Nat,
});
type Metrics = Record<
  | 'wasm_memory_size'
  | 'stable_memory_size'
  | 'global_memory_size'
  | 'wasm_binary_size'
  | 'custom_sections_size'
  | 'canister_history_size'
  | 'wasm_chunk_store_size'
  | 'snapshots_size',
  bigint
>;
const StatusMemory = IDL.Record({ memory_size: IDL.Nat, memory_metrics: MemoryMetrics });
const CanisterIdArg = IDL.Record({ canister_id: IDL.Principal });

let pic: PocketIc;
beforeAll(async () => {
  pic = await createPic();
});
afterAll(async () => {
  await pic?.tearDown();
});

/** canister_status's memory_size and memory_metrics (PicJS's own decoder drops the metrics). */
async function memory(canisterId: Principal): Promise<{ size: bigint; metrics: Metrics }> {
  const reply = await pic.updateCall({
    canisterId: MANAGEMENT,
    method: 'canister_status',
    arg: new Uint8Array(IDL.encode([CanisterIdArg], [{ canister_id: canisterId }])),
  });
  const [decoded] = IDL.decode([StatusMemory], reply) as unknown as [
    { memory_size: bigint; memory_metrics: Metrics },
  ];
  const size = decoded.memory_size;
  const metrics = decoded.memory_metrics;
  // memory_size is the sum of the parts.
  expect(Object.values(metrics).reduce((n, v) => n + v, 0n)).toBe(size);
  return { size, metrics };
}

const manage = (method: string, type: IDL.Type, arg: unknown): Promise<Uint8Array> =>
  pic.updateCall({ canisterId: MANAGEMENT, method, arg: new Uint8Array(IDL.encode([type], [arg])) });

describe('a canister without code', () => {
  it('uses memory for its history alone', async () => {
    const canisterId = await pic.createCanister();
    const { size, metrics } = await memory(canisterId);
    expect(size).toBeGreaterThan(0n);
    expect(metrics).toEqual({
      wasm_memory_size: 0n,
      stable_memory_size: 0n,
      global_memory_size: 0n,
      wasm_binary_size: 0n,
      custom_sections_size: 0n,
      canister_history_size: size,
      wasm_chunk_store_size: 0n,
      snapshots_size: 0n,
    });
  });

  it('a creation entry counts 30 bytes per controller it lists', async () => {
    const one = await pic.createCanister();
    const two = await pic.createCanister({ controllers: [Principal.anonymous(), one] });
    const h1 = (await memory(one)).metrics.canister_history_size;
    const h2 = (await memory(two)).metrics.canister_history_size;
    expect(h2 - h1).toBe(30n);
  });
});

describe('through install, upgrade and uninstall', () => {
  it('reports heap, stable memory, globals and module; every code change adds one history entry of the same size', async () => {
    const wasm = await universalWasm({ tag: 41 });
    const canisterId = await pic.createCanister();
    const created = (await memory(canisterId)).metrics;

    await pic.installCode({ canisterId, wasm });
    const installed = (await memory(canisterId)).metrics;
    expect(installed.wasm_memory_size).toBe(80n * PAGE); // the universal canister declares 80 pages
    expect(installed.wasm_binary_size).toBe(BigInt(wasm.length));
    expect(installed.stable_memory_size).toBe(0n);
    expect(installed.global_memory_size).toBeGreaterThan(0n);
    expect(installed.custom_sections_size).toBe(0n);
    const entry = installed.canister_history_size - created.canister_history_size;
    expect(entry).toBeGreaterThan(0n);

    await pic.updateCall({ canisterId, method: 'inc' }); // grows stable memory to one page
    expect((await memory(canisterId)).metrics.stable_memory_size).toBe(PAGE);

    await pic.upgradeCanister({ canisterId, wasm: await universalWasm({ tag: 42 }) });
    const upgraded = (await memory(canisterId)).metrics;
    expect(upgraded.canister_history_size - installed.canister_history_size).toBe(entry);

    await manage(
      'uninstall_code',
      IDL.Record({ canister_id: IDL.Principal, sender_canister_version: IDL.Opt(IDL.Nat64) }),
      { canister_id: canisterId, sender_canister_version: [] },
    );
    const { size, metrics } = await memory(canisterId);
    expect(metrics.canister_history_size - upgraded.canister_history_size).toBe(entry);
    expect(size).toBe(metrics.canister_history_size);
  });
});

describe('custom sections and the chunk store', () => {
  it('an icp: section counts its name, one byte and its content; other custom sections do not count', async () => {
    const wasm = withCustomSection(
      withCustomSection(
        await universalWasm({ tag: 43 }),
        'icp:public abc',
        new TextEncoder().encode('12345'),
      ),
      'not-metadata',
      new Uint8Array(100),
    );
    const canisterId = await pic.createCanister();
    await pic.installCode({ canisterId, wasm });
    expect((await memory(canisterId)).metrics.custom_sections_size).toBe(3n + 1n + 5n);
  });

  it('each stored chunk counts a whole MiB, until the store is cleared', async () => {
    const canisterId = await pic.createCanister();
    await manage('upload_chunk', IDL.Record({ canister_id: IDL.Principal, chunk: IDL.Vec(IDL.Nat8) }), {
      canister_id: canisterId,
      chunk: Uint8Array.of(1, 2, 3),
    });
    expect((await memory(canisterId)).metrics.wasm_chunk_store_size).toBe(MiB);
    await manage('clear_chunk_store', CanisterIdArg, { canister_id: canisterId });
    expect((await memory(canisterId)).metrics.wasm_chunk_store_size).toBe(0n);
  });
});
