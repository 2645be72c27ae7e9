/**
 * Canister snapshots below the Candid: a loaded snapshot gives back the heap
 * byte for byte at its size (a wasm64 module here, as Motoko builds them),
 * each mutable global with its type, the stable memory and the module; a
 * module without memory snapshots too; an uploaded snapshot whose globals do
 * not fit its module is refused and leaves the canister as it was.
 */
import type { Principal } from '@icp-sdk/core/principal';
import { describe, expect, it } from 'vitest';
import { toHex } from '../bytes.ts';
import type { CanisterState } from '../canister/state.ts';
import { replicaOf } from '../instance.ts';
import { Harness } from '../testing/harness.ts';
import { wat } from '../wasm/test-support.ts';

const MODULE64 = `(module
  (import "ic0" "msg_reply" (func $reply))
  (import "ic0" "stable64_grow" (func $stable_grow (param i64) (result i64)))
  (import "ic0" "stable64_write" (func $stable_write (param i64 i64 i64)))
  (memory i64 1)
  (global $g (mut i64) (i64.const 0))
  (global $f (mut f64) (f64.const 0))
  (global $i (mut i32) (i32.const 0))
  (func (export "canister_update first")
    (drop (memory.grow (i64.const 2)))
    (i64.store (i64.const 8) (i64.const 0x1122334455667788))
    (i64.store (i64.const 150000) (i64.const 42))
    (global.set $g (i64.const 7))
    (global.set $f (f64.const 1.5))
    (global.set $i (i32.const -3))
    (drop (call $stable_grow (i64.const 1)))
    (call $stable_write (i64.const 100) (i64.const 8) (i64.const 8))
    (call $reply))
  (func (export "canister_update second")
    (drop (memory.grow (i64.const 4)))
    (i64.store (i64.const 8) (i64.const -1))
    (i64.store (i64.const 300000) (i64.const 9))
    (global.set $g (i64.const 70))
    (global.set $f (f64.const -2))
    (global.set $i (i32.const 5))
    (drop (call $stable_grow (i64.const 3)))
    (call $stable_write (i64.const 100) (i64.const 300000) (i64.const 8))
    (call $reply)))`;

const NO_MEMORY = `(module
  (import "ic0" "msg_reply" (func $reply))
  (global $n (mut i32) (i32.const 0))
  (func (export "canister_update inc") (global.set $n (i32.add (global.get $n) (i32.const 1))) (call $reply)))`;

function canisterOf(h: Harness, id: Principal): CanisterState {
  const c = replicaOf(h.ic).findCanister(id);
  if (!c) throw new Error('no canister');
  return c;
}

const take = (h: Harness, id: Principal): Uint8Array =>
  (
    h.management('take_canister_snapshot', {
      canister_id: id,
      replace_snapshot: [],
      uninstall_code: [],
      sender_canister_version: [],
    }) as { id: Uint8Array }
  ).id;

const load = (h: Harness, id: Principal, snapshot: Uint8Array) =>
  h.managementOutcome('load_canister_snapshot', {
    canister_id: id,
    snapshot_id: snapshot,
    sender_canister_version: [],
  });

function view(c: CanisterState) {
  const runtime = c.runtime!;
  const names = runtime.compiled.globalExports.map((g) => g.name);
  return {
    heap: toHex(runtime.heap()),
    heapSize: runtime.heapSize(),
    globals: names.map((n) => runtime.globalValue(n)),
    stable: toHex(c.stable.snapshot()),
    module: toHex(c.moduleHash!),
  };
}

describe('canister snapshots', () => {
  it('a load gives back a wasm64 heap byte for byte, typed globals, stable memory and module', () => {
    const h = new Harness();
    const id = h.deploy(wat(MODULE64));
    expect(h.update(id, 'first').status).toBe('replied');
    const c = canisterOf(h, id);
    const before = view(c);
    expect(before.heapSize).toBe(3 * 65536);
    const snapshot = take(h, id);

    expect(h.update(id, 'second').status).toBe('replied');
    expect(view(c)).not.toEqual(before);
    expect(load(h, id, snapshot).status).toBe('replied');
    expect(view(c)).toEqual(before);

    const meta = h.management('read_canister_snapshot_metadata', {
      canister_id: id,
      snapshot_id: snapshot,
    }) as {
      globals: unknown[];
      wasm_memory_size: bigint;
    };
    expect(meta.globals).toEqual([{ i64: 7n }, { f64: 1.5 }, { i32: -3 }]);
    expect(meta.wasm_memory_size).toBe(3n * 65536n);
    const data = h.management('read_canister_snapshot_data', {
      canister_id: id,
      snapshot_id: snapshot,
      kind: { wasm_memory: { offset: 0n, size: 3n * 65536n } },
    }) as { chunk: Uint8Array };
    expect(toHex(data.chunk)).toBe(before.heap);
  });

  it('snapshots a module without memory', () => {
    const h = new Harness();
    const id = h.deploy(wat(NO_MEMORY));
    h.update(id, 'inc');
    const snapshot = take(h, id);
    h.update(id, 'inc');
    h.update(id, 'inc');
    expect(load(h, id, snapshot).status).toBe('replied');
    expect(view(canisterOf(h, id)).globals).toEqual([1]);
  });

  it('refuses an uploaded snapshot whose globals do not fit its module, and changes nothing', () => {
    const h = new Harness();
    const id = h.deploy(wat(MODULE64));
    h.update(id, 'first');
    const c = canisterOf(h, id);
    const snapshot = take(h, id);
    const wasm = c.moduleBytes!;
    const { snapshot_id: uploaded } = h.management('upload_canister_snapshot_metadata', {
      canister_id: id,
      replace_snapshot: [],
      wasm_module_size: BigInt(wasm.length),
      globals: [{ i64: 1n }],
      wasm_memory_size: 65536n,
      stable_memory_size: 0n,
      certified_data: new Uint8Array(),
      global_timer: [],
      on_low_wasm_memory_hook_status: [],
    }) as { snapshot_id: Uint8Array };
    h.management('upload_canister_snapshot_data', {
      canister_id: id,
      snapshot_id: uploaded,
      kind: { wasm_module: { offset: 0n } },
      chunk: wasm,
    });
    h.update(id, 'second');
    const before = view(c);
    const version = c.versionNumber;
    const balance = c.balance;
    const outcome = load(h, id, uploaded);
    expect(outcome).toMatchObject({
      status: 'rejected',
      errorCode: 'InvalidManagementPayload',
      message: 'Wasm exported globals of canister module and snapshot metadata do not match.',
    });
    expect(view(c)).toEqual(before);
    expect(c.versionNumber).toBe(version);
    // Only the ingress message's induction fee, not the load's 2B-instruction baseline.
    expect(balance - c.balance).toBeLessThan(2_000_000n);
    expect(load(h, id, snapshot).status).toBe('replied');
  });
});
