/**
 * A small in-process driver for the simulator's own tests: creates canisters,
 * installs modules and sends messages through the `Instance` API, with
 * management arguments Candid-encoded as a user's agent would.
 */
import { IDL } from '@icp-sdk/core/candid';
import { Principal } from '@icp-sdk/core/principal';
import { sha256 } from '@noble/hashes/sha2.js';
import { Instance } from '../instance.ts';
import { methods } from '../management/idl.ts';
import type { CallResult, Reject } from '../result.ts';

export const ANONYMOUS = Principal.anonymous();
/** PicJS's threshold for chunked installs and its chunk size (`pocket-ic.ts`). */
const MAX_INSTALL_CODE_PAYLOAD = 1_850_000;
const WASM_CHUNK_SIZE = 1_000_000;
export const MANAGEMENT = Principal.managementCanister();

export class Harness {
  readonly ic: Instance;
  readonly logs: string[] = [];

  constructor(ic?: Instance) {
    this.ic =
      ic ??
      Instance.create({ subnets: [{ kind: 'Application' }] }, { onCanisterLog: (l) => this.logs.push(l) });
  }

  /** Sends an ingress message and runs rounds until it completes. */
  update(
    canisterId: Principal,
    method: string,
    arg: Uint8Array = new Uint8Array(),
    sender: Principal = ANONYMOUS,
  ): CallResult {
    const sent = this.ic.submitIngress({
      sender,
      canisterId,
      method,
      arg,
      effectivePrincipal: { kind: 'none' },
    });
    if (sent.status === 'rejected') return sent;
    return this.ic.awaitIngress(sent.messageId, sent.effectivePrincipal);
  }

  query(
    canisterId: Principal,
    method: string,
    arg: Uint8Array = new Uint8Array(),
    sender: Principal = ANONYMOUS,
  ): CallResult {
    return this.ic.query({ sender, canisterId, method, arg, effectivePrincipal: { kind: 'none' } });
  }

  /** Calls a management method with a Candid record argument; throws on reject. */
  management(
    method: keyof typeof methods,
    arg: Record<string, unknown> | undefined,
    sender: Principal = ANONYMOUS,
  ): unknown {
    const outcome = this.managementOutcome(method, arg, sender);
    if (outcome.status === 'rejected')
      throw new Error(`${method} rejected: ${outcome.errorCode}: ${outcome.message}`);
    const ret = methods[method].ret;
    return ret ? IDL.decode([ret], outcome.reply)[0] : undefined;
  }

  managementOutcome(
    method: keyof typeof methods,
    arg: Record<string, unknown> | undefined,
    sender: Principal = ANONYMOUS,
  ): CallResult {
    const spec = methods[method];
    const bytes = spec.arg ? IDL.encode([spec.arg], [arg]) : IDL.encode([], []);
    return this.update(MANAGEMENT, method, bytes, sender);
  }

  createCanister(controllers?: Principal[], sender: Principal = ANONYMOUS): Principal {
    const settings = controllers ? [{ ...emptySettings(), controllers: [controllers] }] : [];
    const r = this.management(
      'provisional_create_canister_with_cycles',
      { amount: [], settings, specified_id: [], sender_canister_version: [] },
      sender,
    ) as {
      canister_id: Principal;
    };
    return r.canister_id;
  }

  /**
   * Installs `wasm` as PicJS does: in one `install_code` message, or, when module and argument
   * exceed what fits in an ingress message (2 MiB on an application subnet), through the chunk
   * store with `upload_chunk` and `install_chunked_code`.
   */
  install(
    canisterId: Principal,
    wasm: Uint8Array,
    arg: Uint8Array = new Uint8Array(),
    mode: 'install' | 'reinstall' | 'upgrade' = 'install',
    sender: Principal = ANONYMOUS,
  ): CallResult {
    const m = mode === 'upgrade' ? { upgrade: [] } : { [mode]: null };
    if (wasm.length + arg.length <= MAX_INSTALL_CODE_PAYLOAD) {
      return this.managementOutcome(
        'install_code',
        { mode: m, canister_id: canisterId, wasm_module: wasm, arg, sender_canister_version: [] },
        sender,
      );
    }
    const cleared = this.managementOutcome('clear_chunk_store', { canister_id: canisterId }, sender);
    if (cleared.status === 'rejected') return cleared;
    const chunkHashes: unknown[] = [];
    for (let at = 0; at < wasm.length; at += WASM_CHUNK_SIZE) {
      const uploaded = this.managementOutcome(
        'upload_chunk',
        { canister_id: canisterId, chunk: wasm.subarray(at, at + WASM_CHUNK_SIZE) },
        sender,
      );
      if (uploaded.status === 'rejected') return uploaded;
      chunkHashes.push(IDL.decode([methods.upload_chunk.ret], uploaded.reply)[0]);
    }
    return this.managementOutcome(
      'install_chunked_code',
      {
        mode: m,
        target_canister: canisterId,
        store_canister: [],
        chunk_hashes_list: chunkHashes,
        wasm_module_hash: sha256(wasm),
        arg,
        sender_canister_version: [],
      },
      sender,
    );
  }

  /** Creates a canister and installs `wasm` into it; throws if the install fails. */
  deploy(wasm: Uint8Array, arg: Uint8Array = new Uint8Array()): Principal {
    const id = this.createCanister();
    const outcome = this.install(id, wasm, arg);
    if (outcome.status === 'rejected') throw new Error(`install failed: ${outcome.message}`);
    return id;
  }
}

export function emptySettings(): Record<string, []> {
  return {
    controllers: [],
    compute_allocation: [],
    memory_allocation: [],
    freezing_threshold: [],
    reserved_cycles_limit: [],
    log_visibility: [],
    wasm_memory_limit: [],
    wasm_memory_threshold: [],
    environment_variables: [],
  };
}

export function replyOf(outcome: CallResult): Uint8Array {
  if (outcome.status !== 'replied')
    throw new Error(`expected a reply, got ${outcome.errorCode}: ${outcome.message}`);
  return outcome.reply;
}

export function rejectOf(outcome: CallResult): Reject {
  if (outcome.status !== 'rejected') throw new Error('expected a rejection, got a reply');
  return outcome;
}

export const u32 = (bytes: Uint8Array): number =>
  new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true);

/** Byte equality without Vitest's element-wise diff, which cannot cope with megabytes of stable memory. */
export const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => Buffer.compare(a, b) === 0;
