import { describe, expect, it } from 'vitest';
import { StableMemory, WASM_PAGE_SIZE } from './stable-memory.ts';

describe('StableMemory', () => {
  it('grows in 64 KiB pages and returns the previous size, or -1 past the limit', () => {
    const m = new StableMemory();
    expect(m.grow(2)).toBe(0);
    expect(m.grow(1)).toBe(2);
    expect(m.size).toBe(3);
    expect(m.grow(10, 5)).toBe(-1);
    expect(m.size).toBe(3);
  });

  it('reads zeros where nothing was written and writes across page boundaries', () => {
    const m = new StableMemory();
    m.grow(2);
    const data = Uint8Array.from({ length: 10 }, (_, i) => i + 1);
    m.write(WASM_PAGE_SIZE - 5, data);
    const out = new Uint8Array(14);
    m.read(WASM_PAGE_SIZE - 7, out);
    expect([...out]).toEqual([0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0, 0]);
    expect(m.inBounds(BigInt(2 * WASM_PAGE_SIZE - 1), 1n)).toBe(true);
    expect(m.inBounds(BigInt(2 * WASM_PAGE_SIZE), 1n)).toBe(false);
  });

  it('copies another memory, data and size, into pages of its own', () => {
    const source = new StableMemory();
    source.grow(16_384); // 1 GiB, two pages of data: the copy costs the data
    source.write(3, Uint8Array.of(7, 8));
    source.write(9_000 * WASM_PAGE_SIZE, Uint8Array.of(9));
    const copy = new StableMemory();
    copy.grow(2);
    copy.write(100, Uint8Array.of(1));
    copy.copyFrom(source);
    expect(copy.size).toBe(16_384);
    expect(copy.residentPages).toBe(2);
    const out = new Uint8Array(4);
    copy.read(2, out);
    expect([...out]).toEqual([0, 7, 8, 0]);
    source.write(3, Uint8Array.of(0));
    copy.read(3, out.subarray(0, 1));
    expect(out[0]).toBe(7);
  });

  it('rolls back a message by restoring only the pages it touched, whatever the size stored', () => {
    const m = new StableMemory();
    m.grow(16_384); // 1 GiB
    for (let page = 0; page < 16_384; page += 64)
      m.write(page * WASM_PAGE_SIZE, new Uint8Array([page & 0xff, 1]));
    const before = m.snapshot();
    m.begin();
    m.write(5 * WASM_PAGE_SIZE + 3, new Uint8Array([9, 9, 9]));
    m.write(7000 * WASM_PAGE_SIZE, new Uint8Array([7]));
    m.grow(3);
    expect(m.touchedPages).toBe(2);
    m.rollback();
    expect(m.size).toBe(16_384);
    expect(Buffer.compare(m.snapshot(), before)).toBe(0);
  });

  it('keeps a committed message and undoes a cleared memory on rollback', () => {
    const m = new StableMemory();
    m.grow(1);
    m.begin();
    m.write(0, new Uint8Array([1, 2, 3]));
    m.commit();
    m.begin();
    m.clear();
    expect(m.size).toBe(0);
    m.rollback();
    const out = new Uint8Array(3);
    m.read(0, out);
    expect([...out]).toEqual([1, 2, 3]);
  });

  it('takes a message’s changes and re-applies them after a rollback, journaled again', () => {
    const m = new StableMemory();
    m.grow(1);
    m.write(0, new Uint8Array([1]));
    m.begin();
    m.grow(1);
    m.write(WASM_PAGE_SIZE, new Uint8Array([2]));
    m.write(0, new Uint8Array([3]));
    const changes = m.changes();
    m.rollback();
    m.begin();
    expect(m.size).toBe(1);
    m.reapply(changes);
    const out = new Uint8Array(2 * WASM_PAGE_SIZE);
    m.read(0, out);
    expect([m.size, out[0], out[WASM_PAGE_SIZE]]).toEqual([2, 3, 2]);
    m.rollback();
    m.read(0, out.subarray(0, 1));
    expect([m.size, out[0]]).toEqual([1, 1]);
  });
});
