import { describe, expect, it } from 'vitest';
import { ByteReader, ByteWriter, encodeSection } from './binary.ts';

class TestReader extends ByteReader {
  fail(what: string, at = this.pos): never {
    throw new Error(`${what} @${at}`);
  }
  protected inputName(): string {
    return 'the input';
  }
}

const written = (write: (w: ByteWriter) => void): number[] => {
  const w = new ByteWriter(1);
  write(w);
  return [...w.bytes()];
};

describe('LEB128', () => {
  it('encodes as the spec examples do', () => {
    expect(written((w) => w.uleb(0))).toEqual([0x00]);
    expect(written((w) => w.uleb(624485))).toEqual([0xe5, 0x8e, 0x26]);
    expect(written((w) => w.uleb(2 ** 32 - 1))).toEqual([0xff, 0xff, 0xff, 0xff, 0x0f]);
    expect(written((w) => w.sleb(63))).toEqual([0x3f]);
    expect(written((w) => w.sleb(64))).toEqual([0xc0, 0x00]);
    expect(written((w) => w.sleb(-1))).toEqual([0x7f]);
    expect(written((w) => w.sleb(-64))).toEqual([0x40]);
    expect(written((w) => w.sleb(-65))).toEqual([0xbf, 0x7f]);
    expect(written((w) => w.sleb(-123456))).toEqual([0xc0, 0xbb, 0x78]);
  });

  it('reads back what it writes', () => {
    for (const n of [0, 1, 127, 128, 300, 2 ** 21, 2 ** 31, 2 ** 32 - 1]) {
      const r = new TestReader(Uint8Array.from(written((w) => w.uleb(n))));
      expect(r.u32()).toBe(n);
      expect(r.eof()).toBe(true);
    }
    for (const n of [0, 5, -5, 63, 64, -64, -65, 2 ** 40, -(2 ** 40)]) {
      const bytes = Uint8Array.from(written((w) => w.sleb(n)));
      expect(new TestReader(bytes).sleb(64, 'n')).toBe(BigInt(n));
      const r = new TestReader(bytes);
      r.skipLeb('n');
      expect(r.eof()).toBe(true);
    }
  });

  it('refuses truncated and over-long input', () => {
    expect(() => new TestReader(Uint8Array.from([0x80])).u32('x')).toThrow(
      'unexpected end of the input, expected x @1',
    );
    expect(() => new TestReader(Uint8Array.from([0x80, 0x80, 0x80, 0x80, 0x80, 0])).u32('x')).toThrow(
      'invalid LEB128 for x: more than 5 bytes @0',
    );
    expect(() => new TestReader(new Uint8Array(11).fill(0x80)).skipLeb('x')).toThrow(
      'invalid LEB128 for x: more than 10 bytes @0',
    );
    expect(() => new TestReader(Uint8Array.from([1, 2])).skip(3, 'x')).toThrow(
      'unexpected end of the input, expected 3 bytes of x @0',
    );
  });
});

describe('sections', () => {
  it('frames contents with the id and the size', () => {
    expect([...encodeSection(7, new Uint8Array(200).fill(9))].slice(0, 4)).toEqual([7, 0xc8, 0x01, 9]);
    const w = new ByteWriter();
    w.vec(new TextEncoder().encode('ab'));
    expect([...w.bytes()]).toEqual([2, 0x61, 0x62]);
  });
});
