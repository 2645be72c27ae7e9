/**
 * Instruction metering: a code-section rewriter that makes every function
 * count what it executes in an exported mutable i64 global, as the IC's
 * instrumentation does (dfinity/ic `rs/embedders/src/wasm_utils/instrumentation.rs`,
 * `inject_metering` / `injections` / `instruction_to_cost`).
 *
 * The counter is a new defined global appended at the end of the global index
 * space and exported as `canister counter_instructions`; no function is added
 * or imported, so no index of the module moves. The host sets it to the
 * message's limit before running a message and reads it afterwards.
 *
 * Cost model:
 * - every instruction has the IC's static weight (`instruction_to_cost`): 1
 *   for most, 0 for `block`/`loop`/`else`/`end`, 2 for branches, `if` and
 *   `global.get/set`, 10 for integer division, 5 `call`, 10 `call_indirect`,
 *   loads and stores 1 (2 on wasm64), 300 `memory.grow`, 100 bulk memory, and
 *   so on, SIMD included;
 * - the instructions are grouped into straight-line runs (basic blocks),
 *   each charged once at its start for the sum of its weights. A run starts
 *   at function entry (which also pays 1 extra, as on the IC), after `loop`,
 *   `if`, `else`, `end`, `catch`, `catch_all`, `delegate` and after a
 *   conditional branch (`br_if`, `br_on_null`, `br_on_non_null`): the IC's
 *   injection points. Runs of weight 0 get no charge. A fall-through run
 *   after a conditional branch can instead be charged with the run before
 *   the branch ({@link MeterOptions.mergeFallthroughUpTo}); off by default;
 * - runs that follow an unconditional transfer (`br`, `br_table`, `return`,
 *   `unreachable`, `throw`, `return_call*`) up to the next block boundary are
 *   dead code and are not charged;
 * - the charge at function entry and at each loop header is followed by a
 *   check, `if counter < 0 then unreachable`, so that every path that repeats
 *   (a loop iteration or a call) stops once the budget is spent; other
 *   charges do not check (as on the IC), so a message can overshoot its limit
 *   by at most the runs between two checks. The host tells this
 *   `unreachable` from the canister's own by reading the counter (< 0);
 * - not modelled: the IC's dynamic charges (the size operand of bulk memory
 *   instructions) and the System API's own costs (e.g. per byte copied by
 *   `msg_arg_data_copy`), so counts are somewhat below the IC's for code that
 *   copies a lot.
 *
 * Injected code (with `g` the counter's index):
 *   charge: global.get g; i64.const cost; i64.sub; global.set g
 *   check:  global.get g; i64.const 0; i64.lt_s; if; unreachable; end
 *
 * Local counter ({@link MeterOptions.localCounter}, on by default). The
 * charges above form a chain of loads and stores through memory, one per
 * run, which V8 cannot keep in a register: on the upload canister's 1.9 MB
 * put_chunk (QuickJS, nearly all of it in loops) metering cost 1.65× the
 * unmetered time. So a function with a loop (and without `try` /
 * `try_table`, where a call can come back in a catch) gets one more local,
 * an i64 appended after its declared locals (no local index moves), and
 * keeps the counter there while it runs:
 *   entry:  global.get g; i64.const cost; i64.sub; local.tee l; global.set g; <check on l>
 *   charge: local.get l; i64.const cost; i64.sub; local.set l
 *   loop:   local.get l; i64.const cost; i64.sub; local.tee l; global.set g; <check on l>
 *   store:  local.get l; global.set g   before each call, return, return_call*,
 *           throw, rethrow, throw_ref, unreachable, br / br_if / br_table /
 *           br_on_* to the body's label, and the body's final end
 *   reload: global.get g; local.set l   after a call (the callee charged the
 *           global), placed before the next control instruction so that
 *           nothing is re-read (or stored) between two calls or before the end
 * The counts are the same charge for charge; the host and the System API
 * (performance_counter) only look at the global while the function is in a
 * call or after it has ended, when it is current. The one difference: a trap
 * of another kind (out-of-bounds access, division by zero, a stack overflow)
 * loses what the trapping function charged since its last loop header, call
 * or entry (at most one loop iteration's straight-line code), and such a
 * trap right after the budget ran out there is reported as itself rather
 * than as IC0522. Measured (put_chunk 1.9 MB): 1.65× → about 0.95× the
 * unmetered time; write-through (a store at every charge) 1.1×. Functions
 * without loops keep the global: for small call-heavy code (a recursive fib)
 * the stores and reloads around calls cost more than they save (1.25× the
 * global version). Keeping the global unexported made no difference in V8.
 *
 * Function bodies are decoded instruction by instruction with the full
 * opcode table (core, sign extension, saturating truncation, bulk memory,
 * reference types, tail calls, typed function references' branches,
 * multi-memory memargs, memory64 offsets, SIMD incl. relaxed SIMD, threads'
 * atomics, legacy and new exception handling). Locals declarations are copied
 * as they are; only the code section is re-encoded.
 *
 * The same pass inserts the dirty-page checks of `dirty-pages.ts` in front of
 * every heap write when asked (the scan already visits every instruction; a
 * second pass over a large module would cost as much again). The checks are
 * not charged, and a check at the position of a charge follows it.
 */
import { ByteReader, ByteWriter, encodeSection } from './binary.ts';
import { Reader, type ModuleInfo } from './decode.ts';
import { emitWriteCheck, isHeapWrite, ScratchLocals, type DirtyPageCode } from './dirty-pages.ts';

export const INSTRUCTION_COUNTER_EXPORT = 'canister counter_instructions';

/** Thrown for a function body that cannot be decoded (unknown opcode, truncated immediate, unbalanced blocks). */
export class MeteringError extends Error {
  /** Index of the function in the function index space (imports first). */
  readonly functionIndex: number;
  /** Byte offset in the module of the failing instruction. */
  readonly offset: number;
  constructor(message: string, functionIndex: number, offset: number) {
    super(message);
    this.name = 'MeteringError';
    this.functionIndex = functionIndex;
    this.offset = offset;
  }
}

export interface MeterOptions {
  /**
   * A run that follows a conditional branch and costs at most this much is
   * charged together with the run before the branch (one charge instead of
   * two, over-charging it when the branch is taken). 0 charges every run on
   * its own, as the IC does. Default {@link DEFAULT_MERGE_FALLTHROUGH_UP_TO}.
   */
  mergeFallthroughUpTo?: number;
  /**
   * Functions with a loop (and without `try` / `try_table`) keep the counter
   * in a local of their own while they run (see the module comment); false
   * charges the global everywhere. Same counts either way. Default true.
   */
  localCounter?: boolean;
}

/** V8's limit on the locals of one function (params included); a function at it keeps the global. */
const MAX_LOCALS = 50_000;

/**
 * 0: every run is charged on its own, as on the IC. Measured on the upload
 * canister's 1.9 MB put_chunk (Azle/QuickJS): 17.6 B instructions and 1.65×
 * the unmetered time at 0; 18.5 B and 1.55× at 8; 33.1 B (nearly twice the
 * IC's count) and 1.2× when every fall-through is merged. Counts close to
 * the IC's matter more here than the last third of the overhead.
 */
export const DEFAULT_MERGE_FALLTHROUGH_UP_TO = 0;

export interface MeteredCode {
  /** The new code section, id and size included. */
  section: Uint8Array;
  /** Number of charges inserted. */
  charges: number;
  /** Number of those that also check the counter (function entries and loop headers). */
  checks: number;
  /** Number of heap writes given a dirty-page check or range call (`dirty-pages.ts`). */
  writeChecks: number;
}

// ---- instruction weights (instruction_to_cost) ------------------------------

/** Weights of the one-byte opcodes; loads and stores are filled in per memory type. */
function coreCosts(wasm64: boolean): Uint16Array {
  const c = new Uint16Array(256).fill(1);
  const set = (cost: number, ...ops: number[]): void => {
    for (const op of ops) c[op] = cost;
  };
  const range = (cost: number, from: number, to: number): void => {
    for (let op = from; op <= to; op++) c[op] = cost;
  };
  set(0, 0x02, 0x03, 0x05, 0x0b); // block, loop, else, end
  set(2, 0x04, 0x0c, 0x0d, 0x0e); // if, br, br_if, br_table
  set(5, 0x10); // call
  set(10, 0x11); // call_indirect
  set(3, 0x12); // return_call
  set(60, 0x13); // return_call_indirect
  set(2, 0x23, 0x24); // global.get/set
  set(5, 0x25, 0x26); // table.get/set
  range(wasm64 ? 2 : 1, 0x28, 0x3e); // loads and stores
  set(20, 0x3f); // memory.size
  set(300, 0x40); // memory.grow
  set(10, 0x6d, 0x6e, 0x6f, 0x70, 0x7f, 0x80, 0x81, 0x82); // integer div/rem
  range(3, 0x5b, 0x66); // float comparisons
  // f32 unary/binary (0x8b..0x98) and f64 (0x99..0xa6)
  set(1, 0x8b, 0x8c, 0x99, 0x9a); // abs, neg
  set(2, 0x8d, 0x8e, 0x8f, 0x90, 0x92, 0x93, 0x94, 0x9b, 0x9c, 0x9d, 0x9e, 0xa0, 0xa1, 0xa2);
  set(5, 0x91); // f32.sqrt
  set(8, 0x9f); // f64.sqrt
  set(3, 0x95); // f32.div
  set(5, 0xa3); // f64.div
  set(18, 0x96, 0x97, 0xa4, 0xa5); // min, max
  set(2, 0x98); // f32.copysign
  set(3, 0xa6); // f64.copysign
  range(20, 0xa8, 0xab); // i32.trunc_f*
  range(20, 0xae, 0xb1); // i64.trunc_f*
  set(3, 0xb2, 0xb4, 0xb7, 0xb9); // convert signed
  set(16, 0xb3, 0xb5, 0xb8, 0xba); // convert unsigned
  set(1, 0xd0); // ref.null
  set(5, 0xd1); // ref.is_null
  set(130, 0xd2); // ref.func
  return c;
}

const CORE_COSTS_32 = coreCosts(false);
const CORE_COSTS_64 = coreCosts(true);

/** 0xFC prefix weights. */
function fcCost(sub: number): number {
  if (sub <= 7) return 20; // saturating truncation
  switch (sub) {
    case 9: // data.drop
    case 13: // elem.drop
    case 15: // table.grow
      return 300;
    case 16: // table.size
      return 100;
    default:
      return 100; // memory.init/copy/fill, table.init/copy/fill
  }
}

/** SIMD weights that are not 1 (loads and stores: 1, or 2 on wasm64). */
const SIMD_COSTS = new Map<number, number>([
  [0x0d, 3], // i8x16.shuffle
  [0x26, 2],
  [0x28, 2],
  [0x30, 2],
  [0x32, 2],
  [0x3a, 2],
  [0x3c, 2], // lt_u / gt_u
  [0x62, 3],
  [0x6b, 3],
  [0x6c, 3],
  [0x6d, 2], // i8x16 popcnt, shl, shr_s, shr_u
  [0x67, 2],
  [0x68, 2],
  [0x69, 2],
  [0x6a, 2], // f32x4 ceil floor trunc nearest
  [0x74, 2],
  [0x75, 2],
  [0x7a, 2],
  [0x94, 2], // f64x2 ceil floor trunc nearest
  [0x7d, 2],
  [0x7f, 3], // extadd_pairwise _u
  [0x8b, 2],
  [0x8c, 2],
  [0x8d, 2],
  [0x9d, 2],
  [0x9f, 2], // i16x8 shifts, extmul_high
  [0xab, 2],
  [0xac, 2],
  [0xad, 2],
  [0xb5, 2],
  [0xbc, 2],
  [0xbd, 2],
  [0xbe, 2],
  [0xbf, 2], // i32x4
  [0xcb, 2],
  [0xcc, 3],
  [0xcd, 2],
  [0xd5, 4], // i64x2 shifts, mul
  [0xe0, 2],
  [0xe1, 2],
  [0xe3, 5],
  [0xe4, 2],
  [0xe5, 2],
  [0xe6, 2],
  [0xe7, 10],
  [0xe8, 4],
  [0xe9, 4], // f32x4
  [0xec, 2],
  [0xed, 2],
  [0xef, 14],
  [0xf0, 2],
  [0xf1, 2],
  [0xf2, 2],
  [0xf3, 12],
  [0xf4, 4],
  [0xf5, 5], // f64x2
  [0xf8, 2],
  [0xf9, 4],
  [0xfb, 4],
  [0xfc, 2],
  [0xfd, 3], // conversions
]);

const isSimdMemory = (sub: number): boolean => sub <= 0x0b || (sub >= 0x54 && sub <= 0x5d);

function simdCost(sub: number, wasm64: boolean): number {
  if (isSimdMemory(sub)) return wasm64 ? 2 : 1;
  return SIMD_COSTS.get(sub) ?? 1;
}

// ---- control classes ----------------------------------------------------------

const C_NONE = 0;
/** block, try, try_table: a block opens, execution falls into it. */
const C_OPEN = 1;
const C_LOOP = 2;
const C_IF = 3;
/** else, catch, catch_all: a new entry into the same block. */
const C_ENTRY = 4;
/** end: a block closes, a join point follows. */
const C_END = 5;
/** delegate: closes a try like end. */
const C_DELEGATE = 6;
/** br, br_table, return, unreachable, return_call*, throw, rethrow, throw_ref: dead code follows. */
const C_EXIT = 7;
/** br_if, br_on_null, br_on_non_null. */
const C_COND = 8;

const CONTROL = new Uint8Array(256);
CONTROL[0x02] = C_OPEN;
CONTROL[0x06] = C_OPEN;
CONTROL[0x1f] = C_OPEN;
CONTROL[0x03] = C_LOOP;
CONTROL[0x04] = C_IF;
CONTROL[0x05] = C_ENTRY;
CONTROL[0x07] = C_ENTRY;
CONTROL[0x19] = C_ENTRY;
CONTROL[0x0b] = C_END;
CONTROL[0x18] = C_DELEGATE;
for (const op of [0x00, 0x08, 0x09, 0x0a, 0x0c, 0x0e, 0x0f, 0x12, 0x13, 0x15]) CONTROL[op] = C_EXIT;
for (const op of [0x0d, 0xd5, 0xd6]) CONTROL[op] = C_COND;

// What a local counter needs to know of an opcode.
/** call, call_indirect, call_ref: the callee reads and charges the global. */
const Y_CALL = 1;
/** return, return_call*, unreachable, throw, rethrow, throw_ref: the function ends here. */
const Y_EXIT = 2;
/** br, br_if, br_on_null, br_on_non_null: the function ends when the label is its body's. */
const Y_BR = 3;
const Y_BR_TABLE = 4;
/** end: the function ends at its body's final one. */
const Y_END = 5;
/** try, try_table: a call may come back in a catch, past the re-read after it. */
const Y_CATCH = 6;

const SYNC = new Uint8Array(256);
for (const op of [0x10, 0x11, 0x14]) SYNC[op] = Y_CALL;
for (const op of [0x00, 0x08, 0x09, 0x0a, 0x0f, 0x12, 0x13, 0x15]) SYNC[op] = Y_EXIT;
for (const op of [0x0c, 0x0d, 0xd5, 0xd6]) SYNC[op] = Y_BR;
SYNC[0x0e] = Y_BR_TABLE;
SYNC[0x0b] = Y_END;
SYNC[0x06] = Y_CATCH;
SYNC[0x1f] = Y_CATCH;

// ---- the body scanner -------------------------------------------------------------

/** One decoded instruction, for tests and diagnostics. */
export interface Instruction {
  /** Offset in the module bytes. */
  offset: number;
  /** The opcode; prefixed opcodes as `prefix << 16 | sub` (e.g. 0xfc000a for memory.copy). */
  opcode: number;
  /** Static weight. */
  cost: number;
}

/** A cursor over one function body (or the code section around it) whose failures name the function. */
class BodyReader extends ByteReader {
  /** Index of the function in the function index space. */
  fn: number;
  /** Its name from the name section, looked up only to report a failure. */
  fnName: string | undefined;
  constructor(bytes: Uint8Array, pos: number, end: number, fn: number, fnName?: string) {
    super(bytes, pos, end);
    this.fn = fn;
    this.fnName = fnName;
  }

  fail(what: string, at = this.pos): never {
    const name = this.fnName === undefined ? `function ${this.fn}` : `function ${this.fn} (${this.fnName})`;
    throw new MeteringError(`cannot meter ${name}: ${what} at offset 0x${at.toString(16)}`, this.fn, at);
  }

  protected inputName(): string {
    return 'the function body';
  }
}

/** A block type: empty (0x40), a value type, or an s33 type index. */
function skipBlockType(s: BodyReader): void {
  const b = s.pos < s.end ? (s.bytes[s.pos] as number) : s.byte('a block type');
  if (b === 0x63 || b === 0x64) s.pos++; // (ref null? ht)
  s.skipLeb('a block type');
}

function skipValType(s: BodyReader): void {
  const b = s.byte('a value type');
  if (b === 0x63 || b === 0x64) s.skipLeb('a heap type');
}

/** memarg: align flags (bit 6: a memory index follows, multi-memory), [memidx], offset (u64 on memory64). */
function skipMemarg(s: BodyReader): void {
  const flags = s.u32('memarg flags');
  if (flags & 0x40) s.skipLeb('a memory index');
  s.skipLeb('a memarg offset');
}

/**
 * Decodes an instruction whose immediates the scanner's fast path does not
 * handle (br_table, select t*, try_table, the 0xFC / 0xFD / 0xFE prefixes)
 * at `s.pos`, and returns its weight; leaves `s.pos` after it and the
 * (prefixed) opcode in `out[0]`.
 */
function step(s: BodyReader, costs: Uint16Array, wasm64: boolean, out: Int32Array): number {
  const at = s.pos;
  const op = s.bytes[s.pos++] as number;
  out[0] = op;
  switch (op) {
    case 0x0e: {
      // br_table: vec(label) label
      const n = s.u32('a label count');
      for (let i = 0; i <= n; i++) s.skipLeb('a label');
      return costs[op] as number;
    }
    case 0x1c: {
      // select t*
      const n = s.u32('a type count');
      for (let i = 0; i < n; i++) skipValType(s);
      return costs[op] as number;
    }
    case 0x1f: {
      // try_table blocktype vec(catch): catch tag label | catch_ref tag label | catch_all label | catch_all_ref label
      skipBlockType(s);
      const n = s.u32('a catch count');
      for (let i = 0; i < n; i++) {
        const kind = s.byte('a catch kind');
        if (kind > 3) s.fail(`unknown try_table catch kind 0x${kind.toString(16)}`, s.pos - 1);
        if (kind <= 1) s.skipLeb('a tag index');
        s.skipLeb('a label');
      }
      return costs[op] as number;
    }
    case 0xfc: {
      const sub = s.u32('an opcode');
      out[0] = 0xfc0000 | sub;
      if (sub <= 7) return fcCost(sub);
      switch (sub) {
        case 8: // memory.init data mem
        case 10: // memory.copy mem mem
        case 12: // table.init elem table
        case 14: // table.copy t t
          s.skipLeb('an index');
          s.skipLeb('an index');
          return fcCost(sub);
        case 9: // data.drop data
        case 11: // memory.fill mem
        case 13: // elem.drop elem
        case 15: // table.grow t
        case 16: // table.size t
        case 17: // table.fill t
          s.skipLeb('an index');
          return fcCost(sub);
        default:
          return s.fail(`unknown opcode 0xfc ${sub}`, at);
      }
    }
    case 0xfd: {
      const sub = s.u32('an opcode');
      out[0] = 0xfd0000 | sub;
      if (sub <= 0x0b || sub === 0x5c || sub === 0x5d) skipMemarg(s);
      else if (sub === 0x0c || sub === 0x0d)
        s.skip(16, 'an immediate'); // v128.const, i8x16.shuffle
      else if (sub >= 0x15 && sub <= 0x22)
        s.skip(1, 'a lane index'); // extract/replace lane
      else if (sub >= 0x54 && sub <= 0x5b) {
        skipMemarg(s);
        s.skip(1, 'a lane index');
      } else if (sub > 0x113) s.fail(`unknown opcode 0xfd ${sub}`, at);
      return simdCost(sub, wasm64);
    }
    case 0xfe: {
      const sub = s.u32('an opcode');
      out[0] = 0xfe0000 | sub;
      if (sub === 0x03) {
        s.skip(1, 'a reserved byte'); // atomic.fence
      } else if (sub <= 0x02 || (sub >= 0x10 && sub <= 0x4e)) {
        skipMemarg(s);
      } else {
        s.fail(`unknown opcode 0xfe ${sub}`, at);
      }
      return wasm64 ? 2 : 1;
    }
    default:
      return s.fail(`unknown opcode 0x${op.toString(16)}`, at);
  }
}

/** Skips the locals declarations. */
function skipLocals(s: BodyReader): void {
  const groups = s.u32('a local group count');
  for (let i = 0; i < groups; i++) {
    s.u32('a local count');
    skipValType(s);
  }
}

// Immediate classes of the one-byte opcodes, for the scanner's fast path (0: unknown opcode).
const I_NONE = 1;
const I_LEB = 2;
const I_LEB2 = 3;
const I_MEMARG = 4;
const I_BLOCK = 5;
const I_F32 = 6;
const I_F64 = 7;
/** br_table, select t*, try_table and the 0xFC / 0xFD / 0xFE prefixes: decoded by `step`. */
const I_STEP = 8;

const IMM = new Uint8Array(256);
for (const op of [0x00, 0x01, 0x05, 0x0a, 0x0b, 0x0f, 0x19, 0x1a, 0x1b, 0xd1, 0xd3, 0xd4]) IMM[op] = I_NONE;
for (let op = 0x45; op <= 0xc4; op++) IMM[op] = I_NONE;
for (const op of [
  0x07, 0x08, 0x09, 0x0c, 0x0d, 0x10, 0x12, 0x14, 0x15, 0x18, 0x3f, 0x40, 0x41, 0x42, 0xd0, 0xd2, 0xd5, 0xd6,
])
  IMM[op] = I_LEB;
for (let op = 0x20; op <= 0x26; op++) IMM[op] = I_LEB;
IMM[0x11] = I_LEB2;
IMM[0x13] = I_LEB2;
for (let op = 0x28; op <= 0x3e; op++) IMM[op] = I_MEMARG;
for (const op of [0x02, 0x03, 0x04, 0x06]) IMM[op] = I_BLOCK;
IMM[0x43] = I_F32;
IMM[0x44] = I_F64;
for (const op of [0x0e, 0x1c, 0x1f, 0xfc, 0xfd, 0xfe]) IMM[op] = I_STEP;

// Injection points of one body: [position, cost, flags] triples.
const F_CHECK = 1;
const F_DEAD = 2;
/** The run starts after a conditional branch (its fall-through). */
const F_AFTER_COND = 4;
/** Charged with the run before it. */
const F_MERGED = 8;
const F_SKIP = F_DEAD | F_MERGED;

/** Local counter: `global.get g; local.set l` (the local takes over after a call). */
const S_RELOAD = 1;
/** Local counter: `local.get l; global.set g` (the function's count so far becomes visible). */
const S_STORE = 2;

interface BodyScan {
  s: BodyReader;
  wasm64: boolean;
  /** Output: injection points as [position, cost, flags] triples. */
  points: number[];
  /** Record where a local counter must be stored or re-read. */
  local: boolean;
  /** Output, when `local`: [position, S_RELOAD | S_STORE] pairs, in order; at equal positions they follow a charge. */
  syncs: number[];
  /** Output: the body has try or try_table. */
  catches: boolean;
  /** Output: number of loops in the body. */
  loops: number;
  /** Output, when not null: every instruction. */
  list: Instruction[] | null;
  /** Output, when not null: [position, opcode] pairs of the instructions that write memory 0. */
  writes: number[] | null;
  out: Int32Array;
}

/**
 * Decodes the instructions of one body from `scan.s.pos` (after the locals)
 * to `scan.s.end`, and records where runs start and what they cost.
 */
function scanBody(scan: BodyScan): void {
  const { s, wasm64, points, list, out, syncs, writes } = scan;
  const local = scan.local;
  // Local counter: after a call, until the local is re-read, the global is the count.
  let stale = false;
  scan.catches = false;
  scan.loops = 0;
  const bytes = s.bytes;
  const bodyEnd = s.end;
  const costs = wasm64 ? CORE_COSTS_64 : CORE_COSTS_32;
  let p = s.pos;
  let pointAt = p;
  let cost = 1; // the IC charges every function entry at least 1
  let flags = F_CHECK;
  let depth = 0;
  let ended = false;
  while (p < bodyEnd) {
    if (ended) s.fail('instructions after the final end', p);
    const at = p;
    let op = bytes[p++] as number;
    let c: number;
    switch (IMM[op]) {
      case I_NONE:
        c = costs[op] as number;
        break;
      case I_LEB:
        while ((bytes[p++] as number) & 0x80);
        c = costs[op] as number;
        break;
      case I_MEMARG: {
        const align = bytes[p] as number;
        while ((bytes[p++] as number) & 0x80);
        if (align & 0x40) while ((bytes[p++] as number) & 0x80); // memory index (multi-memory)
        while ((bytes[p++] as number) & 0x80); // offset (u64 on memory64)
        c = costs[op] as number;
        break;
      }
      case I_BLOCK: {
        const b = bytes[p] as number;
        if (b === 0x63 || b === 0x64) p++;
        while ((bytes[p++] as number) & 0x80);
        c = costs[op] as number;
        break;
      }
      case I_LEB2:
        while ((bytes[p++] as number) & 0x80);
        while ((bytes[p++] as number) & 0x80);
        c = costs[op] as number;
        break;
      case I_F32:
        p += 4;
        c = 1;
        break;
      case I_F64:
        p += 8;
        c = 1;
        break;
      case I_STEP:
        s.pos = at;
        c = step(s, costs, wasm64, out);
        p = s.pos;
        op = out[0] as number;
        break;
      default:
        return s.fail(`unknown opcode 0x${op.toString(16)}`, at);
    }
    if (p > bodyEnd) s.fail('unexpected end of the function body inside an instruction', at);
    if (list !== null) list.push({ offset: at, opcode: op, cost: c });
    cost += c;
    if (writes !== null && op >= 0x36 && (op <= 0x3e || (op > 0xff && isHeapWrite(op)))) writes.push(at, op);
    if (op > 0xff) continue;
    if (local) {
      // Store before the function hands the count on (a call, its end), and
      // re-read after a call: not at once, but before the next control
      // instruction (a join or a charge may follow), so that nothing is
      // re-read before a second call or the end, where the global is current.
      const k = SYNC[op] as number;
      if (k === Y_CALL) {
        if (!stale) syncs.push(at, S_STORE);
        stale = true;
      } else if (k === Y_CATCH) {
        scan.catches = true;
      } else if (k === Y_EXIT || (k === Y_END && depth === 0)) {
        if (!stale) syncs.push(at, S_STORE);
        stale = false; // dead code or nothing follows
      } else if (k === Y_BR || k === Y_BR_TABLE) {
        // The labels, read again (the loop keeps its position in `p`, not in `s`).
        s.pos = at + 1;
        let toBody = false;
        if (k === Y_BR) toBody = s.u32('a label') === depth;
        else {
          const n = s.u32('a label count');
          for (let i = 0; i <= n && !toBody; i++) toBody = s.u32('a label') === depth;
        }
        if (stale) {
          syncs.push(at, S_RELOAD);
          stale = false;
        } else if (toBody) syncs.push(at, S_STORE);
      } else if (stale && CONTROL[op] !== C_NONE) {
        syncs.push(at, S_RELOAD);
        stale = false;
      }
    }
    switch (CONTROL[op]) {
      case C_NONE:
        continue;
      case C_OPEN:
        depth++;
        continue;
      case C_COND:
        points.push(pointAt, cost, flags);
        pointAt = p;
        cost = 0;
        flags = F_AFTER_COND;
        continue;
      case C_LOOP:
        depth++;
        scan.loops++;
        points.push(pointAt, cost, flags);
        pointAt = p;
        cost = 0;
        flags = F_CHECK;
        continue;
      case C_IF:
        depth++;
        points.push(pointAt, cost, flags);
        pointAt = p;
        cost = 0;
        flags = 0;
        continue;
      case C_END:
      case C_DELEGATE:
        if (depth > 0) depth--;
        else if (CONTROL[op] === C_DELEGATE) s.fail('delegate outside of a try block', at);
        else ended = true;
        points.push(pointAt, cost, flags);
        pointAt = p;
        cost = 0;
        flags = 0;
        continue;
      case C_ENTRY:
        points.push(pointAt, cost, flags);
        pointAt = p;
        cost = 0;
        flags = 0;
        continue;
      case C_EXIT:
        points.push(pointAt, cost, flags);
        pointAt = p;
        cost = 0;
        flags = F_DEAD;
        continue;
    }
  }
  if (!ended) s.fail('the function body does not end with end', bodyEnd);
  // The run after the final end is empty.
  s.pos = p;
}

/**
 * Decodes one function body (`bytes[start, end)`, the size prefix excluded)
 * into its instructions. For tests and diagnostics; the rewriter does not
 * build this list.
 */
export function decodeFunctionBody(
  bytes: Uint8Array,
  start: number,
  end: number,
  options: { wasm64?: boolean; functionIndex?: number; functionName?: string } = {},
): Instruction[] {
  const s = new BodyReader(bytes, start, end, options.functionIndex ?? 0, options.functionName);
  skipLocals(s);
  const list: Instruction[] = [];
  scanBody({
    s,
    wasm64: options.wasm64 ?? false,
    points: [],
    local: false,
    syncs: [],
    catches: false,
    loops: 0,
    list,
    writes: null,
    out: new Int32Array(1),
  });
  return list;
}

/**
 * Charges each fall-through run after a conditional branch that costs at most
 * `limit` with the run that ends at the branch (chains of them included).
 */
function mergeFallthroughs(points: number[], limit: number): void {
  let prev = -1;
  for (let q = 0; q < points.length; q += 3) {
    const f = points[q + 2] as number;
    if (f & F_AFTER_COND && prev >= 0 && (points[q + 1] as number) <= limit) {
      points[prev + 1] = (points[prev + 1] as number) + (points[q + 1] as number);
      points[q + 2] = f | F_MERGED;
      continue;
    }
    prev = q;
  }
}

/**
 * Rewrites the code section of `info` with metering that decrements global
 * `counter` (none when null) and, with `dirty`, a dirty-page check in front
 * of every heap write (`dirty-pages.ts`); null when the module has no code
 * section. Throws {@link MeteringError} for a body it cannot decode.
 */
export function meterCodeSection(
  info: ModuleInfo,
  counter: number | null,
  options: MeterOptions = {},
  dirty?: DirtyPageCode,
): MeteredCode | null {
  const section = info.sections.find((x) => x.id === 10);
  if (section === undefined) return null;
  const bytes = info.bytes;
  const s = new BodyReader(bytes, section.contentStart, section.end, 0);
  const mergeLimit = options.mergeFallthroughUpTo ?? DEFAULT_MERGE_FALLTHROUGH_UP_TO;
  const metering = counter !== null;
  const scan: BodyScan = {
    s,
    wasm64: info.isWasm64,
    points: [],
    local: metering && (options.localCounter ?? true),
    syncs: [],
    catches: false,
    loops: 0,
    list: null,
    writes: dirty === undefined ? null : [],
    out: new Int32Array(1),
  };
  const { points, syncs } = scan;
  const writes = scan.writes ?? [];
  const count = s.u32('the code count');

  const w = new ByteWriter(Math.ceil((section.end - section.contentStart) * 1.3) + 16);
  const body = new ByteWriter(1024);
  w.uleb(count);
  let charges = 0;
  let checks = 0;
  let writeChecks = 0;

  for (let i = 0; i < count; i++) {
    s.fn = info.numImportedFunctions + i;
    s.end = section.end;
    const size = s.u32('a body size');
    const bodyStart = s.pos;
    const bodyEnd = bodyStart + size;
    if (bodyEnd > section.end) s.fail(`body size ${size} runs past the code section`, bodyStart);
    s.end = bodyEnd;
    let locals = 0;
    let groups = 0;
    let localsEnd = bodyStart;
    let groupsStart = bodyStart;
    try {
      groups = s.u32('a local group count');
      groupsStart = s.pos;
      for (let j = 0; j < groups; j++) {
        locals += s.u32('a local count');
        skipValType(s);
      }
      localsEnd = s.pos;
      points.length = 0;
      syncs.length = 0;
      writes.length = 0;
      scanBody(scan);
      if (!metering) points.length = 0;
      else if (mergeLimit > 0) mergeFallthroughs(points, mergeLimit);
    } catch (e) {
      if (e instanceof MeteringError && s.fnName === undefined && info.functionNames.has(s.fn)) {
        // Name the function in the message (looked up only on failure).
        s.fnName = info.functionNames.get(s.fn);
        s.pos = bodyStart;
        skipLocals(s);
        scanBody(scan);
      }
      throw e;
    }

    // Appended locals (after the parameters and the declared locals, so no local index moves):
    // the counter's, then the scratch locals of the dirty-page checks.
    const params = info.types[info.functions[i] ?? -1]?.params.length ?? 0;
    const scratch =
      dirty !== undefined && writes.length > 0 ? new ScratchLocals(writes, info.isWasm64) : null;
    const extra = scratch?.count ?? 0;
    if (params + locals + extra > MAX_LOCALS)
      s.fail(`no room for ${extra} more locals to track heap writes (V8 allows ${MAX_LOCALS})`, bodyStart);
    const cached = scan.local && scan.loops > 0 && !scan.catches && params + locals + extra < MAX_LOCALS;
    const local = params + locals;
    scratch?.place(local + (cached ? 1 : 0));

    body.len = 0;
    let copied = bodyStart;
    if (cached || scratch !== null) {
      body.uleb(groups + (cached ? 1 : 0) + extra);
      body.copy(bytes, groupsStart, localsEnd);
      if (cached) {
        body.byte(0x01); // one
        body.byte(0x7e); // i64
      }
      scratch?.declare(body);
      copied = localsEnd;
    }
    let q = 0;
    let r = 0;
    // Three sorted lists merge; at one position a charge goes first, then a sync (syncs are at
    // control instructions, writes never are).
    for (let p = 0; ;) {
      const pointAt = p < points.length ? (points[p] as number) : Infinity;
      const syncAt = q < syncs.length ? (syncs[q] as number) : Infinity;
      const writeAt = r < writes.length ? (writes[r] as number) : Infinity;
      if (pointAt === Infinity && syncAt === Infinity && writeAt === Infinity) break;
      if (writeAt < pointAt && writeAt < syncAt) {
        body.copy(bytes, copied, writeAt);
        copied = writeAt;
        emitWriteCheck(body, bytes, writeAt, writes[r + 1] as number, scratch!, dirty!);
        writeChecks++;
        r += 2;
        continue;
      }
      if (syncAt < pointAt) {
        const kind = syncs[q + 1] as number;
        q += 2;
        if (!cached) continue;
        body.copy(bytes, copied, syncAt);
        copied = syncAt;
        if (kind === S_RELOAD) {
          body.byte(0x23); // global.get
          body.uleb(counter!);
          body.byte(0x21); // local.set
          body.uleb(local);
        } else {
          body.byte(0x20); // local.get
          body.uleb(local);
          body.byte(0x24); // global.set
          body.uleb(counter!);
        }
        continue;
      }
      const pc = points[p + 1] as number;
      const f = points[p + 2] as number;
      p += 3;
      if (f & F_SKIP || (pc === 0 && !(f & F_CHECK))) continue;
      body.copy(bytes, copied, pointAt);
      copied = pointAt;
      const g = counter!;
      if (!cached) {
        body.byte(0x23); // global.get
        body.uleb(g);
        body.byte(0x42); // i64.const
        body.sleb(pc);
        body.byte(0x7d); // i64.sub
        body.byte(0x24); // global.set
        body.uleb(g);
        charges++;
        if (f & F_CHECK) {
          body.byte(0x23); // global.get
          body.uleb(g);
          body.byte(0x42); // i64.const 0
          body.byte(0x00);
          body.byte(0x53); // i64.lt_s
          body.byte(0x04); // if
          body.byte(0x40);
          body.byte(0x00); // unreachable
          body.byte(0x0b); // end
          checks++;
        }
        continue;
      }
      // The first point is the function entry: load the global there.
      body.byte(p === 3 ? 0x23 : 0x20); // global.get g | local.get l
      body.uleb(p === 3 ? g : local);
      body.byte(0x42); // i64.const
      body.sleb(pc);
      body.byte(0x7d); // i64.sub
      charges++;
      if (!(f & F_CHECK)) {
        body.byte(0x21); // local.set
        body.uleb(local);
      } else {
        // Stored at the checks too, so that a trap of another kind loses at most one iteration's count.
        body.byte(0x22); // local.tee
        body.uleb(local);
        body.byte(0x24); // global.set
        body.uleb(g);
        body.byte(0x20); // local.get
        body.uleb(local);
        body.byte(0x42); // i64.const 0
        body.byte(0x00);
        body.byte(0x53); // i64.lt_s
        body.byte(0x04); // if
        body.byte(0x40);
        body.byte(0x00); // unreachable
        body.byte(0x0b); // end
        checks++;
      }
    }
    body.copy(bytes, copied, bodyEnd);
    w.uleb(body.len);
    w.copy(body.buf, 0, body.len);
    s.pos = bodyEnd;
  }
  s.end = section.end;
  if (s.pos !== section.end)
    s.fail(`${section.end - s.pos} trailing bytes after the last function body`, s.pos);

  return { section: encodeSection(10, w.bytes()), charges, checks, writeChecks };
}

/** The global section with one more global, `(mut i64) (i64.const 0)`, at the end; returns it and the new global's index. */
export function appendCounterGlobal(info: ModuleInfo): { section: Uint8Array; index: number } {
  const index = info.numImportedGlobals + info.globals.length;
  const existing = info.sections.find((x) => x.id === 6);
  const w = new ByteWriter(16 + (existing ? existing.end - existing.contentStart : 0));
  w.uleb(info.globals.length + 1);
  if (existing) {
    // The globals as they are, after their count.
    const r = new Reader(info.bytes, existing.contentStart, existing.end);
    r.u32('the global count');
    w.copy(info.bytes, r.pos, existing.end);
  }
  w.byte(0x7e); // i64
  w.byte(0x01); // mutable
  w.byte(0x42); // i64.const 0
  w.byte(0x00);
  w.byte(0x0b);
  const section = encodeSection(6, w.bytes());
  return { section, index };
}
