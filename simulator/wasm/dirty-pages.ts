/**
 * Dirty-page tracking of the heap (memory 0): the module itself tells the
 * host which 4 KiB pages a message is about to write, so that the host can
 * save them first and a rollback costs the pages written, not the heap's size
 * (`execution/heap-journal.ts` keeps the saved pages).
 *
 * V8 offers no write protection or dirty bits on a `WebAssembly.Memory` (the
 * IC tracks heap pages with mprotect and a signal handler, dfinity/ic
 * `rs/memory_tracker`), so the tracking is compiled into the code, as the IC
 * does for Wasm-native stable memory: a separate byte map memory with one
 * byte per page, set by instrumentation (dfinity/ic
 * `rs/embedders/src/wasm_utils/instrumentation.rs`, `stable_bytemap_memory`).
 *
 * What the instrumented module gets (no existing index moves):
 * - a memory appended after memory 0 (i32-indexed, never grows), exported as
 *   {@link BYTEMAP_EXPORT}: byte `p` is non-zero once the host has saved heap
 *   pages `p` and `p + 1` in the current message. 2^20 bytes cover a wasm32
 *   heap (4 GiB); 2^22 cover V8's memory64 bound (16 GiB), and on wasm64 the
 *   page index is masked to that size;
 * - a funcref table of two slots appended after the module's tables,
 *   exported as {@link CALLBACKS_EXPORT}, and two function types appended to
 *   the type section. The host puts its callbacks in the table after
 *   instantiation: slot 0 `save_page(p: i32)`, slot 1
 *   `save_range(dst: A, len: A)` (A: the address type). A table, not an
 *   import: an imported function would shift every function index;
 * - before every instruction that writes memory 0 (stores, SIMD stores and
 *   lane stores, atomic stores, read-modify-writes and compare-exchanges),
 *   with its operands parked in scratch locals appended to the function:
 *
 *     local.set v2?; local.set v1; local.tee a; [A.const offset; A.add]
 *     A.const 12; A.shr_u; [i32.wrap_i64; i32.const mask; i32.and]; local.tee p
 *     i32.load8_u (bytemap); i32.eqz
 *     if; local.get p; i32.const 0; call_indirect (save_page); end
 *     local.get a; local.get v1; local.get v2?; <the write>
 *
 *   The host saves pages `p` and `p + 1` (a write of up to 16 bytes may
 *   cross into the next page) and sets byte `p`, so each page costs one call
 *   per message; the address is computed with wrap-around, which can only
 *   name a wrong page for a write that traps anyway (a harmless extra save);
 * - before `memory.fill`, `memory.copy` and `memory.init`: a call to
 *   `save_range(dst, len)` through slot 1.
 *
 * The injected instructions are not metered: instruction counts stay those
 * of the original code. Writes from the host (System API copies into the
 * heap) are saved by the host itself.
 *
 * Why this design (measured on 2 shared, busy cores, Node 24; `npm run bench`):
 * - before, every persisted message copied the whole heap: an empty update
 *   took 6.2 ms on a 10 MiB heap and 92 ms (issue #12; 500 ms here) on a
 *   1 GiB one, whose process held 2.0× the heap in RSS. Now 0.13 ms and
 *   0.10–0.18 ms, and 1.00× (`scale.heap_*`);
 * - a shadow copy compared lazily would hold 2× the heap in RAM, and write
 *   protection is out of reach from JavaScript, so the code reports its own
 *   writes. The price is a check per store executed: nothing on code
 *   without stores (`simulator.compute_overhead_ratio` 1.02–1.07× bare,
 *   metering's own), 1.4–1.7× on a loop that does little but store
 *   (`simulator.compute_stores_overhead_ratio`), 1.15–1.27× CPU time on
 *   the QuickJS interpreter of the Azle upload canister (put_chunk: one
 *   store per ~60 metered instructions, 80% of them in one function), and a
 *   module about 40% larger (4.4 → 6.3 MB, +50–120 ms to instrument);
 * - the byte map is a memory of its own, and V8 reserves address space with
 *   guard regions for every memory (8 GiB for an i32 one, 16 GiB for
 *   memory64, of 128 TiB): a process now holds about 8,000 live wasm32
 *   canisters (16,000 before) and 5,400 wasm64 ones (8,000). Only the byte
 *   map's written pages take RAM. A Wasm GC byte array would reserve nothing
 *   and checked as fast in a loop of stores, but it is resident from the
 *   start (1–4 MiB per canister) and opaque to JavaScript;
 * - tried and dropped: reusing a check for later stores through the same
 *   local in the same basic block (would skip 2% of put_chunk's stores);
 *   the call in a helper function instead of an inline `call_indirect`
 *   (about 1.1× slower); comparing with the last page seen, kept in a local,
 *   before reading the byte map (no faster); 64 KiB pages (a scattered
 *   write would copy 16× more).
 */
import { ByteWriter, encodeSection } from './binary.ts';

/** Size of a tracked page: the OS page the IC tracks, 16× less copying than a 64 KiB Wasm page for scattered writes. */
export const HEAP_PAGE_SHIFT = 12;
export const HEAP_PAGE_SIZE = 1 << HEAP_PAGE_SHIFT;
export const BYTEMAP_EXPORT = 'icsim dirty_bytemap';
export const CALLBACKS_EXPORT = 'icsim dirty_callbacks';
export const SAVE_PAGE_SLOT = 0;
export const SAVE_RANGE_SLOT = 1;
/** V8's bound on a memory64 memory (16 GiB; `new WebAssembly.Memory` refuses more than 262144 pages). */
export const MAX_MEMORY64_BYTES = 2 ** 34;

/** Pages the byte map covers: every page a heap of this address type can have. */
export function trackedPages(wasm64: boolean): number {
  return (wasm64 ? MAX_MEMORY64_BYTES : 2 ** 32) / HEAP_PAGE_SIZE;
}

/** Where the instrumented module keeps what the injected code refers to. */
export interface DirtyPageCode {
  wasm64: boolean;
  /** Memory index of the byte map. */
  bytemap: number;
  /** Table index of the callbacks table. */
  table: number;
  /** Type index of `(func (param i32))`. */
  pageType: number;
  /** Type index of `(func (param A A))`. */
  rangeType: number;
}

const I32 = 0x7f;
const I64 = 0x7e;
const F32 = 0x7d;
const F64 = 0x7c;
const V128 = 0x7b;
const VALUE_TYPES = [I32, I64, F32, F64, V128] as const;

/** Per group of 7 atomic read-modify-write opcodes: the value type of each. */
const RMW_TYPES = [I32, I64, I32, I32, I64, I64, I64] as const;

/**
 * Whether `op` (prefixed opcodes as `prefix << 16 | sub`, as the meter's
 * scanner gives them) writes memory 0 and needs a check in front.
 */
export function isHeapWrite(op: number): boolean {
  if (op <= 0xff) return op >= 0x36 && op <= 0x3e;
  const sub = op & 0xffff;
  switch (op >> 16) {
    case 0xfc:
      return sub === 8 || sub === 10 || sub === 11; // memory.init, memory.copy, memory.fill
    case 0xfd:
      return sub === 0x0b || (sub >= 0x58 && sub <= 0x5b); // v128.store, v128.store*_lane
    case 0xfe:
      return sub >= 0x17 && sub <= 0x4e; // atomic stores, rmw, cmpxchg
    default:
      return false;
  }
}

// Operand type lists, shared (the rewriter asks once per store of a large module).
const ONE = [[I32], [I64], [F32], [F64], [V128]] as const;
const TWO = [
  [I32, I32],
  [I64, I64],
] as const;
const FILL = [
  [I32, I32],
  [I32, I64],
] as const;
const one = (t: number): readonly number[] => ONE[typeRank(t)] as readonly number[];

/** The value types of the operands above the address (or destination), bottom first. */
function operandTypes(op: number, addr: number): readonly number[] {
  if (op <= 0xff) {
    if (op === 0x37 || op >= 0x3c) return one(I64);
    if (op === 0x38) return one(F32);
    if (op === 0x39) return one(F64);
    return one(I32);
  }
  const sub = op & 0xffff;
  switch (op >> 16) {
    case 0xfc:
      if (sub === 8) return TWO[0]; // memory.init: src, len (i32)
      if (sub === 10) return TWO[typeRank(addr)] as readonly number[]; // memory.copy: src, len
      return FILL[typeRank(addr)] as readonly number[]; // memory.fill: value, len
    case 0xfd:
      return one(V128);
    default: {
      if (sub <= 0x1d) return one(sub === 0x17 || sub === 0x19 || sub === 0x1a ? I32 : I64);
      const t = RMW_TYPES[(sub - 0x1e) % 7] as number;
      return sub >= 0x48 ? (TWO[typeRank(t)] as readonly number[]) : one(t);
    }
  }
}

const isBulk = (op: number): boolean => op >> 16 === 0xfc;

/**
 * The scratch locals of one function: the address (or destination), the page
 * index, and one local per (operand position, value type) its writes use.
 */
export class ScratchLocals {
  /** Number of scratch locals. */
  readonly count: number;
  /** Index of the first one ({@link place}). */
  base = 0;
  /** `slot[position * 5 + type]`: offset from `base`, or -1. */
  readonly #slot = new Int32Array(10).fill(-1);
  readonly #types: number[];

  /** `writes`: [position, opcode] pairs of the function's heap writes. */
  constructor(writes: readonly number[], wasm64: boolean) {
    const addr = wasm64 ? I64 : I32;
    const used = new Uint8Array(10);
    for (let i = 1; i < writes.length; i += 2) {
      const types = operandTypes(writes[i] as number, addr);
      for (let j = 0; j < types.length; j++) used[j * 5 + typeRank(types[j] as number)] = 1;
    }
    this.#types = [addr, I32];
    for (let k = 0; k < 10; k++) {
      if (!used[k]) continue;
      this.#slot[k] = this.#types.length;
      this.#types.push(VALUE_TYPES[k % 5] as number);
    }
    this.count = this.#types.length;
  }

  /** Puts the scratch locals at `base` and after (after the function's own locals). */
  place(base: number): void {
    this.base = base;
  }

  get addr(): number {
    return this.base;
  }

  get page(): number {
    return this.base + 1;
  }

  operand(position: number, type: number): number {
    return this.base + (this.#slot[position * 5 + typeRank(type)] as number);
  }

  /** Their declarations, one local group each ({@link count} groups). */
  declare(w: ByteWriter): void {
    for (const t of this.#types) {
      w.byte(0x01);
      w.byte(t);
    }
  }
}

const typeRank = (t: number): number => I32 - t; // i32 0, i64 1, f32 2, f64 3, v128 4

/** Signed LEB128 of a 64-bit value. */
function slebBig(w: ByteWriter, v: bigint): void {
  for (;;) {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    if ((v === 0n && (b & 0x40) === 0) || (v === -1n && (b & 0x40) !== 0)) {
      w.byte(b);
      return;
    }
    w.byte(b | 0x80);
  }
}

/**
 * The memarg offset of the write at `at` (opcode `op`), unsigned: a number,
 * or a bigint past 2^49 (memory64 only; numbers keep the pass over a large
 * module fast).
 */
function memargOffset(bytes: Uint8Array, at: number, op: number): number | bigint {
  let p = at + 1;
  const skip = (): void => {
    while ((bytes[p++] as number) & 0x80);
  };
  if (op > 0xff) skip(); // the sub-opcode
  const flags = bytes[p] as number; // the flags fit in one byte: alignment < 64, bit 6
  skip();
  if (flags & 0x40) skip(); // memory index (multi-memory)
  const start = p;
  skip();
  if (p - start > 7) {
    let big = 0n;
    for (let i = p - 1; i >= start; i--) big = (big << 7n) | BigInt((bytes[i] as number) & 0x7f);
    return big;
  }
  let n = 0;
  for (let i = p - 1; i >= start; i--) n = n * 128 + ((bytes[i] as number) & 0x7f);
  return n;
}

/**
 * Emits, into `w`, the check (or the range call) that goes in front of the
 * heap write at `bytes[at]` with opcode `op`; the write itself follows,
 * copied by the caller.
 */
export function emitWriteCheck(
  w: ByteWriter,
  bytes: Uint8Array,
  at: number,
  op: number,
  locals: ScratchLocals,
  code: DirtyPageCode,
): void {
  const addrType = code.wasm64 ? I64 : I32;
  const types = operandTypes(op, addrType);
  w.reserve(64);
  for (let j = types.length - 1; j >= 0; j--) {
    w.byte(0x21); // local.set
    w.uleb(locals.operand(j, types[j] as number));
  }
  w.byte(0x22); // local.tee
  w.uleb(locals.addr);
  if (isBulk(op)) {
    // save_range(dst, len): len is the last operand (i32 for memory.init).
    const lenType = types[1] as number;
    w.byte(0x20); // local.get
    w.uleb(locals.operand(1, lenType));
    if (lenType !== addrType) w.byte(0xad); // i64.extend_i32_u
    w.byte(0x41); // i32.const
    w.sleb(SAVE_RANGE_SLOT);
    w.byte(0x11); // call_indirect
    w.uleb(code.rangeType);
    w.uleb(code.table);
  } else {
    const offset = memargOffset(bytes, at, op);
    if (code.wasm64) {
      if (offset !== 0) {
        w.byte(0x42); // i64.const
        if (typeof offset === 'number') w.sleb(offset);
        else slebBig(w, BigInt.asIntN(64, offset));
        w.byte(0x7c); // i64.add
      }
      w.byte(0x42); // i64.const
      w.sleb(HEAP_PAGE_SHIFT);
      w.byte(0x88); // i64.shr_u
      w.byte(0xa7); // i32.wrap_i64
      w.byte(0x41); // i32.const
      w.sleb(trackedPages(true) - 1);
      w.byte(0x71); // i32.and
    } else {
      if (offset !== 0) {
        w.byte(0x41); // i32.const
        w.sleb((offset as number) | 0);
        w.byte(0x6a); // i32.add
      }
      w.byte(0x41); // i32.const
      w.sleb(HEAP_PAGE_SHIFT);
      w.byte(0x76); // i32.shr_u
    }
    w.byte(0x22); // local.tee
    w.uleb(locals.page);
    w.byte(0x2d); // i32.load8_u
    w.byte(0x40); // memarg: align 1, a memory index follows
    w.uleb(code.bytemap);
    w.byte(0x00); // offset 0
    w.byte(0x45); // i32.eqz
    w.byte(0x04); // if
    w.byte(0x40);
    w.byte(0x20); // local.get
    w.uleb(locals.page);
    w.byte(0x41); // i32.const
    w.sleb(SAVE_PAGE_SLOT);
    w.byte(0x11); // call_indirect
    w.uleb(code.pageType);
    w.uleb(code.table);
    w.byte(0x0b); // end
  }
  w.byte(0x20); // local.get
  w.uleb(locals.addr);
  for (let j = 0; j < types.length; j++) {
    w.byte(0x20); // local.get
    w.uleb(locals.operand(j, types[j] as number));
  }
}

/** The two function types the callbacks have, as type-section entries. */
export function callbackTypes(wasm64: boolean): Uint8Array[] {
  const a = wasm64 ? I64 : I32;
  return [Uint8Array.of(0x60, 1, I32, 0), Uint8Array.of(0x60, 2, a, a, 0)];
}

/** The byte map's memory-section entry: fixed size, i32-indexed. */
export function bytemapMemory(wasm64: boolean): Uint8Array {
  const pages = trackedPages(wasm64) / 65536;
  const w = new ByteWriter();
  w.byte(0x01); // min and max
  w.uleb(pages);
  w.uleb(pages);
  return w.bytes().slice();
}

/** The callbacks table's table-section entry: two funcref slots. */
export function callbacksTable(): Uint8Array {
  return Uint8Array.of(0x70, 0x01, 2, 2);
}

/**
 * A module that imports the host's two callbacks (`host.page`, `host.range`)
 * and exports them as Wasm functions (`page`, `range`), which a funcref table
 * can hold (a plain JS function cannot).
 */
export function callbackModule(wasm64: boolean): Uint8Array {
  const w = new ByteWriter();
  w.copy(Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0), 0, 8);
  const types = new ByteWriter();
  types.uleb(2);
  for (const t of callbackTypes(wasm64)) types.copy(t, 0, t.length);
  const put = (section: Uint8Array): void => w.copy(section, 0, section.length);
  put(encodeSection(1, types.bytes()));
  const enc = new TextEncoder();
  const imports = new ByteWriter();
  imports.uleb(2);
  const exports = new ByteWriter();
  exports.uleb(2);
  ['page', 'range'].forEach((name, i) => {
    imports.vec(enc.encode('host'));
    imports.vec(enc.encode(name));
    imports.byte(0x00); // func
    imports.uleb(i); // type index
    exports.vec(enc.encode(name));
    exports.byte(0x00);
    exports.uleb(i); // function index
  });
  put(encodeSection(2, imports.bytes()));
  put(encodeSection(7, exports.bytes()));
  return w.bytes().slice();
}
