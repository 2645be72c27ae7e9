/**
 * Envelope authentication beyond what the agents' own identities produce:
 * WebAuthn (COSE P-256) signatures, canister signatures (Internet Identity's
 * delegation root), delegation expiry, targets, chain length, anonymous rules
 * and the nonce limit — all against `validateEnvelope` directly.
 */
import { generateKeyPairSync, sign as nodeSign } from 'node:crypto';
import { Ed25519KeyIdentity } from '@icp-sdk/core/identity';
import { Principal } from '@icp-sdk/core/principal';
import { p256 } from '@noble/curves/nist.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { decodeCbor, encodeTagged, type CborRecord } from './cbor.ts';
import { signCertificate } from './certificate.ts';
import { HttpInterfaceError, validateEnvelope, type ValidationContext } from './envelope.ts';
import { domainSep, subtree, treeHash, witness } from './hash-tree.ts';
import { concatBytes, fromHex } from '../bytes.ts';
import { hashOfMap, requestIdOf, uleb128 } from './request-id.ts';
import { BLS_DER_PREFIX, blsPublicKey, parsePublicKey, verifySignature } from './signatures.ts';

const NOW = 1_750_000_000_000_000_000n;
const CANISTER = Principal.fromText('ryjl3-tyaaa-aaaaa-aaaba-cai');
const ROOT_SK = new Uint8Array(32).fill(9);
const ROOT_KEY = concatBytes([BLS_DER_PREFIX, blsPublicKey(ROOT_SK)]);
const ctx: ValidationContext = { now: NOW, effective: CANISTER, trust: { rootKey: ROOT_KEY } };
const utf8 = (s: string) => new TextEncoder().encode(s);
const REQUEST_SEP = domainSep('ic-request');
const DELEGATION_SEP = domainSep('ic-request-auth-delegation');

function callContent(sender: Principal, extra: CborRecord = {}): CborRecord {
  return {
    request_type: 'call',
    canister_id: CANISTER.toUint8Array(),
    method_name: 'm',
    arg: new Uint8Array(),
    sender: sender.toUint8Array(),
    ingress_expiry: NOW + 60_000_000_000n,
    ...extra,
  };
}

function refusal(body: Uint8Array, kind: 'call' | 'query' | 'read_state' = 'call'): HttpInterfaceError {
  try {
    validateEnvelope(kind, body, ctx);
  } catch (e) {
    if (e instanceof HttpInterfaceError) return e;
    throw e;
  }
  throw new Error('the envelope was accepted');
}

// ---- WebAuthn --------------------------------------------------------------------

function webAuthnKey() {
  const sk = p256.utils.randomSecretKey();
  const pub = p256.getPublicKey(sk, false);
  const cose = concatBytes([
    fromHex('a5010203262001215820'),
    pub.subarray(1, 33),
    fromHex('225820'),
    pub.subarray(33, 65),
  ]);
  const der = concatBytes([fromHex('305e300c060a2b0601040183b8430101034e00'), cose]);
  const sign = (message: Uint8Array, challenge = Buffer.from(message).toString('base64url')) => {
    const authenticatorData = crypto.getRandomValues(new Uint8Array(37));
    const clientData = JSON.stringify({ type: 'webauthn.get', challenge, origin: 'https://example.org' });
    const signature = p256.sign(concatBytes([authenticatorData, sha256(utf8(clientData))]), sk, {
      format: 'der',
    });
    return encodeTagged({ authenticator_data: authenticatorData, client_data_json: clientData, signature });
  };
  return { der, sign };
}

describe('WebAuthn signatures', () => {
  it('accept a COSE P-256 key signing the challenge, refuse another challenge', () => {
    const key = webAuthnKey();
    const message = concatBytes([REQUEST_SEP, new Uint8Array(32).fill(1)]);
    const pk = parsePublicKey(key.der);
    expect(pk.kind).toBe('webauthn-p256');
    expect(verifySignature(pk, key.sign(message), message, ctx.trust)).toBeUndefined();
    expect(verifySignature(pk, key.sign(message, 'AAAA'), message, ctx.trust)).toMatch(
      /Challenge in client data/,
    );
  });

  it('accept a COSE RSA (RS256) key, refuse its signature over other data and an RSA key of another algorithm', () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwk = publicKey.export({ format: 'jwk' });
    const n = new Uint8Array(Buffer.from(jwk.n!, 'base64url'));
    const e = new Uint8Array(Buffer.from(jwk.e!, 'base64url'));
    // COSE_Key {1: 3 (RSA), 3: alg, -1: n, -2: e}, by hand: 0xa4, then the four entries.
    const coseRsa = (alg: number[]) =>
      Uint8Array.from([
        0xa4,
        0x01,
        0x03,
        0x03,
        ...alg,
        0x20,
        0x59,
        0x01,
        0x00,
        ...n,
        0x21,
        0x40 | e.length,
        ...e,
      ]);
    const spki = (cose: Uint8Array) => {
      const bits = concatBytes([
        Uint8Array.of(0x03, 0x82, (cose.length + 1) >> 8, (cose.length + 1) & 0xff, 0),
        cose,
      ]);
      const alg = fromHex('300c060a2b0601040183b8430101');
      const body = concatBytes([alg, bits]);
      return concatBytes([Uint8Array.of(0x30, 0x82, body.length >> 8, body.length & 0xff), body]);
    };
    const message = concatBytes([REQUEST_SEP, new Uint8Array(32).fill(2)]);
    const sign = (signed: (data: Uint8Array) => Uint8Array) => {
      const authenticatorData = new Uint8Array(37).fill(5);
      const clientData = JSON.stringify({
        type: 'webauthn.get',
        challenge: Buffer.from(message).toString('base64url'),
      });
      const data = concatBytes([authenticatorData, sha256(utf8(clientData))]);
      return encodeTagged({
        authenticator_data: authenticatorData,
        client_data_json: clientData,
        signature: new Uint8Array(nodeSign('sha256', signed(data), privateKey)),
      });
    };
    const pk = parsePublicKey(spki(coseRsa([0x39, 0x01, 0x00])));
    expect(pk.kind).toBe('webauthn-rsa');
    expect(
      verifySignature(
        pk,
        sign((d) => d),
        message,
        ctx.trust,
      ),
    ).toBeUndefined();
    expect(
      verifySignature(
        pk,
        sign((d) => concatBytes([d, Uint8Array.of(0)])),
        message,
        ctx.trust,
      ),
    ).toBe('Invalid WebAuthn signature: RSA PKCS#1 v1.5 SHA-256 signature could not be verified');
    // alg -37 (PS256) is not one the IC accepts.
    expect(() => parsePublicKey(spki(coseRsa([0x38, 0x24])))).toThrow(/RSA keys only with RS256/);
  });

  it('refuse a challenge that is not a string, even an object with its own toString (found by fuzz/)', () => {
    const key = webAuthnKey();
    const message = concatBytes([REQUEST_SEP, new Uint8Array(32).fill(1)]);
    const pk = parsePublicKey(key.der);
    const signature = (clientData: string) =>
      encodeTagged({
        authenticator_data: new Uint8Array(37),
        client_data_json: clientData,
        signature: new Uint8Array(64).fill(4),
      });
    // The shrunk counterexample: `String(challenge)` threw a TypeError, which the server answered 500.
    expect(verifySignature(pk, signature('{"challenge":{"toString":{}}}'), message, ctx.trust)).toBe(
      `Invalid WebAuthn signature: Challenge in client data ({"toString":{}}) does not match the signed payload (${Buffer.from(message).toString('base64url')})`,
    );
    expect(
      verifySignature(pk, signature('{"challenge":{"valueOf":1,"toString":"x"}}'), message, ctx.trust),
    ).toMatch(/^Invalid WebAuthn signature: Challenge in client data \(\{"valueOf":1,"toString":"x"\}\)/);
    expect(verifySignature(pk, signature('{"challenge":7}'), message, ctx.trust)).toMatch(
      /Challenge in client data \(7\)/,
    );
    expect(verifySignature(pk, signature('{}'), message, ctx.trust)).toMatch(
      /Challenge in client data \(undefined\)/,
    );
  });

  it('authenticate a whole envelope', () => {
    const key = webAuthnKey();
    const sender = Principal.selfAuthenticating(key.der);
    const content = callContent(sender);
    const sig = key.sign(concatBytes([REQUEST_SEP, requestIdOf(content)]));
    const ok = validateEnvelope(
      'call',
      encodeTagged({ content, sender_pubkey: key.der, sender_sig: sig }),
      ctx,
    );
    expect(ok.sender.toText()).toBe(sender.toText());
  });
});

// ---- canister signatures -------------------------------------------------------------

/** A canister-signature key of `CANISTER` with `seed`, and a signer that certifies each message in the canister's certified data. */
function canisterKey(seed = utf8('user 1')) {
  const cid = CANISTER.toUint8Array();
  const der = concatBytes([
    Uint8Array.of(0x30, 2 + 12 + 2 + 1 + 1 + cid.length + seed.length),
    fromHex('300c060a2b0601040183b8430102'),
    Uint8Array.of(0x03, 1 + 1 + cid.length + seed.length, 0x00, cid.length),
    cid,
    seed,
  ]);
  const sign = (message: Uint8Array) => {
    const sigTree = subtree([
      ['sig', subtree([[sha256(seed), subtree([[sha256(message), new Uint8Array()]])]])],
    ]);
    const state = subtree([
      ['time', uleb128(NOW)],
      ['canister', subtree([[cid, subtree([['certified_data', treeHash(sigTree)]])]])],
    ]);
    const certificate = signCertificate(state, [[utf8('canister'), cid, utf8('certified_data')]], ROOT_SK);
    return encodeTagged({
      certificate,
      tree: witness(sigTree, [[utf8('sig'), sha256(seed), sha256(message)]]) as never,
    });
  };
  return { der, sign };
}

describe('canister signatures', () => {
  it('verify against the root key and the certified data, and refuse another message', () => {
    const key = canisterKey();
    const pk = parsePublicKey(key.der);
    expect(pk.kind).toBe('canister');
    const message = concatBytes([REQUEST_SEP, new Uint8Array(32).fill(2)]);
    const sig = key.sign(message);
    expect(verifySignature(pk, sig, message, ctx.trust)).toBeUndefined();
    const other = concatBytes([REQUEST_SEP, new Uint8Array(32).fill(3)]);
    expect(verifySignature(pk, sig, other, ctx.trust)).toMatch(/no entry for this seed and message/);
    const otherRoot = { rootKey: concatBytes([BLS_DER_PREFIX, blsPublicKey(new Uint8Array(32).fill(1))]) };
    expect(verifySignature(pk, sig, message, otherRoot)).toMatch(/certificate signature does not verify/);
  });

  it('authenticate an Internet-Identity-style chain: canister key → session key', async () => {
    const key = canisterKey();
    const session = Ed25519KeyIdentity.generate();
    const delegation = {
      pubkey: new Uint8Array(session.getPublicKey().toDer()),
      expiration: NOW + 600_000_000_000n,
    };
    const dsig = key.sign(concatBytes([DELEGATION_SEP, hashOfMap(delegation)]));
    const sender = Principal.selfAuthenticating(key.der);
    const content = callContent(sender);
    const sig = new Uint8Array(await session.sign(concatBytes([REQUEST_SEP, requestIdOf(content)])));
    const body = encodeTagged({
      content,
      sender_pubkey: key.der,
      sender_sig: sig,
      sender_delegation: [{ delegation, signature: dsig }],
    });
    expect(validateEnvelope('call', body, ctx).sender.toText()).toBe(sender.toText());
  });
});

// ---- delegations and the other rules --------------------------------------------------

async function delegatedEnvelope(opts: {
  expiration?: bigint;
  targets?: Uint8Array[];
  length?: number;
  content?: (s: Principal) => CborRecord;
}) {
  const root = Ed25519KeyIdentity.generate();
  const keys = [root, ...Array.from({ length: opts.length ?? 1 }, () => Ed25519KeyIdentity.generate())];
  const chain = [];
  for (let i = 1; i < keys.length; i++) {
    const delegation: CborRecord = {
      pubkey: new Uint8Array(keys[i]!.getPublicKey().toDer()),
      expiration: opts.expiration ?? NOW + 600_000_000_000n,
    };
    if (opts.targets) delegation.targets = opts.targets;
    chain.push({
      delegation,
      signature: new Uint8Array(
        await keys[i - 1]!.sign(concatBytes([DELEGATION_SEP, hashOfMap(delegation)])),
      ),
    });
  }
  const sender = root.getPrincipal();
  const content = (opts.content ?? callContent)(sender);
  const sig = new Uint8Array(await keys.at(-1)!.sign(concatBytes([REQUEST_SEP, requestIdOf(content)])));
  return encodeTagged({
    content,
    sender_pubkey: new Uint8Array(root.getPublicKey().toDer()),
    sender_sig: sig,
    sender_delegation: chain,
  });
}

describe('delegations', () => {
  it('an expired delegation is refused, even for a query', async () => {
    const e = refusal(await delegatedEnvelope({ expiration: NOW - 1n }));
    expect(e.status).toBe(400);
    expect(e.message).toMatch(/^Invalid delegation expiry: Specified sender delegation has expired: /);
    const q = refusal(
      await delegatedEnvelope({
        expiration: NOW - 1n,
        content: (s) => ({ ...callContent(s), request_type: 'query' }),
      }),
      'query',
    );
    expect(q.message).toMatch(/^Invalid delegation expiry: /);
  });

  it('a canister outside the targets is refused', async () => {
    const e = refusal(
      await delegatedEnvelope({
        targets: [Principal.fromText('aaaaa-aa').toUint8Array(), Uint8Array.of(1, 2, 3)],
      }),
    );
    expect(e.message).toBe(`Canister '${CANISTER.toText()}' is not one of the delegation targets.`);
    expect(
      validateEnvelope('call', await delegatedEnvelope({ targets: [CANISTER.toUint8Array()] }), ctx).targets,
    ).toEqual(new Set([Buffer.from(CANISTER.toUint8Array()).toString('hex')]));
  });

  it('a chain of more than 20 delegations is refused; 20 pass', async () => {
    expect(refusal(await delegatedEnvelope({ length: 21 })).message).toMatch(
      /^Invalid delegation: Chain of delegations is too long/,
    );
    expect(validateEnvelope('call', await delegatedEnvelope({ length: 20 }), ctx).sender).toBeDefined();
  });
});

describe('anonymous requests, expiry and nonce', () => {
  it('anonymous query and read_state skip the expiry check; an anonymous call does not', () => {
    const anon = Principal.anonymous();
    const stale = { ingress_expiry: 1n };
    expect(() =>
      validateEnvelope(
        'query',
        encodeTagged({ content: { ...callContent(anon, stale), request_type: 'query' } }),
        ctx,
      ),
    ).not.toThrow();
    expect(() =>
      validateEnvelope(
        'read_state',
        encodeTagged({
          content: { request_type: 'read_state', paths: [], sender: anon.toUint8Array(), ...stale },
        }),
        ctx,
      ),
    ).not.toThrow();
    expect(refusal(encodeTagged({ content: callContent(anon, stale) })).message).toMatch(
      /^Invalid request expiry: /,
    );
  });

  it('an unsigned request from a non-anonymous sender is refused', () => {
    const sender = Ed25519KeyIdentity.generate().getPrincipal();
    expect(refusal(encodeTagged({ content: callContent(sender) })).message).toBe(
      `Missing signature from user: ${sender.toText()}`,
    );
  });

  it('a nonce over 32 bytes is refused', () => {
    const e = refusal(
      encodeTagged({ content: callContent(Principal.anonymous(), { nonce: new Uint8Array(33) }) }),
    );
    expect(e.message).toBe('Nonce in request is too big: got 33 bytes, but at most 32 are allowed.');
  });

  it('the expiry window is [now, now + 5 min 30 s]', () => {
    const at = (t: bigint) =>
      encodeTagged({ content: callContent(Principal.anonymous(), { ingress_expiry: t }) });
    expect(() => validateEnvelope('call', at(NOW), ctx)).not.toThrow();
    expect(() => validateEnvelope('call', at(NOW + 330_000_000_000n), ctx)).not.toThrow();
    expect(refusal(at(NOW + 330_000_000_001n)).message).toMatch(/^Invalid request expiry: /);
    expect(refusal(at(NOW - 1n)).message).toMatch(/^Invalid request expiry: /);
  });

  it('bytes after the envelope are refused (the replica: "trailing data at offset N"), not ignored', () => {
    const envelope = encodeTagged({ content: callContent(Principal.anonymous()) });
    expect(() => validateEnvelope('call', envelope, ctx)).not.toThrow();
    const trailing = concatBytes([envelope, Uint8Array.of(0x00, 0x01)]);
    const e = refusal(trailing);
    expect(e.status).toBe(400);
    expect(e.message).toBe(
      `Could not parse body as call message: trailing data at offset ${envelope.length}`,
    );
    expect(refusal(concatBytes([envelope, envelope]), 'query').message).toBe(
      `Malformed request: trailing data at offset ${envelope.length}`,
    );
  });

  it('garbage is a parse error, not a crash', () => {
    expect(refusal(Uint8Array.of(1, 2, 3)).message).toMatch(/^Could not parse body as call message: /);
    expect(refusal(Uint8Array.of(0xff), 'query').message).toMatch(/^Malformed request: /);
  });

  it('a map with a "__proto__" key is a map, not the byte string it names (found by fuzz/)', () => {
    // The shrunk counterexample: {content: {request_type: "call", sender: {"__proto__": h'04'}}}.
    // @dfinity/cbor made `sender` an object whose prototype was the byte string, so it passed
    // `instanceof Uint8Array` and `.length` threw a TypeError, which the server answered 500.
    const found = fromHex(
      'd9d9f7a167636f6e74656e74a26c726571756573745f747970656463616c6c6673656e646572a1695f5f70726f746f5f5f4104',
    );
    const decoded = decodeCbor(found) as { content: { sender: unknown } };
    expect(decoded.content.sender).toEqual({});
    expect(decoded.content.sender instanceof Uint8Array).toBe(false);
    expect(refusal(found).message).toBe(
      'Could not parse body as call message: invalid type: expected a byte string for field `sender`',
    );
  });

  it('a request_type that is a map or an array is a parse error, even a map with its own toString (found by fuzz/)', () => {
    // The shrunk counterexample: {content: {request_type: {toString: false, content: 0}}}, on which
    // `String(request_type)` threw a TypeError that the server answered 500.
    const found = fromHex(
      'd9d9f7a167636f6e74656e74a16c726571756573745f74797065a268746f537472696e67f467636f6e74656e7400',
    );
    const e = refusal(found);
    expect(e.status).toBe(400);
    expect(e.message).toBe(
      'Could not parse body as call message: invalid type: expected a text string for field `request_type`',
    );
    for (const requestType of [[{ valueOf: 1 }], new Uint8Array(1), { a: 1 }]) {
      const body = encodeTagged({
        content: { ...callContent(Principal.anonymous()), request_type: requestType },
      });
      expect(refusal(body, 'query').message).toBe(
        'Malformed request: invalid type: expected a text string for field `request_type`',
      );
    }
    expect(
      refusal(encodeTagged({ content: callContent(Principal.anonymous(), { request_type: 'query' }) }))
        .message,
    ).toBe('Could not parse body as call message: unknown variant `query`, expected `call`');
  });
});
