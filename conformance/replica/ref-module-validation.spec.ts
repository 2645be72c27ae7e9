/**
 * Reference suite (dfinity/ic `hs/spec_compliance/src/IC/Test/Spec.hs`), group
 * "WebAssembly module validation", ported through PicJS. The reference installs
 * test modules built by dfinity/ic `rs/tests/research/spec_compliance`'s
 * generator (`write_base_end`, `with_custom_sections`, ...); the same modules
 * are built here by `testWasm(name)`: the same WAT for the text ones, the same
 * bytes for the custom-section ones. `valid:` leaves install, `invalid:` ones
 * are refused with reject code 5 (CanisterError) and the replica's
 * IC0505 CanisterInvalidWasm (rs/embedders/src/wasm_utils/validation.rs,
 * message texts rs/types/wasm_types/src/errors.rs).
 *
 * The two named leaves that read metadata through read_state ("empty custom
 * section name", "custom section name with spaces") are in
 * `../agent/ref-read-state.spec.ts`, which speaks HTTP.
 */
import type { PocketIc } from '@dfinity/pic';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPic } from '../support/pic.ts';
import { expectCallFailure } from '../support/reject.ts';
import { testWasm } from '../support/validation-wasm.ts';

let pic: PocketIc;
beforeAll(async () => {
  pic = await createPic();
});
afterAll(async () => {
  await pic?.tearDown();
});

/** The reference's `inst`: create, then install the named test module. */
async function inst(name: string) {
  const canisterId = await pic.createCanister();
  await pic.installCode({ canisterId, wasm: await testWasm(name) });
  return canisterId;
}
/** The reference's `read`: an update call whose reply is a little-endian word32. */
async function read(canisterId: Awaited<ReturnType<typeof inst>>, method: string): Promise<number> {
  const reply = await pic.updateCall({ canisterId, method });
  expect(reply.length).toBe(4);
  return new DataView(reply.buffer, reply.byteOffset, 4).getUint32(0, true);
}

const GOOD = [
  'empty_custom_section_name',
  'large_custom_sections',
  'long_exported_function_names',
  'many_custom_sections',
  'many_exports',
  'many_functions',
  'many_globals',
  'valid_import',
];

/** Each invalid module, with a part of the replica's message (validation.rs / errors.rs). */
const BAD: [string, string][] = [
  ['duplicate_custom_section', 'Invalid custom section: name x already exists'],
  ...(['reta', 'retb'] as const).flatMap((fun) =>
    (
      [
        ['canister_composite_query_cq', 'canister_composite_query cq'],
        ['canister_global_timer', 'canister_global_timer'],
        ['canister_heartbeat', 'canister_heartbeat'],
        ['canister_init', 'canister_init'],
        ['canister_inspect_message', 'canister_inspect_message'],
        ['canister_post_upgrade', 'canister_post_upgrade'],
        ['canister_pre_upgrade', 'canister_pre_upgrade'],
        ['canister_query_que', 'canister_query que'],
        ['canister_update_upd', 'canister_update upd'],
      ] as const
    ).map(([file, exported]): [string, string] => [
      `invalid_${file}_${fun}`,
      // validation.rs `validate_function_signature`: () -> () expected.
      fun === 'reta'
        ? `Expected return type [] for '${exported}', got [I32]`
        : `Expected input params [] for '${exported}', got [I32]`,
    ]),
  ),
  ['invalid_canister_export', `Exporting reserved function 'canister_callback read' with "canister_" prefix`],
  ['invalid_custom_section', "Custom section 'icp:mine x' has no public/private scope defined"],
  [
    'invalid_empty_custom_section_name',
    "'icp:' section names must have a space after the public/private scope",
  ],
  ['invalid_empty_query_name', `Exporting reserved function 'canister_query' with "canister_" prefix`],
  [
    'invalid_import',
    "Module imports function 'my_call_perform' from 'ic0' that is not exported by the runtime",
  ],
  ['name_clash_query_composite_query', "Duplicate function 'read' exported multiple times"],
  ['name_clash_update_composite_query', "Duplicate function 'read' exported multiple times"],
  ['name_clash_update_query', "Duplicate function 'read' exported multiple times"],
  [
    'too_large_custom_sections',
    'total size of the custom sections exceeds the maximum allowed: size 1048577 bytes',
  ],
  ['too_long_exported_function_names', 'is 20001 which exceeds the allowed limit of 20000'],
  [
    'too_many_custom_sections',
    'Wasm module defined 17 custom sections which exceeds the maximum number allowed 16',
  ],
  ['too_many_exports', 'is 1001 which exceeds 1000'],
  [
    'too_many_functions',
    'Wasm module defined 50001 functions which exceeds the maximum number allowed 50000',
  ],
  ['too_many_globals', 'Wasm module defined 1001 globals which exceeds the maximum number allowed 1000'],
];

describe('WebAssembly module validation', () => {
  for (const name of GOOD) {
    it(`valid: ${name}`, async () => {
      const canisterId = await inst(name);
      const status = await pic.canisterStatus({ canisterId });
      expect(status.moduleHash).not.toBeNull();
    });
  }

  for (const [name, message] of BAD) {
    it(`invalid: ${name}`, async () => {
      const canisterId = await pic.createCanister();
      await expectCallFailure(pic.installCode({ canisterId, wasm: await testWasm(name) }), {
        rejectCode: 'CanisterError',
        errorCode: 'CanisterInvalidWasm',
        message: ["Canister's Wasm module is not valid", message],
      });
      // Refused modules leave the canister empty.
      expect((await pic.canisterStatus({ canisterId })).moduleHash).toBeNull();
    });
  }

  it('(start) function', async () => {
    const canisterId = await inst('start');
    expect(await read(canisterId, 'read')).toBe(4); // (start) function was executed
  });

  it('no (start) function', async () => {
    const canisterId = await inst('no_start');
    expect(await read(canisterId, 'read')).toBe(0); // no (start) function was executed
  });

  it('empty query name', async () => {
    const canisterId = await inst('empty_query_name');
    await read(canisterId, '');
  });

  it('query name with spaces', async () => {
    const canisterId = await inst('query_name_with_spaces');
    await read(canisterId, 'name with spaces');
  });
});
