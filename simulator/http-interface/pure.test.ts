/**
 * The pure parts of the IC HTTP interface against the specification's
 * vectors and the agent's own implementation: request ids, hash trees,
 * certificates (verified by agent-js `Certificate.create`), signatures.
 */
import { Certificate, requestIdOf as agentRequestId, lookupResultToBuffer } from '@icp-sdk/core/agent';
import { Ed25519KeyIdentity, ECDSAKeyIdentity } from '@icp-sdk/core/identity';
import { Secp256k1KeyIdentity } from '@icp-sdk/core/identity/secp256k1';
import { Principal } from '@icp-sdk/core/principal';
import { describe, expect, it } from 'vitest';
import { decodeCbor, decodeCborItem, encodeTagged, mapGetInt } from './cbor.ts';
import { formatIcTime } from './envelope.ts';
import { fullTree, lookupPath, reconstruct, subtree, treeHash, witness, type HashTree } from './hash-tree.ts';
import { concatBytes, fromHex, toHex } from '../bytes.ts';
import { hashOfMap, requestIdOf } from './request-id.ts';
import { blsPublicKey, BLS_DER_PREFIX, parsePublicKey, verifySignature } from './signatures.ts';
import { signCertificate } from './certificate.ts';

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('request id', () => {
  const content = {
    request_type: 'call',
    sender: Uint8Array.of(0x04),
    ingress_expiry: 1685570400000000000n,
    canister_id: fromHex('00000000000004d2'),
    method_name: 'hello',
    arg: Uint8Array.from([0x44, 0x49, 0x44, 0x4c, 0x00, 0xfd, 0x2a]),
  };

  it('matches the specification example', () => {
    expect(toHex(requestIdOf(content))).toBe(
      '1d1091364d6bb8a6c16b203ee75467d59ead468f523eb058880ae8ec80e2b101',
    );
  });

  it('is independent of integer width and key order, and equals the agent’s', () => {
    const { arg, ingress_expiry, ...rest } = content;
    const reordered = { arg, ingress_expiry, ...rest };
    expect(toHex(requestIdOf(reordered))).toBe(toHex(requestIdOf(content)));
    const decoded = decodeCbor(encodeTagged(content));
    expect(toHex(requestIdOf(decoded as Record<string, never>))).toBe(toHex(requestIdOf(content)));
    expect(
      toHex(requestIdOf({ ...content, nonce: Uint8Array.of(1, 2), paths: [[utf8('time')]], n: 624485 })),
    ).toBe(
      toHex(agentRequestId({ ...content, nonce: Uint8Array.of(1, 2), paths: [[utf8('time')]], n: 624485 })),
    );
  });

  it('skips absent fields and hashes nested maps', () => {
    expect(toHex(hashOfMap({ a: 1, b: undefined, c: null }))).toBe(toHex(hashOfMap({ a: 1 })));
    const nested = { sender_info: { info: Uint8Array.of(1), signer: Uint8Array.of(2) }, x: 'y' };
    expect(toHex(requestIdOf(nested))).toBe(toHex(agentRequestId(nested)));
  });
});

describe('hash trees', () => {
  // IC interface specification, "Example" under Certification.
  const tree: HashTree = [
    1,
    [
      1,
      [2, utf8('a'), [1, [1, [2, utf8('x'), [3, utf8('hello')]], [0]], [2, utf8('y'), [3, utf8('world')]]]],
      [2, utf8('b'), [3, utf8('good')]],
    ],
    [1, [2, utf8('c'), [0]], [2, utf8('d'), [3, utf8('morning')]]],
  ];

  it('reconstructs the specification example root hash', () => {
    expect(toHex(reconstruct(tree))).toBe('eb5c5b2195e62d996b84c9bcc8259d19a83786a2f59e0878cec84c811f669aa0');
  });

  const state = subtree([
    ['time', Uint8Array.of(1)],
    [
      'canister',
      subtree([
        [
          Uint8Array.of(1),
          subtree([
            ['module_hash', Uint8Array.of(9)],
            ['controllers', Uint8Array.of(8)],
          ]),
        ],
      ]),
    ],
    ['request_status', subtree([[new Uint8Array(32).fill(5), subtree([['status', utf8('replied')]])]])],
    ['subnet', subtree([])],
  ]);

  it('witnesses keep the full tree’s root hash and reveal exactly what was asked', () => {
    const full = fullTree(state);
    expect(toHex(reconstruct(full))).toBe(toHex(treeHash(state)));
    const w = witness(state, [[utf8('time')], [utf8('canister'), Uint8Array.of(1), utf8('module_hash')]]);
    expect(toHex(reconstruct(w))).toBe(toHex(treeHash(state)));
    expect(lookupPath(w, ['time'])).toEqual({ status: 'found', value: Uint8Array.of(1) });
    expect(lookupPath(w, ['canister', Uint8Array.of(1), 'module_hash'])).toEqual({
      status: 'found',
      value: Uint8Array.of(9),
    });
    expect(lookupPath(w, ['canister', Uint8Array.of(1), 'controllers']).status).toBe('unknown');
    expect(lookupPath(w, ['request_status']).status).toBe('unknown');
  });

  it('proves absence with the neighbours of a missing label', () => {
    const w = witness(state, [[utf8('request_status'), new Uint8Array(32).fill(6)]]);
    expect(toHex(reconstruct(w))).toBe(toHex(treeHash(state)));
    expect(lookupPath(w, ['request_status', new Uint8Array(32).fill(6), 'status']).status).toBe('absent');
  });
});

describe('certificates', () => {
  const sk = new Uint8Array(32).fill(7);
  const rootKey = concatBytes([BLS_DER_PREFIX, blsPublicKey(sk)]);
  const nowNs = BigInt(Date.now()) * 1_000_000n;
  const leb = (n: bigint): Uint8Array => {
    const out: number[] = [];
    do {
      let b = Number(n & 0x7fn);
      n >>= 7n;
      if (n) b |= 0x80;
      out.push(b);
    } while (n);
    return Uint8Array.from(out);
  };
  const state = subtree([
    ['time', leb(nowNs)],
    ['canister', subtree([[Uint8Array.of(1, 2), subtree([['certified_data', utf8('data')]])]])],
  ]);

  it('is accepted by agent-js Certificate.create with the simulator root key', async () => {
    const bytes = signCertificate(state, [[utf8('time')]], sk);
    const cert = await Certificate.create({
      certificate: bytes,
      rootKey,
      principal: { canisterId: Principal.fromUint8Array(Uint8Array.of(1, 2)) },
    });
    expect(lookupResultToBuffer(cert.lookup_path(['time']))).toEqual(leb(nowNs));
  });

  it('is refused by agent-js under another root key', async () => {
    const other = concatBytes([BLS_DER_PREFIX, blsPublicKey(new Uint8Array(32).fill(8))]);
    const bytes = signCertificate(state, [[utf8('time')]], sk);
    await expect(
      Certificate.create({
        certificate: bytes,
        rootKey: other,
        principal: { canisterId: Principal.fromUint8Array(Uint8Array.of(1, 2)) },
      }),
    ).rejects.toThrow(/signature/i);
  });
});

describe('signatures', () => {
  const message = concatBytes([Uint8Array.of(10), utf8('ic-request'), new Uint8Array(32).fill(3)]);

  it('verifies Ed25519, secp256k1 and P-256 identities of the agent and refuses tampering', async () => {
    const identities = [
      Ed25519KeyIdentity.generate(),
      Secp256k1KeyIdentity.generate(),
      await ECDSAKeyIdentity.generate(),
    ];
    for (const id of identities) {
      const der = new Uint8Array(id.getPublicKey().toDer());
      const sig = new Uint8Array(await id.sign(message));
      const pk = parsePublicKey(der);
      expect(verifySignature(pk, sig, message, { rootKey: new Uint8Array() })).toBeUndefined();
      const bad = sig.slice();
      bad[5]! ^= 1;
      expect(verifySignature(pk, bad, message, { rootKey: new Uint8Array() })).toMatch(
        /could not be verified/,
      );
    }
  });

  it('reads COSE keys with integer map keys', () => {
    const item = decodeCborItem(Uint8Array.from([0xa2, 0x01, 0x02, 0x20, 0x41, 0x07]));
    expect(mapGetInt(item, 1)).toEqual({ type: 'uint', value: 2n });
    expect(mapGetInt(item, -1)).toEqual({ type: 'bytes', value: Uint8Array.of(7) });
  });
});

describe('time text', () => {
  it('formats like the replica', () => {
    expect(formatIcTime(1746143718005285297n)).toBe('2025-05-01 23:55:18.005285297 UTC');
    expect(formatIcTime(1746103080000000000n)).toBe('2025-05-01 12:38:00 UTC');
    expect(formatIcTime(1746103080500000000n)).toBe('2025-05-01 12:38:00.500 UTC');
  });
});
