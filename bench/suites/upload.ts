/**
 * Upload throughput through PicJS → icsim → the upload canister, with the
 * SHA-256 verified in the canister, and its ceiling: the same `put_chunk`
 * called bare on the canister's Wasm instance (no queues, no rollback, no
 * Candid or HTTP around it).
 */
import { PocketIc } from '@dfinity/pic';
import { Ed25519KeyIdentity } from '@icp-sdk/core/identity';
import { IDL } from '@icp-sdk/core/candid';
import { Principal } from '@icp-sdk/core/principal';
import { sha256 } from '@noble/hashes/sha2.js';
import { buildUploadCanister } from '../../canister/build.ts';
import { UploadClient, idlFactory, type UploadActor } from '../../canister/client/client.ts';
import { bytesSource, uploadFile } from '../../canister/client/upload.ts';
import { encodeInitArg, simActor } from '../../canister/testing/sim-actor.ts';
import { payload } from '../../fixtures/payload.ts';
import { invoke } from '../../simulator/execution/executor.ts';
import { newMessageContext } from '../../simulator/execution/message.ts';
import { Harness } from '../../simulator/testing/harness.ts';
import { replicaOf } from '../../simulator/instance.ts';
import { mbPerSecond, median, type Results } from '../measure.ts';
import { startPic } from '../pic.ts';

const MB = 1_000_000;
const CHUNK = 1_900_000;

async function setup(pic: PocketIc, wasm: Uint8Array): Promise<UploadClient> {
  const { actor } = await pic.setupCanister<UploadActor>({ idlFactory, wasm, arg: encodeInitArg() });
  actor.setIdentity(Ed25519KeyIdentity.generate());
  return new UploadClient(actor);
}

/**
 * Cycles the upload canister is charged per GB uploaded under the `Normal` cost schedule:
 * a 4 MB upload measured from its canister's balance (ingress bytes, put_chunk executions,
 * no storage time: the rounds do not advance it), scaled to 1 GB (10^9 bytes).
 */
async function cyclesPerGb(pic: PocketIc, wasm: Uint8Array): Promise<number> {
  const size = 4 * MB;
  const { actor, canisterId } = await pic.setupCanister<UploadActor>({
    idlFactory,
    wasm,
    arg: encodeInitArg(),
    // Below 2^53, where PicJS's numeric balance is exact.
    cycles: 100_000_000_000_000n,
  });
  actor.setIdentity(Ed25519KeyIdentity.generate());
  // PicJS types the balance as a bigint but parses numbers below 2^53 as numbers.
  const balance = async (): Promise<number> => Number(await pic.getCyclesBalance(canisterId));
  const before = await balance();
  await timedUpload(pic, new UploadClient(actor), payload(size, 44), 'cycles');
  const charged = before - (await balance());
  return (charged * 1e9) / size;
}

async function timedUpload(
  pic: PocketIc,
  client: UploadClient,
  data: Uint8Array,
  name: string,
): Promise<number> {
  const result = await uploadFile(client, bytesSource(data), {
    name,
    lanes: 1,
    sha256: sha256(data),
    sleep: () => pic.tick(),
  });
  return result.uploadSeconds * 1000;
}

/** The upload canister in process, warmed up by one session of `chunks` chunks (V8 tiers up hot Wasm later). */
async function warmedCanister(wasm: Uint8Array) {
  const h = new Harness();
  const id = h.deploy(wasm, encodeInitArg());
  const alice = Principal.fromUint8Array(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
  const client = new UploadClient(simActor(h, id, alice));
  const chunks = 4;
  const data = payload(chunks * CHUNK, 7);
  const begin = () =>
    client.begin({
      name: 'x',
      size: BigInt(data.length),
      chunk_size: CHUNK,
      content_type: '',
      expected_sha256: [],
    });
  const warm = await begin();
  for (let i = 0; i < chunks; i++) await client.putChunk(warm, i, data.subarray(i * CHUNK, (i + 1) * CHUNK));
  return { h, id, alice, client, chunks, data, begin };
}

/**
 * The ceiling: put_chunk on the canister's instance, called directly (no queues, rollback,
 * Candid or HTTP around it). Warmed up first: V8 runs Wasm with its baseline compiler and
 * optimizes hot functions later, so the instance hashes a few chunks before it is timed.
 * `time(n)` times the next `n` chunks of one session.
 */
async function bareCeiling(wasm: Uint8Array): Promise<{ time: (n: number) => number[] }> {
  const { h, id, alice, chunks, data, begin } = await warmedCanister(wasm);

  const bare = await begin();
  const canister = replicaOf(h.ic).findCanister(id)!;
  const runtime = canister.runtime!;
  const argTypes = [IDL.Vec(IDL.Nat8), IDL.Nat32, IDL.Vec(IDL.Nat8)];
  let next = 0;
  const time = (n: number): number[] => {
    const times: number[] = [];
    for (let k = 0; k < n; k++, next++) {
      const i = next % chunks;
      const arg = IDL.encode(argTypes, [bare, i, data.subarray(i * CHUNK, (i + 1) * CHUNK)]);
      const ctx = newMessageContext({
        kind: 'U',
        time: replicaOf(h.ic).roundTime,
        globalTimer: canister.globalTimer,
        caller: alice.toUint8Array(),
        arg,
      });
      const t0 = performance.now();
      const error = invoke(runtime, ctx, { kind: 'export', name: 'canister_update put_chunk' });
      times.push(performance.now() - t0);
      if (error || ctx.response?.status !== 'replied')
        throw new Error(`bare put_chunk failed: ${JSON.stringify(error ?? ctx.response)}`);
    }
    return times;
  };
  return { time };
}

export async function uploadSuite(results: Results): Promise<void> {
  const { wasm } = await buildUploadCanister();
  const ceiling = await bareCeiling(wasm);
  let bareTimes: number[] = [];
  const { server, pic } = await startPic();
  try {
    for (const size of [1, 4, 21, 100]) {
      const client = await setup(pic, wasm);
      // The single upload and its ceiling are timed back to back (two bare chunks before, two
      // after), so that a machine whose load changes during the run affects both alike.
      if (size === 21) bareTimes = ceiling.time(2);
      const ms = await timedUpload(pic, client, payload(size * MB, size), `f${size}`);
      if (size === 21) bareTimes.push(...ceiling.time(2));
      results[`upload.sizes.${size}mb.mb_per_s`] = { value: mbPerSecond(size * MB, ms), unit: 'MB/s' };
      if (size === 21)
        results['upload.single.mb_per_s'] = {
          value: mbPerSecond(size * MB, ms),
          unit: 'MB/s',
          note: '21 MB, one lane, PicJS → icsim',
        };
    }

    results['upload.cycles_per_gb'] = {
      value: (await cyclesPerGb(pic, wasm)) / 1e12,
      unit: 'T cycles',
      note: 'charged to the upload canister per GB uploaded (Normal schedule, 13 nodes; 4 MB measured)',
    };

    const files = [0, 1, 2, 3].map((i) => payload((21 * MB) / 4, 100 + i));
    const seqClient = await setup(pic, wasm);
    let t = performance.now();
    for (const [i, f] of files.entries()) await timedUpload(pic, seqClient, f, `s${i}`);
    const sequential = performance.now() - t;
    const parClient = await setup(pic, wasm);
    t = performance.now();
    await Promise.all(files.map((f, i) => timedUpload(pic, parClient, f, `p${i}`)));
    const parallel = performance.now() - t;
    results['upload.sequential.mb_per_s'] = {
      value: mbPerSecond(21 * MB, sequential),
      unit: 'MB/s',
      note: '4 files of 5.25 MB, one after another',
    };
    results['upload.parallel.mb_per_s'] = {
      value: mbPerSecond(21 * MB, parallel),
      unit: 'MB/s',
      note: 'the same 4 files over 4 lanes at once',
    };
    results['upload.parallel.efficiency'] = {
      value: sequential / parallel,
      unit: '×',
      note: 'T(sequential) ÷ T(parallel); target ≥ 1',
    };
  } finally {
    await pic.tearDown();
    await server.stop();
  }

  // The same put_chunk through the in-process simulator (queues, rollback journals, Candid).
  const { chunks, data, client, begin } = await warmedCanister(wasm);
  const viaSim = await begin();
  const simTimes: number[] = [];
  for (let i = 0; i < chunks; i++) {
    const t0 = performance.now();
    await client.putChunk(viaSim, i, data.subarray(i * CHUNK, (i + 1) * CHUNK));
    simTimes.push(performance.now() - t0);
  }

  const ceilingMbPerS = mbPerSecond(CHUNK, median(bareTimes));
  results['limits.put_chunk_bare_mb_per_s'] = {
    value: ceilingMbPerS,
    unit: 'MB/s',
    note: '1.9 MB put_chunk on the bare instance (QuickJS SHA-256 inside)',
  };
  results['upload.put_chunk_inprocess_mb_per_s'] = {
    value: mbPerSecond(CHUNK, median(simTimes)),
    unit: 'MB/s',
    note: 'the same through the in-process simulator',
  };
  results['upload.single.ratio_to_ceiling'] = {
    value: results['upload.single.mb_per_s'].value / ceilingMbPerS,
    unit: '×',
    note: 'PicJS single upload ÷ bare put_chunk; target ≥ 0.9',
  };
}
