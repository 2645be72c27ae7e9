/**
 * Server-wide state of the REST adapter: the instance registry and the blob
 * store. Mirrors `ApiState` of `rs/pocket_ic_server/src/state_api/state.rs`:
 * instance ids are indices into a vector, sequential from 0; a deleted
 * instance keeps its slot (state `Deleted`).
 */
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { InstanceError } from '../errors.ts';
import { conversionError } from './codec.ts';
import { HttpError, type WireResponse } from './http.ts';
import type { InstanceHost } from './instance-host.ts';

type Slot =
  | { state: 'available'; instance: InstanceHost }
  | { state: 'deleted' }
  /** A persisted instance whose state could not be read (`simulator/persist/`): answers why. */
  | { state: 'broken'; message: string };

export class InstanceRegistry {
  private readonly slots: Slot[] = [];

  add(instance: InstanceHost): number {
    this.slots.push({ state: 'available', instance });
    return this.slots.length - 1;
  }

  /** The id the next `add` gets. */
  get nextId(): number {
    return this.slots.length;
  }

  /** Takes an id for an instance that no longer exists (a restarted server's deleted ones). */
  addDeleted(): number {
    this.slots.push({ state: 'deleted' });
    return this.slots.length - 1;
  }

  /** Takes an id for a persisted instance whose state could not be restored: each request answers `message`. */
  addBroken(message: string): number {
    this.slots.push({ state: 'broken', message });
    return this.slots.length - 1;
  }

  /** Parses the `:id` path segment (a `usize`) like axum's `Path` extractor would refuse it. */
  parseId(raw: string): number {
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(Number(raw))) {
      throw new HttpError(400, `Invalid URL: Cannot parse \`${raw}\` to a \`usize\``);
    }
    return Number(raw);
  }

  get(rawId: string): InstanceHost {
    const slot = this.slots[this.parseId(rawId)];
    // PocketIC's lookup errors (`update_with_timeout` in state.rs): `UpdateError { message }`.
    if (!slot) throw new InstanceError('InstanceNotFound');
    if (slot.state === 'deleted') throw new InstanceError('InstanceDeleted');
    if (slot.state === 'broken') throw new HttpError(400, slot.message);
    return slot.instance;
  }

  /**
   * PocketIC's `delete_instance` stops auto progress and marks the slot
   * `Deleted`; deleting twice is a no-op. (An id that never existed makes the
   * real server index out of bounds; we answer "Instance not found".)
   */
  async delete(rawId: string): Promise<void> {
    const id = this.parseId(rawId);
    const slot = this.slots[id];
    if (!slot) throw new InstanceError('InstanceNotFound');
    if (slot.state === 'deleted') return;
    this.slots[id] = { state: 'deleted' };
    if (slot.state === 'available') await slot.instance.delete();
  }

  /** The stored result of an operation answered 202, on whichever instance ran it. */
  result(stateLabel: string, opId: string): WireResponse | undefined {
    for (const slot of this.slots) {
      const found = slot.state === 'available' ? slot.instance.result(stateLabel, opId) : undefined;
      if (found) return found;
    }
    return undefined;
  }

  prune(stateLabel: string, opId: string): void {
    for (const slot of this.slots) if (slot.state === 'available') slot.instance.prune(stateLabel, opId);
  }

  /** `GET /instances`: `"Available"`, `"Busy"` (an operation is running) or `"Deleted"` per slot. */
  states(): string[] {
    return this.slots.map((s) =>
      s.state !== 'available' ? 'Deleted' : s.instance.busy ? 'Busy' : 'Available',
    );
  }
}

interface Blob {
  data: Uint8Array;
  gzip: boolean;
}

/**
 * `InMemoryBlobStore` of the real server (`rs/pocket_ic_server/src/blob_store.rs`):
 * blobs keyed by the SHA-256 of the bytes as uploaded (compressed or not),
 * kept for the server's lifetime.
 */
export class BlobStore {
  private readonly blobs = new Map<string, Blob>();

  constructor(entries: Iterable<{ hex: string; data: Uint8Array; gzip: boolean }> = []) {
    for (const { hex, data, gzip } of entries) this.blobs.set(hex, { data, gzip });
  }

  put(data: Uint8Array, gzip: boolean): string {
    const hex = createHash('sha256').update(data).digest('hex');
    this.blobs.set(hex, { data, gzip });
    return hex;
  }

  /** The blob as stored, for `GET /blobstore/{id}`. */
  raw(hex: string): Blob | undefined {
    return this.blobs.get(hex.toLowerCase());
  }

  /** The blob's bytes, decompressed; PocketIC's ConversionErrors for unknown ids and bad gzip. */
  bytes(hex: string): Uint8Array {
    const blob = this.blobs.get(hex);
    if (!blob) throw conversionError('Bad blob id');
    if (!blob.gzip) return blob.data;
    try {
      return new Uint8Array(gunzipSync(blob.data));
    } catch {
      throw conversionError('Decompression failed');
    }
  }
}
