/**
 * IC interface specification, "IC method fetch_canister_logs" (a
 * non-replicated query gated by `log_visibility`; `debug_print` and traps are
 * logged) and "IC method deposit_cycles" (the attached cycles move to the
 * target canister).
 */
import type { PocketIc } from '@dfinity/pic';
import { IDL } from '@icp-sdk/core/candid';
import { Principal } from '@icp-sdk/core/principal';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPic } from '../support/pic.ts';
import { expectCallFailure } from '../support/reject.ts';
import { installUniversal, relay } from '../support/universal.ts';

const LogRecords = IDL.Record({
  canister_log_records: IDL.Vec(
    IDL.Record({ idx: IDL.Nat64, timestamp_nanos: IDL.Nat64, content: IDL.Vec(IDL.Nat8) }),
  ),
});
type LogRecords = { canister_log_records: { idx: bigint; timestamp_nanos: bigint; content: Uint8Array }[] };
const MANAGEMENT = Principal.managementCanister();
const text = (s: string) => new TextEncoder().encode(s);

let pic: PocketIc;
beforeAll(async () => {
  pic = await createPic();
});
afterAll(async () => {
  await pic?.tearDown();
});

async function fetchLogs(canisterId: Principal, sender?: Principal): Promise<LogRecords> {
  const reply = await pic.queryCall({
    canisterId: MANAGEMENT,
    method: 'fetch_canister_logs',
    arg: IDL.encode([IDL.Record({ canister_id: IDL.Principal })], [{ canister_id: canisterId }]),
    sender,
  });
  return IDL.decode([LogRecords], new Uint8Array(reply))[0] as unknown as LogRecords;
}

describe('fetch_canister_logs', () => {
  it('returns debug_print lines and trap messages, oldest first, to a controller', async () => {
    const id = await installUniversal(pic);
    await pic.updateCall({ canisterId: id, method: 'print', arg: text('first line') });
    await expect(
      pic.updateCall({ canisterId: id, method: 'print_trap', arg: text('then a trap') }),
    ).rejects.toThrow();
    const logs = (await fetchLogs(id)).canister_log_records;
    const lines = logs.map((r) => new TextDecoder().decode(r.content));
    expect(lines[0]).toBe('first line');
    expect(lines.some((l) => l.includes('then a trap'))).toBe(true);
    expect(logs.map((r) => r.idx)).toEqual([...logs.map((r) => r.idx)].sort((a, b) => (a < b ? -1 : 1)));
    expect(logs[0].timestamp_nanos).toBeGreaterThan(0n);
  });

  it('refuses a caller that log_visibility does not admit, and admits anyone once it is public', async () => {
    const id = await installUniversal(pic);
    const stranger = Principal.fromUint8Array(new Uint8Array([42, 1, 2]));
    await expectCallFailure(fetchLogs(id, stranger), {
      rejectCode: 'CanisterReject',
      errorCode: 'CanisterRejectedMessage',
      message: 'is not allowed to query ic00 method fetch_canister_logs',
    });
    await pic.updateCanisterSettings({ canisterId: id, logVisibility: { public: null } });
    expect((await fetchLogs(id, stranger)).canister_log_records).toEqual([]);
  });
});

describe('deposit_cycles', () => {
  it('moves the cycles attached by a canister to the target', async () => {
    const sender = await installUniversal(pic);
    const target = await installUniversal(pic);
    const before = await pic.getCyclesBalance(target);
    const amount = 1_000_000_000_000n;
    const result = await relay(pic, sender, {
      callee: MANAGEMENT,
      method: 'deposit_cycles',
      cycles: amount,
      payload: IDL.encode([IDL.Record({ canister_id: IDL.Principal })], [{ canister_id: target }]),
    });
    expect(result.kind).toBe('reply');
    expect(result.refunded).toBe(0n);
    expect(await pic.getCyclesBalance(target)).toBeGreaterThanOrEqual(before + amount - 10_000_000_000n);
  });
});
