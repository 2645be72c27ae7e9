/**
 * The `ic0` System API imports and their Wasm signatures.
 *
 * Sources:
 * - IC interface specification, "System API imports" (dfinity/developer-docs
 *   `docs/references/ic-interface-spec/canister-interface.md`), mirrored in
 *   dfinity/cdk-rs `ic0/ic0.txt`: every entry with `I` (i32 for 32-bit
 *   memory, i64 for 64-bit memory), plus `subnet_self_node_count` and
 *   `cost_http_request_v2` that cdk-rs lists.
 * - dfinity/ic `rs/embedders/src/wasm_utils/validation.rs`
 *   (`get_valid_system_apis_common`, `get_valid_system_apis_32_only`): the
 *   legacy 64-bit-cycles and 32-bit stable-memory functions exist only for
 *   32-bit memory; `mint_cycles` is accepted in both modes.
 * - dfinity/ic `rs/embedders/src/wasmtime_embedder/linker.rs`: `mint_cycles128`
 *   `(amount_high: i64, amount_low: i64, dst: I) -> ()` (callable only on the
 *   cycles minting canister).
 */

export type WasmNumType = 'i32' | 'i64';

export interface Ic0Signature {
  params: WasmNumType[];
  results: WasmNumType[];
}

/** `I` is the pointer/size type: i32 for 32-bit memory, i64 for wasm64. */
type Sym = 'I' | WasmNumType;

interface Ic0Entry {
  params: Sym[];
  results: Sym[];
  /** Only linked for modules with 32-bit memory. */
  only32?: true;
}

const e = (params: Sym[], results: Sym[] = []): Ic0Entry => ({ params, results });
const legacy = (params: Sym[], results: Sym[] = []): Ic0Entry => ({ params, results, only32: true });

/** Every `ic0` import, with `I` standing for the memory's pointer type. */
const IC0: Readonly<Record<string, Ic0Entry>> = {
  msg_arg_data_size: e([], ['I']),
  msg_arg_data_copy: e(['I', 'I', 'I']),
  msg_caller_size: e([], ['I']),
  msg_caller_copy: e(['I', 'I', 'I']),
  msg_caller_info_data_size: e([], ['I']),
  msg_caller_info_data_copy: e(['I', 'I', 'I']),
  msg_caller_info_signer_size: e([], ['I']),
  msg_caller_info_signer_copy: e(['I', 'I', 'I']),
  msg_reject_code: e([], ['i32']),
  msg_reject_msg_size: e([], ['I']),
  msg_reject_msg_copy: e(['I', 'I', 'I']),
  msg_deadline: e([], ['i64']),
  msg_reply_data_append: e(['I', 'I']),
  msg_reply: e([]),
  msg_reject: e(['I', 'I']),
  msg_cycles_available128: e(['I']),
  msg_cycles_refunded128: e(['I']),
  msg_cycles_accept128: e(['i64', 'i64', 'I']),
  cycles_burn128: e(['i64', 'i64', 'I']),
  canister_self_size: e([], ['I']),
  canister_self_copy: e(['I', 'I', 'I']),
  canister_cycle_balance128: e(['I']),
  canister_liquid_cycle_balance128: e(['I']),
  canister_status: e([], ['i32']),
  canister_version: e([], ['i64']),
  subnet_self_size: e([], ['I']),
  subnet_self_copy: e(['I', 'I', 'I']),
  subnet_self_node_count: e([], ['i32']),
  msg_method_name_size: e([], ['I']),
  msg_method_name_copy: e(['I', 'I', 'I']),
  accept_message: e([]),
  call_new: e(['I', 'I', 'I', 'I', 'I', 'I', 'I', 'I']),
  call_on_cleanup: e(['I', 'I']),
  call_data_append: e(['I', 'I']),
  call_with_best_effort_response: e(['i32']),
  call_cycles_add128: e(['i64', 'i64']),
  call_perform: e([], ['i32']),
  stable64_size: e([], ['i64']),
  stable64_grow: e(['i64'], ['i64']),
  stable64_write: e(['i64', 'i64', 'i64']),
  stable64_read: e(['i64', 'i64', 'i64']),
  root_key_size: e([], ['I']),
  root_key_copy: e(['I', 'I', 'I']),
  certified_data_set: e(['I', 'I']),
  data_certificate_present: e([], ['i32']),
  data_certificate_size: e([], ['I']),
  data_certificate_copy: e(['I', 'I', 'I']),
  time: e([], ['i64']),
  global_timer_set: e(['i64'], ['i64']),
  performance_counter: e(['i32'], ['i64']),
  is_controller: e(['I', 'I'], ['i32']),
  in_replicated_execution: e([], ['i32']),
  cost_call: e(['i64', 'i64', 'I']),
  cost_create_canister: e(['I']),
  cost_http_request: e(['i64', 'i64', 'I']),
  cost_http_request_v2: e(['I', 'I', 'I']),
  cost_sign_with_ecdsa: e(['I', 'I', 'i32', 'I'], ['i32']),
  cost_sign_with_schnorr: e(['I', 'I', 'i32', 'I'], ['i32']),
  cost_vetkd_derive_key: e(['I', 'I', 'i32', 'I'], ['i32']),
  env_var_count: e([], ['I']),
  env_var_name_size: e(['I'], ['I']),
  env_var_name_copy: e(['I', 'I', 'I', 'I']),
  env_var_name_exists: e(['I', 'I'], ['i32']),
  env_var_value_size: e(['I', 'I'], ['I']),
  env_var_value_copy: e(['I', 'I', 'I', 'I', 'I']),
  debug_print: e(['I', 'I']),
  trap: e(['I', 'I']),
  mint_cycles128: e(['i64', 'i64', 'I']),
  mint_cycles: e(['i64'], ['i64']),
  // Legacy, 32-bit memory only.
  msg_cycles_available: legacy([], ['i64']),
  msg_cycles_refunded: legacy([], ['i64']),
  msg_cycles_accept: legacy(['i64'], ['i64']),
  canister_cycle_balance: legacy([], ['i64']),
  call_cycles_add: legacy(['i64']),
  stable_size: legacy([], ['i32']),
  stable_grow: legacy(['i32'], ['i32']),
  stable_write: legacy(['i32', 'i32', 'i32']),
  stable_read: legacy(['i32', 'i32', 'i32']),
};

function resolve(entry: Ic0Entry, ptr: WasmNumType): Ic0Signature {
  const sub = (t: Sym): WasmNumType => (t === 'I' ? ptr : t);
  return { params: entry.params.map(sub), results: entry.results.map(sub) };
}

function build(ptr: WasmNumType): ReadonlyMap<string, Ic0Signature> {
  const m = new Map<string, Ic0Signature>();
  for (const [name, entry] of Object.entries(IC0)) {
    if (entry.only32 && ptr === 'i64') continue;
    m.set(name, Object.freeze(resolve(entry, ptr)));
  }
  return m;
}

/**
 * The `ic0` imports that exist, by memory width: `IC0_SIGNATURES.wasm32` for
 * modules with 32-bit memory (I = i32), `IC0_SIGNATURES.wasm64` for wasm64
 * (I = i64; the legacy 32-bit-only functions are absent).
 */
export const IC0_SIGNATURES: Readonly<{
  wasm32: ReadonlyMap<string, Ic0Signature>;
  wasm64: ReadonlyMap<string, Ic0Signature>;
}> = Object.freeze({ wasm32: build('i32'), wasm64: build('i64') });

/** The signature of `ic0.<name>` for the given memory width, or undefined if no such import exists there. */
export function sigFor(name: string, isWasm64: boolean): Ic0Signature | undefined {
  return (isWasm64 ? IC0_SIGNATURES.wasm64 : IC0_SIGNATURES.wasm32).get(name);
}

/** All `ic0` function names that exist for the given memory width. */
export function ic0Names(isWasm64: boolean): string[] {
  return [...(isWasm64 ? IC0_SIGNATURES.wasm64 : IC0_SIGNATURES.wasm32).keys()];
}
