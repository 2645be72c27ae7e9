/**
 * Server-level PocketIC routes: `/instances` (list, create), `/blobstore`,
 * `/status`, `/read_graph`, `/prune_graph` (the HTTP gateway routes live in
 * `http-interface-routes.ts`).
 * Sources: `rs/pocket_ic_server/src/main.rs` (router), `state_api/routes.rs`
 * (`create_instance`, `handler_read_graph`, `create_http_gateway`),
 * docs/reference/picjs-protocol.md §4.1, §4.12, §4.15, §4.16.
 */
import { InstanceError } from '../errors.ts';
import { decodeInstanceConfig, encodeTopology, UnsupportedConfig } from './codec.ts';
import type { InstanceFactory } from './core.ts';
import { messageReply, ok, type Route } from './http.ts';
import type { BlobStore, InstanceRegistry } from './state.ts';

export function serverRoutes(
  registry: InstanceRegistry,
  blobs: BlobStore,
  createInstance: InstanceFactory,
): Route[] {
  return [
    // `GET /status`: 200 with an empty body (`status()` in routes.rs).
    { method: 'GET', pattern: '/status', body: 'none', handler: () => ({ status: 200 }) },

    { method: 'GET', pattern: '/instances', body: 'none', handler: () => ok(registry.states()) },

    // `POST /instances` (§4.1): 201 `{"Created":{instance_id, topology, http_gateway_info}}`,
    // 400 `{"Error":{"message"}}` for a config that parses but cannot be served.
    {
      method: 'POST',
      pattern: '/instances',
      body: 'json',
      handler: (ctx) => {
        const createError = (message: string) => ({ status: 400, json: { Error: { message } } });
        let instance;
        let autoProgress;
        try {
          const decoded = decodeInstanceConfig(ctx.json());
          autoProgress = decoded.autoProgress;
          instance = createInstance(decoded.config);
        } catch (e) {
          if (e instanceof UnsupportedConfig || e instanceof InstanceError) return createError(e.message);
          throw e;
        }
        const instanceId = registry.add(instance);
        if (autoProgress) instance.startAutoProgress(autoProgress.artificialDelayMs);
        return {
          status: 201,
          json: {
            Created: {
              instance_id: instanceId,
              topology: encodeTopology(instance.getTopology()),
              http_gateway_info: null,
            },
          },
        };
      },
    },

    // `POST /blobstore`: raw body, optional `Content-Encoding: gzip`; answers the lowercase hex
    // SHA-256 as text (`set_blob_store_entry` in main.rs).
    {
      method: 'POST',
      pattern: '/blobstore',
      body: 'raw',
      handler: (ctx) => {
        const encoding = ctx.headers['content-encoding'];
        let gzip = false;
        if (encoding !== undefined && encoding !== '') {
          if (encoding.toLowerCase() !== 'gzip') {
            return {
              status: 400,
              text: `Bad encoding: Only 'gzip' content encoding is supported, got '${encoding}'`,
            };
          }
          gzip = true;
        }
        return { status: 200, text: blobs.put(ctx.body, gzip) };
      },
    },
    {
      method: 'GET',
      pattern: '/blobstore/:id',
      body: 'none',
      handler: (ctx) => {
        const blob = blobs.raw(ctx.params.id!);
        if (!blob) return { status: 404, text: 'Blob not found' };
        return { status: 200, bytes: blob.data, contentType: 'application/octet-stream' };
      },
    },

    // icsim answers every operation synchronously (never 202), so there is never a stored
    // result: 404 as `handler_read_graph` answers for an unknown (state_label, op_id).
    {
      method: 'GET',
      pattern: '/read_graph/:state_label/:op_id',
      body: 'none',
      handler: (ctx) =>
        messageReply(
          404,
          `state_label / op_id not found: ${ctx.params.state_label} (op ${ctx.params.op_id})`,
        ),
    },
    {
      method: 'DELETE',
      pattern: '/prune_graph/:state_label/:op_id',
      body: 'none',
      handler: () => ok(null),
    },
  ];
}
