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
import type { Instance } from '../instance.ts';
import { HttpError } from './http.ts';

type Slot = { state: 'available'; instance: Instance } | { state: 'deleted' };

export class InstanceRegistry {
  private readonly slots: Slot[] = [];

  add(instance: Instance): number {
    this.slots.push({ state: 'available', instance });
    return this.slots.length - 1;
  }

  /** Parses the `:id` path segment (a `usize`) like axum's `Path` extractor would refuse it. */
  parseId(raw: string): number {
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(Number(raw))) {
      throw new HttpError(400, `Invalid URL: Cannot parse \`${raw}\` to a \`usize\``);
    }
    return Number(raw);
  }

  get(rawId: string): Instance {
    const slot = this.slots[this.parseId(rawId)];
    // PocketIC's lookup errors (`update_with_timeout` in state.rs): `UpdateError { message }`.
    if (!slot) throw new InstanceError('InstanceNotFound');
    if (slot.state === 'deleted') throw new InstanceError('InstanceDeleted');
    return slot.instance;
  }

  /**
   * PocketIC's `delete_instance` stops auto progress and marks the slot
   * `Deleted`; deleting twice is a no-op. (An id that never existed makes the
   * real server index out of bounds; we answer "Instance not found".)
   */
  delete(rawId: string): void {
    const id = this.parseId(rawId);
    const slot = this.slots[id];
    if (!slot) throw new InstanceError('InstanceNotFound');
    if (slot.state === 'deleted') return;
    this.slots[id] = { state: 'deleted' };
    slot.instance.delete();
  }

  deleteAll(): void {
    for (let id = 0; id < this.slots.length; id++) {
      const slot = this.slots[id]!;
      if (slot.state === 'available') {
        this.slots[id] = { state: 'deleted' };
        try {
          slot.instance.delete();
        } catch {
          // shutting down: nothing to report to
        }
      }
    }
  }

  /** `GET /instances`: `"Available"` or `"Deleted"` per slot (we are never `Busy`). */
  states(): string[] {
    return this.slots.map((s) => (s.state === 'available' ? 'Available' : 'Deleted'));
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
