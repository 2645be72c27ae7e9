/**
 * Serves the IC HTTP interface (`/api/v2|v3|v4/...`, ic-http-interface.md)
 * of icsim instances over HTTP. Translation only: the answers come from
 * `simulator/http-interface` (`IcHttpInterface`).
 *
 * Where:
 * - on the PocketIC port under `/instances/{id}/api/...` (PocketIC's
 *   per-instance routes; 6.x agents with `host = …/instances/{id}/`);
 * - at the root of a gateway port (`POST /http_gateway`, PicJS `makeLive`;
 *   `icsim --http-port`), which 3.x and 5.x agents need because they build
 *   absolute `/api/...` URLs.
 *
 * Every answer carries `Access-Control-Allow-Origin: *`; `OPTIONS` answers
 * the CORS preflight (GET, POST; Authorization, Accept, Content-Type), like
 * the replica's `cors_layer`. Errors are `text/plain`, successes
 * `application/cbor`.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HttpAnswer } from '../http-interface/interface.ts';
import { CORS_HEADERS, encodeAnswer, errorAnswer, parseApiPath, splitPath } from './api-paths.ts';
import type { ServerLogs } from './core.ts';
import { createServer } from './node-builtins.ts';
import { readBody, sendWire, type WireRequest } from './http.ts';
import type { InstanceHost } from './instance-host.ts';
import { refuseHost, type OriginPolicy } from './origin.ts';
import type { InstanceRegistry } from './state.ts';
import { resolveCanister } from '../gateway/canister-id.ts';
import type { CanisterServer } from './canister-routes.ts';

/** Largest request body the interface reads (the IC's ingress limit is about 2 MiB plus the envelope). */
export const IC_HTTP_BODY_LIMIT = 5 * 1024 * 1024;

export interface Activity {
  inFlight: number;
  lastActivityMs: number;
}

export interface Gateway {
  id: number;
  instanceId: number;
  port: number;
  server: Server;
}

export interface HttpInterfaceMount {
  /** Serves `/instances/{id}/api/...` and `POST /http_gateway[/{id}/stop]`; false when the path is not one of them. */
  handle(req: IncomingMessage, res: ServerResponse, method: string, path: string): Promise<boolean>;
  /** Puts `instance` in live mode (if not yet) and serves its interface at the root of a new port. */
  startGateway(instanceId: number, options?: { ipAddr?: string; port?: number }): Promise<Gateway>;
  stopGateway(id: number): void;
  closeAll(): void;
}

function sendAnswer(res: ServerResponse, answer: HttpAnswer): void {
  sendWire(res, encodeAnswer(answer));
}

function sendJson(res: ServerResponse, status: number, json: unknown): void {
  const body = Buffer.from(JSON.stringify(json), 'utf8');
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': body.length });
  res.end(body);
}

/**
 * Serves one IC HTTP interface request on the main thread: the CORS preflight, unknown paths and
 * methods, and the body limit are answered here; everything else goes to the instance's worker.
 */
/**
 * The instance a request goes to, or undefined once a deleted or unknown instance (or a
 * malformed id) was answered with PocketIC's text and the status of its kind.
 */
function resolveHost(host: () => InstanceHost, res: ServerResponse): InstanceHost | undefined {
  try {
    return host();
  } catch (e) {
    const answer = errorAnswer(e);
    if (!answer) throw e;
    sendAnswer(res, answer);
    return undefined;
  }
}

async function serveApi(
  req: IncomingMessage,
  res: ServerResponse,
  method: string,
  segments: string[],
  host: () => InstanceHost,
): Promise<void> {
  // PocketIC's HTTP gateway also answers `GET /_/topology`, where tools such as icp-cli and
  // `pocket_ic::get_default_effective_canister_id` find an effective canister id.
  if (method === 'GET' && segments.length === 2 && segments[0] === '_' && segments[1] === 'topology') {
    await readBody(req, 0);
    const target = resolveHost(host, res);
    if (!target) return;
    sendWire(
      res,
      await target.forward('rest', {
        method,
        path: '/_/topology',
        headers: req.headers,
        body: new Uint8Array(),
      }),
    );
    return;
  }
  if (method === 'OPTIONS') {
    await readBody(req, 0);
    res.writeHead(204, { ...CORS_HEADERS, 'access-control-max-age': '7200', 'content-length': 0 });
    res.end();
    return;
  }
  const route = parseApiPath(segments);
  const expected = route?.kind === 'status' ? 'GET' : 'POST';
  if (!route || method !== expected) {
    await readBody(req, 0);
    sendAnswer(
      res,
      route ? { status: 405, text: `Method ${method} not allowed.` } : { status: 404, text: 'Not found.' },
    );
    return;
  }
  const body = await readBody(req, route.kind === 'status' ? 0 : IC_HTTP_BODY_LIMIT);
  if (body.kind === 'aborted') {
    res.destroy();
    return;
  }
  if (body.kind === 'too-large') {
    sendAnswer(res, {
      status: 413,
      text: `Request body too large: the limit is ${IC_HTTP_BODY_LIMIT} bytes.`,
    });
    return;
  }
  const target = resolveHost(host, res);
  if (!target) return;
  const request: WireRequest = {
    method,
    path: '/' + segments.join('/'),
    headers: req.headers,
    body: body.bytes,
  };
  sendWire(res, await target.forward('api', request));
}

export function createHttpInterfaceMount(
  registry: InstanceRegistry,
  activity: Activity,
  logs: ServerLogs,
  policy: OriginPolicy = { allowedHosts: [] },
): HttpInterfaceMount {
  const gateways = new Map<number, Gateway>();
  let nextGatewayId = 0;

  const internalError = (res: ServerResponse, where: string, e: unknown): void => {
    const err = e instanceof Error ? e : new Error(String(e));
    logs.runtime(`icsim: internal error on ${where}: ${err.stack ?? err.message}`);
    if (!res.headersSent) sendAnswer(res, { status: 500, text: `icsim internal error: ${err.message}` });
    else res.destroy();
  };

  async function startGateway(
    instanceId: number,
    options: { ipAddr?: string; port?: number } = {},
  ): Promise<Gateway> {
    await registry.get(String(instanceId)).goLive();
    // Browser requests to canisters (`<id>.localhost`, `?canisterId=`) become `http_request` calls;
    // the agent behind them loads on the first such request.
    let canisters: Promise<CanisterServer> | undefined;
    const canisterServer = (): Promise<CanisterServer> =>
      (canisters ??= import('./canister-routes.ts').then((m) =>
        m.canisterServer((request) => registry.get(String(instanceId)).forward('api', request)),
      ));
    const server = createServer((req, res) => {
      activity.inFlight++;
      activity.lastActivityMs = Date.now();
      let path: string;
      try {
        path = new URL(req.url ?? '/', 'http://localhost').pathname;
      } catch {
        path = req.url ?? '/';
      }
      const foreignHost = refuseHost(req.headers, policy);
      const canister =
        foreignHost || splitPath(path)[0] === 'api'
          ? undefined
          : resolveCanister(req.headers.host, req.url ?? '/', req.headers.referer);
      const served = foreignHost
        ? readBody(req, 0).then(() => sendAnswer(res, { status: 403, text: foreignHost }))
        : canister
          ? canisterServer().then((serve) => serve(req, res, canister))
          : serveApi(req, res, req.method ?? 'GET', splitPath(path), () => registry.get(String(instanceId)));
      served
        .catch((e: unknown) => internalError(res, path, e))
        .finally(() => {
          activity.inFlight--;
          activity.lastActivityMs = Date.now();
        });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, options.ipAddr ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const gateway: Gateway = {
      id: nextGatewayId++,
      instanceId,
      port: (server.address() as AddressInfo).port,
      server,
    };
    gateways.set(gateway.id, gateway);
    return gateway;
  }

  function stopGateway(id: number): void {
    const g = gateways.get(id);
    if (!g) return;
    gateways.delete(id);
    g.server.close();
    g.server.closeAllConnections();
  }

  /** `POST /http_gateway` (`HttpGatewayConfig` of PocketIC's REST API). */
  async function createGateway(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req, 1024 * 1024);
    if (body.kind !== 'ok') {
      if (body.kind === 'aborted') res.destroy();
      else sendJson(res, 413, { message: 'request body too large' });
      return;
    }
    const error = (message: string): void => sendJson(res, 502, { Error: { message } });
    let config: {
      forward_to?: { PocketIcInstance?: unknown; Replica?: unknown };
      ip_addr?: unknown;
      port?: unknown;
      https_config?: unknown;
    };
    try {
      config = JSON.parse(Buffer.from(body.bytes).toString('utf8')) as typeof config;
    } catch (e) {
      sendJson(res, 400, { message: `Failed to parse the request body as JSON: ${(e as Error).message}` });
      return;
    }
    const target = config?.forward_to?.PocketIcInstance;
    if (config?.forward_to?.Replica !== undefined)
      return error('icsim cannot forward an HTTP gateway to a replica URL; use forward_to.PocketIcInstance');
    if (typeof target !== 'number' || !Number.isSafeInteger(target) || target < 0) {
      sendJson(res, 400, {
        message: 'Failed to deserialize the JSON body: missing forward_to.PocketIcInstance',
      });
      return;
    }
    if (config.https_config !== undefined && config.https_config !== null)
      return error('icsim does not serve HTTPS gateways');
    const port = typeof config.port === 'number' ? config.port : undefined;
    const ipAddr = typeof config.ip_addr === 'string' ? config.ip_addr : undefined;
    try {
      const g = await startGateway(target, { ipAddr, port });
      sendJson(res, 201, { Created: { instance_id: g.id, port: g.port } });
    } catch (e) {
      error(e instanceof Error ? e.message : String(e));
    }
  }

  return {
    async handle(req, res, method, path) {
      const segments = splitPath(path);
      if (segments[0] === 'instances' && segments[1] !== undefined && segments[2] === 'api') {
        const id = segments[1];
        await serveApi(req, res, method, segments.slice(2), () => registry.get(id)).catch((e: unknown) =>
          internalError(res, path, e),
        );
        return true;
      }
      if (segments[0] === 'http_gateway' && method === 'POST' && segments.length === 1) {
        await createGateway(req, res).catch((e: unknown) => internalError(res, path, e));
        return true;
      }
      if (
        segments[0] === 'http_gateway' &&
        method === 'POST' &&
        segments.length === 3 &&
        segments[2] === 'stop'
      ) {
        await readBody(req, 1024 * 1024);
        if (!/^\d+$/.test(segments[1]!))
          sendJson(res, 400, { message: `Invalid URL: Cannot parse \`${segments[1]}\` to a \`usize\`` });
        else {
          stopGateway(Number(segments[1]));
          sendJson(res, 200, null);
        }
        return true;
      }
      return false;
    },
    startGateway,
    stopGateway,
    closeAll() {
      for (const id of [...gateways.keys()]) stopGateway(id);
    },
  };
}
