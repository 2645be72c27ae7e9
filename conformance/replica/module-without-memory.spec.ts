/**
 * IC interface specification, "Canister module format": a module need not
 * declare a memory. The replica installs such modules (dfinity/ic
 * rs/embedders/src/wasm_utils/instrumentation.rs exports memory 0 only when
 * there is one; an initial heap of 0 pages is used "if Wasm does not declare
 * any memory section"), runs their methods, and traps any System API call
 * that touches the heap with "WebAssembly module must define memory"
 * (rs/embedders/src/wasmtime_embedder/linker.rs, `with_memory_and_system_api`),
 * even for zero bytes; calls that take no heap argument (`ic0.msg_reply`) work.
 */
import type { PocketIc } from '@dfinity/pic';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { watToWasm } from '../../fixtures/wat.ts';
import { createPic } from '../support/pic.ts';
import { expectCallFailure } from '../support/reject.ts';
import type { Principal } from '../support/universal.ts';

const EMPTY_MODULE = Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00);
const hex = (data: Uint8Array | null): string | null => (data ? Buffer.from(data).toString('hex') : null);

let pic: PocketIc;
beforeAll(async () => {
  pic = await createPic();
});
afterAll(async () => {
  await pic?.tearDown();
});

describe('the smallest module (8 bytes: magic and version)', () => {
  it('installs; its module hash is reported; calls find no method', async () => {
    const canisterId = await pic.createCanister();
    await pic.installCode({ canisterId, wasm: EMPTY_MODULE });
    const status = await pic.canisterStatus({ canisterId });
    expect(hex(status.moduleHash)).toBe(createHash('sha256').update(EMPTY_MODULE).digest('hex'));
    await expectCallFailure(pic.updateCall({ canisterId, method: 'anything' }), {
      rejectCode: 'CanisterError',
      errorCode: 'CanisterMethodNotFound',
      message: "has no update method 'anything'",
    });
  });
});

describe('a module without memory that imports ic0', () => {
  let canisterId: Principal;
  beforeAll(async () => {
    const wasm = await watToWasm(
      `(module
        (import "ic0" "msg_reply" (func $reply))
        (import "ic0" "msg_reply_data_append" (func $append (param i32 i32)))
        (global $n (mut i32) (i32.const 0))
        (func (export "canister_init") (global.set $n (i32.const 41)))
        (func (export "canister_query ping") (call $reply))
        (func (export "canister_update bump") (global.set $n (i32.add (global.get $n) (i32.const 1))) (call $reply))
        (func (export "canister_update append_nothing") (call $append (i32.const 0) (i32.const 0)) (call $reply)))`,
      { memory64: false },
    );
    canisterId = await pic.createCanister();
    await pic.installCode({ canisterId, wasm });
  });

  it('answers a query and an update that call ic0.msg_reply (an empty reply)', async () => {
    expect(Array.from(await pic.queryCall({ canisterId, method: 'ping' }))).toEqual([]);
    expect(Array.from(await pic.updateCall({ canisterId, method: 'ping' }))).toEqual([]);
    expect(Array.from(await pic.updateCall({ canisterId, method: 'bump' }))).toEqual([]);
  });

  it('traps on a System API call that takes heap bytes, even zero of them', async () => {
    await expectCallFailure(pic.updateCall({ canisterId, method: 'append_nothing' }), {
      rejectCode: 'CanisterError',
      errorCode: 'CanisterContractViolation',
      message: 'WebAssembly module must define memory',
    });
  });
});
