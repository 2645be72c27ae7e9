/**
 * The PocketIC REST adapter on `node:http`: routing, body limits, error
 * mapping. It holds no replica behaviour: server-level routes act on the
 * registry and blob store, and every route below `/instances/{id}` is
 * forwarded to the instance's worker thread (`instance-host.ts`), which runs
 * it against its `Instance`. The main thread therefore always answers: a
 * canister computing for minutes stalls only its own instance.
 */
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import type { InstanceConfig } from '../types.ts';
import { checkAutoProgressDelay, InstanceError } from '../errors.ts';
import { writeNewLog, type CreateRecord } from '../persist/records.ts';
import { checkLog, instanceLogIn, ServerStateDir } from '../persist/state-dir.ts';
import { planSubnets, topologyOf } from '../topology.ts';
import { decodeSetStableMemory, parseJsonText, stringifyJson } from './codec.ts';
import { Dialects } from './dialects/index.ts';
import type { ServerLogs } from './core.ts';
import {
  errorReply,
  makeContext,
  messageReply,
  readBody,
  Router,
  send,
  sendWire,
  type Reply,
  type Route,
  type WireResponse,
} from './http.ts';
import { createServer } from './node-builtins.ts';
import { createHttpInterfaceMount, type HttpInterfaceMount } from './http-interface-routes.ts';
import type { BlobEntry } from './instance-endpoint.ts';
import { DEFAULT_SYNC_WAIT_MS, WorkerHost } from './instance-host.ts';
import type { WorkerPool } from './worker-pool.ts';
import { instanceRoutes } from './instance-routes.ts';
import { refuseHost, refuseOrigin, type OriginPolicy } from './origin.ts';
import { serverRoutes, type CreatedInstance } from './server-routes.ts';
import { BlobStore, InstanceRegistry } from './state.ts';

/**
 * Body limits. PocketIC itself disables axum's body limit
 * (`DefaultBodyLimit::disable()` in main.rs); we keep a generous one so a
 * runaway client gets a 413 instead of exhausting memory. The largest JSON
 * body PicJS sends is a ~2.7 MB `install_code` (1.85 MB wasm in base64).
 */
export const DEFAULT_JSON_BODY_LIMIT = 64 * 1024 * 1024;
export const DEFAULT_BLOB_BODY_LIMIT = 512 * 1024 * 1024;

/** The request header with which a client sets the sync wait (`TIMEOUT_HEADER_NAME` in routes.rs). */
const TIMEOUT_HEADER = 'processing-timeout-ms';

export interface IcsimServerOptions {
  /** Host names to serve besides loopback ones (`--allowed-host`, the `--ip-addr` address). */
  allowedHosts?: readonly string[];
  /** Where instances run: the CLI creates it before this module loads, so a worker warms up meanwhile. */
  pool: WorkerPool;
  logs?: ServerLogs;
  /** Started the way only clients of PocketIC ≤ v6 start it (`--pid`): undecided instances speak v6. */
  legacyServer?: boolean;
  jsonBodyLimit?: number;
  blobBodyLimit?: number;
  /** `--state-dir`: every instance is kept there, and those it holds are resumed (`simulator/persist/`). */
  stateDir?: string;
}

/** How `createInstance` creates an instance besides its config. */
export interface CreateOptions {
  autoProgressDelayMs?: number;
  /** PocketIC's `state_dir`: the instance's state is kept there, and resumed from it when it holds one. */
  stateDir?: string;
  /** The REST protocol generation of its client, kept with a persisted instance. */
  dialect?: string;
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
  /**
   * Registers a new instance and starts creating it in a worker.
   * @throws InstanceError `BadConfig` or `InvalidAutoProgressDelay` for a config the core refuses,
   *   or a `state_dir` that cannot be used.
   */
  createInstance(config: InstanceConfig, options?: CreateOptions): CreatedInstance;
  /** The ids a `--state-dir` held and the server resumed, in order. */
  restoredIds: number[];
  /** Ends every worker (server shutdown). */
  close(): void;
}

const silentLogs: ServerLogs = { runtime() {} };

/** Routes answered on the main thread carry this handler; instance routes are forwarded. */
const FORWARDED = (): Reply => {
  throw new Error('forwarded routes run in the instance worker');
};

export function createIcsimServer(options: IcsimServerOptions): IcsimServer {
  const logs = options.logs ?? silentLogs;
  const jsonLimit = options.jsonBodyLimit ?? DEFAULT_JSON_BODY_LIMIT;
  const blobLimit = options.blobBodyLimit ?? DEFAULT_BLOB_BODY_LIMIT;
  const { pool } = options;
  const registry = new InstanceRegistry();
  const blobs = new BlobStore();
  const router = new Router();
  const activity = { inFlight: 0, lastActivityMs: Date.now() };
  const policy: OriginPolicy = { allowedHosts: (options.allowedHosts ?? []).map((h) => h.toLowerCase()) };
  const httpInterface = createHttpInterfaceMount(registry, activity, logs, policy);

  const dialects = new Dialects(options.legacyServer);
  /** The logs of the persisted instances that exist, by id: one instance per log. */
  const openLogs = new Map<number, string>();
  const stateDir = options.stateDir !== undefined ? new ServerStateDir(options.stateDir) : undefined;
  const restoredIds: number[] = [];
  for (const slot of stateDir?.restore() ?? []) {
    if (slot.state === 'deleted') registry.addDeleted();
    else if (slot.state === 'broken') {
      const message = `instance ${slot.id} could not be restored from ${stateDir!.root}: ${slot.message}`;
      logs.runtime(`icsim: ${message}`);
      registry.addBroken(message);
    } else {
      const id = registry.add(WorkerHost.open(pool, slot.log, true));
      openLogs.set(id, slot.log);
      if (slot.create.dialect !== undefined)
        dialects.register(id, slot.create.dialect as Parameters<Dialects['register']>[1]);
      restoredIds.push(id);
    }
  }

  function createInstance(config: InstanceConfig, opts: CreateOptions = {}): CreatedInstance {
    let create: CreateRecord = {
      kind: 'create',
      config,
      autoProgressDelayMs: opts.autoProgressDelayMs,
      dialect: opts.dialect,
    };
    let log: string | undefined;
    let resumed = false;
    if (opts.stateDir !== undefined) {
      // PocketIC resumes an instance whose state_dir holds a state, with that state's topology.
      try {
        const found = instanceLogIn(opts.stateDir);
        log = found.log;
        for (const [id, open] of openLogs)
          if (open === log) throw new Error(`state_dir ${opts.stateDir} is in use by instance ${id}`);
        if (found.exists) {
          create = { ...checkLog(log), dialect: opts.dialect };
          resumed = true;
        }
      } catch (e) {
        throw new InstanceError('BadConfig', (e as Error).message);
      }
    }
    // Validated and laid out here, so that the answer does not wait for the instance's worker.
    const topology = topologyOf(planSubnets(create.config));
    if (create.autoProgressDelayMs !== undefined) checkAutoProgressDelay(create.autoProgressDelayMs);
    const id = registry.nextId;
    log ??= stateDir?.logFor(id);
    if (log === undefined) {
      registry.add(WorkerHost.start(pool, config, opts.autoProgressDelayMs));
      return { instanceId: id, topology };
    }
    try {
      // On disk before the answer: an acknowledged instance survives a crash.
      if (!resumed) writeNewLog(log, create);
      if (stateDir && log !== stateDir.logFor(id)) stateDir.link(id, log);
    } catch (e) {
      throw new InstanceError(
        'BadConfig',
        `cannot write the instance's state to ${log}: ${(e as Error).message}`,
      );
    }
    registry.add(WorkerHost.open(pool, log));
    openLogs.set(id, log);
    return { instanceId: id, topology };
  }

  for (const route of serverRoutes(registry, blobs, createInstance, dialects)) router.add(route);
  router.add({
    method: 'DELETE',
    pattern: '/instances/:id',
    body: 'none',
    handler: async (ctx) => {
      await registry.delete(ctx.params.id!);
      dialects.forget(ctx.params.id!);
      const id = registry.parseId(ctx.params.id!);
      openLogs.delete(id);
      // The id stays taken after a restart; a REST state_dir keeps its state (PocketIC's semantics).
      stateDir?.markDeleted(id);
      return { status: 200 };
    },
  });
  // Servers before v8 ran an update call in one request (`@hadronous/pic` ≤ 0.11 `updateCall`):
  // here a submit and an await, answered in the old result shape.
  router.add({
    method: 'POST',
    pattern: '/instances/:id/update/execute_ingress_message',
    body: 'json',
    handler: async (ctx) => {
      const id = ctx.params.id!;
      const host = registry.get(id);
      const dialect = dialects.of(id, '/update/execute_ingress_message', ctx.body.length);
      const options = (name: string) => ({
        name,
        retryIfBusy: false,
        syncWaitMs: syncWait(ctx.headers[TIMEOUT_HEADER]),
      });
      const submitPath = '/update/submit_ingress_message';
      const submitted = await host.operate(
        { method: 'POST', path: submitPath, headers: ctx.headers, body: ctx.body },
        options('execute_ingress_message'),
      );
      const submit = submitted.status === 200 ? parseJsonText(submitted.body) : undefined;
      const ok =
        submit !== null && typeof submit === 'object' && !Array.isArray(submit) ? submit.Ok : undefined;
      if (ok === undefined) return wireReply(dialects.answer(dialect, submitPath, submitted));
      const awaitPath = '/update/await_ingress_message';
      const awaited = await host.operate(
        {
          method: 'POST',
          path: awaitPath,
          headers: { ...ctx.headers, 'content-type': 'application/json' },
          body: Buffer.from(stringifyJson(ok), 'utf8'),
        },
        options('execute_ingress_message'),
      );
      return wireReply(dialects.answer(dialect, awaitPath, awaited));
    },
  });
  // The instance routes' shapes (paths, methods, body kinds) route and limit requests here; their
  // handlers run in the worker.
  const unreachable = (): never => {
    throw new Error('instance routes run in the instance worker');
  };
  for (const route of instanceRoutes(unreachable, { bytes: unreachable })) {
    router.add({ ...route, pattern: `/instances/:id${route.pattern}`, handler: FORWARDED });
  }

  /** Copies of the blobs a request names, for the worker (`set_stable_memory`). */
  function blobsFor(path: string, body: Uint8Array): BlobEntry[] {
    if (!path.endsWith('/update/set_stable_memory')) return [];
    try {
      const { blobIdHex } = decodeSetStableMemory(parseJsonText(body));
      const blob = blobs.raw(blobIdHex);
      return blob ? [{ hex: blobIdHex, ...blob }] : [];
    } catch {
      return []; // the worker decodes the body again and answers the error
    }
  }

  async function forward(
    route: Route,
    params: Record<string, string>,
    req: IncomingMessage,
    body: Uint8Array,
  ) {
    const host = registry.get(params.id!);
    const path = route.pattern.slice('/instances/:id'.length);
    const dialect = dialects.of(params.id!, path, body.length);
    const wire = await host.operate(
      { method: route.method, path, headers: req.headers, body },
      {
        name: path.split('/').filter(Boolean).join('_') || 'instance',
        // PocketIC's `retry_if_busy`: reading the topology waits instead of answering 409.
        retryIfBusy: path.endsWith('/topology'),
        syncWaitMs: syncWait(req.headers[TIMEOUT_HEADER]),
        blobs: blobsFor(path, body),
      },
    );
    return dialects.answer(dialect, path, wire);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    let path: string;
    try {
      path = new URL(req.url ?? '/', 'http://localhost').pathname;
    } catch {
      path = req.url ?? '/';
    }
    const foreignHost = refuseHost(req.headers, policy);
    if (foreignHost) {
      await readBody(req, 0);
      send(res, messageReply(403, foreignHost));
      return;
    }
    if (await httpInterface.handle(req, res, method, path)) return;
    const crossOrigin = refuseOrigin(req.headers, policy);
    if (crossOrigin) {
      await readBody(req, 0);
      send(res, messageReply(403, crossOrigin));
      return;
    }
    const match = router.match(method, path);
    if (match.kind !== 'found') {
      await readBody(req, 0); // drain, keep nothing
      if (match.kind === 'wrong-method') {
        send(
          res,
          messageReply(405, `method ${method} not allowed on ${path} (allowed: ${match.allowed.join(', ')})`),
          { allow: match.allowed.join(', ') },
        );
        return;
      }
      send(res, messageReply(404, notFoundMessage(method, path)));
      return;
    }
    const { route, params } = match;
    // axum's `Json` extractor (PocketIC): a JSON route takes only `application/json` bodies, which
    // also keeps out the text/plain and form bodies a web page can send without a preflight.
    if ((route.body === 'json' || route.body === 'optional-json') && !isJson(req.headers['content-type'])) {
      const body = await readBody(req, jsonLimit);
      if (body.kind !== 'ok' || body.bytes.length > 0) {
        if (body.kind === 'aborted') res.destroy();
        else send(res, messageReply(415, 'Expected request with `Content-Type: application/json`'));
        return;
      }
      await dispatch(route, params, req, res, path, body.bytes);
      return;
    }
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
    await dispatch(route, params, req, res, path, body.bytes);
  }

  async function dispatch(
    route: Route,
    params: Record<string, string>,
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    body: Uint8Array,
  ): Promise<void> {
    try {
      if (route.handler === FORWARDED) sendWire(res, await forward(route, params, req, body));
      else send(res, await route.handler(makeContext(params, req.headers, body)));
    } catch (e) {
      send(res, errorReply(e, path, logs.runtime));
    }
  }

  const listener: RequestListener = (req, res) => {
    activity.inFlight++;
    activity.lastActivityMs = Date.now();
    handle(req, res)
      .catch((e: unknown) => {
        if (!res.headersSent) send(res, errorReply(e, req.url ?? '', logs.runtime));
        else res.destroy();
      })
      .finally(() => {
        activity.inFlight--;
        activity.lastActivityMs = Date.now();
      });
  };
  const server = createServer(listener);
  server.on('close', () => httpInterface.closeAll());

  return {
    server,
    listener,
    registry,
    activity,
    httpInterface,
    createInstance,
    restoredIds,
    close() {
      httpInterface.closeAll();
      pool.terminateAll();
    },
  };
}

/** The sync wait a request asks for (`processing-timeout-ms`), else PocketIC's default. */
function syncWait(header: string | string[] | undefined): number {
  const timeout = Number(header);
  return Number.isSafeInteger(timeout) && timeout >= 0 ? timeout : DEFAULT_SYNC_WAIT_MS;
}

/** A worker's answer as a route's reply. */
function wireReply(wire: WireResponse): Reply {
  return { status: wire.status, bytes: wire.body, contentType: wire.headers['content-type'] };
}

/** `application/json`, or a `+json` type, with any parameters (`; charset=utf-8`). */
function isJson(contentType: string | undefined): boolean {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}

function notFoundMessage(method: string, path: string): string {
  return `not found: ${method} ${path} is not a PocketIC route served by icsim`;
}
