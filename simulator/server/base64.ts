/**
 * Standard padded base64 as the `base64` crate's `decode` accepts it (PocketIC's `mod base64`
 * for `Vec<u8>` fields), decoded natively: shared by the codec and by the parser of large
 * literals (`large-literals.ts`), which decodes a base64 literal straight from the body.
 */

/**
 * Standard padded base64: base64 characters (`A–Z a–z 0–9 + /`), then at most two `=`, the
 * length a multiple of 4 (the regular expression `^[A-Za-z0-9+/]*={0,2}$` with that length,
 * which `codec.test.ts` checks this against). Decoded with Node's native decoder and checked
 * without a per-character pass in JavaScript or a regular expression (24 ms for a 1.9 MB
 * argument): Node's decoder skips every character outside its alphabet, so the body decodes
 * to exactly ⌊3·length/4⌋ bytes only when all of its characters are in the alphabet; its
 * alphabet adds base64url's `-` and `_`, which are refused by search. `undefined` otherwise.
 */
export function decodeStandardBase64(s: string): Uint8Array | undefined {
  if (s.length % 4 !== 0) return undefined;
  const firstPad = s.indexOf('=');
  const body = firstPad === -1 ? s.length : firstPad;
  // At most two `=`, and nothing after them.
  if (s.length - body > 2) return undefined;
  for (let i = body; i < s.length; i++) if (s.charCodeAt(i) !== 0x3d) return undefined;
  if (s.indexOf('-') !== -1 || s.indexOf('_') !== -1) return undefined;
  const bytes = Buffer.from(body === s.length ? s : s.slice(0, body), 'base64');
  if (bytes.length !== Math.floor((body * 3) / 4)) return undefined;
  // A Buffer this small may share Node's pool: copy it out; a large one owns its memory.
  return bytes.byteLength === bytes.buffer.byteLength
    ? new Uint8Array(bytes.buffer, 0, bytes.byteLength)
    : new Uint8Array(bytes);
}
