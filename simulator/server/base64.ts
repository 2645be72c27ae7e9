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

/** Characters decoded at a time by `decodeStandardBase64Range`: a multiple of 4, and a string small enough for V8's young generation. */
const SLICE = 64 * 1024;

/**
 * `buf[start, end)` read as text (latin1: one character per byte) and decoded as standard padded
 * base64, with the verdict and bytes of `decodeStandardBase64` on that text, or `undefined`.
 * Decoded a slice at a time straight into the result, so that the megabytes of text never
 * become one string (an external string whose fresh memory costs page faults, and whose size
 * brings V8's next full garbage collection closer); each slice dies young.
 */
export function decodeStandardBase64Range(buf: Buffer, start: number, end: number): Uint8Array | undefined {
  const length = end - start;
  if (length % 4 !== 0) return undefined;
  // At most two trailing `=`; any other `=` stays in the body, where the decoder refuses it.
  let body = length;
  while (body > 0 && length - body < 2 && buf[start + body - 1] === 0x3d) body--;
  // Node's decoder reads base64url's `-` and `_` too: refused by search (memchr on the bytes).
  for (const url of [0x2d, 0x5f]) {
    const at = buf.indexOf(url, start);
    if (at !== -1 && at < end) return undefined;
  }
  const size = Math.floor((body * 3) / 4);
  const bytes = Buffer.allocUnsafeSlow(size);
  let written = 0;
  for (let at = 0; at < body; at += SLICE) {
    const chars = Math.min(SLICE, body - at);
    const n = bytes.write(buf.toString('latin1', start + at, start + at + chars), written, 'base64');
    // Every character outside the alphabet is skipped: fewer bytes than its share.
    if (n !== Math.floor((chars * 3) / 4)) return undefined;
    written += n;
  }
  return new Uint8Array(bytes.buffer, 0, size);
}
