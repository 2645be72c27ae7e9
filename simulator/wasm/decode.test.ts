import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeModule, functionType, WasmDecodeError } from './decode.ts';
import { azleStableTemplate, wat, withCustomSection } from './test-support.ts';

describe('decodeModule on the Azle stable template', () => {
  const info = decodeModule(azleStableTemplate());

  it('reads its 44 ic0 imports with their types', () => {
    const funcs = info.imports.filter((i) => i.kind === 'func');
    expect(funcs).toHaveLength(44);
    expect(funcs.every((i) => i.module === 'ic0')).toBe(true);
    expect(funcs[0]).toMatchObject({ name: 'stable64_size', index: 0 });
    expect(funcs[43]).toMatchObject({ name: 'call_perform', index: 43 });
    const callNew = funcs.find((i) => i.name === 'call_new');
    expect(callNew?.kind === 'func' ? info.types[callNew.typeIndex] : undefined).toEqual({
      params: Array(8).fill('i32'),
      results: [],
    });
    expect(info.numImportedFunctions).toBe(44);
  });

  it('reads counts, one unexported table, one 32-bit memory, one mutable global', () => {
    expect(info.types).toHaveLength(147);
    expect(info.functions).toHaveLength(3350);
    expect(info.codeCount).toBe(3350);
    expect(info.elementCount).toBe(1);
    expect(info.dataSegments).toHaveLength(2);
    expect(info.tables).toHaveLength(1);
    expect(info.tables[0]?.elementType).toBe('funcref');
    expect(info.tables[0]?.limits.is64).toBe(false);
    expect(info.memories).toHaveLength(1);
    expect(info.isWasm64).toBe(false);
    expect(info.globals).toEqual([{ valType: 'i32', mutable: true, index: 0 }]);
    expect(info.exports.some((e) => e.kind === 'table')).toBe(false);
    expect(info.exports.find((e) => e.name === 'memory')).toEqual({
      name: 'memory',
      kind: 'memory',
      index: 0,
    });
    expect(info.start).toBeNull();
  });

  it('reads its entry points as exports', () => {
    const names = info.exports.map((e) => e.name);
    expect(names).toContain('canister_update _azle_chunk');
    expect(names).toContain('canister_query _azle_is_job_queue_empty');
    expect(info.exports).toHaveLength(69);
  });

  it('reads function names from the name section and lists custom sections with their byte ranges', () => {
    expect(info.functionNames.get(0)).toContain('stable64_size');
    expect(info.functionNames.size).toBeGreaterThan(3000);
    expect(info.customSections.map((c) => c.name)).toEqual(['name', 'producers', 'target_features']);
    const producers = info.customSections[1];
    expect(producers).toBeDefined();
    if (producers) {
      // wasm-objdump: Custom start=0x002dd864 end=0x002dd92a "producers"; the payload follows the 1+9 byte name.
      expect(producers.payloadEnd).toBe(0x2dd92a);
      expect(producers.payloadStart).toBe(0x2dd864 + 10);
    }
    expect(info.metadata).toEqual([]);
  });

  it('records where each section sits', () => {
    const code = info.sections.find((s) => s.id === 10);
    expect(code).toMatchObject({ contentStart: 0x2685, end: 0x230cf5 });
    expect(info.codeSectionSize).toBe(0x230cf5 - 0x2685);
  });
});

describe('decodeModule on small modules', () => {
  it('decodes a wasm64 module with a 64-bit table and reports isWasm64', () => {
    const bytes = wat(`(module
      (memory i64 2 10)
      (table i64 3 funcref)
      (func $f)
      (elem (i64.const 0) $f))`);
    const info = decodeModule(bytes);
    expect(info.isWasm64).toBe(true);
    expect(info.memories[0]).toEqual({ min: 2n, max: 10n, is64: true, shared: false });
    expect(info.tables[0]?.limits).toEqual({ min: 3n, max: null, is64: true, shared: false });
    expect(info.elementCount).toBe(1);
  });

  it('decodes a 64-bit limit above 2^32', () => {
    const info = decodeModule(wat('(module (memory i64 1 0x100000001))'));
    expect(info.memories[0]?.max).toBe(0x100000001n);
  });

  it('notes memory and table imports and takes memory 0 from the imports', () => {
    const info = decodeModule(
      wat(`(module
        (import "env" "memory" (memory i64 1))
        (import "env" "table" (table 4 funcref)))`),
    );
    expect(info.imports).toEqual([
      {
        module: 'env',
        name: 'memory',
        index: 0,
        kind: 'memory',
        memory: { min: 1n, max: null, is64: true, shared: false },
      },
      {
        module: 'env',
        name: 'table',
        index: 0,
        kind: 'table',
        table: { elementType: 'funcref', limits: { min: 4n, max: null, is64: false, shared: false } },
      },
    ]);
    expect(info.numImportedMemories).toBe(1);
    expect(info.numImportedTables).toBe(1);
    expect(info.isWasm64).toBe(true);
  });

  it('reads globals, the start function, data offsets and function types', () => {
    const info = decodeModule(
      wat(`(module
        (import "ic0" "time" (func $time (result i64)))
        (global $a (mut i64) (i64.const 5))
        (global $b i32 (i32.const 1))
        (memory 1)
        (func $init (param i32) (result i32) local.get 0)
        (func $s (data.drop 1))
        (start $s)
        (data (i32.const 16) "hello")
        (data "passive"))`),
    );
    expect(info.globals).toEqual([
      { valType: 'i64', mutable: true, index: 0 },
      { valType: 'i32', mutable: false, index: 1 },
    ]);
    expect(info.start).toBe(2);
    expect(info.dataSegments).toEqual([
      { mode: 'active', memoryIndex: 0, offset: { ops: [{ op: 'i32.const', value: 16 }] }, size: 5 },
      { mode: 'passive', memoryIndex: 0, offset: null, size: 7 },
    ]);
    expect(info.dataCount).toBe(2);
    expect(functionType(info, 0)).toEqual({ params: [], results: ['i64'] });
    expect(functionType(info, 1)).toEqual({ params: ['i32'], results: ['i32'] });
    expect(functionType(info, 9)).toBeUndefined();
    expect(info.functionNames.get(1)).toBe('init');
  });

  it('reads icp:public / icp:private metadata, keeping the name after the first space', () => {
    let bytes = wat('(module)');
    bytes = withCustomSection(bytes, 'icp:public candid:service', 'service : {}');
    bytes = withCustomSection(bytes, 'icp:private  spaced', new Uint8Array([1, 2, 3]));
    bytes = withCustomSection(bytes, 'other', 'x');
    const info = decodeModule(bytes);
    expect(info.metadata).toEqual([
      { name: 'candid:service', visibility: 'public', content: new TextEncoder().encode('service : {}') },
      { name: ' spaced', visibility: 'private', content: new Uint8Array([1, 2, 3]) },
    ]);
    expect(info.customSections.map((c) => c.name)).toEqual([
      'name',
      'icp:public candid:service',
      'icp:private  spaced',
      'other',
    ]);
  });

  it('ignores a malformed name section', () => {
    const bytes = withCustomSection(wat('(module (func))'), 'name', new Uint8Array([1, 50, 7]));
    expect(decodeModule(bytes).functionNames.size).toBe(0);
  });
});

describe('gzip input', () => {
  it('gunzips, keeps both byte arrays and decodes the same module', () => {
    const plain = wat('(module (memory 1) (func (export "canister_update go")))');
    const gz = new Uint8Array(gzipSync(plain));
    const info = decodeModule(gz);
    expect(info.gzipped).toBe(true);
    expect(info.rawBytes).toBe(gz);
    expect(info.bytes).toEqual(plain);
    expect(info.exports).toEqual([{ name: 'canister_update go', kind: 'func', index: 0 }]);
  });

  it('decodes the gzipped Azle template like the plain one', () => {
    const plain = azleStableTemplate();
    const info = decodeModule(new Uint8Array(gzipSync(plain)));
    expect(info.bytes.length).toBe(plain.length);
    expect(info.imports).toHaveLength(44);
  });

  it('rejects a broken gzip stream with the IC reason', () => {
    const gz = new Uint8Array(gzipSync(wat('(module)')));
    const broken = gz.slice();
    broken.fill(0xff, 10, gz.length - 8); // the deflate data; the trailer (size) stays
    const err = catchDecode(() => decodeModule(broken));
    expect(err.icReason).toMatch(/^failed to decode compressed Wasm module: /);
  });

  it('refuses a gzip bomb before it reaches memory, by the size its trailer declares or by decompressing at most 100 MiB', () => {
    const bomb = new Uint8Array(gzipSync(new Uint8Array(101 * 1024 * 1024)));
    expect(bomb.length).toBeLessThan(200_000);
    expect(catchDecode(() => decodeModule(bomb)).tooLarge).toBe(101 * 1024 * 1024);
    // A trailer that lies about the size: decompression stops at the limit.
    const lying = bomb.slice();
    new DataView(lying.buffer).setUint32(lying.length - 4, 100, true);
    expect(catchDecode(() => decodeModule(lying)).tooLarge).toBe(100 * 1024 * 1024 + 1);
  });

  it('rejects a gzip stream shorter than 16 bytes', () => {
    const err = catchDecode(() => decodeModule(new Uint8Array([0x1f, 0x8b, 0x08, 0, 0])));
    expect(err.icReason).toBe('invalid Wasm module: gzip stream is too short');
  });
});

function catchDecode(f: () => unknown): WasmDecodeError {
  try {
    f();
  } catch (e) {
    if (e instanceof WasmDecodeError) return e;
    throw e;
  }
  throw new Error('expected a WasmDecodeError');
}

describe('bad bytes', () => {
  it('rejects unknown magic with the IC reason and says what was found', () => {
    const err = catchDecode(() => decodeModule(new TextEncoder().encode('hello world')));
    expect(err.icReason).toBe('unsupported canister module format');
    expect(err.message).toContain('found 68 65 6c 6c');
  });

  it('rejects an empty input', () => {
    expect(catchDecode(() => decodeModule(new Uint8Array())).icReason).toBe(
      'unsupported canister module format',
    );
  });

  it('rejects a wrong version at offset 4', () => {
    const err = catchDecode(() => decodeModule(new Uint8Array([0, 0x61, 0x73, 0x6d, 2, 0, 0, 0])));
    expect(err.offset).toBe(4);
    expect(err.message).toMatch(
      /unsupported binary version 02 00 00 00, expected 01 00 00 00 \(at offset 0x4\)/,
    );
    expect(err.icReason).toBeUndefined();
  });

  it('rejects a section that runs past the end, naming its offset', () => {
    const err = catchDecode(() =>
      decodeModule(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 0x10, 0])),
    );
    expect(err.offset).toBe(8);
    expect(err.message).toContain('section 1 claims 16 bytes but only 1 remain');
  });

  it('rejects an over-long u32 LEB128', () => {
    // type section, size 6, count encoded in 6 bytes
    const err = catchDecode(() =>
      decodeModule(
        new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 6, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00]),
      ),
    );
    expect(err.offset).toBe(10);
    expect(err.message).toMatch(/invalid LEB128 for the type count/);
  });

  it('rejects a u32 LEB128 whose fifth byte overflows 32 bits', () => {
    const err = catchDecode(() =>
      decodeModule(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 5, 0xff, 0xff, 0xff, 0xff, 0x1f])),
    );
    expect(err.message).toMatch(/does not fit in 32 bits/);
  });

  it('rejects an unknown section id and out-of-order sections', () => {
    expect(
      catchDecode(() => decodeModule(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 42, 0]))).message,
    ).toMatch(/unknown section id 42 \(at offset 0x8\)/);
    // memory section (5) before type section (1)
    const outOfOrder = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 5, 1, 0, 1, 1, 0]);
    expect(catchDecode(() => decodeModule(outOfOrder)).message).toMatch(
      /section id 1 out of order \(at offset 0xb\)/,
    );
  });

  it('rejects a bad value type, naming the byte and offset', () => {
    // type section: 1 type, func, 1 param of type 0x42
    const err = catchDecode(() =>
      decodeModule(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 5, 1, 0x60, 1, 0x42, 0])),
    );
    expect(err.message).toBe('expected a value type, found 0x42 (at offset 0xd)');
  });

  it('rejects trailing bytes inside a section', () => {
    const err = catchDecode(() =>
      decodeModule(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 2, 0, 0])),
    );
    expect(err.message).toMatch(/section 1 has 1 unexpected trailing bytes/);
  });

  it('rejects invalid UTF-8 in an export name', () => {
    // export section: 1 export, name length 1 = 0xff, kind func, index 0 (validity beyond the decoder is not checked)
    const err = catchDecode(() =>
      decodeModule(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 7, 5, 1, 1, 0xff, 0, 0])),
    );
    expect(err.message).toBe('invalid UTF-8 in an export name (at offset 0xc)');
  });

  it('rejects a function section without matching code section', () => {
    const bytes = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 4, 1, 0x60, 0, 0, 3, 2, 1, 0]);
    expect(catchDecode(() => decodeModule(bytes)).message).toMatch(
      /inconsistent lengths: 1 functions, 0 bodies/,
    );
  });

  it('attaches the uncompressed bytes to structural errors inside a gzipped module', () => {
    const broken = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 42, 0]);
    const err = catchDecode(() => decodeModule(new Uint8Array(gzipSync(broken))));
    expect(err.moduleBytes).toEqual(broken);
  });
});
