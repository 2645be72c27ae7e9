/**
 * A canister's stable memory: 64 KiB Wasm pages stored sparsely, with a
 * copy-on-write journal per message so that a rollback restores only the
 * pages the message touched, whatever the total size.
 *
 * Semantics (IC interface specification, "Stable memory"): the size is counted
 * in 64 KiB pages, `grow` returns the previous size or -1, and accesses out of
 * bounds trap.
 */

export const WASM_PAGE_SIZE = 65536;
/** 500 GiB: the IC's stable memory limit (docs `resource-limits.md`). */
export const MAX_STABLE_MEMORY_PAGES = (500 * 1024 * 1024 * 1024) / WASM_PAGE_SIZE;

/** A message's changes to stable memory (see `StableMemory.changes`). */
export interface StableChanges {
  size: number;
  /** Page index → its bytes, `undefined` for a page the message removed. */
  pages: Map<number, Uint8Array | undefined>;
}

export class StableMemory {
  #pages = new Map<number, Uint8Array>();
  #size = 0;
  /** Page index → its bytes before the message touched it (`undefined`: the page was absent). */
  #journal: Map<number, Uint8Array | undefined> | undefined;
  #sizeAtBegin = 0;
  /**
   * Instance snapshots (`snapshot/`), oldest first: each keeps the pre-image of
   * every page first written while it was the newest, so that reverting costs
   * the pages written since, not the pages stored.
   */
  #layers: { id: number; size: number; pages: Map<number, Uint8Array | undefined> }[] = [];

  /** Size in 64 KiB pages. */
  get size(): number {
    return this.#size;
  }

  /** Size in bytes. */
  get byteLength(): bigint {
    return BigInt(this.#size) * BigInt(WASM_PAGE_SIZE);
  }

  /** Number of pages that hold non-zero data. */
  get residentPages(): number {
    return this.#pages.size;
  }

  /** Pages the current message has written: what a rollback will restore. */
  get touchedPages(): number {
    return this.#journal?.size ?? 0;
  }

  /** Start journaling the changes of one message. */
  begin(): void {
    this.#journal = new Map();
    this.#sizeAtBegin = this.#size;
  }

  /** Keep the message's changes (the newest instance snapshot keeps their pre-images). */
  commit(): void {
    const top = this.#layers.at(-1);
    if (top && this.#journal) {
      for (const [index, before] of this.#journal) if (!top.pages.has(index)) top.pages.set(index, before);
    }
    this.#journal = undefined;
  }

  /** Marks the memory as it is for the instance snapshot `id` (between messages). */
  mark(id: number): void {
    this.#layers.push({ id, size: this.#size, pages: new Map() });
  }

  /**
   * Puts the memory back as it was at `mark(id)`, writing back the pages
   * written since, and forgets later marks; `id` stays valid.
   * @throws Error when `id` was never marked or was dropped.
   */
  revertTo(id: number): void {
    const at = this.#layers.findIndex((l) => l.id === id);
    if (at < 0) throw new Error(`stable memory has no mark ${id}`);
    for (let i = this.#layers.length - 1; i >= at; i--) {
      const layer = this.#layers[i]!;
      for (const [index, before] of layer.pages) {
        if (before === undefined) this.#pages.delete(index);
        else this.#pages.set(index, before);
      }
      this.#size = layer.size;
    }
    this.#layers.length = at + 1;
    this.#layers[at] = { id, size: this.#size, pages: new Map() };
    this.#journal = undefined;
  }

  /** Undo every change since `begin()`: costs the pages touched, not the pages stored. */
  rollback(): void {
    if (!this.#journal) return;
    for (const [index, before] of this.#journal) {
      if (before === undefined) this.#pages.delete(index);
      else this.#pages.set(index, before);
    }
    this.#size = this.#sizeAtBegin;
    this.#journal = undefined;
  }

  /**
   * What the current message changed since `begin()`: its size and the pages
   * it touched as they are now, to put back with `reapply` after a rollback.
   */
  changes(): StableChanges {
    const pages = new Map<number, Uint8Array | undefined>();
    for (const index of this.#journal?.keys() ?? []) pages.set(index, this.#pages.get(index)?.slice());
    return { size: this.#size, pages };
  }

  /** Re-applies `changes` on top of the current state, journaled like any write. */
  reapply(changes: StableChanges): void {
    for (const [index, page] of changes.pages) {
      if (page === undefined) {
        this.#writablePage(index);
        this.#pages.delete(index);
      } else {
        this.#writablePage(index).set(page);
      }
    }
    this.#size = changes.size;
  }

  /** Grows by `delta` pages; returns the old size, or -1 when the limit would be passed. */
  grow(delta: number, maxPages: number = MAX_STABLE_MEMORY_PAGES): number {
    const old = this.#size;
    if (delta < 0 || old + delta > maxPages) return -1;
    this.#size = old + delta;
    return old;
  }

  /** True when [offset, offset+length) lies inside the memory. */
  inBounds(offset: bigint, length: bigint): boolean {
    return offset >= 0n && length >= 0n && offset + length <= this.byteLength;
  }

  /** Copies `length` bytes at `offset` into `target`; the caller checked the bounds. */
  read(offset: number, target: Uint8Array): void {
    let done = 0;
    while (done < target.length) {
      const position = offset + done;
      const index = Math.floor(position / WASM_PAGE_SIZE);
      const within = position - index * WASM_PAGE_SIZE;
      const count = Math.min(WASM_PAGE_SIZE - within, target.length - done);
      const page = this.#pages.get(index);
      if (page) target.set(page.subarray(within, within + count), done);
      else target.fill(0, done, done + count);
      done += count;
    }
  }

  /** Writes `source` at `offset`; the caller checked the bounds. */
  write(offset: number, source: Uint8Array): void {
    let done = 0;
    while (done < source.length) {
      const position = offset + done;
      const index = Math.floor(position / WASM_PAGE_SIZE);
      const within = position - index * WASM_PAGE_SIZE;
      const count = Math.min(WASM_PAGE_SIZE - within, source.length - done);
      this.#writablePage(index).set(source.subarray(done, done + count), within);
      done += count;
    }
  }

  /**
   * The pages that hold data, by index, in index order: what the memory contains without
   * materializing its zeros (a memory may be hundreds of GiB, nearly all of it never written).
   */
  *storedPages(): Generator<[index: number, page: Uint8Array]> {
    const indexes = [...this.#pages.keys()].filter((i) => i < this.#size).sort((a, b) => a - b);
    for (const i of indexes) yield [i, this.#pages.get(i)!];
  }

  /** The whole memory as one buffer (for PocketIC's get_stable_memory). */
  snapshot(): Uint8Array {
    const out = new Uint8Array(this.#size * WASM_PAGE_SIZE);
    for (const [index, page] of this.#pages) {
      if (index < this.#size) out.set(page, index * WASM_PAGE_SIZE);
    }
    return out;
  }

  /** Replaces the whole memory (PocketIC's set_stable_memory); the size is rounded up to pages. */
  replace(bytes: Uint8Array): void {
    this.clear();
    this.#size = Math.ceil(bytes.length / WASM_PAGE_SIZE);
    this.write(0, bytes);
  }

  /**
   * Makes this memory a copy of `other`, page by page (only the pages that
   * hold data): a canister snapshot is taken and loaded this way, at the cost
   * of the data, not of the size. Journaled like any write.
   */
  copyFrom(other: StableMemory): void {
    this.clear();
    for (const [index, page] of other.#pages) {
      if (index < other.#size) this.#writablePage(index).set(page);
    }
    this.#size = other.#size;
  }

  /** Empties the memory (reinstall, uninstall). */
  clear(): void {
    if (this.#journal || this.#layers.length > 0) {
      for (const index of this.#pages.keys()) this.#writablePage(index);
    }
    this.#pages.clear();
    this.#size = 0;
  }

  #writablePage(index: number): Uint8Array {
    let page = this.#pages.get(index);
    if (this.#journal) {
      if (!this.#journal.has(index)) this.#journal.set(index, page ? page.slice() : undefined);
    } else {
      // A write outside a message (set_stable_memory, a snapshot load) keeps its pre-image at once.
      const top = this.#layers.at(-1);
      if (top && !top.pages.has(index)) top.pages.set(index, page ? page.slice() : undefined);
    }
    if (!page) {
      page = new Uint8Array(WASM_PAGE_SIZE);
      this.#pages.set(index, page);
    }
    return page;
  }
}
