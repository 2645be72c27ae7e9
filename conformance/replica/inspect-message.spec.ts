/**
 * IC interface specification, "Ingress message inspection"
 * (`canister_inspect_message`): an ingress update is accepted only if the
 * canister calls `ic0.accept_message`; a decline or a trap refuses it before
 * it runs (IC0406 CanisterRejectedMessage, or the trap's own code); calling
 * `accept_message` twice traps; queries are not inspected.
 */
import type { PocketIc } from '@dfinity/pic';
import { Principal } from '@icp-sdk/core/principal';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INSPECT_WAT } from '../../fixtures/wat/inspect.ts';
import { watToWasm } from '../../fixtures/wat.ts';
import { createPic } from '../support/pic.ts';
import { expectCallFailure } from '../support/reject.ts';

let pic: PocketIc;
let canisterId: Principal;
const none = new Uint8Array();
const count = (bytes: Uint8Array | ArrayBufferLike): number =>
  new DataView(bytes instanceof Uint8Array ? bytes.buffer : bytes).getUint32(0, true);

beforeAll(async () => {
  pic = await createPic();
  canisterId = await pic.createCanister();
  await pic.installCode({ canisterId, wasm: await watToWasm(INSPECT_WAT) });
});
afterAll(async () => {
  await pic?.tearDown();
});

describe('canister_inspect_message', () => {
  it('lets through the ingress messages it accepts', async () => {
    expect(count(await pic.updateCall({ canisterId, method: 'ok_count', arg: none }))).toBe(1);
  });

  it('refuses a declined message before it runs, with IC0406', async () => {
    await expectCallFailure(pic.updateCall({ canisterId, method: 'declined', arg: none }), {
      rejectCode: 'CanisterReject',
      errorCode: 'CanisterRejectedMessage',
      message: 'rejected the message',
    });
    expect(count(await pic.queryCall({ canisterId, method: 'peek', arg: none }))).toBe(1);
  });

  it('refuses a message whose inspection traps, with the trap', async () => {
    await expectCallFailure(pic.updateCall({ canisterId, method: 'trap', arg: none }), {
      rejectCode: 'CanisterError',
      errorCode: 'CanisterCalledTrap',
      message: 'inspect trapped',
    });
  });

  it('traps when accept_message is called twice', async () => {
    await expectCallFailure(pic.updateCall({ canisterId, method: 'twice', arg: none }), {
      rejectCode: 'CanisterError',
      errorCode: 'CanisterContractViolation',
      message: 'accept_message',
    });
  });

  it('does not inspect queries', async () => {
    expect(count(await pic.queryCall({ canisterId, method: 'peek', arg: none }))).toBe(1);
  });
});
