/**
 * The wire shapes of the PocketIC servers before v7 (3.0.1 for `@hadronous/pic`
 * 0.6/0.8, 6.0.0 for 0.11), translated to and from the current ones. Learnt
 * from what those clients send and parse (their `dist/pocket-ic-client-types.js`)
 * and from `packages/pocket-ic/src/common/rest.rs` / `lib.rs` of that era in
 * dfinity/ic (`RawCanisterResult::Ok(RawWasmResult::{Reply, Reject})`,
 * `Err(UserError { code, description })`).
 */
import { compareBytes } from '../../bytes.ts';
import type { Topology } from '../../types.ts';
import { principalToBase64, type Json, type JsonObject } from '../codec.ts';

const isObject = (v: Json | undefined): v is JsonObject =>
  v !== null && v !== undefined && typeof v === 'object' && !Array.isArray(v);

const NAMED = ['nns', 'sns', 'ii', 'fiduciary', 'bitcoin'] as const;

/**
 * Server v3's `POST /instances` body: the subnet config set itself, subnets as `"New"` (or
 * `{"FromPath": …}`), no `subnet_config_set` wrapper (`encodeCreateInstanceRequest` of
 * `@hadronous/pic` 0.6/0.8).
 */
export function isV3CreateBody(body: Json): body is JsonObject {
  if (!isObject(body) || 'subnet_config_set' in body) return false;
  return Array.isArray(body.application) || Array.isArray(body.system);
}

/** A v3 subnet entry as a current `SubnetSpec`; state other than `"New"` is passed on for the decoder to refuse. */
function v3Spec(v: Json): Json {
  return { state_config: v, instruction_config: 'Production' };
}

/** A v3 create body as the current `InstanceConfig` JSON. */
export function v3CreateToCurrent(body: JsonObject): Json {
  const set: JsonObject = { system: [], application: [], verified_application: [] };
  for (const key of NAMED) {
    const v = body[key];
    if (v !== undefined && v !== null) set[key] = v3Spec(v);
  }
  for (const key of ['system', 'application'] as const) {
    const list = body[key];
    set[key] = Array.isArray(list) ? list.map(v3Spec) : (list ?? []);
  }
  return { subnet_config_set: set };
}

/**
 * The topology of servers ≤ v6 inside `Created`: a bare map from subnet id (text) to
 * `{subnet_kind, size, canister_ranges}` (`decodeInstanceTopology` of `@hadronous/pic` ≤ 0.11
 * turns every key into a principal: a `subnet_configs` key is its `Invalid character: "_"`).
 */
export function encodeLegacyTopology(t: Topology): Json {
  const subnets = [...t.subnets].sort((a, b) => compareBytes(a.id.toUint8Array(), b.id.toUint8Array()));
  const map: JsonObject = {};
  for (const s of subnets) {
    map[s.id.toText()] = {
      subnet_kind: s.kind,
      size: s.size,
      canister_ranges: s.canisterRanges.map((r) => ({
        start: { canister_id: principalToBase64(r.start) },
        end: { canister_id: principalToBase64(r.end) },
      })),
    };
  }
  return map;
}

/** `UserError { code, description }`: the error code as its variant name, the replica's message. */
function userError(reject: JsonObject): Json {
  return { Err: { code: reject.error_code ?? null, description: reject.reject_message ?? null } };
}

/**
 * A current `RawCanisterResult` (`{"Ok": b64}` / `{"Err": RejectResponse}`) as the ≤ v6 one:
 * `{"Ok": {"Reply": b64}}`, a canister's own reject (`CanisterReject`) as `{"Ok": {"Reject": msg}}`,
 * every other failure (traps, missing methods, …) as `{"Err": UserError}`.
 */
export function legacyCallResult(result: Json): Json {
  if (!isObject(result)) return result;
  if (typeof result.Ok === 'string') return { Ok: { Reply: result.Ok } };
  const err = result.Err;
  if (isObject(err)) {
    if (err.reject_code === 'CanisterReject') return { Ok: { Reject: err.reject_message ?? '' } };
    return userError(err);
  }
  return result;
}

/** A current `RawSubmitIngressResult` as v6's: a refusal at submission is a `UserError`. */
export function legacySubmitResult(result: Json): Json {
  if (isObject(result) && isObject(result.Err)) return userError(result.Err);
  return result;
}
