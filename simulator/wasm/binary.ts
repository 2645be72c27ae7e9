/**
 * The Wasm binary format's primitives, shared by the decoder (`decode.ts`),
 * the instrumenter (`instrument.ts`) and the meter (`meter.ts`) so that each
 * encoding exists once: a cursor with LEB128 readers, a growable writer with
 * LEB128 encoders, and section framing (id, size, contents).
 */

/**
 * A cursor over `bytes[pos, end)`. Subclasses say how a failure is reported
 * (the decoder throws `WasmDecodeError`, the meter `MeteringError` naming the
 * function) and how the input is called in messages.
 */
export abstract class ByteReader {
  readonly bytes: Uint8Array;
  pos: number;
  end: number;
  constructor(bytes: Uint8Array, pos = 0, end = bytes.length) {
    this.bytes = bytes;
    this.pos = pos;
    this.end = end;
  }

  /** Throws this reader's error for `what` at byte offset `at`. */
  abstract fail(what: string, at?: number): never;

  /** What ran out, for "unexpected end of …" messages ("module", "the function body"). */
  protected abstract inputName(): string;

  eof(): boolean {
    return this.pos >= this.end;
  }

  byte(what = 'a byte'): number {
    if (this.pos >= this.end) this.fail(`unexpected end of ${this.inputName()}, expected ${what}`);
    return this.bytes[this.pos++] as number;
  }

  /** Moves past `n` bytes without copying them. */
  skip(n: number, what: string): void {
    if (n > this.end - this.pos)
      this.fail(`unexpected end of ${this.inputName()}, expected ${n} bytes of ${what}`);
    this.pos += n;
  }

  take(n: number, what: string): Uint8Array {
    const at = this.pos;
    this.skip(n, what);
    return this.bytes.subarray(at, this.pos);
  }

  /** Unsigned LEB128, at most 32 bits. */
  u32(what = 'a u32'): number {
    // On the meter's path for every body and br_table: the bytes are read here, not through byte().
    const bytes = this.bytes;
    const at = this.pos;
    let p = at;
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 5; i++) {
      if (p >= this.end) this.fail(`unexpected end of ${this.inputName()}, expected ${what}`, p);
      const b = bytes[p++] as number;
      if (i === 4 && b & 0x70) this.fail(`invalid LEB128 for ${what}: value does not fit in 32 bits`, at);
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) {
        this.pos = p;
        return result;
      }
      shift += 7;
    }
    return this.fail(`invalid LEB128 for ${what}: more than 5 bytes`, at);
  }

  /** Unsigned LEB128, at most 64 bits. */
  u64(what = 'a u64'): bigint {
    const at = this.pos;
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      const b = this.byte(what);
      if (i === 9 && b & 0x7e) this.fail(`invalid LEB128 for ${what}: value does not fit in 64 bits`, at);
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
    }
    return this.fail(`invalid LEB128 for ${what}: more than 10 bytes`, at);
  }

  /** Signed LEB128 of up to `bits` bits. */
  sleb(bits: 32 | 33 | 64, what: string): bigint {
    const at = this.pos;
    let result = 0n;
    let shift = 0n;
    const maxBytes = Math.ceil(bits / 7);
    for (let i = 0; i < maxBytes; i++) {
      const b = this.byte(what);
      result |= BigInt(b & 0x7f) << shift;
      shift += 7n;
      if ((b & 0x80) === 0) {
        if (shift < 64n && b & 0x40) result -= 1n << shift;
        return BigInt.asIntN(bits === 33 ? 64 : bits, result);
      }
    }
    return this.fail(`invalid signed LEB128 for ${what}: more than ${maxBytes} bytes`, at);
  }

  /** Moves past a LEB128 of up to 64 bits, signed or not, without decoding it (no BigInt). */
  skipLeb(what: string): void {
    const bytes = this.bytes;
    let p = this.pos;
    for (let i = 0; i < 10; i++) {
      if (p >= this.end) this.fail(`unexpected end of ${this.inputName()}, expected ${what}`, p);
      if (((bytes[p++] as number) & 0x80) === 0) {
        this.pos = p;
        return;
      }
    }
    this.fail(`invalid LEB128 for ${what}: more than 10 bytes`, this.pos);
  }
}

/** A growable byte buffer with the LEB128 encoders. */
export class ByteWriter {
  buf: Uint8Array;
  len = 0;
  constructor(capacity = 16) {
    this.buf = new Uint8Array(Math.max(16, capacity));
  }
  reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }
  byte(b: number): void {
    this.reserve(1);
    this.buf[this.len++] = b;
  }
  /** Unsigned LEB128 of a non-negative safe integer. */
  uleb(n: number): void {
    this.reserve(8);
    do {
      let b = n % 128;
      n = Math.floor(n / 128);
      if (n > 0) b |= 0x80;
      this.buf[this.len++] = b;
    } while (n > 0);
  }
  /** Signed LEB128 of a safe integer. */
  sleb(n: number): void {
    this.reserve(10);
    for (;;) {
      let b = n % 128;
      if (b < 0) b += 128;
      n = Math.floor(n / 128);
      if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
        this.buf[this.len++] = b;
        return;
      }
      this.buf[this.len++] = b | 0x80;
    }
  }
  /** `src[from, to)`. */
  copy(src: Uint8Array, from: number, to: number): void {
    const n = to - from;
    this.reserve(n);
    if (n <= 32) {
      // The meter copies many short runs between charges: a loop is cheaper than a subarray for each.
      const buf = this.buf;
      let len = this.len;
      for (let i = from; i < to; i++) buf[len++] = src[i] as number;
      this.len = len;
    } else {
      this.buf.set(src.subarray(from, to), this.len);
      this.len += n;
    }
  }
  /** A name or byte vector: its length, then its bytes. */
  vec(bytes: Uint8Array): void {
    this.uleb(bytes.length);
    this.copy(bytes, 0, bytes.length);
  }
  /** The bytes written so far (a view, valid until the next write). */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }
}

/** A whole section: its id, the size of `content` and `content`. */
export function encodeSection(id: number, content: Uint8Array): Uint8Array {
  const w = new ByteWriter(content.length + 6);
  w.byte(id);
  w.vec(content);
  return w.bytes();
}
