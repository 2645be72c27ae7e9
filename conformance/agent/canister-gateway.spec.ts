/**
 * The HTTP gateway serves canisters' `http_request` to browsers, as
 * PocketIC's gateway does after `pic.makeLive()` (dfinity/ic
 * `rs/pocket_ic_server/src/state_api/canister_id.rs`; dfinity/http-gateway
 * `ic-http-gateway/src/protocol/handler.rs`; dfinity/portal
 * `http-gateway-protocol-spec.md`): `<id>.localhost` and `?canisterId=<id>`
 * are verified, `<id>.raw.localhost` is not; `upgrade = opt true` becomes an
 * update; streaming callbacks are followed (and the body verified when it
 * came in at most 4 callbacks); failed verification answers 500 and rejects
 * 404 / 502 with the gateway's texts.
 *
 * The canister is `fixtures/motoko/http.mo`. The v2 certification of its
 * certified asset (tree, expression path, hashes) is computed here, as a
 * canister's certification library would, with the agent's own hash-tree
 * and representation-independent hash functions; the gateway checks it
 * against the BLS certificate the canister got from its query.
 */
import { PocketIc } from '@dfinity/pic';
import { encode } from '@dfinity/cbor';
import { hashOfMap, reconstruct, type HashTree } from '@icp-sdk/core/agent';
import { IDL } from '@icp-sdk/core/candid';
import { Principal } from '@icp-sdk/core/principal';
import { sha256 } from '@noble/hashes/sha2.js';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileMotokoCanister } from '../../fixtures/motoko.ts';
import { gatewayRequest } from '../support/gateway-http.ts';
import { createPic } from '../support/pic.ts';

const HeaderField = IDL.Tuple(IDL.Text, IDL.Text);
const Certified = IDL.Record({
  path: IDL.Text,
  status_code: IDL.Nat16,
  headers: IDL.Vec(HeaderField),
  body: IDL.Vec(IDL.Nat8),
  tree: IDL.Text,
  expr_path: IDL.Text,
});
const idlFactory: IDL.InterfaceFactory = ({ IDL: I }) =>
  I.Service({ certify: I.Func([I.Vec(I.Nat8), I.Vec(Certified)], [], []) });

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

let pic: PocketIc;
let port: number;
let canisterId: Principal;
let counterId: Principal;

const utf8 = new TextEncoder();
const expression =
  'default_certification(ValidationArgs{certification:Certification{no_request_certification:Empty{},' +
  'response_certification:ResponseCertification{certified_response_headers:ResponseHeaderList{headers:["Content-Type"]}}}})';
const assetBody = 'certified hello';

/** A GET over real HTTP. `host` names the server the way a browser resolves `*.localhost`: to loopback. */
async function get(path: string, host = '127.0.0.1', method = 'GET'): Promise<Answer> {
  const r = await gatewayRequest(port, host, path, method);
  return { status: r.status, headers: r.headers, text: r.body.toString('utf8') };
}

const labeled = (label: string | Uint8Array, sub: HashTree): HashTree =>
  [2, typeof label === 'string' ? utf8.encode(label) : label, sub] as unknown as HashTree;
const leaf = (value: Uint8Array): HashTree => [3, value] as unknown as HashTree;
const fork = (l: HashTree, r: HashTree): HashTree => [1, l, r] as unknown as HashTree;

/** v2 response hash (ic-http-certification `response_hash`): certified headers, the expression, the status. */
function responseHash(headers: Record<string, string>, status: number, body: Uint8Array): Uint8Array {
  const headersHash = hashOfMap({
    ...headers,
    'ic-certificateexpression': expression,
    ':ic-cert-status': status,
  });
  return sha256(new Uint8Array([...headersHash, ...sha256(body)]));
}

/** `http_expr/<file>/<$>/<expr hash>/""/<response hash>` → leaf "". */
function exprBranch(file: string, resHash: Uint8Array): HashTree {
  return labeled(
    file,
    labeled(
      '<$>',
      labeled(sha256(utf8.encode(expression)), labeled('', labeled(resHash, leaf(new Uint8Array())))),
    ),
  );
}

beforeAll(async () => {
  const http = await compileMotokoCanister(readFileSync('fixtures/motoko/http.mo', 'utf8'));
  const counter = await compileMotokoCanister(readFileSync('fixtures/motoko/counter.mo', 'utf8'));
  pic = await createPic();
  const actor = await pic.setupCanister<{ certify(root: Uint8Array, r: unknown[]): Promise<void> }>({
    idlFactory,
    wasm: http.wasm,
  });
  canisterId = actor.canisterId;
  ({ canisterId: counterId } = await pic.setupCanister({
    idlFactory: () => IDL.Service({}),
    wasm: counter.wasm,
  }));

  // Two certified paths in one tree: `/asset.txt` is served as certified, `/tampered.txt` is
  // certified for the same body but served with another one.
  const headers = { 'content-type': 'text/plain' };
  const good = utf8.encode(assetBody);
  const resHash = responseHash(headers, 200, good);
  const tree = labeled(
    'http_expr',
    fork(exprBranch('asset.txt', resHash), exprBranch('tampered.txt', resHash)),
  );
  const root = await reconstruct(tree);
  const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');
  const entry = (path: string, body: Uint8Array) => ({
    path,
    status_code: 200,
    headers: [
      ['Content-Type', 'text/plain'],
      ['IC-CertificateExpression', expression],
      ['X-Uncertified', 'dropped by v2'],
    ],
    body,
    tree: b64(encode(tree as never)),
    expr_path: b64(encode(['http_expr', path.slice(1), '<$>'])),
  });
  await actor.actor.certify(root, [
    entry('/asset.txt', good),
    entry('/tampered.txt', utf8.encode('tampered body!')),
  ]);
  port = await pic.makeLive();
});

afterAll(async () => {
  await pic?.stopLive();
  await pic?.tearDown();
});

describe('routing', () => {
  it('serves the canister named by <id>.localhost, with the path and method the canister saw', async () => {
    const r = await get('/hello?x=1', `${canisterId.toText()}.raw.localhost`);
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(r.text).toBe('<h1>uncertified GET /hello</h1>');
  });

  it('serves the canister named by ?canisterId= on a plain host', async () => {
    const r = await fetch(`http://127.0.0.1:${port}/asset.txt?canisterId=${canisterId.toText()}`);
    expect(r.status).toBe(200);
    expect(await r.text()).toBe(assetBody);
  });

  it('keeps the IC HTTP interface on /api paths, whatever the host', async () => {
    const r = await get('/api/v2/status', `${canisterId.toText()}.localhost`);
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/cbor');
  });

  it('answers 400 to a canisterId that is not a principal', async () => {
    const r = await fetch(`http://127.0.0.1:${port}/?canisterId=not-a-principal`);
    expect(r.status).toBe(400);
    expect(await r.text()).toBe("'canisterId' failed to parse: Invalid Principal");
  });
});

describe('response verification', () => {
  it('passes a certified v2 response with only its certified headers', async () => {
    const r = await get('/asset.txt', `${canisterId.toText()}.localhost`);
    expect(r.status).toBe(200);
    expect(r.text).toBe(assetBody);
    expect(r.headers['content-type']).toBe('text/plain');
    expect(r.headers['x-uncertified']).toBeUndefined();
    expect(r.headers['ic-certificate']).toBeUndefined();
  });

  it('refuses a body that does not match its certification, with the verifier text', async () => {
    const r = await get('/tampered.txt', `${canisterId.toText()}.localhost`);
    expect(r.status).toBe(500);
    expect(r.text).toBe('Response verification failed: Invalid response hashes');
  });

  it('refuses an uncertified response on a verified domain', async () => {
    const r = await fetch(`http://127.0.0.1:${port}/page?canisterId=${canisterId.toText()}`);
    expect(r.status).toBe(500);
    expect(await r.text()).toBe('Response verification failed: Certification values not found');
  });

  it('serves the tampered body and every header on the raw domain, which skips verification', async () => {
    const r = await get('/tampered.txt', `${canisterId.toText()}.raw.localhost`);
    expect(r.status).toBe(200);
    expect(r.text).toBe('tampered body!');
    expect(r.headers['x-uncertified']).toBe('dropped by v2');
    expect(r.headers['ic-certificate']).toMatch(/^certificate=:[A-Za-z0-9+/=]+:, tree=:/);
  });
});

describe('upgrades and streaming', () => {
  it('upgrades to http_request_update when the query answers upgrade = opt true; its state is kept', async () => {
    const host = `${canisterId.toText()}.localhost`;
    const first = await get('/update', host, 'POST');
    expect(first.status).toBe(200);
    expect(first.text).toMatch(/^updated (\d+) by POST$/);
    const n = Number(/(\d+)/.exec(first.text)![1]);
    const second = await get('/update', host, 'POST');
    expect(second.text).toBe(`updated ${n + 1} by POST`);
  });

  it('follows the streaming callback until the token is null', async () => {
    const r = await get('/stream', `${canisterId.toText()}.raw.localhost`);
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/plain');
    expect(r.text).toBe('chunk-0;chunk-1;chunk-2;chunk-3;');
  });

  it('verifies a body streamed in at most 4 callbacks like any other', async () => {
    const r = await get('/stream', `${canisterId.toText()}.localhost`);
    expect(r.status).toBe(500);
    expect(r.text).toBe('Response verification failed: Certification values not found');
  });

  it('completes a 206 reply with Range requests, without Content-Range and unverified', async () => {
    const r = await get('/ranged', `${canisterId.toText()}.localhost`);
    expect(r.status).toBe(206);
    expect(r.text).toBe('0123456789');
    expect(r.headers['content-range']).toBeUndefined();
  });

  it('passes a longer stream on unverified', async () => {
    const r = await get('/long-stream', `${canisterId.toText()}.localhost`);
    expect(r.status).toBe(200);
    expect(r.text).toBe('chunk-0;chunk-1;chunk-2;chunk-3;chunk-4;chunk-5;chunk-6;');
  });
});

describe('errors', () => {
  it('answers 502 with the replica error when http_request traps', async () => {
    const r = await get('/trap', `${canisterId.toText()}.localhost`);
    expect(r.status).toBe(502);
    expect(r.text).toMatch(
      /^Replica Error: reject code CanisterError, message .*http_request trapped on purpose/,
    );
    expect(r.text).toMatch(/error code Some\("IC0503"\)$/);
  });

  it('answers 500 when the canister gives a header HTTP cannot carry', async () => {
    const r = await get('/bad-header', `${canisterId.toText()}.raw.localhost`);
    expect(r.status).toBe(500);
    expect(r.text).toMatch(/^Failed to build response: /);
  });

  it('answers 404 with the reject message for a canister that does not exist', async () => {
    const missing = Principal.fromUint8Array(new Uint8Array([0, 0, 0, 0, 0x0f, 0xff, 0xff, 0xf0, 1, 1]));
    const r = await get('/', `${missing.toText()}.localhost`);
    expect(r.status).toBe(404);
    expect(r.text).toContain(missing.toText());
  });

  it('answers 502 with the replica error for a canister without http_request', async () => {
    // The replica rejects a missing method with CanisterError (IC0536; dfinity/ic
    // `rs/types/error_types`: CanisterMethodNotFound => CanisterError), so it is not the 404 of
    // DestinationInvalid.
    const r = await get('/', `${counterId.toText()}.localhost`);
    expect(r.status).toBe(502);
    expect(r.text).toMatch(
      /^Replica Error: reject code CanisterError, message .*has no query method 'http_request'/,
    );
    expect(r.text).toMatch(/error code Some\("IC0536"\)$/);
  });
});
