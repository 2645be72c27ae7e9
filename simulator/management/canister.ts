/**
 * The management canister `aaaaa-aa`: each method decodes its Candid
 * argument, checks the caller, acts on the replica's state and answers with
 * Candid, as in the IC interface specification ("The IC management canister").
 */
import { IDL } from '@icp-sdk/core/candid';
import { Principal } from '@icp-sdk/core/principal';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from 'node:crypto';
import { concatBytes, fromHex, toHex } from '../bytes.ts';
import { UserError } from '../errors.ts';
import type { CanisterChange, CanisterState } from '../canister/state.ts';
import { installCode, uninstallCode, type InstallMode } from '../execution/install.ts';
import { rejectWith, reply as replied, type CallResult } from '../result.ts';
import { type ManagementCall, type ManagementHandler, type Replica } from '../subnet/replica.ts';
import type { Subnet } from '../subnet/subnet.ts';
import * as errors from './errors.ts';
import {
  decodeArgs,
  methods,
  type CanisterInstallMode,
  type CanisterSettings,
  type ManagementArgs,
  type ManagementMethod,
  type Opt,
} from './idl.ts';

/** 1 MiB: the IC's chunk size limit (spec: "IC method upload_chunk"). */
const MAX_CHUNK_SIZE = 1024 * 1024;
const MAX_CHUNKS = 100;
const MAX_CONTROLLERS = 10;
/** What `provisional_create_canister_with_cycles` gives when no amount is named (spec). */
const DEFAULT_PROVISIONAL_CYCLES = 100_000_000_000_000n;

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
]);

/**
 * Whether `method` is one of the management canister's methods. An own property, not `in`: the
 * names `methods` inherits (`toString`, `constructor`, …) are not methods, and a canister calling
 * one got a reply of `undefined` that broke its callback with an icsim internal error.
 */
function isManagementMethod(method: string): method is ManagementMethod {
  return Object.hasOwn(methods, method);
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

  constructor(host: ManagementHost) {
    this.#host = host;
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
      const result = this.#dispatch(call);
      if (result !== 'pending') call.respond(replied(result));
    } catch (e) {
      if (e instanceof UserError) call.respond(rejectWith(e));
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
      origin: this.#origin(call),
      details,
    });
  }

  #dispatch(call: ManagementCall): Uint8Array | 'pending' {
    const m = call.method;
    if (!isManagementMethod(m)) throw errors.unknownMethod(m);
    const reply = (value?: unknown): Uint8Array => this.#encode(m, value);
    // Each case decodes its own argument (so that its type follows the method) before any check.
    switch (m) {
      case 'provisional_create_canister_with_cycles': {
        const a = this.#decode(m, call.arg);
        const cycles = a.amount[0] ?? DEFAULT_PROVISIONAL_CYCLES;
        return reply(this.#create(call, a.settings[0], a.specified_id[0], cycles));
      }
      case 'create_canister': {
        const a = this.#decode(m, call.arg);
        return reply(this.#create(call, a.settings[0], undefined, call.cycles));
      }
      case 'install_code': {
        const a = this.#decode(m, call.arg);
        const canister = this.#controlled(a.canister_id, call.caller);
        this.#install(canister, call, a.mode, a.wasm_module, a.arg);
        return reply();
      }
      case 'install_chunked_code': {
        const a = this.#decode(m, call.arg);
        const canister = this.#controlled(a.target_canister, call.caller);
        const store = a.store_canister[0];
        const storeCanister = store ? this.#controlled(store, call.caller) : canister;
        const hashes = a.chunk_hashes_list.map((h) => toHex(h.hash));
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
        this.#install(canister, call, a.mode, wasm, a.arg);
        return reply();
      }
      case 'upload_chunk': {
        const a = this.#decode(m, call.arg);
        const canister = this.#controlled(a.canister_id, call.caller);
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
        const canister = this.#controlled(a.canister_id, call.caller);
        uninstallCode(canister);
        this.#replica.rejectOpenCallContexts(canister, 'Canister has been uninstalled.');
        this.#record(canister, call, { code_uninstall: null });
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
          else
            call.respond(
              rejectWith(
                new UserError(
                  'CanisterStoppingCancelled',
                  `Canister ${canister.idText}'s stop request was cancelled.`,
                ),
              ),
            );
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
          cycles: canister.balance,
          reserved_cycles: 0n,
          idle_cycles_burned_per_day: 0n,
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
        if (settings.controllers[0]) {
          canister.versionNumber += 1n;
          this.#record(canister, call, { controllers_change: { controllers: canister.controllers } });
        }
        return reply();
      }
      case 'raw_rand': {
        if (!call.fromCanister) throw errors.onlyCanisters(m);
        return reply(new Uint8Array(randomBytes(32)));
      }
      case 'http_request': {
        const a = this.#decode(m, call.arg);
        if (!call.fromCanister) throw errors.onlyCanisters(m);
        const subnet = call.subnet ?? this.#replica.subnets[0];
        const method = 'get' in a.method ? 'GET' : 'head' in a.method ? 'HEAD' : 'POST';
        const transform = a.transform[0];
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
          respond: call.respond,
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
        canister.balance += a.amount;
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
    if (settings) checkSettings(settings);
    const created = this.#host.createCanister(call.subnet, { controllers, cycles, specifiedId });
    if (created instanceof UserError) throw created;
    if (settings) this.#applySettings(created, settings);
    this.#record(created, call, { creation: { controllers: created.controllers } });
    return { canister_id: created.id };
  }

  #install(
    canister: CanisterState,
    call: ManagementCall,
    mode: CanisterInstallMode,
    wasm: Uint8Array,
    arg: Uint8Array,
  ): void {
    let installMode: InstallMode;
    if ('install' in mode) {
      if (canister.runtime) throw errors.canisterNonEmpty(canister.id);
      installMode = { kind: 'install' };
    } else if ('reinstall' in mode) installMode = { kind: 'reinstall' };
    else {
      const options = mode.upgrade[0];
      installMode = {
        kind: 'upgrade',
        skipPreUpgrade: options?.skip_pre_upgrade[0] ?? false,
        keepWasmMemory:
          options?.wasm_memory_persistence[0] !== undefined && 'keep' in options.wasm_memory_persistence[0],
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
    if (outcome.error) throw outcome.error;
    const modeName =
      installMode.kind === 'install'
        ? { install: null }
        : installMode.kind === 'reinstall'
          ? { reinstall: null }
          : { upgrade: null };
    this.#record(canister, call, {
      code_deployment: { mode: modeName, module_hash: canister.moduleHash ?? new Uint8Array() },
    });
  }

  #applySettings(canister: CanisterState, s: CanisterSettings): void {
    checkSettings(s);
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
    const controllers = s.controllers[0];
    if (controllers) canister.controllers = controllers;
  }
}

/** The settings checks that refuse a whole `create_canister` or `update_settings` before it acts. */
function checkSettings(s: CanisterSettings): void {
  const compute = s.compute_allocation[0];
  if (compute !== undefined && compute > 100n)
    throw errors.invalidSettings(`ComputeAllocation expected to be in the range [0..100], got ${compute}`);
  const controllers = s.controllers[0];
  if (controllers && controllers.length > MAX_CONTROLLERS) {
    throw errors.invalidSettings(
      `Invalid settings: 'controllers' length exceeds maximum size allowed of ${MAX_CONTROLLERS}.`,
    );
  }
}
