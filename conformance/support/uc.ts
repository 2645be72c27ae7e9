/**
 * Programs for the universal canister (`fixtures/wat/uc.ts`), written the way
 * the reference suite writes them (dfinity/ic
 * `hs/spec_compliance/src/IC/Test/Universal.hs`): expressions of type i32
 * (`Exp<'I'>`), i64 (`Exp<'I64'>`) or blob (`Exp<'B'>`), and programs
 * (`Prog`) sequenced with `seq(a, b, ...)` (Haskell's `>>>`). A string or a
 * byte array stands for a blob literal, as Haskell's string literals do.
 *
 * ```ts
 * // Haskell: call cid (replyData "ABCD") >>= is "ABCD"
 * expect(await call(pic, cid, replyData('ABCD'))).toEqual(bytes('ABCD'));
 * // Haskell: inter_update cid defArgs { other_side = setGlobal "BAR" >>> reply }
 * interUpdate(cid, { ...defArgs, otherSide: seq(setGlobal('BAR'), reply) });
 * ```
 *
 * Also: the PicJS helpers that install the canister and send it programs
 * (`install`, `call`, `query`, ...), and the reply readers of the reference
 * suite (`isRelay`, `asWord32`, ...).
 */
import type { PocketIc } from '@dfinity/pic';
import { Principal } from '@icp-sdk/core/principal';
import { IC0_FUNCTIONS } from '../../fixtures/ic0-spec.ts';
import { watToWasm } from '../../fixtures/wat.ts';
import { ucWat, type UcOptions } from '../../fixtures/wat/uc.ts';
import { parseCallFailure } from './reject.ts';

export type T = 'I' | 'I64' | 'B';

/** An expression: code that pushes one value of type `R`. */
export class Exp<R extends T> {
  readonly type: R;
  readonly code: Uint8Array;
  constructor(type: R, code: Uint8Array) {
    this.type = type;
    this.code = code;
  }
}

/** A program: code that leaves the stack as it found it. */
export class Prog {
  readonly code: Uint8Array;
  constructor(code: Uint8Array) {
    this.code = code;
  }
  /** `this >>> next`. */
  seq(...next: Prog[]): Prog {
    return seq(this, ...next);
  }
}

/** A blob expression, or a literal (text is UTF-8). */
export type Blob = Exp<'B'> | string | Uint8Array;

const enc = new TextEncoder();

function join(parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function le(n: bigint, width: 4 | 8): Uint8Array {
  const b = new Uint8Array(width);
  const v = new DataView(b.buffer);
  if (width === 4) v.setUint32(0, Number(BigInt.asUintN(32, n)), true);
  else v.setBigUint64(0, BigInt.asUintN(64, n), true);
  return b;
}

const blob = (b: Blob): Exp<'B'> => (b instanceof Exp ? b : bytes(typeof b === 'string' ? enc.encode(b) : b));
const code = (args: (Exp<T> | Blob)[], op: number): Uint8Array =>
  join([...args.map((a) => (a instanceof Exp ? a.code : blob(a).code)), Uint8Array.of(op)]);
const prog = (op: number, ...args: (Exp<T> | Blob)[]): Prog => new Prog(code(args, op));
const exp = <R extends T>(type: R, op: number, ...args: (Exp<T> | Blob)[]): Exp<R> =>
  new Exp(type, code(args, op));

/** The program's bytes, the argument of `update` / `query` / `canister_init`. */
export function run(p: Prog): Uint8Array<ArrayBuffer> {
  return join([p.code]);
}

/** `a >>> b >>> ...`. */
export function seq(...progs: Prog[]): Prog {
  return new Prog(join(progs.map((p) => p.code)));
}

// ---- the ops (numbers: dfinity/ic rs/universal_canister/impl/src/lib.rs `Ops`) ----
export const noop = prog(0);
export const ignore = (e: Exp<T>): Prog => prog(1, e);
export const int = (x: number): Exp<'I'> => new Exp('I', join([Uint8Array.of(2), le(BigInt(x), 4)]));
export const bytes = (data: Uint8Array | string): Exp<'B'> => {
  const b = typeof data === 'string' ? enc.encode(data) : data;
  return new Exp('B', join([Uint8Array.of(3), le(BigInt(b.length), 4), b]));
};
export const replyDataAppend = (b: Blob): Prog => prog(4, b);
export const reply = prog(5);
export const self = exp('B', 6);
export const reject = (b: Blob): Prog => prog(7, b);
export const caller = exp('B', 8);
export const instructionCounterIsAtLeast = (n: Exp<'I64'>): Prog => prog(9, n);
export const rejectMsg = exp('B', 10);
export const rejectCode = exp('I', 11);
export const i2b = (e: Exp<'I'>): Exp<'B'> => exp('B', 12, e);
export const argData = exp('B', 13);
export const cat = (a: Blob, b: Blob): Exp<'B'> => exp('B', 14, a, b);
export const stableSize = exp('I', 15);
export const stableGrow = (n: Exp<'I'>): Exp<'I'> => exp('I', 16, n);
export const stableRead = (offset: Exp<'I'>, size: Exp<'I'>): Exp<'B'> => exp('B', 17, offset, size);
export const stableWrite = (offset: Exp<'I'>, data: Blob): Prog => prog(18, offset, data);
export const debugPrint = (b: Blob): Prog => prog(19, b);
export const trap = (b: Blob): Prog => prog(20, b);
export const setGlobal = (b: Blob): Prog => prog(21, b);
export const getGlobal = exp('B', 22);
export const badPrint = prog(23);
export const onPreUpgrade = (b: Blob): Prog => prog(24, b);
export const appendGlobal = (b: Blob): Prog => prog(25, b);
export const getTime = exp('I64', 26);
export const getAvailableCycles = exp('I64', 27);
export const getBalance = exp('I64', 28);
export const getRefund = exp('I64', 29);
export const acceptCycles = (n: Exp<'I64'>): Exp<'I64'> => exp('I64', 30, n);
export const int64 = (x: bigint | number): Exp<'I64'> =>
  new Exp('I64', join([Uint8Array.of(31), le(BigInt(x), 8)]));
export const callNew = (callee: Blob, method: Blob, onReply: Blob, onReject: Blob): Prog =>
  prog(32, callee, method, onReply, onReject);
export const callDataAppend = (b: Blob): Prog => prog(33, b);
export const callCyclesAdd = (n: Exp<'I64'>): Prog => prog(34, n);
export const callPerform = prog(35);
export const setCertifiedData = (b: Blob): Prog => prog(36, b);
export const getCertificatePresent = exp('I', 37);
export const getCertificate = exp('B', 38);
export const getStatus = exp('I', 39);
export const onHeartbeat = (b: Blob): Prog => prog(40, b);
export const acceptMessage = prog(41);
export const onInspectMessage = (b: Blob): Prog => prog(42, b);
export const trapIfEq = (a: Blob, b: Blob, message: Blob): Prog => prog(43, a, b, message);
export const callOnCleanup = (b: Blob): Prog => prog(44, b);
export const stableFill = (offset: Exp<'I'>, byte: Exp<'I'>, length: Exp<'I'>): Prog =>
  prog(45, offset, byte, length);
export const stable64Size = exp('I64', 46);
export const stable64Grow = (n: Exp<'I64'>): Exp<'I64'> => exp('I64', 47, n);
export const stable64Read = (offset: Exp<'I64'>, size: Exp<'I64'>): Exp<'B'> => exp('B', 48, offset, size);
export const stable64Write = (offset: Exp<'I64'>, data: Blob): Prog => prog(49, offset, data);
export const i64tob = (e: Exp<'I64'>): Exp<'B'> => exp('B', 50, e);
export const getAvailableCycles128 = exp('B', 51);
export const getBalance128 = exp('B', 52);
export const getRefund128 = exp('B', 53);
export const acceptCycles128 = (high: Exp<'I64'>, low: Exp<'I64'>): Exp<'B'> => exp('B', 54, high, low);
export const callCyclesAdd128 = (high: Exp<'I64'>, low: Exp<'I64'>): Prog => prog(55, high, low);
export const msgArgDataSize = exp('I', 56);
export const msgArgDataCopy = (offset: Exp<'I'>, size: Exp<'I'>): Exp<'B'> => exp('B', 57, offset, size);
export const msgCallerSize = exp('I', 58);
export const msgCallerCopy = (offset: Exp<'I'>, size: Exp<'I'>): Exp<'B'> => exp('B', 59, offset, size);
export const msgRejectMsgSize = exp('I', 60);
export const msgRejectMsgCopy = (offset: Exp<'I'>, size: Exp<'I'>): Exp<'B'> => exp('B', 61, offset, size);
export const onGlobalTimer = (b: Blob): Prog => prog(62, b);
export const apiGlobalTimerSet = (t: Exp<'I64'>): Exp<'I64'> => exp('I64', 63, t);
export const incGlobalCounter = prog(64);
export const getGlobalCounter = exp('I64', 65);
export const performanceCounter = (kind: Exp<'I'>): Exp<'I64'> => exp('I64', 66, kind);
export const methodName = exp('B', 67);
export const parsePrincipal = (b: Blob): Exp<'B'> => exp('B', 68, b);
export const onTransform = (b: Blob): Prog => prog(69, b);
export const getHttpReplyWithBody = (b: Blob): Exp<'B'> => exp('B', 70, b);
export const getHttpTransformContext = (b: Blob): Exp<'B'> => exp('B', 71, b);
export const stable64Fill = (offset: Exp<'I64'>, byte: Exp<'I64'>, length: Exp<'I64'>): Prog =>
  prog(72, offset, byte, length);
export const canisterVersion = exp('I64', 73);
export const trapIfNeq = (a: Blob, b: Blob, message: Blob): Prog => prog(74, a, b, message);
export const mintCycles = (n: Exp<'I64'>): Exp<'I64'> => exp('I64', 75, n);
export const oneWayCallNew = (callee: Blob, method: Blob): Prog => prog(76, callee, method);
export const isController = (principal: Blob): Exp<'I'> => exp('I', 77, principal);
export const cyclesBurn128 = (high: Exp<'I64'>, low: Exp<'I64'>): Exp<'B'> => exp('B', 78, high, low);
export const blobLength = (b: Blob): Exp<'I'> => exp('I', 79, b);
export const pushEqualBytes = (byte: Exp<'I'>, length: Exp<'I'>): Exp<'B'> => exp('B', 80, byte, length);
export const inReplicatedExecution = exp('I', 81);
export const callWithBestEffortResponse = (timeoutSeconds: Exp<'I'>): Prog => prog(82, timeoutSeconds);
export const msgDeadline = exp('I64', 83);
export const memorySizeIsAtLeast = (bytes: Exp<'I64'>): Prog => prog(84, bytes);

/**
 * icsim's extension (op 200, only in `ucWasm({ probes: true })`): call `ic0.<name>`
 * once with harmless arguments. The name must be in the specification's table.
 */
export function ic0Probe(name: string): Prog {
  const k = IC0_FUNCTIONS.findIndex((f) => f.name === name);
  if (k < 0) throw new Error(`${name} is not in the specification's ic0 table`);
  return prog(200, int(k));
}

// ---- combinators (Universal.hs) ----------------------------------------------------
export const callback = (p: Prog): Exp<'B'> => bytes(run(p));
export const replyData = (b: Blob): Prog => seq(replyDataAppend(b), reply);

type Callee = Principal | Uint8Array;
const calleeBytes = (c: Callee): Uint8Array => (c instanceof Uint8Array ? c : c.toUint8Array());

export interface CallArgs {
  onReply: Prog;
  onReject: Prog;
  onCleanup?: Prog;
  /** The program the callee runs (the call's argument). */
  otherSide: Prog;
  cycles: bigint;
}

export interface UpdateCallArgs {
  onReply: Prog;
  onReject: Prog;
  onCleanup?: Prog;
  /** The call's argument, raw. */
  arg: Uint8Array;
  cycles: bigint;
}

/** `callNew`, cleanup, argument, cycles, `callPerform`, as `update_call` does. */
export function updateCall(callee: Callee, method: string, a: UpdateCallArgs): Prog {
  return seq(
    callNew(calleeBytes(callee), method, callback(a.onReply), callback(a.onReject)),
    a.onCleanup ? callOnCleanup(callback(a.onCleanup)) : noop,
    callDataAppend(a.arg),
    a.cycles > 0n ? callCyclesAdd(int64(a.cycles)) : noop,
    callPerform,
  );
}

export function interCall(callee: Callee, method: string, a: CallArgs): Prog {
  return updateCall(callee, method, { ...a, arg: run(a.otherSide) });
}
export const interUpdate = (callee: Callee, a: CallArgs): Prog => interCall(callee, 'update', a);
export const interQuery = (callee: Callee, a: CallArgs): Prog => interCall(callee, 'query', a);

export interface OneWayCallArgs {
  arg: Uint8Array;
  cycles: bigint;
}
export function onewayCall(callee: Callee, method: string, a: OneWayCallArgs): Prog {
  return seq(
    oneWayCallNew(calleeBytes(callee), method),
    callDataAppend(a.arg),
    a.cycles > 0n ? callCyclesAdd(int64(a.cycles)) : noop,
    callPerform,
  );
}

/** The callee replies "Hello <caller> this is <callee>". */
export const defaultOtherSide = seq(
  replyDataAppend('Hello '),
  replyDataAppend(caller),
  replyDataAppend(' this is '),
  replyDataAppend(self),
  reply,
);
/** Replies 0 (u32) ++ the reply. */
export const relayReply = seq(replyDataAppend(i2b(int(0))), replyDataAppend(argData), reply);
/** Replies the reject code (u32) ++ the reject message. */
export const relayReject = seq(replyDataAppend(i2b(rejectCode)), replyDataAppend(rejectMsg), reply);
const refundIs = (amount: bigint) =>
  trapIfNeq(i64tob(getRefund), i64tob(int64(amount)), `The call should refund exactly ${amount} cycles.`);
export const relayReplyRefund = (amount: bigint): Prog =>
  seq(replyDataAppend(i2b(int(0))), replyDataAppend(argData), refundIs(amount), reply);
export const relayRejectRefund = (amount: bigint): Prog =>
  seq(replyDataAppend(i2b(rejectCode)), replyDataAppend(rejectMsg), refundIs(amount), reply);

export const defArgs: CallArgs = {
  onReply: relayReply,
  onReject: relayReject,
  otherSide: defaultOtherSide,
  cycles: 0n,
};
export const defUpdateArgs: UpdateCallArgs = {
  onReply: relayReply,
  onReject: relayReject,
  arg: new Uint8Array(),
  cycles: 0n,
};
export const defOneWayArgs: OneWayCallArgs = { arg: new Uint8Array(), cycles: 0n };

// ---- PicJS helpers --------------------------------------------------------------------

const modules = new Map<string, Promise<Uint8Array<ArrayBuffer>>>();

/** The universal canister's module (compiled once per options and process). */
export function ucWasm(options: UcOptions = {}): Promise<Uint8Array<ArrayBuffer>> {
  const key = JSON.stringify(options);
  let wasm = modules.get(key);
  if (!wasm) {
    wasm = watToWasm(ucWat(options), { memory64: false, debugNames: false });
    modules.set(key, wasm);
  }
  return wasm;
}

export interface InstallOptions {
  cycles?: bigint;
  controllers?: Principal[];
  sender?: Principal;
  wasm?: UcOptions;
  environmentVariables?: { name: string; value: string }[];
}

/** Creates a canister and installs the universal canister with `prog` as `canister_init`'s program. */
export async function install(
  pic: PocketIc,
  prog: Prog = noop,
  options: InstallOptions = {},
): Promise<Principal> {
  const canisterId = await pic.createCanister({
    cycles: options.cycles,
    controllers: options.controllers,
    sender: options.sender,
    environmentVariables: options.environmentVariables,
  });
  await installAt(pic, canisterId, prog, options);
  return canisterId;
}

export async function installAt(
  pic: PocketIc,
  canisterId: Principal,
  prog: Prog = noop,
  options: InstallOptions = {},
): Promise<void> {
  await pic.installCode({
    canisterId,
    wasm: await ucWasm(options.wasm),
    arg: run(prog),
    sender: options.sender,
  });
}

export async function upgrade(
  pic: PocketIc,
  canisterId: Principal,
  prog: Prog = noop,
  options: InstallOptions = {},
): Promise<void> {
  await pic.upgradeCanister({
    canisterId,
    wasm: await ucWasm(options.wasm),
    arg: run(prog),
    sender: options.sender,
  });
}

export async function reinstall(
  pic: PocketIc,
  canisterId: Principal,
  prog: Prog = noop,
  options: InstallOptions = {},
): Promise<void> {
  await pic.reinstallCode({
    canisterId,
    wasm: await ucWasm(options.wasm),
    arg: run(prog),
    sender: options.sender,
  });
}

/** An update call of `update` with the program; the reply's bytes (a reject throws, see `outcome`). */
export async function call(
  pic: PocketIc,
  canisterId: Principal,
  p: Prog,
  sender?: Principal,
): Promise<Uint8Array> {
  return new Uint8Array(await pic.updateCall({ canisterId, method: 'update', arg: run(p), sender }));
}

/** A (non-replicated) query call of `query` with the program. */
export async function query(
  pic: PocketIc,
  canisterId: Principal,
  p: Prog,
  sender?: Principal,
): Promise<Uint8Array> {
  return new Uint8Array(await pic.queryCall({ canisterId, method: 'query', arg: run(p), sender }));
}

/** A query call of `composite_query` with the program. */
export async function compositeQuery(
  pic: PocketIc,
  canisterId: Principal,
  p: Prog,
  sender?: Principal,
): Promise<Uint8Array> {
  return new Uint8Array(await pic.queryCall({ canisterId, method: 'composite_query', arg: run(p), sender }));
}

/** The reject codes of the specification ("Reject codes"). */
export const REJECT_CODES: Record<string, number> = {
  SysFatal: 1,
  SysTransient: 2,
  DestinationInvalid: 3,
  CanisterReject: 4,
  CanisterError: 5,
  SysUnknown: 6,
};

export type Outcome =
  { kind: 'reply'; data: Uint8Array } | { kind: 'reject'; code: number; errorCode: string; message: string };

/** Awaits a PicJS call and returns its reply or reject (the reference's `call'` / `query'`). */
export async function outcome(p: Promise<Uint8Array | ArrayBufferLike | unknown>): Promise<Outcome> {
  try {
    const r = await p;
    const data =
      r instanceof Uint8Array ? r : r instanceof ArrayBuffer ? new Uint8Array(r) : new Uint8Array();
    return { kind: 'reply', data };
  } catch (e) {
    const f = parseCallFailure(e);
    if (!f) throw e;
    const code = REJECT_CODES[f.rejectCode];
    if (code === undefined) throw new Error(`unknown reject code ${f.rejectCode}`, { cause: e });
    return { kind: 'reject', code, errorCode: f.errorCode, message: f.message };
  }
}

/** The reference's `isReject codes`: the outcome is a reject with one of these codes; returns it. */
export function isReject(o: Outcome, codes: number[]): Extract<Outcome, { kind: 'reject' }> {
  if (o.kind !== 'reject') throw new Error(`expected a reject ${codes.join('/')}, got a reply`);
  if (codes.length > 0 && !codes.includes(o.code)) {
    throw new Error(`expected reject code ${codes.join('/')}, got ${o.code}: ${o.message}`);
  }
  return o;
}

/** The reference's `isReply`. */
export function isReply(o: Outcome): Uint8Array {
  if (o.kind !== 'reply')
    throw new Error(`expected a reply, got reject ${o.code} (${o.errorCode}): ${o.message}`);
  return o.data;
}

/** The reference's `isRelay`: what `relayReply` / `relayReject` replied. */
export function isRelay(data: Uint8Array): Outcome {
  if (data.length < 4) throw new Error(`not a relay reply: ${data.length} bytes`);
  const code = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(0, true);
  const rest = data.slice(4);
  if (code === 0) return { kind: 'reply', data: rest };
  return { kind: 'reject', code, errorCode: '', message: new TextDecoder().decode(rest) };
}

export const asWord32 = (data: Uint8Array): number => {
  if (data.length !== 4) throw new Error(`expected 4 bytes, got ${data.length}`);
  return new DataView(data.buffer, data.byteOffset, 4).getUint32(0, true);
};
export const asWord64 = (data: Uint8Array): bigint => {
  if (data.length !== 8) throw new Error(`expected 8 bytes, got ${data.length}`);
  return new DataView(data.buffer, data.byteOffset, 8).getBigUint64(0, true);
};
/** Little-endian 128-bit, as the `*128` ops push it. */
export const asWord128 = (data: Uint8Array): bigint => {
  if (data.length !== 16) throw new Error(`expected 16 bytes, got ${data.length}`);
  const v = new DataView(data.buffer, data.byteOffset, 16);
  return (v.getBigUint64(8, true) << 64n) | v.getBigUint64(0, true);
};

export const text = (data: Uint8Array): string => new TextDecoder().decode(data);
export const utf8 = (s: string): Uint8Array<ArrayBuffer> => enc.encode(s);
export { Principal };
