/**
 * The IC HTTP interface's paths and answers as both threads need them: the
 * main thread routes and answers preflights and unknown paths
 * (`http-interface-routes.ts`), the instance's worker answers the rest
 * (`instance-endpoint.ts`).
 */
import type { CallVersion, HttpAnswer } from '../http-interface/interface.ts';
import { InstanceError } from '../errors.ts';
import { HttpError, instanceErrorStatus, type WireResponse } from './http.ts';

export const CORS_HEADERS: Record<string, string> = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, POST',
  'access-control-allow-headers': 'Authorization, Accept, Content-Type',
};

/** The answer as bytes, with the replica's CORS headers. */
export function encodeAnswer(answer: HttpAnswer): WireResponse {
  const headers: Record<string, string> = { ...CORS_HEADERS };
  let body: Uint8Array = new Uint8Array();
  if (answer.cbor) {
    body = answer.cbor;
    headers['content-type'] = 'application/cbor';
  } else if (answer.text !== undefined) {
    body = Buffer.from(answer.text, 'utf8');
    headers['content-type'] = 'text/plain; charset=utf-8';
  }
  return { status: answer.status, headers, body };
}

export type ApiRoute =
  | { kind: 'status' }
  | { kind: 'call'; version: CallVersion; target: 'canister' | 'subnet'; id: string }
  | { kind: 'query'; target: 'canister' | 'subnet'; id: string }
  | { kind: 'read_state'; target: 'canister' | 'subnet'; id: string };

/** Parses `api/v…/…` segments (after any prefix); undefined for paths the interface does not serve. */
export function parseApiPath(segments: string[]): ApiRoute | undefined {
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

export function splitPath(path: string): string[] {
  return path.split('/').filter((s, i, all) => !(s === '' && (i === 0 || i === all.length - 1)));
}

/**
 * The answer to an error thrown while serving the interface: an `HttpError` keeps its status and
 * message, an `InstanceError` (deleted instance, unknown subnet) gets its kind's status; anything
 * else is not an answer (undefined) and propagates.
 */
export function errorAnswer(e: unknown): HttpAnswer | undefined {
  if (e instanceof HttpError) {
    const json = e.reply.json as { message?: unknown } | undefined;
    return { status: e.reply.status, text: typeof json?.message === 'string' ? json.message : e.message };
  }
  if (e instanceof InstanceError) return { status: instanceErrorStatus(e), text: e.message };
  return undefined;
}
