/**
 * Server-level PocketIC routes: `/instances` (list, create), `/blobstore`,
 * `/status`, `/read_graph`, `/prune_graph` (the HTTP gateway routes live in
 * `http-interface-routes.ts`).
 * Sources: `rs/pocket_ic_server/src/main.rs` (router), `state_api/routes.rs`
 * (`create_instance`, `handler_read_graph`, `create_http_gateway`),
 * docs/reference/picjs-protocol.md §4.1, §4.12, §4.15, §4.16.
 */
import { InstanceError } from '../errors.ts';
import type { InstanceConfig, Topology } from '../types.ts';
import { decodeInstanceConfig, UnsupportedConfig } from './codec.ts';
import type { Dialects } from './dialects/index.ts';
import type { CreateOptions } from './server.ts';
import { messageReply, ok, type Reply, type Route } from './http.ts';
import type { BlobStore, InstanceRegistry } from './state.ts';

/** A registered instance and its topology. */
export interface CreatedInstance {
  instanceId: number;
  topology: Topology;
}

export function serverRoutes(
  registry: InstanceRegistry,
  blobs: BlobStore,
  createInstance: (config: InstanceConfig, options: CreateOptions) => CreatedInstance,
  dialects: Dialects,
): Route[] {
  return [
    // `GET /status`: 200 with an empty body (`status()` in routes.rs).
    { method: 'GET', pattern: '/status', body: 'none', handler: () => ({ status: 200 }) },

    { method: 'GET', pattern: '/instances', body: 'none', handler: () => ok(registry.states()) },

    // `POST /instances` (§4.1): 201 `{"Created":{instance_id, topology, http_gateway_info}}`,
    // 400 `{"Error":{"message"}}` for a config that parses but cannot be served. The body and the
    // answer's topology are those of the client's protocol generation (`dialects/`).
    {
      method: 'POST',
      pattern: '/instances',
      body: 'json',
      handler: (ctx): Reply => {
        const plan = dialects.create(ctx.json());
        let decoded;
        try {
          decoded = decodeInstanceConfig(plan.body);
        } catch (e) {
          if (e instanceof UnsupportedConfig) return { status: 400, json: { Error: { message: e.message } } };
          throw e;
        }
        let created: CreatedInstance;
        try {
          created = createInstance(decoded.config, {
            autoProgressDelayMs: decoded.autoProgress?.artificialDelayMs,
            stateDir: decoded.stateDir,
            dialect: plan.dialect,
          });
        } catch (e) {
          if (e instanceof InstanceError) return { status: 400, json: { Error: { message: e.message } } };
          throw e;
        }
        dialects.register(created.instanceId, plan.dialect);
        return {
          status: 201,
          json: {
            Created: {
              instance_id: created.instanceId,
              topology: plan.topology(created.topology),
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

    // The result of an operation answered 202 once it is there, else 404 as `handler_read_graph`.
    {
      method: 'GET',
      pattern: '/read_graph/:state_label/:op_id',
      body: 'none',
      handler: (ctx) => {
        const { state_label: label, op_id: op } = ctx.params as { state_label: string; op_id: string };
        const found = registry.result(label, op);
        if (found)
          return { status: found.status, bytes: found.body, contentType: found.headers['content-type'] };
        return messageReply(404, `state_label / op_id not found: ${label} (op ${op})`);
      },
    },
    {
      method: 'DELETE',
      pattern: '/prune_graph/:state_label/:op_id',
      body: 'none',
      handler: (ctx) => {
        registry.prune(ctx.params.state_label!, ctx.params.op_id!);
        return ok(null);
      },
    },
  ];
}
