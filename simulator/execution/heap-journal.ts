/**
 * The heap's copy-on-write journal: each 4 KiB page a message writes is
 * saved just before its first write, so that a rollback writes back those
 * pages and a commit forgets them. Neither looks at the rest of the heap,
 * however large: the model is stable memory's journal
 * (`canister/stable-memory.ts`), with the instrumented code reporting the
 * writes (`wasm/dirty-pages.ts`).
 *
 * Who reports what:
 * - the instrumented code calls {@link HeapJournal.savePage} for a page whose
 *   byte in the module's byte map is 0; the journal saves that page and the
 *   next one (a store can cross into it) and sets the byte, so the page costs
 *   no more calls until the next commit or rollback;
 * - `memory.fill`, `memory.copy` and `memory.init`, and the System API's
 *   copies into the heap (`msg_arg_data_copy`, `stable_read`, …), call
 *   {@link HeapJournal.saveRange}.
 *
 * Pages at or above the size of the last commit (grown by this message) are
 * never saved: a rollback that finds the heap grown replaces the instance
 * (`execution/runtime.ts`).
 */
import { HEAP_PAGE_SIZE } from '../wasm/dirty-pages.ts';

/** A Wasm integer as JS receives it (i32 signed, i64 a bigint) or a non-negative number, as an unsigned number. */
const unsigned = (x: number | bigint): number =>
  typeof x === 'bigint' ? Number(BigInt.asUintN(64, x)) : x < 0 ? x >>> 0 : x;

/** Pages per storage chunk (64 KiB); the first chunk is kept between messages. */
const CHUNK_PAGES = 16;

/**
 * Chunks a commit or rollback released, for the next message's journal (of any canister in
 * this thread) to fill again: a message that overwrites megabytes of heap (an upload copying
 * its argument) then allocates no new buffers, whose external memory would otherwise bring
 * V8's next full garbage collection closer. At most 4 MiB is kept.
 */
const spareChunks: Uint8Array[] = [];
const MAX_SPARE_CHUNKS = 64;

export class HeapJournal {
  /** The byte map of the current instance (`wasm/dirty-pages.ts`). */
  #bytemap: Uint8Array = new Uint8Array(0);
  readonly #heap: () => Uint8Array;
  /** Heap pages at the last commit. */
  #committedPages = 0;
  /** Per heap page: 1 once saved since the last commit or rollback. */
  #saved = new Uint8Array(0);
  /** Saved pages in saving order: the before-image of `#order[i]` is slot `i` of the chunks. */
  readonly #order: number[] = [];
  /** Byte map entries set since the last commit or rollback. */
  readonly #marked: number[] = [];
  #chunks: Uint8Array[] = [];
  /**
   * Instance snapshots (`snapshot/`), oldest first: the heap's size at each and
   * the pre-image of every page first committed while it was the newest, kept
   * at commit instead of being forgotten.
   */
  #layers: { id: number; pages: number; images: Map<number, Uint8Array> }[] = [];
  /** Heap bytes copied by the journal so far (saves, restores, and a grown heap's move); for tests and diagnostics. */
  copiedBytes = 0;

  /** `heap`: the current heap bytes (a new view after every grow). */
  constructor(heap: () => Uint8Array) {
    this.#heap = heap;
  }

  /** Uses the byte map of a new instance (all zero). */
  attach(bytemap: Uint8Array): void {
    this.#bytemap = bytemap;
    this.#marked.length = 0;
  }

  /** The heap's size at the last commit, in bytes. */
  get committedBytes(): number {
    return this.#committedPages * HEAP_PAGE_SIZE;
  }

  /** Pages saved since the last commit or rollback: what a rollback will copy back. */
  get savedPages(): number {
    return this.#order.length;
  }

  /** `save_page(p)`, called by the instrumented code before a store to page `p`. */
  readonly savePage = (page: number): void => {
    const heap = this.#heap();
    this.#save(heap, page);
    this.#save(heap, page + 1);
    this.#bytemap[page] = 1;
    this.#marked.push(page);
  };

  /**
   * `save_range(dst, len)`, called before a bulk write of `len` bytes at
   * `dst` (from Wasm an i32 arrives signed, an i64 as a bigint) and by the
   * System API (numbers, maybe past 2^32 on wasm64); a range out of bounds is
   * clamped (the write traps anyway).
   */
  readonly saveRange = (dst: number | bigint, len: number | bigint): void => {
    const start = unsigned(dst);
    const length = unsigned(len);
    if (length === 0) return;
    const first = Math.floor(start / HEAP_PAGE_SIZE);
    const last = Math.min(Math.floor((start + length - 1) / HEAP_PAGE_SIZE), this.#committedPages - 1);
    const heap = this.#heap();
    for (let p = first; p <= last; p++) this.#save(heap, p);
  };

  #save(heap: Uint8Array, page: number): void {
    if (page >= this.#committedPages || this.#saved[page] === 1) return;
    if (this.#saved.length < this.#committedPages) {
      const saved = new Uint8Array(this.#committedPages);
      saved.set(this.#saved);
      this.#saved = saved;
    }
    this.#saved[page] = 1;
    const slot = this.#order.length;
    this.#order.push(page);
    const chunk = Math.floor(slot / CHUNK_PAGES);
    while (this.#chunks.length <= chunk)
      this.#chunks.push(spareChunks.pop() ?? new Uint8Array(CHUNK_PAGES * HEAP_PAGE_SIZE));
    const from = page * HEAP_PAGE_SIZE;
    (this.#chunks[chunk] as Uint8Array).set(
      heap.subarray(from, from + HEAP_PAGE_SIZE),
      (slot % CHUNK_PAGES) * HEAP_PAGE_SIZE,
    );
    this.copiedBytes += HEAP_PAGE_SIZE;
  }

  /** Keeps the heap as it is: forgets the saved pages; `heapBytes` is the new committed size. */
  commit(heapBytes: number): void {
    const top = this.#layers.at(-1);
    if (top) this.#preserve(top);
    this.#forget();
    this.#committedPages = heapBytes / HEAP_PAGE_SIZE;
  }

  /** Writes the saved pages back into `heap`, which then holds the committed bytes below the committed size. */
  restore(heap: Uint8Array): void {
    this.#order.forEach((page, slot) => {
      const chunk = this.#chunks[Math.floor(slot / CHUNK_PAGES)] as Uint8Array;
      const from = (slot % CHUNK_PAGES) * HEAP_PAGE_SIZE;
      heap.set(chunk.subarray(from, from + HEAP_PAGE_SIZE), page * HEAP_PAGE_SIZE);
    });
    this.copiedBytes += this.#order.length * HEAP_PAGE_SIZE;
    this.#forget();
  }

  /** Keeps in `layer` the pre-images of saved pages it has not kept yet (pages grown since it was marked need none). */
  #preserve(layer: { pages: number; images: Map<number, Uint8Array> }): void {
    this.#order.forEach((page, slot) => {
      if (page >= layer.pages || layer.images.has(page)) return;
      const chunk = this.#chunks[Math.floor(slot / CHUNK_PAGES)] as Uint8Array;
      const from = (slot % CHUNK_PAGES) * HEAP_PAGE_SIZE;
      layer.images.set(page, chunk.slice(from, from + HEAP_PAGE_SIZE));
    });
  }

  /** Marks the committed heap for the instance snapshot `id` (between messages). */
  mark(id: number): void {
    this.#layers.push({ id, pages: this.#committedPages, images: new Map() });
  }

  /** Whether an instance snapshot is marked: writes outside a message must then be saved first. */
  get marked(): boolean {
    return this.#layers.length > 0;
  }

  /**
   * Writes back into `heap` the pages committed since `mark(id)` and forgets
   * later marks; returns the heap's size at the mark in bytes (the caller
   * shrinks a heap that grew since), which becomes the committed size.
   * @throws Error when `id` was never marked or was dropped.
   */
  revertTo(id: number, heap: Uint8Array): number {
    const at = this.#layers.findIndex((l) => l.id === id);
    if (at < 0) throw new Error(`heap has no mark ${id}`);
    this.#forget();
    for (let i = this.#layers.length - 1; i >= at; i--) {
      for (const [page, image] of this.#layers[i]!.images) heap.set(image, page * HEAP_PAGE_SIZE);
      this.copiedBytes += this.#layers[i]!.images.size * HEAP_PAGE_SIZE;
    }
    const pages = this.#layers[at]!.pages;
    this.#layers.length = at + 1;
    this.#layers[at] = { id, pages, images: new Map() };
    this.#committedPages = pages;
    return pages * HEAP_PAGE_SIZE;
  }

  #forget(): void {
    for (const p of this.#marked) this.#bytemap[p] = 0;
    this.#marked.length = 0;
    for (const p of this.#order) this.#saved[p] = 0;
    this.#order.length = 0;
    // The first chunk stays with this journal, the others go to the spares up to their bound
    // (a slot is always written before it is read, so a chunk needs no clearing).
    for (let i = this.#chunks.length - 1; i >= 1 && spareChunks.length < MAX_SPARE_CHUNKS; i--)
      spareChunks.push(this.#chunks[i]!);
    if (this.#chunks.length > 1) this.#chunks.length = 1;
  }
}
