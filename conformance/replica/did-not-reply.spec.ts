/**
 * IC interface specification, "Abstract behavior": a call context that ends
 * with no response (ingress and inter-canister), and PocketIC's routing of
 * management calls with no effective principal ("IC method install_chunked_code").
 */
import type { PocketIc } from '@dfinity/pic';
import { IDL } from '@icp-sdk/core/candid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPic } from '../support/pic.ts';
import { expectCallFailure } from '../support/reject.ts';
import { Principal, installUniversal, relay } from '../support/universal.ts';

let pic: PocketIc;
let canisterId: Principal;
beforeAll(async () => {
  pic = await createPic();
  canisterId = await installUniversal(pic);
});
afterAll(async () => {
  await pic?.tearDown();
});

describe('CanisterDidNotReply text (spec: Abstract behavior, call context without response)', () => {
  it('a method that neither replies nor calls out ends in CanisterDidNotReply', async () => {
    await expectCallFailure(pic.updateCall({ canisterId, method: 'noreply' }), {
      rejectCode: 'CanisterError',
      errorCode: 'CanisterDidNotReply',
      message: `Canister ${canisterId.toText()} did not reply to the call`,
    });
  });
});

describe('inter-canister reject text for a callee that does not reply (replica: RejectContext(CanisterError, "No response"))', () => {
  it('the caller\'s reject callback gets code 5 and "No response"', async () => {
    const b = await installUniversal(pic);
    expect(await relay(pic, canisterId, { callee: b, method: 'noreply' })).toEqual({
      kind: 'reject',
      code: 5,
      refunded: 0n,
      message: 'No response',
    });
  });
});

describe('install_chunked_code without an effective principal (PocketIC: "If None, the call will be sent to any management canister"; the IC derives the effective canister id from target_canister)', () => {
  it('a non-controller gets CanisterInvalidController, not a server error', async () => {
    const stranger = Principal.fromText('rrkah-fqaaa-aaaaa-aaaaq-cai');
    const Mode = IDL.Variant({
      install: IDL.Null,
      reinstall: IDL.Null,
      upgrade: IDL.Opt(
        IDL.Record({
          skip_pre_upgrade: IDL.Opt(IDL.Bool),
          wasm_memory_persistence: IDL.Opt(IDL.Variant({ keep: IDL.Null, replace: IDL.Null })),
        }),
      ),
    });
    const Arg = IDL.Record({
      mode: Mode,
      target_canister: IDL.Principal,
      store_canister: IDL.Opt(IDL.Principal),
      chunk_hashes_list: IDL.Vec(IDL.Record({ hash: IDL.Vec(IDL.Nat8) })),
      wasm_module_hash: IDL.Vec(IDL.Nat8),
      arg: IDL.Vec(IDL.Nat8),
      sender_canister_version: IDL.Opt(IDL.Nat64),
    });
    const arg = new Uint8Array(
      IDL.encode(
        [Arg],
        [
          {
            mode: { reinstall: null },
            target_canister: canisterId,
            store_canister: [],
            chunk_hashes_list: [],
            wasm_module_hash: new Uint8Array(32),
            arg: new Uint8Array(),
            sender_canister_version: [],
          },
        ],
      ),
    );
    await expectCallFailure(
      pic.updateCall({
        canisterId: Principal.managementCanister(),
        method: 'install_chunked_code',
        arg,
        sender: stranger,
      }),
      { rejectCode: 'CanisterError', errorCode: 'CanisterInvalidController' },
    );
  });
});
