/**
 * Whole-instance snapshots: `take` records the state of a replica so that
 * `revert` puts every canister, queue, clock and counter back exactly, in
 * place (the objects keep their identity, so the closures the state holds —
 * a pending outcall's `respond`, a `stop_canister` waiter — still reach them).
 *
 * Two kinds of state, two costs:
 * - memories (heaps and stable memories, a canister snapshot's memories) are
 *   copy-on-write: `take` marks them, and from then on a commit keeps the
 *   pre-image of each page it changes for the first time
 *   (`execution/heap-journal.ts`, `canister/stable-memory.ts`); `revert`
 *   writes those pages back. Both cost the pages changed since, not the bytes
 *   stored; a heap that grew since moves to a new instance (a copy of it);
 * - everything else (settings, balances, call contexts, queues, ingress
 *   history, the clocks, id allocation) is small and copied structurally:
 *   each object's own properties, each Map's, Set's and array's entries.
 *   Byte arrays, principals and functions are shared, never copied: the
 *   simulator replaces them rather than writing into them.
 *
 * Snapshots nest: reverting to one keeps it (it can be reverted to again) and
 * drops those taken after it.
 */
import { Principal } from '@icp-sdk/core/principal';
import { StableMemory } from '../canister/stable-memory.ts';
import { Fees } from '../cycles/fees.ts';
import { WasmRuntime } from '../execution/runtime.ts';
import { Replica } from '../subnet/replica.ts';
import { Scheduler } from '../subnet/scheduler.ts';
import { Subnet } from '../subnet/subnet.ts';

/** A memory with copy-on-write marks. */
type Marked = StableMemory | WasmRuntime;

type Saved =
  | {
      kind: 'object';
      target: Record<string, unknown>;
      entries: [string, unknown][];
      /** Properties that are not state (`REPLICA_HOOKS`): left alone. */
      skip: ReadonlySet<string> | undefined;
      keyCount: number;
    }
  | { kind: 'array'; target: unknown[]; items: unknown[] }
  | { kind: 'map'; target: Map<unknown, unknown>; entries: [unknown, unknown][] }
  | { kind: 'set'; target: Set<unknown>; items: unknown[] };

/** One snapshot: the structural copy of the plain state, and the memories marked with its id. */
interface Capture {
  saved: Saved[];
  marked: Marked[];
  replicaCounter: bigint;
  subnets: { subnet: Subnet; next: bigint }[];
  queue: Scheduler['queueState'];
}

/**
 * Replica properties that are not state: hooks an adapter installs
 * (`setDataCertificateSigner`, the log sink), and stateless helpers.
 */
const REPLICA_HOOKS = new Set([
  'dataCertificate',
  'onCanisterLog',
  'management',
  'callContexts',
  'scheduler',
]);
/** Arrays whose items are written once and never changed (log records, history entries, trap reports): copied, not walked. */
const APPEND_ONLY = new Set(['logs', 'history', 'traps']);
/** Properties whose values are replaced, never changed (an ingress message's outcome): shared, not walked. */
const REPLACED = new Set(['outcome']);

/** Values shared as they are: immutable, or not state. */
function isLeaf(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return true;
  return (
    ArrayBuffer.isView(value) ||
    value instanceof ArrayBuffer ||
    value instanceof Principal ||
    value instanceof Fees ||
    value instanceof Error ||
    value instanceof WeakMap ||
    value instanceof WeakSet ||
    value instanceof Promise ||
    value instanceof WebAssembly.Module ||
    value instanceof WebAssembly.Memory ||
    value instanceof WebAssembly.Instance ||
    // A frozen object never changes (the fee tables, the System API's tables).
    Object.isFrozen(value)
  );
}

class Walker {
  readonly saved: Saved[] = [];
  readonly marked: Marked[] = [];
  readonly #seen = new Set<object>();
  readonly #id: number;

  constructor(id: number) {
    this.#id = id;
  }

  visit(value: unknown, walkItems = true): void {
    if (isLeaf(value)) return;
    const o = value as object;
    if (this.#seen.has(o)) return;
    this.#seen.add(o);
    if (o instanceof StableMemory || o instanceof WasmRuntime) {
      o.mark(this.#id);
      this.marked.push(o);
    } else if (o instanceof Scheduler) {
      // Saved by `take` through its accessor: its queue is private.
    } else if (Array.isArray(o)) {
      const items = [...(o as unknown[])];
      this.saved.push({ kind: 'array', target: o, items });
      if (walkItems) for (const item of items) this.visit(item);
    } else if (o instanceof Map) {
      const entries = [...(o as Map<unknown, unknown>)];
      this.saved.push({ kind: 'map', target: o, entries });
      for (const [, v] of entries) this.visit(v);
    } else if (o instanceof Set) {
      const items = [...(o as Set<unknown>)];
      this.saved.push({ kind: 'set', target: o, items });
      for (const item of items) this.visit(item);
    } else {
      const skip = o instanceof Replica ? REPLICA_HOOKS : undefined;
      const all = Object.entries(o);
      const entries = skip ? all.filter(([key]) => !skip.has(key)) : all;
      this.saved.push({
        kind: 'object',
        target: o as Record<string, unknown>,
        entries,
        skip,
        keyCount: all.length,
      });
      for (const [key, v] of entries) if (!REPLACED.has(key)) this.visit(v, !APPEND_ONLY.has(key));
    }
  }
}

function restore(saved: Saved): void {
  switch (saved.kind) {
    case 'object': {
      const { target, entries, skip } = saved;
      const keys = Object.keys(target);
      if (keys.length !== saved.keyCount) {
        const keep = new Set(entries.map(([k]) => k));
        for (const key of keys) if (!keep.has(key) && !skip?.has(key)) delete target[key];
      }
      for (const [key, value] of entries) if (target[key] !== value) target[key] = value;
      return;
    }
    case 'array':
      saved.target.length = 0;
      saved.target.push(...saved.items);
      return;
    case 'map':
      saved.target.clear();
      for (const [k, v] of saved.entries) saved.target.set(k, v);
      return;
    case 'set':
      saved.target.clear();
      for (const item of saved.items) saved.target.add(item);
      return;
  }
}

/** The snapshots of one replica, by id (ascending integers). */
export class InstanceSnapshots {
  readonly #replica: Replica;
  readonly #captures = new Map<number, Capture>();
  #nextId = 0;

  constructor(replica: Replica) {
    this.#replica = replica;
  }

  /** Records the replica's state; call between rounds. Costs the objects of the state, not its memories. */
  take(): number {
    const id = this.#nextId++;
    const replica = this.#replica;
    const walker = new Walker(id);
    walker.visit(replica);
    this.#captures.set(id, {
      saved: walker.saved,
      marked: walker.marked,
      replicaCounter: replica.ingressCounter,
      subnets: replica.subnets.map((subnet) => ({ subnet, next: subnet.nextIndex })),
      queue: replica.scheduler.queueState,
    });
    return id;
  }

  /** Whether `id` can be reverted to. */
  has(id: number): boolean {
    return this.#captures.has(id);
  }

  /**
   * Puts the replica back as it was at `take()` → `id`, drops later snapshots, keeps `id`.
   * @returns false, changing nothing, when there is no snapshot `id`.
   */
  revert(id: number): boolean {
    const capture = this.#captures.get(id);
    if (!capture) return false;
    for (const later of [...this.#captures.keys()]) if (later > id) this.#captures.delete(later);
    for (const saved of capture.saved) restore(saved);
    for (const memory of capture.marked) memory.revertTo(id);
    const replica = this.#replica;
    replica.ingressCounter = capture.replicaCounter;
    for (const { subnet, next } of capture.subnets) subnet.nextIndex = next;
    replica.scheduler.queueState = capture.queue;
    return true;
  }
}
