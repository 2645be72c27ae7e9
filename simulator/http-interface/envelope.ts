/**
 * Envelope validation of the IC HTTP interface, in the replica's order
 * (ic-http-interface.md §8.5; dfinity/ic `rs/validator/src/ingress_validation.rs`):
 * parse → effective canister id → ingress expiry (not for anonymous query
 * and read_state) → nonce → sender and signature → delegation chain and
 * targets. Every refusal is an `HttpInterfaceError` carrying the IC's status
 * and text; nothing is executed before validation passes.
 */
import { Principal } from '@icp-sdk/core/principal';
import { CborError, decodeCbor, isRecord, type CborData, type CborRecord } from './cbor.ts';
import { domainSep } from './hash-tree.ts';
import { concatBytes, equalBytes, toHex } from '../bytes.ts';
import { ingressTooLargeText } from '../errors.ts';
import { HashError, hashOfMap, requestIdOf } from './request-id.ts';
import { KeyError, parsePublicKey, verifySignature, type TrustContext } from './signatures.ts';

/** A 4xx/5xx answer with the IC's plain-text body. */
export class HttpInterfaceError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = 'HttpInterfaceError';
    this.status = status;
  }
}

export type RequestKind = 'call' | 'query' | 'read_state';

/** `MAX_INGRESS_TTL` (5 min) + `PERMITTED_DRIFT_AT_VALIDATOR` (30 s) of the replica. */
export const MAX_INGRESS_TTL_NS = 300_000_000_000n;
export const PERMITTED_DRIFT_NS = 30_000_000_000n;
export const MAX_NONCE_BYTES = 32;
export const MAX_DELEGATIONS = 20;
export const MAX_DELEGATION_TARGETS = 1000;
export const MAX_READ_STATE_PATHS = 1000;
export const MAX_PATH_LABELS = 127;

const REQUEST_SEP = domainSep('ic-request');
const DELEGATION_SEP = domainSep('ic-request-auth-delegation');
const ANONYMOUS = Principal.anonymous();
const MANAGEMENT = Principal.managementCanister();

/** Canisters a request may act on: all, or the intersection of its delegations' targets. */
export type Targets = 'all' | Set<string>;

export interface ValidRequest {
  kind: RequestKind;
  content: CborRecord;
  requestId: Uint8Array;
  sender: Principal;
  ingressExpiry: bigint;
  targets: Targets;
  /** call / query */
  canisterId?: Principal;
  methodName?: string;
  arg?: Uint8Array;
  /** read_state */
  paths?: Uint8Array[][];
}

export interface ValidationContext {
  /** The replica's current time (ns). */
  now: bigint;
  /** The principal in the URL (canister or subnet). */
  effective: Principal;
  /** True for `/subnet/<id>/read_state`: the content has no canister to compare. */
  subnetEndpoint?: boolean;
  trust: TrustContext;
  /** For calls: the target subnet's `max_ingress_bytes_per_message`. */
  maxIngressBytes?: number;
  /** For calls and queries to the management canister: the effective canister id its argument names. */
  managementTarget?: (method: string, arg: Uint8Array) => Principal | 'any' | undefined;
}

/** The IC's UTC time text (`Time`'s Display): `2025-05-01 23:55:18.005285297 UTC`, fraction in 0/3/6/9 digits. */
export function formatIcTime(ns: bigint): string {
  const secs = ns / 1_000_000_000n;
  const nanos = Number(ns % 1_000_000_000n);
  const iso = new Date(Number(secs) * 1000).toISOString();
  let frac = '';
  if (nanos !== 0) {
    const nine = String(nanos).padStart(9, '0');
    frac = '.' + (nanos % 1_000_000 === 0 ? nine.slice(0, 3) : nanos % 1000 === 0 ? nine.slice(0, 6) : nine);
  }
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${frac} UTC`;
}

function malformed(kind: RequestKind, why: string): HttpInterfaceError {
  return new HttpInterfaceError(
    400,
    kind === 'call' ? `Could not parse body as call message: ${why}` : `Malformed request: ${why}`,
  );
}

function blob(kind: RequestKind, v: CborData, field: string): Uint8Array {
  if (!(v instanceof Uint8Array))
    throw malformed(kind, `invalid type: expected a byte string for field \`${field}\``);
  return v;
}

function principal(kind: RequestKind, v: CborData, field: string): Principal {
  const b = blob(kind, v, field);
  if (b.length > 29) throw malformed(kind, `invalid principal in field \`${field}\`: longer than 29 bytes`);
  return Principal.fromUint8Array(b);
}

function nat(kind: RequestKind, v: CborData, field: string): bigint {
  if ((typeof v !== 'number' && typeof v !== 'bigint') || BigInt(v) < 0n) {
    throw malformed(kind, `invalid type: expected an unsigned integer for field \`${field}\``);
  }
  return BigInt(v);
}

/** Decodes and validates an envelope for `kind`; throws `HttpInterfaceError`. */
export function validateEnvelope(kind: RequestKind, body: Uint8Array, ctx: ValidationContext): ValidRequest {
  // ---- parse
  let envelope: CborData;
  try {
    envelope = decodeCbor(body);
  } catch (e) {
    throw malformed(kind, (e as CborError).message);
  }
  if (!isRecord(envelope)) throw malformed(kind, 'the envelope is not a CBOR map');
  const content = envelope.content;
  if (!isRecord(content)) throw malformed(kind, 'missing field `content`');
  const requestType = content.request_type;
  if (requestType !== kind) {
    // Not `String()` of a map or array: it throws for a map with its own `toString` key.
    if (typeof requestType === 'object' && requestType !== null)
      throw malformed(kind, 'invalid type: expected a text string for field `request_type`');
    throw malformed(kind, `unknown variant \`${String(requestType)}\`, expected \`${kind}\``);
  }
  const sender = principal(kind, content.sender, 'sender');
  const ingressExpiry = nat(kind, content.ingress_expiry, 'ingress_expiry');
  const request: ValidRequest = {
    kind,
    content,
    requestId: new Uint8Array(),
    sender,
    ingressExpiry,
    targets: 'all',
  };
  if (kind === 'read_state') {
    if (!Array.isArray(content.paths)) throw malformed(kind, 'missing field `paths`');
    request.paths = content.paths.map((p) => {
      if (!Array.isArray(p)) throw malformed(kind, 'invalid type: a path must be an array of byte strings');
      return p.map((l) => blob(kind, l, 'paths'));
    });
  } else {
    request.canisterId = principal(kind, content.canister_id, 'canister_id');
    if (typeof content.method_name !== 'string') throw malformed(kind, 'missing field `method_name`');
    request.methodName = content.method_name;
    request.arg = blob(kind, content.arg, 'arg');
    if (content.nonce !== undefined && content.nonce !== null) blob(kind, content.nonce, 'nonce');
  }
  try {
    request.requestId = requestIdOf(content);
  } catch (e) {
    throw malformed(kind, (e as HashError).message);
  }

  // ---- effective canister id
  if (request.canisterId && !ctx.subnetEndpoint) {
    const cid = request.canisterId;
    if (cid.compareTo(MANAGEMENT) !== 'eq' && cid.compareTo(ctx.effective) !== 'eq') {
      throw new HttpInterfaceError(
        400,
        `Specified CanisterId ${cid.toText()} does not match effective canister id in URL ${ctx.effective.toText()}`,
      );
    }
    // A management call's effective canister id is the canister its argument names (any for
    // canister creation); a call naming none cannot use the management canister as its
    // effective canister id (spec "Effective canister id").
    if (cid.compareTo(MANAGEMENT) === 'eq' && ctx.managementTarget && request.methodName !== undefined) {
      const target = ctx.managementTarget(request.methodName, request.arg ?? new Uint8Array());
      if (target === undefined && ctx.effective.compareTo(MANAGEMENT) === 'eq') {
        throw new HttpInterfaceError(
          400,
          `The management canister ${MANAGEMENT.toText()} cannot be the effective canister id of ${request.methodName}`,
        );
      }
      if (target !== undefined && target !== 'any' && target.compareTo(ctx.effective) !== 'eq') {
        throw new HttpInterfaceError(
          400,
          `Specified CanisterId ${target.toText()} does not match effective canister id in URL ${ctx.effective.toText()}`,
        );
      }
    }
  }

  // ---- limits
  // The message's size, checked after the effective canister id and before signatures, as the
  // replica does (`validate_ingress_message` in dfinity/ic `rs/http_endpoints/public/src/call.rs`).
  // The replica counts its own CBOR encoding of the envelope, which has no self-describe tag.
  if (kind === 'call' && ctx.maxIngressBytes !== undefined) {
    const size = body.length - (startsWithSelfDescribeTag(body) ? 3 : 0);
    if (size > ctx.maxIngressBytes) {
      throw new HttpInterfaceError(
        413,
        ingressTooLargeText(toHex(request.requestId), size, ctx.maxIngressBytes),
      );
    }
  }
  if (request.paths) {
    if (request.paths.length > MAX_READ_STATE_PATHS) {
      throw new HttpInterfaceError(
        400,
        `Invalid read state request: Too many paths: got ${request.paths.length}, at most ${MAX_READ_STATE_PATHS} are allowed.`,
      );
    }
    const long = request.paths.find((p) => p.length > MAX_PATH_LABELS);
    if (long) {
      throw new HttpInterfaceError(
        400,
        `Invalid read state request: Path too long: got ${long.length} labels, at most ${MAX_PATH_LABELS} are allowed.`,
      );
    }
  }

  // ---- ingress expiry (anonymous query / read_state are exempt, spec 0.29.0)
  const anonymous = sender.compareTo(ANONYMOUS) === 'eq';
  if (!(anonymous && kind !== 'call')) {
    const min = ctx.now;
    const max = ctx.now + MAX_INGRESS_TTL_NS + PERMITTED_DRIFT_NS;
    if (ingressExpiry < min || ingressExpiry > max) {
      throw new HttpInterfaceError(
        400,
        `Invalid request expiry: Specified ingress_expiry not within expected range: Minimum allowed expiry: ${formatIcTime(min)}, ` +
          `Maximum allowed expiry: ${formatIcTime(max)}, Provided expiry: ${formatIcTime(ingressExpiry)}`,
      );
    }
  }

  // ---- nonce
  if (content.nonce instanceof Uint8Array && content.nonce.length > MAX_NONCE_BYTES) {
    throw new HttpInterfaceError(
      400,
      `Nonce in request is too big: got ${content.nonce.length} bytes, but at most ${MAX_NONCE_BYTES} are allowed.`,
    );
  }

  // ---- authentication
  request.targets = authenticate(kind, envelope, request, ctx);
  if (
    request.canisterId &&
    request.targets !== 'all' &&
    !request.targets.has(toHex(request.canisterId.toUint8Array()))
  ) {
    throw new HttpInterfaceError(
      400,
      `Canister '${request.canisterId.toText()}' is not one of the delegation targets.`,
    );
  }
  return request;
}

function present(v: CborData): boolean {
  return v !== undefined && v !== null;
}

function authenticate(
  kind: RequestKind,
  envelope: CborRecord,
  request: ValidRequest,
  ctx: ValidationContext,
): Targets {
  const { sender_pubkey: pubkey, sender_sig: sig, sender_delegation: delegations } = envelope;
  const sender = request.sender;
  if (!present(pubkey) && !present(sig) && !present(delegations)) {
    if (sender.compareTo(ANONYMOUS) !== 'eq')
      throw new HttpInterfaceError(400, `Missing signature from user: ${sender.toText()}`);
    return 'all';
  }
  if (!present(pubkey) || !present(sig)) throw malformed(kind, 'missing pubkey or signature');
  if (sender.compareTo(ANONYMOUS) === 'eq')
    throw new HttpInterfaceError(400, 'Signature is not allowed for the anonymous user.');
  const senderKey = blob(kind, pubkey, 'sender_pubkey');
  const senderSig = blob(kind, sig, 'sender_sig');
  if (!equalBytes(Principal.selfAuthenticating(senderKey).toUint8Array(), sender.toUint8Array())) {
    throw new HttpInterfaceError(
      400,
      `The user id '${sender.toText()}' does not match the public key '${toHex(senderKey)}'`,
    );
  }

  const chain: {
    pubkey: Uint8Array;
    expiration: bigint;
    targets?: Uint8Array[];
    map: CborRecord;
    signature: Uint8Array;
  }[] = [];
  if (present(delegations)) {
    if (!Array.isArray(delegations))
      throw malformed(kind, 'invalid type: `sender_delegation` must be an array');
    for (const sd of delegations) {
      if (!isRecord(sd) || !isRecord(sd.delegation)) throw malformed(kind, 'invalid signed delegation');
      const d = sd.delegation;
      const entry = {
        pubkey: blob(kind, d.pubkey, 'pubkey'),
        expiration: nat(kind, d.expiration, 'expiration'),
        map: d,
        signature: blob(kind, sd.signature, 'signature'),
        targets: undefined as Uint8Array[] | undefined,
      };
      if (present(d.targets)) {
        if (!Array.isArray(d.targets)) throw malformed(kind, 'invalid type: `targets` must be an array');
        entry.targets = d.targets.map((t) => blob(kind, t, 'targets'));
      }
      chain.push(entry);
    }
  }
  if (chain.length > MAX_DELEGATIONS) {
    throw new HttpInterfaceError(
      400,
      `Invalid delegation: Chain of delegations is too long: got ${chain.length} delegations, but at most ${MAX_DELEGATIONS} are allowed`,
    );
  }
  for (const d of chain) {
    if (d.expiration < ctx.now) {
      throw new HttpInterfaceError(
        400,
        `Invalid delegation expiry: Specified sender delegation has expired: Provided expiry: ${formatIcTime(d.expiration)}, Local replica time: ${formatIcTime(ctx.now)}`,
      );
    }
  }
  const keys = [senderKey, ...chain.map((d) => d.pubkey)];
  const seen = new Set<string>();
  for (const k of keys) {
    const h = toHex(k);
    if (seen.has(h))
      throw new HttpInterfaceError(
        400,
        'Invalid delegation: Chain of delegations contains a cycle: a public key appears twice',
      );
    seen.add(h);
  }

  let targets = 'all' as Targets;
  let current = senderKey;
  for (const d of chain) {
    if (d.targets && d.targets.length > MAX_DELEGATION_TARGETS) {
      throw new HttpInterfaceError(
        400,
        `Invalid delegation: Invalid delegation targets: expected at most ${MAX_DELEGATION_TARGETS} targets, got ${d.targets.length}`,
      );
    }
    let key;
    try {
      key = parsePublicKey(current);
    } catch (e) {
      throw new HttpInterfaceError(400, `Invalid delegation: Invalid public key: ${(e as KeyError).message}`);
    }
    let signed: Uint8Array;
    try {
      signed = concatBytes([DELEGATION_SEP, hashOfMap(d.map)]);
    } catch (e) {
      throw malformed(kind, (e as Error).message);
    }
    const failure = verifySignature(key, d.signature, signed, ctx.trust);
    if (failure) throw new HttpInterfaceError(400, `Invalid delegation: ${failure}`);
    if (d.targets) {
      const next = new Set(d.targets.map((t) => toHex(t)));
      targets = targets === 'all' ? next : new Set([...targets].filter((t) => next.has(t)));
    }
    current = d.pubkey;
  }
  let key;
  try {
    key = parsePublicKey(current);
  } catch (e) {
    throw new HttpInterfaceError(400, `Invalid signature: Invalid public key: ${(e as KeyError).message}`);
  }
  const failure = verifySignature(key, senderSig, concatBytes([REQUEST_SEP, request.requestId]), ctx.trust);
  if (failure) throw new HttpInterfaceError(400, `Invalid signature: ${failure}`);
  return targets;
}

/** CBOR's self-describe tag 55799 (`d9 d9 f7`), which agents put in front of an envelope. */
function startsWithSelfDescribeTag(body: Uint8Array): boolean {
  return body[0] === 0xd9 && body[1] === 0xd9 && body[2] === 0xf7;
}
