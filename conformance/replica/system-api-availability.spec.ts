/**
 * IC interface specification, "Canister interface (System API)" §"Overview of
 * imports": each ic0 function lists the contexts it may run in, and "if the
 * canister invokes a system call from somewhere else, it will trap". The
 * replica reports that trap as CanisterError / CanisterContractViolation
 * ("\"ic0_<name>\" cannot be executed in <context> mode").
 */
import type { PocketIc } from '@dfinity/pic';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPic } from '../support/pic.ts';
import { expectCallFailure } from '../support/reject.ts';
import { Principal, installUniversal, universalWasm } from '../support/universal.ts';

let pic: PocketIc;
let canisterId: Principal;

beforeAll(async () => {
  pic = await createPic();
  canisterId = await installUniversal(pic);
});
afterAll(async () => {
  await pic?.tearDown();
});

/** The function's name as the replica spells it in the trap message (`ic0_x` or `ic0.x`). */
const mentions = (fn: string): RegExp => new RegExp(`ic0[._]${fn}`);

describe('a System API call from a context the spec does not allow traps', () => {
  const cases: { what: string; method: string; query: boolean; fn: string }[] = [
    { what: 'call_new in a non-replicated query', method: 'call_in_query', query: true, fn: 'call_new' },
    {
      what: 'global_timer_set in a non-replicated query',
      method: 'timer_in_query',
      query: true,
      fn: 'global_timer_set',
    },
    {
      what: 'accept_message outside canister_inspect_message',
      method: 'accept_in_update',
      query: false,
      fn: 'accept_message',
    },
    {
      what: 'msg_method_name_size outside canister_inspect_message',
      method: 'method_name_in_update',
      query: false,
      fn: 'msg_method_name_size',
    },
    {
      what: 'msg_reject_code outside a callback',
      method: 'reject_code_in_update',
      query: false,
      fn: 'msg_reject_code',
    },
    {
      what: 'data_certificate_size in an update',
      method: 'certificate_in_update',
      query: false,
      fn: 'data_certificate_size',
    },
    {
      what: 'msg_arg_data_size in a reject callback',
      method: 'arg_in_reject_callback',
      query: false,
      fn: 'msg_arg_data_size',
    },
  ];
  for (const c of cases) {
    it(c.what, async () => {
      const call = c.query
        ? pic.queryCall({ canisterId, method: c.method })
        : pic.updateCall({ canisterId, method: c.method });
      await expectCallFailure(call, {
        rejectCode: 'CanisterError',
        errorCode: 'CanisterContractViolation',
        message: [mentions(c.fn), 'cannot be executed'],
      });
    });
  }

  it('msg_reply in canister_init: the install fails and the canister stays empty', async () => {
    const id = await pic.createCanister();
    await expectCallFailure(
      pic.installCode({ canisterId: id, wasm: await universalWasm(), arg: Uint8Array.of(1) }),
      {
        rejectCode: 'CanisterError',
        errorCode: 'CanisterContractViolation',
        message: [mentions('msg_reply'), 'cannot be executed'],
      },
    );
    const status = await pic.canisterStatus({ canisterId: id });
    expect(status.moduleHash).toBeNull();
  });

  it('the canister keeps serving after such a trap', async () => {
    await expectCallFailure(pic.updateCall({ canisterId, method: 'accept_in_update' }), {
      rejectCode: 'CanisterError',
      errorCode: 'CanisterContractViolation',
    });
    expect(await pic.updateCall({ canisterId, method: 'echo', arg: Uint8Array.of(7) })).toEqual(
      Uint8Array.of(7),
    );
  });
});
