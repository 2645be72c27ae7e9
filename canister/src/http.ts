// Serving blobs over the HTTP gateway protocol (dfinity/portal
// docs/references/http-gateway-protocol-spec.md), free of Azle: what a path
// means, Range / If-None-Match handling, chunking into streaming callbacks.
// Who may see what is decided by the `Resolve` the service passes in; every
// answer for something not visible is the same 404, so a response never
// tells a private blob from a missing one.
//
// Paths: `/b/<blob id hex>` (a public blob), `/s/<token hex>` (a share
// link); `?kind=<kind>` on either serves the original's derivative of that
// kind under the original's visibility.

import { toHex } from './codec.ts';
import { LIMITS } from './limits.ts';
import type {
  HeaderField,
  HttpRequest,
  HttpResponse,
  StreamingCallbackHttpResponse,
  StreamingCallbackToken,
} from './types.ts';

/** A blob the requester may see. */
export interface ServedBlob {
  contentType: string;
  size: number;
  sha256: Uint8Array;
  read(offset: number, length: number): Uint8Array;
}

export type Route =
  | { kind: 'blob'; id: Uint8Array; derivative: string | undefined }
  | { kind: 'link'; token: Uint8Array; derivative: string | undefined };

/** The blob a route shows right now, or undefined when there is none or it is not visible. */
export type Resolve = (route: Route) => ServedBlob | undefined;

export const blobPath = (id: Uint8Array): string => `/b/${toHex(id)}`;
export const linkPath = (token: Uint8Array): string => `/s/${toHex(token)}`;

const HEX_ID = /^[0-9a-f]{64}$/;

export function fromHex(hex: string): Uint8Array | undefined {
  if (!HEX_ID.test(hex)) return undefined;
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function decode(s: string): string | undefined {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

/** The route of a request URL (path and query), with its canonical form (the streaming token's key). */
export function parseRoute(url: string): { route: Route; key: string } | undefined {
  const hash = url.indexOf('#');
  const noFragment = hash === -1 ? url : url.slice(0, hash);
  const q = noFragment.indexOf('?');
  const path = q === -1 ? noFragment : noFragment.slice(0, q);
  let derivative: string | undefined;
  if (q !== -1) {
    for (const pair of noFragment.slice(q + 1).split('&')) {
      const eq = pair.indexOf('=');
      if (eq === -1 || pair.slice(0, eq) !== 'kind') continue;
      const kind = decode(pair.slice(eq + 1));
      if (kind === undefined || kind === '') return undefined;
      derivative = kind;
    }
  }
  const m = /^\/([bs])\/([^/]+)$/.exec(path);
  if (m === null) return undefined;
  const id = fromHex(m[2]);
  if (id === undefined) return undefined;
  const route: Route =
    m[1] === 'b' ? { kind: 'blob', id, derivative } : { kind: 'link', token: id, derivative };
  const key = `${path}${derivative === undefined ? '' : `?kind=${encodeURIComponent(derivative)}`}`;
  return { route, key };
}

const utf8 = new TextEncoder();

function plain(status: number, message: string, extra: HeaderField[] = []): HttpResponse {
  return {
    status_code: status,
    headers: [['content-type', 'text/plain; charset=utf-8'], ['cache-control', 'no-store'], ...extra],
    body: utf8.encode(message),
    upgrade: [],
    streaming_strategy: [],
  };
}

/** The one answer for a blob that is missing, private, behind a revoked or expired link, or a malformed path. */
export const NOT_FOUND: HttpResponse = plain(404, 'Not found');

function header(req: HttpRequest, name: string): string | undefined {
  for (const [k, v] of req.headers) if (k.toLowerCase() === name) return v;
  return undefined;
}

type RangeAsk = { start: number; end: number } | 'unsatisfiable' | undefined;

/**
 * RFC 9110 §14: one `bytes=` range (`a-b`, `a-`, `-n`). Several ranges or a
 * malformed header are ignored (the whole body is served, as the RFC allows);
 * a range that starts past the end, or any range of an empty body, is
 * unsatisfiable (416).
 */
export function parseRange(value: string | undefined, size: number): RangeAsk {
  if (value === undefined) return undefined;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(value);
  if (m === null || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const last = m[2] === '' ? Infinity : Number(m[2]);
  if (last < start) return undefined;
  if (start >= size) return 'unsatisfiable';
  return { start, end: Math.min(last, size - 1) };
}

const CHUNK = LIMITS.HTTP_CHUNK_BYTES;

/**
 * The stored type when HTTP can carry it as a header value (visible ASCII and
 * spaces: begin_upload checks only its length), else `application/octet-stream`,
 * so a type with a line break can neither inject a header nor make the gateway fail.
 */
function contentType(stored: string): string {
  return stored !== '' && /^[\x20-\x7e]+$/.test(stored) ? stored : 'application/octet-stream';
}

function token(key: string, blob: ServedBlob, index: number): StreamingCallbackToken {
  return { key, content_encoding: 'identity', index: BigInt(index), sha256: [blob.sha256] };
}

/**
 * The answer to one `http_request`. A body longer than HTTP_CHUNK_BYTES
 * comes as its first chunk and a streaming token for the rest; a range
 * longer than that is answered with its first HTTP_CHUNK_BYTES (206, the
 * Content-Range says which bytes, as the gateway's Range follow-up expects).
 */
export function serve(
  req: HttpRequest,
  resolve: Resolve,
): { response: HttpResponse; token?: StreamingCallbackToken } {
  const method = req.method.toUpperCase();
  if (method !== 'GET' && method !== 'HEAD') {
    return { response: plain(405, 'Method not allowed', [['allow', 'GET, HEAD']]) };
  }
  const parsed = parseRoute(req.url);
  const blob = parsed === undefined ? undefined : resolve(parsed.route);
  if (parsed === undefined || blob === undefined) return { response: NOT_FOUND };

  const etag = `"${toHex(blob.sha256)}"`;
  const headers: HeaderField[] = [
    ['content-type', contentType(blob.contentType)],
    ['etag', etag],
    ['accept-ranges', 'bytes'],
    // Revalidate every time: publication and links can be withdrawn.
    ['cache-control', 'no-cache'],
    ['x-content-type-options', 'nosniff'],
  ];
  const answer = (status: number, body: Uint8Array, extra: HeaderField[] = []): HttpResponse => ({
    status_code: status,
    headers: [...headers, ...extra],
    body: method === 'HEAD' ? new Uint8Array(0) : body,
    upgrade: [],
    streaming_strategy: [],
  });

  const ifNoneMatch = header(req, 'if-none-match');
  if (ifNoneMatch !== undefined) {
    const tags = ifNoneMatch.split(',').map((t) => t.trim().replace(/^W\//, ''));
    if (tags.includes(etag) || tags.includes('*')) return { response: answer(304, new Uint8Array(0)) };
  }

  // If-Range with another validator: the representation changed, send it whole.
  const ifRange = header(req, 'if-range');
  const range =
    ifRange === undefined || ifRange.trim() === etag
      ? parseRange(header(req, 'range'), blob.size)
      : undefined;
  if (range === 'unsatisfiable') {
    return { response: plain(416, 'Range not satisfiable', [['content-range', `bytes */${blob.size}`]]) };
  }
  if (range !== undefined) {
    const end = Math.min(range.end, range.start + CHUNK - 1);
    const part = method === 'HEAD' ? new Uint8Array(0) : blob.read(range.start, end - range.start + 1);
    return {
      response: answer(206, part, [['content-range', `bytes ${range.start}-${end}/${blob.size}`]]),
    };
  }
  // HEAD reads nothing: a large blob's bytes would cost instructions only to be dropped.
  if (method === 'HEAD') return { response: answer(200, new Uint8Array(0)) };
  if (blob.size <= CHUNK) return { response: answer(200, blob.read(0, blob.size)) };
  return { response: answer(200, blob.read(0, CHUNK)), token: token(parsed.key, blob, 1) };
}

/**
 * The next chunk of a streamed body. The route is resolved again, so a blob
 * unpublished or a link revoked mid-stream stops the stream; a token whose
 * SHA-256 is not the blob's (another blob now, or a forged token) too.
 */
export function streamingCallback(
  t: StreamingCallbackToken,
  resolve: Resolve,
): StreamingCallbackHttpResponse | { error: string } {
  const parsed = parseRoute(t.key);
  const blob = parsed === undefined ? undefined : resolve(parsed.route);
  const offset = Number(t.index) * CHUNK;
  if (
    blob === undefined ||
    t.sha256.length !== 1 ||
    toHex(t.sha256[0]) !== toHex(blob.sha256) ||
    t.index < 1n ||
    offset >= blob.size
  ) {
    return {
      error:
        'no such stream: the blob is not served at this key any more, or the token is not one this canister gave',
    };
  }
  const length = Math.min(CHUNK, blob.size - offset);
  const more = offset + length < blob.size;
  return { body: blob.read(offset, length), token: more ? [token(t.key, blob, Number(t.index) + 1)] : [] };
}
