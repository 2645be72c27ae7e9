// Response verification v2 for every `http_request` answer, the simplest way
// that passes a verifying HTTP gateway (dfinity/portal
// http-gateway-protocol-spec.md, "Response Verification"): one wildcard
// entry at the root, `http_expr/<*>`, certifying the expression
// `default_certification(ValidationArgs{no_certification:Empty{}})`. The
// tree never changes, so certified_data is set once (init / post_upgrade)
// to its root hash, and each reply carries the tree and the canister's data
// certificate.
//
// What it proves is only that this canister chose not to certify the body:
// the bytes rest on the replica that answered the query. Clients that need
// more check the `ETag` (the blob's SHA-256) or read through `read_blob` with
// an update call. Certifying each body would mean one tree entry per public
// blob, link and derivative, with ranges and streams left unverified by
// gateways anyway.

import { sha256 } from './sha256.ts';

const utf8 = new TextEncoder();

export const SKIP_EXPRESSION = 'default_certification(ValidationArgs{no_certification:Empty{}})';

type Tree = { labeled: [Uint8Array, Tree] } | { leaf: Uint8Array };

function domainSeparated(tag: string, ...parts: Uint8Array[]): Uint8Array {
  const t = utf8.encode(tag);
  let n = 1 + t.length;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  out[0] = t.length;
  out.set(t, 1);
  let at = 1 + t.length;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Root hash of a hash tree (interface spec, "Certificate": `reconstruct`). */
function treeHash(t: Tree): Uint8Array {
  if ('leaf' in t) return sha256(domainSeparated('ic-hashtree-leaf', t.leaf));
  return sha256(domainSeparated('ic-hashtree-labeled', t.labeled[0], treeHash(t.labeled[1])));
}

// ---- CBOR (RFC 8949), just the items a hash tree and a path need ----

function cborHead(major: number, n: number): number[] {
  if (n < 24) return [(major << 5) | n];
  if (n < 256) return [(major << 5) | 24, n];
  if (n < 65536) return [(major << 5) | 25, n >> 8, n & 0xff];
  return [(major << 5) | 26, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

function cborTree(t: Tree, out: number[]): void {
  if ('leaf' in t) {
    out.push(...cborHead(4, 2), 3, ...cborHead(2, t.leaf.length), ...t.leaf);
    return;
  }
  out.push(...cborHead(4, 3), 2, ...cborHead(2, t.labeled[0].length), ...t.labeled[0]);
  cborTree(t.labeled[1], out);
}

const SELF_DESCRIBE = [0xd9, 0xd9, 0xf7];

function cborTextArray(items: string[]): Uint8Array {
  const out = [...SELF_DESCRIBE, ...cborHead(4, items.length)];
  for (const s of items) {
    const b = utf8.encode(s);
    out.push(...cborHead(3, b.length), ...b);
  }
  return new Uint8Array(out);
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

export function base64(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 3) {
    const n = (b[i] << 16) | ((b[i + 1] ?? 0) << 8) | (b[i + 2] ?? 0);
    s += B64[(n >> 18) & 63] + B64[(n >> 12) & 63];
    s += i + 1 < b.length ? B64[(n >> 6) & 63] : '=';
    s += i + 2 < b.length ? B64[n & 63] : '=';
  }
  return s;
}

const TREE: Tree = {
  labeled: [
    utf8.encode('http_expr'),
    {
      labeled: [
        utf8.encode('<*>'),
        { labeled: [sha256(utf8.encode(SKIP_EXPRESSION)), { leaf: new Uint8Array(0) }] },
      ],
    },
  ],
};

/** What certified_data must hold for the headers below to verify. */
export function certifiedDataRoot(): Uint8Array {
  return treeHash(TREE);
}

let treeHeader: string | undefined;

/**
 * `IC-Certificate` and `IC-CertificateExpression` for a reply, given the data
 * certificate of this query (none in a replicated call: no headers then).
 */
export function certificationHeaders(certificate: Uint8Array | undefined): [string, string][] {
  if (certificate === undefined) return [];
  if (treeHeader === undefined) {
    const tree: number[] = [...SELF_DESCRIBE];
    cborTree(TREE, tree);
    treeHeader = `tree=:${base64(new Uint8Array(tree))}:, expr_path=:${base64(cborTextArray(['http_expr', '<*>']))}:, version=2`;
  }
  return [
    ['ic-certificate', `certificate=:${base64(certificate)}:, ${treeHeader}`],
    ['ic-certificateexpression', SKIP_EXPRESSION],
  ];
}
