/**
 * Canister backtraces (dfinity/ic rs/execution_environment/tests/backtraces.rs,
 * the replica's `CanisterBacktrace` Display in
 * rs/interfaces/src/execution_environment/errors.rs): a trap in a module with
 * a `name` section reads `<trap>\nCanister Backtrace:\n<fn>\n…` with Rust
 * names demangled, innermost frame first; the canister log always keeps it,
 * and the reject shows it only to a caller who may read the canister's logs.
 */
import type { PocketIc } from '@dfinity/pic';
import { IDL } from '@icp-sdk/core/candid';
import { Principal } from '@icp-sdk/core/principal';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { watToWasm } from '../../fixtures/wat.ts';
import {
  BACKTRACE_WAT,
  GO_BACKTRACE,
  GO_STABLE_BACKTRACE,
  GO_TRAP_INDEX,
} from '../../fixtures/wat/backtrace.ts';
import { createPic } from '../support/pic.ts';
import { expectCallFailure } from '../support/reject.ts';

const BACKTRACE = `Canister Backtrace:\n${GO_BACKTRACE.join('\n')}\n`;
const MANAGEMENT = Principal.managementCanister();
const none = new Uint8Array();

let pic: PocketIc;
let wasm: Uint8Array<ArrayBuffer>;
beforeAll(async () => {
  pic = await createPic();
  wasm = new Uint8Array(await watToWasm(BACKTRACE_WAT));
});
afterAll(async () => {
  await pic?.tearDown();
});

async function install(logVisibility?: { public: null }): Promise<Principal> {
  const canisterId = await pic.createCanister(logVisibility ? { logVisibility } : {});
  await pic.installCode({ canisterId, wasm });
  return canisterId;
}

async function lastLog(canisterId: Principal): Promise<string> {
  const reply = await pic.queryCall({
    canisterId: MANAGEMENT,
    method: 'fetch_canister_logs',
    arg: IDL.encode([IDL.Record({ canister_id: IDL.Principal })], [{ canister_id: canisterId }]),
  });
  const Records = IDL.Record({
    canister_log_records: IDL.Vec(
      IDL.Record({ idx: IDL.Nat64, timestamp_nanos: IDL.Nat64, content: IDL.Vec(IDL.Nat8) }),
    ),
  });
  const [logs] = IDL.decode([Records], new Uint8Array(reply)) as unknown as [
    { canister_log_records: { content: Uint8Array }[] },
  ];
  return new TextDecoder().decode(logs.canister_log_records.at(-1)?.content);
}

describe('canister backtraces', () => {
  it('a trap in nested named functions lists them, innermost first, demangled', async () => {
    const id = await install();
    const failure = await expectCallFailure(pic.updateCall({ canisterId: id, method: 'go', arg: none }), {
      rejectCode: 'CanisterError',
      errorCode: 'CanisterTrapped',
    });
    expect(failure.message).toContain(
      `Error from Canister ${id.toText()}: Canister trapped: unreachable\n${BACKTRACE}.\nConsider gracefully handling failures`,
    );
    expect(await lastLog(id)).toContain(BACKTRACE);
  });

  it('ic0.trap has one too, and a function without a name prints its index', async () => {
    const id = await install();
    const failure = await expectCallFailure(
      pic.updateCall({ canisterId: id, method: 'go_trap', arg: none }),
      {
        rejectCode: 'CanisterError',
        errorCode: 'CanisterCalledTrap',
      },
    );
    expect(failure.message).toContain(
      `Canister called \`ic0.trap\` with message: 'boom'\nCanister Backtrace:\ntrap_inner\nunknown function at index ${GO_TRAP_INDEX}\n.\n`,
    );
  });

  it('a stable memory trap starts at the ic0 function (Wasm-native stable memory)', async () => {
    const id = await install();
    const failure = await expectCallFailure(
      pic.updateCall({ canisterId: id, method: 'go_stable', arg: none }),
      {
        rejectCode: 'CanisterError',
        errorCode: 'CanisterTrapped',
      },
    );
    expect(failure.message).toContain(
      `Canister trapped: stable memory out of bounds\nCanister Backtrace:\n${GO_STABLE_BACKTRACE.join('\n')}\n.\n`,
    );
  });

  it('a module without a name section traps without one', async () => {
    const canisterId = await pic.createCanister();
    await pic.installCode({
      canisterId,
      wasm: new Uint8Array(await watToWasm(BACKTRACE_WAT, { debugNames: false })),
    });
    const failure = await expectCallFailure(pic.updateCall({ canisterId, method: 'go', arg: none }), {
      rejectCode: 'CanisterError',
      errorCode: 'CanisterTrapped',
    });
    expect(failure.message).toContain('Canister trapped: unreachable.\n');
    expect(failure.message).not.toContain('Backtrace');
    expect(await lastLog(canisterId)).not.toContain('Backtrace');
  });

  it('inside a nested call: hidden from a calling canister that may not read the logs, kept in the log', async () => {
    const a = await install();
    const b = await install();
    const failure = await expectCallFailure(
      pic.updateCall({ canisterId: a, method: 'relay', arg: b.toUint8Array() }),
      { rejectCode: 'CanisterReject', errorCode: 'CanisterRejectedMessage' },
    );
    expect(failure.message).toContain(
      `IC0502: Error from Canister ${b.toText()}: Canister trapped: unreachable.\n`,
    );
    expect(failure.message).not.toContain('Backtrace');
    expect(await lastLog(b)).toContain(BACKTRACE);
  });

  it('inside a nested call: shown to the calling canister when the logs are public', async () => {
    const a = await install();
    const b = await install({ public: null });
    const failure = await expectCallFailure(
      pic.updateCall({ canisterId: a, method: 'relay', arg: b.toUint8Array() }),
      { rejectCode: 'CanisterReject', errorCode: 'CanisterRejectedMessage' },
    );
    expect(failure.message).toContain(
      `IC0502: Error from Canister ${b.toText()}: Canister trapped: unreachable\n${BACKTRACE}.\n`,
    );
  });
});
