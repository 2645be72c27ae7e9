import { describe, expect, it } from 'vitest';
import { HEAP_PAGE_SIZE } from '../wasm/dirty-pages.ts';
import { HeapJournal } from './heap-journal.ts';

/** A journal over a heap of `pages` 4 KiB pages, committed as it is. */
function journal(pages: number) {
  const heap = new Uint8Array(pages * HEAP_PAGE_SIZE);
  const bytemap = new Uint8Array(1 << 20);
  const j = new HeapJournal(() => heap);
  j.attach(bytemap);
  j.commit(heap.length);
  return { heap, bytemap, j };
}

describe('HeapJournal', () => {
  it('saves a page and the next one at the first store, then is silent until the commit', () => {
    const { heap, bytemap, j } = journal(8);
    j.savePage(2);
    expect([j.savedPages, j.copiedBytes, bytemap[2]]).toEqual([2, 2 * HEAP_PAGE_SIZE, 1]);
    heap[2 * HEAP_PAGE_SIZE] = 9;
    j.savePage(3); // page 3 is saved already: only page 4
    expect(j.savedPages).toBe(3);
    j.commit(heap.length);
    expect([j.savedPages, bytemap[2], bytemap[3]]).toEqual([0, 0, 0]);
    expect(heap[2 * HEAP_PAGE_SIZE]).toBe(9);
  });

  it('writes the saved pages back at a rollback', () => {
    const { heap, j } = journal(4);
    heap.fill(1);
    j.commit(heap.length);
    j.savePage(0);
    j.saveRange(3 * HEAP_PAGE_SIZE + 10, 5);
    heap.fill(7);
    j.restore(heap);
    expect(heap.subarray(0, 2 * HEAP_PAGE_SIZE).every((b) => b === 1)).toBe(true);
    expect(heap.subarray(2 * HEAP_PAGE_SIZE, 3 * HEAP_PAGE_SIZE).every((b) => b === 7)).toBe(true);
    expect(heap.subarray(3 * HEAP_PAGE_SIZE).every((b) => b === 1)).toBe(true);
    expect(j.savedPages).toBe(0);
  });

  it('saves nothing at or above the committed size, however the range arrives', () => {
    const { j } = journal(2);
    j.savePage(1); // page 2 does not exist yet
    expect(j.savedPages).toBe(1);
    j.commit(2 * HEAP_PAGE_SIZE);
    // A signed i32 from Wasm (0xfffff000), a bigint, and a System API number past 2^32 (wasm64).
    j.saveRange(-HEAP_PAGE_SIZE, 10);
    j.saveRange(2n ** 40n, 10n);
    j.saveRange(2 ** 32 + HEAP_PAGE_SIZE, 10);
    j.saveRange(0, 0);
    expect(j.savedPages).toBe(0);
  });
});
