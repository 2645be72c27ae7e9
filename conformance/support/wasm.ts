/**
 * Byte-level helpers for the Wasm modules the specs install: a custom
 * section appended to a module (the IC reads `icp:public <name>` and
 * `icp:private <name>` sections as canister metadata, IC interface
 * specification "Canister module format").
 */

/** Unsigned LEB128, as the Wasm binary format writes sizes and indices. */
export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/** `wasm` with a custom section `name` holding `content` appended (custom sections may come last). */
export function withCustomSection(
  wasm: Uint8Array,
  name: string,
  content: Uint8Array = new Uint8Array(),
): Uint8Array<ArrayBuffer> {
  const nameBytes = new TextEncoder().encode(name);
  const payload = [...uleb(nameBytes.length), ...nameBytes, ...content];
  return Uint8Array.from([...wasm, 0, ...uleb(payload.length), ...payload]);
}

/** The custom section Motoko's enhanced orthogonal persistence marks its modules with. */
export const EOP_SECTION = 'icp:private enhanced-orthogonal-persistence';
