/**
 * IC interface specification, "IC method install_code": the upgrade option
 * `wasm_memory_persistence` (`keep` retains the Wasm heap, `replace` discards
 * it as a plain upgrade does), and the replica's guards for canisters using
 * Motoko's enhanced orthogonal persistence (the `enhanced-orthogonal-persistence`
 * metadata section): dfinity/ic rs/execution_environment/src/execution/upgrade.rs,
 * `determine_main_memory_handling` refuses an upgrade of such a canister only
 * when the option is absent ("Missing upgrade option"), and `keep` into a
 * module without the section ("Invalid upgrade option"). With `keep` the old
 * Wasm memory replaces the new one whole (install_code.rs
 * `replace_execution_state_and_allocations`), so the new module's data
 * segments are not applied and pages past the old end read as zeros.
 */
import type { PocketIc } from '@dfinity/pic';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { watToWasm } from '../../fixtures/wat.ts';
import { createPic } from '../support/pic.ts';
import { expectCallFailure } from '../support/reject.ts';
import { Principal, readInfo, text, universalWasm } from '../support/universal.ts';
import { EOP_SECTION, withCustomSection } from '../support/wasm.ts';

const eop = (wasm: Uint8Array): Uint8Array<ArrayBuffer> => withCustomSection(wasm, EOP_SECTION);
const keep = { skip_pre_upgrade: [] as [], wasm_memory_persistence: [{ keep: null }] as [{ keep: null }] };
const replace = {
  skip_pre_upgrade: [] as [],
  wasm_memory_persistence: [{ replace: null }] as [{ replace: null }],
};

let pic: PocketIc;
beforeAll(async () => {
  pic = await createPic();
});
afterAll(async () => {
  await pic?.tearDown();
});

describe('an enhanced orthogonal persistence canister', () => {
  let canisterId: Principal;
  const inc = (): Promise<Uint8Array> => pic.updateCall({ canisterId, method: 'inc' });

  beforeAll(async () => {
    canisterId = await pic.createCanister();
    await pic.installCode({ canisterId, wasm: eop(await universalWasm({ tag: 1 })) });
    for (let i = 0; i < 3; i++) await inc();
  });

  it('refuses an upgrade that names no wasm_memory_persistence, and keeps its module and heap', async () => {
    await expectCallFailure(pic.upgradeCanister({ canisterId, wasm: eop(await universalWasm({ tag: 2 })) }), {
      rejectCode: 'CanisterError',
      errorCode: 'CanisterContractViolation',
      message:
        'Missing upgrade option: Enhanced orthogonal persistence requires the `wasm_memory_persistence` upgrade option.',
    });
    expect(await readInfo(pic, canisterId)).toMatchObject({ tag: 1n, counter: 3n });
  });

  it('upgrades with `replace`: the heap starts fresh, pre_upgrade and post_upgrade run', async () => {
    await pic.upgradeCanister({
      canisterId,
      wasm: eop(await universalWasm({ tag: 2 })),
      upgradeModeOptions: replace,
    });
    const info = await readInfo(pic, canisterId);
    expect(info).toMatchObject({ tag: 2n, counter: 0n, initRan: false });
    expect(info.restored).toBe(3n); // pre_upgrade saved the old heap counter to stable memory
  });

  it('upgrades with `keep`: the heap survives', async () => {
    await inc();
    await inc();
    await pic.upgradeCanister({
      canisterId,
      wasm: eop(await universalWasm({ tag: 3 })),
      upgradeModeOptions: keep,
      arg: new TextEncoder().encode('kept'),
    });
    const info = await readInfo(pic, canisterId);
    expect(info).toMatchObject({ tag: 3n, counter: 2n });
    expect(text(info.arg)).toBe('kept');
  });

  it('refuses `keep` into a module without the section', async () => {
    await expectCallFailure(
      pic.upgradeCanister({ canisterId, wasm: await universalWasm({ tag: 4 }), upgradeModeOptions: keep }),
      {
        rejectCode: 'CanisterError',
        errorCode: 'CanisterContractViolation',
        message:
          'Invalid upgrade option: The `wasm_memory_persistence: opt Keep` upgrade option requires that the new canister module supports enhanced orthogonal persistence.',
      },
    );
    expect((await readInfo(pic, canisterId)).tag).toBe(3n);
  });
});

describe('a canister without the section', () => {
  it('upgrades with `replace` as without the option', async () => {
    const canisterId = await pic.createCanister();
    await pic.installCode({ canisterId, wasm: await universalWasm({ tag: 5 }) });
    await pic.updateCall({ canisterId, method: 'inc' });
    await pic.upgradeCanister({
      canisterId,
      wasm: await universalWasm({ tag: 6 }),
      upgradeModeOptions: replace,
    });
    expect(await readInfo(pic, canisterId)).toMatchObject({ tag: 6n, counter: 0n, restored: 1n });
  });
});

describe('`keep` keeps the old Wasm memory whole', () => {
  // v1: one page holding "AAAA" at 0; `set` writes "B" at 0.
  // v2: two pages, data "NEW!" at 0 and "HIGH" at 65536; `peek` replies bytes 0..4 and 65536..65540.
  const module = (pages: number, data: string, methods: string): Promise<Uint8Array<ArrayBuffer>> =>
    watToWasm(
      `(module
        (import "ic0" "msg_reply_data_append" (func $append (param i32 i32)))
        (import "ic0" "msg_reply" (func $reply))
        (memory ${pages})
        ${data}
        ${methods})`,
      { memory64: false },
    );
  const peek = `(func (export "canister_query peek")
    (call $append (i32.const 0) (i32.const 4))
    (call $append (i32.const 65536) (i32.const 4))
    (call $reply))`;

  it('the new module’s data segments are not applied, and pages past the old end are zero', async () => {
    const v1 = await module(
      1,
      '(data (i32.const 0) "AAAA")',
      '(func (export "canister_update set") (i32.store8 (i32.const 0) (i32.const 66)) (call $reply))',
    );
    const v2 = await module(2, '(data (i32.const 0) "NEW!") (data (i32.const 65536) "HIGH")', peek);
    const canisterId = await pic.createCanister();
    await pic.installCode({ canisterId, wasm: eop(v1) });
    await pic.updateCall({ canisterId, method: 'set' });
    await pic.upgradeCanister({ canisterId, wasm: eop(v2), upgradeModeOptions: keep });
    expect(Array.from(await pic.queryCall({ canisterId, method: 'peek' }))).toEqual([
      ...new TextEncoder().encode('BAAA'),
      0,
      0,
      0,
      0,
    ]);

    const fresh = await pic.createCanister();
    await pic.installCode({ canisterId: fresh, wasm: eop(v1) });
    await pic.upgradeCanister({ canisterId: fresh, wasm: eop(v2), upgradeModeOptions: replace });
    expect(text(await pic.queryCall({ canisterId: fresh, method: 'peek' }))).toBe('NEW!HIGH');
  });
});
