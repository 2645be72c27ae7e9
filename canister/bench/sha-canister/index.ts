// Benchmark canister: SHA-256 variants under QuickJS (Azle stable mode), the
// interpreter the upload canister really runs in. Driven by
// canister/bench/sha-quickjs.ts.
import { IDL, update } from 'azle';
import { sha256 as noble } from '@noble/hashes/sha2.js';

import { sha256 as shipped } from '../../src/sha256.ts';
import { type Compress, compressUnrolled8, digestWith, makeDataView, makeLoop } from '../sha-variants.ts';
import { compressFewerOps, compressFullUnroll, compressVar, compressVarFewerOps } from './full-unroll.ts';

const compressors: Record<string, Compress> = {
  'loop-plain': makeLoop(false),
  'loop-typed': makeLoop(true),
  dataview: makeDataView(),
  unrolled8: compressUnrolled8,
  'full-unroll': compressFullUnroll,
  'full-unroll-fewer-ops': compressFewerOps,
  'full-unroll-var': compressVar,
  'full-unroll-var-fewer-ops': compressVarFewerOps,
};

export default class {
  data = new Uint8Array(0);

  @update([IDL.Nat32])
  prepare(n: number): void {
    const d = new Uint8Array(n);
    for (let i = 0; i < n; i++) d[i] = (i * 2654435761) >>> 24;
    this.data = d;
  }

  @update([IDL.Text], IDL.Vec(IDL.Nat8))
  hash(variant: string): Uint8Array {
    if (variant === 'shipped') return shipped(this.data);
    if (variant === 'noble') return noble(this.data);
    if (variant === 'none') return new Uint8Array(32);
    const c = compressors[variant];
    if (c === undefined) throw new Error(`unknown variant ${variant}`);
    return digestWith(c, this.data);
  }
}
