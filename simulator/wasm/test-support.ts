/**
 * Helpers for the tests in this folder: WAT → binary with wabt, appending
 * custom sections, and the Azle stable template.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import wabtInit from 'wabt';

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

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}

/** Appends a custom section `name` with `payload` to a module. */
export function withCustomSection(bytes: Uint8Array, name: string, payload: Uint8Array | string): Uint8Array {
  const enc = new TextEncoder();
  const nameBytes = enc.encode(name);
  const data = typeof payload === 'string' ? enc.encode(payload) : payload;
  const nameLen = uleb(nameBytes.length);
  const size = uleb(nameLen.length + nameBytes.length + data.length);
  const out = new Uint8Array(
    bytes.length + 1 + size.length + nameLen.length + nameBytes.length + data.length,
  );
  let at = 0;
  for (const part of [bytes, [0], size, nameLen, nameBytes, data]) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

export const AZLE_STABLE_TEMPLATE = fileURLToPath(
  new URL('../../node_modules/azle/dist/canister_templates/stable.wasm', import.meta.url),
);

export function azleStableTemplate(): Uint8Array {
  return new Uint8Array(readFileSync(AZLE_STABLE_TEMPLATE));
}

/** Encodes a u32 as unsigned LEB128. */
export function leb(n: number): number[] {
  return uleb(n);
}

/** A module from raw sections: `[id, contents]` pairs, in order. */
export function rawModule(sections: ReadonlyArray<readonly [number, readonly number[]]>): Uint8Array {
  const out: number[] = [0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0];
  for (const [id, body] of sections) {
    out.push(id, ...uleb(body.length));
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
