// SHA-256 variants and the upload path measured under QuickJS, i.e. inside
// Azle stable-mode canisters run by the in-process simulator (Node's Wasm
// engine executes QuickJS compiled to Wasm). The simulator meters no
// instructions, so the numbers are wall time per MB: good for comparing
// variants, not an IC cycle cost.
//   node canister/bench/sha-quickjs.ts [MiB]
import { IDL } from '@icp-sdk/core/candid';
import { Principal } from '@icp-sdk/core/principal';
import { sha256 } from '@noble/hashes/sha2.js';

import { buildAzleCanister } from '../../fixtures/azle.ts';
import { writeBenchVariants } from './gen-full-unroll.ts';
import { Harness, replyOf } from '../../simulator/testing/harness.ts';
import { buildUploadCanister } from '../build.ts';
import { UploadClient } from '../client/client.ts';
import { encodeInitArg, simActor } from '../testing/sim-actor.ts';

const mib = Number(process.argv[2] ?? 1);
const size = Math.round(mib * 1024 * 1024);
const h = new Harness();

writeBenchVariants();
const shaBench = await buildAzleCanister({
  name: 'sha_bench',
  main: new URL('./sha-canister/index.ts', import.meta.url).pathname,
  extraSources: [
    new URL('../src', import.meta.url).pathname,
    new URL('./sha-variants.ts', import.meta.url).pathname,
  ],
});
const id = h.deploy(shaBench.wasm, IDL.encode([], []));
replyOf(h.update(id, 'prepare', IDL.encode([IDL.Nat32], [size])));
const data = new Uint8Array(size);
for (let i = 0; i < size; i++) data[i] = (i * 2654435761) >>> 24;
const expected = Buffer.from(sha256(data)).toString('hex');

const time = (fn: () => void, runs = 3): number => {
  let best = Infinity;
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    fn();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
};

console.log(
  `SHA-256 under QuickJS (Azle 0.33 stable template on the in-process simulator), ${mib} MiB per call`,
);
const base = time(() => replyOf(h.update(id, 'hash', IDL.encode([IDL.Text], ['none']))));
console.log(`${'empty call (overhead)'.padEnd(26)} ${base.toFixed(1).padStart(8)} ms`);
for (const variant of [
  'loop-plain',
  'loop-typed',
  'dataview',
  'unrolled8',
  'full-unroll',
  'full-unroll-fewer-ops',
  'full-unroll-var',
  'full-unroll-var-fewer-ops',
  'shipped',
  'noble',
]) {
  let digest = '';
  const ms = time(() => {
    const reply = replyOf(h.update(id, 'hash', IDL.encode([IDL.Text], [variant])));
    digest = Buffer.from(IDL.decode([IDL.Vec(IDL.Nat8)], reply)[0] as Uint8Array).toString('hex');
  });
  if (digest !== expected) throw new Error(`${variant}: wrong digest`);
  const net = ms - base;
  console.log(
    `${variant.padEnd(26)} ${ms.toFixed(1).padStart(8)} ms  ${(size / 1e6 / (net / 1000)).toFixed(2).padStart(6)} MB/s  ${((net * 1e6) / size).toFixed(0).padStart(6)} ns/byte`,
  );
}

// The whole put_chunk path of the upload canister: 1.9 MB chunks vs tiny ones.
const upload = await buildUploadCanister();
const up = h.deploy(upload.wasm, encodeInitArg());
const client = new UploadClient(simActor(h, up, Principal.fromUint8Array(new Uint8Array([1, 2, 3]))));
const chunk = 1_900_000;
const chunks = 4;
const file = new Uint8Array(chunk * chunks).map((_, i) => (i * 31) & 0xff);
const s = await client.begin({
  name: 'b',
  size: BigInt(file.length),
  chunk_size: chunk,
  content_type: '',
  expected_sha256: [],
});
const perChunk: number[] = [];
for (let i = 0; i < chunks; i++) {
  const t0 = performance.now();
  await client.putChunk(s, i, file.subarray(i * chunk, (i + 1) * chunk));
  perChunk.push(performance.now() - t0);
}
const t0 = performance.now();
await client.finish(s, sha256(file));
const finishMs = performance.now() - t0;
const tiny = await client.begin({
  name: 't',
  size: 1n,
  chunk_size: 1,
  content_type: '',
  expected_sha256: [],
});
const tinyMs = time(() => void client.putChunk(tiny, 0, new Uint8Array(1)), 1);
const best = Math.min(...perChunk);
console.log(
  `upload put_chunk 1.9 MB: best ${best.toFixed(0)} ms (${(chunk / 1e6 / (best / 1000)).toFixed(2)} MB/s), all ${perChunk.map((x) => x.toFixed(0)).join('/')} ms; 1-byte put_chunk ${tinyMs.toFixed(1)} ms; finish ${finishMs.toFixed(1)} ms`,
);
