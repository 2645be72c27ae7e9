/**
 * Candid types of the management canister's methods, from the IC interface
 * specification's `ic.did`. Decoding goes through `@icp-sdk/core`'s IDL, which
 * tolerates extra record fields and missing `opt` fields as Candid subtyping
 * requires.
 *
 * Each argument type is declared twice, as PicJS does
 * (`packages/pic/src/management-canister.ts`): the IDL value that decodes it
 * and, under the same name, the TypeScript shape of what it decodes to (the
 * Candid JS mapping: nat → bigint, blob → Uint8Array, opt T → [] | [T],
 * variants as single-key objects). {@link decodeArgs} joins the two.
 */
import { IDL } from '@icp-sdk/core/candid';
import type { Principal } from '@icp-sdk/core/principal';
import { snapshotMethods, SnapshotSource, type SnapshotMethodArgs } from './snapshot-idl.ts';
import { CanisterMetadataArgs, CanisterMetadataResult } from './canister-metadata.ts';
import { thresholdMethods, type ThresholdArgs } from './threshold/idl.ts';

/** Candid `opt T`. */
export type Opt<T> = [] | [T];

export type LogVisibility = { controllers: null } | { public: null } | { allowed_viewers: Principal[] };
export const LogVisibility = IDL.Variant({
  controllers: IDL.Null,
  public: IDL.Null,
  allowed_viewers: IDL.Vec(IDL.Principal),
});

export interface EnvironmentVariable {
  name: string;
  value: string;
}
export const EnvironmentVariable = IDL.Record({ name: IDL.Text, value: IDL.Text });

export interface CanisterSettings {
  controllers: Opt<Principal[]>;
  compute_allocation: Opt<bigint>;
  memory_allocation: Opt<bigint>;
  freezing_threshold: Opt<bigint>;
  reserved_cycles_limit: Opt<bigint>;
  log_visibility: Opt<LogVisibility>;
  wasm_memory_limit: Opt<bigint>;
  wasm_memory_threshold: Opt<bigint>;
  environment_variables: Opt<EnvironmentVariable[]>;
}
export const CanisterSettings = IDL.Record({
  controllers: IDL.Opt(IDL.Vec(IDL.Principal)),
  compute_allocation: IDL.Opt(IDL.Nat),
  memory_allocation: IDL.Opt(IDL.Nat),
  freezing_threshold: IDL.Opt(IDL.Nat),
  reserved_cycles_limit: IDL.Opt(IDL.Nat),
  log_visibility: IDL.Opt(LogVisibility),
  wasm_memory_limit: IDL.Opt(IDL.Nat),
  wasm_memory_threshold: IDL.Opt(IDL.Nat),
  environment_variables: IDL.Opt(IDL.Vec(EnvironmentVariable)),
});

export const DefiniteCanisterSettings = IDL.Record({
  controllers: IDL.Vec(IDL.Principal),
  compute_allocation: IDL.Nat,
  memory_allocation: IDL.Nat,
  freezing_threshold: IDL.Nat,
  reserved_cycles_limit: IDL.Nat,
  log_visibility: LogVisibility,
  wasm_memory_limit: IDL.Nat,
  wasm_memory_threshold: IDL.Nat,
  environment_variables: IDL.Vec(EnvironmentVariable),
});

export interface CanisterIdRecord {
  canister_id: Principal;
}
export const CanisterIdRecord = IDL.Record({ canister_id: IDL.Principal });

export interface UpgradeOptions {
  skip_pre_upgrade: Opt<boolean>;
  wasm_memory_persistence: Opt<{ keep: null } | { replace: null }>;
}
export const UpgradeOptions = IDL.Record({
  skip_pre_upgrade: IDL.Opt(IDL.Bool),
  wasm_memory_persistence: IDL.Opt(IDL.Variant({ keep: IDL.Null, replace: IDL.Null })),
});

export type CanisterInstallMode = { install: null } | { reinstall: null } | { upgrade: Opt<UpgradeOptions> };
export const CanisterInstallMode = IDL.Variant({
  install: IDL.Null,
  reinstall: IDL.Null,
  upgrade: IDL.Opt(UpgradeOptions),
});

export const ChangeOrigin = IDL.Variant({
  from_user: IDL.Record({ user_id: IDL.Principal }),
  from_canister: IDL.Record({ canister_id: IDL.Principal, canister_version: IDL.Opt(IDL.Nat64) }),
});

export const ChangeDetails = IDL.Variant({
  creation: IDL.Record({ controllers: IDL.Vec(IDL.Principal) }),
  code_uninstall: IDL.Null,
  code_deployment: IDL.Record({
    mode: IDL.Variant({ install: IDL.Null, reinstall: IDL.Null, upgrade: IDL.Null }),
    module_hash: IDL.Vec(IDL.Nat8),
  }),
  controllers_change: IDL.Record({ controllers: IDL.Vec(IDL.Principal) }),
  load_snapshot: IDL.Record({
    canister_version: IDL.Nat64,
    snapshot_id: IDL.Vec(IDL.Nat8),
    taken_at_timestamp: IDL.Nat64,
    source: SnapshotSource,
    from_canister_id: IDL.Opt(IDL.Principal),
  }),
});

export const Change = IDL.Record({
  timestamp_nanos: IDL.Nat64,
  canister_version: IDL.Nat64,
  origin: ChangeOrigin,
  details: ChangeDetails,
});

export interface ChunkHash {
  hash: Uint8Array;
}
export const ChunkHash = IDL.Record({ hash: IDL.Vec(IDL.Nat8) });

export interface HttpHeader {
  name: string;
  value: string;
}
export const HttpHeader = IDL.Record({ name: IDL.Text, value: IDL.Text });
export const HttpRequestResult = IDL.Record({
  status: IDL.Nat,
  headers: IDL.Vec(HttpHeader),
  body: IDL.Vec(IDL.Nat8),
});
export const TransformArgs = IDL.Record({ response: HttpRequestResult, context: IDL.Vec(IDL.Nat8) });

export interface CreateCanisterArgs {
  settings: Opt<CanisterSettings>;
  sender_canister_version: Opt<bigint>;
}
export const CreateCanisterArgs = IDL.Record({
  settings: IDL.Opt(CanisterSettings),
  sender_canister_version: IDL.Opt(IDL.Nat64),
});

export interface ProvisionalCreateCanisterWithCyclesArgs {
  amount: Opt<bigint>;
  settings: Opt<CanisterSettings>;
  specified_id: Opt<Principal>;
  sender_canister_version: Opt<bigint>;
}
export const ProvisionalCreateCanisterWithCyclesArgs = IDL.Record({
  amount: IDL.Opt(IDL.Nat),
  settings: IDL.Opt(CanisterSettings),
  specified_id: IDL.Opt(IDL.Principal),
  sender_canister_version: IDL.Opt(IDL.Nat64),
});

export interface InstallCodeArgs {
  mode: CanisterInstallMode;
  canister_id: Principal;
  wasm_module: Uint8Array;
  arg: Uint8Array;
  sender_canister_version: Opt<bigint>;
}
export const InstallCodeArgs = IDL.Record({
  mode: CanisterInstallMode,
  canister_id: IDL.Principal,
  wasm_module: IDL.Vec(IDL.Nat8),
  arg: IDL.Vec(IDL.Nat8),
  sender_canister_version: IDL.Opt(IDL.Nat64),
});

export interface InstallChunkedCodeArgs {
  mode: CanisterInstallMode;
  target_canister: Principal;
  store_canister: Opt<Principal>;
  chunk_hashes_list: ChunkHash[];
  wasm_module_hash: Uint8Array;
  arg: Uint8Array;
  sender_canister_version: Opt<bigint>;
}
export const InstallChunkedCodeArgs = IDL.Record({
  mode: CanisterInstallMode,
  target_canister: IDL.Principal,
  store_canister: IDL.Opt(IDL.Principal),
  chunk_hashes_list: IDL.Vec(ChunkHash),
  wasm_module_hash: IDL.Vec(IDL.Nat8),
  arg: IDL.Vec(IDL.Nat8),
  sender_canister_version: IDL.Opt(IDL.Nat64),
});

export interface UploadChunkArgs {
  canister_id: Principal;
  chunk: Uint8Array;
}
export const UploadChunkArgs = IDL.Record({ canister_id: IDL.Principal, chunk: IDL.Vec(IDL.Nat8) });

export interface UninstallCodeArgs {
  canister_id: Principal;
  sender_canister_version: Opt<bigint>;
}
export const UninstallCodeArgs = IDL.Record({
  canister_id: IDL.Principal,
  sender_canister_version: IDL.Opt(IDL.Nat64),
});

export interface UpdateSettingsArgs {
  canister_id: Principal;
  settings: CanisterSettings;
  sender_canister_version: Opt<bigint>;
}
export const UpdateSettingsArgs = IDL.Record({
  canister_id: IDL.Principal,
  settings: CanisterSettings,
  sender_canister_version: IDL.Opt(IDL.Nat64),
});

export interface HttpRequestArgs {
  url: string;
  max_response_bytes: Opt<bigint>;
  method: { get: null } | { head: null } | { post: null };
  headers: HttpHeader[];
  body: Opt<Uint8Array>;
  /** The function decodes as [canister, method name]. */
  transform: Opt<{ function: [Principal, string]; context: Uint8Array }>;
  is_replicated: Opt<boolean>;
}
export const HttpRequestArgs = IDL.Record({
  url: IDL.Text,
  max_response_bytes: IDL.Opt(IDL.Nat64),
  method: IDL.Variant({ get: IDL.Null, head: IDL.Null, post: IDL.Null }),
  headers: IDL.Vec(HttpHeader),
  body: IDL.Opt(IDL.Vec(IDL.Nat8)),
  transform: IDL.Opt(
    IDL.Record({
      function: IDL.Func([TransformArgs], [HttpRequestResult], ['query']),
      context: IDL.Vec(IDL.Nat8),
    }),
  ),
  is_replicated: IDL.Opt(IDL.Bool),
});

export interface ProvisionalTopUpCanisterArgs {
  canister_id: Principal;
  amount: bigint;
}
export const ProvisionalTopUpCanisterArgs = IDL.Record({ canister_id: IDL.Principal, amount: IDL.Nat });

export interface CanisterInfoArgs {
  canister_id: Principal;
  num_requested_changes: Opt<bigint>;
}
export const CanisterInfoArgs = IDL.Record({
  canister_id: IDL.Principal,
  num_requested_changes: IDL.Opt(IDL.Nat64),
});

/** What each method's argument decodes to; `undefined` for methods without one. */
export interface ManagementArgs extends ThresholdArgs, SnapshotMethodArgs {
  create_canister: CreateCanisterArgs;
  provisional_create_canister_with_cycles: ProvisionalCreateCanisterWithCyclesArgs;
  install_code: InstallCodeArgs;
  install_chunked_code: InstallChunkedCodeArgs;
  upload_chunk: UploadChunkArgs;
  clear_chunk_store: CanisterIdRecord;
  stored_chunks: CanisterIdRecord;
  uninstall_code: UninstallCodeArgs;
  start_canister: CanisterIdRecord;
  stop_canister: CanisterIdRecord;
  delete_canister: CanisterIdRecord;
  canister_status: CanisterIdRecord;
  update_settings: UpdateSettingsArgs;
  raw_rand: undefined;
  http_request: HttpRequestArgs;
  deposit_cycles: CanisterIdRecord;
  provisional_top_up_canister: ProvisionalTopUpCanisterArgs;
  canister_info: CanisterInfoArgs;
  fetch_canister_logs: CanisterIdRecord;
  canister_metadata: CanisterMetadataArgs;
}

export type ManagementMethod = keyof ManagementArgs;

export const methods = {
  create_canister: { arg: CreateCanisterArgs, ret: CanisterIdRecord },
  provisional_create_canister_with_cycles: {
    arg: ProvisionalCreateCanisterWithCyclesArgs,
    ret: CanisterIdRecord,
  },
  install_code: { arg: InstallCodeArgs, ret: undefined },
  install_chunked_code: { arg: InstallChunkedCodeArgs, ret: undefined },
  upload_chunk: { arg: UploadChunkArgs, ret: ChunkHash },
  clear_chunk_store: { arg: CanisterIdRecord, ret: undefined },
  stored_chunks: { arg: CanisterIdRecord, ret: IDL.Vec(ChunkHash) },
  uninstall_code: { arg: UninstallCodeArgs, ret: undefined },
  start_canister: { arg: CanisterIdRecord, ret: undefined },
  stop_canister: { arg: CanisterIdRecord, ret: undefined },
  delete_canister: { arg: CanisterIdRecord, ret: undefined },
  canister_status: {
    arg: CanisterIdRecord,
    ret: IDL.Record({
      status: IDL.Variant({ running: IDL.Null, stopping: IDL.Null, stopped: IDL.Null }),
      ready_for_migration: IDL.Bool,
      version: IDL.Nat64,
      settings: DefiniteCanisterSettings,
      module_hash: IDL.Opt(IDL.Vec(IDL.Nat8)),
      memory_size: IDL.Nat,
      memory_metrics: IDL.Record({
        wasm_memory_size: IDL.Nat,
        stable_memory_size: IDL.Nat,
        global_memory_size: IDL.Nat,
        wasm_binary_size: IDL.Nat,
        custom_sections_size: IDL.Nat,
        canister_history_size: IDL.Nat,
        wasm_chunk_store_size: IDL.Nat,
        snapshots_size: IDL.Nat,
      }),
      cycles: IDL.Nat,
      reserved_cycles: IDL.Nat,
      idle_cycles_burned_per_day: IDL.Nat,
      query_stats: IDL.Record({
        num_calls_total: IDL.Nat,
        num_instructions_total: IDL.Nat,
        request_payload_bytes_total: IDL.Nat,
        response_payload_bytes_total: IDL.Nat,
      }),
    }),
  },
  update_settings: { arg: UpdateSettingsArgs, ret: undefined },
  raw_rand: { arg: undefined, ret: IDL.Vec(IDL.Nat8) },
  http_request: { arg: HttpRequestArgs, ret: HttpRequestResult },
  deposit_cycles: { arg: CanisterIdRecord, ret: undefined },
  provisional_top_up_canister: { arg: ProvisionalTopUpCanisterArgs, ret: undefined },
  canister_info: {
    arg: CanisterInfoArgs,
    ret: IDL.Record({
      total_num_changes: IDL.Nat64,
      recent_changes: IDL.Vec(Change),
      module_hash: IDL.Opt(IDL.Vec(IDL.Nat8)),
      controllers: IDL.Vec(IDL.Principal),
    }),
  },
  fetch_canister_logs: {
    arg: CanisterIdRecord,
    ret: IDL.Record({
      canister_log_records: IDL.Vec(
        IDL.Record({ idx: IDL.Nat64, timestamp_nanos: IDL.Nat64, content: IDL.Vec(IDL.Nat8) }),
      ),
    }),
  },
  canister_metadata: { arg: CanisterMetadataArgs, ret: CanisterMetadataResult },
  ...thresholdMethods,
  ...snapshotMethods,
} as const satisfies Record<ManagementMethod, { arg: IDL.Type | undefined; ret: IDL.Type | undefined }>;

/**
 * Decodes `method`'s argument (nothing for a method without one). Throws
 * what `IDL.decode` throws for bytes that do not decode.
 */
export function decodeArgs<M extends ManagementMethod>(method: M, bytes: Uint8Array): ManagementArgs[M] {
  const type = methods[method].arg;
  const value = type === undefined ? undefined : IDL.decode([type], bytes)[0];
  // The one unchecked step: IDL.decode returns untyped JSON values, and `methods` pairs
  // each method with the IDL that decodes to its ManagementArgs entry.
  return value as ManagementArgs[M];
}
