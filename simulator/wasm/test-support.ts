/**
 * Helpers for the tests in this folder: WAT → binary with wabt, appending
 * custom sections, and the Azle stable template.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import wabtInit from 'wabt';
import { concatBytes } from '../bytes.ts';
import { ByteWriter, encodeSection } from './binary.ts';
import {
  BYTEMAP_EXPORT,
  CALLBACKS_EXPORT,
  callbackModule,
  SAVE_PAGE_SLOT,
  SAVE_RANGE_SLOT,
} from './dirty-pages.ts';
import { wasmCompile, wasmInstantiate } from './engine.ts';

const wabt = await wabtInit();

/** Compiles WAT (with memory64, reference types, bulk memory, exceptions, SIMD) to a binary, validated by wabt. */
export function wat(src: string): Uint8Array {
  const m = wabt.parseWat('test.wat', src, {
    memory64: true,
    reference_types: true,
    bulk_memory: true,
    exceptions: true,
    simd: true,
  });
  try {
    m.resolveNames();
    m.validate();
    return new Uint8Array(m.toBinary({ write_debug_names: true }).buffer);
  } finally {
    m.destroy();
  }
}

/** Appends a custom section `name` with `payload` to a module. */
export function withCustomSection(bytes: Uint8Array, name: string, payload: Uint8Array | string): Uint8Array {
  const enc = new TextEncoder();
  const content = new ByteWriter();
  content.vec(enc.encode(name));
  const data = typeof payload === 'string' ? enc.encode(payload) : payload;
  content.copy(data, 0, data.length);
  return concatBytes([bytes, encodeSection(0, content.bytes())]);
}

export const AZLE_STABLE_TEMPLATE = fileURLToPath(
  new URL('../../node_modules/azle/dist/canister_templates/stable.wasm', import.meta.url),
);

export function azleStableTemplate(): Uint8Array {
  return new Uint8Array(readFileSync(AZLE_STABLE_TEMPLATE));
}

/** Encodes a u32 as unsigned LEB128. */
export function leb(n: number): number[] {
  const w = new ByteWriter();
  w.uleb(n);
  return [...w.bytes()];
}

/** A module from raw sections: `[id, contents]` pairs, in order. */
export function rawModule(sections: ReadonlyArray<readonly [number, readonly number[]]>): Uint8Array {
  const out: number[] = [0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0];
  for (const [id, body] of sections) {
    out.push(id, ...leb(body.length));
    for (const b of body) out.push(b);
  }
  return Uint8Array.from(out);
}

/** Compiles WAT without wabt's validation (for modules that the engine should reject). */
export function watUnchecked(src: string): Uint8Array {
  const m = wabt.parseWat('test.wat', src, {
    memory64: true,
    reference_types: true,
    bulk_memory: true,
    exceptions: true,
  });
  try {
    m.resolveNames();
    return new Uint8Array(m.toBinary({}).buffer);
  } finally {
    m.destroy();
  }
}

/** A Wasm integer as JS receives it (i32 signed, i64 a bigint), as unsigned. */
const unsigned = (x: number | bigint): bigint =>
  typeof x === 'bigint' ? BigInt.asUintN(64, x) : BigInt(x >>> 0);

/** What the dirty-page callbacks of an instance were called with (`recordWrites`). */
export interface RecordedWrites {
  /** `save_page` arguments, in order. */
  pages: number[];
  /** `save_range` arguments (start, length), in order. */
  ranges: [bigint, bigint][];
  /** Clears the byte map and the records, as a commit would. */
  reset(): void;
}

/**
 * Fills the dirty-page callbacks table of an instance of an instrumented
 * module with callbacks that record their arguments and, like the host, set
 * the page's byte in the byte map. Undefined when the module has no tracking.
 */
export function recordWrites(exports: Record<string, unknown>, wasm64: boolean): RecordedWrites | undefined {
  const table = exports[CALLBACKS_EXPORT] as WebAssembly.Table | undefined;
  const memory = exports[BYTEMAP_EXPORT] as WebAssembly.Memory | undefined;
  if (table === undefined || memory === undefined) return undefined;
  const bytemap = new Uint8Array(memory.buffer);
  const rec: RecordedWrites = {
    pages: [],
    ranges: [],
    reset() {
      bytemap.fill(0);
      rec.pages.length = 0;
      rec.ranges.length = 0;
    },
  };
  const host = wasmInstantiate(wasmCompile(callbackModule(wasm64)), {
    host: {
      page: (p: number) => {
        rec.pages.push(p);
        bytemap[p] = 1;
      },
      range: (dst: number | bigint, len: number | bigint) => rec.ranges.push([unsigned(dst), unsigned(len)]),
    },
  });
  table.set(SAVE_PAGE_SLOT, host['page'] as WebAssembly.ExportValue);
  table.set(SAVE_RANGE_SLOT, host['range'] as WebAssembly.ExportValue);
  return rec;
}
