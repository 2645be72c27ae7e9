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
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Instance } from '../instance.ts';
import { IcHttpInterface, type CallVersion, type HttpAnswer } from '../http-interface/interface.ts';
import { InstanceError } from '../errors.ts';
import { HttpError, instanceErrorStatus, readBody } from './http.ts';
import type { ServerLogs } from './core.ts';
import type { InstanceRegistry } from './state.ts';

/** Largest request body the interface reads (the IC's ingress limit is about 2 MiB plus the envelope). */
export const IC_HTTP_BODY_LIMIT = 5 * 1024 * 1024;

const CORS_HEADERS: Record<string, string> = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, POST',
  'access-control-allow-headers': 'Authorization, Accept, Content-Type',
};

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
  /** Installs the data-certificate hook on a new instance. */
  attach(instance: Instance): void;
  closeAll(): void;
}

function sendAnswer(res: ServerResponse, answer: HttpAnswer): void {
  const headers: Record<string, string | number> = { ...CORS_HEADERS };
  let body: Buffer | undefined;
  if (answer.cbor) {
    body = Buffer.from(answer.cbor.buffer, answer.cbor.byteOffset, answer.cbor.byteLength);
    headers['content-type'] = 'application/cbor';
  } else if (answer.text !== undefined) {
    body = Buffer.from(answer.text, 'utf8');
    headers['content-type'] = 'text/plain; charset=utf-8';
  }
  headers['content-length'] = body?.length ?? 0;
  res.writeHead(answer.status, headers);
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, json: unknown): void {
  const body = Buffer.from(JSON.stringify(json), 'utf8');
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': body.length });
  res.end(body);
}

type ApiRoute =
  | { kind: 'status' }
  | { kind: 'call'; version: CallVersion; target: 'canister' | 'subnet'; id: string }
  | { kind: 'query'; target: 'canister' | 'subnet'; id: string }
  | { kind: 'read_state'; target: 'canister' | 'subnet'; id: string };

/** Parses `api/v…/…` segments (after any prefix); undefined for paths the interface does not serve. */
function parseApiPath(segments: string[]): ApiRoute | undefined {
  const [api, version, scope, id, op, ...rest] = segments;
  if (api !== 'api' || rest.length > 0) return undefined;
  if (version === 'v2' && scope === 'status' && id === undefined) return { kind: 'status' };
  if (id === undefined || op === undefined) return undefined;
  let decoded: string;
  try {
    decoded = decodeURIComponent(id);
  } catch {
    return undefined;
  }
  if (scope === 'canister') {
    if (op === 'call' && (version === 'v2' || version === 'v3' || version === 'v4')) {
      return {
        kind: 'call',
        version: Number(version.slice(1)) as CallVersion,
        target: 'canister',
        id: decoded,
      };
    }
    if (op === 'query' && (version === 'v2' || version === 'v3'))
      return { kind: 'query', target: 'canister', id: decoded };
    if (op === 'read_state' && (version === 'v2' || version === 'v3'))
      return { kind: 'read_state', target: 'canister', id: decoded };
  }
  if (scope === 'subnet' && op === 'read_state' && (version === 'v2' || version === 'v3')) {
    return { kind: 'read_state', target: 'subnet', id: decoded };
  }
  // Subnet-scoped calls and queries of 6.x agents (`effectiveTarget: { subnetId }`).
  if (scope === 'subnet' && op === 'call' && version === 'v4')
    return { kind: 'call', version: 4, target: 'subnet', id: decoded };
  if (scope === 'subnet' && op === 'query' && version === 'v3')
    return { kind: 'query', target: 'subnet', id: decoded };
  return undefined;
}

function splitPath(path: string): string[] {
  return path.split('/').filter((s, i, all) => !(s === '' && (i === 0 || i === all.length - 1)));
}

/** Answers one IC HTTP interface request for `instance`. */
async function serveApi(
  req: IncomingMessage,
  res: ServerResponse,
  method: string,
  segments: string[],
  instance: () => Instance,
): Promise<void> {
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
  let answer: HttpAnswer;
  try {
    const ic = IcHttpInterface.of(instance());
    if (route.kind === 'status') answer = ic.status();
    else {
      const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      if (contentType !== 'application/cbor')
        answer = { status: 400, text: 'Unexpected content-type, expected application/cbor.' };
      else if (route.kind === 'call') answer = ic.call(route.version, route.id, body.bytes, route.target);
      else if (route.kind === 'query') answer = ic.query(route.id, body.bytes, route.target);
      else answer = ic.readState(route.target, route.id, body.bytes);
    }
  } catch (e) {
    if (e instanceof HttpError) {
      const json = e.reply.json as { message?: unknown } | undefined;
      answer = { status: e.reply.status, text: typeof json?.message === 'string' ? json.message : e.message };
    } else if (e instanceof InstanceError) {
      answer = { status: instanceErrorStatus(e), text: e.message };
    } else throw e;
  }
  sendAnswer(res, answer);
}

export function createHttpInterfaceMount(
  registry: InstanceRegistry,
  activity: Activity,
  logs: ServerLogs,
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
    const instance = registry.get(String(instanceId));
    IcHttpInterface.of(instance);
    if (!instance.isAutoProgress()) instance.startAutoProgress();
    const server = createServer((req, res) => {
      activity.inFlight++;
      activity.lastActivityMs = Date.now();
      let path: string;
      try {
        path = new URL(req.url ?? '/', 'http://localhost').pathname;
      } catch {
        path = req.url ?? '/';
      }
      serveApi(req, res, req.method ?? 'GET', splitPath(path), () => registry.get(String(instanceId)))
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
    attach(instance) {
      IcHttpInterface.of(instance);
    },
    closeAll() {
      for (const id of [...gateways.keys()]) stopGateway(id);
    },
  };
}
