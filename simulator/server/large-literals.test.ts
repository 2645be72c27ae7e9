import fc from 'fast-check';
import { JSONParse } from 'json-with-bigint';
import { describe, expect, it } from 'vitest';
import { decodeCanisterCall, parseJsonText } from './codec.ts';
import { LARGE_LITERAL, parseWithLargeLiterals, takeDecodedBase64 } from './large-literals.ts';

/** What parseJsonText answered before the fast path: the whole text decoded, then JSONParse. */
function reference(bytes: Uint8Array): { value: unknown } | { error: string } {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return { error: 'Failed to parse the request body as JSON: the body is not valid UTF-8' };
  }
  try {
    return { value: JSONParse(text) };
  } catch (e) {
    return { error: `Failed to parse the request body as JSON: ${(e as Error).message}` };
  }
}

function parsed(bytes: Uint8Array): { value: unknown } | { error: string } {
  try {
    return { value: parseJsonText(bytes) };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

const utf8 = (text: string) => new TextEncoder().encode(text);
const base64 = Buffer.from(new Uint8Array(LARGE_LITERAL).map((_, i) => (i * 131) % 256)).toString('base64');

/** Large literals that must come out as JSON.parse reads them, or fail as it fails. */
const LITERALS: Record<string, string> = {
  base64: `"${base64}"`,
  'escaped quote': `"${base64.slice(0, 1000)}\\"${base64.slice(1000)}"`,
  'escaped backslash before the closing quote': `"${base64}\\\\"`,
  'line-feed escape': `"${base64}\\n"`,
  'unicode escape': `"\\u00e9${base64}"`,
  'non-ASCII': `"é${base64}😀"`,
  'raw control character': `"${base64.slice(0, 500)}\u0001${base64.slice(500)}"`,
  'raw tab': `"${base64}\t"`,
  'invalid escape': `"${base64}\\x"`,
  'marker-like text': `"\\u0000icsim-literal-${base64}"`,
  // Near-misses of standard base64, which are still plain text to JSON.
  base64url: `"${base64.replace(/\+/g, '-').replace(/\//g, '_')}-_"`,
  'padding inside': `"${base64.slice(0, 400)}==${base64.slice(400)}"`,
  'space inside': `"${base64.slice(0, 400)} ${base64.slice(400)}"`,
};

describe('large string literals in request bodies', () => {
  it('parse as the whole text parses, in every place a value can sit', () => {
    const literal = fc.constantFrom(...Object.values(LITERALS));
    const small = fc.constantFrom(
      '1',
      '-2.5e3',
      '"a\\"b"',
      'null',
      'true',
      '18446744073709551615',
      '[]',
      '{}',
    );
    const value = fc.oneof(literal, small);
    const body = fc.oneof(
      fc
        .array(fc.tuple(fc.constantFrom('payload', 'sender', 'x', '__proto__'), value), { maxLength: 4 })
        .map((entries) => `{${entries.map(([k, v]) => `"${k}": ${v}`).join(', ')}}`),
      fc.array(value, { maxLength: 4 }).map((values) => ` [ ${values.join(' ,')} ] `),
      // A large literal as a key, and bodies cut short.
      fc.tuple(literal, value).map(([k, v]) => `{${k}: ${v}}`),
      fc.tuple(literal, fc.nat(40)).map(([v, cut]) => `{"payload": ${v}, "n": 1}`.slice(0, -cut - 1)),
    );
    fc.assert(
      fc.property(body, (text) => {
        expect(parsed(utf8(text))).toEqual(reference(utf8(text)));
      }),
      { numRuns: 300 },
    );
  });

  it("reads PicJS's submit body with a 1.9 MB argument to the same value", () => {
    const payload = Buffer.alloc(1_900_000, 7).toString('base64');
    const text = JSON.stringify({
      sender: 'BA==',
      canister_id: 'gAAAAAAQAAEBAQ==',
      method: 'store',
      payload,
      effective_principal: 'None',
    });
    const value = parseJsonText(utf8(text)) as { payload: string };
    expect(value).toEqual(JSON.parse(text));
    // Without the text of the argument going through JSON.parse.
    expect(parseWithLargeLiterals(utf8(text))).toEqual(value);
    expect(value.payload.length).toBe(payload.length);
  });

  it('hands the bytes of a base64 literal, decoded while parsing, to the codec once', () => {
    const arg = new Uint8Array(300_000).map((_, i) => (i * 7919) % 251);
    const text = JSON.stringify({
      sender: 'BA==',
      canister_id: 'gAAAAAAQAAEBAQ==',
      method: 'store',
      payload: Buffer.from(arg).toString('base64'),
      effective_principal: 'None',
    });
    const value = parseJsonText(utf8(text)) as { payload: string };
    const call = decodeCanisterCall(value);
    expect(Buffer.compare(call.arg, arg)).toBe(0);
    // Taken: a second reader decodes the string itself and gets its own buffer.
    expect(takeDecodedBase64(value, 'payload')).toBeUndefined();
    const again = decodeCanisterCall(value);
    expect(Buffer.compare(again.arg, arg)).toBe(0);
    expect(again.arg.buffer).not.toBe(call.arg.buffer);
    // A field changed after parsing is decoded from its new value.
    const changed = parseJsonText(utf8(text)) as { payload: string };
    changed.payload = 'AAEC';
    expect(takeDecodedBase64(changed, 'payload')).toBeUndefined();
    expect([...decodeCanisterCall(changed).arg]).toEqual([0, 1, 2]);
  });

  it('refuses a body that is not UTF-8 outside its large literal', () => {
    const bytes = new Uint8Array([...utf8(`{"a": ${LITERALS.base64}, "b": "`), 0xff, ...utf8('"}')]);
    expect(parsed(bytes)).toEqual(reference(bytes));
    expect(parsed(bytes)).toEqual({ error: expect.stringMatching(/not valid UTF-8/) });
  });
});
