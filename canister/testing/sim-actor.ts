/**
 * An UploadActor over the in-process simulator (simulator/testing/harness.ts):
 * Candid-encodes each call with the client's (generated) IDL factory, sends it as ingress
 * (update) or query, and decodes the reply. Lets the canister's own tests and
 * benchmarks drive the real Wasm in-process (the PicJS specs are in
 * conformance/upload/).
 */
import { IDL } from '@icp-sdk/core/candid';
import type { Principal } from '@icp-sdk/core/principal';

import { type Harness, replyOf } from '../../simulator/testing/harness.ts';
import { idlFactory, initArgTypes, type UploadActor } from '../client/client.ts';

const service = idlFactory({ IDL }) as IDL.ServiceClass;

export function encodeInitArg(sessionTtlNs?: bigint): Uint8Array {
  const value = sessionTtlNs === undefined ? [] : [{ session_ttl_ns: [sessionTtlNs] }];
  return IDL.encode(initArgTypes({ IDL }), [value]);
}

export function simActor(h: Harness, canisterId: Principal, sender: Principal): UploadActor {
  const methods: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
  for (const [name, func] of service._fields) {
    const isQuery = func.annotations.includes('query');
    methods[name] = async (...args: unknown[]) => {
      // Each call runs the canister synchronously; yielding a macrotask first lets the test
      // runner's worker answer its RPC between calls (an upload of many chunks would otherwise
      // block it past Vitest's 60 s "onTaskUpdate" deadline on a loaded machine).
      await new Promise<void>((resolve) => setImmediate(resolve));
      const arg = IDL.encode(func.argTypes, args);
      const outcome = isQuery
        ? h.query(canisterId, name, arg, sender)
        : h.update(canisterId, name, arg, sender);
      return IDL.decode(func.retTypes, replyOf(outcome))[0];
    };
  }
  return methods as unknown as UploadActor;
}
