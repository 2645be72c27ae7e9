/**
 * IC interface specification, "Inter-canister method calls" and "Reject
 * codes": a call whose callee cannot receive it is rejected with code 3
 * DESTINATION_INVALID (or 5 for a stopped callee), in the words of message
 * routing, which a calling canister reads verbatim (no error code in front):
 * - no subnet's canister range holds the callee: "No route to canister <id>"
 *   (dfinity/ic rs/messaging/src/routing/stream_builder.rs);
 * - the range is hosted but the canister does not exist (never created, or
 *   deleted): "Canister <id> not found"; a stopped callee: "Canister <id> is
 *   stopped" (rs/messaging/src/routing/stream_handler.rs
 *   `generate_reject_response_for`).
 * An ingress message to an unhosted id never reaches a subnet: PocketIC
 * refuses to route it ("Canister <id> does not belong to any subnet.").
 */
import type { PocketIc } from '@dfinity/pic';
import { IDL } from '@icp-sdk/core/candid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPic } from '../support/pic.ts';
import { Principal, bytes, installUniversal, relay } from '../support/universal.ts';

let pic: PocketIc;
let caller: Principal;
beforeAll(async () => {
  pic = await createPic();
  caller = await installUniversal(pic);
});
afterAll(async () => {
  await pic?.tearDown();
});

describe('a canister calling a callee that cannot receive the call', () => {
  it('no subnet hosts the id: code 3, "No route to canister <id>"', async () => {
    // The NNS governance canister's id: no subnet of a default instance holds the NNS range.
    const nowhere = Principal.fromText('rrkah-fqaaa-aaaaa-aaaaq-cai');
    expect(await relay(pic, caller, { callee: nowhere, method: 'echo', payload: bytes('x') })).toEqual({
      kind: 'reject',
      code: 3,
      refunded: 0n,
      message: `No route to canister ${nowhere.toText()}`,
    });
  });

  it('a deleted canister: code 3, "Canister <id> not found"', async () => {
    const gone = await installUniversal(pic);
    await pic.stopCanister({ canisterId: gone });
    await pic.updateCall({
      canisterId: Principal.managementCanister(),
      method: 'delete_canister',
      arg: new Uint8Array(IDL.encode([IDL.Record({ canister_id: IDL.Principal })], [{ canister_id: gone }])),
    });
    expect(await relay(pic, caller, { callee: gone, method: 'echo' })).toEqual({
      kind: 'reject',
      code: 3,
      refunded: 0n,
      message: `Canister ${gone.toText()} not found`,
    });
  });

  it('a stopped canister: code 5, "Canister <id> is stopped"', async () => {
    const stopped = await installUniversal(pic);
    await pic.stopCanister({ canisterId: stopped });
    expect(await relay(pic, caller, { callee: stopped, method: 'echo' })).toEqual({
      kind: 'reject',
      code: 5,
      refunded: 0n,
      message: `Canister ${stopped.toText()} is stopped`,
    });
  });
});

describe('an ingress message to an id no subnet hosts', () => {
  it('is not routed: "does not belong to any subnet"', async () => {
    const nowhere = Principal.fromText('rrkah-fqaaa-aaaaa-aaaaq-cai');
    await expect(pic.updateCall({ canisterId: nowhere, method: 'echo' })).rejects.toThrow(
      `Canister ${nowhere.toText()} does not belong to any subnet.`,
    );
  });
});
