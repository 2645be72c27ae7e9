/**
 * IC interface specification, "Canister interface (System API)" §"Overview of
 * imports" and §"Inter-canister method calls" for 64-bit memories: with
 * `I = i64` every pointer and size is an i64, callbacks are `(env : i64) -> ()`
 * found by their index in the module's (64-bit) table. A wasm64 module with
 * `(memory i64 1)` and `(table i64 1 funcref)` installs, answers, and makes
 * inter-canister calls whose callbacks are found through that table.
 */
import type { PocketIc } from '@dfinity/pic';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { moduleShape } from '../../fixtures/support/wasm-info.ts';
import { watToWasm } from '../../fixtures/wat.ts';
import { wasm64Wat } from '../../fixtures/wat/wasm64.ts';
import { createPic } from '../support/pic.ts';
import { Principal, bytes, concat, installUniversal, text } from '../support/universal.ts';

let pic: PocketIc;
let wasm: Uint8Array<ArrayBuffer>;
let canisterId: Principal;

beforeAll(async () => {
  pic = await createPic();
  wasm = await watToWasm(wasm64Wat, { memory64: true });
  canisterId = await pic.createCanister();
  await pic.installCode({ canisterId, wasm });
});
afterAll(async () => {
  await pic?.tearDown();
});

describe('a wasm64 canister', () => {
  it('is built with a 64-bit memory and a 64-bit table', () => {
    const shape = moduleShape(wasm);
    expect(shape.memories.map((m) => m.is64)).toEqual([true]);
    expect(shape.tables.map((t) => t.is64)).toEqual([true]);
  });

  it('answers an update and a query', async () => {
    expect(text(await pic.updateCall({ canisterId, method: 'echo', arg: bytes('up') }))).toBe('64:up');
    expect(text(await pic.queryCall({ canisterId, method: 'echo_query', arg: bytes('q') }))).toBe('64:q');
  });

  it('calls another canister; the reply callback is found through the 64-bit table', async () => {
    const callee = await installUniversal(pic);
    const reply = await pic.updateCall({ canisterId, method: 'call', arg: callee.toUint8Array() });
    expect(text(reply)).toBe('R:hello64');
  });

  it('calls itself', async () => {
    const reply = await pic.updateCall({ canisterId, method: 'call', arg: canisterId.toUint8Array() });
    expect(text(reply)).toBe('R:64:hello64');
  });

  it('the reject callback (same table entry, env 1) sees the reject code', async () => {
    const empty = await pic.createCanister();
    const reply = await pic.updateCall({ canisterId, method: 'call', arg: empty.toUint8Array() });
    expect(Array.from(reply)).toEqual(Array.from(concat(bytes('J'), Uint8Array.of(5, 0, 0, 0))));
  });
});
