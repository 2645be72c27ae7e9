/**
 * Instance-level PocketIC routes (`/instances/{id}/…`): each handler decodes
 * the body, calls one `Instance` method and encodes the result. Route list:
 * `instance_read_routes` / `instance_update_routes` / `instances_routes` in
 * `rs/pocket_ic_server/src/state_api/routes.rs`, plus the v9+ endpoints
 * listed in docs/reference/picjs-protocol.md §4.
 *
 * Errors thrown by the core (`InstanceError`) are mapped to `{"message"}` with
 * the status of their kind (`instanceErrorStatus` in http.ts) by the server
 * loop, as `run_operation` does.
 */
import {
  decodeAddCycles,
  decodeAutoProgress,
  decodeCanisterCall,
  decodeCanisterIdBody,
  decodeIngressStatusArgs,
  decodeMessageId,
  decodeMockHttpOutcall,
  decodeSetStableMemory,
  decodeSubnetIdBody,
  decodeTime,
  encodeCanisterResult,
  encodePendingHttpOutcalls,
  encodeSubmitResult,
  encodeTopology,
  principalToBase64,
  toBase64,
} from './codec.ts';
import { HttpError, ok, type Route, type RouteContext, type Reply, type SyncRoute } from './http.ts';
import type { Instance } from '../instance.ts';
import { extensionRoutes } from './extension-routes.ts';
import { faultRoutes } from './fault-routes.ts';

/**
 * The largest stable memory `get_stable_memory` returns: its base64 (4/3 of it) is one JSON string,
 * and V8 refuses strings over 2^29 − 24 characters (~512 MiB); 256 MiB leaves room for the copy.
 */
export const MAX_STABLE_MEMORY_DOWNLOAD = 256n * 1024n * 1024n;

/** Where `set_stable_memory` finds the blob it names (the server's blob store, copied to the worker). */
export interface BlobSource {
  bytes(hex: string): Uint8Array;
}

/**
 * The routes below `/instances/{id}`, with paths relative to it (`/read/get_time`). They run in
 * the instance's worker (`instance-worker.ts`); `DELETE /instances/{id}` is the main thread's.
 */
export function instanceRoutes(instance: () => Instance, blobs: BlobSource): SyncRoute[] {
  /** A route on the instance. */
  const on = (
    method: Route['method'],
    path: string,
    body: Route['body'],
    fn: (instance: Instance, ctx: RouteContext) => Reply,
  ): SyncRoute => ({ method, pattern: path, body, handler: (ctx) => fn(instance(), ctx) });

  return [
    // Topology: `/_/topology` (PicJS) and `/read/topology` (Rust client).
    on('GET', '/_/topology', 'none', (i) => ok(encodeTopology(i.getTopology()))),
    on('GET', '/read/topology', 'none', (i) => ok(encodeTopology(i.getTopology()))),

    // icsim's fault-injection extension (`/icsim/faults`, fault-routes.ts).
    ...faultRoutes(instance),

    // Time (§4.4, §4.5).
    on('GET', '/read/get_time', 'none', (i) => ok({ nanos_since_epoch: i.getTime() })),
    on('POST', '/update/set_time', 'json', (i, ctx) => {
      i.setTime(decodeTime(ctx.json()));
      return ok(null);
    }),
    on('POST', '/update/set_certified_time', 'json', (i, ctx) => {
      i.setCertifiedTime(decodeTime(ctx.json()));
      return ok(null);
    }),

    // One round on every subnet (§4.6). The body is `TickConfigs`; blockmaker settings are ignored.
    on('POST', '/update/tick', 'optional-json', (i, ctx) => {
      ctx.optionalJson();
      i.tick();
      return ok(null);
    }),

    // Calls (§4.7–§4.11).
    on('POST', '/read/query', 'json', (i, ctx) =>
      ok(encodeCanisterResult(i.query(decodeCanisterCall(ctx.json())), false)),
    ),
    on('POST', '/update/submit_ingress_message', 'json', (i, ctx) =>
      ok(encodeSubmitResult(i.submitIngress(decodeCanisterCall(ctx.json())))),
    ),
    on('POST', '/update/await_ingress_message', 'json', (i, ctx) => {
      const id = decodeMessageId(ctx.json());
      return ok(encodeCanisterResult(i.awaitIngress(id.messageId, id.effectivePrincipal), true));
    }),
    on('POST', '/read/ingress_status', 'json', (i, ctx) => {
      const args = decodeIngressStatusArgs(ctx.json());
      const outcome = i.ingressStatus(args.id.messageId, args.caller);
      return ok(outcome === undefined ? null : encodeCanisterResult(outcome, true));
    }),

    // Cycles and stable memory (§4.12).
    on('POST', '/read/get_cycles', 'json', (i, ctx) =>
      ok({ cycles: i.getCycles(decodeCanisterIdBody(ctx.json())) }),
    ),
    on('POST', '/update/add_cycles', 'json', (i, ctx) => {
      const { canisterId, amount } = decodeAddCycles(ctx.json());
      return ok({ cycles: i.addCycles(canisterId, amount) });
    }),
    on('POST', '/update/set_stable_memory', 'json', (i, ctx) => {
      const { canisterId, blobIdHex } = decodeSetStableMemory(ctx.json());
      i.setStableMemory(canisterId, blobs.bytes(blobIdHex));
      return ok(null);
    }),
    on('POST', '/read/get_stable_memory', 'json', (i, ctx) => {
      const canisterId = decodeCanisterIdBody(ctx.json());
      const size = i.getStableMemorySize(canisterId);
      if (size > MAX_STABLE_MEMORY_DOWNLOAD) {
        throw new HttpError(
          413,
          `stable memory of ${canisterId.toText()} is ${size} bytes; icsim answers get_stable_memory up to ` +
            `${MAX_STABLE_MEMORY_DOWNLOAD} bytes (its base64 JSON string must stay under V8's 512 MiB string limit)`,
        );
      }
      return ok({ blob: toBase64(i.getStableMemory(canisterId)) });
    }),

    // Subnets, controllers, keys (§4.13).
    on('POST', '/read/get_subnet', 'json', (i, ctx) => {
      const subnet = i.getSubnet(decodeCanisterIdBody(ctx.json()));
      return ok(subnet === undefined ? null : { subnet_id: principalToBase64(subnet) });
    }),
    on('POST', '/read/get_controllers', 'json', (i, ctx) =>
      ok(
        i
          .getControllers(decodeCanisterIdBody(ctx.json()))
          .map((p) => ({ principal_id: principalToBase64(p) })),
      ),
    ),
    // `Vec<u8>` without the base64 annotation: a JSON array of numbers (`handler_pub_key`).
    on('POST', '/read/pub_key', 'json', (i, ctx) =>
      ok(Array.from(i.getPubKey(decodeSubnetIdBody(ctx.json())))),
    ),

    // HTTPS outcalls (§4.14).
    on('GET', '/read/get_canister_http', 'none', (i) =>
      ok(encodePendingHttpOutcalls(i.getPendingHttpOutcalls())),
    ),
    on('POST', '/update/mock_canister_http', 'json', (i, ctx) => {
      const m = decodeMockHttpOutcall(ctx.json());
      i.mockHttpOutcall(m.subnetId, m.requestId, m.response, m.additional);
      return ok(null);
    }),

    // Live mode (§4.15).
    on('GET', '/auto_progress', 'none', (i) => ok(i.isAutoProgress())),
    on('POST', '/auto_progress', 'optional-json', (i, ctx) => {
      i.startAutoProgress(decodeAutoProgress(ctx.optionalJson()));
      return ok(null);
    }),
    on('POST', '/stop_progress', 'optional-json', (i) => {
      i.stopAutoProgress();
      return ok(null);
    }),

    // icsim's own operations (`/icsim/…`, extension-routes.ts).
    ...extensionRoutes(instance),
  ];
}
