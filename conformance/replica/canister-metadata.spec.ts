/**
 * IC interface specification, "IC method canister_metadata" (newer versions of
 * the specification): canisters only; any canister reads an `icp:public <name>`
 * custom section of another, only a controller an `icp:private <name>` one; a
 * private section asked for by another canister is reported missing, as a
 * missing section and an empty canister are (dfinity/ic
 * `rs/execution_environment/src/canister_manager.rs`
 * `get_canister_metadata`, IC0406 CanisterRejectedMessage). A universal
 * canister relays the calls.
 */
import type { PocketIc } from '@dfinity/pic';
import { IDL } from '@icp-sdk/core/candid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPic } from '../support/pic.ts';
import { expectCallFailure } from '../support/reject.ts';
import { Principal, relayArg, relayResult, universalWasm, type RelayResult } from '../support/universal.ts';
import { withCustomSection } from '../support/wasm.ts';

const MANAGEMENT = Principal.managementCanister();
const Args = IDL.Record({ canister_id: IDL.Principal, name: IDL.Text });
const Result = IDL.Record({ value: IDL.Vec(IDL.Nat8) });
const CANISTER_REJECT = 4;

let pic: PocketIc;
/** Holds a public and a private section; its controller is `controllerAsker`. */
let target: Principal;
let controllerAsker: Principal;
let otherAsker: Principal;

beforeAll(async () => {
  pic = await createPic();
  const asker = await universalWasm({ tag: 41 });
  controllerAsker = await pic.createCanister();
  await pic.installCode({ canisterId: controllerAsker, wasm: asker });
  otherAsker = await pic.createCanister();
  await pic.installCode({ canisterId: otherAsker, wasm: asker });
  const module = withCustomSection(
    withCustomSection(
      await universalWasm({ tag: 42 }),
      'icp:public my:section',
      new TextEncoder().encode('hello'),
    ),
    'icp:private secret',
    new Uint8Array([1, 2, 3]),
  );
  target = await pic.createCanister({ controllers: [controllerAsker] });
  await pic.installCode({ canisterId: target, wasm: module, sender: controllerAsker });
});
afterAll(async () => {
  await pic?.tearDown();
});

async function metadata(asker: Principal, canisterId: Principal, name: string): Promise<RelayResult> {
  const payload = new Uint8Array(IDL.encode([Args], [{ canister_id: canisterId, name }]));
  const reply = await pic.updateCall({
    canisterId: asker,
    method: 'relay',
    arg: relayArg({ callee: MANAGEMENT, method: 'canister_metadata', payload }),
  });
  return relayResult(reply);
}

const value = (r: RelayResult): Uint8Array => {
  expect(r.kind, r.kind === 'reject' ? r.message : '').toBe('reply');
  return (IDL.decode([Result], (r as { data: Uint8Array }).data)[0] as unknown as { value: Uint8Array })
    .value;
};

describe('canister_metadata', () => {
  it('any canister reads a public section', async () => {
    expect(new TextDecoder().decode(value(await metadata(otherAsker, target, 'my:section')))).toBe('hello');
  });

  it('a controller reads a private section; another canister is told it does not exist', async () => {
    expect([...value(await metadata(controllerAsker, target, 'secret'))]).toEqual([1, 2, 3]);
    const r = await metadata(otherAsker, target, 'secret');
    expect(r).toMatchObject({
      kind: 'reject',
      code: CANISTER_REJECT,
      message: `The canister ${target.toText()} has no metadata section with the name secret.`,
    });
  });

  it('a missing section, and an empty canister, are refused', async () => {
    expect(await metadata(otherAsker, target, 'absent')).toMatchObject({
      kind: 'reject',
      code: CANISTER_REJECT,
      message: `The canister ${target.toText()} has no metadata section with the name absent.`,
    });
    const empty = await pic.createCanister();
    expect(await metadata(otherAsker, empty, 'my:section')).toMatchObject({
      kind: 'reject',
      code: CANISTER_REJECT,
      message: `The canister ${empty.toText()} has no Wasm module and hence no metadata is available.`,
    });
  });

  it('is for canisters only: an ingress message is refused', async () => {
    await expectCallFailure(
      pic.updateCall({
        canisterId: MANAGEMENT,
        method: 'canister_metadata',
        arg: new Uint8Array(IDL.encode([Args], [{ canister_id: target, name: 'my:section' }])),
      }),
      { rejectCode: 'CanisterReject', errorCode: 'CanisterRejectedMessage', message: 'canister_metadata' },
    );
  });
});
