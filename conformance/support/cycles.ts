/**
 * The cycles fees of a 13-node application subnet, as the cycles specs compute
 * what a balance must fall by, and the fixture canister they measure with
 * (`fixtures/wat/cycles.ts`).
 *
 * Fees: dfinity/ic `rs/config/src/subnet_config.rs` (`CyclesAccountManagerConfig::application_subnet()`)
 * and `rs/cycles_account_manager/src/cycles_account_manager.rs`; the same numbers as
 * internetcomputer.org's cycles cost tables.
 */
import type { PocketIc } from '@dfinity/pic';
import type { Principal } from '@icp-sdk/core/principal';
import { watToWasm } from '../../fixtures/wat.ts';
import { cyclesWat } from '../../fixtures/wat/cycles.ts';
import { bytes, concat, u64 } from './universal.ts';

export const B = 1_000_000_000n;
export const T = 1_000_000_000_000n;

export const FEES = {
  canisterCreation: 500n * B,
  updateMessageExecution: 5_000_000n,
  /** Per instruction: 10 cycles per 10 instructions (Wasm32). */
  perInstruction: 1n,
  xnetCall: 260_000n,
  xnetByte: 1_000n,
  ingressMessage: 1_200_000n,
  ingressByte: 2_000n,
  gibStoragePerSecond: 127_000n,
  computePercentPerSecond: 10_000_000n,
  httpLinear: 3_000_000n,
  httpQuadratic: 60_000n,
  httpRequestByte: 400n,
  httpResponseByte: 800n,
} as const;

/** `MAX_INSTRUCTIONS_PER_MESSAGE` (every call prepays a callback that long) and per install. */
export const MESSAGE_INSTRUCTION_LIMIT = 40n * B;
export const INSTALL_INSTRUCTION_LIMIT = 300n * B;
/** Every call prepays the transmission of the largest response, 2 MiB. */
export const MAX_RESPONSE_BYTES = 2n * 1024n * 1024n;
/** One compiled Wasm instruction is charged as 6 000 executed ones. */
export const COMPILE_COST_PER_INSTRUCTION = 6_000n;
/**
 * Instructions a canister runs after reading `performance_counter` (the rest of
 * its last basic block, the System API's own cost of `msg_reply`): a charge is
 * checked to lie within this much above the instructions the canister reports.
 */
export const TAIL = 10_000n;

/** `execution_cost`: the per-message fee plus one cycle per instruction. */
export const executionCost = (instructions: bigint): bigint =>
  FEES.updateMessageExecution + FEES.perInstruction * instructions;

/** A cycles amount as the replica writes it in error texts (`Cycles`' Display): `1_234_567`. */
export const cyclesText = (amount: bigint): string => amount.toString().replace(/\B(?=(\d{3})+(?!\d))/g, '_');

/**
 * `storage_reservation_cycles` on a 13-node application subnet: what allocating `bytes` more
 * reserves when the subnet's canisters take `usage` bytes. Nothing below the subnet memory
 * threshold (750 GiB); above it, storage of the bytes above the threshold for half of
 * `max_storage_reservation_period` (300 M s) scaled by how far usage is toward the capacity
 * (2 TiB): dfinity/ic rs/cycles_account_manager `total_storage_reservation_cycles`,
 * rs/config/src/execution_environment.rs.
 */
export function storageReservation(bytes: bigint, usage: bigint): bigint {
  const GIB = 1n << 30n;
  const threshold = 750n * GIB;
  const capacity = 2048n * GIB - threshold;
  const total = (u: bigint): bigint => {
    const above = u > threshold ? u - threshold : 0n;
    const seconds = (300_000_000n * above) / capacity / 2n;
    return (above * FEES.gibStoragePerSecond * seconds) / GIB;
  };
  return total(usage + bytes) - total(usage);
}

/** `ingress_induction_cost`: per message and per byte of the signed envelope. */
export const ingressFee = (envelopeBytes: bigint): bigint =>
  FEES.ingressMessage + FEES.ingressByte * envelopeBytes;

/** `xnet_call_total_fee`, `ic0.cost_call`: request, largest response, longest callback. */
export const callTotalFee = (payloadBytes: bigint): bigint =>
  FEES.xnetCall +
  FEES.xnetByte * payloadBytes +
  FEES.xnetByte * MAX_RESPONSE_BYTES +
  executionCost(MESSAGE_INSTRUCTION_LIMIT);

/** `memory_cost` of `bytes` for one day: what `idle_cycles_burned_per_day` reports for them. */
export const storagePerDay = (bytes: bigint): bigint =>
  (bytes * FEES.gibStoragePerSecond * 86_400n) / (1n << 30n);

/** `http_request_fee` on a subnet of `nodes` nodes. */
export const httpRequestFee = (requestBytes: bigint, maxResponseBytes: bigint, nodes = 13n): bigint =>
  (FEES.httpLinear +
    FEES.httpQuadratic * nodes +
    FEES.httpRequestByte * requestBytes +
    FEES.httpResponseByte * maxResponseBytes) *
  nodes;

/** Bytes of a CBOR head (major type and length or value) for `n`. */
const cborHead = (n: number | bigint): number => {
  const v = BigInt(n);
  return v < 24n ? 1 : v < 256n ? 2 : v < 65_536n ? 3 : v < 4_294_967_296n ? 5 : 9;
};
const cborBytes = (length: number): number => cborHead(length) + length;
const cborText = (text: string): number => cborBytes(new TextEncoder().encode(text).length);

/**
 * The size of the signed envelope PocketIC builds for an ingress message
 * (`submit_ingress_as` in dfinity/ic `rs/state_machine_tests/src/lib.rs`): a CBOR
 * map `content` holding the request type, canister id, method, argument, sender,
 * a 9-byte `ingress_expiry` and an 8-byte nonce, and no signature. The induction
 * fee is charged per byte of it (`ingress_induction_cost`).
 */
export function envelopeBytes(
  sender: Principal,
  canisterId: Principal,
  method: string,
  arg: Uint8Array,
): bigint {
  const content =
    1 +
    cborText('request_type') +
    cborText('call') +
    cborText('canister_id') +
    cborBytes(canisterId.toUint8Array().length) +
    cborText('method_name') +
    cborText(method) +
    cborText('arg') +
    cborBytes(arg.length) +
    cborText('sender') +
    cborBytes(sender.toUint8Array().length) +
    cborText('ingress_expiry') +
    cborHead(2n ** 60n) +
    cborText('nonce') +
    cborBytes(8);
  return BigInt(1 + cborText('content') + content);
}

let wasm: Promise<Uint8Array<ArrayBuffer>> | undefined;

/** The cycles fixture canister's module. */
export function cyclesWasm(): Promise<Uint8Array<ArrayBuffer>> {
  wasm ??= watToWasm(cyclesWat(), { memory64: false });
  return wasm;
}

/** Creates a canister with `cycles` and installs the cycles fixture into it. */
export async function installCyclesCanister(
  pic: PocketIc,
  options: { cycles?: bigint; targetSubnetId?: Principal } = {},
): Promise<Principal> {
  const canisterId = await pic.createCanister({
    cycles: options.cycles,
    targetSubnetId: options.targetSubnetId,
  });
  await pic.installCode({ canisterId, wasm: await cyclesWasm(), targetSubnetId: options.targetSubnetId });
  return canisterId;
}

/** The argument of the fixture's `call`. */
export function callArg(callee: Principal, method: string, payload: Uint8Array, cycles = 0n): Uint8Array {
  const id = callee.toUint8Array();
  const name = bytes(method);
  return concat(Uint8Array.of(id.length), id, Uint8Array.of(name.length), name, u64(cycles), payload);
}

/** The i-th little-endian u128 of `data` (as the fixture writes `ic0` 128-bit results). */
export function readU128(data: Uint8Array, index = 0): bigint {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return view.getBigUint64(index * 16, true) + (view.getBigUint64(index * 16 + 8, true) << 64n);
}
