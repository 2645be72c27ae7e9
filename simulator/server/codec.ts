/**
 * JSON codecs of PocketIC's REST API: request bodies → simulator types, and
 * simulator results → response bodies.
 *
 * Shapes follow `packages/pocket-ic/src/common/rest.rs` in dfinity/ic (serde
 * derive: unit variants as strings, data variants as `{"Variant": value}`,
 * `Vec<u8>` fields base64 via its `mod base64`) and the reject types of
 * `packages/pocket-ic/src/lib.rs` (`RejectResponse`, codes as variant names).
 * See also docs/reference/picjs-protocol.md §3–§4.
 *
 * Integers: bodies are parsed with json-with-bigint's `JSONParse`, which gives
 * a `bigint` for integers beyond 2^53 and a `number` otherwise; every u64/u128
 * field is read back as an exact `bigint` here. Responses are written with
 * `JSONStringify`, so `bigint` values come out as bare exact integers.
 */
import { Principal } from '@icp-sdk/core/principal';
import { JSONParse, JSONStringify } from 'json-with-bigint';
import { compareBytes } from '../bytes.ts';
import { decodeStandardBase64 } from './base64.ts';
import { parseWithLargeLiterals, takeDecodedBase64 } from './large-literals.ts';
import type { CallResult, Reject } from '../result.ts';
import type {
  CanisterCall,
  EffectivePrincipal,
  HttpOutcallResponse,
  InstanceConfig,
  PendingHttpOutcall,
  SubmittedIngress,
  SubnetKind,
  SubnetSpec,
  Topology,
} from '../types.ts';

/** A JSON value as produced by `JSONParse` (integers beyond 2^53 are `bigint`). */
export type Json = null | boolean | number | bigint | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/**
 * A request body that cannot be turned into the expected type. The server
 * answers 400 `{"message": …}`. axum's `Json` extractor (used by PocketIC)
 * answers 400/422 with a plain-text body of the same wording; we keep the
 * wording but always answer JSON, so PicJS shows the text as a `ServerError`.
 */
export class BadRequest extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BadRequest';
  }
}

const DESERIALIZE = 'Failed to deserialize the JSON body into the target type';

function fieldError(path: string, what: string): BadRequest {
  return new BadRequest(path ? `${DESERIALIZE}: ${path}: ${what}` : `${DESERIALIZE}: ${what}`);
}

/**
 * PocketIC's request-conversion failure after deserialization succeeded, e.g.
 * a principal longer than 29 bytes: `ConversionError { message: "Bad canister id" }`
 * (`rs/pocket_ic_server/src/pocket_ic.rs`, `ConversionError`).
 */
export function conversionError(message: string): BadRequest {
  return new BadRequest(`ConversionError { message: ${JSON.stringify(message)} }`);
}

// ---------------------------------------------------------------------------
// JSON text

export function parseJsonText(bytes: Uint8Array): Json {
  // A body with large base64 literals skips the text decoding and scanning of those (large-literals.ts).
  let fast: Json | undefined;
  try {
    // A number beyond 2^53 sends the body the JSONParse way below.
    fast = parseWithLargeLiterals(bytes, hasUnsafeNumber);
  } catch {
    throw new BadRequest('Failed to parse the request body as JSON: the body is not valid UTF-8');
  }
  if (fast !== undefined) return fast;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new BadRequest('Failed to parse the request body as JSON: the body is not valid UTF-8');
  }
  if (text.trim() === '') throw new BadRequest('Failed to parse the request body as JSON: the body is empty');
  try {
    // Plain JSON.parse first: json-with-bigint's reviver makes V8 copy every string value's
    // source (a 2.5 MB base64 argument costs milliseconds). Its result differs from JSONParse's
    // only where a number lies beyond 2^53, and then JSONParse reads the text again.
    const value = JSON.parse(text) as Json;
    return hasUnsafeNumber(value) ? (JSONParse(text) as Json) : value;
  } catch (e) {
    throw new BadRequest(`Failed to parse the request body as JSON: ${(e as Error).message}`);
  }
}

/** Whether a parsed value holds a number outside ±(2^53 − 1), which JSONParse would read as a bigint. */
function hasUnsafeNumber(v: Json): boolean {
  if (typeof v === 'number') return v > Number.MAX_SAFE_INTEGER || v < Number.MIN_SAFE_INTEGER;
  if (v === null || typeof v !== 'object') return false;
  if (Array.isArray(v)) return v.some(hasUnsafeNumber);
  for (const key in v) if (hasUnsafeNumber(v[key]!)) return true;
  return false;
}

export function stringifyJson(value: Json): string {
  return JSONStringify(value);
}

// ---------------------------------------------------------------------------
// Primitive readers. `path` names the field for error messages (`raw_message_id.message_id`).

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a sequence';
  if (typeof v === 'object') return 'a map';
  if (typeof v === 'bigint') return `integer \`${v}\``;
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
  return `${typeof v} \`${String(v)}\``;
}

export function asObject(v: Json | undefined, path: string): JsonObject {
  if (v === null || v === undefined || typeof v !== 'object' || Array.isArray(v)) {
    throw fieldError(path, `invalid type: ${describe(v)}, expected a JSON object`);
  }
  return v;
}

/** A required field: serde's "missing field `x`". */
export function field(obj: JsonObject, key: string, path = ''): Json {
  const v = obj[key];
  if (v === undefined) {
    throw path ? fieldError(path, `missing field \`${key}\``) : fieldError('', `missing field \`${key}\``);
  }
  return v;
}

/** An `Option<T>` field: absent or null is None. */
export function optional(obj: JsonObject, key: string): Json | undefined {
  const v = obj[key];
  return v === null ? undefined : v;
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

export function asString(v: Json, path: string): string {
  if (typeof v !== 'string') throw fieldError(path, `invalid type: ${describe(v)}, expected a string`);
  return v;
}

export function asBool(v: Json, path: string): boolean {
  if (typeof v !== 'boolean') throw fieldError(path, `invalid type: ${describe(v)}, expected a boolean`);
  return v;
}

export function asArray(v: Json, path: string): Json[] {
  if (!Array.isArray(v)) throw fieldError(path, `invalid type: ${describe(v)}, expected a sequence`);
  return v;
}

const UINT_MAX: Record<string, bigint> = {
  u16: (1n << 16n) - 1n,
  u64: (1n << 64n) - 1n,
  u128: (1n << 128n) - 1n,
  usize: (1n << 64n) - 1n,
};

/** An unsigned integer of the given Rust width, exact. */
export function asUint(v: Json, path: string, width: 'u16' | 'u64' | 'u128' | 'usize'): bigint {
  let n: bigint;
  if (typeof v === 'bigint') n = v;
  else if (typeof v === 'number' && Number.isSafeInteger(v)) n = BigInt(v);
  else throw fieldError(path, `invalid type: ${describe(v)}, expected ${width}`);
  if (n < 0n || n > UINT_MAX[width]!)
    throw fieldError(path, `invalid value: integer \`${n}\`, expected ${width}`);
  return n;
}

/** Standard base64 with padding, as the `base64` crate's `decode` accepts. */
export function asBase64(v: Json, path: string): Uint8Array {
  const bytes = decodeStandardBase64(asString(v, path));
  if (bytes === undefined) throw fieldError(path, 'invalid base64 (expected standard base64 with padding)');
  return bytes;
}

/** The required field `key` as standard base64: bytes the body's parser already decoded (a large literal), or decoded here. */
function base64Field(obj: JsonObject, key: string, path: string): Uint8Array {
  // Taken before the field is read: reading it would make the text of the literal.
  return takeDecodedBase64(obj, key) ?? asBase64(field(obj, key), path);
}

export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** A principal from raw bytes; `""` is the management canister. Over-long ids get PocketIC's ConversionError. */
export function asPrincipal(v: Json, path: string, conversionMessage: string): Principal {
  const bytes = asBase64(v, path);
  if (bytes.length > 29) throw conversionError(conversionMessage);
  return Principal.fromUint8Array(bytes);
}

export function principalToBase64(p: Principal): string {
  return toBase64(p.toUint8Array());
}

/** Unit enum variant: `"None"`. Data variant: `{"SubnetId": …}` (exactly one key). */
function variant(v: Json, path: string, expected: readonly string[]): [string, Json | undefined] {
  if (typeof v === 'string') {
    if (!expected.includes(v))
      throw fieldError(
        path,
        `unknown variant \`${v}\`, expected one of ${expected.map((e) => `\`${e}\``).join(', ')}`,
      );
    return [v, undefined];
  }
  const obj = asObject(v, path);
  const keys = Object.keys(obj);
  if (keys.length !== 1)
    throw fieldError(
      path,
      `expected an enum variant (a string or an object with one key), got ${keys.length} keys`,
    );
  const key = keys[0]!;
  if (!expected.includes(key))
    throw fieldError(
      path,
      `unknown variant \`${key}\`, expected one of ${expected.map((e) => `\`${e}\``).join(', ')}`,
    );
  return [key, obj[key]];
}

// ---------------------------------------------------------------------------
// Effective principal, calls, results

export function decodeEffectivePrincipal(v: Json, path: string): EffectivePrincipal {
  const [tag, value] = variant(v, path, ['None', 'SubnetId', 'CanisterId']);
  if (tag === 'None') {
    if (value !== undefined) throw fieldError(path, 'variant `None` carries no value');
    return { kind: 'none' };
  }
  if (value === undefined) throw fieldError(path, `variant \`${tag}\` needs a base64 value`);
  if (tag === 'SubnetId')
    return { kind: 'subnet', id: asPrincipal(value, join(path, 'SubnetId'), 'Bad subnet id') };
  return { kind: 'canister', id: asPrincipal(value, join(path, 'CanisterId'), 'Bad effective canister id') };
}

export function encodeEffectivePrincipal(ep: EffectivePrincipal): Json {
  switch (ep.kind) {
    case 'none':
      return 'None';
    case 'subnet':
      return { SubnetId: principalToBase64(ep.id) };
    case 'canister':
      return { CanisterId: principalToBase64(ep.id) };
  }
}

/**
 * `RawCanisterCall`. `sender_info` (PocketIC v14) is accepted and not passed
 * on: the simulator's `CanisterCall` has no sender info.
 */
export function decodeCanisterCall(body: Json): CanisterCall {
  const o = asObject(body, '');
  return {
    sender: asPrincipal(field(o, 'sender'), 'sender', 'Bad sender principal'),
    canisterId: asPrincipal(field(o, 'canister_id'), 'canister_id', 'Bad canister id'),
    method: asString(field(o, 'method'), 'method'),
    arg: base64Field(o, 'payload', 'payload'),
    effectivePrincipal: decodeEffectivePrincipal(field(o, 'effective_principal'), 'effective_principal'),
  };
}

export interface MessageId {
  messageId: Uint8Array;
  effectivePrincipal: EffectivePrincipal;
}

/** `RawMessageId`; message ids are 32 bytes (`MessageId::try_from`, else ConversionError "Bad message id"). */
export function decodeMessageId(body: Json, path = ''): MessageId {
  const o = asObject(body, path);
  const messageId = asBase64(field(o, 'message_id', path), join(path, 'message_id'));
  if (messageId.length !== 32) throw conversionError('Bad message id');
  return {
    messageId,
    effectivePrincipal: decodeEffectivePrincipal(
      field(o, 'effective_principal', path),
      join(path, 'effective_principal'),
    ),
  };
}

export function encodeMessageId(m: { messageId: Uint8Array; effectivePrincipal: EffectivePrincipal }): Json {
  return {
    effective_principal: encodeEffectivePrincipal(m.effectivePrincipal),
    message_id: toBase64(m.messageId),
  };
}

/** `RejectResponse` (`packages/pocket-ic/src/lib.rs`): codes as variant-name strings. */
export function encodeRejectResponse(r: Reject, certified: boolean): Json {
  return {
    reject_code: r.rejectCode,
    reject_message: r.message,
    error_code: r.errorCode,
    certified,
  };
}

/** `RawCanisterResult`: `{"Ok": b64}` or `{"Err": RejectResponse}`. */
export function encodeCanisterResult(outcome: CallResult, certified: boolean): Json {
  if (outcome.status === 'replied') return { Ok: toBase64(outcome.reply) };
  return { Err: encodeRejectResponse(outcome, certified) };
}

/**
 * `RawSubmitIngressResult`: `{"Ok": RawMessageId}` or `{"Err": RejectResponse}`
 * (rejected at submission, e.g. by `canister_inspect_message`: not certified).
 */
export function encodeSubmitResult(result: SubmittedIngress | Reject): Json {
  if (result.status === 'submitted') return { Ok: encodeMessageId(result) };
  return { Err: encodeRejectResponse(result, false) };
}

/** `{"canister_id": b64}` (`RawCanisterId`). */
export function decodeCanisterIdBody(body: Json): Principal {
  const o = asObject(body, '');
  return asPrincipal(field(o, 'canister_id'), 'canister_id', 'Bad canister id');
}

/** `{"subnet_id": b64}` (`RawSubnetId`). */
export function decodeSubnetIdBody(body: Json, path = ''): Principal {
  const o = asObject(body, path);
  return asPrincipal(field(o, 'subnet_id', path), join(path, 'subnet_id'), 'Bad subnet id');
}

export function decodeTime(body: Json): bigint {
  const o = asObject(body, '');
  return asUint(field(o, 'nanos_since_epoch'), 'nanos_since_epoch', 'u64');
}

export function decodeAddCycles(body: Json): { canisterId: Principal; amount: bigint } {
  const o = asObject(body, '');
  return {
    canisterId: asPrincipal(field(o, 'canister_id'), 'canister_id', 'Bad canister id'),
    amount: asUint(field(o, 'amount'), 'amount', 'u128'),
  };
}

/** `RawSetStableMemory`: `blob_id` is the base64 of the 32-byte SHA-256 that `/blobstore` returned in hex. */
export function decodeSetStableMemory(body: Json): { canisterId: Principal; blobIdHex: string } {
  const o = asObject(body, '');
  const blobId = asBase64(field(o, 'blob_id'), 'blob_id');
  return {
    canisterId: asPrincipal(field(o, 'canister_id'), 'canister_id', 'Bad canister id'),
    blobIdHex: Buffer.from(blobId).toString('hex'),
  };
}

/**
 * `RawIngressStatusArgs`. `raw_caller` is `Option<RawPrincipalId>`
 * (`{"principal_id": b64}`) in rest.rs, while PicJS 0.23.0 sends a bare
 * base64 string; both are accepted.
 */
export function decodeIngressStatusArgs(body: Json): { id: MessageId; caller?: Principal } {
  const o = asObject(body, '');
  const id = decodeMessageId(field(o, 'raw_message_id'), 'raw_message_id');
  const rawCaller = optional(o, 'raw_caller');
  if (rawCaller === undefined) return { id };
  if (typeof rawCaller === 'string')
    return { id, caller: asPrincipal(rawCaller, 'raw_caller', 'Bad caller principal') };
  const c = asObject(rawCaller, 'raw_caller');
  return {
    id,
    caller: asPrincipal(
      field(c, 'principal_id', 'raw_caller'),
      'raw_caller.principal_id',
      'Bad caller principal',
    ),
  };
}

export function decodeAutoProgress(body: Json | undefined): number | undefined {
  if (body === undefined) return undefined;
  const o = asObject(body, '');
  const delay = optional(o, 'artificial_delay_ms');
  if (delay === undefined) return undefined;
  return Number(asUint(delay, 'artificial_delay_ms', 'u64'));
}

// ---------------------------------------------------------------------------
// HTTPS outcalls

export function encodePendingHttpOutcalls(list: PendingHttpOutcall[]): Json {
  return list.map((r) => ({
    subnet_id: { subnet_id: principalToBase64(r.subnetId) },
    request_id: r.requestId,
    http_method: r.httpMethod,
    url: r.url,
    headers: r.headers.map((h) => ({ name: h.name, value: h.value })),
    body: toBase64(r.body),
    max_response_bytes: r.maxResponseBytes ?? null,
  }));
}

function decodeHeaders(v: Json, path: string): { name: string; value: string }[] {
  return asArray(v, path).map((h, i) => {
    const o = asObject(h, `${path}[${i}]`);
    return {
      name: asString(field(o, 'name', `${path}[${i}]`), `${path}[${i}].name`),
      value: asString(field(o, 'value', `${path}[${i}]`), `${path}[${i}].value`),
    };
  });
}

/** `RawCanisterHttpResponse`: `{"CanisterHttpReply": {...}}` or `{"CanisterHttpReject": {...}}`. */
function decodeHttpOutcallResponse(v: Json, path: string): HttpOutcallResponse {
  const [tag, value] = variant(v, path, ['CanisterHttpReply', 'CanisterHttpReject']);
  const inner = asObject(value ?? null, join(path, tag));
  const p = join(path, tag);
  if (tag === 'CanisterHttpReply') {
    return {
      kind: 'reply',
      status: Number(asUint(field(inner, 'status', p), join(p, 'status'), 'u16')),
      headers: decodeHeaders(field(inner, 'headers', p), join(p, 'headers')),
      body: asBase64(field(inner, 'body', p), join(p, 'body')),
    };
  }
  return {
    kind: 'reject',
    rejectCode: Number(asUint(field(inner, 'reject_code', p), join(p, 'reject_code'), 'u64')),
    message: asString(field(inner, 'message', p), join(p, 'message')),
  };
}

/** `RawMockCanisterHttpResponse`. */
export function decodeMockHttpOutcall(body: Json): {
  subnetId: Principal;
  requestId: number;
  response: HttpOutcallResponse;
  additional: HttpOutcallResponse[];
} {
  const o = asObject(body, '');
  const additional = optional(o, 'additional_responses');
  return {
    subnetId: decodeSubnetIdBody(field(o, 'subnet_id'), 'subnet_id'),
    requestId: Number(asUint(field(o, 'request_id'), 'request_id', 'u64')),
    response: decodeHttpOutcallResponse(field(o, 'response'), 'response'),
    additional:
      additional === undefined
        ? []
        : asArray(additional, 'additional_responses').map((r, i) =>
            decodeHttpOutcallResponse(r, `additional_responses[${i}]`),
          ),
  };
}

// ---------------------------------------------------------------------------
// Topology (§4.3): `Topology { subnet_configs: BTreeMap<SubnetId, SubnetConfig>, default_effective_canister_id }`

/**
 * Subnet ids are map keys in principal text form, ordered as Rust's
 * `BTreeMap<Principal, _>` orders them (by bytes). PocketIC v11+ sends no
 * `size` field (PicJS then reports `size: undefined`); we send none either.
 */
export function encodeTopology(t: Topology): Json {
  const subnets = [...t.subnets].sort((a, b) => compareBytes(a.id.toUint8Array(), b.id.toUint8Array()));
  const configs: JsonObject = {};
  for (const s of subnets) {
    configs[s.id.toText()] = {
      subnet_kind: s.kind,
      subnet_seed: Array.from(s.seed),
      instruction_config: s.instructionConfig,
      canister_ranges: s.canisterRanges.map((r) => ({
        start: { canister_id: principalToBase64(r.start) },
        end: { canister_id: principalToBase64(r.end) },
      })),
    };
  }
  return {
    subnet_configs: configs,
    default_effective_canister_id: { canister_id: principalToBase64(t.defaultEffectiveCanisterId) },
  };
}

// ---------------------------------------------------------------------------
// Create instance (§4.1): `InstanceConfig`

/** A config that parses but that the simulator does not serve: 400 `{"Error":{"message"}}`. */
export class UnsupportedConfig extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsupportedConfig';
  }
}

export interface DecodedInstanceConfig {
  config: InstanceConfig;
  /** `initial_time: {"AutoProgress": {...}}`: start auto progress after creation. */
  autoProgress?: { artificialDelayMs?: number };
  /** `state_dir`: where the instance is kept, and resumed from. */
  stateDir?: string;
}

const NAMED_SUBNETS: readonly [string, SubnetKind][] = [
  ['nns', 'NNS'],
  ['sns', 'SNS'],
  ['ii', 'II'],
  ['fiduciary', 'Fiduciary'],
  ['bitcoin', 'Bitcoin'],
];

function decodeSubnetSpec(v: Json, path: string, kind: SubnetKind): SubnetSpec {
  const o = asObject(v, path);
  const [state, statePath] = variant(field(o, 'state_config', path), join(path, 'state_config'), [
    'New',
    'FromPath',
    'FromBlobStore',
  ]);
  if (state !== 'New') {
    void statePath;
    throw new UnsupportedConfig(
      `icsim cannot load subnet state (${path}.state_config = ${state}); only "New" subnets are supported`,
    );
  }
  const [instructionConfig] = variant(
    field(o, 'instruction_config', path),
    join(path, 'instruction_config'),
    ['Production', 'Benchmarking'],
  );
  const spec: SubnetSpec = { kind, instructionConfig: instructionConfig as 'Production' | 'Benchmarking' };
  // `cost_schedule` (v13+) is optional for older clients; `dts_flag` and `subnet_admins` are ignored.
  const cost = optional(o, 'cost_schedule');
  if (cost !== undefined) {
    const [c] = variant(cost, join(path, 'cost_schedule'), ['Normal', 'Free']);
    spec.costSchedule = c as 'Normal' | 'Free';
  }
  return spec;
}

export function decodeInstanceConfig(body: Json): DecodedInstanceConfig {
  const o = asObject(body, '');
  const set = asObject(field(o, 'subnet_config_set'), 'subnet_config_set');
  const subnets: SubnetSpec[] = [];
  // Creation order = PocketIC's range order: NNS, SNS, II, Fiduciary, Bitcoin, system…, application…, verified_application….
  for (const [key, kind] of NAMED_SUBNETS) {
    const spec = optional(set, key);
    if (spec !== undefined) subnets.push(decodeSubnetSpec(spec, `subnet_config_set.${key}`, kind));
  }
  const lists: [string, SubnetKind][] = [
    ['system', 'System'],
    ['application', 'Application'],
    ['verified_application', 'VerifiedApplication'],
  ];
  for (const [key, kind] of lists) {
    const list = asArray(field(set, key, 'subnet_config_set'), `subnet_config_set.${key}`);
    list.forEach((spec, i) => subnets.push(decodeSubnetSpec(spec, `subnet_config_set.${key}[${i}]`, kind)));
  }
  // `cloud_engine` is required by the v13 contract (PicJS always sends []); older clients omit it.
  for (const key of ['cloud_engine', 'test_threshold_keys']) {
    const list = optional(set, key);
    if (list !== undefined && asArray(list, `subnet_config_set.${key}`).length > 0) {
      throw new UnsupportedConfig(`icsim does not support ${key} subnets`);
    }
  }
  if (subnets.length === 0) {
    // routes.rs `create_instance` answers "Bad config" when `ExtendedSubnetConfigSet::validate` fails.
    throw new UnsupportedConfig('Bad config: ExtendedSubnetConfigSet must contain at least one subnet');
  }

  const unsupported = (key: string, what: string): void => {
    if (optional(o, key) !== undefined)
      throw new UnsupportedConfig(`icsim does not support ${what} (${key})`);
  };
  unsupported('http_gateway_config', 'an HTTP gateway created with the instance');
  for (const key of ['bitcoind_addr', 'dogecoind_addr']) {
    const v = optional(o, key);
    if (v !== undefined && asArray(v, key).length > 0) {
      throw new UnsupportedConfig(`icsim does not support connecting to a bitcoin/dogecoin node (${key})`);
    }
  }
  const features = optional(o, 'icp_features');
  if (features !== undefined) {
    const enabled = Object.entries(asObject(features, 'icp_features'))
      .filter(([, v]) => v !== null)
      .map(([k]) => k);
    if (enabled.length > 0) {
      throw new UnsupportedConfig(
        `icsim does not deploy system canisters (icp_features: ${enabled.join(', ')})`,
      );
    }
  }
  // Accepted and ignored: icp_config, log_level, incomplete_state, disable_ingress_validation, mainnet_nns_subnet_id.

  const config: InstanceConfig = { subnets };
  const result: DecodedInstanceConfig = { config };
  // PocketIC's `state_dir` (a `PathBuf`): the instance is kept there (`simulator/persist/`).
  const stateDir = optional(o, 'state_dir');
  if (stateDir !== undefined) {
    if (typeof stateDir !== 'string' || stateDir === '')
      throw new UnsupportedConfig('state_dir must be a non-empty path');
    result.stateDir = stateDir;
  }
  const initial = optional(o, 'initial_time');
  if (initial !== undefined) {
    const [tag, value] = variant(initial, 'initial_time', ['Timestamp', 'AutoProgress']);
    if (tag === 'Timestamp') {
      config.initialTimeNs = decodeTime(value ?? null);
    } else {
      const delay = decodeAutoProgress(value ?? null);
      result.autoProgress = delay === undefined ? {} : { artificialDelayMs: delay };
    }
  }
  return result;
}
