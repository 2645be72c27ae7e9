/**
 * The universal WAT test canister (`fixtures/wat/universal.ts`) for the
 * replica specs: building it, installing it through PicJS, and encoding its
 * raw (non-Candid) arguments and replies.
 */
import type { PocketIc } from '@dfinity/pic';
import { Principal } from '@icp-sdk/core/principal';
import { watToWasm } from '../../fixtures/wat.ts';
import { universalWat, type UniversalOptions } from '../../fixtures/wat/universal.ts';

const cache = new Map<string, Promise<Uint8Array<ArrayBuffer>>>();

export function universalWasm(options: UniversalOptions = {}): Promise<Uint8Array<ArrayBuffer>> {
  const key = JSON.stringify(options);
  let wasm = cache.get(key);
  if (!wasm) {
    wasm = watToWasm(universalWat(options), { memory64: false });
    cache.set(key, wasm);
  }
  return wasm;
}

export interface InstallOptions extends UniversalOptions {
  arg?: Uint8Array;
  cycles?: bigint;
  controllers?: Principal[];
  sender?: Principal;
}

/** Creates a canister and installs the universal canister into it. */
export async function installUniversal(pic: PocketIc, options: InstallOptions = {}): Promise<Principal> {
  const { arg, cycles, controllers, sender, ...wat } = options;
  const canisterId = await pic.createCanister({ cycles, controllers, sender });
  await pic.installCode({ canisterId, wasm: await universalWasm(wat), arg, sender });
  return canisterId;
}

export const bytes = (text: string): Uint8Array<ArrayBuffer> => new TextEncoder().encode(text);
export const text = (data: Uint8Array): string => new TextDecoder().decode(data);

export function u64(n: bigint | number): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, BigInt(n)), true);
  return b;
}

export function u32(n: number): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
}

/** The i-th little-endian u64 of `data`. */
export function readU64(data: Uint8Array, index = 0): bigint {
  return new DataView(data.buffer, data.byteOffset, data.byteLength).getBigUint64(index * 8, true);
}

/** The i-th little-endian i64 of `data`. */
export function readI64(data: Uint8Array, index = 0): bigint {
  return new DataView(data.buffer, data.byteOffset, data.byteLength).getBigInt64(index * 8, true);
}

export function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const lp = (data: Uint8Array): Uint8Array<ArrayBuffer> => concat(Uint8Array.of(data.length), data);

export const RelayFlags = {
  /** The reply/reject callback sets marker A, then traps. */
  callbackTraps: 1,
  /** Register a cleanup callback that counts in marker B. */
  cleanup: 2,
  /** The calling message traps right after `call_perform`. */
  trapAfterPerform: 4,
  /** Reply at once; the callback appends its record (as `relay` would reply it) to the `log`. */
  logResult: 8,
} as const;

export interface RelayCall {
  callee: Principal;
  method: string;
  payload?: Uint8Array;
  cycles?: bigint;
  flags?: number;
}

/** The argument of `relay`. */
export function relayArg(call: RelayCall): Uint8Array<ArrayBuffer> {
  return concat(
    Uint8Array.of(call.flags ?? 0),
    lp(call.callee.toUint8Array()),
    lp(bytes(call.method)),
    u64(call.cycles ?? 0n),
    call.payload ?? new Uint8Array(),
  );
}

export type RelayResult =
  | { kind: 'reply'; refunded: bigint; data: Uint8Array }
  | { kind: 'reject'; code: number; refunded: bigint; message: string };

/** Decodes `relay`'s reply: what its callback saw. */
export function relayResult(reply: Uint8Array): RelayResult {
  const view = new DataView(reply.buffer, reply.byteOffset, reply.byteLength);
  if (reply[0] === 0x52) return { kind: 'reply', refunded: view.getBigUint64(1, true), data: reply.slice(9) };
  if (reply[0] === 0x4a) {
    return {
      kind: 'reject',
      code: view.getUint32(1, true),
      refunded: view.getBigUint64(5, true),
      message: text(reply.slice(13)),
    };
  }
  throw new Error(`not a relay reply: ${Array.from(reply).join(',')}`);
}

/** Calls `relay` on `caller` and decodes what its callback saw. */
export async function relay(pic: PocketIc, caller: Principal, call: RelayCall): Promise<RelayResult> {
  return relayResult(await pic.updateCall({ canisterId: caller, method: 'relay', arg: relayArg(call) }));
}

/** What `cq_relay`'s callback saw of a call made inside a composite query. */
export type CompositeRelayResult =
  { kind: 'reply'; data: Uint8Array } | { kind: 'reject'; code: number; message: string };

/** Calls the composite query `cq_relay` on `caller`: `callee.method(payload)` from inside a query call graph. */
export async function compositeRelay(
  pic: PocketIc,
  caller: Principal,
  call: Omit<RelayCall, 'flags' | 'cycles'>,
): Promise<CompositeRelayResult> {
  const reply = await pic.queryCall({ canisterId: caller, method: 'cq_relay', arg: relayArg(call) });
  if (reply[0] === 0x52) return { kind: 'reply', data: reply.slice(1) };
  if (reply[0] === 0x4a) {
    const code = new DataView(reply.buffer, reply.byteOffset, reply.byteLength).getUint32(1, true);
    return { kind: 'reject', code, message: text(reply.slice(5)) };
  }
  throw new Error(`not a cq_relay reply: ${Array.from(reply).join(',')}`);
}

export function fanoutArg(callee: Principal, method: string, count: number): Uint8Array<ArrayBuffer> {
  return concat(lp(callee.toUint8Array()), lp(bytes(method)), Uint8Array.of(count));
}

/** The argument of `burst`: `count` calls to `callee.method`, none awaited. */
export function burstArg(callee: Principal, method: string, count: number): Uint8Array<ArrayBuffer> {
  return concat(lp(callee.toUint8Array()), lp(bytes(method)), u32(count));
}

export interface BurstResult {
  performed: number;
  refused: number;
  /** The first non-zero `call_perform` result, 0 when every call was performed. */
  firstRefusal: number;
}

/** Decodes `burst`'s reply. */
export function burstResult(reply: Uint8Array): BurstResult {
  const view = new DataView(reply.buffer, reply.byteOffset, reply.byteLength);
  return {
    performed: view.getUint32(0, true),
    refused: view.getUint32(4, true),
    firstRefusal: view.getUint32(8, true),
  };
}

export function cq2Arg(
  first: { callee: Principal; method: string },
  second: { callee: Principal; method: string },
): Uint8Array<ArrayBuffer> {
  return concat(
    lp(first.callee.toUint8Array()),
    lp(bytes(first.method)),
    lp(second.callee.toUint8Array()),
    lp(bytes(second.method)),
  );
}

export interface CanisterStateView {
  counter: bigint;
  global: bigint;
  stablePages: bigint;
  stableCounter: bigint;
}

/** The `state` query: heap counter, global, stable size and stable[0..8]. */
export async function readState(pic: PocketIc, canisterId: Principal): Promise<CanisterStateView> {
  const r = await pic.queryCall({ canisterId, method: 'state' });
  return {
    counter: readU64(r, 0),
    global: readU64(r, 1),
    stablePages: readU64(r, 2),
    stableCounter: readU64(r, 3),
  };
}

export interface InfoView {
  counter: bigint;
  initRan: boolean;
  restored: bigint;
  postUpgradeVersion: bigint;
  tag: bigint;
  version: bigint;
  arg: Uint8Array;
}

/** The `info` query (lifecycle). */
export async function readInfo(pic: PocketIc, canisterId: Principal): Promise<InfoView> {
  const r = await pic.queryCall({ canisterId, method: 'info' });
  const len = Number(readU64(r, 6));
  return {
    counter: readU64(r, 0),
    initRan: readU64(r, 1) === 1n,
    restored: readU64(r, 2),
    postUpgradeVersion: readU64(r, 3),
    tag: readU64(r, 4),
    version: readU64(r, 5),
    arg: r.slice(56, 56 + len),
  };
}

export { Principal };
