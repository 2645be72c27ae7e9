/**
 * Candid types of the management canister's methods, from the IC interface
 * specification's `ic.did`. Decoding goes through `@icp-sdk/core`'s IDL, which
 * tolerates extra record fields and missing `opt` fields as Candid subtyping
 * requires.
 */
import { IDL } from '@icp-sdk/core/candid';

export const LogVisibility = IDL.Variant({
  controllers: IDL.Null,
  public: IDL.Null,
  allowed_viewers: IDL.Vec(IDL.Principal),
});

export const EnvironmentVariable = IDL.Record({ name: IDL.Text, value: IDL.Text });

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

export const CanisterIdRecord = IDL.Record({ canister_id: IDL.Principal });

export const CanisterInstallMode = IDL.Variant({
  install: IDL.Null,
  reinstall: IDL.Null,
  upgrade: IDL.Opt(
    IDL.Record({
      skip_pre_upgrade: IDL.Opt(IDL.Bool),
      wasm_memory_persistence: IDL.Opt(IDL.Variant({ keep: IDL.Null, replace: IDL.Null })),
    }),
  ),
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
});

export const Change = IDL.Record({
  timestamp_nanos: IDL.Nat64,
  canister_version: IDL.Nat64,
  origin: ChangeOrigin,
  details: ChangeDetails,
});

export const ChunkHash = IDL.Record({ hash: IDL.Vec(IDL.Nat8) });

export const HttpHeader = IDL.Record({ name: IDL.Text, value: IDL.Text });
export const HttpRequestResult = IDL.Record({
  status: IDL.Nat,
  headers: IDL.Vec(HttpHeader),
  body: IDL.Vec(IDL.Nat8),
});
export const TransformArgs = IDL.Record({ response: HttpRequestResult, context: IDL.Vec(IDL.Nat8) });

export const methods = {
  create_canister: {
    arg: IDL.Record({ settings: IDL.Opt(CanisterSettings), sender_canister_version: IDL.Opt(IDL.Nat64) }),
    ret: CanisterIdRecord,
  },
  provisional_create_canister_with_cycles: {
    arg: IDL.Record({
      amount: IDL.Opt(IDL.Nat),
      settings: IDL.Opt(CanisterSettings),
      specified_id: IDL.Opt(IDL.Principal),
      sender_canister_version: IDL.Opt(IDL.Nat64),
    }),
    ret: CanisterIdRecord,
  },
  install_code: {
    arg: IDL.Record({
      mode: CanisterInstallMode,
      canister_id: IDL.Principal,
      wasm_module: IDL.Vec(IDL.Nat8),
      arg: IDL.Vec(IDL.Nat8),
      sender_canister_version: IDL.Opt(IDL.Nat64),
    }),
    ret: undefined,
  },
  install_chunked_code: {
    arg: IDL.Record({
      mode: CanisterInstallMode,
      target_canister: IDL.Principal,
      store_canister: IDL.Opt(IDL.Principal),
      chunk_hashes_list: IDL.Vec(ChunkHash),
      wasm_module_hash: IDL.Vec(IDL.Nat8),
      arg: IDL.Vec(IDL.Nat8),
      sender_canister_version: IDL.Opt(IDL.Nat64),
    }),
    ret: undefined,
  },
  upload_chunk: {
    arg: IDL.Record({ canister_id: IDL.Principal, chunk: IDL.Vec(IDL.Nat8) }),
    ret: ChunkHash,
  },
  clear_chunk_store: { arg: CanisterIdRecord, ret: undefined },
  stored_chunks: { arg: CanisterIdRecord, ret: IDL.Vec(ChunkHash) },
  uninstall_code: {
    arg: IDL.Record({ canister_id: IDL.Principal, sender_canister_version: IDL.Opt(IDL.Nat64) }),
    ret: undefined,
  },
  start_canister: { arg: CanisterIdRecord, ret: undefined },
  stop_canister: { arg: CanisterIdRecord, ret: undefined },
  delete_canister: { arg: CanisterIdRecord, ret: undefined },
  canister_status: {
    arg: CanisterIdRecord,
    ret: IDL.Record({
      status: IDL.Variant({ running: IDL.Null, stopping: IDL.Null, stopped: IDL.Null }),
      settings: DefiniteCanisterSettings,
      module_hash: IDL.Opt(IDL.Vec(IDL.Nat8)),
      memory_size: IDL.Nat,
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
  update_settings: {
    arg: IDL.Record({
      canister_id: IDL.Principal,
      settings: CanisterSettings,
      sender_canister_version: IDL.Opt(IDL.Nat64),
    }),
    ret: undefined,
  },
  raw_rand: { arg: undefined, ret: IDL.Vec(IDL.Nat8) },
  http_request: {
    arg: IDL.Record({
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
    }),
    ret: HttpRequestResult,
  },
  deposit_cycles: { arg: CanisterIdRecord, ret: undefined },
  provisional_top_up_canister: {
    arg: IDL.Record({ canister_id: IDL.Principal, amount: IDL.Nat }),
    ret: undefined,
  },
  canister_info: {
    arg: IDL.Record({ canister_id: IDL.Principal, num_requested_changes: IDL.Opt(IDL.Nat64) }),
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
} as const;

export type ManagementMethod = keyof typeof methods;
