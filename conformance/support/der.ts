/** DER (X.690) encoding of one tag-length-value, for the public keys the specs build by hand. */

/** DER length octets: short form below 128, else the long form. */
function derLength(n: number): number[] {
  if (n < 0x80) return [n];
  const out: number[] = [];
  for (let m = n; m > 0; m >>= 8) out.unshift(m & 0xff);
  return [0x80 | out.length, ...out];
}

/**
 * One DER element: `tag`, its length, `content`.
 * @example der(0x30, Uint8Array.from([...algorithm, ...bitString])) // a SEQUENCE
 */
export const der = (tag: number, content: Uint8Array): Uint8Array<ArrayBuffer> =>
  Uint8Array.from([tag, ...derLength(content.length), ...content]);
