/**
 * The upload canister's service core running in-process over in-memory maps,
 * exposed as `UploadActor`s. For client tests and offline demos: same
 * behaviour as the canister (same code), no Wasm, no replica. Timers are
 * explicit: `runTimers()` runs what the canister's timers would.
 */
import { Principal } from '@icp-sdk/core/principal';

import { type Maps, type Scheduler, UploadService } from '../src/service.ts';
import { MemoryKvMap } from '../src/store.ts';
import type { BlobMetadata } from '../src/types.ts';
import type { UploadActor } from './client.ts';

export class InMemoryUploadCanister {
  readonly service: UploadService;
  /** Virtual time in nanoseconds; advance it to let sessions expire. */
  now = 1_700_000_000_000_000_000n;
  private sweepDue: bigint | undefined;
  private catchUpDue = false;

  constructor(options: { sessionTtlNs?: bigint } = {}) {
    const maps: Maps = {
      meta: new MemoryKvMap(),
      sessions: new MemoryKvMap(),
      blobs: new MemoryKvMap(),
      callers: new MemoryKvMap(),
      ownerBlobs: new MemoryKvMap(),
      expiry: new MemoryKvMap(),
      pages: new MemoryKvMap(),
    };
    const scheduler: Scheduler = {
      sweepAt: (at) => {
        if (this.sweepDue === undefined || at < this.sweepDue) this.sweepDue = at;
      },
      catchUpSoon: () => {
        this.catchUpDue = true;
      },
    };
    this.service = new UploadService(
      maps,
      Principal.fromText('uxrrr-q7777-77774-qaaaq-cai').toUint8Array(),
      scheduler,
    );
    this.service.install(options.sessionTtlNs);
  }

  /** Runs the catch-up and (if due) the sweep, as the canister's timers would. */
  runTimers(): void {
    while (this.catchUpDue) {
      this.catchUpDue = false;
      if (this.service.catchUp()) this.catchUpDue = true;
    }
    if (this.sweepDue !== undefined && this.sweepDue <= this.now) {
      this.sweepDue = undefined;
      this.service.sweep(this.now);
    }
  }

  /** An actor whose calls come from `principal`. */
  actorFor(principal: Principal): UploadActor {
    const caller = () => ({ principal: principal.toUint8Array(), now: this.now });
    const svc = this.service;
    const withOwner = (m: BlobMetadata): BlobMetadata<Principal> => ({
      ...m,
      owner: Principal.fromUint8Array(m.owner),
    });
    return {
      begin_upload: async (args) => svc.beginUpload(caller(), args),
      put_chunk: async (session, index, bytes) => svc.putChunk(caller(), session, index, bytes),
      finish_upload: async (session, sha) => svc.finishUpload(caller(), session, sha),
      abort_upload: async (session) => svc.abortUpload(caller(), session),
      read_blob: async (id, offset, length) => svc.readBlob(caller(), id, offset, length),
      blob_metadata: async (id) => {
        const r = svc.blobMetadata(caller(), id);
        return 'Ok' in r ? { Ok: withOwner(r.Ok) } : r;
      },
      list_sessions: async () => svc.listSessions(caller()),
      list_blobs: async () => svc.listBlobs(caller()).map(withOwner),
      link_derivative: async (a, b, kind) => svc.linkDerivative(caller(), a, b, kind),
      storage_stats: async () => svc.stats(),
    };
  }
}
