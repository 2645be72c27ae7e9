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
  caller: Uint8Array;
  responded: boolean;
  outstandingCalls: number;
  /** Cycles the caller attached and the canister has not accepted yet. */
  availableCycles: bigint;
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
    | { controllers_change: { controllers: Principal[] } };
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

  rootKey(): Uint8Array {
    return this.rootKeyBytes();
  }

  environmentVariables(): { name: string; value: string }[] {
    return this.settings.environmentVariables;
  }

  wasmMemoryLimit(): bigint {
    return this.settings.wasmMemoryLimit;
  }

  /** Open call contexts: the canister is stopped only when there are none. */
  hasOpenCallContexts(): boolean {
    for (const ctx of this.callContexts.values()) if (!ctx.responded || ctx.outstandingCalls > 0) return true;
    return false;
  }

  /** Memory the canister uses, as `canister_status` reports it. */
  memorySize(): bigint {
    const heap = BigInt(this.runtime?.heapSize() ?? 0);
    const chunks = [...this.chunkStore.values()].reduce((n, c) => n + BigInt(c.length), 0n);
    return heap + this.stable.byteLength + BigInt(this.moduleBytes?.length ?? 0) + chunks;
  }
}
