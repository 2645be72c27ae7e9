/**
 * The management canister `aaaaa-aa`: each method decodes its Candid
 * argument, checks the caller, acts on the replica's state and answers with
 * Candid, as in the IC interface specification ("The IC management canister").
 */
import { IDL } from '@icp-sdk/core/candid';
import { Principal } from '@icp-sdk/core/principal';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from '../entropy.ts';
import { concatBytes, fromHex, toHex } from '../bytes.ts';
import { UserError } from '../errors.ts';
import { defaultSettings, type CanisterChange, type CanisterState } from '../canister/state.ts';
import { installCode, uninstallCode, type InstallMode } from '../execution/install.ts';
import { rejectDescribed, rejectWith, reply as replied, type CallResult, type Reject } from '../result.ts';
import { type ManagementCall, type ManagementHandler, type Replica } from '../subnet/replica.ts';
import type { Subnet } from '../subnet/subnet.ts';
import * as errors from './errors.ts';
import { CanisterSnapshots, isSnapshotMethod, SNAPSHOT_METHODS } from './snapshots.ts';
import { canisterMetadata } from './canister-metadata.ts';
import {
  consume,
  displayCycles,
  idleCyclesBurnedPerDay,
  prepayExecution,
  refundExecution,
  reserveCycles,
  storageReservation,
  unaffordableAllocation,
} from '../cycles/account.ts';
import {
  assemblyInstructions,
  compilationInstructions,
  installsWasm64,
  invalidModuleInstructions,
} from '../cycles/compilation.ts';
import type { Fees } from '../cycles/fees.ts';
import {
  decodeArgs,
  methods,
  type CanisterInstallMode,
  type CanisterSettings,
  type ManagementArgs,
  type ManagementMethod,
  type Opt,
} from './idl.ts';
import { handleThreshold, isThresholdMethod } from './threshold/methods.ts';

/** 1 MiB: the IC's chunk size limit (spec: "IC method upload_chunk"). */
const MAX_CHUNK_SIZE = 1024 * 1024;
const MAX_CHUNKS = 100;
const MAX_CONTROLLERS = 10;
/** Cycles are a u128 on the IC; provisional amounts beyond it saturate. */
const saturate = (n: bigint): bigint => (n > (1n << 128n) - 1n ? (1n << 128n) - 1n : n);

/** What `provisional_create_canister_with_cycles` gives when no amount is named (spec). */
const DEFAULT_PROVISIONAL_CYCLES = 100_000_000_000_000n;
/**
 * Instructions `upload_chunk` is charged for on application subnets
 * (`DEFAULT_UPLOAD_CHUNK_INSTRUCTIONS` in dfinity/ic `rs/config/src/subnet_config.rs`).
 */
const UPLOAD_CHUNK_INSTRUCTIONS = 200_000_000n;

/** Methods an ingress message may call (spec: "the management canister … ingress"); `raw_rand`, `canister_info` and friends are canister-only. */
const INGRESS_METHODS = new Set<string>([
  'provisional_create_canister_with_cycles',
  'provisional_top_up_canister',
  'install_code',
  'install_chunked_code',
  'upload_chunk',
  'clear_chunk_store',
  'stored_chunks',
  'uninstall_code',
  'update_settings',
  'start_canister',
  'stop_canister',
  'canister_status',
  'delete_canister',
  ...SNAPSHOT_METHODS,
]);

/**
 * Whether `method` is one of the management canister's methods. An own property, not `in`: the
 * names `methods` inherits (`toString`, `constructor`, …) are not methods, and a canister calling
 * one got a reply of `undefined` that broke its callback with an icsim internal error.
 */
function isManagementMethod(method: string): method is ManagementMethod {
  return Object.hasOwn(methods, method);
}

/** The argument's `sender_canister_version`, when the method has one and the argument decodes. */
function claimedSenderVersion(method: string, arg: Uint8Array): bigint | undefined {
  if (!isManagementMethod(method)) return undefined;
  let args: unknown;
  try {
    args = decodeArgs(method, arg);
  } catch {
    return undefined; // the method itself reports the bad argument
  }
  // Methods without an argument record (raw_rand) decode to nothing.
  if (typeof args !== 'object' || args === null) return undefined;
  return (args as { sender_canister_version?: Opt<bigint> }).sender_canister_version?.[0];
}

export interface ManagementHost {
  replica: Replica;
  /** Creates a canister on `subnet` (at `specifiedId` if given). */
  createCanister(
    subnet: Subnet | undefined,
    options: { controllers: Principal[]; cycles: bigint; specifiedId?: Principal },
  ): CanisterState | UserError;
  deleteCanister(canister: CanisterState): void;
}

export class ManagementCanister implements ManagementHandler {
  readonly #host: ManagementHost;
  /** A canister caller's `sender_canister_version`, which its history entries record. */
  readonly #claimedVersions = new WeakMap<ManagementCall, bigint>();
  readonly #snapshots: CanisterSnapshots;

  constructor(host: ManagementHost) {
    this.#host = host;
    this.#snapshots = new CanisterSnapshots({
      get replica() {
        return host.replica;
      },
      controlled: (id, caller) => this.#controlled(id, caller),
      record: (canister, call, details) => this.#record(canister, call, details),
      uninstall: (canister, call) => this.#uninstall(canister, call),
      decode: (method, arg) => this.#decode(method, arg),
    });
  }

  acceptsIngress(method: string): UserError | undefined {
    if (INGRESS_METHODS.has(method)) return undefined;
    if (isManagementMethod(method)) return errors.notViaIngress(method);
    return errors.unknownMethod(method);
  }

  /**
   * `fetch_canister_logs`, the management canister's one query: callable only
   * in non-replicated mode, by whoever the canister's `log_visibility` admits
   * (spec: "IC method fetch_canister_logs").
   */
  query(method: string, arg: Uint8Array, caller: Principal): CallResult {
    try {
      if (method !== 'fetch_canister_logs') {
        throw new UserError('CanisterMethodNotFound', `Management canister has no query method '${method}'`);
      }
      const a = this.#decode('fetch_canister_logs', arg);
      const canister = this.#replica.findCanister(a.canister_id);
      if (!canister) throw errors.canisterNotFound(a.canister_id);
      const visibility = canister.settings.logVisibility;
      const allowed =
        canister.isControlledBy(caller) ||
        'public' in visibility ||
        ('allowed_viewers' in visibility &&
          visibility.allowed_viewers.some((p) => p.compareTo(caller) === 'eq'));
      if (!allowed) {
        // dfinity/ic `rs/execution_environment/src/query_handler.rs` (fetch_canister_logs).
        throw new UserError(
          'CanisterRejectedMessage',
          `Caller ${caller.toText()} is not allowed to query ic00 method fetch_canister_logs`,
        );
      }
      const records = canister.logs.map((l) => ({
        idx: l.idx,
        timestamp_nanos: l.timestampNanos,
        content: l.content,
      }));
      return replied(this.#encode('fetch_canister_logs', { canister_log_records: records }));
    } catch (e) {
      if (e instanceof UserError) return rejectWith(e);
      throw e;
    }
  }

  handle(call: ManagementCall): void {
    try {
      if (call.fromCanister) {
        const claimed = claimedSenderVersion(call.method, call.arg);
        if (claimed !== undefined) {
          if (call.senderVersion !== undefined && claimed !== call.senderVersion)
            throw errors.senderCanisterVersionMismatch(claimed, call.senderVersion);
          this.#claimedVersions.set(call, claimed);
        }
      }
      const result = this.#dispatch(call);
      if (result !== 'pending') call.respond(replied(result));
    } catch (e) {
      // A canister reads the description alone (execution_environment.rs `output_subnet_response`).
      if (e instanceof UserError) call.respond(rejectDescribed(e));
      else throw e;
    }
  }

  get #replica(): Replica {
    return this.#host.replica;
  }

  #decode<M extends ManagementMethod>(method: M, arg: Uint8Array): ManagementArgs[M] {
    try {
      return decodeArgs(method, arg);
    } catch (e) {
      throw errors.invalidPayload(e instanceof Error ? e.message : String(e));
    }
  }

  #encode(method: ManagementMethod, value: unknown): Uint8Array {
    const ret = methods[method].ret;
    return IDL.encode(ret ? [ret] : [], ret ? [value] : []);
  }

  /** The canister named by the argument, which the caller must control. */
  #controlled(id: Principal, caller: Principal): CanisterState {
    const canister = this.#replica.findCanister(id);
    if (!canister) throw errors.canisterNotFound(id);
    if (!canister.isControlledBy(caller)) throw errors.invalidController(id, canister.controllers, caller);
    return canister;
  }

  #origin(call: ManagementCall, canisterVersion: Opt<bigint> = []): CanisterChange['origin'] {
    return call.fromCanister
      ? { from_canister: { canister_id: call.caller, canister_version: canisterVersion } }
      : { from_user: { user_id: call.caller } };
  }

  #record(canister: CanisterState, call: ManagementCall, details: CanisterChange['details']): void {
    canister.history.push({
      timestamp_nanos: this.#replica.roundTime,
      canister_version: canister.versionNumber,
      origin: this.#origin(call, this.#claimedVersions.has(call) ? [this.#claimedVersions.get(call)!] : []),
      details,
    });
  }

  /** `uninstall_code`'s effects, with its history entry. */
  #uninstall(canister: CanisterState, call: ManagementCall): void {
    uninstallCode(canister);
    this.#replica.rejectOpenCallContexts(canister, 'Canister has been uninstalled.');
    this.#record(canister, call, { code_uninstall: null });
  }

  #dispatch(call: ManagementCall): Uint8Array | 'pending' {
    const m = call.method;
    if (!isManagementMethod(m)) throw errors.unknownMethod(m);
    if (isThresholdMethod(m)) {
      // Threshold keys live in their own module (threshold/): they route to the key's subnet first.
      handleThreshold(this.#replica, { ...call, method: m });
      return 'pending';
    }
    const reply = (value?: unknown): Uint8Array => this.#encode(m, value);
    if (isSnapshotMethod(m)) return reply(this.#snapshots.handle(m, call));
    // Each case decodes its own argument (so that its type follows the method) before any check.
    switch (m) {
      case 'provisional_create_canister_with_cycles': {
        const a = this.#decode(m, call.arg);
        // Amounts above u128 saturate (dfinity/ic ProvisionalCreateCanisterWithCyclesArgs::to_u128).
        const cycles = saturate(a.amount[0] ?? DEFAULT_PROVISIONAL_CYCLES);
        return reply(this.#create(call, a.settings[0], a.specified_id[0], cycles));
      }
      case 'create_canister': {
        const a = this.#decode(m, call.arg);
        // The creation fee comes out of the attached cycles (`create_canister` in dfinity/ic
        // `rs/execution_environment/src/canister_manager.rs`); provisional creation is free.
        // Settings are validated when the argument is decoded, before the fee is looked at
        // (execution_environment.rs converts them into `CanisterSettings` first).
        if (a.settings[0]) checkSettings(a.settings[0]);
        const fee = this.#fees(call).canisterCreationFee();
        if (call.cycles < fee) throw errors.createCanisterNotEnoughCycles(call.cycles, fee);
        return reply(this.#create(call, a.settings[0], undefined, call.cycles - fee));
      }
      case 'install_code': {
        const a = this.#decode(m, call.arg);
        const canister = this.#controlled(a.canister_id, call.caller);
        this.#install(canister, call, a.mode, () => a.wasm_module, a.arg, 0);
        return reply();
      }
      case 'install_chunked_code': {
        const a = this.#decode(m, call.arg);
        const canister = this.#controlled(a.target_canister, call.caller);
        const store = a.store_canister[0];
        const storeCanister = store ? this.#controlled(store, call.caller) : canister;
        const hashes = a.chunk_hashes_list.map((h) => toHex(h.hash));
        // Assembling the module is part of the install, which the target canister prepaid.
        const assemble = (): Uint8Array => {
          const parts: Uint8Array[] = [];
          for (const h of hashes) {
            const chunk = storeCanister.chunkStore.get(h);
            if (!chunk) throw errors.chunkStoreError(`Chunk with hash ${h} not found`);
            parts.push(chunk);
          }
          const wasm = concatBytes(parts);
          const expected = toHex(a.wasm_module_hash);
          const actual = toHex(sha256(wasm));
          if (expected !== actual) {
            throw errors.chunkStoreError(`Wasm module hash ${actual} does not match given hash ${expected}`);
          }
          return wasm;
        };
        this.#install(canister, call, a.mode, assemble, a.arg, hashes.length);
        return reply();
      }
      case 'upload_chunk': {
        const a = this.#decode(m, call.arg);
        const canister = this.#controlled(a.canister_id, call.caller);
        // Charged before anything else, hashing included (`upload_chunk` in dfinity/ic
        // `rs/execution_environment/src/canister_manager.rs`).
        const charged = consume(
          canister,
          canister.fees.managementCanisterCost(UPLOAD_CHUNK_INSTRUCTIONS),
          canister.isControlledBy(call.caller),
        );
        if (charged) throw errors.chunkStoreError(`Error charging for 'upload_chunk': ${charged.message}`);
        const chunk = a.chunk;
        if (chunk.length > MAX_CHUNK_SIZE) {
          throw errors.chunkStoreError(
            `Wasm chunk size ${chunk.length} exceeds the maximum chunk size of ${MAX_CHUNK_SIZE}`,
          );
        }
        const hash = sha256(chunk);
        if (!canister.chunkStore.has(toHex(hash)) && canister.chunkStore.size >= MAX_CHUNKS) {
          throw errors.chunkStoreError(
            `Wasm chunk store has already reached the maximum of ${MAX_CHUNKS} chunks`,
          );
        }
        canister.chunkStore.set(toHex(hash), chunk.slice());
        return reply({ hash });
      }
      case 'clear_chunk_store': {
        const a = this.#decode(m, call.arg);
        this.#controlled(a.canister_id, call.caller).chunkStore.clear();
        return reply();
      }
      case 'stored_chunks': {
        const a = this.#decode(m, call.arg);
        const canister = this.#controlled(a.canister_id, call.caller);
        return reply([...canister.chunkStore.keys()].map((h) => ({ hash: fromHex(h) })));
      }
      case 'uninstall_code': {
        const a = this.#decode(m, call.arg);
        this.#uninstall(this.#controlled(a.canister_id, call.caller), call);
        return reply();
      }
      case 'start_canister': {
        const a = this.#decode(m, call.arg);
        const canister = this.#controlled(a.canister_id, call.caller);
        if (canister.status === 'stopping') {
          const waiters = canister.stopWaiters;
          canister.stopWaiters = [];
          for (const w of waiters) w('cancelled');
        }
        canister.status = 'running';
        return reply();
      }
      case 'stop_canister': {
        const a = this.#decode(m, call.arg);
        const canister = this.#controlled(a.canister_id, call.caller);
        if (canister.status === 'stopped') return reply();
        canister.status = 'stopping';
        canister.stopWaiters.push((outcome) => {
          if (outcome === 'stopped') call.respond(replied(reply()));
          else call.respond(stopCancelled(canister.idText));
        });
        this.#replica.finishStopping(canister);
        return 'pending';
      }
      case 'delete_canister': {
        const a = this.#decode(m, call.arg);
        const canister = this.#controlled(a.canister_id, call.caller);
        if (call.fromCanister && canister.id.compareTo(call.caller) === 'eq')
          throw errors.deleteSelf(canister.id);
        if (canister.status !== 'stopped') throw errors.deleteNotStopped(canister.id);
        this.#host.deleteCanister(canister);
        return reply();
      }
      case 'canister_status': {
        const a = this.#decode(m, call.arg);
        const canister = this.#replica.findCanister(a.canister_id);
        if (!canister) throw errors.canisterNotFound(a.canister_id);
        // A canister may ask for its own status (spec: "IC method canister_status").
        const self = call.fromCanister && canister.id.compareTo(call.caller) === 'eq';
        if (!self && !canister.isControlledBy(call.caller))
          throw errors.invalidController(canister.id, canister.controllers, call.caller);
        const s = canister.settings;
        return reply({
          status: { [canister.status]: null },
          // Newer spec fields: migration is for the NNS's canister migration, which never readies a canister here.
          ready_for_migration: false,
          version: canister.versionNumber,
          settings: {
            controllers: canister.controllers,
            compute_allocation: s.computeAllocation,
            memory_allocation: s.memoryAllocation,
            freezing_threshold: s.freezingThreshold,
            reserved_cycles_limit: s.reservedCyclesLimit,
            log_visibility: s.logVisibility,
            wasm_memory_limit: s.wasmMemoryLimit,
            wasm_memory_threshold: s.wasmMemoryThreshold,
            environment_variables: s.environmentVariables,
          },
          module_hash: canister.moduleHash ? [canister.moduleHash] : [],
          memory_size: canister.memorySize(),
          memory_metrics: canister.memoryMetrics(),
          cycles: canister.balance,
          reserved_cycles: canister.reservedBalance,
          idle_cycles_burned_per_day: idleCyclesBurnedPerDay(canister),
          query_stats: {
            num_calls_total: 0n,
            num_instructions_total: 0n,
            request_payload_bytes_total: 0n,
            response_payload_bytes_total: 0n,
          },
        });
      }
      case 'update_settings': {
        const a = this.#decode(m, call.arg);
        const canister = this.#controlled(a.canister_id, call.caller);
        const settings = a.settings;
        this.#applySettings(canister, settings);
        // Any successful update_settings is a new canister version (spec "Canister version").
        canister.versionNumber += 1n;
        if (settings.controllers[0]) {
          this.#record(canister, call, { controllers_change: { controllers: canister.controllers } });
        }
        return reply();
      }
      case 'raw_rand': {
        if (!call.fromCanister) throw errors.onlyCanisters(m);
        return reply(randomBytes(32));
      }
      case 'http_request': {
        const a = this.#decode(m, call.arg);
        if (!call.fromCanister) throw errors.onlyCanisters(m);
        const subnet = call.subnet ?? this.#replica.subnets[0];
        const method = 'get' in a.method ? 'GET' : 'head' in a.method ? 'HEAD' : 'POST';
        const transform = a.transform[0];
        // The fee comes out of the attached cycles and the rest returns with the response
        // (`http_request` in dfinity/ic `rs/execution_environment/src/execution_environment.rs`).
        const encoder = new TextEncoder();
        const requestSize =
          encoder.encode(a.url).length +
          a.headers.reduce((n, h) => n + encoder.encode(h.name).length + encoder.encode(h.value).length, 0) +
          (a.body[0]?.length ?? 0) +
          (transform ? encoder.encode(transform.function[1]).length + transform.context.length : 0);
        const fee = subnet.fees.httpRequestFee(BigInt(requestSize), a.max_response_bytes[0]);
        if (call.cycles < fee) {
          throw new UserError(
            'CanisterRejectedMessage',
            `http_request request sent with ${displayCycles(call.cycles)} cycles, but ${displayCycles(fee)} cycles are required.`,
          );
        }
        const requestId = this.#replica.nextHttpRequestId++;
        this.#replica.httpOutcalls.set(requestId, {
          canisterId: call.caller,
          request: {
            subnetId: subnet.id,
            requestId,
            httpMethod: method,
            url: a.url,
            headers: a.headers,
            body: a.body[0] ?? new Uint8Array(),
            maxResponseBytes: a.max_response_bytes[0],
          },
          transform: transform ? { method: transform.function[1], context: transform.context } : undefined,
          respond: (result) => call.respond(result, call.cycles - fee),
        });
        return 'pending';
      }
      case 'deposit_cycles': {
        const a = this.#decode(m, call.arg);
        const canister = this.#replica.findCanister(a.canister_id);
        if (!canister) throw errors.canisterNotFound(a.canister_id);
        canister.balance += call.cycles;
        return reply();
      }
      case 'provisional_top_up_canister': {
        const a = this.#decode(m, call.arg);
        const canister = this.#replica.findCanister(a.canister_id);
        if (!canister) throw errors.canisterNotFound(a.canister_id);
        canister.balance = saturate(canister.balance + a.amount); // Cycles add saturates at u128
        return reply();
      }
      case 'canister_info': {
        const a = this.#decode(m, call.arg);
        if (!call.fromCanister) throw errors.onlyCanisters(m);
        const canister = this.#replica.findCanister(a.canister_id);
        if (!canister) throw errors.canisterNotFound(a.canister_id);
        const n = Number(a.num_requested_changes[0] ?? 0n);
        return reply({
          total_num_changes: BigInt(canister.history.length),
          recent_changes: n > 0 ? canister.history.slice(-Math.min(n, 20)) : [],
          module_hash: canister.moduleHash ? [canister.moduleHash] : [],
          controllers: canister.controllers,
        });
      }
      case 'canister_metadata': {
        const a = this.#decode(m, call.arg);
        if (!call.fromCanister) throw errors.onlyCanisters(m);
        const canister = this.#replica.findCanister(a.canister_id);
        if (!canister) throw errors.canisterNotFound(a.canister_id);
        return reply(canisterMetadata(canister, call.caller, a.name));
      }
      case 'fetch_canister_logs': {
        this.#decode(m, call.arg); // a malformed argument is reported first
        throw new UserError(
          'CanisterRejectedMessage',
          'fetch_canister_logs API is only accessible in non-replicated mode',
        );
      }
    }
  }

  /** `create_canister` and `provisional_create_canister_with_cycles`; returns the reply value. */
  #create(
    call: ManagementCall,
    settings: CanisterSettings | undefined,
    specifiedId: Principal | undefined,
    cycles: bigint,
  ): { canister_id: Principal } {
    const controllers = settings?.controllers[0] ?? [call.caller];
    if (controllers.length > MAX_CONTROLLERS)
      throw errors.invalidSettings(
        `Invalid settings: 'controllers' length exceeds maximum size allowed of ${MAX_CONTROLLERS}.`,
      );
    // Invalid settings refuse the creation: no canister is left behind.
    if (settings) {
      checkSettings(settings);
      checkAffordable(undefined, cycles, settings, this.#fees(call));
    }
    const created = this.#host.createCanister(call.subnet, { controllers, cycles, specifiedId });
    if (created instanceof UserError) throw created;
    if (settings) {
      try {
        this.#applySettings(created, settings);
      } catch (e) {
        // A reservation the new canister cannot make refuses the creation: nothing is left behind.
        this.#host.deleteCanister(created);
        throw e;
      }
    }
    this.#record(created, call, { creation: { controllers: created.controllers } });
    return { canister_id: created.id };
  }

  /** The fees of the subnet the call runs on. */
  #fees(call: ManagementCall): Fees {
    return (call.subnet ?? this.#replica.subnets[0]!).fees;
  }

  /**
   * An install, prepaid at the install instruction limit by the target canister
   * and refunded for what it did not use: assembling chunks, compiling the
   * module and running its hooks are charged (`install_code` in dfinity/ic
   * `rs/execution_environment/src/execution/install_code.rs`, `InstallCodeNotEnoughCycles`).
   */
  #install(
    canister: CanisterState,
    call: ManagementCall,
    mode: CanisterInstallMode,
    module: () => Uint8Array,
    arg: Uint8Array,
    chunks: number,
  ): void {
    // The new module's execution mode prices the install; finding it assembles the chunks.
    let wasm: Uint8Array | UserError;
    try {
      wasm = module();
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      wasm = e;
    }
    const wasm64 = wasm instanceof Uint8Array && installsWasm64(wasm);
    const limit = this.#replica.instructionLimits(canister).install;
    const prepaid = prepayExecution(canister, limit, true, wasm64);
    if (prepaid instanceof UserError) throw errors.installCodeNotEnoughCycles(prepaid.message);
    let used = assemblyInstructions(chunks);
    try {
      if (wasm instanceof UserError) throw wasm;
      const outcome = this.#installModule(canister, call, mode, wasm, arg);
      used += outcome.instructionsUsed;
      if (outcome.error) throw outcome.error;
    } finally {
      refundExecution(canister, prepaid, limit, used, wasm64);
    }
  }

  #installModule(
    canister: CanisterState,
    call: ManagementCall,
    mode: CanisterInstallMode,
    wasm: Uint8Array,
    arg: Uint8Array,
  ): { error?: UserError; instructionsUsed: bigint } {
    let installMode: InstallMode;
    if ('install' in mode) {
      if (canister.runtime) return { error: errors.canisterNonEmpty(canister.id), instructionsUsed: 0n };
      installMode = { kind: 'install' };
    } else if ('reinstall' in mode) installMode = { kind: 'reinstall' };
    else {
      const options = mode.upgrade[0];
      const persistence = options?.wasm_memory_persistence[0];
      installMode = {
        kind: 'upgrade',
        skipPreUpgrade: options?.skip_pre_upgrade[0] ?? false,
        wasmMemoryPersistence:
          persistence === undefined ? undefined : 'keep' in persistence ? 'keep' : 'replace',
      };
    }
    const outcome = installCode(canister, {
      mode: installMode,
      wasm,
      arg,
      sender: call.caller,
      time: this.#replica.roundTime,
      onPrint: (c, text) => this.#replica.printLine(c, text),
      instructionLimit: this.#replica.instructionLimits(canister).install,
    });
    for (const line of outcome.logs) this.#replica.log(canister, line);
    // Compiling is charged too, by the module's instructions (by its size when it does not decode).
    const instructionsUsed =
      outcome.instructionsUsed +
      (outcome.compiled ? compilationInstructions(outcome.compiled) : invalidModuleInstructions(wasm));
    if (outcome.error) return { error: outcome.error, instructionsUsed };
    const modeName =
      installMode.kind === 'install'
        ? { install: null }
        : installMode.kind === 'reinstall'
          ? { reinstall: null }
          : { upgrade: null };
    this.#record(canister, call, {
      code_deployment: { mode: modeName, module_hash: canister.moduleHash ?? new Uint8Array() },
    });
    return { instructionsUsed };
  }

  #applySettings(canister: CanisterState, s: CanisterSettings): void {
    checkSettings(s);
    checkAffordable(canister, canister.balance, s, canister.fees);
    const reservation = allocationReservation(canister, s);
    const next = { ...canister.settings };
    if (s.compute_allocation[0] !== undefined) next.computeAllocation = s.compute_allocation[0];
    if (s.memory_allocation[0] !== undefined) next.memoryAllocation = s.memory_allocation[0];
    if (s.freezing_threshold[0] !== undefined) next.freezingThreshold = s.freezing_threshold[0];
    if (s.reserved_cycles_limit[0] !== undefined) next.reservedCyclesLimit = s.reserved_cycles_limit[0];
    if (s.log_visibility[0] !== undefined) next.logVisibility = s.log_visibility[0];
    if (s.wasm_memory_limit[0] !== undefined) next.wasmMemoryLimit = s.wasm_memory_limit[0];
    if (s.wasm_memory_threshold[0] !== undefined) next.wasmMemoryThreshold = s.wasm_memory_threshold[0];
    if (s.environment_variables[0] !== undefined) next.environmentVariables = s.environment_variables[0];
    canister.settings = next;
    reserveCycles(canister, reservation);
    // Controllers are a set: duplicates collapse (the replica keeps a BTreeSet).
    const controllers = s.controllers[0];
    if (controllers) {
      canister.controllers = controllers.filter(
        (c, i) => controllers.findIndex((d) => d.compareTo(c) === 'eq') === i,
      );
    }
  }
}

/**
 * A `stop_canister` call that `start_canister` cancelled, worded for each
 * caller as the replica does (execution_environment.rs
 * `reject_stop_requests`): a user gets IC0511 "… was cancelled.", a canister
 * code 5 "Canister <id>'s stop request cancelled".
 */
function stopCancelled(id: string): Reject {
  return {
    ...rejectDescribed(
      new UserError('CanisterStoppingCancelled', `Canister ${id}'s stop request was cancelled.`),
    ),
    callerMessage: `Canister ${id}'s stop request cancelled`,
  };
}

/**
 * Refuses settings whose larger allocation the balance cannot keep above the freezing
 * threshold (canister_manager.rs `validate_canister_settings`; a new canister has no
 * usage and the cycles it received).
 */
function checkAffordable(
  canister: CanisterState | undefined,
  balance: bigint,
  s: CanisterSettings,
  fees: Fees,
): void {
  const current = canister?.settings;
  const next = {
    computeAllocation: s.compute_allocation[0] ?? current?.computeAllocation ?? 0n,
    memoryAllocation: s.memory_allocation[0] ?? current?.memoryAllocation ?? 0n,
    freezingThreshold:
      s.freezing_threshold[0] ?? current?.freezingThreshold ?? defaultSettings().freezingThreshold,
  };
  const failed = unaffordableAllocation(canister, balance, next, fees);
  if (failed) {
    const allocation = failed.kind === 'compute' ? next.computeAllocation : next.memoryAllocation;
    throw errors.insufficientCyclesInAllocation(failed.kind, allocation, balance, failed.threshold);
  }
}

/**
 * The storage reservation a larger memory allocation takes (canister_manager.rs
 * `validate_canister_settings`): the bytes it adds to what the canister takes from its subnet,
 * priced at the subnet's usage, within the new or current `reserved_cycles_limit`.
 */
function allocationReservation(canister: CanisterState, s: CanisterSettings): bigint {
  const limit = s.reserved_cycles_limit[0] ?? canister.settings.reservedCyclesLimit;
  if (canister.reservedBalance > limit)
    throw errors.reservedCyclesLimitIsTooLow(canister.reservedBalance, limit);
  const allocation = s.memory_allocation[0];
  if (allocation === undefined) return 0n;
  const usage = canister.memorySize();
  const before = canister.allocatedBytes();
  const after = allocation > usage ? allocation : usage;
  const reservation = storageReservation(canister, after - before, limit);
  if ('exceeded' in reservation)
    throw errors.reservedCyclesLimitExceededInMemoryAllocation(allocation, reservation.exceeded, limit);
  if ('insufficient' in reservation)
    throw errors.insufficientCyclesInAllocation(
      'memory',
      allocation,
      canister.balance,
      reservation.insufficient,
    );
  return reservation.cycles;
}

/** The settings checks that refuse a whole `create_canister` or `update_settings` before it acts. */
function checkSettings(s: CanisterSettings): void {
  const compute = s.compute_allocation[0];
  if (compute !== undefined && compute > 100n)
    throw errors.invalidSettings(`ComputeAllocation expected to be in the range [0..100], got ${compute}`);
  // Spec "IC method create_canister": memory_allocation in [0, 2^48], freezing_threshold in [0, 2^64 - 1].
  const memory = s.memory_allocation[0];
  if (memory !== undefined && memory > 2n ** 48n)
    throw errors.invalidSettings(`MemoryAllocation expected to be in the range [0..2^48], got ${memory}`);
  const freezing = s.freezing_threshold[0];
  if (freezing !== undefined && freezing > 2n ** 64n - 1n)
    throw errors.invalidSettings(
      `FreezingThreshold expected to be in the range [0..2^64-1], got ${freezing}`,
    );
  const controllers = s.controllers[0];
  if (controllers && controllers.length > MAX_CONTROLLERS) {
    throw errors.invalidSettings(
      `Invalid settings: 'controllers' length exceeds maximum size allowed of ${MAX_CONTROLLERS}.`,
    );
  }
}
