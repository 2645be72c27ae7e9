import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { compileMotoko } from '../../fixtures/motoko.ts';
import { describe, expect, it } from 'vitest';
import { decodeModule, type ModuleInfo } from './decode.ts';
import {
  wasmCompile,
  wasmInstantiate,
  wasmModuleExports,
  wasmModuleImports,
  wasmValidate,
} from './engine.ts';
import { instrumentModule, InstrumentationError } from './instrument.ts';
import { azleStableTemplate, wat } from './test-support.ts';
import { validateCanisterModule } from './validate.ts';

interface TableLike {
  length: number | bigint;
  get(i: number | bigint): unknown;
}
interface GlobalLike {
  value: number | bigint;
}
interface MemoryLike {
  buffer: ArrayBuffer;
}
type Ctor<T> = abstract new (...args: never[]) => T;
const WA = (
  globalThis as unknown as {
    WebAssembly: {
      Table: Ctor<TableLike>;
      Global: Ctor<GlobalLike>;
      Memory: new (d: { initial: number }) => MemoryLike;
    };
  }
).WebAssembly;
const isTable = (x: unknown): x is TableLike => x instanceof WA.Table;
const isGlobal = (x: unknown): x is GlobalLike => x instanceof WA.Global;

/** Stub imports for every function the module imports (they throw if called). */
function stubImports(module: WebAssembly.Module): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const imp of wasmModuleImports(module)) {
    if (imp.kind !== 'function') continue;
    (out[imp.module] ??= {})[imp.name] = () => {
      throw new Error(`unexpected call to ${imp.module}.${imp.name}`);
    };
  }
  return out;
}

/** Hex digests of every section of a kind other than export/start, in order. */
function otherSections(info: ModuleInfo): string[] {
  return info.sections
    .filter((s) => s.id !== 7 && s.id !== 8)
    .map((s) => `${s.id}:${createHash('sha256').update(info.bytes.subarray(s.start, s.end)).digest('hex')}`);
}

// Metering (the global and code sections) is covered by meter.test.ts and
// dirty-page tracking by dirty-pages.test.ts; these tests look at the exports
// and the start section, so most run without them.
describe('instrumentModule on the Azle stable template', () => {
  const info = decodeModule(azleStableTemplate());
  const result = instrumentModule(info, { metering: false, dirtyPages: false });

  it('exports the table, keeps the memory export, exports the mutable global', () => {
    expect(result.tableExport).toBe('table');
    expect(result.memoryExport).toBe('memory');
    expect(result.startExport).toBeNull();
    expect(result.globalExports).toEqual([{ index: 0, name: '__icsim_global_0' }]);
    expect(result.exportedGlobals).toEqual(['__icsim_global_0']);
    const after = decodeModule(result.bytes);
    expect(after.exports).toHaveLength(info.exports.length + 2);
    expect(after.exports).toContainEqual({ name: 'table', kind: 'table', index: 0 });
    expect(after.exports).toContainEqual({ name: '__icsim_global_0', kind: 'global', index: 0 });
    expect(after.exports.filter((e) => e.name === 'memory')).toHaveLength(1);
  });

  it('leaves every other section byte-identical', () => {
    expect(otherSections(decodeModule(result.bytes))).toEqual(otherSections(info));
    expect(result.bytes.length).toBe(
      info.bytes.length + '\x05table\x01\x00'.length + '\x10__icsim_global_0\x03\x00'.length,
    );
  });

  it('still validates, compiles, and instantiates with a reachable funcref table', () => {
    expect(wasmValidate(result.bytes)).toBe(true);
    const module = wasmCompile(result.bytes);
    expect(wasmModuleExports(module).filter((e) => e.kind !== 'function')).toEqual([
      { name: 'memory', kind: 'memory' },
      { name: 'table', kind: 'table' },
      { name: '__icsim_global_0', kind: 'global' },
    ]);
    const exports = wasmInstantiate(module, stubImports(module));
    const table = exports['table'];
    expect(isTable(table)).toBe(true);
    if (isTable(table)) {
      expect(Number(table.length)).toBe(Number(info.tables[0]?.limits.min));
      // Element segments are in place: some slot holds a callable.
      let callable = 0;
      for (let i = 0; i < Number(table.length); i++) if (typeof table.get(i) === 'function') callable++;
      expect(callable).toBeGreaterThan(100);
    }
    const g = exports['__icsim_global_0'];
    expect(isGlobal(g) ? typeof g.value : 'missing').toBe('number');
  });
});

describe('instrumentModule on small modules', () => {
  it('moves the start function to canister_start, so instantiation no longer runs it', () => {
    const bytes = wat(`(module
      (global $count (mut i32) (i32.const 0))
      (global $k i32 (i32.const 9))
      (func $start (global.set $count (i32.add (global.get $count) (i32.const 1))))
      (func (export "get") (result i32) (global.get $count))
      (start $start))`);
    const info = decodeModule(bytes);
    const result = instrumentModule(info);
    expect(result.startExport).toBe('canister_start');
    expect(result.counterExport).toBe('canister counter_instructions');
    expect(result.counterGlobal).toBe(2);
    expect(result.globalExports).toEqual([{ index: 0, name: '__icsim_global_0' }]);
    const after = decodeModule(result.bytes);
    expect(after.start).toBeNull();
    expect(after.sections.some((s) => s.id === 8)).toBe(false);
    // Immutable globals are not exported.
    expect(after.exports.some((e) => e.kind === 'global' && e.index === 1)).toBe(false);

    const exports = wasmInstantiate(wasmCompile(result.bytes));
    const count = exports['__icsim_global_0'];
    const start = exports['canister_start'];
    const budget = exports['canister counter_instructions'];
    if (!isGlobal(count) || !isGlobal(budget) || typeof start !== 'function')
      throw new Error('missing exports');
    expect(count.value).toBe(0);
    budget.value = 1000n;
    start();
    expect(count.value).toBe(1);
    // The original runs its start function at instantiation.
    const get = wasmInstantiate(wasmCompile(bytes))['get'];
    expect(typeof get === 'function' ? get() : undefined).toBe(1);
  });

  it('inserts an export section where the module had none, before the code section', () => {
    const bytes = wat(`(module
      (memory 1)
      (table 2 funcref)
      (global (mut i64) (i64.const 42))
      (func $f)
      (elem (i32.const 0) $f))`);
    const info = decodeModule(bytes);
    expect(info.sections.some((s) => s.id === 7)).toBe(false);
    const result = instrumentModule(info, { metering: false, dirtyPages: false });
    const after = decodeModule(result.bytes);
    const ids = after.sections.map((s) => s.id);
    expect(ids.indexOf(7)).toBeGreaterThan(ids.indexOf(6));
    expect(ids.indexOf(7)).toBeLessThan(ids.indexOf(9));
    expect(after.exports).toEqual([
      { name: 'table', kind: 'table', index: 0 },
      { name: 'memory', kind: 'memory', index: 0 },
      { name: '__icsim_global_0', kind: 'global', index: 0 },
    ]);
    expect(otherSections(after)).toEqual(otherSections(info));
    const exports = wasmInstantiate(wasmCompile(result.bytes));
    const g = exports['__icsim_global_0'];
    expect(isGlobal(g) ? g.value : undefined).toBe(42n);
  });

  it('reuses existing exports of mutable globals, table and memory', () => {
    const info = decodeModule(
      wat(`(module
        (memory (export "memory") 1)
        (table (export "table") 1 funcref)
        (global (export "sp") (mut i32) (i32.const 0)))`),
    );
    const result = instrumentModule(info, { metering: false, dirtyPages: false });
    expect(result.globalExports).toEqual([{ index: 0, name: 'sp' }]);
    expect(decodeModule(result.bytes).exports).toEqual(info.exports);
  });

  it('adds "memory" and "table" even when the module exports them under other names (Motoko: "mem")', () => {
    const info = decodeModule(
      wat('(module (memory (export "mem") i64 1) (table (export "tbl") i64 1 funcref))'),
    );
    const after = decodeModule(instrumentModule(info).bytes);
    expect(after.exports).toEqual([
      { name: 'mem', kind: 'memory', index: 0 },
      { name: 'tbl', kind: 'table', index: 0 },
      { name: 'table', kind: 'table', index: 0 },
      { name: 'memory', kind: 'memory', index: 0 },
      { name: 'canister counter_instructions', kind: 'global', index: 0 },
      // Dirty-page tracking: a memory and a table after the module's own.
      { name: 'icsim dirty_bytemap', kind: 'memory', index: 1 },
      { name: 'icsim dirty_callbacks', kind: 'table', index: 1 },
    ]);
  });

  it('exports an imported memory, so the host sees the memory it provided', () => {
    const info = decodeModule(wat('(module (import "env" "memory" (memory 1)))'));
    const result = instrumentModule(info);
    expect(result.memoryExport).toBe('memory');
    const mem = new WA.Memory({ initial: 1 });
    const exports = wasmInstantiate(wasmCompile(result.bytes), { env: { memory: mem } });
    expect(exports['memory']).toBe(mem);
  });

  it('handles a module without table or memory', () => {
    const result = instrumentModule(decodeModule(wat('(module (func (export "canister_query q")))')));
    expect(result.tableExport).toBeNull();
    expect(result.memoryExport).toBeNull();
    expect(wasmValidate(result.bytes)).toBe(true);
  });

  it('refuses when a needed export name is taken by something else', () => {
    const info = decodeModule(wat('(module (table 1 funcref) (func (export "table")))'));
    expect(() => instrumentModule(info)).toThrow(InstrumentationError);
    expect(() => instrumentModule(info)).toThrow(
      'cannot export table 0 as "table": the module already exports func 0 under that name',
    );
  });

  it('exports a 64-bit table whose JS indices are BigInts (Node 24 runs wasm64 with table64)', () => {
    const info = decodeModule(
      wat(`(module
        (memory i64 1)
        (table i64 2 funcref)
        (type $t (func (result i32)))
        (func $seven (result i32) (i32.const 7))
        (elem (i64.const 1) $seven)
        (func (export "via_table") (result i32) (call_indirect (type $t) (i64.const 1))))`),
    );
    const result = instrumentModule(info, { metering: false, dirtyPages: false });
    const exports = wasmInstantiate(wasmCompile(result.bytes));
    const table = exports['table'];
    if (!isTable(table)) throw new Error('no table export');
    expect(table.length).toBe(2n);
    const f = table.get(1n);
    expect(typeof f === 'function' ? f() : undefined).toBe(7);
    expect(() => table.get(1)).toThrow(TypeError);
    const viaTable = exports['via_table'];
    expect(typeof viaTable === 'function' ? viaTable() : undefined).toBe(7);
  });
});

const counterSource = readFileSync(new URL('../../fixtures/motoko/counter.mo', import.meta.url), 'utf8');

describe('Motoko modules (moc, enhanced and classic persistence)', () => {
  it.each(['enhanced', 'classic'] as const)(
    '%s: validates, moves its start function and compiles',
    async (persistence) => {
      const info = decodeModule(await compileMotoko(counterSource, { persistence }));
      expect(info.isWasm64).toBe(persistence === 'enhanced');
      expect(() => validateCanisterModule(info)).not.toThrow();
      const result = instrumentModule(info);
      expect(result.startExport).toBe(info.start === null ? null : 'canister_start');
      expect(result.tableExport).toBe('table');
      expect(result.memoryExport).toBe('memory');
      const module = wasmCompile(result.bytes);
      expect(wasmModuleExports(module).map((e) => e.name)).toContain('memory');
      expect(info.metadata.map((m) => m.name)).toContain('candid:service');
    },
    120_000,
  );
});
