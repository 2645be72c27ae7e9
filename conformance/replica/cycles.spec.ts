/**
 * IC interface specification, "Cycles" and "Freezing threshold"; the replica's
 * cycles account manager for the prices (conformance/support/cycles.ts). Under
 * PocketIC's `Normal` cost schedule, on a 13-node application subnet, balances
 * fall by the documented amounts: creation (500 B), ingress reception (1.2 M and
 * 2 000 per byte), execution (5 M per message and 1 per instruction, prepaid at
 * the instruction limit and refunded; heartbeats too), install (compilation included), calls
 * (260 K and 1 000 per byte, the largest response and callback prepaid and
 * refunded), storage (127 000 per GiB-second); `ic0.cost_*` and
 * `idle_cycles_burned_per_day` report the same figures; the freezing threshold
 * refuses ingress, installs and `call_perform` with the replica's texts; a
 * canister that cannot pay for its storage is uninstalled. Under `Free` nothing
 * is charged.
 */
import { CanisterCyclesCostSchedule, SubnetStateType, type PocketIc } from '@dfinity/pic';
import { IDL } from '@icp-sdk/core/candid';
import { Ed25519KeyIdentity } from '@icp-sdk/core/identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  B,
  COMPILE_COST_PER_INSTRUCTION,
  FEES,
  INSTALL_INSTRUCTION_LIMIT,
  MESSAGE_INSTRUCTION_LIMIT,
  T,
  TAIL,
  callArg,
  callTotalFee,
  cyclesText,
  cyclesWasm,
  envelopeBytes,
  executionCost,
  httpRequestFee,
  ingressFee,
  installCyclesCanister,
  readU128,
  storagePerDay,
  storageReservation,
} from '../support/cycles.ts';
import { createPic } from '../support/pic.ts';
import {
  ignore as ucIgnore,
  install as ucInstall,
  int as ucInt,
  noop as ucNoop,
  reply as ucReply,
  run as ucRun,
  seq as ucSeq,
  stableGrow as ucStableGrow,
} from '../support/uc.ts';
import { expectCallFailure } from '../support/reject.ts';
import {
  Principal,
  RelayFlags,
  installUniversal,
  readU64,
  relay,
  relayArg,
  u32,
  u64,
} from '../support/universal.ts';

const MANAGEMENT = Principal.managementCanister();
const ANONYMOUS = Principal.anonymous();
const DAY_MS = 86_400_000;

const CreateCanisterArg = IDL.Record({
  settings: IDL.Opt(IDL.Record({ controllers: IDL.Opt(IDL.Vec(IDL.Principal)) })),
  sender_canister_version: IDL.Opt(IDL.Nat64),
});
const InstallCodeArg = IDL.Record({
  mode: IDL.Variant({ install: IDL.Null, reinstall: IDL.Null }),
  canister_id: IDL.Principal,
  wasm_module: IDL.Vec(IDL.Nat8),
  arg: IDL.Vec(IDL.Nat8),
});

/** `http_request` to a URL nobody answers: the call stays open until PicJS mocks the outcall's answer. */
function pendingHttpRequestArg(): Uint8Array<ArrayBuffer> {
  const HttpRequestArgs = IDL.Record({
    url: IDL.Text,
    max_response_bytes: IDL.Opt(IDL.Nat64),
    method: IDL.Variant({ get: IDL.Null }),
    headers: IDL.Vec(IDL.Record({ name: IDL.Text, value: IDL.Text })),
    body: IDL.Opt(IDL.Vec(IDL.Nat8)),
  });
  return new Uint8Array(
    IDL.encode(
      [HttpRequestArgs],
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
}

/** An update call as PocketIC receives it from PicJS, and the ingress fee its envelope costs. */
async function update(
  pic: PocketIc,
  canisterId: Principal,
  method: string,
  arg: Uint8Array,
  sender: Principal = ANONYMOUS,
): Promise<{ reply: Uint8Array; ingress: bigint }> {
  const reply = await pic.updateCall({ canisterId, method, arg, sender });
  return { reply, ingress: ingressFee(envelopeBytes(sender, canisterId, method, arg)) };
}

/** `install_code` sent as PicJS sends it, with the argument encoded here so that its size is known. */
function installArg(canisterId: Principal, wasm: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(
    IDL.encode(
      [InstallCodeArg],
      [{ mode: { install: null }, canister_id: canisterId, wasm_module: wasm, arg: new Uint8Array() }],
    ),
  );
}

/** The `call` reply: what `call_perform` returned, or what the callback saw. */
function callOutcome(reply: Uint8Array): { kind: 'E' | 'R' | 'J'; code: number; instructions: bigint } {
  const view = new DataView(reply.buffer, reply.byteOffset, reply.byteLength);
  const kind = String.fromCharCode(reply[0]!) as 'E' | 'R' | 'J';
  if (kind === 'E') return { kind, code: view.getUint32(1, true), instructions: 0n };
  if (kind === 'R') return { kind, code: 0, instructions: view.getBigUint64(1, true) };
  return { kind, code: view.getUint32(1, true), instructions: view.getBigUint64(5, true) };
}

/** A canister's balance as a bigint (PicJS returns a number, exact below 2^53 cycles: 9 000 T). */
async function balanceOf(pic: PocketIc, canisterId: Principal): Promise<bigint> {
  return BigInt(await pic.getCyclesBalance(canisterId));
}

/** Asserts that `charge` is `base` plus what the canister executed after reading its counter. */
function expectCharge(charge: bigint, base: bigint): void {
  expect(charge - base, `charge ${charge} − expected ${base}`).toBeGreaterThanOrEqual(0n);
  expect(charge - base, `charge ${charge} − expected ${base}`).toBeLessThan(TAIL);
}

describe('Normal cost schedule (13-node application subnet)', () => {
  let pic: PocketIc;
  beforeAll(async () => {
    pic = await createPic();
  });
  afterAll(async () => {
    await pic.tearDown();
  });

  it('an update pays for its ingress message per byte, and 5 M plus one cycle per instruction it ran', async () => {
    const id = await installCyclesCanister(pic, { cycles: 10n * T });
    const work = async (n: number): Promise<{ charge: bigint; instructions: bigint; ingress: bigint }> => {
      const before = await balanceOf(pic, id);
      const { reply, ingress } = await update(pic, id, 'work', u32(n));
      return { charge: before - (await balanceOf(pic, id)), instructions: readU64(reply), ingress };
    };
    const small = await work(1_000);
    const large = await work(100_000);
    // The 40 B instructions prepaid at the message limit come back but those it ran.
    expectCharge(small.charge, small.ingress + executionCost(small.instructions));
    expect(large.instructions).toBeGreaterThan(small.instructions);
    expect(large.charge - small.charge).toBe(large.instructions - small.instructions);

    // 1 000 more argument bytes cost 2 000 000 more (both arguments take a 3-byte CBOR head).
    const noop = async (size: number): Promise<bigint> => {
      const before = await balanceOf(pic, id);
      await pic.updateCall({ canisterId: id, method: 'noop', arg: new Uint8Array(size) });
      return before - (await balanceOf(pic, id));
    };
    const short = await noop(300);
    expect((await noop(1_300)) - short).toBe(1_000n * FEES.ingressByte);
    expectCharge(
      short,
      ingressFee(envelopeBytes(ANONYMOUS, id, 'noop', new Uint8Array(300))) + executionCost(0n),
    );
  });

  it('install_code pays for its message, the execution fee and 6 000 instructions per compiled Wasm instruction', async () => {
    const wasm = await cyclesWasm();
    const id = await pic.createCanister({ cycles: 10n * T });
    const before = await balanceOf(pic, id);
    const arg = installArg(id, wasm);
    await pic.updateCall({ canisterId: MANAGEMENT, method: 'install_code', arg });
    const charge = before - (await balanceOf(pic, id));
    // The fixture has no (start) or canister_init: all it executes at install is compilation.
    const compilation =
      charge - ingressFee(envelopeBytes(ANONYMOUS, MANAGEMENT, 'install_code', arg)) - executionCost(0n);
    expect(compilation).toBeGreaterThan(0n);
    expect(compilation % COMPILE_COST_PER_INSTRUCTION).toBe(0n);
    // A Wasm instruction takes at least one byte of the module.
    expect(compilation / COMPILE_COST_PER_INSTRUCTION).toBeLessThan(BigInt(wasm.length));
  });

  it('create_canister takes the 500 B creation fee out of the cycles attached, and refuses fewer', async () => {
    const parent = await installCyclesCanister(pic, { cycles: 10n * T });
    const payload = new Uint8Array(
      IDL.encode([CreateCanisterArg], [{ settings: [], sender_canister_version: [] }]),
    );
    const reply = await pic.updateCall({
      canisterId: parent,
      method: 'call',
      arg: callArg(MANAGEMENT, 'create_canister', payload, 2n * T),
    });
    const [{ canister_id: child }] = IDL.decode(
      [IDL.Record({ canister_id: IDL.Principal })],
      reply.slice(9),
    ) as unknown as [{ canister_id: Principal }];
    expect(callOutcome(reply).kind).toBe('R');
    expect(await balanceOf(pic, child)).toBe(2n * T - FEES.canisterCreation);

    const refused = callOutcome(
      await pic.updateCall({
        canisterId: parent,
        method: 'call',
        arg: callArg(MANAGEMENT, 'create_canister', payload, 100n * B),
      }),
    );
    // IC0403 InsufficientCyclesForCreateCanister: a CanisterReject.
    expect(refused).toMatchObject({ kind: 'J', code: 4 });
  });

  it('refusals for too few attached cycles write amounts as the replica does, in groups of three (1_000)', async () => {
    // `Cycles`' Display (rs/types/cycles: `separate_with_underscores`) in CreateCanisterNotEnoughCycles
    // and in the HTTPS outcall fee check.
    const caller = await installUniversal(pic, { cycles: 10n * T });
    const created = await relay(pic, caller, {
      callee: MANAGEMENT,
      method: 'create_canister',
      payload: new Uint8Array(
        IDL.encode([CreateCanisterArg], [{ settings: [], sender_canister_version: [] }]),
      ),
      cycles: 100n * B,
    });
    expect(created).toMatchObject({ kind: 'reject', code: 4 });
    expect(created.kind === 'reject' && created.message).toContain(
      `Creating a canister requires a fee of ${cyclesText(FEES.canisterCreation)} that is deducted from the canister's initial balance but only 100_000_000_000 cycles were received with the create_canister request.`,
    );
    const outcall = await relay(pic, caller, {
      callee: MANAGEMENT,
      method: 'http_request',
      payload: pendingHttpRequestArg(),
      cycles: 1_000n,
    });
    expect(outcall).toMatchObject({ kind: 'reject', code: 4 });
    expect(outcall.kind === 'reject' && outcall.message).toMatch(
      /^http_request request sent with 1_000 cycles, but \d{1,3}(_\d{3})+ cycles are required\.$/,
    );
  });

  it('a call pays 260 K and 1 000 per byte each way; the largest response and callback it prepaid come back', async () => {
    const caller = await installCyclesCanister(pic, { cycles: 10n * T });
    const callee = await installCyclesCanister(pic, { cycles: 10n * T });
    const payload = new Uint8Array(100);
    const [a0, b0] = [await balanceOf(pic, caller), await balanceOf(pic, callee)];
    const { reply, ingress } = await update(pic, caller, 'call', callArg(callee, 'noop', payload));
    const outcome = callOutcome(reply);
    expect(outcome.kind).toBe('R');
    const [a1, b1] = [await balanceOf(pic, caller), await balanceOf(pic, callee)];
    // The request's method name and argument, then an empty reply; two executions (the
    // update and its callback), whose instructions the callback reports (performance_counter(1)).
    const request = FEES.xnetCall + FEES.xnetByte * BigInt('noop'.length + payload.length);
    expectCharge(a0 - a1, ingress + request + 2n * executionCost(0n) + outcome.instructions);
    // The callee pays its own execution, not the message.
    expectCharge(b0 - b1, executionCost(0n));
  });

  it('a heartbeat pays an execution every round', async () => {
    const id = await installUniversal(pic, { heartbeat: true, cycles: 10n * T });
    const before = await balanceOf(pic, id);
    await pic.tick(3);
    const perRound = (before - (await balanceOf(pic, id))) / 3n;
    // It only increments a counter: a few instructions.
    expectCharge(perRound, executionCost(0n));
  });

  it('ic0.cost_call, cost_create_canister and cost_http_request report the fees charged', async () => {
    const id = await installCyclesCanister(pic);
    const reply = await pic.queryCall({
      canisterId: id,
      method: 'costs',
      arg: new Uint8Array([...u64(4), ...u64(100), ...u64(1_000), ...u64(2_000)]),
    });
    expect(readU128(reply, 0)).toBe(callTotalFee(104n));
    expect(readU128(reply, 1)).toBe(FEES.canisterCreation);
    expect(readU128(reply, 2)).toBe(httpRequestFee(1_000n, 2_000n));
  });

  it('canister_status reports idle_cycles_burned_per_day for its memory, and 30 days of storage cost 30 of them', async () => {
    const id = await installCyclesCanister(pic, { cycles: 10n * T });
    const status = await pic.canisterStatus({ canisterId: id });
    expect(status.idleCyclesBurnedPerDay).toBe(storagePerDay(status.memorySize));
    expect(status.idleCyclesBurnedPerDay).toBeGreaterThan(0n);
    const before = await balanceOf(pic, id);
    await pic.advanceTime(30 * DAY_MS);
    await pic.tick();
    expect(before - (await balanceOf(pic, id))).toBe(30n * status.idleCyclesBurnedPerDay);
  });

  it('a call awaiting its response holds message memory for the largest response, priced as storage on both sides', async () => {
    // caller → callee.relay → an HTTPS outcall that stays pending until mocked. Each open
    // guaranteed-response call reserves MAX_RESPONSE_COUNT_BYTES (the 2 MiB payload limit and a
    // response's own size) on the caller's side and on the callee's (queues.rs
    // `guaranteed_response_memory_usage`); `idle_cycles_burned_per_day` adds it beside memory_size
    // (cycles_account_manager.rs `idle_cycles_burned_rate_by_resource`).
    const caller = await installUniversal(pic, { cycles: 10n * T });
    const callee = await installUniversal(pic, { cycles: 10n * T });
    const messageMemoryPerDay = async (id: Principal): Promise<bigint> => {
      const status = await pic.canisterStatus({ canisterId: id });
      return status.idleCyclesBurnedPerDay - storagePerDay(status.memorySize);
    };
    expect(await messageMemoryPerDay(caller)).toBe(0n);
    const outcall = relayArg({
      callee: MANAGEMENT,
      method: 'http_request',
      payload: pendingHttpRequestArg(),
      cycles: 200n * B,
    });
    await pic.updateCall({
      canisterId: caller,
      method: 'relay',
      arg: relayArg({ callee, method: 'relay', flags: RelayFlags.logResult, payload: outcall }),
    });
    await pic.tick(2);
    const [pending] = await pic.getPendingHttpsOutcalls();
    expect(pending, 'the outcall is pending').toBeDefined();
    // The size of a response beside its payload is the replica's struct layout: allow 1 KiB.
    const reservation = { min: storagePerDay(2n << 20n), max: storagePerDay((2n << 20n) + 1024n) };
    const held = { caller: await messageMemoryPerDay(caller), callee: await messageMemoryPerDay(callee) };
    expect(held.caller).toBeGreaterThanOrEqual(reservation.min);
    expect(held.caller).toBeLessThanOrEqual(reservation.max);
    // The callee holds the reservation for its reply to the caller and one for its own call.
    expect(held.callee).toBeGreaterThanOrEqual(2n * reservation.min);
    expect(held.callee).toBeLessThanOrEqual(2n * reservation.max);
    await pic.mockPendingHttpsOutcall({
      subnetId: pending!.subnetId,
      requestId: pending!.requestId,
      response: { type: 'success', statusCode: 200, headers: [], body: new Uint8Array() },
    });
    await pic.tick(3);
    expect(await messageMemoryPerDay(caller)).toBe(0n);
    expect(await messageMemoryPerDay(callee)).toBe(0n);
  });

  it('the freezing threshold (a day of idle burn per 86 400 s) refuses ingress with IC0207, the top-up told to controllers only', async () => {
    const id = await installCyclesCanister(pic, { cycles: 10n * T });
    const idle = (await pic.canisterStatus({ canisterId: id })).idleCyclesBurnedPerDay;
    const freezingThreshold = 1n << 50n;
    // A small update_settings pays after it ran, so that a frozen canister can be unfrozen.
    await pic.updateCanisterSettings({ canisterId: id, freezingThreshold });
    const balance = await balanceOf(pic, id);
    const threshold = (idle * freezingThreshold) / 86_400n;
    expect(threshold).toBeGreaterThan(balance);
    const arg = new Uint8Array(8);
    const topUp = threshold + ingressFee(envelopeBytes(ANONYMOUS, id, 'noop', arg)) - balance;
    const failure = await expectCallFailure(pic.updateCall({ canisterId: id, method: 'noop', arg }), {
      rejectCode: 'SysTransient',
      errorCode: 'CanisterOutOfCycles',
    });
    expect(failure.message).toBe(
      `Canister ${id.toText()} is out of cycles: please top up the canister with at least ${cyclesText(topUp)} additional cycles`,
    );
    const stranger = Ed25519KeyIdentity.generate().getPrincipal();
    const hidden = await expectCallFailure(
      pic.updateCall({ canisterId: id, method: 'noop', arg, sender: stranger }),
      { rejectCode: 'SysTransient', errorCode: 'CanisterOutOfCycles' },
    );
    expect(hidden.message).toBe(`Canister ${id.toText()} is out of cycles`);
    expect(await balanceOf(pic, id)).toBe(balance);
  });

  it('update_settings refuses a compute or memory allocation the balance cannot keep above the freezing threshold (IC0530, IC0531), and changes nothing', async () => {
    // canister_manager.rs `validate_canister_settings`: the threshold the new settings imply, checked
    // only when an allocation grows. A small update_settings pays its ingress fee after it ran, so
    // the balance it is judged by is the one before the call.
    const id = await installCyclesCanister(pic, { cycles: 10n * T });
    const computePerDay = (percent: bigint) => percent * FEES.computePercentPerSecond * 86_400n;
    const { memorySize } = await pic.canisterStatus({ canisterId: id });
    let balance = await balanceOf(pic, id);
    const compute = await expectCallFailure(
      pic.updateCanisterSettings({ canisterId: id, computeAllocation: 50n }),
      { rejectCode: 'CanisterError', errorCode: 'InsufficientCyclesInComputeAllocation' },
    );
    let threshold = 30n * (storagePerDay(memorySize) + computePerDay(50n));
    expect(compute.message).toContain(
      `Cannot increase compute allocation to 50% due to insufficient cycles. At least ${cyclesText(threshold - balance)} additional cycles are required.`,
    );
    balance = await balanceOf(pic, id);
    const memory = await expectCallFailure(
      pic.updateCanisterSettings({ canisterId: id, memoryAllocation: 1n << 40n }),
      { rejectCode: 'CanisterError', errorCode: 'InsufficientCyclesInMemoryAllocation' },
    );
    threshold = 30n * storagePerDay(1n << 40n);
    expect(memory.message).toContain(
      `Cannot increase memory allocation to 1.00 TiB due to insufficient cycles. At least ${cyclesText(threshold - balance)} additional cycles are required.`,
    );
    const after = await pic.canisterStatus({ canisterId: id });
    expect([after.settings.computeAllocation, after.settings.memoryAllocation]).toEqual([0n, 0n]);
    // A freezing threshold may still be raised until the canister freezes, and an affordable
    // allocation is granted.
    await pic.updateCanisterSettings({ canisterId: id, freezingThreshold: 1n << 40n });
    await pic.updateCanisterSettings({ canisterId: id, freezingThreshold: 86_400n, computeAllocation: 1n });
    expect((await pic.canisterStatus({ canisterId: id })).settings.computeAllocation).toBe(1n);
  });

  it('an update that grows memory past what its balance can keep frozen-free fails with IC0532 and leaves memory as it was', async () => {
    // sandbox_safe_system_state.rs `check_freezing_threshold_for_memory_grow`: the threshold at the
    // new memory usage; the top-up only for a controller. The balance it is judged by has paid the
    // ingress fee and prepaid the message's instructions.
    // Without a heartbeat, whose executions would cost cycles between the reads and the call.
    const id = await ucInstall(pic, ucNoop, { cycles: 3n * T, wasm: { heartbeat: false } });
    const freezingThreshold = 1_000_000_000n;
    await pic.updateCanisterSettings({ canisterId: id, freezingThreshold });
    const { memorySize } = await pic.canisterStatus({ canisterId: id });
    const grow = ucRun(ucSeq(ucIgnore(ucStableGrow(ucInt(1000))), ucReply));
    const grown = 1000n * 65_536n;
    const threshold = (storagePerDay(memorySize + grown) * freezingThreshold) / 86_400n;
    const balance = await balanceOf(pic, id);
    const failure = await expectCallFailure(pic.updateCall({ canisterId: id, method: 'update', arg: grow }), {
      rejectCode: 'CanisterError',
      errorCode: 'InsufficientCyclesInMemoryGrow',
    });
    const available =
      balance -
      ingressFee(envelopeBytes(ANONYMOUS, id, 'update', grow)) -
      executionCost(MESSAGE_INSTRUCTION_LIMIT);
    expect(failure.message).toBe(
      `Error from Canister ${id.toText()}: Canister cannot grow memory by ${grown} bytes due to insufficient cycles. At least ${cyclesText(threshold - available)} additional cycles are required..\n` +
        'Try topping up the canister. See documentation: https://internetcomputer.org/docs/current/references/execution-errors#insufficient-cycles-in-memory-grow',
    );
    // Nothing grew, and a caller who does not control the canister is not told the top-up.
    expect((await pic.canisterStatus({ canisterId: id })).memorySize).toBe(memorySize);
    const stranger = Ed25519KeyIdentity.generate().getPrincipal();
    const hidden = await expectCallFailure(
      pic.updateCall({ canisterId: id, method: 'update', arg: grow, sender: stranger }),
      { rejectCode: 'CanisterError', errorCode: 'InsufficientCyclesInMemoryGrow' },
    );
    expect(hidden.message).toContain(
      `Canister cannot grow memory by ${grown} bytes due to insufficient cycles..\n`,
    );
  });

  it('install_code is refused when the canister cannot prepay it (IC0207, "Canister installation failed with …")', async () => {
    const id = await pic.createCanister({ cycles: 200n * B });
    const status = await pic.canisterStatus({ canisterId: id });
    const balance = await balanceOf(pic, id);
    const threshold = (status.idleCyclesBurnedPerDay * status.settings.freezingThreshold) / 86_400n;
    const arg = installArg(id, await cyclesWasm());
    const available = balance - ingressFee(envelopeBytes(ANONYMOUS, MANAGEMENT, 'install_code', arg));
    const topUp = threshold + executionCost(INSTALL_INSTRUCTION_LIMIT) - available;
    await expectCallFailure(pic.updateCall({ canisterId: MANAGEMENT, method: 'install_code', arg }), {
      rejectCode: 'SysTransient',
      errorCode: 'CanisterOutOfCycles',
      message: `Canister installation failed with \`Canister ${id.toText()} is out of cycles: please top up the canister with at least ${cyclesText(topUp)} additional cycles\`.`,
    });
    expect(await balanceOf(pic, id)).toBe(available);
  });

  it('call_perform returns 2 (SYS_TRANSIENT) when the call would take the canister below its freezing threshold', async () => {
    const caller = await installCyclesCanister(pic, { cycles: 10n * T });
    const callee = await installCyclesCanister(pic);
    // 20 B above the threshold, and the 40 B this message prepaid and will not use come back:
    // once the next message prepaid its own, ~20 B remain, less than a call's 42 B.
    await pic.updateCall({ canisterId: caller, method: 'burn_to', arg: u64(20n * B) });
    const before = await balanceOf(pic, caller);
    const { reply, ingress } = await update(
      pic,
      caller,
      'call',
      callArg(callee, 'noop', new Uint8Array(), B),
    );
    expect(callOutcome(reply)).toMatchObject({ kind: 'E', code: 2 });
    // The attached cycles and the call's fees stayed with the caller.
    expectCharge(before - (await balanceOf(pic, caller)), ingress + executionCost(0n));
    await pic.addCycles(caller, 100n * B);
    const retried = await pic.updateCall({
      canisterId: caller,
      method: 'call',
      arg: callArg(callee, 'noop', new Uint8Array()),
    });
    expect(callOutcome(retried).kind).toBe('R');
  });

  it('a canister that cannot pay for its storage is uninstalled, loses its memory allocation and its cycles', async () => {
    const id = await installCyclesCanister(pic, { cycles: 10n * T });
    // 1 GiB allocated costs 127 000 × 86 400 a day; nothing is kept back for freezing.
    await pic.updateCanisterSettings({ canisterId: id, memoryAllocation: 1n << 30n, freezingThreshold: 0n });
    await pic.updateCall({ canisterId: id, method: 'burn_to', arg: u64(0n) });
    expect(await balanceOf(pic, id)).toBeLessThan(30n * FEES.gibStoragePerSecond * 86_400n);
    await pic.advanceTime(30 * DAY_MS);
    await pic.tick();
    expect(await balanceOf(pic, id)).toBe(0n);
    await pic.addCycles(id, T);
    const status = await pic.canisterStatus({ canisterId: id });
    expect(status.moduleHash).toBeNull();
    expect(status.settings.memoryAllocation).toBe(0n);
    await expectCallFailure(pic.updateCall({ canisterId: id, method: 'noop' }), {
      rejectCode: 'CanisterError',
      errorCode: 'CanisterWasmModuleNotFound',
    });
  });
});

describe('storage reservation (a subnet above its 750 GiB memory threshold)', () => {
  // canister_manager.rs `validate_canister_settings`, cycles_account_manager.rs
  // `storage_reservation_cycles`: a memory allocation that takes the subnet above its threshold
  // moves cycles into the reserved balance, within `reserved_cycles_limit`. A fresh instance, so
  // that the subnet holds only these canisters.
  let pic: PocketIc;
  /** The canisters of this instance, whose allocations make the subnet's memory usage. */
  const created: Principal[] = [];
  beforeAll(async () => {
    pic = await createPic();
  });
  afterAll(async () => {
    await pic.tearDown();
  });

  it('reserves cycles for a memory allocation above the threshold, reports them in canister_status, and refuses limits below them (IC0533, IC0540)', async () => {
    const GIB = 1n << 30n;
    const big = await pic.createCanister({ cycles: 100n * T });
    created.push(big);
    // No freezing threshold: the allocation's storage would otherwise need 30 days of 760 GiB.
    await pic.updateCanisterSettings({ canisterId: big, freezingThreshold: 0n });
    const before = await pic.canisterStatus({ canisterId: big });
    expect(before.reservedCycles).toBe(0n);
    const balance = await balanceOf(pic, big);
    await pic.updateCanisterSettings({ canisterId: big, memoryAllocation: 760n * GIB });
    const reserved = storageReservation(760n * GIB - before.memorySize, before.memorySize);
    expect(reserved).toBeGreaterThan(0n);
    const after = await pic.canisterStatus({ canisterId: big });
    expect(after.reservedCycles).toBe(reserved);
    // The reservation and the update_settings' own ingress fee left the main balance.
    const spent = balance - (await balanceOf(pic, big));
    expect(spent - reserved).toBeGreaterThan(0n);
    expect(spent - reserved).toBeLessThan(ingressFee(2_000n));

    const tooLow = await expectCallFailure(
      pic.updateCanisterSettings({ canisterId: big, reservedCyclesLimit: 1n }),
      { rejectCode: 'CanisterError', errorCode: 'ReservedCyclesLimitIsTooLow' },
    );
    expect(tooLow.message).toContain(
      `Cannot set the reserved cycles limit 1 below the reserved cycles balance of the canister ${cyclesText(reserved)}.`,
    );

    // A second canister allocating 1 GiB on the saturated subnet needs a reservation its zero limit forbids.
    const small = await pic.createCanister({ cycles: 100n * T });
    created.push(small);
    await pic.updateCanisterSettings({ canisterId: small, freezingThreshold: 0n, reservedCyclesLimit: 0n });
    const { memorySize } = await pic.canisterStatus({ canisterId: small });
    const needed = storageReservation(GIB - memorySize, 760n * GIB + memorySize);
    const exceeded = await expectCallFailure(
      pic.updateCanisterSettings({ canisterId: small, memoryAllocation: GIB }),
      { rejectCode: 'CanisterError', errorCode: 'ReservedCyclesLimitExceededInMemoryAllocation' },
    );
    expect(exceeded.message).toContain(
      `Cannot increase memory allocation to 1.00 GiB due to its reserved cycles limit. The current limit (0) would be exceeded by ${cyclesText(needed)}.`,
    );
    const unchanged = await pic.canisterStatus({ canisterId: small });
    expect([unchanged.settings.memoryAllocation, unchanged.reservedCycles]).toEqual([0n, 0n]);
    // With a limit that covers it, the same allocation reserves exactly that.
    await pic.updateCanisterSettings({
      canisterId: small,
      reservedCyclesLimit: needed,
      memoryAllocation: GIB,
    });
    expect((await pic.canisterStatus({ canisterId: small })).reservedCycles).toBe(needed);
  });

  it('memory an update grows on the saturated subnet reserves cycles, and a zero limit refuses the growth (IC0534)', async () => {
    // sandbox_safe_system_state.rs `reserve_storage_cycles`: best-effort canisters reserve for the
    // bytes they grow, priced at the subnet's usage before the growth.
    const grower = await ucInstall(pic, ucNoop, { cycles: 100n * T, wasm: { heartbeat: false } });
    await pic.updateCanisterSettings({ canisterId: grower, freezingThreshold: 0n });
    const subnetUsage = async (): Promise<bigint> => {
      let total = 0n;
      for (const id of [grower, ...created]) {
        const status = await pic.canisterStatus({ canisterId: id });
        total +=
          status.settings.memoryAllocation > status.memorySize
            ? status.settings.memoryAllocation
            : status.memorySize;
      }
      return total;
    };
    const grow = ucRun(ucSeq(ucIgnore(ucStableGrow(ucInt(1000))), ucReply));
    const usage = await subnetUsage();
    const reservedBefore = (await pic.canisterStatus({ canisterId: grower })).reservedCycles;
    await pic.updateCall({ canisterId: grower, method: 'update', arg: grow });
    const reservedAfter = (await pic.canisterStatus({ canisterId: grower })).reservedCycles;
    expect(reservedAfter - reservedBefore).toBe(storageReservation(1000n * 65_536n, usage));

    await pic.updateCanisterSettings({ canisterId: grower, reservedCyclesLimit: reservedAfter });
    const refused = await expectCallFailure(
      pic.updateCall({ canisterId: grower, method: 'update', arg: grow }),
      {
        rejectCode: 'CanisterError',
        errorCode: 'ReservedCyclesLimitExceededInMemoryGrow',
      },
    );
    expect(refused.message).toContain(
      `Canister cannot grow memory by ${1000n * 65_536n} bytes due to its reserved cycles limit. The current limit (${cyclesText(reservedAfter)}) would be exceeded by `,
    );
    expect((await pic.canisterStatus({ canisterId: grower })).reservedCycles).toBe(reservedAfter);
  });
});

describe('Free cost schedule', () => {
  let pic: PocketIc;
  beforeAll(async () => {
    pic = await createPic({
      application: [{ state: { type: SubnetStateType.New }, costSchedule: CanisterCyclesCostSchedule.Free }],
    });
  });
  afterAll(async () => {
    await pic.tearDown();
  });

  it('charges nothing: install, updates, calls, creation, storage; costs and idle burn are 0', async () => {
    const caller = await pic.createCanister({ cycles: 10n * T });
    await pic.installCode({ canisterId: caller, wasm: await cyclesWasm() });
    const callee = await installCyclesCanister(pic, { cycles: T });
    expect(await balanceOf(pic, caller)).toBe(10n * T);
    await pic.updateCall({ canisterId: caller, method: 'work', arg: u32(10_000) });
    expect(
      callOutcome(
        await pic.updateCall({
          canisterId: caller,
          method: 'call',
          arg: callArg(callee, 'noop', new Uint8Array(100)),
        }),
      ).kind,
    ).toBe('R');
    const payload = new Uint8Array(
      IDL.encode([CreateCanisterArg], [{ settings: [], sender_canister_version: [] }]),
    );
    const reply = await pic.updateCall({
      canisterId: caller,
      method: 'call',
      arg: callArg(MANAGEMENT, 'create_canister', payload, T),
    });
    const [{ canister_id: child }] = IDL.decode(
      [IDL.Record({ canister_id: IDL.Principal })],
      reply.slice(9),
    ) as unknown as [{ canister_id: Principal }];
    expect(await balanceOf(pic, child)).toBe(T);
    const costs = await pic.queryCall({
      canisterId: caller,
      method: 'costs',
      arg: new Uint8Array([...u64(4), ...u64(100), ...u64(1_000), ...u64(2_000)]),
    });
    expect([readU128(costs, 0), readU128(costs, 1), readU128(costs, 2)]).toEqual([0n, 0n, 0n]);
    expect((await pic.canisterStatus({ canisterId: caller })).idleCyclesBurnedPerDay).toBe(0n);
    await pic.advanceTime(30 * DAY_MS);
    await pic.tick();
    expect(await balanceOf(pic, caller)).toBe(9n * T);
    expect(await balanceOf(pic, callee)).toBe(T);
  });
});

describe('fees scale with the subnet size (34-node fiduciary subnet)', () => {
  let pic: PocketIc;
  beforeAll(async () => {
    pic = await createPic({ fiduciary: { state: { type: SubnetStateType.New } } });
  });
  afterAll(async () => {
    await pic.tearDown();
  });

  it('costs 34/13 of the 13-node fees', async () => {
    const fiduciary = await pic.getFiduciarySubnet();
    const id = await installCyclesCanister(pic, { cycles: 10n * T, targetSubnetId: fiduciary!.id });
    const reply = await pic.queryCall({
      canisterId: id,
      method: 'costs',
      arg: new Uint8Array([...u64(4), ...u64(100), ...u64(1_000), ...u64(2_000)]),
    });
    expect(readU128(reply, 1)).toBe((FEES.canisterCreation * 34n) / 13n);
    expect(readU128(reply, 2)).toBe(httpRequestFee(1_000n, 2_000n, 34n));
  });
});
