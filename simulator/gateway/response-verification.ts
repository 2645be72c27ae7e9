/**
 * Response verification of the HTTP gateway protocol (dfinity/portal
 * `http-gateway-protocol-spec.md`, "Response Verification"), versions 1 and 2,
 * as `ic-response-verification` does it (dfinity/response-verification
 * `verify_request_response_pair.rs`, `validation/v2_validation.rs`,
 * `ic-http-certification/src/hash/{request,response}_hash.rs`); the error
 * texts are that crate's `ResponseVerificationError` messages.
 *
 * The certificate itself is checked with the IC HTTP interface's own
 * `verifyCertificate` (signature, delegation, canister ranges) plus the
 * gateway's freshness bound of 5 minutes (`MAX_CERT_TIME_OFFSET_NS` in
 * ic-http-gateway `validate.rs`).
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { gunzipSync, inflateSync } from 'node:zlib';
import { compareBytes, concatBytes, equalBytes } from '../bytes.ts';
import { decodeCbor } from '../http-interface/cbor.ts';
import { lookupPath, parseHashTree, reconstruct, type HashTree } from '../http-interface/hash-tree.ts';
import { uleb128 } from '../http-interface/request-id.ts';
import { verifyCertificate } from '../http-interface/signatures.ts';
import { parseCertificationExpression, ResponseVerificationError, type Certification } from './cel.ts';

/** ic-http-gateway `validate.rs`. */
export const MAX_CERT_TIME_OFFSET_NS = 300_000_000_000n;
export const MIN_VERIFICATION_VERSION = 1;
export const MAX_VERIFICATION_VERSION = 2;

export { ResponseVerificationError };

export interface GatewayHttpRequest {
  method: string;
  /** Path and query, as sent to the canister. */
  url: string;
  headers: readonly (readonly [string, string])[];
  body: Uint8Array;
}

export interface GatewayHttpResponse {
  statusCode: number;
  headers: readonly (readonly [string, string])[];
  body: Uint8Array;
}

export interface VerificationInfo {
  version: 1 | 2;
  /** v2: the certified headers only (undefined when the canister certified `no_certification`). */
  certifiedHeaders?: [string, string][];
}

const utf8 = new TextEncoder();
const hash = (b: Uint8Array | string): Uint8Array => sha256(typeof b === 'string' ? utf8.encode(b) : b);

/** The IC's representation-independent hash over key/value pairs (repeated keys allowed). */
function riHash(pairs: readonly (readonly [string, string | bigint])[]): Uint8Array {
  const entries = pairs
    .map(([k, v]) => concatBytes([hash(k), typeof v === 'string' ? hash(v) : hash(uleb128(v))]))
    .sort(compareBytes);
  return hash(concatBytes(entries));
}

/** `IC-Certificate: certificate=:…:, tree=:…:, expr_path=:…:, version=2` (certificate_header.rs). */
function parseCertificateHeader(value: string): {
  certificate?: Uint8Array;
  tree?: Uint8Array;
  exprPath?: Uint8Array;
  version?: number;
} {
  const out: ReturnType<typeof parseCertificateHeader> = {};
  for (const field of value.split(',')) {
    const m = /^\s*([A-Za-z_]+)=(.*?)\s*$/.exec(field);
    if (!m) continue;
    const [, name, raw] = m as unknown as [string, string, string];
    if (name === 'version') {
      if (!/^\d+$/.test(raw)) throw new ResponseVerificationError('Error parsing int');
      out.version = Number(raw);
      continue;
    }
    const b64 = /^:(.*):$/.exec(raw)?.[1];
    if (b64 === undefined) continue;
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) throw new ResponseVerificationError('Base64 decoding error');
    const bytes = new Uint8Array(Buffer.from(b64, 'base64'));
    if (name === 'certificate') out.certificate = bytes;
    else if (name === 'tree') out.tree = bytes;
    else if (name === 'expr_path') out.exprPath = bytes;
  }
  return out;
}

function parseTree(bytes: Uint8Array): HashTree {
  try {
    return parseHashTree(decodeCbor(bytes));
  } catch {
    throw new ResponseVerificationError('CBOR decoding failed');
  }
}

function readLeb128(bytes: Uint8Array): bigint {
  let n = 0n;
  let shift = 0n;
  for (const b of bytes) {
    n |= BigInt(b & 0x7f) << shift;
    shift += 7n;
    if ((b & 0x80) === 0) break;
  }
  return n;
}

/** Signature, delegation and freshness (ic-certificate-verification); any failure has one text. */
function verifyCertificateAt(
  bytes: Uint8Array,
  rootKey: Uint8Array,
  canisterId: Uint8Array,
  nowNs: bigint,
): HashTree {
  const failed = (): ResponseVerificationError =>
    new ResponseVerificationError('Certificate verification failed');
  let tree: HashTree;
  try {
    ({ tree } = verifyCertificate(bytes, rootKey, canisterId));
  } catch {
    throw failed();
  }
  const time = lookupPath(tree, ['time']);
  if (time.status !== 'found') throw failed();
  const t = readLeb128(time.value);
  const offset = t > nowNs ? t - nowNs : nowNs - t;
  if (offset > MAX_CERT_TIME_OFFSET_NS) throw failed();
  return tree;
}

/** The path of a request URL, percent-decoded (`HttpRequest::get_path`). */
function requestPath(url: string): string {
  const path = new URL(url, 'http://gateway.invalid').pathname;
  try {
    return decodeURIComponent(path);
  } catch {
    throw new ResponseVerificationError(`HTTP Certification error: "Malformed URL: ${url}"`);
  }
}

function decodeBody(body: Uint8Array, encoding: string | undefined): Uint8Array {
  try {
    if (encoding === 'gzip') return new Uint8Array(gunzipSync(body));
    if (encoding === 'deflate') return new Uint8Array(inflateSync(body));
  } catch {
    throw new ResponseVerificationError('IO error: "invalid compressed body"');
  }
  return body;
}

/**
 * Verifies `response` for `request` from `canisterId` against the root key, at `nowNs`.
 * @throws ResponseVerificationError with the gateway's text.
 */
export function verifyRequestResponsePair(
  request: GatewayHttpRequest,
  response: GatewayHttpResponse,
  canisterId: Uint8Array,
  nowNs: bigint,
  rootKey: Uint8Array,
): VerificationInfo {
  const headers = new Map(response.headers.map(([k, v]) => [k.toLowerCase(), v]));
  const certificateHeader = headers.get('ic-certificate');
  if (certificateHeader === undefined) throw new ResponseVerificationError('Certification values not found');
  const header = parseCertificateHeader(certificateHeader);
  if (!header.tree) throw new ResponseVerificationError('Tree not found');
  const tree = parseTree(header.tree);
  if (!header.certificate) throw new ResponseVerificationError('Certificate not found');
  const version = header.version ?? MIN_VERIFICATION_VERSION;
  if (version < MIN_VERIFICATION_VERSION || version > MAX_VERIFICATION_VERSION) {
    throw new ResponseVerificationError(
      `The requested verification version ${version} is not supported, the current supported range is ${MIN_VERIFICATION_VERSION}-${MAX_VERIFICATION_VERSION}`,
    );
  }
  const certTree = (): HashTree => {
    const ct = verifyCertificateAt(header.certificate!, rootKey, canisterId, nowNs);
    const data = lookupPath(ct, ['canister', canisterId, 'certified_data']);
    if (data.status !== 'found' || !equalBytes(data.value, reconstruct(tree)))
      throw new ResponseVerificationError('Invalid tree root hash');
    return ct;
  };

  if (version === 1) {
    certTree();
    const path = requestPath(request.url);
    const encoding = headers.get('content-encoding');
    const expected = bodyHashV1(tree, path);
    const ok =
      expected !== undefined &&
      (equalBytes(expected, hash(decodeBody(response.body, encoding))) ||
        (encoding !== undefined && equalBytes(expected, hash(response.body))));
    if (!ok) throw new ResponseVerificationError('Invalid response body');
    return { version: 1 };
  }

  const expression = headers.get('ic-certificateexpression');
  if (expression === undefined) throw new ResponseVerificationError('Certification values not found');
  if (!header.exprPath) throw new ResponseVerificationError('Certificate expression path not found');
  const exprPath = parseExprPath(header.exprPath);
  const certification = parseCertificationExpression(expression);
  const exprHash = hash(expression);
  const path = requestPath(request.url);
  certTree();
  validateExprPath(exprPath, path, tree);

  const exprTree = lookupSubtree(tree, [...exprPath, exprHash]);
  if (certification.kind === 'skip') {
    if (exprTree === undefined) throw new ResponseVerificationError('Invalid expression path');
    return { version: 2 };
  }
  const certified = filterResponseHeaders(response.headers, certification);
  const headersHash = riHash([...certified.hashed, [':ic-cert-status', BigInt(response.statusCode)]]);
  const responseHash = hash(concatBytes([headersHash, hash(response.body)]));
  const requestHash = certification.request ? requestHashOf(request, certification.request) : undefined;
  const leaf =
    exprTree === undefined ? undefined : lookupSubtree(exprTree, [requestHash ?? '', responseHash]);
  if (leaf === undefined || leaf[0] !== 3 || leaf[1].length !== 0)
    throw new ResponseVerificationError('Invalid response hashes');
  return { version: 2, certifiedHeaders: certified.headers };
}

/** v1: `http_assets/<path>`, falling back to `http_assets//index.html` (common_validation.rs). */
function bodyHashV1(tree: HashTree, path: string): Uint8Array | undefined {
  for (const p of [path, '/index.html']) {
    const r = lookupPath(tree, ['http_assets', p]);
    if (r.status === 'found') return r.value;
  }
  return undefined;
}

function parseExprPath(bytes: Uint8Array): string[] {
  let v;
  try {
    v = decodeCbor(bytes);
  } catch {
    throw new ResponseVerificationError('CBOR decoding failed');
  }
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string'))
    throw new ResponseVerificationError('CBOR decoding failed');
  return v as string[];
}

/** `lookup_subtree`: the subtree at `path`, undefined unless found. */
function lookupSubtree(tree: HashTree, path: readonly (string | Uint8Array)[]): HashTree | undefined {
  const r = lookupPath(tree, path);
  if (r.status === 'found') return [3, r.value];
  if (r.status === 'found-subtree') return r.tree;
  return undefined;
}

function mightExist(tree: HashTree, path: readonly string[]): boolean {
  return lookupPath(tree, path).status !== 'absent';
}

const debug = (p: readonly string[]): string => `[${p.map((s) => JSON.stringify(s)).join(', ')}]`;

/** `validate_expr_path` of v2_validation.rs. */
function validateExprPath(exprPath: string[], path: string, tree: HashTree): void {
  if (exprPath[0] !== 'http_expr') {
    throw new ResponseVerificationError(
      `The expression path provided by the "IC-Certificate" response header (${debug(exprPath)}) has an unexpected prefix and should start with "http_expr"`,
    );
  }
  const last = exprPath[exprPath.length - 1];
  if (last !== '<$>' && last !== '<*>') {
    throw new ResponseVerificationError(
      `The expression path provided by the "IC-Certificate" response header (${debug(exprPath)}) has an unexpected suffix and should end with "<$>" or "<*>"`,
    );
  }
  const urlParts = ['http_expr', ...path.split('/').filter((s) => s !== '')];
  if (path.endsWith('/')) urlParts.push('');
  const exact = [...urlParts, '<$>'];
  const same = (a: readonly string[], b: readonly string[]): boolean =>
    a.length === b.length && a.every((s, i) => s === b[i]);
  if (same(exprPath, exact)) {
    if (lookupSubtree(tree, exprPath) !== undefined) return;
    throw new ResponseVerificationError(
      `The exact expression path provided by the "IC-Certificate" response header (${debug(exprPath)}) was not found in the tree`,
    );
  }
  if (last === '<$>') {
    throw new ResponseVerificationError(
      `The exact expression path provided by the "IC-Certificate" response header (${debug(exprPath)}) is not valid for the request path (${JSON.stringify(path)})`,
    );
  }
  if (mightExist(tree, exact)) {
    throw new ResponseVerificationError(
      `A wildcard expression path was provided by the "IC-Certificate" response header (${debug(exprPath)}), but a potential exact expression path (${debug(exact)}) is valid for the request path (${JSON.stringify(path)}) and might exist in the tree`,
    );
  }
  const prefix = exprPath.slice(0, -1);
  if (prefix.length > urlParts.length || !prefix.every((s, i) => s === urlParts[i])) {
    throw new ResponseVerificationError(
      `The wildcard expression path provided by the "IC-Certificate" response header (${debug(prefix)}) is not valid for the request path (${JSON.stringify(path)})`,
    );
  }
  // Wildcards more specific than the one given (longer prefixes of the URL) must be absent.
  for (let n = urlParts.length; n > prefix.length; n--) {
    const candidate = [...urlParts.slice(0, n), '<*>'];
    if (mightExist(tree, candidate)) {
      throw new ResponseVerificationError(
        `A more specific wildcard expression path (${debug(candidate)}) than the one provided by the "IC-Certificate" response header (${debug(exprPath)}) that is valid for the request path (${JSON.stringify(path)}) might exist in the tree`,
      );
    }
  }
  if (lookupSubtree(tree, exprPath) === undefined) {
    throw new ResponseVerificationError(
      `The wildcard expression path provided by the "IC-Certificate" response header (${debug(exprPath)}) is valid for the request path (${JSON.stringify(path)}), but was not found in the tree`,
    );
  }
}

/** `filter_response_headers` (response_hash.rs): what is hashed, and what the gateway passes on. */
function filterResponseHeaders(
  headers: readonly (readonly [string, string])[],
  certification: Extract<Certification, { kind: 'certified' }>,
): { hashed: [string, string][]; headers: [string, string][] } {
  const { response } = certification;
  const listed = (name: string): boolean =>
    response.headers.some((h) => h.toLowerCase() === name.toLowerCase());
  const hashed: [string, string][] = [];
  const passed: [string, string][] = [];
  let expression: string | undefined;
  for (const [name, value] of headers) {
    const lower = name.toLowerCase();
    if (lower === 'ic-certificate') continue;
    if (lower === 'ic-certificateexpression') {
      expression = value;
      continue;
    }
    const include = response.kind === 'certified_response_headers' ? listed(name) : !listed(name);
    if (include) {
      hashed.push([lower, value]);
      passed.push([lower, value]);
    }
  }
  if (expression !== undefined) hashed.push(['ic-certificateexpression', expression]);
  return { hashed, headers: passed };
}

/** `request_hash` (request_hash.rs). */
function requestHashOf(
  request: GatewayHttpRequest,
  certification: { headers: readonly string[]; queryParameters: readonly string[] },
): Uint8Array {
  const pairs: [string, string][] = request.headers
    .filter(([name]) => certification.headers.some((h) => h.toLowerCase() === name.toLowerCase()))
    .map(([name, value]) => [name.toLowerCase(), value]);
  pairs.push([':ic-cert-method', request.method]);
  const q = request.url.indexOf('?');
  if (q !== -1) {
    const query = request.url.slice(q + 1).split('#')[0]!;
    const kept = query
      .split('&')
      .filter((fragment) =>
        certification.queryParameters.some((p) => p.toLowerCase() === fragment.split('=')[0]!.toLowerCase()),
      );
    pairs.push([':ic-cert-query', kept.join('&')]);
  }
  return hash(concatBytes([riHash(pairs), hash(request.body)]));
}
