/**
 * The management canister's Candid arguments (`simulator/management/`),
 * through `Instance` as an agent's ingress message reaches it: valid
 * arguments with byte edits, well-formed arguments with arbitrary values,
 * Candid of other types and random bytes, on every method and on names that
 * are not methods. Each call ends in a reply or in a clean reject (a reject
 * code, an IC error code, a message), or is refused at submission with the
 * instance's own error (PocketIC's 400); nothing else is thrown, and a reject
 * leaves every canister as it was.
 */
import { IDL } from '@icp-sdk/core/candid';
import { Principal } from '@icp-sdk/core/principal';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, InstanceError, RejectCode } from '../simulator/errors.ts';
import { Instance, replicaOf } from '../simulator/instance.ts';
import { methods } from '../simulator/management/idl.ts';
import type { CallResult } from '../simulator/result.ts';
import type { EffectivePrincipal } from '../simulator/types.ts';
import { Harness, emptySettings } from '../simulator/testing/harness.ts';
import { wat } from '../simulator/wasm/test-support.ts';
import { candidOfAnyType, candidValue } from './candid.ts';
import { COUNTER_WAT, fingerprint } from './instance-state.ts';
import { applyByteMutations, byteMutation, describeError, outcomes, params, yielding } from './support.ts';

const MANAGEMENT = Principal.managementCanister();
const ALICE = Principal.fromUint8Array(Uint8Array.of(0xa1, 1));
const STRANGER = Principal.fromUint8Array(Uint8Array.of(0x57, 2));

/**
 * A fresh instance: `relay` calls the management canister for the calls that come from a
 * canister; `counter` runs the counter module, `empty` has none,
 * `stopped` is stopped. Alice and the relay control them.
 */
class World {
  readonly ic = Instance.create({ subnets: [{ kind: 'Application' }] });
  readonly h = new Harness(this.ic);
  readonly relay: Principal;
  readonly counter: Principal;
  readonly empty: Principal;
  readonly stopped: Principal;

  constructor(counterWasm: Uint8Array) {
    this.relay = this.h.createCanister([ALICE]);
    ok(this.h.install(this.relay, relayWasm, new Uint8Array(), 'install', ALICE));
    this.counter = this.h.createCanister([ALICE, this.relay]);
    this.empty = this.h.createCanister([ALICE, this.relay]);
    this.stopped = this.h.createCanister([ALICE, this.relay]);
    ok(this.h.install(this.counter, counterWasm, new Uint8Array(), 'install', ALICE));
    ok(this.h.update(this.counter, 'inc'));
    ok(this.h.managementOutcome('upload_chunk', { canister_id: this.empty, chunk: counterWasm }, ALICE));
    ok(this.h.managementOutcome('stop_canister', { canister_id: this.stopped }, ALICE));
    // A snapshot taken of the counter (local id 0) and one uploaded to it (local id 1).
    ok(
      this.h.managementOutcome(
        'take_canister_snapshot',
        { canister_id: this.counter, replace_snapshot: [], uninstall_code: [], sender_canister_version: [] },
        ALICE,
      ),
    );
    ok(this.h.managementOutcome('upload_canister_snapshot_metadata', uploadMetadata(this.counter), ALICE));
  }

  /** The id of the counter's snapshot with local id `local`. */
  snapshot(local: number): Uint8Array {
    return Uint8Array.from([0, 0, 0, 0, 0, 0, 0, local, ...this.counter.toUint8Array()]);
  }

  /** Alice and the relay still control the canisters, which are still as they were set up (code, status). */
  intact(): boolean {
    const info = (id: Principal) => this.ic.getCanisterInfo(id);
    const controls = (who: Principal) => (id: Principal) =>
      info(id)?.controllers.some((c) => c.compareTo(who) === 'eq') === true;
    const status = (id: Principal) => replicaOf(this.ic).findCanister(id)?.status;
    return (
      [this.relay, this.counter, this.empty, this.stopped].every(controls(ALICE)) &&
      [this.counter, this.empty, this.stopped].every(controls(this.relay)) &&
      info(this.relay)!.moduleHash !== undefined &&
      status(this.relay) === 'running' &&
      info(this.counter)!.moduleHash !== undefined &&
      info(this.empty)!.moduleHash === undefined &&
      status(this.counter) === 'running' &&
      status(this.stopped) === 'stopped'
    );
  }

  /**
   * Everything a reject must leave as it was (delivering it runs rounds, and records it as
   * ingress), except the relay's own state: its heap and cycles change with every call it makes.
   */
  state(): string {
    return fingerprint(this.ic, { ingress: false, clock: false, cycles: false, ignore: [this.relay] });
  }

  /** A canister (or a call) is waiting: an HTTPS outcall for a response, a canister to stop. */
  waiting(): boolean {
    const replica = replicaOf(this.ic);
    return replica.httpOutcalls.size > 0 || [...replica.canisters()].some((c) => c.status === 'stopping');
  }
}

/**
 * A canister that calls the management canister for Alice: `relay` takes u8 n, the method name
 * (n bytes), u64 cycles (little-endian) and the payload, and replies what its callback saw: "R"
 * and the reply, or "J", the reject code (u32) and the reject message. Small (two pages), as each
 * message copies its heap.
 */
const RELAY_WAT = `(module
  (import "ic0" "msg_arg_data_size" (func $arg_size (result i32)))
  (import "ic0" "msg_arg_data_copy" (func $arg_copy (param i32 i32 i32)))
  (import "ic0" "msg_reply_data_append" (func $append (param i32 i32)))
  (import "ic0" "msg_reply" (func $reply))
  (import "ic0" "msg_reject_code" (func $reject_code (result i32)))
  (import "ic0" "msg_reject_msg_size" (func $reject_msg_size (result i32)))
  (import "ic0" "msg_reject_msg_copy" (func $reject_msg_copy (param i32 i32 i32)))
  (import "ic0" "call_new" (func $call_new (param i32 i32 i32 i32 i32 i32 i32 i32)))
  (import "ic0" "call_data_append" (func $call_data_append (param i32 i32)))
  (import "ic0" "call_cycles_add128" (func $call_cycles_add (param i64 i64)))
  (import "ic0" "call_perform" (func $call_perform (result i32)))
  (memory 2)
  (table 2 funcref)
  (elem (i32.const 0) $on_reply $on_reject)
  (func (export "canister_update relay")
    (local $size i32) (local $n i32) (local $cycles i64)
    (local.set $size (call $arg_size))
    (call $arg_copy (i32.const 1024) (i32.const 0) (local.get $size))
    (local.set $n (i32.load8_u (i32.const 1024)))
    (local.set $cycles (i64.load (i32.add (i32.const 1025) (local.get $n))))
    (call $call_new (i32.const 0) (i32.const 0) (i32.const 1025) (local.get $n)
      (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 0))
    (call $call_data_append (i32.add (i32.const 1033) (local.get $n))
      (i32.sub (local.get $size) (i32.add (i32.const 9) (local.get $n))))
    (if (i64.ne (local.get $cycles) (i64.const 0))
      (then (call $call_cycles_add (i64.const 0) (local.get $cycles))))
    (if (call $call_perform) (then unreachable)))
  (func $on_reply (param $env i32)
    (local $size i32)
    (local.set $size (call $arg_size))
    (i32.store8 (i32.const 0) (i32.const 82))
    (call $arg_copy (i32.const 1) (i32.const 0) (local.get $size))
    (call $append (i32.const 0) (i32.add (local.get $size) (i32.const 1)))
    (call $reply))
  (func $on_reject (param $env i32)
    (local $size i32)
    (local.set $size (call $reject_msg_size))
    (i32.store8 (i32.const 0) (i32.const 74))
    (i32.store (i32.const 1) (call $reject_code))
    (call $reject_msg_copy (i32.const 5) (i32.const 0) (local.get $size))
    (call $append (i32.const 0) (i32.add (local.get $size) (i32.const 5)))
    (call $reply)))`;

/** The relay's argument: method, cycles, payload. */
function relayArg(method: string, payload: Uint8Array, cycles: bigint): Uint8Array {
  const name = new TextEncoder().encode(method);
  const amount = new Uint8Array(8);
  new DataView(amount.buffer).setBigUint64(0, cycles, true);
  return Uint8Array.from([name.length, ...name, ...amount, ...payload]);
}

/** `upload_canister_snapshot_metadata`'s argument for a small snapshot of `canister`. */
function uploadMetadata(canister: Principal): Record<string, unknown> {
  return {
    canister_id: canister,
    replace_snapshot: [],
    wasm_module_size: 8n,
    globals: [{ i64: 1n }],
    wasm_memory_size: 65_536n,
    stable_memory_size: 0n,
    certified_data: Uint8Array.of(1),
    global_timer: [{ inactive: null }],
    on_low_wasm_memory_hook_status: [],
  };
}

function ok(outcome: CallResult): void {
  if (outcome.status !== 'replied') throw new Error(`${outcome.errorCode}: ${outcome.message}`);
}

let counterWasm: Uint8Array;
let relayWasm: Uint8Array;
let world: World;
/** `world.state()` as the last change left it: fingerprinted once per change, not twice per case. */
let settled: string;

/** Starts the next case from a fresh instance. */
function renew(): void {
  world = new World(counterWasm);
  settled = world.state();
}

/** After a reply, which may change the instance: a fresh one once it is no longer as set up. */
function afterReply(): void {
  if (!world.intact()) renew();
  else settled = world.state();
}

/** A failure, after which fast-check's shrinking starts from a fresh instance. */
function fail(message: string): never {
  renew();
  throw new Error(message);
}
/** Each method with valid arguments (as agents encode them) for the world's canisters. */
let valid: { method: string; args: Uint8Array[] }[];

function validArgs(w: World): { method: string; args: Uint8Array[] }[] {
  const enc = (method: keyof typeof methods, value: unknown): Uint8Array => {
    const type = methods[method].arg;
    return new Uint8Array(type ? IDL.encode([type], [value]) : IDL.encode([], []));
  };
  const settings = {
    ...emptySettings(),
    controllers: [[ALICE, w.counter]],
    // Affordable on 100 T cycles: a 30-day freezing threshold of 1 % compute costs 26 T.
    compute_allocation: [1n],
    freezing_threshold: [2_592_000n],
    log_visibility: [{ allowed_viewers: [STRANGER] }],
    environment_variables: [[{ name: 'A', value: 'b' }]],
  };
  const mode = (m: 'install' | 'reinstall' | 'upgrade') =>
    m === 'upgrade'
      ? { upgrade: [{ skip_pre_upgrade: [true], wasm_memory_persistence: [] }] }
      : { [m]: null };
  const hash = new Uint8Array(32);
  const id = (canister_id: Principal) => ({ canister_id });
  return [
    {
      method: 'provisional_create_canister_with_cycles',
      args: [
        enc('provisional_create_canister_with_cycles', {
          amount: [10n ** 14n],
          settings: [settings],
          specified_id: [],
          sender_canister_version: [],
        }),
      ],
    },
    {
      method: 'install_code',
      args: (['install', 'reinstall', 'upgrade'] as const).map((m) =>
        enc('install_code', {
          mode: mode(m),
          canister_id: m === 'install' ? w.empty : w.counter,
          wasm_module: counterWasm,
          arg: new Uint8Array(),
          sender_canister_version: [],
        }),
      ),
    },
    {
      method: 'install_chunked_code',
      args: [
        enc('install_chunked_code', {
          mode: mode('install'),
          target_canister: w.empty,
          store_canister: [],
          chunk_hashes_list: [{ hash }],
          wasm_module_hash: hash,
          arg: new Uint8Array(),
          sender_canister_version: [],
        }),
      ],
    },
    {
      method: 'upload_chunk',
      args: [enc('upload_chunk', { canister_id: w.empty, chunk: Uint8Array.of(1, 2) })],
    },
    { method: 'clear_chunk_store', args: [enc('clear_chunk_store', id(w.empty))] },
    { method: 'stored_chunks', args: [enc('stored_chunks', id(w.empty))] },
    {
      method: 'uninstall_code',
      args: [enc('uninstall_code', { canister_id: w.counter, sender_canister_version: [] })],
    },
    { method: 'start_canister', args: [enc('start_canister', id(w.stopped))] },
    { method: 'stop_canister', args: [enc('stop_canister', id(w.counter))] },
    { method: 'delete_canister', args: [enc('delete_canister', id(w.stopped))] },
    { method: 'canister_status', args: [enc('canister_status', id(w.counter))] },
    {
      method: 'update_settings',
      args: [enc('update_settings', { canister_id: w.counter, settings, sender_canister_version: [] })],
    },
    {
      method: 'provisional_top_up_canister',
      args: [enc('provisional_top_up_canister', { canister_id: w.counter, amount: 1000n })],
    },
    {
      method: 'take_canister_snapshot',
      args: [
        enc('take_canister_snapshot', {
          canister_id: w.counter,
          replace_snapshot: [w.snapshot(0)],
          uninstall_code: [],
          sender_canister_version: [],
        }),
      ],
    },
    {
      method: 'load_canister_snapshot',
      args: [
        enc('load_canister_snapshot', {
          canister_id: w.counter,
          snapshot_id: w.snapshot(0),
          sender_canister_version: [],
        }),
      ],
    },
    { method: 'list_canister_snapshots', args: [enc('list_canister_snapshots', id(w.counter))] },
    {
      method: 'delete_canister_snapshot',
      args: [enc('delete_canister_snapshot', { canister_id: w.counter, snapshot_id: w.snapshot(0) })],
    },
    {
      method: 'read_canister_snapshot_metadata',
      args: [enc('read_canister_snapshot_metadata', { canister_id: w.counter, snapshot_id: w.snapshot(0) })],
    },
    {
      method: 'read_canister_snapshot_data',
      args: [
        enc('read_canister_snapshot_data', {
          canister_id: w.counter,
          snapshot_id: w.snapshot(0),
          kind: { wasm_memory: { offset: 0n, size: 16n } },
        }),
      ],
    },
    {
      method: 'upload_canister_snapshot_metadata',
      args: [enc('upload_canister_snapshot_metadata', uploadMetadata(w.counter))],
    },
    {
      method: 'upload_canister_snapshot_data',
      args: [
        enc('upload_canister_snapshot_data', {
          canister_id: w.counter,
          snapshot_id: w.snapshot(1),
          kind: { wasm_module: { offset: 0n } },
          chunk: Uint8Array.of(0, 97, 115, 109),
        }),
      ],
    },
    // Canister-only methods and names that are not methods: refused at submission.
    {
      method: 'create_canister',
      args: [enc('create_canister', { settings: [], sender_canister_version: [] })],
    },
    { method: 'raw_rand', args: [enc('raw_rand', undefined)] },
    { method: 'deposit_cycles', args: [enc('deposit_cycles', id(w.counter))] },
    {
      method: 'canister_info',
      args: [enc('canister_info', { canister_id: w.counter, num_requested_changes: [3n] })],
    },
    {
      method: 'http_request',
      args: [
        enc('http_request', {
          url: 'https://example.org',
          max_response_bytes: [],
          method: { get: null },
          headers: [],
          body: [],
          transform: [],
          is_replicated: [],
        }),
      ],
    },
    { method: 'fetch_canister_logs', args: [enc('fetch_canister_logs', id(w.counter))] },
    {
      method: 'canister_metadata',
      args: [enc('canister_metadata', { canister_id: w.counter, name: 'candid:service' })],
    },
    { method: 'toString', args: [enc('canister_status', id(w.counter))] },
    { method: 'constructor', args: [enc('canister_status', id(w.counter))] },
    { method: 'no_such_method', args: [enc('canister_status', id(w.counter))] },
  ];
}

beforeAll(() => {
  counterWasm = wat(COUNTER_WAT);
  relayWasm = wat(RELAY_WAT);
  renew();
  valid = validArgs(world);
});

const errorCodes = new Set(Object.keys(ErrorCode));
const rejectCodes = new Set(Object.keys(RejectCode));

/** A call: method, argument, sender and how it is routed. */
function calls() {
  const principals = [
    ALICE,
    STRANGER,
    world.counter,
    world.empty,
    world.stopped,
    MANAGEMENT,
    Principal.anonymous(),
  ];
  const arg = (m: number): fc.Arbitrary<Uint8Array> => {
    const entry = valid[m]!;
    const type = (methods as Record<string, { arg: IDL.Type | undefined }>)[entry.method]?.arg;
    return fc.oneof(
      {
        weight: 4,
        arbitrary: fc
          .tuple(fc.constantFrom(...entry.args), fc.array(byteMutation, { minLength: 1, maxLength: 3 }))
          .map(([a, ms]) => applyByteMutations(a, ms)),
      },
      {
        weight: type ? 3 : 0,
        arbitrary: type
          ? candidValue(type, principals).map((v) => new Uint8Array(IDL.encode([type], [v])))
          : fc.constant(new Uint8Array()),
      },
      { weight: 2, arbitrary: candidOfAnyType(principals) },
      {
        weight: 1,
        arbitrary: fc
          .tuple(candidOfAnyType(principals), fc.array(byteMutation, { minLength: 1, maxLength: 2 }))
          .map(([a, ms]) => applyByteMutations(a, ms)),
      },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 40 }) },
    );
  };
  // With no effective principal the instance routes by the argument's canister id, which most
  // edited arguments no longer carry; an effective canister routes them to the management canister.
  const route: fc.Arbitrary<EffectivePrincipal> = fc.oneof(
    { weight: 1, arbitrary: fc.constant({ kind: 'none' as const }) },
    {
      weight: 2,
      arbitrary: fc
        .constantFrom(world.counter, world.counter, world.empty, STRANGER)
        .map((id) => ({ kind: 'canister' as const, id })),
    },
  );
  const sender = fc.oneof(
    { weight: 6, arbitrary: fc.constant(ALICE) },
    { weight: 1, arbitrary: fc.constantFrom(STRANGER, Principal.anonymous()) },
  );
  // From a user (ingress) or from a canister (the relay), with cycles sometimes (create_canister).
  const via = fc.oneof(
    { weight: 3, arbitrary: fc.constant<'ingress' | 'canister'>('ingress') },
    { weight: 1, arbitrary: fc.constant<'ingress' | 'canister'>('canister') },
  );
  const cycles = fc.constantFrom(0n, 0n, 0n, 10n ** 12n);
  // One arbitrary per method, built once (not per case, as `chain` would).
  return fc.oneof(
    ...valid.map((v, m) =>
      fc.record({ method: fc.constant(v.method), arg: arg(m), sender, route, via, cycles }),
    ),
  );
}

/** A reject as the IC gives it: a known reject code and error code, their agreement, a message. */
function checkReject(r: Extract<CallResult, { status: 'rejected' }>): void {
  if (!rejectCodes.has(r.rejectCode) || !errorCodes.has(r.errorCode) || r.message === '')
    throw new Error(`not a clean reject: ${JSON.stringify(r)}`);
  // The System API turns an exception inside icsim into a contract violation of the canister.
  if (/internal error/i.test(r.message)) throw new Error(`an internal error: ${r.message}`);
  if (String(ErrorCode[r.errorCode])[0] !== String(RejectCode[r.rejectCode]))
    throw new Error(`error code ${r.errorCode} does not belong to reject code ${r.rejectCode}`);
}

/**
 * A call from a canister: Alice asks the relay to call the management canister. The relay
 * answers what its callback saw: "R" and the reply, or "J", the reject code and message; it
 * stays open while the call waits (an outcall, a canister stopping), then the instance starts
 * afresh.
 */
function fromCanister(
  { method, arg, cycles }: { method: string; arg: Uint8Array; cycles: bigint },
  seen: Record<'relayed reply' | 'relayed reject', number>,
): void {
  const sent = world.ic.submitIngress({
    sender: ALICE,
    canisterId: world.relay,
    method: 'relay',
    arg: relayArg(method, arg, cycles),
    effectivePrincipal: { kind: 'none' },
  });
  if (sent.status !== 'submitted') fail(`the relay refused the message: ${sent.message}`);
  let outcome: CallResult;
  try {
    outcome = world.ic.awaitIngress(sent.messageId);
  } catch (e) {
    if (e instanceof InstanceError && e.kind === 'IngressTimeout' && world.waiting()) return renew();
    return fail(`${method} from a canister threw ${describeError(e)}`);
  }
  if (outcome.status === 'rejected') {
    // The relay's own message failed: only as the relay was uninstalled or lost its code.
    try {
      checkReject(outcome);
    } catch (e) {
      fail((e as Error).message);
    }
    if (world.ic.getCanisterInfo(world.relay)?.moduleHash !== undefined)
      fail(`the relay failed calling ${method}: ${outcome.errorCode}: ${outcome.message}`);
    return renew();
  }
  const reply = outcome.reply;
  if (reply[0] === 0x52) {
    seen['relayed reply']++;
    return afterReply();
  }
  const code = new DataView(reply.buffer, reply.byteOffset, reply.byteLength).getUint32(1, true);
  const message = Buffer.from(reply.subarray(5)).toString('utf8');
  if (reply[0] !== 0x4a || code < 1 || code > 6 || message === '' || /internal error/i.test(message))
    fail(`${method} from a canister: not a clean reject: ${code} ${message}`);
  seen['relayed reject']++;
  if (world.state() !== settled)
    fail(`${method} from a canister, rejected (${code}: ${message}), changed the state`);
}

describe('management canister Candid arguments', () => {
  it('replies to the valid arguments the mutations start from (or refuses what ingress may not call)', () => {
    const replied = new Set<string>();
    for (const [i, { method, args }] of validArgs(world).entries()) {
      for (const arg of args) {
        // A fresh instance for each, so that one method's effect does not stand in another's way.
        const w = new World(counterWasm);
        expect(validArgs(w)[i]!.args).toContainEqual(arg);
        const sent = w.ic.submitIngress({
          sender: ALICE,
          canisterId: MANAGEMENT,
          method,
          arg,
          // Methods without a canister argument route by the canister (PocketIC: by the effective principal).
          effectivePrincipal: { kind: 'canister', id: w.counter },
        });
        if (sent.status === 'submitted' && w.ic.awaitIngress(sent.messageId).status === 'replied')
          replied.add(method);
      }
    }
    expect([...replied].sort()).toEqual(
      [
        'canister_status',
        'clear_chunk_store',
        'delete_canister',
        'install_code',
        'provisional_create_canister_with_cycles',
        'provisional_top_up_canister',
        'start_canister',
        'stop_canister',
        'stored_chunks',
        'uninstall_code',
        'update_settings',
        'upload_chunk',
        'take_canister_snapshot',
        'load_canister_snapshot',
        'list_canister_snapshots',
        'delete_canister_snapshot',
        'read_canister_snapshot_metadata',
        'read_canister_snapshot_data',
        'upload_canister_snapshot_metadata',
        'upload_canister_snapshot_data',
      ].sort(),
    );
  });

  it('every call ends in a reply or a clean reject, and a reject changes nothing', async () => {
    const { seen, expectEach } = outcomes(
      'replied',
      'rejected',
      'refused',
      'relayed reply',
      'relayed reject',
    );
    await fc.assert(
      yielding(calls(), (call) => {
        if (call.via === 'canister') return fromCanister(call, seen);
        const { method, arg, sender, route } = call;
        let outcome: CallResult;
        try {
          const sent = world.ic.submitIngress({
            sender,
            canisterId: MANAGEMENT,
            method,
            arg,
            effectivePrincipal: route,
          });
          outcome = sent.status === 'submitted' ? world.ic.awaitIngress(sent.messageId) : sent;
        } catch (e) {
          // The instance's refusals of a call it cannot route (PocketIC answers 400), nothing else.
          if (
            e instanceof InstanceError &&
            (e.kind === 'CanisterRequestRoutingError' || e.kind === 'UnroutableManagementCall')
          ) {
            seen.refused++;
            if (world.state() !== settled) fail(`a refused ${method} changed the state`);
            return;
          }
          return fail(`${method} threw ${describeError(e)}`);
        }
        if (outcome.status === 'rejected') {
          seen.rejected++;
          try {
            checkReject(outcome);
          } catch (e) {
            fail((e as Error).message);
          }
          if (world.state() !== settled)
            fail(`rejected ${method} (${outcome.errorCode}: ${outcome.message}) changed the state`);
        } else {
          seen.replied++;
          afterReply();
        }
      }),
      params(),
    );
    expectEach();
  });
});
