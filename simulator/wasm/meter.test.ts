import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { compileMotoko } from '../../fixtures/motoko.ts';
import { describe, expect, it } from 'vitest';
import wabtInit from 'wabt';
import { decodeModule, type ModuleInfo } from './decode.ts';
import { wasmCompile, wasmCompileError, wasmInstantiate, wasmModuleImports, wasmValidate } from './engine.ts';
import { instrumentModule, type InstrumentOptions } from './instrument.ts';
import {
  decodeFunctionBody,
  INSTRUCTION_COUNTER_EXPORT,
  MeteringError,
  meterCodeSection,
  type Instruction,
} from './meter.ts';
import {
  azleStableTemplate,
  leb,
  rawModule,
  recordWrites,
  wat,
  withCustomSection,
  type RecordedWrites,
} from './test-support.ts';

const wabt = await wabtInit();

/** WAT with tail calls and typed function references on top of what `wat` enables. */
function watMore(src: string): Uint8Array {
  const m = wabt.parseWat('test.wat', src, {
    memory64: true,
    reference_types: true,
    bulk_memory: true,
    simd: true,
    tail_call: true,
    function_references: true,
    relaxed_simd: true,
    threads: true,
  });
  try {
    // Not validated by wabt (its validator ignores some of these features); V8 validates.
    m.resolveNames();
    return new Uint8Array(m.toBinary({ write_debug_names: true }).buffer);
  } finally {
    m.destroy();
  }
}

interface GlobalLike {
  value: bigint;
}
type Exports = Record<string, unknown>;

/** Instantiates `bytes`; stub imports throw. */
function instantiate(bytes: Uint8Array, imports: Record<string, Record<string, unknown>> = {}): Exports {
  const module = wasmCompile(bytes);
  const all: Record<string, Record<string, unknown>> = { ...imports };
  for (const imp of wasmModuleImports(module)) {
    if (imp.kind !== 'function' || all[imp.module]?.[imp.name] !== undefined) continue;
    (all[imp.module] ??= {})[imp.name] = () => {
      throw new Error(`unexpected call to ${imp.module}.${imp.name}`);
    };
  }
  return wasmInstantiate(module, all);
}

interface Metered {
  info: ModuleInfo;
  bytes: Uint8Array;
  plain: Exports;
  metered: Exports;
  counter: GlobalLike;
  /** The dirty-page callbacks' calls (the module is instrumented for them unless `dirtyPages: false`). */
  writes: RecordedWrites | undefined;
  /** Calls export `name` of the metered module with `budget` instructions; returns the result and what was used. */
  run(name: string, budget: bigint, ...args: unknown[]): { result: unknown; used: bigint };
}

function meter(
  bytes: Uint8Array,
  options: InstrumentOptions = {},
  imports: Record<string, Record<string, unknown>> = {},
): Metered {
  const info = decodeModule(bytes);
  const out = instrumentModule(info, options);
  expect(wasmCompileError(out.bytes)).toBeNull();
  const metered = instantiate(out.bytes, imports);
  const counter = metered[INSTRUCTION_COUNTER_EXPORT] as GlobalLike;
  return {
    info,
    bytes: out.bytes,
    plain: instantiate(bytes, imports),
    metered,
    counter,
    writes: recordWrites(metered, info.isWasm64),
    run(name, budget, ...args) {
      counter.value = budget;
      const f = metered[name] as (...a: unknown[]) => unknown;
      const result = f(...args);
      return { result, used: budget - counter.value };
    },
  };
}

const call = (exports: Exports, name: string, ...args: unknown[]): unknown =>
  (exports[name] as (...a: unknown[]) => unknown)(...args);

/** Bodies of the code section: [start, end) after the size prefix. */
function bodies(info: ModuleInfo): [number, number][] {
  const code = info.sections.find((s) => s.id === 10);
  if (!code) return [];
  const out: [number, number][] = [];
  let p = code.contentStart;
  const u32 = (): number => {
    let r = 0;
    let shift = 0;
    for (;;) {
      const b = info.bytes[p++] as number;
      r += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return r;
      shift += 7;
    }
  };
  const n = u32();
  for (let i = 0; i < n; i++) {
    const size = u32();
    out.push([p, p + size]);
    p += size;
  }
  return out;
}

function decodeAll(info: ModuleInfo): Instruction[][] {
  return bodies(info).map(([s, e], i) =>
    decodeFunctionBody(info.bytes, s, e, {
      wasm64: info.isWasm64,
      functionIndex: info.numImportedFunctions + i,
    }),
  );
}

const opcodes = (info: ModuleInfo): Set<number> =>
  new Set(decodeAll(info).flatMap((b) => b.map((i) => i.opcode)));

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
/** Digests of the sections metering must not touch (all but global, export, start, code). */
function untouched(info: ModuleInfo): string[] {
  return info.sections
    .filter((s) => ![6, 7, 8, 10].includes(s.id))
    .map((s) => `${s.id}:${sha(info.bytes.subarray(s.start, s.end))}`);
}

describe('the cost model on small functions', () => {
  const m = meter(
    wat(`(module
      (func (export "countdown") (param $n i32) (result i32)
        (loop $l
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br_if $l (local.get $n)))
        (local.get $n))
      (func (export "empty"))
      (func (export "spin") (loop $l (br $l)))
      (func $rec (export "recurse") (call $rec))
      (func (export "dead") (result i32)
        (return (i32.const 1))
        (drop (i32.const 2)) (drop (i32.const 3)) (i32.const 4))
      (func (export "branches") (param i32) (result i32)
        (if (result i32) (local.get 0)
          (then (i32.add (i32.const 1) (i32.const 2)))
          (else (i32.div_u (i32.const 10) (i32.const 3))))))`),
  );

  it('charges a function entry 1 plus its straight-line code, and each loop iteration its body', () => {
    expect(m.run('empty', 100n)).toEqual({ result: undefined, used: 1n });
    // entry: 1 (+ loop 0); loop body: local.get, i32.const, i32.sub, local.set, local.get, br_if(2) = 7.
    expect(m.run('countdown', 1000n, 10)).toEqual({ result: 0, used: 1n + 7n * 10n + 1n });
    expect(call(m.plain, 'countdown', 10)).toBe(0);
  });

  it('charges each arm of an if separately, with the IC weights (div_u 10)', () => {
    // entry: 1 + local.get 1 + if 2; then: 3 consts/add; else: 2 consts + div_u 10.
    expect(m.run('branches', 1000n, 1)).toEqual({ result: 3, used: 4n + 3n });
    expect(m.run('branches', 1000n, 0)).toEqual({ result: 3, used: 4n + 12n });
  });

  it('does not charge dead code after an unconditional transfer', () => {
    expect(m.run('dead', 100n)).toEqual({ result: 1, used: 1n + 1n + 1n });
  });

  it('stops an infinite loop with unreachable once the counter is below zero', () => {
    m.counter.value = 10_000n;
    expect(() => call(m.metered, 'spin')).toThrow(/unreachable/);
    expect(m.counter.value).toBeLessThan(0n);
    expect(m.counter.value).toBeGreaterThan(-10n);
  });

  it('stops unbounded recursion at a function entry before the stack overflows', () => {
    m.counter.value = 1000n;
    expect(() => call(m.metered, 'recurse')).toThrow(/unreachable/);
    expect(m.counter.value).toBeLessThan(0n);
  });

  it('charges the fall-through after a conditional branch on its own, or with the run before it when asked', () => {
    const bytes = wat(`(module
      (func (export "early") (param i32) (result i32)
        (block $out
          (br_if $out (local.get 0))
          (drop (i32.div_u (i32.const 10) (i32.const 3))))
        (i32.const 7)))`);
    // entry: 1 + local.get 1 + br_if 2; fall-through: 2 consts + div_u 10 + drop 1; after the block: 1.
    const ic = meter(bytes);
    expect(ic.run('early', 100n, 1)).toEqual({ result: 7, used: 5n });
    expect(ic.run('early', 100n, 0)).toEqual({ result: 7, used: 18n });
    const merged = meter(bytes, { mergeFallthroughUpTo: 100 });
    expect(merged.run('early', 100n, 1)).toEqual({ result: 7, used: 18n });
    expect(merged.run('early', 100n, 0)).toEqual({ result: 7, used: 18n });
    expect(meter(bytes, { mergeFallthroughUpTo: 12 }).run('early', 100n, 1).used).toBe(5n);
    expect(instrumentModule(decodeModule(bytes), { mergeFallthroughUpTo: 100 }).meteringCharges).toBe(
      instrumentModule(decodeModule(bytes)).meteringCharges - 1,
    );
  });
});

describe('the counter in a local of functions with loops', () => {
  // Every way out of a function with a loop; `peek` stands for ic0.performance_counter(0) (reads the global).
  const src = `(module
    (import "env" "peek" (func $peek (result i64)))
    (type $un (func (param i32) (result i32)))
    (table 1 funcref)
    (elem (i32.const 0) $leaf)
    (global $seen (mut i64) (i64.const 0))
    (global $res (mut i32) (i32.const 0))
    (func $leaf (type $un) (i32.add (local.get 0) (i32.const 1)))
    (func $tail (global.set $res (i32.add (global.get $res) (i32.const 100))))
    ;; Loops n times calling $leaf, call_indirect and peek, then leaves by mode: 0 br to a block
    ;; and the end, 1 unreachable, 2 return_call, 3 return, 4 br_if to the body, 5 br to the
    ;; body, 6 falling out of the loop, 7+ br_table to the body.
    (func (export "f") (param $n i32) (param $mode i32)
      (local $i i32)
      (block $out
        (loop $l
          (global.set $res (call $leaf (global.get $res)))
          (global.set $res (call_indirect (type $un) (global.get $res) (i32.const 0)))
          (global.set $seen (call $peek))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $i) (local.get $n)))
          (block $m6 (block $m5 (block $m4 (block $m3 (block $m2 (block $m1 (block $m0
            (br_table $m0 $m1 $m2 $m3 $m4 $m5 $m6 9 (local.get $mode)))
            (br $out))
            (unreachable))
            (return_call $tail))
            (return))
            (br_if 4 (local.get $n))
            (br $out))
            (br 3))
          (global.set $res (i32.add (global.get $res) (i32.const 1000))))))
    (func (export "result") (result i32 i64) (global.get $res) (global.get $seen))
    (func (export "spin_calls") (loop $l (drop (call $leaf (i32.const 1))) (br $l)))
    (func (export "oob") (param $n i32)
      (local $i i32)
      (loop $l
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
      (drop (i32.load (i32.const 70000))))
    (memory 1))`;
  const bytes = watMore(src);
  const peekInto = (target: { counter?: GlobalLike }) => ({
    env: { peek: () => target.counter?.value ?? 0n },
  });
  const localRef: { counter?: GlobalLike } = {};
  const globalRef: { counter?: GlobalLike } = {};
  const local = meter(bytes, {}, peekInto(localRef));
  const global = meter(bytes, { localCounter: false }, peekInto(globalRef));
  localRef.counter = local.counter;
  globalRef.counter = global.counter;

  it('adds one i64 local after the others to functions with a loop, and none to the rest', () => {
    const after = decodeModule(local.bytes);
    const [, , f] = bodies(after);
    // (local $i i32), then the counter: 2 groups.
    expect(Array.from(after.bytes.subarray(f![0], f![0] + 5))).toEqual([2, 1, 0x7f, 1, 0x7e]);
    const [leaf] = bodies(after);
    expect(after.bytes[leaf![0]]).toBe(0);
    expect(global.bytes.length).toBeLessThan(local.bytes.length);
  });

  it('charges exactly what the global counter charges, on every way out, and shows it to imports mid-function', () => {
    for (const n of [1, 3])
      for (const mode of [0, 1, 2, 3, 4, 5, 6, 7]) {
        const run = (m: Metered): unknown => {
          try {
            const r = m.run('f', 1_000_000n, n, mode);
            return { ...r, state: call(m.metered, 'result') };
          } catch (e) {
            return { trap: String(e), counter: m.counter.value, state: call(m.metered, 'result') };
          }
        };
        expect(run(local)).toEqual(run(global));
      }
  });

  it('stops a loop of calls at its header with the counter below zero', () => {
    for (const m of [local, global]) {
      m.counter.value = 10_000n;
      expect(() => call(m.metered, 'spin_calls')).toThrow(/unreachable/);
      expect(m.counter.value).toBeLessThan(0n);
    }
    expect(local.counter.value).toBe(global.counter.value);
  });

  it('loses at most the count since the last loop header when another trap ends the function', () => {
    const after = (m: Metered): bigint => {
      m.counter.value = 1000n;
      expect(() => call(m.metered, 'oob', 5)).toThrow(/out of bounds/);
      return 1000n - m.counter.value;
    };
    // entry 1; loop body local.get, i32.const, i32.add, local.set, local.get, local.get, i32.lt_u, br_if (2)
    // = 9 per iteration, stored at the header; after the loop: i32.const, i32.load, drop = 3, in the local only.
    expect(after(global)).toBe(1n + 9n * 5n + 3n);
    expect(after(local)).toBe(1n + 9n * 5n);
  });
});

describe('the rewriter on every opcode class', () => {
  it('control: blocks with value and type-index block types, br_table, select, calls, call_indirect, return_call', () => {
    const bytes = watMore(`(module
      (type $pair (func (param i32) (result i32 i32)))
      (type $un (func (param i32) (result i32)))
      (table 4 funcref)
      (elem (i32.const 0) $double $inc)
      (func $double (type $un) (i32.mul (local.get 0) (i32.const 2)))
      (func $inc (type $un) (i32.add (local.get 0) (i32.const 1)))
      (func $tail (param i32) (result i32) (return_call $double (local.get 0)))
      (func $tail_indirect (param i32) (result i32) (return_call_indirect (type $un) (local.get 0) (i32.const 1)))
      (func (export "control") (param $x i32) (result i32)
        (local $acc i32) (local $f f64)
        (block $b
          (block $c
            (block $d
              (br_table $c $d $b (i32.rem_u (local.get $x) (i32.const 3))))
            (local.set $acc (i32.const 100)))
          (local.set $acc (i32.add (local.get $acc) (i32.const 1))))
        local.get $x
        block (type $pair) (param i32) (result i32 i32)
          i32.const 5
        end
        i32.add
        (local.set $acc (i32.add (local.get $acc)))
        (local.set $acc (select (local.get $acc) (i32.const -1) (i32.gt_s (local.get $acc) (i32.const 0))))
        (local.set $acc (select (result i32) (local.get $acc) (i32.const -1) (i32.const 1)))
        (local.set $acc (i32.add (local.get $acc) (call_indirect (type $un) (local.get $x) (i32.const 0))))
        (local.set $acc (i32.add (local.get $acc) (call $tail (local.get $x))))
        (local.set $acc (i32.add (local.get $acc) (call $tail_indirect (local.get $x))))
        (local.set $f (f64.const 2.5))
        (local.set $acc (i32.add (local.get $acc) (i32.trunc_f64_s (f64.mul (local.get $f) (f32.const 4) (f64.promote_f32)))))
        (if (i32.eqz (local.get $acc)) (then (unreachable)))
        (local.get $acc)))`);
    const m = meter(bytes);
    for (const x of [0, 1, 2, 3, 10, 11]) {
      const { result, used } = m.run('control', 10_000n, x);
      expect(result).toBe(call(m.plain, 'control', x));
      expect(used).toBeGreaterThan(40n);
    }
    const ops = opcodes(m.info);
    for (const op of [0x02, 0x04, 0x0e, 0x10, 0x11, 0x12, 0x13, 0x1b, 0x1c, 0x43, 0x44, 0x70, 0xaa])
      expect(ops).toContain(op);
  });

  it('memory and variables: loads and stores with offsets, memory.size/grow, globals, bulk memory and table ops (0xFC), saturating truncation', () => {
    const bytes = wat(`(module
      (memory 1 4)
      (table $t 4 funcref)
      (table $u 2 externref)
      (global $g (mut i64) (i64.const 5))
      (data $d "hello")
      (elem $e func $id)
      (func $id (param i32) (result i32) (local.get 0))
      (func (export "mem") (result i64)
        (i32.store offset=100 (i32.const 4) (i32.const 0x01020304))
        (i64.store16 offset=64 align=1 (i32.const 0) (i64.const 0xabcd))
        (memory.init $d (i32.const 200) (i32.const 0) (i32.const 5))
        (data.drop $d)
        (memory.copy (i32.const 300) (i32.const 200) (i32.const 5))
        (memory.fill (i32.const 400) (i32.const 7) (i32.const 3))
        (table.init $t $e (i32.const 1) (i32.const 0) (i32.const 1))
        (elem.drop $e)
        (table.copy $t $t (i32.const 2) (i32.const 1) (i32.const 1))
        (table.fill $u (i32.const 0) (ref.null extern) (i32.const 2))
        (drop (table.grow $t (ref.null func) (i32.const 1)))
        (table.set $t (i32.const 0) (table.get $t (i32.const 1)))
        (drop (ref.is_null (table.get $t (i32.const 3))))
        (drop (ref.func $id))
        (global.set $g (i64.add (global.get $g) (i64.extend_i32_u (table.size $t))))
        (drop (memory.grow (i32.const 1)))
        (i64.add
          (i64.add (i64.load32_u offset=100 (i32.const 4)) (i64.load16_u offset=64 (i32.const 0)))
          (i64.add
            (i64.add (global.get $g) (i64.extend_i32_u (memory.size)))
            (i64.add (i64.extend_i32_u (i32.load8_u (i32.const 302)))
              (i64.add (i64.trunc_sat_f64_s (f64.const 1e30)) (i64.extend_i32_s (i32.load8_s (i32.const 401)))))))))`);
    const m = meter(bytes);
    const { result, used } = m.run('mem', 100_000n);
    expect(result).toBe(call(m.plain, 'mem'));
    // The heavy instructions carry the IC weights: memory.grow 300, data.drop and elem.drop 300 each, table.grow 300.
    expect(used).toBeGreaterThan(1200n);
    const ops = opcodes(m.info);
    for (const op of [
      0xfc0006, 0xfc0008, 0xfc0009, 0xfc000a, 0xfc000b, 0xfc000c, 0xfc000d, 0xfc000e, 0xfc000f, 0xfc0010,
      0xfc0011,
    ]) {
      expect(ops).toContain(op);
    }
    for (const op of [0x25, 0x26, 0x3f, 0x40, 0x23, 0x24, 0xd0, 0xd1, 0xd2, 0x36, 0x3d, 0x35, 0x33])
      expect(ops).toContain(op);
  });

  it('wasm64: 64-bit addresses, u64 memarg offsets, loads and stores weighted 2', () => {
    const bytes = wat(`(module
      (memory i64 1)
      (func (export "load") (param $p i64) (result i64)
        (i64.store offset=65000 (local.get $p) (i64.const 0x1122334455667788))
        (i64.load offset=65000 (local.get $p)))
      (func (export "size") (result i64) (memory.size)))`);
    const info = decodeModule(bytes);
    expect(info.isWasm64).toBe(true);
    const m = meter(bytes);
    // entry 1 + local.get 1 + i64.const 1 + store 2 + local.get 1 + load 2.
    expect(m.run('load', 100n, 8n)).toEqual({ result: 0x1122334455667788n, used: 8n });
    expect(m.run('size', 100n).result).toBe(1n);
  });

  it('SIMD: memargs, lanes, v128.const, shuffle, load/store lane, arithmetic (0xFD)', () => {
    const bytes = wat(`(module
      (memory 1)
      (func (export "simd") (result i32)
        (local $v v128)
        (v128.store offset=16 (i32.const 0) (v128.const i32x4 1 2 3 4))
        (local.set $v (v128.load offset=16 (i32.const 0)))
        (local.set $v (i8x16.shuffle 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 (local.get $v) (v128.const i64x2 0 0)))
        (local.set $v (i32x4.replace_lane 2 (local.get $v) (i32.const 40)))
        (local.set $v (v128.load32_lane 1 (i32.const 16) (local.get $v)))
        (v128.store64_lane 0 (i32.const 64) (local.get $v))
        (local.set $v (i32x4.add (local.get $v) (v128.load32_splat (i32.const 20))))
        (local.set $v (f64x2.div (local.get $v) (v128.const f64x2 1 1)))
        (local.set $v (v128.load32_zero (i32.const 64)))
        (i32.add
          (i32x4.extract_lane 0 (i32x4.mul (local.get $v) (i32x4.splat (i32.const 3))))
          (i32.add (i8x16.extract_lane_u 4 (local.get $v)) (i32x4.all_true (local.get $v))))))`);
    const m = meter(bytes);
    const { result, used } = m.run('simd', 10_000n);
    expect(result).toBe(call(m.plain, 'simd'));
    expect(used).toBeGreaterThan(30n);
    const ops = opcodes(m.info);
    for (const sub of [
      0x00, 0x09, 0x0b, 0x0c, 0x0d, 0x11, 0x16, 0x1b, 0x1c, 0x56, 0x5b, 0x5c, 0xae, 0xb5, 0xa3, 0xf3,
    ]) {
      expect(ops).toContain(0xfd0000 | sub);
    }
  });

  it('relaxed SIMD and atomics (0xFE) decode', () => {
    const bytes = watMore(`(module
      (memory 1 1 shared)
      (func (export "f") (result i32)
        (local $v v128)
        (local.set $v (i32x4.relaxed_trunc_f32x4_s (v128.const f32x4 1.5 2.5 3.5 4.5)))
        (atomic.fence)
        (i32.atomic.store (i32.const 0) (i32x4.extract_lane 1 (local.get $v)))
        (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 5)))
        (drop (memory.atomic.notify (i32.const 0) (i32.const 0)))
        (i32.atomic.load (i32.const 0))))`);
    const m = meter(bytes);
    expect(m.run('f', 10_000n).result).toBe(call(m.plain, 'f'));
    const ops = opcodes(m.info);
    for (const op of [0xfd0101, 0xfe0003, 0xfe0017, 0xfe001e, 0xfe0000, 0xfe0010]) expect(ops).toContain(op);
  });

  it('multi-memory: a memarg with the memory-index flag (bit 6) and its index', () => {
    // (memory 1) (memory 1) (func (result i32) i32.const 0; i32.load (mem 1) offset=0; end)
    const bytes = rawModule([
      [1, [1, 0x60, 0, 1, 0x7f]],
      [3, [1, 0]],
      [5, [2, 0, 1, 0, 1]],
      [7, [1, 1, 0x66, 0, 0]],
      [10, [1, 8, 0, 0x41, 0, 0x28, 0x42, 1, 0, 0x0b]],
    ]);
    const info = decodeModule(bytes);
    expect(decodeAll(info)[0]!.map((i) => i.opcode)).toEqual([0x41, 0x28, 0x0b]);
    const m = meter(bytes);
    expect(m.run('f', 100n)).toEqual({ result: 0, used: 3n });
  });

  it('reference types and typed function references: call_ref, ref.as_non_null, br_on_null, br_on_non_null', () => {
    // wabt has no text for (ref null $t) locals: hand-encoded.
    const inc = [0, 0x20, 0, 0x41, 1, 0x6a, 0x0b];
    const f = [
      ...[1, 1, 0x63, 0x00], // local $r (ref null 0)
      ...[0xd2, 0, 0x21, 1], // ref.func 0; local.set 1
      ...[0x02, 0x40, 0x20, 1, 0xd5, 0, 0x1a, 0x0b], // block; local.get 1; br_on_null 0; drop; end
      ...[0x02, 0x64, 0x00, 0x20, 1, 0xd6, 0, 0x00, 0x0b, 0x1a], // block (result (ref 0)); local.get 1; br_on_non_null 0; unreachable; end; drop
      ...[0x20, 0, 0x20, 1, 0xd4, 0x14, 0], // local.get 0; local.get 1; ref.as_non_null; call_ref 0
      0x0b,
    ];
    const bytes = rawModule([
      [1, [1, 0x60, 1, 0x7f, 1, 0x7f]],
      [3, [2, 0, 0]],
      [7, [1, 1, 0x66, 0, 1]],
      [9, [1, 3, 0x00, 1, 0]], // declarative segment for ref.func 0
      [10, [2, inc.length, ...inc, ...leb(f.length), ...f]],
    ]);
    const m = meter(bytes);
    expect(m.run('f', 10_000n, 5).result).toBe(6);
    expect(call(m.plain, 'f', 5)).toBe(6);
    const ops = opcodes(m.info);
    for (const op of [0x14, 0xd4, 0xd5, 0xd6]) expect(ops).toContain(op);
    // return_call_ref (wabt has no text for it): local.get 0; ref.func 0; return_call_ref 0; end
    const raw = Uint8Array.from([0, 0x20, 0, 0xd2, 0, 0x15, 0, 0x0b]);
    expect(decodeFunctionBody(raw, 0, raw.length).map((i) => [i.opcode, i.cost])).toEqual([
      [0x20, 1],
      [0xd2, 130],
      [0x15, 1],
      [0x0b, 0],
    ]);
  });

  it('legacy exception handling: try, catch, catch_all, throw, rethrow, delegate', () => {
    const bytes = wat(`(module
      (tag $e (param i32))
      (func $thrower (param i32) (throw $e (local.get 0)))
      (func (export "f") (param $x i32) (result i32)
        (local $r i32)
        (try $outer
          (do
            (try
              (do (call $thrower (local.get $x)))
              (delegate $outer)))
          (catch $e (local.set $r)))
        (try
          (do (try (do (call $thrower (i32.const 2))) (catch_all (rethrow 0))))
          (catch $e (local.set $r (i32.add (local.get $r)))))
        (local.get $r)))`);
    const m = meter(bytes);
    expect(m.run('f', 10_000n, 40).result).toBe(42);
    expect(call(m.plain, 'f', 40)).toBe(42);
    const ops = opcodes(m.info);
    for (const op of [0x06, 0x07, 0x08, 0x09, 0x18, 0x19]) expect(ops).toContain(op);
  });

  it('new exception handling (try_table, throw_ref) decodes and is metered (V8 may not run it yet)', () => {
    // (func (param exnref?) ...) hand-encoded: block (result exnref); try_table (catch_all_ref 0) ... end; unreachable; end; throw_ref; end
    const body = [0, 0x02, 0x69, 0x1f, 0x40, 1, 0x03, 0, 0x01, 0x0b, 0x00, 0x0b, 0x0a, 0x0b];
    const bytes = rawModule([
      [1, [1, 0x60, 0, 0]],
      [3, [1, 0]],
      [10, [1, body.length, ...body]],
    ]);
    const info = decodeModule(bytes);
    expect(decodeAll(info)[0]!.map((i) => i.opcode)).toEqual([
      0x02, 0x1f, 0x01, 0x0b, 0x00, 0x0b, 0x0a, 0x0b,
    ]);
    const code = meterCodeSection(info, 0);
    expect(code?.checks).toBe(1);
    // The entry (with its check; the try_table's body falls through), the unreachable after the try_table's
    // end and the throw_ref after the block's end; nothing after the transfers.
    expect(code?.charges).toBe(3);
  });

  it('names the function and the offset of an opcode it does not know', () => {
    const body = [0, 0xfb, 0x01, 0x0b]; // a GC instruction
    const base = rawModule([
      [1, [1, 0x60, 0, 0]],
      [3, [2, 0, 0]],
      [10, [2, 2, 0, 0x0b, body.length, ...body]],
    ]);
    const bodyStart = base.length - body.length;
    const info = decodeModule(base);
    expect(() => meterCodeSection(info, 0)).toThrow(MeteringError);
    expect(() => meterCodeSection(info, 0)).toThrow(
      `cannot meter function 1: unknown opcode 0xfb at offset 0x${(bodyStart + 1).toString(16)}`,
    );
    // With a name section, the name too.
    const names = [1, ...leb(4), 1, 1, 1, 0x67]; // subsection 1: { 1: "g" }
    const named = decodeModule(withCustomSection(base, 'name', Uint8Array.from(names)));
    expect(() => meterCodeSection(named, 0)).toThrow('cannot meter function 1 (g): unknown opcode 0xfb');
  });

  it('refuses truncated bodies and bodies that do not end with end', () => {
    const noEnd = rawModule([
      [1, [1, 0x60, 0, 0]],
      [3, [1, 0]],
      [10, [1, 2, 0, 0x01]],
    ]);
    expect(() => meterCodeSection(decodeModule(noEnd), 0)).toThrow('does not end with end');
    const truncated = rawModule([
      [1, [1, 0x60, 0, 0]],
      [3, [1, 0]],
      [10, [1, 3, 0, 0x41, 0x80]],
    ]);
    expect(() => meterCodeSection(decodeModule(truncated), 0)).toThrow(MeteringError);
  });
});

describe('the module around the code', () => {
  it('appends the counter as the last global, exported, creating the global section when missing', () => {
    const info = decodeModule(wat('(module (func (export "f")))'));
    expect(info.sections.some((s) => s.id === 6)).toBe(false);
    const out = instrumentModule(info);
    const after = decodeModule(out.bytes);
    expect(after.globals).toEqual([{ valType: 'i64', mutable: true, index: 0 }]);
    expect(after.exports).toContainEqual({ name: 'canister counter_instructions', kind: 'global', index: 0 });
    expect(out.globalExports).toEqual([]);
    const ids = after.sections.map((s) => s.id);
    expect(ids.indexOf(6)).toBeLessThan(ids.indexOf(7));
  });

  it('keeps imported globals, existing globals and locals where they were', () => {
    const bytes = wat(`(module
      (import "env" "g" (global $i i32))
      (global $a (mut i32) (i32.const 1))
      (global $b f64 (f64.const 2))
      (func (export "f") (result i32) (local i64 i64 f32) (local v128) (i32.add (global.get $i) (global.get $a))))`);
    const info = decodeModule(bytes);
    const out = instrumentModule(info);
    expect(out.counterGlobal).toBe(3);
    const after = decodeModule(out.bytes);
    expect(after.globals.map((g) => g.index)).toEqual([1, 2, 3]);
    const [[s0], [s1]] = [bodies(info)[0]!, bodies(after)[0]!];
    // Same locals declaration bytes (3 groups) at the start of the body.
    expect(after.bytes.subarray(s1, s1 + 7)).toEqual(info.bytes.subarray(s0, s0 + 7));
    expect(untouched(after)).toEqual(untouched(info));
  });
});

describe('the Azle stable template', () => {
  const info = decodeModule(azleStableTemplate());
  // Metering alone: dirty-page tracking (dirty-pages.test.ts) touches more sections.
  const out = instrumentModule(info, { dirtyPages: false });
  const after = decodeModule(out.bytes);

  it('decodes every function body to its end', () => {
    const all = decodeAll(info);
    expect(all).toHaveLength(info.codeCount);
    expect(all.reduce((n, b) => n + b.length, 0)).toBeGreaterThan(500_000);
  });

  it('instruments: one counter global, the same functions, every other section byte-identical', () => {
    expect(out.counterGlobal).toBe(info.numImportedGlobals + info.globals.length);
    expect(after.globals).toHaveLength(info.globals.length + 1);
    expect(after.functions).toEqual(info.functions);
    expect(after.codeCount).toBe(info.codeCount);
    expect(after.exports.filter((e) => e.name === 'canister counter_instructions')).toHaveLength(1);
    expect(untouched(after)).toEqual(untouched(info));
    expect(out.meteringCharges).toBeGreaterThan(info.codeCount);
    // Every metered body still decodes, each starting with the entry charge.
    const metered = decodeAll(after);
    const g = out.counterGlobal!;
    // (global.set, or local.tee into the function's counter local when it has a loop).
    const entries = metered.map((b) =>
      b
        .slice(0, 4)
        .map((i) => i.opcode)
        .join(),
    );
    for (const e of entries) expect(['35,66,125,36', '35,66,125,34']).toContain(e);
    expect(entries.filter((e) => e === '35,66,125,34').length).toBeGreaterThan(100);
    expect(metered.length).toBe(info.codeCount);
    expect(g).toBeGreaterThanOrEqual(0);
  });

  it('validates and compiles; with metering off the module round-trips byte for byte apart from the exports', () => {
    expect(wasmValidate(out.bytes)).toBe(true);
    expect(wasmCompileError(out.bytes)).toBeNull();
    const plain = instrumentModule(info, { metering: false, dirtyPages: false });
    const sections = (m: ModuleInfo): string[] =>
      m.sections.filter((s) => s.id !== 7).map((s) => sha(m.bytes.subarray(s.start, s.end)));
    expect(sections(decodeModule(plain.bytes))).toEqual(sections(info));
  });
});

describe('Motoko modules (moc, enhanced persistence: wasm64)', () => {
  it('are metered and compile', async () => {
    const source = readFileSync(new URL('../../fixtures/motoko/counter.mo', import.meta.url), 'utf8');
    const info = decodeModule(await compileMotoko(source));
    expect(info.isWasm64).toBe(true);
    const out = instrumentModule(info);
    expect(out.meteringCharges).toBeGreaterThan(0);
    expect(wasmCompileError(out.bytes)).toBeNull();
  }, 120_000);
});
