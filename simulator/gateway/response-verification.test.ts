/**
 * Response verification v1 and v2 against certificates signed like a subnet
 * signs them (BLS over the state tree, `simulator/http-interface`), and the
 * canister-id resolution of the gateway's host names. The expected outcomes
 * and texts are those of dfinity/response-verification
 * (`verify_request_response_pair.rs`, `v2_validation.rs`, `error.rs`).
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { Principal } from '@icp-sdk/core/principal';
import { describe, expect, it } from 'vitest';
import { concatBytes } from '../bytes.ts';
import { encodeTagged, type CborData } from '../http-interface/cbor.ts';
import { signCertificate } from '../http-interface/certificate.ts';
import { fullTree, subtree, treeHash, type LabeledTree } from '../http-interface/hash-tree.ts';
import { uleb128, hashOfMap } from '../http-interface/request-id.ts';
import { BLS_DER_PREFIX, blsPublicKey } from '../http-interface/signatures.ts';
import { resolveCanister } from './canister-id.ts';
import { verifyRequestResponsePair, type GatewayHttpRequest } from './response-verification.ts';

const SK = new Uint8Array(32).fill(7);
const ROOT_KEY = concatBytes([BLS_DER_PREFIX, blsPublicKey(SK)]);
const CANISTER = Principal.fromText('rrkah-fqaaa-aaaaa-aaaaq-cai');
const NOW = 1_700_000_000_000_000_000n;
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');
const EMPTY = new Uint8Array();

/** The `IC-Certificate` header for `tree`, its root hash certified at `time`. */
function certificateHeader(
  tree: LabeledTree,
  options: { time?: bigint; certifiedData?: Uint8Array; exprPath?: string[]; version?: number } = {},
): string {
  const cid = CANISTER.toUint8Array();
  const state = subtree([
    ['canister', subtree([[cid, subtree([['certified_data', options.certifiedData ?? treeHash(tree)]])]])],
    ['time', uleb128(options.time ?? NOW)],
  ]);
  const cert = signCertificate(state, [[utf8('canister'), cid, utf8('certified_data')], [utf8('time')]], SK);
  const fields = [
    `certificate=:${b64(cert)}:`,
    `tree=:${b64(encodeTagged(fullTree(tree) as unknown as CborData))}:`,
  ];
  if (options.exprPath) fields.push(`expr_path=:${b64(encodeTagged(options.exprPath))}:`);
  if (options.version !== undefined) fields.push(`version=${options.version}`);
  return fields.join(', ');
}

const get = (url: string, headers: [string, string][] = []): GatewayHttpRequest => ({
  method: 'GET',
  url,
  headers,
  body: EMPTY,
});

function verify(request: GatewayHttpRequest, status: number, headers: [string, string][], body: Uint8Array) {
  return verifyRequestResponsePair(
    request,
    { statusCode: status, headers, body },
    CANISTER.toUint8Array(),
    NOW,
    ROOT_KEY,
  );
}

describe('v1', () => {
  const body = utf8('<h1>hello</h1>');
  const tree = subtree([['http_assets', subtree([['/index.html', sha256(body)]])]]);

  it('passes a body whose hash is certified at its path, or at /index.html as the fallback', () => {
    const headers: [string, string][] = [['IC-Certificate', certificateHeader(tree)]];
    expect(verify(get('/index.html'), 200, headers, body).version).toBe(1);
    expect(verify(get('/app/route?x=1'), 200, headers, body).version).toBe(1);
  });

  it('refuses another body, a stale certificate and a tree the canister did not certify', () => {
    const ok: [string, string][] = [['IC-Certificate', certificateHeader(tree)]];
    expect(() => verify(get('/index.html'), 200, ok, utf8('other'))).toThrow(/^Invalid response body$/);
    const stale: [string, string][] = [
      ['IC-Certificate', certificateHeader(tree, { time: NOW - 301_000_000_000n })],
    ];
    expect(() => verify(get('/index.html'), 200, stale, body)).toThrow(/^Certificate verification failed$/);
    const foreign: [string, string][] = [
      ['IC-Certificate', certificateHeader(tree, { certifiedData: sha256(EMPTY) })],
    ];
    expect(() => verify(get('/index.html'), 200, foreign, body)).toThrow(/^Invalid tree root hash$/);
  });

  it('refuses a response without certification, and a version it does not know', () => {
    expect(() => verify(get('/'), 200, [], body)).toThrow(/^Certification values not found$/);
    const v3: [string, string][] = [['IC-Certificate', certificateHeader(tree, { version: 3 })]];
    expect(() => verify(get('/'), 200, v3, body)).toThrow(
      'The requested verification version 3 is not supported, the current supported range is 1-2',
    );
  });
});

describe('v2', () => {
  const responseOnly =
    'default_certification(ValidationArgs{certification:Certification{no_request_certification:Empty{},' +
    'response_certification:ResponseCertification{response_header_exclusions:ResponseHeaderList{headers:["Date"]}}}})';
  const full =
    'default_certification ( ValidationArgs { certification: Certification { request_certification: RequestCertification ' +
    '{ certified_request_headers: ["Accept"], certified_query_parameters: ["q"] }, response_certification: ' +
    'ResponseCertification { certified_response_headers: ResponseHeaderList { headers: ["Content-Type"] } } } } )';
  const skip = 'default_certification(ValidationArgs{no_certification:Empty{}})';
  const body = utf8('{"ok":true}');

  /** `http_expr/<parts>/<expr hash>/<request hash or "">/<response hash>` → "". */
  function exprTree(parts: string[], expression: string, requestHash: Uint8Array, responseHash?: Uint8Array) {
    let node: LabeledTree = subtree([
      [
        sha256(utf8(expression)),
        responseHash ? subtree([[requestHash, subtree([[responseHash, EMPTY]])]]) : EMPTY,
      ],
    ]);
    for (const p of [...parts].reverse()) node = subtree([[p, node]]);
    return subtree([['http_expr', node]]);
  }

  function responseHash(pairs: Record<string, string | number>, b: Uint8Array): Uint8Array {
    const map: Record<string, CborData> = {};
    for (const [k, v] of Object.entries(pairs)) map[k] = typeof v === 'number' ? BigInt(v) : v;
    return sha256(concatBytes([hashOfMap(map), sha256(b)]));
  }

  it('passes an exact path with response-only certification and keeps only the certified headers', () => {
    const res = responseHash(
      {
        'content-type': 'application/json',
        'ic-certificateexpression': responseOnly,
        ':ic-cert-status': 200,
      },
      body,
    );
    const tree = exprTree(['api', 'data', '<$>'], responseOnly, EMPTY, res);
    const headers: [string, string][] = [
      ['Content-Type', 'application/json'],
      ['Date', 'today'],
      ['IC-CertificateExpression', responseOnly],
      [
        'IC-Certificate',
        certificateHeader(tree, { version: 2, exprPath: ['http_expr', 'api', 'data', '<$>'] }),
      ],
    ];
    const info = verify(get('/api/data'), 200, headers, body);
    expect(info).toEqual({ version: 2, certifiedHeaders: [['content-type', 'application/json']] });
    // The status is certified in v2: the same response as a 404 fails.
    expect(() => verify(get('/api/data'), 404, headers, body)).toThrow(/^Invalid response hashes$/);
  });

  it('hashes the certified request headers, the method and the certified query parameters', () => {
    const request: GatewayHttpRequest = {
      method: 'GET',
      url: '/search?q=ic&page=2',
      headers: [
        ['accept', 'application/json'],
        ['user-agent', 'x'],
      ],
      body: EMPTY,
    };
    const reqHash = sha256(
      concatBytes([
        hashOfMap({ accept: 'application/json', ':ic-cert-method': 'GET', ':ic-cert-query': 'q=ic' }),
        sha256(EMPTY),
      ]),
    );
    const res = responseHash(
      { 'content-type': 'application/json', 'ic-certificateexpression': full, ':ic-cert-status': 200 },
      body,
    );
    const tree = exprTree(['search', '<$>'], full, reqHash, res);
    const headers: [string, string][] = [
      ['content-type', 'application/json'],
      ['ic-certificateexpression', full],
      ['ic-certificate', certificateHeader(tree, { version: 2, exprPath: ['http_expr', 'search', '<$>'] })],
    ];
    expect(verify(request, 200, headers, body).version).toBe(2);
    expect(() => verify({ ...request, url: '/search?q=other&page=2' }, 200, headers, body)).toThrow(
      /^Invalid response hashes$/,
    );
  });

  it('accepts a wildcard only when no exact or more specific path might exist', () => {
    const tree = exprTree(['assets', '<*>'], skip, EMPTY);
    const header = (t: LabeledTree, exprPath: string[]): [string, string][] => [
      ['IC-CertificateExpression', skip],
      ['IC-Certificate', certificateHeader(t, { version: 2, exprPath })],
    ];
    expect(verify(get('/assets/img/a.png'), 200, header(tree, ['http_expr', 'assets', '<*>']), body)).toEqual(
      {
        version: 2,
      },
    );
    expect(() =>
      verify(get('/other/a.png'), 200, header(tree, ['http_expr', 'assets', '<*>']), body),
    ).toThrow(
      'The wildcard expression path provided by the "IC-Certificate" response header (["http_expr", "assets"]) is not valid for the request path ("/other/a.png")',
    );
    expect(() =>
      verify(get('/assets/a.png'), 200, header(tree, ['http_expr', 'assets', 'a.png', '<$>']), body),
    ).toThrow(/^The exact expression path .* was not found in the tree$/);
    const both = subtree([
      [
        'http_expr',
        subtree([
          [
            'assets',
            subtree([
              ['<*>', subtree([[sha256(utf8(skip)), EMPTY]])],
              ['img', subtree([['<*>', subtree([[sha256(utf8(skip)), EMPTY]])]])],
            ]),
          ],
        ]),
      ],
    ]);
    expect(() =>
      verify(get('/assets/img/a.png'), 200, header(both, ['http_expr', 'assets', '<*>']), body),
    ).toThrow(/^A more specific wildcard expression path \(\["http_expr", "assets", "img", "<\*>"\]\)/);
  });

  it('refuses an expression it cannot parse and a missing expression path', () => {
    const tree = exprTree(['<$>'], skip, EMPTY);
    const bad: [string, string][] = [
      ['IC-CertificateExpression', 'default_certification(ValidationArgs{bogus})'],
      ['IC-Certificate', certificateHeader(tree, { version: 2, exprPath: ['http_expr', '<$>'] })],
    ];
    expect(() => verify(get('/'), 200, bad, body)).toThrow(/^Cel parser error$/);
    const noPath: [string, string][] = [
      ['IC-CertificateExpression', skip],
      ['IC-Certificate', certificateHeader(tree, { version: 2 })],
    ];
    expect(() => verify(get('/'), 200, noPath, body)).toThrow(/^Certificate expression path not found$/);
  });
});

describe('resolveCanister', () => {
  const id = CANISTER.toText();
  it('reads <id>.localhost, <id>.raw.localhost, prefixes, ?canisterId= and the referer', () => {
    expect(resolveCanister(`${id}.localhost:4943`, '/', undefined)).toEqual({
      kind: 'canister',
      canisterId: CANISTER,
      verify: true,
    });
    expect(resolveCanister(`${id}.raw.localhost:4943`, '/', undefined)).toMatchObject({ verify: false });
    expect(resolveCanister(`app--${id}.localhost`, '/', undefined)).toMatchObject({ canisterId: CANISTER });
    expect(resolveCanister('127.0.0.1:4943', `/x?canisterId=${id}`, undefined)).toMatchObject({
      verify: true,
    });
    expect(resolveCanister('localhost:4943', '/app.js', `http://${id}.raw.localhost:4943/`)).toMatchObject({
      verify: false,
    });
  });

  it('leaves other hosts alone and refuses a canisterId that is not a principal', () => {
    expect(resolveCanister('127.0.0.1:4943', '/api/v2/status', undefined)).toBeUndefined();
    expect(resolveCanister(`${id}.foo.localhost`, '/', undefined)).toBeUndefined();
    expect(resolveCanister('localhost', '/?canisterId=nope', undefined)).toEqual({
      kind: 'bad-request',
      message: "'canisterId' failed to parse: Invalid Principal",
    });
  });
});
