/**
 * Deploying the upload canister over the IC HTTP interface with an agent: create a canister
 * (or use a given one), install or upgrade a module, in chunks when it exceeds what one
 * ingress message carries, and report the stable layout before and after an upgrade.
 *
 * The management canister's methods are the interface specification's (`ic.did`):
 * `provisional_create_canister_with_cycles` (local replicas only; mainnet needs a canister id),
 * `install_code`, `upload_chunk`, `install_chunked_code`, `clear_chunk_store`. A management call
 * names the canister it acts on as its effective canister id; creating one needs an id the
 * replica hosts, which PocketIC (and icsim) publish as `default_effective_canister_id` at
 * `GET /_/topology` of their HTTP gateway.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { Actor, type ActorSubclass, type HttpAgent } from '@icp-sdk/core/agent';
import { IDL } from '@icp-sdk/core/candid';
import { Principal } from '@icp-sdk/core/principal';

import { idlFactory, type UploadActor } from './client.ts';

/**
 * Modules up to this size go in one `install_code`; larger ones through the chunk store. The
 * limit of one ingress message is 2 MiB on application subnets, and the argument's Candid
 * framing and the envelope take some of it.
 */
export const SINGLE_MESSAGE_MODULE_BYTES = 1_900_000;
/** `upload_chunk` takes at most 1 MiB (interface specification, "IC method upload_chunk"). */
export const CHUNK_BYTES = 1_048_576;

const CanisterSettings = IDL.Record({ controllers: IDL.Opt(IDL.Vec(IDL.Principal)) });
const InstallMode = IDL.Variant({
  install: IDL.Null,
  reinstall: IDL.Null,
  upgrade: IDL.Opt(
    IDL.Record({
      skip_pre_upgrade: IDL.Opt(IDL.Bool),
      wasm_memory_persistence: IDL.Opt(IDL.Variant({ keep: IDL.Null, replace: IDL.Null })),
    }),
  ),
});
type Mode = { install: null } | { reinstall: null } | { upgrade: [] };
const ChunkHash = IDL.Record({ hash: IDL.Vec(IDL.Nat8) });

const managementIdl: IDL.InterfaceFactory = ({ IDL: I }) =>
  I.Service({
    provisional_create_canister_with_cycles: I.Func(
      [
        I.Record({
          amount: I.Opt(I.Nat),
          settings: I.Opt(CanisterSettings),
          specified_id: I.Opt(I.Principal),
          sender_canister_version: I.Opt(I.Nat64),
        }),
      ],
      [I.Record({ canister_id: I.Principal })],
      [],
    ),
    install_code: I.Func(
      [
        I.Record({
          mode: InstallMode,
          canister_id: I.Principal,
          wasm_module: I.Vec(I.Nat8),
          arg: I.Vec(I.Nat8),
          sender_canister_version: I.Opt(I.Nat64),
        }),
      ],
      [],
      [],
    ),
    upload_chunk: I.Func([I.Record({ canister_id: I.Principal, chunk: I.Vec(I.Nat8) })], [ChunkHash], []),
    install_chunked_code: I.Func(
      [
        I.Record({
          mode: InstallMode,
          target_canister: I.Principal,
          store_canister: I.Opt(I.Principal),
          chunk_hashes_list: I.Vec(ChunkHash),
          wasm_module_hash: I.Vec(I.Nat8),
          arg: I.Vec(I.Nat8),
          sender_canister_version: I.Opt(I.Nat64),
        }),
      ],
      [],
      [],
    ),
    clear_chunk_store: I.Func([I.Record({ canister_id: I.Principal })], [], []),
  });

interface ManagementActor {
  provisional_create_canister_with_cycles(arg: {
    amount: [] | [bigint];
    settings: [] | [{ controllers: [] | [Principal[]] }];
    specified_id: [] | [Principal];
    sender_canister_version: [] | [bigint];
  }): Promise<{ canister_id: Principal }>;
  install_code(arg: {
    mode: Mode;
    canister_id: Principal;
    wasm_module: Uint8Array;
    arg: Uint8Array;
    sender_canister_version: [] | [bigint];
  }): Promise<void>;
  upload_chunk(arg: { canister_id: Principal; chunk: Uint8Array }): Promise<{ hash: Uint8Array }>;
  install_chunked_code(arg: {
    mode: Mode;
    target_canister: Principal;
    store_canister: [] | [Principal];
    chunk_hashes_list: { hash: Uint8Array }[];
    wasm_module_hash: Uint8Array;
    arg: Uint8Array;
    sender_canister_version: [] | [bigint];
  }): Promise<void>;
  clear_chunk_store(arg: { canister_id: Principal }): Promise<void>;
}

/** A management canister actor whose calls name the canister they act on as effective canister id. */
function management(agent: HttpAgent, fallback: Principal): ActorSubclass<ManagementActor> {
  const effective = (args: unknown[]): Partial<{ effectiveCanisterId: Principal }> => {
    const first = args[0] as { canister_id?: Principal; target_canister?: Principal } | undefined;
    return { effectiveCanisterId: first?.canister_id ?? first?.target_canister ?? fallback };
  };
  return Actor.createActor<ManagementActor>(managementIdl, {
    agent,
    canisterId: Principal.managementCanister(),
    callTransform: (_m, args) => effective(args),
    queryTransform: (_m, args) => effective(args),
  });
}

/**
 * The effective canister id a local PocketIC or icsim gateway publishes (`GET /_/topology`,
 * `default_effective_canister_id.canister_id`, base64 of the principal's bytes).
 *
 * @throws Error when the network publishes no topology (a dfx replica, mainnet).
 */
export async function defaultEffectiveCanisterId(network: string): Promise<Principal> {
  const res = await fetch(new URL('/_/topology', network));
  if (!res.ok) throw new Error(`${network} publishes no topology (GET /_/topology answered ${res.status})`);
  const topology = (await res.json()) as { default_effective_canister_id?: { canister_id?: string } };
  const id = topology.default_effective_canister_id?.canister_id;
  if (id === undefined) throw new Error(`${network}/_/topology names no default_effective_canister_id`);
  return Principal.fromUint8Array(Uint8Array.from(Buffer.from(id, 'base64')));
}

/**
 * Creates a canister controlled by the agent's identity with `cycles`
 * (`provisional_create_canister_with_cycles`, which local replicas offer).
 *
 * @example
 * ```ts
 * const id = await createCanister(agent, await defaultEffectiveCanisterId(network), 10n ** 13n);
 * ```
 */
export async function createCanister(
  agent: HttpAgent,
  effective: Principal,
  cycles: bigint,
): Promise<Principal> {
  const me = await agent.getPrincipal();
  const { canister_id } = await management(agent, effective).provisional_create_canister_with_cycles({
    amount: [cycles],
    settings: [{ controllers: [[me]] }],
    specified_id: [],
    sender_canister_version: [],
  });
  return canister_id;
}

export type InstallKind = 'install' | 'reinstall' | 'upgrade';

/**
 * Installs `wasm` (raw or gzipped) into `canisterId` with `arg`: in one message when it fits,
 * else chunk by chunk into the canister's own chunk store, then `install_chunked_code`, then
 * the store is cleared. Returns whether chunks were used and the module's SHA-256.
 *
 * @example
 * ```ts
 * await installModule(agent, canisterId, wasm, initArg, 'install');
 * ```
 */
export async function installModule(
  agent: HttpAgent,
  canisterId: Principal,
  wasm: Uint8Array,
  arg: Uint8Array,
  kind: InstallKind,
): Promise<{ chunked: boolean; moduleHash: Uint8Array }> {
  const mgmt = management(agent, canisterId);
  const mode: Mode =
    kind === 'install' ? { install: null } : kind === 'reinstall' ? { reinstall: null } : { upgrade: [] };
  const moduleHash = sha256(wasm);
  if (wasm.length <= SINGLE_MESSAGE_MODULE_BYTES) {
    await mgmt.install_code({
      mode,
      canister_id: canisterId,
      wasm_module: wasm,
      arg,
      sender_canister_version: [],
    });
    return { chunked: false, moduleHash };
  }
  await mgmt.clear_chunk_store({ canister_id: canisterId });
  const hashes: { hash: Uint8Array }[] = [];
  for (let at = 0; at < wasm.length; at += CHUNK_BYTES) {
    hashes.push(
      await mgmt.upload_chunk({ canister_id: canisterId, chunk: wasm.subarray(at, at + CHUNK_BYTES) }),
    );
  }
  await mgmt.install_chunked_code({
    mode,
    target_canister: canisterId,
    store_canister: [],
    chunk_hashes_list: hashes,
    wasm_module_hash: moduleHash,
    arg,
    sender_canister_version: [],
  });
  await mgmt.clear_chunk_store({ canister_id: canisterId });
  return { chunked: true, moduleHash };
}

/** The upload canister's stable layout version (`storage_stats`), which an upgrade may migrate. */
export async function layoutVersion(agent: HttpAgent, canisterId: Principal): Promise<number> {
  const actor = Actor.createActor<UploadActor>(idlFactory, { agent, canisterId });
  return (await actor.storage_stats()).layout_version;
}
