// Measures SHA-256 block-compression variants written for an interpreter.
//
//   node --jitless canister/bench/sha256-variants.ts   (proxy for QuickJS)
//   node canister/bench/sha256-variants.ts             (JIT, for contrast)
//
// Every variant is checked against @noble/hashes before it is timed. Under
// --jitless V8 runs its Ignition interpreter, which ranks variants differently
// from QuickJS; canister/bench/sha-quickjs.ts measures the real thing.

import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';

import { sha256 as shipped } from '../src/sha256.ts';
import { compressUnrolled8, digestWith, makeDataView, makeFullUnroll, makeLoop } from './sha-variants.ts';

type Variant = { name: string; hash: (d: Uint8Array) => Uint8Array };

const variants: Variant[] = [
  { name: 'loop (plain arrays)', hash: (d) => digestWith(makeLoop(false), d) },
  { name: 'loop (Int32Array)', hash: (d) => digestWith(makeLoop(true), d) },
  { name: 'loop + DataView reads', hash: (d) => digestWith(makeDataView(), d) },
  { name: 'unrolled8', hash: (d) => digestWith(compressUnrolled8, d) },
  { name: 'fully unrolled, let', hash: (d) => digestWith(makeFullUnroll(), d) },
  {
    name: 'fully unrolled, var, fewer ops',
    hash: (d) => digestWith(makeFullUnroll({ useVar: true, fewerOps: true }), d),
  },
  { name: 'shipped (src/sha256.ts)', hash: shipped },
  { name: '@noble/hashes sha256', hash: (d) => nobleSha256(d) },
];

const jitless = process.execArgv.includes('--jitless');
const size = Number(process.env.SHA_BENCH_BYTES ?? (jitless ? 2 * 1024 * 1024 : 32 * 1024 * 1024));
const data = new Uint8Array(size);
for (let i = 0; i < size; i++) data[i] = (i * 2654435761) >>> 24;
const check = data.subarray(0, 100_003);
const expected = Buffer.from(nobleSha256(check)).toString('hex');

console.log(
  `SHA-256 variants, ${(size / 1048576).toFixed(1)} MiB per run, node ${process.version}${jitless ? ' --jitless' : ''}`,
);
for (const variant of variants) {
  if (Buffer.from(variant.hash(check)).toString('hex') !== expected) {
    throw new Error(`${variant.name} computes a wrong digest`);
  }
  variant.hash(data.subarray(0, 65536)); // warm-up
  const runs: number[] = [];
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    variant.hash(data);
    runs.push(performance.now() - t0);
  }
  const best = Math.min(...runs);
  const mbps = size / 1e6 / (best / 1000);
  const nsPerByte = (best * 1e6) / size;
  console.log(
    `${variant.name.padEnd(36)} ${mbps.toFixed(2).padStart(8)} MB/s  ${nsPerByte.toFixed(1).padStart(7)} ns/byte`,
  );
}
