/**
 * IC interface specification, "Inter-canister method calls" (the reject
 * callback reads `msg_reject_code` and `msg_reject_msg`): the text a calling
 * canister reads depends on where the failure arises, as the replica builds
 * the callback's `RejectContext`:
 * - a failed execution of the call reads `IC05xx: <description>`
 *   (rs/types/types/src/messages.rs `From<Result<…, UserError>> for Payload`);
 * - the management canister's errors read as the bare description
 *   (rs/execution_environment/src/execution_environment.rs
 *   `output_subnet_response`: `RejectContext::from(UserError)`);
 * - inside a composite query's call graph, a callee's failure reads as the
 *   bare description too (query_handler/query_context.rs `handle_request`);
 * - `uninstall_code` answers the callers of the canister's open call contexts
 *   with code 4 "Canister has been uninstalled." (canister_manager.rs
 *   `uninstall_canister`), and `start_canister` answers a canister's pending
 *   `stop_canister` with code 5 "Canister <id>'s stop request cancelled"
 *   (execution_environment.rs `reject_stop_requests`).
 */
import type { PocketIc } from '@dfinity/pic';
import { IDL } from '@icp-sdk/core/candid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPic } from '../support/pic.ts';
import {
  Principal,
  RelayFlags,
  compositeRelay,
  installUniversal,
  relay,
  relayArg,
  relayResult,
} from '../support/universal.ts';

const MANAGEMENT = Principal.managementCanister();
const ERROR_CODE_PREFIX = /^IC\d{4}: /;

/** `http_request` to a URL nobody answers: the call stays open until the outcall is answered. */
const httpRequestArg = (): Uint8Array<ArrayBuffer> =>
  new Uint8Array(
    IDL.encode(
      [
        IDL.Record({
          url: IDL.Text,
          max_response_bytes: IDL.Opt(IDL.Nat64),
          method: IDL.Variant({ get: IDL.Null, head: IDL.Null, post: IDL.Null }),
          headers: IDL.Vec(IDL.Record({ name: IDL.Text, value: IDL.Text })),
          body: IDL.Opt(IDL.Vec(IDL.Nat8)),
        }),
      ],
      [
        {
          url: 'https://example.com/',
          max_response_bytes: [1000n],
          method: { get: null },
          headers: [],
          body: [],
        },
      ],
    ),
  );
const canisterIdArg = (id: Principal): Uint8Array<ArrayBuffer> =>
  new Uint8Array(IDL.encode([IDL.Record({ canister_id: IDL.Principal })], [{ canister_id: id }]));

let pic: PocketIc;
let a: Principal;
let b: Principal;
beforeAll(async () => {
  pic = await createPic();
  a = await installUniversal(pic);
  b = await installUniversal(pic);
});
afterAll(async () => {
  await pic?.tearDown();
});

/** The one record `relay` with `logResult` appended to the log of `id`: what its callback saw. */
const loggedResult = async (id: Principal) =>
  relayResult(await pic.queryCall({ canisterId: id, method: 'log' }));

describe('what a calling canister reads of a failure', () => {
  it('a failed execution of the call: the error code, then the description', async () => {
    const result = await relay(pic, a, { callee: b, method: 'no_such_method' });
    expect(result).toMatchObject({ kind: 'reject', code: 5 });
    expect(result.kind === 'reject' && result.message).toMatch(
      new RegExp(
        `^IC0536: Error from Canister ${b.toText()}: Canister has no update method 'no_such_method'`,
      ),
    );
  });

  it('a management canister error: the description alone', async () => {
    // a does not control b.
    const result = await relay(pic, a, {
      callee: MANAGEMENT,
      method: 'canister_status',
      payload: canisterIdArg(b),
    });
    expect(result).toMatchObject({ kind: 'reject', code: 5 });
    const message = result.kind === 'reject' ? result.message : '';
    expect(message).not.toMatch(ERROR_CODE_PREFIX);
    expect(message.startsWith(`Only the controllers of the canister ${b.toText()} can control it.`)).toBe(
      true,
    );
  });

  it('inside a composite query: the description alone', async () => {
    const result = await compositeRelay(pic, a, { callee: b, method: 'no_such_query' });
    expect(result).toMatchObject({ kind: 'reject', code: 5 });
    const message = result.kind === 'reject' ? result.message : '';
    expect(message).not.toMatch(ERROR_CODE_PREFIX);
    expect(
      message.startsWith(`Error from Canister ${b.toText()}: Canister has no query method 'no_such_query'`),
    ).toBe(true);
  });
});

describe('rejects of calls the callee cannot answer any more', () => {
  it('uninstall_code: code 4, "Canister has been uninstalled."', async () => {
    const caller = await installUniversal(pic);
    const callee = await installUniversal(pic);
    // caller → callee.relay → an HTTPS outcall that stays pending: callee has an open call context.
    await pic.updateCall({
      canisterId: caller,
      method: 'relay',
      arg: relayArg({
        callee,
        method: 'relay',
        flags: RelayFlags.logResult,
        payload: relayArg({
          callee: MANAGEMENT,
          method: 'http_request',
          payload: httpRequestArg(),
          cycles: 200_000_000_000n,
        }),
      }),
    });
    await pic.tick(2);
    expect((await pic.getPendingHttpsOutcalls()).length).toBeGreaterThan(0);
    await pic.updateCall({
      canisterId: MANAGEMENT,
      method: 'uninstall_code',
      arg: new Uint8Array(
        IDL.encode(
          [IDL.Record({ canister_id: IDL.Principal, sender_canister_version: IDL.Opt(IDL.Nat64) })],
          [{ canister_id: callee, sender_canister_version: [] }],
        ),
      ),
    });
    await pic.tick(2);
    expect(await loggedResult(caller)).toEqual({
      kind: 'reject',
      code: 4,
      refunded: 0n,
      message: 'Canister has been uninstalled.',
    });
  });

  it('start_canister cancelling a canister’s stop_canister: code 5, "Canister <id>\'s stop request cancelled"', async () => {
    const stopper = await installUniversal(pic);
    const busy = await installUniversal(pic, { controllers: [Principal.anonymous(), stopper] });
    // busy awaits an HTTPS outcall, so it cannot stop.
    await pic.updateCall({
      canisterId: busy,
      method: 'relay',
      arg: relayArg({
        callee: MANAGEMENT,
        method: 'http_request',
        flags: RelayFlags.logResult,
        payload: httpRequestArg(),
        cycles: 200_000_000_000n,
      }),
    });
    await pic.updateCall({
      canisterId: stopper,
      method: 'relay',
      arg: relayArg({
        callee: MANAGEMENT,
        method: 'stop_canister',
        flags: RelayFlags.logResult,
        payload: canisterIdArg(busy),
      }),
    });
    await pic.tick(2);
    expect((await pic.canisterStatus({ canisterId: busy })).status).toEqual({ stopping: null });
    await pic.startCanister({ canisterId: busy });
    await pic.tick(2);
    expect(await loggedResult(stopper)).toEqual({
      kind: 'reject',
      code: 5,
      refunded: 0n,
      message: `Canister ${busy.toText()}'s stop request cancelled`,
    });
  });
});
