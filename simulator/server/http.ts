/**
 * HTTP plumbing of the REST adapter: a small path router, body reading with a
 * size limit, and JSON replies. No replica behaviour lives here.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { InstanceError, type InstanceErrorKind } from '../errors.ts';
import { BadRequest, parseJsonText, stringifyJson, type Json } from './codec.ts';

/** What a handler answers. `json: undefined` with no `text`/`bytes` = an empty body. */
export interface Reply {
  status: number;
  json?: Json;
  text?: string;
  bytes?: Uint8Array;
  contentType?: string;
}

export const ok = (json: Json): Reply => ({ status: 200, json });
export const okEmpty = (): Reply => ({ status: 200 });

/** PocketIC's `ApiResponse::Error`: `{"message": …}`. PicJS turns it into `ServerError`. */
export function messageReply(status: number, message: string): Reply {
  return { status, json: { message } };
}

/**
 * The HTTP status of each kind of `InstanceError`, for every route (REST and
 * IC HTTP interface): asking for the ingress status of another sender's
 * message is 403 (pocket-ic nonblocking.rs `ingress_status_as_caller`); every
 * other `PocketIcError` is 400 (routes.rs `From<OpOut>`).
 */
const STATUS_BY_KIND: Partial<Record<InstanceErrorKind, number>> = { ForbiddenIngressStatus: 403 };

export function instanceErrorStatus(e: InstanceError): number {
  return STATUS_BY_KIND[e.kind] ?? 400;
}

/** An error answer thrown from anywhere below a handler. */
export class HttpError extends Error {
  readonly reply: Reply;
  constructor(status: number, message: string, json?: Json) {
    super(message);
    this.name = 'HttpError';
    this.reply = { status, json: json ?? { message } };
  }
}

/** The answer to an error thrown by a handler; anything unexpected is logged and answers 500. */
export function errorReply(e: unknown, path: string, logRuntime: (line: string) => void): Reply {
  if (e instanceof HttpError) return e.reply;
  if (e instanceof BadRequest) return messageReply(400, e.message);
  if (e instanceof InstanceError) return messageReply(instanceErrorStatus(e), e.message);
  const err = e instanceof Error ? e : new Error(String(e));
  logRuntime(`icsim: internal error on ${path}: ${err.stack ?? err.message}`);
  return messageReply(500, `icsim internal error: ${err.message}`);
}

/** How a route reads its request body. */
export type BodyKind = 'none' | 'json' | 'optional-json' | 'raw';

export interface RouteContext {
  params: Record<string, string>;
  headers: IncomingHttpHeaders;
  body: Uint8Array;
  /** The body as JSON; throws `BadRequest` (→ 400) when absent or malformed. */
  json(): Json;
  /** The body as JSON, or `undefined` when the body is empty. */
  optionalJson(): Json | undefined;
}

export interface Route {
  method: 'GET' | 'POST' | 'DELETE';
  /** Segments; `:name` captures one segment. */
  pattern: string;
  body: BodyKind;
  handler: (ctx: RouteContext) => Reply | Promise<Reply>;
}

/** A route that answers synchronously: the instance routes, run one at a time in a worker. */
export interface SyncRoute extends Route {
  handler: (ctx: RouteContext) => Reply;
}

export type RouteMatch<R extends Route = Route> =
  | { kind: 'found'; route: R; params: Record<string, string> }
  | { kind: 'wrong-method'; allowed: string[] }
  | { kind: 'not-found' };

export class Router<R extends Route = Route> {
  private readonly routes: { route: R; segments: string[] }[] = [];

  add(route: R): this {
    this.routes.push({ route, segments: split(route.pattern) });
    return this;
  }

  match(method: string, path: string): RouteMatch<R> {
    const segments = split(path);
    const allowed: string[] = [];
    for (const { route, segments: pattern } of this.routes) {
      const params = matchSegments(pattern, segments);
      if (!params) continue;
      if (route.method === method) return { kind: 'found', route, params };
      allowed.push(route.method);
    }
    return allowed.length > 0 ? { kind: 'wrong-method', allowed } : { kind: 'not-found' };
  }
}

/**
 * Path → segments. A trailing `/` is ignored: PocketIC registers its instance
 * routes with `directory_route`, which serves both forms.
 */
function split(path: string): string[] {
  return path.split('/').filter((s, i, all) => !(s === '' && (i === 0 || i === all.length - 1)));
}

function matchSegments(pattern: string[], segments: string[]): Record<string, string> | undefined {
  if (pattern.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    const s = segments[i]!;
    if (p.startsWith(':')) {
      let decoded: string;
      try {
        decoded = decodeURIComponent(s);
      } catch {
        return undefined;
      }
      params[p.slice(1)] = decoded;
    } else if (p !== s) {
      return undefined;
    }
  }
  return params;
}

export function makeContext(
  params: Record<string, string>,
  headers: IncomingHttpHeaders,
  body: Uint8Array,
): RouteContext {
  return {
    params,
    headers,
    body,
    json() {
      if (body.length === 0)
        throw new BadRequest('Failed to parse the request body as JSON: the body is empty');
      return parseJsonText(body);
    },
    optionalJson() {
      if (body.length === 0 || Buffer.from(body).toString('utf8').trim() === '') return undefined;
      return parseJsonText(body);
    },
  };
}

export type BodyResult =
  { kind: 'ok'; bytes: Uint8Array } | { kind: 'too-large'; received: number } | { kind: 'aborted' };

/**
 * Reads the whole request body, keeping at most `limit` bytes. A body over the
 * limit is still drained (and discarded) so that the client gets to read our
 * 413 answer instead of a reset connection.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<BodyResult> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let over = false;
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) over = true;
    req.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (over) return;
      if (received > limit) {
        over = true;
        chunks.length = 0;
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (over) resolve({ kind: 'too-large', received });
      else {
        const all = Buffer.concat(chunks);
        resolve({ kind: 'ok', bytes: new Uint8Array(all.buffer, all.byteOffset, all.byteLength) });
      }
    });
    req.on('error', () => resolve({ kind: 'aborted' }));
    req.on('aborted', () => resolve({ kind: 'aborted' }));
  });
}

/**
 * An HTTP answer as bytes: what an instance's worker sends back to the main
 * thread (structured-cloneable), and what `sendWire` writes.
 */
export interface WireResponse {
  status: number;
  headers: Record<string, string>;
  body: Uint8Array;
}

/** A request as the main thread forwards it to an instance's worker: the body already read. */
export interface WireRequest {
  method: string;
  /** The path below the instance: `/read/get_time` for `/instances/3/read/get_time`, `/api/v2/status` … */
  path: string;
  headers: IncomingHttpHeaders;
  body: Uint8Array;
}

export function encodeReply(reply: Reply): WireResponse {
  let payload: Uint8Array | undefined;
  let contentType = reply.contentType;
  if (reply.bytes !== undefined) {
    payload = reply.bytes;
    contentType ??= 'application/octet-stream';
  } else if (reply.text !== undefined) {
    payload = Buffer.from(reply.text, 'utf8');
    contentType ??= 'text/plain; charset=utf-8';
  } else if (reply.json !== undefined) {
    payload = Buffer.from(stringifyJson(reply.json), 'utf8');
    contentType ??= 'application/json';
  }
  const headers: Record<string, string> = {};
  if (contentType && payload) headers['content-type'] = contentType;
  return { status: reply.status, headers, body: payload ?? new Uint8Array() };
}

export function sendWire(
  res: ServerResponse,
  wire: WireResponse,
  extraHeaders: Record<string, string> = {},
): void {
  res.writeHead(wire.status, { ...extraHeaders, ...wire.headers, 'content-length': wire.body.byteLength });
  res.end(Buffer.from(wire.body.buffer, wire.body.byteOffset, wire.body.byteLength));
}

export function send(res: ServerResponse, reply: Reply, extraHeaders: Record<string, string> = {}): void {
  sendWire(res, encodeReply(reply), extraHeaders);
}
