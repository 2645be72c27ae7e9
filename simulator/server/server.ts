/**
 * The PocketIC REST adapter on `node:http`: routing, body limits, error
 * mapping. It holds no replica behaviour; every route delegates to one
 * `Instance` method (see instance-routes.ts / server-routes.ts).
 *
 * Concurrency: the core is synchronous and Node runs one handler at a time,
 * so requests on an instance are serialized naturally and every answer is a
 * synchronous 200/201/4xx — never PocketIC's 202 (started) or 409 (busy).
 */
import {
  createServer,
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerResponse,
} from 'node:http';
import { InstanceError } from '../errors.ts';
import { BadRequest } from './codec.ts';
import type { InstanceFactory, ServerLogs } from './core.ts';
import {
  HttpError,
  instanceErrorStatus,
  makeContext,
  messageReply,
  readBody,
  Router,
  send,
  type Reply,
} from './http.ts';
import { createHttpInterfaceMount, type HttpInterfaceMount } from './http-interface-routes.ts';
import { instanceRoutes } from './instance-routes.ts';
import { serverRoutes } from './server-routes.ts';
import { BlobStore, InstanceRegistry } from './state.ts';

/**
 * Body limits. PocketIC itself disables axum's body limit
 * (`DefaultBodyLimit::disable()` in main.rs); we keep a generous one so a
 * runaway client gets a 413 instead of exhausting memory. The largest JSON
 * body PicJS sends is a ~2.7 MB `install_code` (1.85 MB wasm in base64).
 */
export const DEFAULT_JSON_BODY_LIMIT = 64 * 1024 * 1024;
export const DEFAULT_BLOB_BODY_LIMIT = 512 * 1024 * 1024;

export interface IcsimServerOptions {
  createInstance: InstanceFactory;
  logs?: ServerLogs;
  jsonBodyLimit?: number;
  blobBodyLimit?: number;
}

export interface IcsimServer {
  server: Server;
  /** The request handler of `server`, for a server created elsewhere (the CLI listens before the core loads). */
  listener: RequestListener;
  registry: InstanceRegistry;
  /** For the TTL: requests in flight and the time (ms) the last one started or finished. */
  activity: { inFlight: number; lastActivityMs: number };
  /** The IC HTTP interface: `/instances/{id}/api/...` and the `/http_gateway` ports. */
  httpInterface: HttpInterfaceMount;
}

const silentLogs: ServerLogs = { runtime() {}, canister() {} };

export function createIcsimServer(options: IcsimServerOptions): IcsimServer {
  const logs = options.logs ?? silentLogs;
  const jsonLimit = options.jsonBodyLimit ?? DEFAULT_JSON_BODY_LIMIT;
  const blobLimit = options.blobBodyLimit ?? DEFAULT_BLOB_BODY_LIMIT;
  const registry = new InstanceRegistry();
  const blobs = new BlobStore();
  const router = new Router();
  const activity = { inFlight: 0, lastActivityMs: Date.now() };
  const httpInterface = createHttpInterfaceMount(registry, activity, logs);
  const createInstance: InstanceFactory = (config) => {
    const instance = options.createInstance(config);
    httpInterface.attach(instance);
    return instance;
  };
  for (const route of [
    ...serverRoutes(registry, blobs, createInstance),
    ...instanceRoutes(registry, blobs),
  ]) {
    router.add(route);
  }

  function errorReply(e: unknown, path: string): Reply {
    if (e instanceof HttpError) return e.reply;
    if (e instanceof BadRequest) return messageReply(400, e.message);
    if (e instanceof InstanceError) return messageReply(instanceErrorStatus(e), e.message);
    const err = e instanceof Error ? e : new Error(String(e));
    logs.runtime(`icsim: internal error on ${path}: ${err.stack ?? err.message}`);
    return messageReply(500, `icsim internal error: ${err.message}`);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    let path: string;
    try {
      path = new URL(req.url ?? '/', 'http://localhost').pathname;
    } catch {
      path = req.url ?? '/';
    }
    if (await httpInterface.handle(req, res, method, path)) return;
    const match = router.match(method, path);
    if (match.kind !== 'found') {
      await readBody(req, 0); // drain, keep nothing
      if (match.kind === 'wrong-method') {
        send(
          res,
          messageReply(405, `method ${method} not allowed on ${path} (allowed: ${match.allowed.join(', ')})`),
          {
            allow: match.allowed.join(', '),
          },
        );
        return;
      }
      send(res, messageReply(404, notFoundMessage(method, path)));
      return;
    }
    const { route, params } = match;
    const limit = route.body === 'raw' ? blobLimit : jsonLimit;
    const body = await readBody(req, limit);
    if (body.kind === 'aborted') {
      res.destroy();
      return;
    }
    if (body.kind === 'too-large') {
      send(
        res,
        messageReply(
          413,
          `request body too large: ${body.received} bytes, icsim accepts at most ${limit} bytes on ${path}`,
        ),
      );
      return;
    }
    let reply: Reply;
    try {
      reply = route.handler(makeContext(params, req.headers, body.bytes));
    } catch (e) {
      reply = errorReply(e, path);
    }
    send(res, reply);
  }

  const listener: RequestListener = (req, res) => {
    activity.inFlight++;
    activity.lastActivityMs = Date.now();
    handle(req, res)
      .catch((e: unknown) => {
        if (!res.headersSent) send(res, errorReply(e, req.url ?? ''));
        else res.destroy();
      })
      .finally(() => {
        activity.inFlight--;
        activity.lastActivityMs = Date.now();
      });
  };
  const server = createServer(listener);
  server.on('close', () => httpInterface.closeAll());

  return { server, listener, registry, activity, httpInterface };
}

function notFoundMessage(method: string, path: string): string {
  return `not found: ${method} ${path} is not a PocketIC route served by icsim`;
}
