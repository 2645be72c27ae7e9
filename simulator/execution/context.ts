/**
 * Execution contexts of the IC interface specification ("Overview of imports")
 * and which `ic0` functions each of them may call. A call from elsewhere traps.
 */

/**
 * The spec's context letters: I init/post_upgrade, G pre_upgrade, U update,
 * RQ/NRQ replicated/non-replicated query, CQ composite query, Ry/Rt reply/reject
 * callback, CRy/CRt the same inside a composite query, C/CC cleanup, F
 * inspect_message, T system task (heartbeat, global timer), TQ an HTTPS outcall's
 * transform function, s the (start) function.
 */
export type ContextKind =
  'I' | 'G' | 'U' | 'RQ' | 'NRQ' | 'TQ' | 'CQ' | 'Ry' | 'Rt' | 'CRy' | 'CRt' | 'C' | 'CC' | 'F' | 'T' | 's';

/** How the replica names the context in "cannot be executed in … mode" traps (`ApiType` in dfinity/ic `rs/embedders/src/wasmtime_embedder/system_api/sandbox_safe_system_state.rs`). */
export const CONTEXT_NAMES: Record<ContextKind, string> = {
  s: 'start',
  I: 'init',
  G: 'pre_upgrade',
  U: 'update',
  RQ: 'replicated query',
  NRQ: 'non-replicated query',
  TQ: 'transform',
  CQ: 'composite query',
  Ry: 'reply callback',
  Rt: 'reject callback',
  CRy: 'composite reply callback',
  CRt: 'composite reject callback',
  C: 'cleanup',
  CC: 'composite cleanup',
  F: 'inspect message',
  T: 'system task',
};

const ALL: ContextKind[] = [
  'I',
  'G',
  'U',
  'RQ',
  'NRQ',
  'TQ',
  'CQ',
  'Ry',
  'Rt',
  'CRy',
  'CRt',
  'C',
  'CC',
  'F',
  'T',
];
const ALL_AND_START: ContextKind[] = [...ALL, 's'];
const CALLER_INFO: ContextKind[] = ['U', 'RQ', 'NRQ', 'CQ', 'Ry', 'Rt', 'CRy', 'CRt', 'C', 'CC', 'F'];

// The table of the spec's "Overview of imports" (canister-interface.md).
// `*` is every context but (start); `* s` adds (start).
const TABLE: Record<string, ContextKind[]> = {
  msg_arg_data_size: ['I', 'U', 'RQ', 'NRQ', 'TQ', 'CQ', 'Ry', 'CRy', 'F'],
  msg_arg_data_copy: ['I', 'U', 'RQ', 'NRQ', 'TQ', 'CQ', 'Ry', 'CRy', 'F'],
  msg_caller_size: ALL,
  msg_caller_copy: ALL,
  // "These functions trap in canister_init, canister_post_upgrade, canister_pre_upgrade, canister
  // http outcall transform, the (start) module initialization function, and system tasks".
  msg_caller_info_data_size: CALLER_INFO,
  msg_caller_info_data_copy: CALLER_INFO,
  msg_caller_info_signer_size: CALLER_INFO,
  msg_caller_info_signer_copy: CALLER_INFO,
  msg_reject_code: ['Ry', 'Rt', 'CRy', 'CRt', 'C'],
  msg_reject_msg_size: ['Rt', 'CRt'],
  msg_reject_msg_copy: ['Rt', 'CRt'],
  msg_deadline: ['U', 'RQ', 'NRQ', 'CQ', 'Ry', 'Rt', 'CRy', 'CRt'],
  msg_reply_data_append: ['U', 'RQ', 'NRQ', 'TQ', 'CQ', 'Ry', 'Rt', 'CRy', 'CRt'],
  msg_reply: ['U', 'RQ', 'NRQ', 'TQ', 'CQ', 'Ry', 'Rt', 'CRy', 'CRt'],
  msg_reject: ['U', 'RQ', 'NRQ', 'TQ', 'CQ', 'Ry', 'Rt', 'CRy', 'CRt'],
  msg_cycles_available: ['U', 'RQ', 'Rt', 'Ry'],
  msg_cycles_available128: ['U', 'RQ', 'Rt', 'Ry'],
  msg_cycles_refunded: ['Rt', 'Ry'],
  msg_cycles_refunded128: ['Rt', 'Ry'],
  msg_cycles_accept: ['U', 'RQ', 'Rt', 'Ry'],
  msg_cycles_accept128: ['U', 'RQ', 'Rt', 'Ry'],
  cycles_burn128: ['I', 'G', 'U', 'RQ', 'Ry', 'Rt', 'C', 'T'],
  canister_self_size: ALL,
  canister_self_copy: ALL,
  canister_cycle_balance: ALL,
  canister_cycle_balance128: ALL,
  canister_liquid_cycle_balance128: ALL,
  canister_status: ALL,
  canister_version: ALL,
  subnet_self_size: ALL,
  subnet_self_copy: ALL,
  msg_method_name_size: ['F'],
  msg_method_name_copy: ['F'],
  accept_message: ['F'],
  call_new: ['U', 'CQ', 'Ry', 'Rt', 'CRy', 'CRt', 'T'],
  call_on_cleanup: ['U', 'CQ', 'Ry', 'Rt', 'CRy', 'CRt', 'T'],
  call_data_append: ['U', 'CQ', 'Ry', 'Rt', 'CRy', 'CRt', 'T'],
  call_with_best_effort_response: ['U', 'CQ', 'Ry', 'Rt', 'CRy', 'CRt', 'T'],
  call_cycles_add: ['U', 'Ry', 'Rt', 'T'],
  call_cycles_add128: ['U', 'Ry', 'Rt', 'T'],
  call_perform: ['U', 'CQ', 'Ry', 'Rt', 'CRy', 'CRt', 'T'],
  stable_size: ALL_AND_START,
  stable_grow: ALL_AND_START,
  stable_write: ALL_AND_START,
  stable_read: ALL_AND_START,
  stable64_size: ALL_AND_START,
  stable64_grow: ALL_AND_START,
  stable64_write: ALL_AND_START,
  stable64_read: ALL_AND_START,
  root_key_size: ['I', 'G', 'U', 'RQ', 'Ry', 'Rt', 'C', 'T'],
  root_key_copy: ['I', 'G', 'U', 'RQ', 'Ry', 'Rt', 'C', 'T'],
  certified_data_set: ['I', 'G', 'U', 'Ry', 'Rt', 'T'],
  data_certificate_present: ALL,
  data_certificate_size: ['NRQ', 'CQ'],
  data_certificate_copy: ['NRQ', 'CQ'],
  time: ALL,
  global_timer_set: ['I', 'G', 'U', 'Ry', 'Rt', 'C', 'T'],
  performance_counter: ALL_AND_START,
  is_controller: ALL_AND_START,
  in_replicated_execution: ALL_AND_START,
  cost_call: ALL_AND_START,
  cost_create_canister: ALL_AND_START,
  cost_http_request: ALL_AND_START,
  cost_http_request_v2: ALL_AND_START,
  cost_sign_with_ecdsa: ALL_AND_START,
  cost_sign_with_schnorr: ALL_AND_START,
  cost_vetkd_derive_key: ALL_AND_START,
  env_var_count: ALL,
  env_var_name_size: ALL,
  env_var_name_copy: ALL,
  env_var_name_exists: ALL,
  env_var_value_size: ALL,
  env_var_value_copy: ALL,
  debug_print: ALL_AND_START,
  trap: ALL_AND_START,
  mint_cycles128: ['U', 'Ry', 'Rt', 'T'],
};

const SETS = new Map(Object.entries(TABLE).map(([name, kinds]) => [name, new Set(kinds)]));

/** Whether `ic0.<name>` may run in `kind`; functions the table does not list are allowed everywhere. */
export function isAllowed(name: string, kind: ContextKind): boolean {
  const set = SETS.get(name);
  return set === undefined || set.has(kind);
}

export function isReplicated(kind: ContextKind): boolean {
  return (
    kind !== 'NRQ' &&
    kind !== 'TQ' &&
    kind !== 'CQ' &&
    kind !== 'CRy' &&
    kind !== 'CRt' &&
    kind !== 'CC' &&
    kind !== 'F'
  );
}
