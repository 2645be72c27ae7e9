import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeStandardBase64, decodeStandardBase64Range } from './base64.ts';

/** The definition both decoders implement: base64 characters, at most two `=`, length % 4 = 0. */
const standard = (s: string) => s.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(s);

/** `decodeStandardBase64Range` on `text` as it sits in a body (UTF-8 bytes, between other bytes). */
function inBody(text: string): Uint8Array | undefined {
  const body = Buffer.concat([Buffer.from('{"payload": "'), Buffer.from(text, 'utf8'), Buffer.from('"}')]);
  return decodeStandardBase64Range(body, 13, body.length - 2);
}

describe('standard base64 decoded from a range of bytes', () => {
  it('gives the verdict and bytes of decodeStandardBase64, across slice boundaries', () => {
    // 200 000 characters, decoded 64 Ki at a time: near-misses at the starts and ends of slices.
    const valid = Buffer.from(new Uint8Array(150_000).map((_, i) => (i * 7919) % 251)).toString('base64');
    const at = fc.constantFrom(0, 65_535, 65_536, 131_071, 131_072, valid.length - 3, valid.length - 1);
    const c = fc.constantFrom('-', '_', ' ', '\n', '=', '.', '\u0000', 'é', 'A', '/');
    const ends = fc.constantFrom('', '=', '==', '===', 'A=', 'AA==', 'AAA=', 'QQ', 'Q', '=A==');
    fc.assert(
      fc.property(at, c, ends, (i, ch, end) => {
        const s = valid.slice(0, i) + ch + valid.slice(i + 1) + end;
        const expected = decodeStandardBase64(s);
        const got = inBody(s);
        expect(got !== undefined).toBe(standard(s));
        expect(got !== undefined).toBe(expected !== undefined);
        if (got && expected) expect(Buffer.compare(got, expected)).toBe(0);
      }),
      { numRuns: 400 },
    );
  });

  it('decodes short bodies like the string decoder', () => {
    for (const s of ['', 'QQ==', 'QUI=', 'QUJD', 'QQ=', 'Q===', '====', 'QUJD\n', 'QUJD-A==', '=QUJ'])
      expect(inBody(s)).toEqual(decodeStandardBase64(s));
  });
});
