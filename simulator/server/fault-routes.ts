/**
 * icsim's fault-injection extension over REST, below an instance: `/icsim/faults`.
 * PocketIC's instance routes are `/read/…`, `/update/…`, `/api/…` and
 * `/_/topology`, `/_/dashboard`; the `icsim` segment keeps this one clear of
 * any PocketIC may add under `/_/`. Each handler decodes the body and calls
 * one `Instance` method (`injectFault`, `clearFaults`).
 *
 * - `POST /icsim/faults` `{"canister_id": b64, "method": "m", "fault": F}` → `null`, where F is
 *   `{"kind":"reject","reject_code":"SysTransient"|2,"message":"…","error_code"?:"…","times"?:n}`,
 *   `{"kind":"trap","message":"…","times"?:n}` or `{"kind":"delay","rounds":k,"times"?:n}`;
 * - `DELETE /icsim/faults` with no body (all faults), `{"canister_id": b64}` or also `"method"` → `null`.
 */
import { EXTENSION_PREFIX } from './extension-routes.ts';
import { RejectCode, rejectCodeName, type ErrorCodeName, type RejectCodeName } from '../errors.ts';
import type { Instance } from '../instance.ts';
import type { Fault } from '../types.ts';
import { BadRequest, asObject, asPrincipal, asString, asUint, field, optional, type Json } from './codec.ts';
import { ok, type Route, type RouteContext, type Reply, type SyncRoute } from './http.ts';

export const FAULTS_PATH = `${EXTENSION_PREFIX}/faults`;

export function faultRoutes(instance: () => Instance): SyncRoute[] {
  const on = (
    method: Route['method'],
    body: Route['body'],
    fn: (i: Instance, ctx: RouteContext) => Reply,
  ): SyncRoute => ({ method, pattern: FAULTS_PATH, body, handler: (ctx) => fn(instance(), ctx) });
  return [
    on('POST', 'json', (i, ctx) => {
      const o = asObject(ctx.json(), '');
      const canisterId = asPrincipal(field(o, 'canister_id'), 'canister_id', 'Bad canister id');
      i.injectFault(canisterId, asString(field(o, 'method'), 'method'), decodeFault(field(o, 'fault')));
      return ok(null);
    }),
    on('DELETE', 'optional-json', (i, ctx) => {
      const body = ctx.optionalJson();
      if (body === undefined) {
        i.clearFaults();
        return ok(null);
      }
      const o = asObject(body, '');
      const id = optional(o, 'canister_id');
      const method = optional(o, 'method');
      if (id === undefined && method !== undefined) throw new BadRequest('method needs a canister_id');
      i.clearFaults(
        id === undefined ? undefined : asPrincipal(id, 'canister_id', 'Bad canister id'),
        method === undefined ? undefined : asString(method, 'method'),
      );
      return ok(null);
    }),
  ];
}

function decodeFault(v: Json): Fault {
  const o = asObject(v, 'fault');
  const kind = asString(field(o, 'kind', 'fault'), 'fault.kind');
  const timesJson = optional(o, 'times');
  const times = timesJson === undefined ? {} : { times: count(timesJson, 'fault.times') };
  switch (kind) {
    case 'reject': {
      const errorCode = optional(o, 'error_code');
      return {
        kind,
        rejectCode: rejectCode(field(o, 'reject_code', 'fault')),
        message: asString(field(o, 'message', 'fault'), 'fault.message'),
        ...(errorCode === undefined
          ? {}
          : { errorCode: asString(errorCode, 'fault.error_code') as ErrorCodeName }),
        ...times,
      };
    }
    case 'trap':
      return { kind, message: asString(field(o, 'message', 'fault'), 'fault.message'), ...times };
    case 'delay':
      return { kind, rounds: count(field(o, 'rounds', 'fault'), 'fault.rounds'), ...times };
    default:
      throw new BadRequest(
        `fault.kind: unknown variant \`${kind}\`, expected one of \`reject\`, \`trap\`, \`delay\``,
      );
  }
}

/** A reject code by name (`"SysTransient"`) or number (2). */
function rejectCode(v: Json): RejectCodeName {
  if (typeof v === 'string' && Object.hasOwn(RejectCode, v)) return v as RejectCodeName;
  const name = typeof v === 'number' ? rejectCodeName(v) : undefined;
  if (name) return name;
  throw new BadRequest(`fault.reject_code: expected one of ${Object.keys(RejectCode).join(', ')} or 1 to 6`);
}

/** A count that `injectFault` checks further (positive); bounded here so it fits a JS number. */
function count(v: Json, path: string): number {
  const n = asUint(v, path, 'u64');
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw new BadRequest(`${path}: ${n} is too large`);
  return Number(n);
}
