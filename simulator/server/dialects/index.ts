/**
 * Which generation of PocketIC's REST protocol each instance is spoken to in.
 *
 * A PocketIC binary speaks one protocol version, and every PicJS release pins
 * its own server; icsim serves them all from one process, so one server (one
 * `pocket_ic_<ppid>.port`) may serve instances of several clients at once. The
 * dialect is therefore a property of the instance, told by how the client
 * created it and used it:
 *
 * - `v3` (server 3.0.1, `@hadronous/pic` 0.6/0.8): the create body is the bare
 *   subnet set (`{"application": ["New"], …}`).
 * - `v6` (server 6.0.0, `@hadronous/pic` 0.11): the create body is the one
 *   servers 6–9 share (`subnet_config_set` + `nonmainnet_features`); updates go
 *   through `execute_ingress_message` (removed in server 8), `tick` has no body.
 * - `current` (servers 8–14, `@dfinity/pic` 0.12+): `submit_ingress_message` /
 *   `await_ingress_message`, `/_/topology`, `tick` with `{}`.
 *
 * Servers 6–9 answer the same create body, so such an instance stays undecided
 * until its first telling request; undecided, it answers in `v6` when the
 * server was started the v6 way (`--pid`) and in `current` otherwise. Only the
 * create answer and the call results differ between the generations icsim
 * serves (`legacy.ts`); the simulator core never sees a dialect.
 */
import type { Topology } from '../../types.ts';
import { encodeTopology, parseJsonText, stringifyJson, type Json } from '../codec.ts';
import type { WireResponse } from '../http.ts';
import {
  encodeLegacyTopology,
  isV3CreateBody,
  legacyCallResult,
  legacySubmitResult,
  v3CreateToCurrent,
} from './legacy.ts';

export type Dialect = 'v3' | 'v6' | 'current';
type Known = Dialect | 'v6-or-current';

/** What `POST /instances` needs from the dialect: the body in today's shape and the answer's topology. */
export interface CreatePlan {
  body: Json;
  dialect: Known;
  topology(t: Topology): Json;
}

export class Dialects {
  readonly #byInstance = new Map<string, Known>();
  readonly #undecided: Dialect;

  /** `legacyServer`: started with `--pid`, as only clients of servers ≤ v6 start it. */
  constructor(legacyServer = false) {
    this.#undecided = legacyServer ? 'v6' : 'current';
  }

  create(body: Json): CreatePlan {
    if (isV3CreateBody(body))
      return { body: v3CreateToCurrent(body), dialect: 'v3', topology: encodeLegacyTopology };
    if (body !== null && typeof body === 'object' && !Array.isArray(body) && 'nonmainnet_features' in body)
      // Servers 6–9: v6 clients read this topology, v8/v9 clients (`@dfinity/pic` 0.12/0.13)
      // ignore it and ask `/_/topology`, so the v6 shape serves both.
      return { body, dialect: 'v6-or-current', topology: encodeLegacyTopology };
    return { body, dialect: 'current', topology: encodeTopology };
  }

  register(instanceId: number, dialect: Known): void {
    this.#byInstance.set(String(instanceId), dialect);
  }

  forget(instanceId: string): void {
    this.#byInstance.delete(instanceId);
  }

  /** The dialect an instance is answered in; undecided instances learn from this request. */
  of(instanceId: string, path: string, bodyLength: number): Dialect {
    const known = this.#byInstance.get(instanceId) ?? 'current';
    if (known !== 'v6-or-current') return known;
    const learnt = tell(path, bodyLength);
    if (learnt === undefined) return this.#undecided;
    this.#byInstance.set(instanceId, learnt);
    return learnt;
  }

  /** An instance's answer, as the client of that dialect parses it. */
  answer(dialect: Dialect, path: string, wire: WireResponse): WireResponse {
    if (dialect === 'current' || wire.status !== 200) return wire;
    const translate =
      path === '/read/query' || path === '/update/await_ingress_message'
        ? legacyCallResult
        : path === '/update/submit_ingress_message'
          ? legacySubmitResult
          : undefined;
    if (translate === undefined) return wire;
    let json: Json;
    try {
      json = parseJsonText(wire.body);
    } catch {
      return wire;
    }
    return { ...wire, body: Buffer.from(stringifyJson(translate(json)), 'utf8') };
  }
}

/** What a request tells of an undecided (server 6–9) instance's client. */
function tell(path: string, bodyLength: number): Dialect | undefined {
  if (path === '/update/execute_ingress_message') return 'v6';
  if (path === '/update/tick') return bodyLength === 0 ? 'v6' : 'current';
  if (
    path === '/update/submit_ingress_message' ||
    path === '/update/await_ingress_message' ||
    path === '/_/topology' ||
    path === '/read/get_controllers' ||
    path === '/update/set_certified_time'
  )
    return 'current';
  return undefined;
}
