/**
 * A canister's state as the replica keeps it: module and instance, stable
 * memory, settings, status, controllers, cycles, certified data, timer, chunk
 * store, logs, and the call contexts and callbacks of calls in flight.
 */
import { Principal } from '@icp-sdk/core/principal';
import { equalBytes } from '../bytes.ts';
import { StableMemory } from './stable-memory.ts';
import type { CanisterEnv } from '../execution/system-api.ts';
import type { WasmRuntime } from '../execution/runtime.ts';
import type { WasmClosure } from '../execution/message.ts';
import type { Fees } from '../cycles/fees.ts';
import { freezingThreshold } from '../cycles/account.ts';

export type CanisterStatus = 'running' | 'stopping' | 'stopped';

/**
 * Capacity of each queue between two canisters (dfinity/ic
 * rs/replicated_state/src/canister_state/queues.rs `DEFAULT_QUEUE_CAPACITY`):
 * a request needs a slot in the output queue to its callee and reserves one
 * for the response in the input queue from it, held until the response is
 * consumed, so at most this many calls to one callee are outstanding.
 */
export const DEFAULT_QUEUE_CAPACITY = 500;

export type LogVisibility = { controllers: null } | { public: null } | { allowed_viewers: Principal[] };

export interface CanisterSettings {
  computeAllocation: bigint;
  memoryAllocation: bigint;
  freezingThreshold: bigint;
  reservedCyclesLimit: bigint;
  logVisibility: LogVisibility;
  wasmMemoryLimit: bigint;
  wasmMemoryThreshold: bigint;
  environmentVariables: { name: string; value: string }[];
}

/** Defaults of a new canister (IC interface specification, "IC method create_canister"). */
export function defaultSettings(): CanisterSettings {
  return {
    computeAllocation: 0n,
    memoryAllocation: 0n,
    freezingThreshold: 2_592_000n,
    reservedCyclesLimit: 5_000_000_000_000n,
    logVisibility: { controllers: null },
    wasmMemoryLimit: 3n * 1024n * 1024n * 1024n,
    wasmMemoryThreshold: 0n,
    environmentVariables: [],
  };
}

export interface CanisterLogRecord {
  idx: bigint;
  timestampNanos: bigint;
  content: Uint8Array;
}

/** Who started a call context and where its answer goes. */
export type CallOrigin =
  | { kind: 'ingress'; messageId: string }
  | { kind: 'canister'; caller: Principal; callbackId: number; deadline: bigint }
  | { kind: 'system' };

export interface CallContext {
  id: number;
  origin: CallOrigin;
  /** The method the call context's message called (the export for a heartbeat or timer): trap reports name it. */
  method?: string;
  caller: Uint8Array;
  responded: boolean;
  outstandingCalls: number;
  /** Cycles the caller attached and the canister has not accepted yet. */
  availableCycles: bigint;
  /**
   * Instructions its executions used so far (`performance_counter(1)`): a property, not a side
   * table, so that an instance snapshot restores it with the context.
   */
  instructionsUsed?: bigint;
  /**
   * Marked deleted by an uninstall: the responses to its outstanding calls run no code, yet
   * the context stays open until they arrive (a stopping canister waits for them).
   */
  deleted?: boolean;
}

export interface Callback {
  id: number;
  callContextId: number;
  callee: Principal;
  reply: WasmClosure;
  reject: WasmClosure;
  cleanup?: WasmClosure;
  cyclesSent: bigint;
  deadline: bigint;
  /** Cycles `call_perform` withdrew for the response's transmission and its callback's execution. */
  prepaidResponseTransmission: bigint;
  prepaidResponseExecution: bigint;
}

/** One entry of the canister history that `canister_info` reports (spec: "IC method canister_info"). */
export interface CanisterChange {
  timestamp_nanos: bigint;
  canister_version: bigint;
  origin:
    | { from_user: { user_id: Principal } }
    | { from_canister: { canister_id: Principal; canister_version: [] | [bigint] } };
  details:
    | { creation: { controllers: Principal[] } }
    | { code_uninstall: null }
    | {
        code_deployment: {
          mode: { install: null } | { reinstall: null } | { upgrade: null };
          module_hash: Uint8Array;
        };
      }
    | { controllers_change: { controllers: Principal[] } }
    | {
        load_snapshot: {
          canister_version: bigint;
          snapshot_id: Uint8Array;
          taken_at_timestamp: bigint;
          source: SnapshotSource;
          /** The canister the snapshot belongs to, when not the one it was loaded onto. */
          from_canister_id: [] | [Principal];
        };
      };
}

/** Where a snapshot came from (the management canister's Candid: `reserved` payloads). */
export type SnapshotSource = { taken_from_canister: null } | { metadata_upload: null };

/** A Wasm global's value in a snapshot, as `read_canister_snapshot_metadata` reports it. */
export type SnapshotGlobal =
  { i32: number } | { i64: bigint } | { f32: number } | { f64: number } | { v128: bigint };

export type SnapshotTimer = { inactive: null } | { active: bigint };
export type LowWasmMemoryHookStatus =
  { condition_not_satisfied: null } | { ready: null } | { executed: null };

/**
 * A canister snapshot (dfinity/ic `rs/replicated_state/src/canister_snapshots.rs`
 * `CanisterSnapshot`): the module, the mutable globals, both memories, the
 * certified data and the chunk store of the canister when it was taken, or as
 * uploaded.
 */
export interface CanisterSnapshot {
  /** 8-byte big-endian local id followed by the canister id (`SnapshotId`). */
  id: Uint8Array;
  localId: bigint;
  source: SnapshotSource;
  takenAtTimestamp: bigint;
  canisterVersion: bigint;
  /** Bytes it counts against the canister's memory. */
  size: bigint;
  wasmModule: Uint8Array;
  /** The module's mutable globals in index order (the instruction counter excluded). */
  globals: SnapshotGlobal[];
  /** Both memories in 64 KiB pages, stored sparsely (an uploaded snapshot starts all zero). */
  wasmMemory: StableMemory;
  stableMemory: StableMemory;
  certifiedData: Uint8Array;
  chunkStore: Map<string, Uint8Array>;
  /** Restored by a load only for uploaded snapshots (canister_manager.rs `load_canister_snapshot`). */
  globalTimer: SnapshotTimer | undefined;
  onLowWasmMemoryHookStatus: LowWasmMemoryHookStatus | undefined;
}

export class CanisterState implements CanisterEnv {
  readonly id: Principal;
  readonly idBytes: Uint8Array;
  readonly idText: string;
  subnetId: Principal;
  readonly stable = new StableMemory();
  controllers: Principal[];
  balance: bigint;
  /** The fees of the canister's subnet (cycles/fees.ts). */
  readonly fees: Fees;
  /**
   * Cycles set aside for future storage (`reserved_cycles` of `canister_status`): reserved when
   * the canister allocates memory on a subnet above its memory threshold, spent on storage and
   * allocations before the main balance, never withdrawable.
   */
  reservedBalance = 0n;
  /** Memory all canisters of the canister's subnet take (`Subnet.memoryUsage`). */
  readonly subnetMemoryUsage: () => bigint;
  readonly thresholdKeyFee: CanisterEnv['thresholdKeyFee'];
  /** When storage and allocations were last charged (ns): charges cover the time since. */
  lastAllocationCharge: bigint;
  status: CanisterStatus = 'running';
  settings: CanisterSettings = defaultSettings();
  /** `canister_version`: bumped by every install_code, uninstall and controller change. */
  versionNumber = 0n;
  runtime: WasmRuntime | undefined;
  moduleHash: Uint8Array | undefined;
  /** The module bytes as installed (possibly gzip-compressed). */
  moduleBytes: Uint8Array | undefined;
  certifiedData: Uint8Array = new Uint8Array();
  globalTimer = 0n;
  readonly chunkStore = new Map<string, Uint8Array>();
  logs: CanisterLogRecord[] = [];
  /** All changes since creation; `canister_info` returns the most recent ones. */
  history: CanisterChange[] = [];
  /** Snapshots by the hex of their id; they go with the canister when it is deleted. */
  readonly snapshots = new Map<string, CanisterSnapshot>();
  /** The next snapshot's local id (`SystemState::new_local_snapshot_id`). */
  nextSnapshotLocalId = 0n;
  nextLogIdx = 0n;
  readonly callContexts = new Map<number, CallContext>();
  readonly callbacks = new Map<number, Callback>();
  nextCallContextId = 0;
  nextCallbackId = 0;
  /** Call contexts of `stop_canister` calls waiting for the canister to stop. */
  stopWaiters: ((outcome: 'stopped' | 'cancelled') => void)[] = [];
  readonly rootKeyBytes: () => Uint8Array;

  constructor(options: {
    id: Principal;
    subnetId: Principal;
    controllers: Principal[];
    cycles: bigint;
    rootKey: () => Uint8Array;
    fees: Fees;
    /** Creation time (ns), from which the first storage charge counts. */
    time: bigint;
    subnetMemoryUsage?: () => bigint;
    /** The instance's threshold keys (`management/threshold/keys.ts`). */
    thresholdKeyFee?: CanisterEnv['thresholdKeyFee'];
  }) {
    this.id = options.id;
    this.idBytes = options.id.toUint8Array();
    this.idText = options.id.toText();
    this.subnetId = options.subnetId;
    this.controllers = options.controllers;
    this.balance = options.cycles;
    this.fees = options.fees;
    this.lastAllocationCharge = options.time;
    this.rootKeyBytes = options.rootKey;
    this.subnetMemoryUsage = options.subnetMemoryUsage ?? (() => 0n);
    this.thresholdKeyFee = options.thresholdKeyFee ?? (() => undefined);
  }

  subnetIdBytes(): Uint8Array {
    return this.subnetId.toUint8Array();
  }

  cycles(): bigint {
    return this.balance;
  }

  freezingThreshold(): bigint {
    return freezingThreshold(this);
  }

  statusCode(): number {
    return this.status === 'running' ? 1 : this.status === 'stopping' ? 2 : 3;
  }

  version(): bigint {
    return this.versionNumber;
  }

  isController(principal: Uint8Array): boolean {
    return this.controllers.some((c) => equalBytes(c.toUint8Array(), principal));
  }

  isControlledBy(principal: Principal): boolean {
    return this.isController(principal.toUint8Array());
  }

  /**
   * Whether `principal` may read the canister's logs under its `log_visibility`
   * (spec: "IC method fetch_canister_logs"); the replica shows a trap's
   * backtrace to such a caller only.
   */
  logsVisibleTo(principal: Uint8Array): boolean {
    const visibility = this.settings.logVisibility;
    return (
      this.isController(principal) ||
      'public' in visibility ||
      ('allowed_viewers' in visibility &&
        visibility.allowed_viewers.some((p) => equalBytes(p.toUint8Array(), principal)))
    );
  }

  rootKey(): Uint8Array {
    return this.rootKeyBytes();
  }

  environmentVariables(): { name: string; value: string }[] {
    return this.settings.environmentVariables;
  }

  wasmMemoryLimit(): bigint {
    return this.settings.wasmMemoryLimit;
  }

  /**
   * Requests to `callee` that still fit in the queues: the capacity less the
   * response slots that outstanding calls reserve (queues.rs
   * `available_output_request_slots`; requests leave the output queue as soon
   * as the round routes them, so only the reservations persist here).
   */
  availableRequestSlots(callee: Uint8Array): number {
    let reserved = 0;
    for (const cb of this.callbacks.values()) if (equalBytes(cb.callee.toUint8Array(), callee)) reserved++;
    return DEFAULT_QUEUE_CAPACITY - reserved;
  }

  /** Open call contexts: the canister is stopped only when there are none. */
  hasOpenCallContexts(): boolean {
    for (const ctx of this.callContexts.values()) if (!ctx.responded || ctx.outstandingCalls > 0) return true;
    return false;
  }

  /**
   * The memory the canister uses, part by part, as `canister_status` reports
   * it in `memory_metrics` (IC interface specification, "IC method
   * canister_status"; dfinity/ic rs/replicated_state/src/canister_state.rs
   * `memory_usage` and the getters canister_manager.rs `get_canister_status`
   * reads).
   */
  memoryMetrics(): MemoryMetrics {
    const runtime = this.runtime;
    let globals = 0;
    let customSections = 0;
    if (runtime) ({ globals, customSections } = moduleSizes(runtime.compiled));
    const history = this.history
      .slice(-MAX_CANISTER_HISTORY_CHANGES)
      .reduce((n, change) => n + canisterChangeBytes(change), 0);
    return {
      wasm_memory_size: BigInt(runtime?.heapSize() ?? 0),
      stable_memory_size: this.stable.byteLength,
      global_memory_size: BigInt(globals * GLOBAL_BYTES),
      wasm_binary_size: BigInt(this.moduleBytes?.length ?? 0),
      custom_sections_size: BigInt(customSections),
      canister_history_size: BigInt(history),
      wasm_chunk_store_size: BigInt(this.chunkStore.size) * CHUNK_STORE_BYTES_PER_CHUNK,
      snapshots_size: [...this.snapshots.values()].reduce((n, s) => n + s.size, 0n),
    };
  }

  /**
   * Memory its messages hold, charged as storage but not part of `memory_size`
   * (canister_state.rs `message_memory_usage`): every guaranteed-response call
   * reserves room for the largest response, on the caller's side until the
   * response is consumed and on the callee's until it replies (queues.rs
   * `guaranteed_response_memory_usage`). Queued messages are delivered within
   * the round here, so only the reservations last between rounds.
   * Best-effort calls (a deadline) reserve nothing.
   */
  messageMemoryUsage(): bigint {
    let reservations = 0n;
    for (const cb of this.callbacks.values()) if (cb.deadline === 0n) reservations++;
    for (const ctx of this.callContexts.values())
      if (!ctx.responded && ctx.origin.kind === 'canister' && ctx.origin.deadline === 0n) reservations++;
    return reservations * MAX_RESPONSE_COUNT_BYTES;
  }

  /** Memory the canister uses, as `canister_status` reports it: the sum of its `memoryMetrics`. */
  memorySize(): bigint {
    return Object.values(this.memoryMetrics()).reduce((n, v) => n + v, 0n);
  }

  /** The bytes the canister takes from its subnet: its memory allocation, or its usage when above (`allocated_bytes`). */
  allocatedBytes(): bigint {
    const usage = this.memorySize();
    return this.settings.memoryAllocation > usage ? this.settings.memoryAllocation : usage;
  }
}

const MODULE_SIZES = new WeakMap<WasmRuntime['compiled'], { globals: number; customSections: number }>();

/** A module's exported globals and custom-section bytes, computed once per compiled module. */
function moduleSizes(compiled: WasmRuntime['compiled']): { globals: number; customSections: number } {
  let sizes = MODULE_SIZES.get(compiled);
  if (!sizes) {
    const utf8 = new TextEncoder();
    // Every global the instrumented module exports: the mutable ones (exported so they can be
    // persisted) and the instruction counter (wasmtime_embedder.rs `get_exported_globals`).
    const globals = WebAssembly.Module.exports(compiled.module).filter((e) => e.kind === 'global').length;
    // WasmMetadata::memory_usage: the name, the visibility byte and the content of each section.
    let customSections = 0;
    for (const m of compiled.metadata) customSections += utf8.encode(m.name).length + 1 + m.content.length;
    sizes = { globals, customSections };
    MODULE_SIZES.set(compiled, sizes);
  }
  return sizes;
}

/** `canister_status`'s `memory_metrics` (IC interface specification, the management canister's Candid). */
export interface MemoryMetrics {
  wasm_memory_size: bigint;
  stable_memory_size: bigint;
  global_memory_size: bigint;
  wasm_binary_size: bigint;
  custom_sections_size: bigint;
  canister_history_size: bigint;
  wasm_chunk_store_size: bigint;
  snapshots_size: bigint;
}

/**
 * `MAX_RESPONSE_COUNT_BYTES` (rs/types/types/src/messages.rs): the largest
 * inter-canister payload (2 MiB) plus `size_of::<RequestOrResponse>()` (16: an
 * enum of `Arc`s) and `size_of::<Response>()` (144: two principals, callback id,
 * refund, payload, deadline, aligned to 16) in the replica's x86-64 build.
 * [inference from the types' layout]
 */
export const MAX_RESPONSE_COUNT_BYTES = 2n * 1024n * 1024n + 16n + 144n;

/** The changes canister history keeps, and counts (rs/replicated_state/src/canister_state/system_state.rs). */
export const MAX_CANISTER_HISTORY_CHANGES = 20;
/**
 * `size_of::<Global>()` in the replica's x86-64 build: a tagged enum whose
 * largest payload is a 128-bit (V128) value (execution_state.rs
 * `global_memory_usage`). [inference from the type's layout]
 */
const GLOBAL_BYTES = 32;
/** Every chunk takes a whole chunk's room (wasm_chunk_store.rs `CHUNK_SIZE`, `memory_usage`). */
const CHUNK_STORE_BYTES_PER_CHUNK = 1024n * 1024n;
/** `size_of::<PrincipalId>()`: a length byte and 29 bytes. */
const PRINCIPAL_BYTES = 30;
/**
 * `size_of::<CanisterChange>()` in the replica's build, measured on PocketIC:
 * a canister created with one controller reports 990 bytes of history, one
 * change plus one controller (rs/types/management_canister_types
 * `CanisterChange::count_bytes`).
 */
const CANISTER_CHANGE_BYTES = 960;

/** `CanisterChange::count_bytes`: the change itself, plus the controllers a creation or controllers change lists. */
function canisterChangeBytes(change: CanisterChange): number {
  const d = change.details;
  const controllers =
    'creation' in d
      ? d.creation.controllers.length
      : 'controllers_change' in d
        ? d.controllers_change.controllers.length
        : 0;
  return CANISTER_CHANGE_BYTES + controllers * PRINCIPAL_BYTES;
}
