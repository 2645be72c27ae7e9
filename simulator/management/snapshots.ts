/**
 * Canister snapshots: `take_canister_snapshot`, `load_canister_snapshot`,
 * `list_canister_snapshots`, `delete_canister_snapshot` and the snapshot data
 * methods (`read_canister_snapshot_metadata`, `read_canister_snapshot_data`,
 * `upload_canister_snapshot_metadata`, `upload_canister_snapshot_data`), as
 * the IC interface specification describes them and the replica implements
 * them (dfinity/ic `rs/execution_environment/src/canister_manager.rs`,
 * `rs/replicated_state/src/canister_snapshots.rs`).
 *
 * A snapshot lives in its canister's state (`CanisterState.snapshots`), so it
 * goes with the canister when the canister is deleted or runs out of cycles.
 */
import { Principal } from '@icp-sdk/core/principal';
import { sha256 } from '@noble/hashes/sha2.js';
import { fromHex, toHex } from '../bytes.ts';
import { EXECUTION_ERRORS_DOCS, UserError } from '../errors.ts';
import { MAX_STABLE_MEMORY_PAGES, StableMemory, WASM_PAGE_SIZE } from '../canister/stable-memory.ts';
import type { CanisterChange, CanisterSnapshot, CanisterState, SnapshotGlobal } from '../canister/state.ts';
import {
  displayCycles,
  freezingThreshold,
  freezingThresholdAtUsage,
  reserveCycles,
  shortfall,
  storageReservation,
} from '../cycles/account.ts';
import { compilationInstructions } from '../cycles/compilation.ts';
import { WasmRuntime } from '../execution/runtime.ts';
import type { ManagementCall, Replica } from '../subnet/replica.ts';
import { compileCanisterModule, type CompiledModule } from '../wasm/cache.ts';
import { WASM_MAX_SIZE, type ValType } from '../wasm/decode.ts';
import { InvalidWasmError } from '../wasm/validate.ts';
import * as errors from './errors.ts';
import type { ManagementArgs } from './idl.ts';
import * as snapshotErrors from './snapshot-errors.ts';

/** `max_number_of_snapshots_per_canister` (dfinity/ic `rs/config/src/execution_environment.rs`). */
export const MAX_SNAPSHOTS_PER_CANISTER = 10;
/** `DEFAULT_CANISTERS_SNAPSHOT_BASELINE_INSTRUCTIONS` (rs/config/src/subnet_config.rs): taking or loading one. */
export const SNAPSHOT_BASELINE_INSTRUCTIONS = 2_000_000_000n;
/** `DEFAULT_CANISTERS_SNAPSHOT_DATA_BASELINE_INSTRUCTIONS`: reading one slice of snapshot data. */
export const SNAPSHOT_DATA_BASELINE_INSTRUCTIONS = 5_000_000n;
/** `MAX_SLICE_SIZE_BYTES` (canister_manager.rs): the largest slice one `read_canister_snapshot_data` returns. */
export const MAX_SLICE_SIZE_BYTES = 2_000_000n;
/** A chunk store's chunks count whole (wasm_chunk_store.rs `chunk_size`), and hold at most `WASM_MAX_SIZE`. */
const CHUNK_SIZE = 1024 * 1024;
const MAX_CHUNKS = WASM_MAX_SIZE / CHUNK_SIZE;
/** `size_of::<Global>()` in the replica's build, as `canister/state.ts` counts a global. */
const GLOBAL_BYTES = 32n;
/** `MAX_WASM_MEMORY_IN_BYTES` (ic_types): a wasm32 heap's 4 GiB. */
const MAX_WASM_MEMORY_BYTES = 4n * 1024n * 1024n * 1024n;
/** `MAX_GLOBALS` (rs/embedders): the most globals a module may declare. */
const MAX_GLOBALS = 1000;
/** The local id is 8 big-endian bytes before the canister id (`SnapshotId` in rs/types/base_types). */
const LOCAL_ID_BYTES = 8;
const MAX_SNAPSHOT_ID_BYTES = LOCAL_ID_BYTES + 29;

export type SnapshotMethod = keyof typeof snapshotMethodNames;
const snapshotMethodNames = {
  take_canister_snapshot: null,
  load_canister_snapshot: null,
  list_canister_snapshots: null,
  delete_canister_snapshot: null,
  read_canister_snapshot_metadata: null,
  read_canister_snapshot_data: null,
  upload_canister_snapshot_metadata: null,
  upload_canister_snapshot_data: null,
} as const;

export const SNAPSHOT_METHODS: readonly SnapshotMethod[] = Object.keys(
  snapshotMethodNames,
) as SnapshotMethod[];

export function isSnapshotMethod(method: string): method is SnapshotMethod {
  return Object.hasOwn(snapshotMethodNames, method);
}

/** What the snapshot methods need of the management canister. */
export interface SnapshotHost {
  readonly replica: Replica;
  /** The canister named by the argument, which the caller must control (or an error thrown). */
  controlled(id: Principal, caller: Principal): CanisterState;
  /** Appends a change to the canister's history, with the call as its origin. */
  record(canister: CanisterState, call: ManagementCall, details: CanisterChange['details']): void;
  /** `uninstall_code`'s effects, history entry included (for `take_canister_snapshot`'s `uninstall_code`). */
  uninstall(canister: CanisterState, call: ManagementCall): void;
  decode<M extends SnapshotMethod>(method: M, arg: Uint8Array): ManagementArgs[M];
}

/** A parsed snapshot id: the canister it belongs to, its local id, and the replica's text for it. */
interface ParsedId {
  canister: Principal;
  localId: bigint;
  text: string;
  hex: string;
}

function parseSnapshotId(bytes: Uint8Array): ParsedId {
  // A blob that is no `SnapshotId` fails Candid decoding in the replica (`SnapshotId::try_from`).
  if (bytes.length < LOCAL_ID_BYTES || bytes.length > MAX_SNAPSHOT_ID_BYTES) {
    const bound = bytes.length < LOCAL_ID_BYTES ? 'minumum' : 'maximum';
    throw errors.invalidPayload(
      `Invalid length of SnapshotId: Invalid snapshot ID length: provided ${bytes.length}, ${bound} length expected ${MAX_SNAPSHOT_ID_BYTES}.`,
    );
  }
  const localId = new DataView(bytes.buffer, bytes.byteOffset, LOCAL_ID_BYTES).getBigUint64(0, false);
  const canister = Principal.fromUint8Array(bytes.slice(LOCAL_ID_BYTES));
  return { canister, localId, text: `${canister.toText()}-${localId}`, hex: toHex(bytes) };
}

function snapshotId(canister: Principal, localId: bigint): Uint8Array {
  const id = new Uint8Array(LOCAL_ID_BYTES + canister.toUint8Array().length);
  new DataView(id.buffer).setBigUint64(0, localId, false);
  id.set(canister.toUint8Array(), LOCAL_ID_BYTES);
  return id;
}

/** `InsufficientCyclesInMemoryGrow` (canister_manager/types.rs), to a controller: with the missing cycles. */
function memoryGrowError(bytes: bigint, missing: bigint): UserError {
  return new UserError(
    'InsufficientCyclesInMemoryGrow',
    `Canister cannot grow memory by ${bytes} bytes due to insufficient cycles. At least ${displayCycles(missing)} additional cycles are required.\n` +
      `Top up the canister with more cycles. See documentation: ${EXECUTION_ERRORS_DOCS}insufficient-cycles-in-memory-grow-1`,
  );
}

/** Rust's `{:02x?}` of a byte slice, as the replica prints a chunk hash. */
const debugHex = (bytes: Uint8Array): string =>
  `[${[...bytes].map((b) => b.toString(16).padStart(2, '0')).join(', ')}]`;

/** Bytes of a memory in whole pages. */
const pagesBytes = (m: StableMemory): bigint => m.byteLength;

/**
 * The bytes a snapshot of the canister takes: its execution state without the
 * custom sections (which live inside the module), its chunk store and its
 * certified data (`CanisterState::snapshot_size_bytes`, `memory_usage_in_snapshot`).
 */
function snapshotSizeOf(canister: CanisterState): bigint {
  const m = canister.memoryMetrics();
  if (!canister.runtime) return m.wasm_chunk_store_size + BigInt(canister.certifiedData.length);
  return (
    m.wasm_memory_size +
    m.stable_memory_size +
    m.global_memory_size +
    m.wasm_binary_size +
    m.wasm_chunk_store_size +
    BigInt(canister.certifiedData.length)
  );
}

/** The memory a canister would use with its execution state (module, memories, globals, custom sections) as in `metrics`. */
function executionBytes(m: ReturnType<CanisterState['memoryMetrics']>): bigint {
  return (
    m.wasm_memory_size +
    m.stable_memory_size +
    m.global_memory_size +
    m.wasm_binary_size +
    m.custom_sections_size
  );
}

/** Each mutable global of `compiled` by export name, with its value type, in index order. */
function globalSlots(compiled: CompiledModule): { name: string; type: ValType }[] {
  const types = new Map<number, ValType>();
  for (const i of compiled.info.imports) if (i.kind === 'global') types.set(i.index, i.global.valType);
  for (const g of compiled.info.globals) types.set(g.index, g.valType);
  return compiled.globalExports.map((g) => ({ name: g.name, type: types.get(g.index) ?? 'i32' }));
}

function typedGlobal(type: ValType, value: number | bigint | undefined): SnapshotGlobal {
  switch (type) {
    case 'i64':
      return { i64: BigInt(value ?? 0n) };
    case 'f32':
      return { f32: Number(value ?? 0) };
    case 'f64':
      return { f64: Number(value ?? 0) };
    case 'v128':
      // V8 cannot read a v128 global from JavaScript; a snapshot keeps it as zero.
      return { v128: 0n };
    default:
      return { i32: Number(value ?? 0) };
  }
}

const globalType = (g: SnapshotGlobal): string => Object.keys(g)[0]!;
const globalValue = (g: SnapshotGlobal): number | bigint => Object.values(g)[0] as number | bigint;

export class CanisterSnapshots {
  readonly #host: SnapshotHost;

  constructor(host: SnapshotHost) {
    this.#host = host;
  }

  /** Runs one snapshot method; returns its reply value (for the method's Candid result). */
  handle(method: SnapshotMethod, call: ManagementCall): unknown {
    const host = this.#host;
    switch (method) {
      case 'take_canister_snapshot':
        return this.#take(call, host.decode(method, call.arg));
      case 'load_canister_snapshot':
        return this.#load(call, host.decode(method, call.arg));
      case 'list_canister_snapshots': {
        const a = host.decode(method, call.arg);
        const canister = host.controlled(a.canister_id, call.caller);
        return [...canister.snapshots.values()]
          .sort((x, y) => (x.localId < y.localId ? -1 : 1))
          .map((s) => ({ id: s.id, taken_at_timestamp: s.takenAtTimestamp, total_size: s.size }));
      }
      case 'delete_canister_snapshot': {
        const a = host.decode(method, call.arg);
        const canister = host.controlled(a.canister_id, call.caller);
        const snapshot = this.#owned(canister, a.snapshot_id);
        canister.snapshots.delete(toHex(snapshot.id));
        return undefined;
      }
      case 'read_canister_snapshot_metadata': {
        const a = host.decode(method, call.arg);
        const canister = host.controlled(a.canister_id, call.caller);
        const s = this.#owned(canister, a.snapshot_id);
        return {
          source: s.source,
          taken_at_timestamp: s.takenAtTimestamp,
          wasm_module_size: BigInt(s.wasmModule.length),
          globals: s.globals,
          wasm_memory_size: pagesBytes(s.wasmMemory),
          stable_memory_size: pagesBytes(s.stableMemory),
          wasm_chunk_store: [...s.chunkStore.keys()].map((h) => ({ hash: fromHex(h) })),
          canister_version: s.canisterVersion,
          certified_data: s.certifiedData,
          global_timer: s.globalTimer ? [s.globalTimer] : [],
          on_low_wasm_memory_hook_status: s.onLowWasmMemoryHookStatus ? [s.onLowWasmMemoryHookStatus] : [],
        };
      }
      case 'read_canister_snapshot_data':
        return this.#readData(call, host.decode(method, call.arg));
      case 'upload_canister_snapshot_metadata':
        return this.#uploadMetadata(call, host.decode(method, call.arg));
      case 'upload_canister_snapshot_data':
        this.#uploadData(call, host.decode(method, call.arg));
        return undefined;
    }
  }

  /** The snapshot `id` of `canister` (`get_snapshot`): not found, or another canister's, is an error. */
  #owned(canister: CanisterState, id: Uint8Array): CanisterSnapshot {
    const parsed = parseSnapshotId(id);
    const snapshot = this.#find(parsed);
    if (!snapshot) throw snapshotErrors.snapshotNotFound(canister.id, parsed.text);
    if (snapshot.owner.id.compareTo(canister.id) !== 'eq')
      throw snapshotErrors.invalidOwnership(canister.id, parsed.text);
    return snapshot.snapshot;
  }

  #find(id: ParsedId): { owner: CanisterState; snapshot: CanisterSnapshot } | undefined {
    const owner = this.#host.replica.findCanister(id.canister);
    const snapshot = owner?.snapshots.get(id.hex);
    return owner && snapshot ? { owner, snapshot } : undefined;
  }

  /**
   * Whether the canister, using `newMemory` bytes, can pay `cost` and stay
   * above its freezing threshold (`cycles_and_memory_usage_checks`): first
   * whether the new memory alone freezes it, then whether it can pay the
   * instructions, then whether it can reserve the storage the new memory
   * needs on a full subnet. Throws the replica's error; charges nothing.
   * Returns the cycles to reserve.
   */
  #check(canister: CanisterState, cost: bigint, newMemory: bigint): bigint {
    const allocation = canister.settings.memoryAllocation;
    const allocated = (usage: bigint): bigint => (usage > allocation ? usage : allocation);
    const oldBytes = allocated(canister.memorySize());
    const newBytes = allocated(newMemory);
    const grown = newBytes > oldBytes ? newBytes - oldBytes : 0n;
    const threshold = freezingThresholdAtUsage(canister, newMemory);
    if (canister.balance < threshold) throw memoryGrowError(grown, threshold - canister.balance);
    const short = shortfall(canister, canister.balance, cost, threshold, true);
    if (short) throw snapshotErrors.notEnoughCycles(short.message);
    const reservation = storageReservation(canister, grown);
    if ('exceeded' in reservation) {
      throw new UserError(
        'ReservedCyclesLimitExceededInMemoryGrow',
        `Canister cannot grow memory by ${grown} bytes due to its reserved cycles limit. The current limit (${displayCycles(reservation.limit)}) would be exceeded by ${displayCycles(reservation.exceeded - reservation.limit)}.\n` +
          `Try increasing this canister's reserved cycles limit or moving it to a subnet with lower memory usage. See documentation: ${EXECUTION_ERRORS_DOCS}reserved-cycles-limit-exceeded-in-memory-grow`,
      );
    }
    // The reservation comes out of what the instructions leave (`can_reserve_cycles`).
    const needed = 'insufficient' in reservation ? reservation.insufficient : reservation.cycles;
    const left = canister.balance - cost;
    if (needed > left) throw memoryGrowError(grown, needed - left);
    return needed;
  }

  /** {@link #check}, then burns `cost` and reserves the storage. */
  #charge(canister: CanisterState, cost: bigint, newMemory: bigint): void {
    const reservation = this.#check(canister, cost, newMemory);
    this.#apply(canister, cost, reservation);
  }

  #apply(canister: CanisterState, cost: bigint, reservation: bigint): void {
    canister.balance -= cost;
    if (reservation > 0n) reserveCycles(canister, reservation);
  }

  /** Burns management instructions if the canister stays above its freezing threshold (`consume_cycles_for_instructions`). */
  #chargeInstructions(canister: CanisterState, instructions: bigint): void {
    const cost = canister.fees.managementCanisterCost(instructions);
    const short = shortfall(canister, canister.balance, cost, freezingThreshold(canister), true);
    if (short) throw snapshotErrors.notEnoughCycles(short.message);
    canister.balance -= cost;
  }

  /** The size against the per-canister limit, or the replaced snapshot's size. */
  #replaceOrLimit(canister: CanisterState, replace: Uint8Array | undefined): CanisterSnapshot | undefined {
    if (replace) return this.#owned(canister, replace);
    if (canister.snapshots.size >= MAX_SNAPSHOTS_PER_CANISTER)
      throw snapshotErrors.limitExceeded(canister.id, MAX_SNAPSHOTS_PER_CANISTER);
    return undefined;
  }

  #add(
    canister: CanisterState,
    make: (id: Uint8Array, localId: bigint) => CanisterSnapshot,
  ): CanisterSnapshot {
    const localId = canister.nextSnapshotLocalId++;
    const snapshot = make(snapshotId(canister.id, localId), localId);
    canister.snapshots.set(toHex(snapshot.id), snapshot);
    return snapshot;
  }

  /** `take_canister_snapshot` (canister_manager.rs): charged 2B instructions plus one per byte. */
  #take(call: ManagementCall, a: ManagementArgs['take_canister_snapshot']): unknown {
    const canister = this.#host.controlled(a.canister_id, call.caller);
    const replaced = this.#replaceOrLimit(canister, a.replace_snapshot[0]);
    const uninstall = a.uninstall_code[0] === true;
    const size = snapshotSizeOf(canister);
    const metrics = canister.memoryMetrics();
    // What `uninstall_code` frees here: the execution state (icsim's uninstall keeps the chunk store).
    const uninstalled = uninstall ? executionBytes(metrics) : 0n;
    const newMemory = canister.memorySize() + size - (replaced?.size ?? 0n) - uninstalled;
    const cost = canister.fees.executionCost(SNAPSHOT_BASELINE_INSTRUCTIONS + size, false);
    const reservation = this.#check(canister, cost, newMemory);
    // An empty canister is noticed after the cycles checks, and nothing is charged (`CanisterSnapshot::from_canister`).
    const runtime = canister.runtime;
    if (!runtime) throw snapshotErrors.emptyCanister(canister.id);
    this.#apply(canister, cost, reservation);

    const wasmMemory = new StableMemory();
    wasmMemory.grow(runtime.heapSize() / WASM_PAGE_SIZE, Number.MAX_SAFE_INTEGER);
    wasmMemory.write(0, runtime.heap());
    const stableMemory = new StableMemory();
    stableMemory.copyFrom(canister.stable);
    const time = this.#host.replica.roundTime;
    if (replaced) canister.snapshots.delete(toHex(replaced.id));
    const snapshot = this.#add(canister, (id, localId) => ({
      id,
      localId,
      source: { taken_from_canister: null },
      takenAtTimestamp: time,
      canisterVersion: canister.versionNumber,
      size,
      wasmModule: (canister.moduleBytes ?? new Uint8Array()).slice(),
      globals: globalSlots(runtime.compiled).map((g) => typedGlobal(g.type, runtime.globalValue(g.name))),
      wasmMemory,
      stableMemory,
      certifiedData: canister.certifiedData.slice(),
      chunkStore: new Map(canister.chunkStore),
      globalTimer: canister.globalTimer === 0n ? { inactive: null } : { active: canister.globalTimer },
      // icsim runs no on_low_wasm_memory hook: its condition is never satisfied.
      onLowWasmMemoryHookStatus: { condition_not_satisfied: null },
    }));
    if (uninstall) this.#host.uninstall(canister, call);
    return { id: snapshot.id, taken_at_timestamp: snapshot.takenAtTimestamp, total_size: snapshot.size };
  }

  /**
   * `load_canister_snapshot` (canister_manager.rs): the module is compiled
   * anew, and the heap, stable memory, globals, certified data and chunk store
   * replaced by the snapshot's; the global timer only from an uploaded
   * snapshot that names it. The canister's version goes up by one and its
   * history records the load. Charged 2B instructions, then compilation plus
   * one instruction per snapshot byte; a load that fails charges nothing.
   */
  #load(call: ManagementCall, a: ManagementArgs['load_canister_snapshot']): undefined {
    const canister = this.#host.controlled(a.canister_id, call.caller);
    const parsed = parseSnapshotId(a.snapshot_id);
    const found = this.#find(parsed);
    if (!found) throw snapshotErrors.snapshotNotFound(canister.id, parsed.text);
    const { owner, snapshot } = found;
    const fromOther = owner.id.compareTo(canister.id) !== 'eq';
    if (fromOther && !owner.isControlledBy(call.caller))
      throw snapshotErrors.notController(call.caller, canister.id, parsed.text);

    const baseline = canister.fees.managementCanisterCost(SNAPSHOT_BASELINE_INSTRUCTIONS);
    let compiled: CompiledModule;
    try {
      compiled = compileCanisterModule(snapshot.wasmModule);
    } catch (e) {
      if (e instanceof InvalidWasmError)
        throw new UserError('CanisterInvalidWasm', e.fullMessage(canister.idText));
      throw e;
    }
    const slots = globalSlots(compiled);
    const uploaded = 'metadata_upload' in snapshot.source;
    if (
      uploaded &&
      (slots.length !== snapshot.globals.length ||
        slots.some((slot, i) => globalType(snapshot.globals[i]!) !== globalType(typedGlobal(slot.type, 0))))
    ) {
      throw snapshotErrors.inconsistent(
        'Wasm exported globals of canister module and snapshot metadata do not match.',
      );
    }
    let fresh: WasmRuntime;
    try {
      fresh = new WasmRuntime(compiled, canister, (text) => this.#host.replica.printLine(canister, text));
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      throw new UserError(
        'CanisterInvalidWasm',
        `Error from Canister ${canister.idText}: Canister's Wasm module is not valid: ${reason}`,
      );
    }

    // The memory the canister will use: its execution state and chunk store become the snapshot's.
    const before = canister.memoryMetrics();
    const customSections = compiled.metadata.reduce(
      (n, m) => n + BigInt(new TextEncoder().encode(m.name).length + 1 + m.content.length),
      0n,
    );
    const newMemory =
      canister.memorySize() -
      executionBytes(before) -
      before.wasm_chunk_store_size +
      pagesBytes(snapshot.wasmMemory) +
      pagesBytes(snapshot.stableMemory) +
      BigInt(WebAssembly.Module.exports(compiled.module).filter((e) => e.kind === 'global').length) *
        GLOBAL_BYTES +
      BigInt(snapshot.wasmModule.length) +
      customSections +
      BigInt(snapshot.chunkStore.size * CHUNK_SIZE);
    const cost = canister.fees.executionCost(
      compilationInstructions(compiled) + snapshot.size,
      compiled.isWasm64,
    );
    this.#charge(canister, baseline + cost, newMemory);

    fresh.replaceHeap(snapshot.wasmMemory.snapshot());
    slots.forEach((slot, i) => {
      const g = snapshot.globals[i];
      if (g && slot.type !== 'v128') fresh.setGlobalValue(slot.name, globalValue(g));
    });
    fresh.commit();
    canister.runtime = fresh;
    canister.moduleHash = compiled.hash;
    canister.moduleBytes = snapshot.wasmModule.slice();
    canister.stable.copyFrom(snapshot.stableMemory);
    canister.certifiedData = snapshot.certifiedData.slice();
    canister.chunkStore.clear();
    for (const [hash, chunk] of snapshot.chunkStore) canister.chunkStore.set(hash, chunk);
    // A snapshot taken from a canister keeps the canister's timer as it is: restoring it would
    // have broken existing users (canister_manager.rs `load_canister_snapshot`).
    if (uploaded && snapshot.globalTimer) {
      canister.globalTimer = 'active' in snapshot.globalTimer ? snapshot.globalTimer.active : 0n;
    }
    canister.versionNumber += 1n;
    this.#host.record(canister, call, {
      load_snapshot: {
        canister_version: snapshot.canisterVersion,
        snapshot_id: snapshot.id,
        taken_at_timestamp: snapshot.takenAtTimestamp,
        source: snapshot.source,
        from_canister_id: fromOther ? [owner.id] : [],
      },
    });
    return undefined;
  }

  /** `read_canister_snapshot_data`: charged 5M instructions plus the largest answer, before the slice is checked. */
  #readData(call: ManagementCall, a: ManagementArgs['read_canister_snapshot_data']): { chunk: Uint8Array } {
    const canister = this.#host.controlled(a.canister_id, call.caller);
    const s = this.#owned(canister, a.snapshot_id);
    const kind = a.kind;
    let responseBytes: bigint;
    if ('wasm_chunk' in kind) responseBytes = BigInt(CHUNK_SIZE);
    else {
      const size =
        'wasm_module' in kind
          ? kind.wasm_module.size
          : 'wasm_memory' in kind
            ? kind.wasm_memory.size
            : kind.stable_memory.size;
      if (size > MAX_SLICE_SIZE_BYTES) throw snapshotErrors.sliceTooLarge(size, MAX_SLICE_SIZE_BYTES);
      responseBytes = size;
    }
    this.#chargeInstructions(canister, SNAPSHOT_DATA_BASELINE_INSTRUCTIONS + responseBytes);
    if ('wasm_chunk' in kind) {
      const hash = kind.wasm_chunk.hash;
      if (hash.length !== 32)
        throw errors.chunkStoreError(`Bytes ${debugHex(hash)} are not a valid WasmChunkHash`);
      const chunk = s.chunkStore.get(toHex(hash));
      if (!chunk) throw errors.chunkStoreError(`WasmChunkHash ${debugHex(hash)} not found`);
      return { chunk };
    }
    const read = (
      total: bigint,
      offset: bigint,
      size: bigint,
      take: (o: number, n: number) => Uint8Array,
    ) => {
      if (offset + size > total) throw snapshotErrors.invalidSlice(offset, size);
      return { chunk: take(Number(offset), Number(size)) };
    };
    if ('wasm_module' in kind) {
      const { offset, size } = kind.wasm_module;
      return read(BigInt(s.wasmModule.length), offset, size, (o, n) => s.wasmModule.slice(o, o + n));
    }
    const { memory, slice } =
      'wasm_memory' in kind
        ? { memory: s.wasmMemory, slice: kind.wasm_memory }
        : { memory: s.stableMemory, slice: kind.stable_memory };
    return read(pagesBytes(memory), slice.offset, slice.size, (o, n) => {
      const out = new Uint8Array(n);
      memory.read(o, out);
      return out;
    });
  }

  /**
   * `upload_canister_snapshot_metadata` (`create_snapshot_from_metadata`): a
   * new snapshot whose module and memories are zeros of the given sizes, to be
   * written by `upload_canister_snapshot_data`; charged, and counted, at its
   * full size from the start.
   */
  #uploadMetadata(
    call: ManagementCall,
    a: ManagementArgs['upload_canister_snapshot_metadata'],
  ): { snapshot_id: Uint8Array } {
    const canister = this.#host.controlled(a.canister_id, call.caller);
    const invalid = validateMetadata(a);
    if (invalid) throw snapshotErrors.invalidMetadata(invalid);
    const replaced = this.#replaceOrLimit(canister, a.replace_snapshot[0]);
    const size =
      a.wasm_module_size +
      a.wasm_memory_size +
      a.stable_memory_size +
      BigInt(a.certified_data.length) +
      BigInt(a.globals.length) * GLOBAL_BYTES;
    const newMemory = canister.memorySize() + size - (replaced?.size ?? 0n);
    this.#charge(
      canister,
      canister.fees.executionCost(SNAPSHOT_BASELINE_INSTRUCTIONS + size, false),
      newMemory,
    );
    if (replaced) canister.snapshots.delete(toHex(replaced.id));
    const memory = (bytes: bigint): StableMemory => {
      const m = new StableMemory();
      m.grow(Number(bytes / BigInt(WASM_PAGE_SIZE)), Number.MAX_SAFE_INTEGER);
      return m;
    };
    const time = this.#host.replica.roundTime;
    const snapshot = this.#add(canister, (id, localId) => ({
      id,
      localId,
      source: { metadata_upload: null },
      takenAtTimestamp: time,
      canisterVersion: canister.versionNumber,
      size,
      wasmModule: new Uint8Array(Number(a.wasm_module_size)),
      globals: a.globals,
      wasmMemory: memory(a.wasm_memory_size),
      stableMemory: memory(a.stable_memory_size),
      certifiedData: a.certified_data.slice(),
      chunkStore: new Map(),
      globalTimer: a.global_timer[0],
      onLowWasmMemoryHookStatus: a.on_low_wasm_memory_hook_status[0],
    }));
    return { snapshot_id: snapshot.id };
  }

  /**
   * `upload_canister_snapshot_data` (`write_snapshot_data`): only into an
   * uploaded snapshot; charged one instruction per byte written (a chunk
   * counts whole) before the slice is checked.
   */
  #uploadData(call: ManagementCall, a: ManagementArgs['upload_canister_snapshot_data']): void {
    const canister = this.#host.controlled(a.canister_id, call.caller);
    const s = this.#owned(canister, a.snapshot_id);
    if (!('metadata_upload' in s.source)) throw snapshotErrors.immutable();
    const kind = a.kind;
    const chunk = a.chunk;
    const length = BigInt(chunk.length);
    this.#chargeInstructions(canister, 'wasm_chunk' in kind ? BigInt(CHUNK_SIZE) : length);
    if ('wasm_chunk' in kind) {
      if (chunk.length > CHUNK_SIZE)
        throw errors.chunkStoreError(
          `Wasm chunk size ${chunk.length} exceeds the maximum chunk size of ${CHUNK_SIZE}`,
        );
      const hash = toHex(sha256(chunk));
      if (s.chunkStore.has(hash)) return;
      if (s.chunkStore.size >= MAX_CHUNKS)
        throw errors.chunkStoreError(
          `Wasm chunk store has already reached the maximum of ${MAX_CHUNKS} chunks`,
        );
      // The chunk store's memory was not reserved with the metadata: it is charged now.
      this.#charge(canister, 0n, canister.memorySize() + BigInt(CHUNK_SIZE));
      s.chunkStore.set(hash, chunk.slice());
      s.size += BigInt(CHUNK_SIZE);
      return;
    }
    if ('wasm_module' in kind) {
      const offset = kind.wasm_module.offset;
      if (offset + length > BigInt(s.wasmModule.length)) throw snapshotErrors.invalidSlice(offset, length);
      s.wasmModule.set(chunk, Number(offset));
      return;
    }
    const { memory, offset } =
      'wasm_memory' in kind
        ? { memory: s.wasmMemory, offset: kind.wasm_memory.offset }
        : { memory: s.stableMemory, offset: kind.stable_memory.offset };
    if (offset + length > pagesBytes(memory)) throw snapshotErrors.invalidSlice(offset, length);
    memory.write(Number(offset), chunk);
  }
}

/** `ValidatedSnapshotMetadata::validate`: the `MetadataValidationError` variant, or undefined. */
function validateMetadata(a: ManagementArgs['upload_canister_snapshot_metadata']): string | undefined {
  const page = BigInt(WASM_PAGE_SIZE);
  if (a.wasm_module_size === 0n) return 'WasmModuleEmpty';
  if (a.wasm_module_size > BigInt(WASM_MAX_SIZE)) return 'WasmModuleTooLarge';
  if (a.wasm_memory_size % page !== 0n) return 'WasmMemoryNotPageAligned';
  if (a.wasm_memory_size > MAX_WASM_MEMORY_BYTES) return 'WasmMemoryTooLarge';
  if (a.stable_memory_size % page !== 0n) return 'StableMemoryNotPageAligned';
  if (a.stable_memory_size > BigInt(MAX_STABLE_MEMORY_PAGES) * page) return 'StableMemoryTooLarge';
  if (a.globals.length > MAX_GLOBALS) return 'ExportedGlobalsTooLarge';
  if (a.certified_data.length > 32) return 'CertifiedDataTooLarge';
  return undefined;
}
