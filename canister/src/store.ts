// Storage primitives of the upload canister.
//
// Azle 0.33's stable mode gives JavaScript no raw `stable64_*` access: the
// only stable storage is `StableBTreeMap` (ic-stable-structures behind a
// memory manager that owns the whole stable memory). So "stable memory" here
// is a page space: a byte-keyed map whose keys are 32-bit page numbers and
// whose values are pages of up to PAGE_SIZE bytes. On top of it sits a
// region allocator that hands out runs of consecutive page numbers and keeps
// a free list of released runs (coalesced), so the pages of an aborted or
// expired session are overwritten by the next session instead of piling up.
// Freeing is O(1) in pages (no page is touched); reuse overwrites in place.
//
// Everything here works on the `KvMap` interface, the subset of Azle's
// StableBTreeMap the canister uses.

import { ByteReader, ByteWriter, u32Key } from './codec.ts';

/** The subset of Azle's StableBTreeMap the canister uses, with byte keys and values. */
export interface KvMap {
  get(key: Uint8Array): Uint8Array | undefined;
  insert(key: Uint8Array, value: Uint8Array): void;
  remove(key: Uint8Array): void;
  containsKey(key: Uint8Array): boolean;
  len(): number;
  /** Entries in byte order of their keys; `start`/`count` select a slice. */
  items(start?: number, count?: number): [Uint8Array, Uint8Array][];
}

/** Bytes per page. 64 KiB, the Wasm page size. */
export const PAGE_SIZE = 65536;

/** A run of consecutive page numbers owned by one session or blob. */
export interface Region {
  start: number;
  pages: number;
}

export interface AllocatorState {
  /** Page numbers below this have been handed out at least once. */
  nextPage: number;
  /** Released runs, sorted by start, never adjacent (always coalesced). */
  free: Region[];
}

export function encodeAllocator(s: AllocatorState): Uint8Array {
  const w = new ByteWriter().u32(s.nextPage).u32(s.free.length);
  for (const r of s.free) w.u32(r.start).u32(r.pages);
  return w.finish();
}

export function decodeAllocator(bytes: Uint8Array | undefined): AllocatorState {
  if (bytes === undefined) return { nextPage: 0, free: [] };
  const r = new ByteReader(bytes);
  const nextPage = r.u32();
  const n = r.u32();
  const free: Region[] = [];
  for (let i = 0; i < n; i++) free.push({ start: r.u32(), pages: r.u32() });
  return { nextPage, free };
}

/** First-fit allocation of `pages` consecutive page numbers. */
export function allocate(s: AllocatorState, pages: number): Region {
  if (pages === 0) return { start: 0, pages: 0 };
  for (let i = 0; i < s.free.length; i++) {
    const run = s.free[i];
    if (run.pages >= pages) {
      const region = { start: run.start, pages };
      if (run.pages === pages) s.free.splice(i, 1);
      else s.free[i] = { start: run.start + pages, pages: run.pages - pages };
      return region;
    }
  }
  if (s.nextPage + pages > 0xffffffff) throw new Error('page space exhausted');
  const region = { start: s.nextPage, pages };
  s.nextPage += pages;
  return region;
}

/** Returns a region to the free list, merging it with adjacent free runs. */
export function release(s: AllocatorState, region: Region): void {
  if (region.pages === 0) return;
  const free = s.free;
  let i = 0;
  while (i < free.length && free[i].start < region.start) i++;
  const prev = i > 0 ? free[i - 1] : undefined;
  const next = i < free.length ? free[i] : undefined;
  if (
    (prev !== undefined && prev.start + prev.pages > region.start) ||
    (next !== undefined && region.start + region.pages > next.start)
  ) {
    throw new Error(`double free of pages ${region.start}+${region.pages}`);
  }
  let merged = { start: region.start, pages: region.pages };
  let from = i;
  let remove = 0;
  if (prev !== undefined && prev.start + prev.pages === region.start) {
    merged = { start: prev.start, pages: prev.pages + region.pages };
    from = i - 1;
    remove++;
  }
  if (next !== undefined && region.start + region.pages === next.start) {
    merged = { start: merged.start, pages: merged.pages + next.pages };
    remove++;
  }
  free.splice(from, remove, merged);
}

export function freePages(s: AllocatorState): number {
  let n = 0;
  for (const r of s.free) n += r.pages;
  return n;
}

export function pagesFor(bytes: number): number {
  return Math.ceil(bytes / PAGE_SIZE);
}

/**
 * Byte-addressed reads and writes inside regions of the page space. A page's
 * stored value may be shorter than PAGE_SIZE (only what was written up to
 * its end), so small files cost small pages.
 */
export class PageSpace {
  private readonly pages: KvMap;

  constructor(pages: KvMap) {
    this.pages = pages;
  }

  write(region: Region, offset: number, data: Uint8Array): void {
    if (offset + data.length > region.pages * PAGE_SIZE) {
      throw new Error(`write past the end of region ${region.start}+${region.pages}`);
    }
    let done = 0;
    while (done < data.length) {
      const at = offset + done;
      const page = region.start + Math.floor(at / PAGE_SIZE);
      const inPage = at % PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - inPage, data.length - done);
      const key = u32Key(page);
      if (inPage === 0 && n === PAGE_SIZE) {
        this.pages.insert(key, data.slice(done, done + n));
      } else {
        const old = this.pages.get(key);
        const oldLen = old === undefined ? 0 : old.length;
        const page = new Uint8Array(Math.max(oldLen, inPage + n));
        if (old !== undefined) page.set(old, 0);
        page.set(data.subarray(done, done + n), inPage);
        this.pages.insert(key, page);
      }
      done += n;
    }
  }

  read(region: Region, offset: number, length: number): Uint8Array {
    if (offset + length > region.pages * PAGE_SIZE) {
      throw new Error(`read past the end of region ${region.start}+${region.pages}`);
    }
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const at = offset + done;
      const page = region.start + Math.floor(at / PAGE_SIZE);
      const inPage = at % PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - inPage, length - done);
      const stored = this.pages.get(u32Key(page));
      if (stored !== undefined && stored.length > inPage) {
        out.set(stored.subarray(inPage, Math.min(stored.length, inPage + n)), done);
      }
      done += n;
    }
    return out;
  }

  /** Number of page values physically stored (pages ever written). */
  storedPages(): number {
    return this.pages.len();
  }
}
