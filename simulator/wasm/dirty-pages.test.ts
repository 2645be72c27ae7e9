import { describe, expect, it } from 'vitest';
import wabtInit from 'wabt';
import { decodeModule } from './decode.ts';
import { HEAP_PAGE_SIZE, isHeapWrite, MAX_MEMORY64_BYTES, trackedPages } from './dirty-pages.ts';
import { wasmCompile, wasmCompileError, wasmInstantiate } from './engine.ts';
import { instrumentModule } from './instrument.ts';
import { decodeFunctionBody, INSTRUCTION_COUNTER_EXPORT } from './meter.ts';
import { azleStableTemplate, recordWrites, wat } from './test-support.ts';

const wabt = await wabtInit();

/** WAT with threads' atomics on top of what `wat` enables. */
function watAtomics(src: string): Uint8Array {
  const m = wabt.parseWat('test.wat', src, { memory64: true, bulk_memory: true, simd: true, threads: true });
  try {
    m.resolveNames();
    return new Uint8Array(m.toBinary({}).buffer);
  } finally {
    m.destroy();
  }
}

type Fn = (...args: unknown[]) => unknown;

/** The module instrumented (metering on) with recording callbacks, and the module as it was. */
function tracked(bytes: Uint8Array) {
  const info = decodeModule(bytes);
  const out = instrumentModule(info);
  expect(wasmCompileError(out.bytes)).toBeNull();
  const exports = wasmInstantiate(wasmCompile(out.bytes));
  const writes = recordWrites(exports, info.isWasm64)!;
  const plain = wasmInstantiate(wasmCompile(bytes));
  const heap = (e: Record<string, unknown>) => new Uint8Array((e['memory'] as WebAssembly.Memory).buffer);
  const counter = exports[INSTRUCTION_COUNTER_EXPORT] as WebAssembly.Global;
  return {
    out,
    writes,
    call: (name: string, ...args: unknown[]) => {
      counter.value = 1_000_000_000n;
      return (exports[name] as Fn)(...args);
    },
    plainCall: (name: string, ...args: unknown[]) => (plain[name] as Fn)(...args),
    heap: () => heap(exports),
    plainHeap: () => heap(plain),
  };
}

const page = (address: number): number => Math.floor(address / HEAP_PAGE_SIZE);

describe('dirty-page tracking: every write to the heap is reported before it happens', () => {
  it('stores of every width and type report the page of address + offset, wrapping like the address', () => {
    const m = tracked(
      wat(`(module (memory (export "memory") 4)
        (func (export "i32") (param i32) (i32.store offset=5000 (local.get 0) (i32.const 1)))
        (func (export "i64") (param i32) (i64.store (local.get 0) (i64.const 2)))
        (func (export "f32") (param i32) (f32.store (local.get 0) (f32.const 3)))
        (func (export "f64") (param i32) (f64.store offset=8 (local.get 0) (f64.const 4)))
        (func (export "narrow") (param i32)
          (i32.store8 (local.get 0) (i32.const 5))
          (i32.store16 offset=4096 (local.get 0) (i32.const 6))
          (i64.store8 offset=8192 (local.get 0) (i64.const 7))
          (i64.store16 offset=12288 (local.get 0) (i64.const 8))
          (i64.store32 offset=16384 (local.get 0) (i64.const 9)))
        (func (export "v128") (param i32)
          (v128.store (local.get 0) (v128.const i64x2 10 11))
          (v128.store64_lane offset=4096 1 (local.get 0) (v128.const i64x2 12 13))))`),
    );
    const cases: [string, number, number[]][] = [
      ['i32', 100, [page(5100)]],
      ['i64', 70_000, [page(70_000)]],
      ['f32', 8, [0]],
      ['f64', 4095, [page(4103)]],
      ['narrow', 3, [0, 1, 2, 3, 4]],
      ['v128', 200_000, [page(200_000), page(204_096)]],
    ];
    for (const [name, address, pages] of cases) {
      m.writes.reset();
      m.call(name, address);
      m.plainCall(name, address);
      expect(m.writes.pages).toEqual(pages);
      expect(Buffer.compare(m.heap(), m.plainHeap())).toBe(0);
    }
  });

  it('reports a page once per commit: the host sets its byte', () => {
    const m = tracked(
      wat(`(module (memory (export "memory") 1)
        (func (export "fill") (local $i i32)
          (loop $l
            (i32.store (local.get $i) (local.get $i))
            (local.set $i (i32.add (local.get $i) (i32.const 4)))
            (br_if $l (i32.lt_u (local.get $i) (i32.const 65536))))))`),
    );
    m.call('fill');
    expect(m.writes.pages).toEqual(Array.from({ length: 16 }, (_, i) => i));
    m.writes.pages.length = 0;
    m.call('fill');
    expect(m.writes.pages).toEqual([]);
    m.writes.reset();
    m.call('fill');
    expect(m.writes.pages).toHaveLength(16);
  });

  it('memory.fill, memory.copy and memory.init report their destination range', () => {
    const m = tracked(
      wat(`(module (memory (export "memory") 2) (data $d "abcdef")
        (func (export "bulk") (param i32 i32)
          (memory.fill (local.get 0) (i32.const 0x11) (local.get 1))
          (memory.copy (i32.add (local.get 0) (i32.const 70000)) (i32.const 0) (local.get 1))
          (memory.init $d (i32.const 9) (i32.const 1) (i32.const 4))))`),
    );
    m.call('bulk', 100, 5000);
    m.plainCall('bulk', 100, 5000);
    expect(m.writes.ranges).toEqual([
      [100n, 5000n],
      [70100n, 5000n],
      [9n, 4n],
    ]);
    expect(m.writes.pages).toEqual([]);
    expect(Buffer.compare(m.heap(), m.plainHeap())).toBe(0);
  });

  it('atomic stores, read-modify-writes and compare-exchanges report their page', () => {
    const m = tracked(
      watAtomics(`(module (memory (export "memory") 2)
        (func (export "atomics") (param i32) (result i64)
          (i32.atomic.store offset=4096 (local.get 0) (i32.const 1))
          (i64.atomic.store8 offset=8192 (local.get 0) (i64.const 2))
          (drop (i32.atomic.rmw.add offset=12288 (local.get 0) (i32.const 3)))
          (drop (i64.atomic.rmw32.xchg_u offset=16384 (local.get 0) (i64.const 4)))
          (drop (i32.atomic.rmw8.cmpxchg_u offset=20480 (local.get 0) (i32.const 0) (i32.const 5)))
          (i64.atomic.rmw.cmpxchg offset=24576 (local.get 0) (i64.const 0) (i64.const 6))))`),
    );
    expect(m.call('atomics', 8)).toBe(m.plainCall('atomics', 8));
    expect(m.writes.pages).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Buffer.compare(m.heap(), m.plainHeap())).toBe(0);
  });

  it('wasm64: 64-bit addresses and offsets, the page index masked to what the byte map covers', () => {
    const m = tracked(
      wat(`(module (memory (export "memory") i64 2)
        (func (export "store") (param i64) (i64.store offset=65000 (local.get 0) (i64.const 7)))
        (func (export "bulk") (param i64 i64)
          (memory.fill (local.get 0) (i32.const 1) (local.get 1))
          (memory.init 0 (local.get 0) (i32.const 0) (i32.const 2)))
        (data "xy"))`),
    );
    m.call('store', 8n);
    m.plainCall('store', 8n);
    m.call('bulk', 3n, 70_000n);
    m.plainCall('bulk', 3n, 70_000n);
    expect(m.writes.pages).toEqual([page(65_008)]);
    expect(m.writes.ranges).toEqual([
      [3n, 70_000n],
      [3n, 2n],
    ]);
    expect(Buffer.compare(m.heap(), m.plainHeap())).toBe(0);
    // An address far out of bounds traps as before; it named a page inside the byte map first.
    m.writes.reset();
    expect(() => m.call('store', 2n ** 40n)).toThrow(/out of bounds/);
    expect(m.writes.pages.at(-1)).toBe(page(2 ** 40 + 65_000) % trackedPages(true));
  });

  it('leaves instruction counts as they were: the checks are not metered', () => {
    const src = `(module (memory (export "memory") 1)
      (func (export "f") (param i32) (result i32) (local $i i32)
        (loop $l
          (i32.store (local.get $i) (local.get $i))
          (memory.fill (local.get $i) (i32.const 0) (i32.const 4))
          (local.set $i (i32.add (local.get $i) (i32.const 4)))
          (br_if $l (i32.lt_u (local.get $i) (local.get 0))))
        (local.get $i)))`;
    const info = decodeModule(wat(src));
    const counts = [true, false].map((dirtyPages) => {
      const out = instrumentModule(info, { dirtyPages });
      const exports = wasmInstantiate(wasmCompile(out.bytes));
      recordWrites(exports, false);
      const counter = exports[INSTRUCTION_COUNTER_EXPORT] as WebAssembly.Global;
      counter.value = 1_000_000n;
      (exports['f'] as Fn)(400);
      return 1_000_000n - (counter.value as bigint);
    });
    expect(counts[0]).toBe(counts[1]);
  });

  it('adds nothing to a module without memory', () => {
    const out = instrumentModule(decodeModule(wat('(module (func (export "canister_query q")))')));
    expect(out.bytemapExport).toBeNull();
    expect(out.callbacksExport).toBeNull();
  });

  it('checks every heap write of the Azle template, which still compiles', () => {
    const info = decodeModule(azleStableTemplate());
    const out = instrumentModule(info);
    expect(wasmCompileError(out.bytes)).toBeNull();
    const code = info.sections.find((s) => s.id === 10)!;
    let writes = 0;
    let p = code.contentStart;
    const u32 = (): number => {
      let r = 0;
      for (let shift = 0; ; shift += 7) {
        const b = info.bytes[p++] as number;
        r += (b & 0x7f) * 2 ** shift;
        if ((b & 0x80) === 0) return r;
      }
    };
    for (let n = u32(); n > 0; n--) {
      const size = u32();
      writes += decodeFunctionBody(info.bytes, p, p + size).filter((i) => isHeapWrite(i.opcode)).length;
      p += size;
    }
    expect(writes).toBeGreaterThan(10_000);
    expect(out.writeChecks).toBe(writes);
  });

  it('the byte map covers every page V8 lets a memory64 memory have', () => {
    const pages = MAX_MEMORY64_BYTES / 65536;
    const memory = (maximum: number) => () =>
      new WebAssembly.Memory({
        initial: 0n,
        maximum: BigInt(maximum),
        address: 'i64',
      } as unknown as WebAssembly.MemoryDescriptor);
    expect(memory(pages)).not.toThrow();
    expect(memory(pages + 1)).toThrow(/upper bound/);
  });
});
