/**
 * A fingerprint of everything a refused input must leave as it was: the
 * clocks, the ingress history, every canister (status, controllers, settings,
 * module, heap, stable memory, cycles, chunk store, certified data, history)
 * and pending HTTPS outcalls. Two equal fingerprints mean an unchanged
 * instance, as far as a user can observe it.
 */
import { createHash } from 'node:crypto';
import type { Principal } from '@icp-sdk/core/principal';
import { toHex } from '../simulator/bytes.ts';
import { replicaOf, type Instance } from '../simulator/instance.ts';
import type { StableMemory } from '../simulator/canister/stable-memory.ts';

const hex = (bytes: Uint8Array | undefined): string | null => (bytes ? toHex(bytes) : null);
const digest = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** Principals as hex: cheaper than their text form (a CRC and base32), which this runs twice a case. */
const principalHex = (p: Principal): string => toHex(p.toUint8Array());
const replacer = (_key: string, v: unknown): unknown => (typeof v === 'bigint' ? v.toString() : v);

/**
 * For what runs rounds to deliver a message (an ingress message, PocketIC's `await_ingress_message`):
 * `ingress: false` leaves out the ingress history, which records a rejected message with its
 * reject, `clock: false` the clocks, which each round moves on by at least 1 ns, and
 * `cycles: false` the balances: a delivered message pays its fees (ingress reception, execution)
 * whether or not it is refused, as on the IC (`simulator/cycles/README.md`). `ignore`
 * leaves out canisters whose own state the test changes on purpose (a relay's scratch memory).
 */
/**
 * A memory's size and the pages that hold data, hashed without materializing the memory: an
 * uploaded canister snapshot may declare hundreds of GiB that nobody wrote.
 */
function memoryDigest(memory: StableMemory): string {
  if (memory.size === 0) return '';
  const hash = createHash('sha256').update(`${memory.size}:`);
  // A stored page of zeros reads as an unstored one.
  for (const [index, page] of memory.storedPages())
    if (page.some((b) => b !== 0)) hash.update(`${index}:`).update(page);
  return hash.digest('hex');
}

export function fingerprint(
  ic: Instance,
  options: { ingress?: boolean; clock?: boolean; cycles?: boolean; ignore?: readonly Principal[] } = {},
): string {
  const replica = replicaOf(ic);
  const ignored = new Set((options.ignore ?? []).map((p) => p.toText()));
  const canisters = replica.subnets.flatMap((subnet) =>
    [...subnet.canisters.values()]
      .filter((c) => !ignored.has(c.idText))
      .map((c) => {
        return {
          id: c.idText,
          subnet: principalHex(subnet.id),
          status: c.status,
          controllers: c.controllers.map(principalHex),
          settings: c.settings,
          balance: options.cycles === false ? null : c.balance,
          version: c.versionNumber,
          module: hex(c.moduleHash),
          heap: c.runtime ? digest(c.runtime.heap()) : null,
          stable: memoryDigest(c.stable),
          certified: hex(c.certifiedData),
          timer: c.globalTimer,
          chunks: [...c.chunkStore.keys()],
          history: c.history.length,
          callContexts: c.callContexts.size,
          snapshots: [...c.snapshots.values()].map((s) => ({
            id: hex(s.id),
            size: s.size,
            module: digest(s.wasmModule),
            memories: [memoryDigest(s.wasmMemory), memoryDigest(s.stableMemory)],
            chunks: [...s.chunkStore.keys()],
          })),
          nextSnapshot: c.nextSnapshotLocalId,
        };
      }),
  );
  return JSON.stringify(
    {
      time: options.clock === false ? null : replica.time,
      certifiedTime: options.clock === false ? null : replica.certifiedTime,
      ingress: options.ingress === false ? null : replica.ingress.size,
      outcalls: replica.httpOutcalls.size,
      autoProgress: ic.isAutoProgress(),
      canisters,
    },
    replacer,
  );
}

/** A counter canister: `inc` (update) adds one to a heap i64 and replies it, `get` (query) replies it. */
export const COUNTER_WAT = `(module
  (import "ic0" "msg_reply_data_append" (func $append (param i32 i32)))
  (import "ic0" "msg_reply" (func $reply))
  (memory (export "memory") 1)
  (data (i32.const 64) "DIDL\\00\\01\\78")
  (func $counter
    (i64.store (i32.const 71) (i64.load (i32.const 0)))
    (call $append (i32.const 64) (i32.const 15))
    (call $reply))
  (func (export "canister_update inc")
    (i64.store (i32.const 0) (i64.add (i64.load (i32.const 0)) (i64.const 1)))
    (call $counter))
  (func (export "canister_query get") (call $counter)))`;
