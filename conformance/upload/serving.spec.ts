/**
 * Promise: blobs are served over HTTP (the canister's `http_request`, HTTP
 * gateway protocol) without leaking private ones. A blob is private until
 * its owner publishes it (`/b/<id>`) or mints a share link (`/s/<token>`,
 * 32 bytes of `raw_rand`) that works until it is revoked or expires; anything
 * else answers one and the same 404, so a response never tells a private
 * blob from a missing one. Public answers carry the blob's Content-Type, its
 * SHA-256 as ETag, Range (206 / 416) and If-None-Match (304); `?kind=` serves
 * a derivative under the original's visibility; a body over one reply's
 * share streams through `http_request_streaming_callback`, followed by the
 * gateway of `pic.makeLive()` over real HTTP. (canister/README.md, "Serving
 * over HTTP".)
 */
import type { Actor, PocketIc } from '@dfinity/pic';
import type { Identity } from '@icp-sdk/core/agent';
import { sha256 } from '@noble/hashes/sha2.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { payload } from '../../fixtures/payload.ts';
import { gatewayRequest } from '../support/gateway-http.ts';
import { createPic } from '../support/pic.ts';
import {
  expectUploadError,
  hex,
  idlFactory,
  installUpload,
  MAX_CHUNK,
  newUser,
  sameBytes,
  type UploadActor,
  type UploadCanister,
  type UploadClient,
  uploadBytes,
} from '../support/upload.ts';

type HttpResponse = Awaited<ReturnType<UploadActor['http_request']>>;

/** One GET (or `method`) as the gateway sends it: a query from the anonymous caller. */
function httpGet(
  actor: Actor<UploadActor>,
  url: string,
  headers: [string, string][] = [],
  method = 'GET',
): Promise<HttpResponse> {
  return actor.http_request({ method, url, headers, body: new Uint8Array(0), certificate_version: [] });
}

const header = (r: HttpResponse, name: string): string | undefined =>
  r.headers.find(([k]) => k.toLowerCase() === name)?.[1];

/** What a reader can tell a 404 apart by: status, headers, body, streaming. */
const observable = (r: HttpResponse) => ({
  status: r.status_code,
  headers: r.headers,
  body: Buffer.from(r.body).toString('hex'),
  streaming: r.streaming_strategy.length,
  upgrade: r.upgrade,
});

const ONE_MINUTE_NS = 60_000_000_000n;
const photo = payload(300_000, 11);
const thumb = payload(2_000, 12);

let pic: PocketIc;
let canister: UploadCanister;
let owner: Identity;
let alice: UploadClient;
let anonymous: Actor<UploadActor>;
let photoId: Uint8Array;
let thumbId: Uint8Array;
let privateId: Uint8Array;

beforeAll(async () => {
  pic = await createPic();
  canister = await installUpload(pic);
  owner = newUser();
  alice = canister.client(owner);
  anonymous = pic.createActor<UploadActor>(idlFactory, canister.canisterId);
  photoId = await uploadBytes(alice, pic, photo, 100_000, { name: 'photo.png', contentType: 'image/png' });
  thumbId = await uploadBytes(alice, pic, thumb, 2_000, { name: 'thumb.png', contentType: 'image/webp' });
  privateId = await uploadBytes(alice, pic, payload(500, 13), 500, {
    name: 'secret.txt',
    contentType: 'text/plain',
  });
  await alice.linkDerivative(photoId, thumbId, 'thumbnail');
});
afterAll(async () => {
  await pic?.tearDown();
});

describe('visibility', () => {
  it('a private blob answers exactly what a missing one answers: 404, same headers, same body', async () => {
    const missing = await httpGet(anonymous, `/b/${'ab'.repeat(32)}`);
    const secret = await httpGet(anonymous, `/b/${hex(privateId)}`);
    expect(missing.status_code).toBe(404);
    expect(observable(secret)).toEqual(observable(missing));
    // The owner asking changes nothing: HTTP has no authenticated caller.
    expect(observable(await httpGet(canister.actor(owner), `/b/${hex(privateId)}`))).toEqual(
      observable(missing),
    );
    // Nor does a derivative of a private original, a malformed id, or a link that was never minted.
    for (const url of [
      `/b/${hex(photoId)}?kind=thumbnail`,
      `/b/${hex(photoId)}`,
      '/b/xyz',
      `/s/${hex(privateId)}`,
      '/',
    ]) {
      expect(observable(await httpGet(anonymous, url)), url).toEqual(observable(missing));
    }
  });

  it('a published blob is served with its Content-Type and its SHA-256 as ETag; unpublishing hides it again', async () => {
    await alice.publish(photoId);
    const r = await httpGet(anonymous, `/b/${hex(photoId)}`);
    expect(r.status_code).toBe(200);
    expect(header(r, 'content-type')).toBe('image/png');
    expect(header(r, 'etag')).toBe(`"${hex(sha256(photo))}"`);
    expect(header(r, 'accept-ranges')).toBe('bytes');
    expect(sameBytes(r.body, photo)).toBe(true);
    expect(r.streaming_strategy).toEqual([]);
    expect(await alice.sharing(photoId)).toEqual({ public: true, share_links: [] });

    const head = await httpGet(anonymous, `/b/${hex(photoId)}`, [], 'HEAD');
    expect(head.status_code).toBe(200);
    expect(head.body.length).toBe(0);
    expect(header(head, 'etag')).toBe(header(r, 'etag'));

    const cached = await httpGet(anonymous, `/b/${hex(photoId)}`, [['If-None-Match', header(r, 'etag')!]]);
    expect(cached.status_code).toBe(304);
    expect(cached.body.length).toBe(0);

    await alice.unpublish(photoId);
    const hidden = await httpGet(anonymous, `/b/${hex(photoId)}`);
    expect(observable(hidden)).toEqual(observable(await httpGet(anonymous, `/b/${'ab'.repeat(32)}`)));
    await alice.publish(photoId);
  });

  it('a derivative is reached by kind on the original’s URL, under the original’s visibility', async () => {
    // photoId is public (previous test); thumbId itself was never published.
    const r = await httpGet(anonymous, `/b/${hex(photoId)}?kind=thumbnail`);
    expect(r.status_code).toBe(200);
    expect(header(r, 'content-type')).toBe('image/webp');
    expect(header(r, 'etag')).toBe(`"${hex(sha256(thumb))}"`);
    expect(sameBytes(r.body, thumb)).toBe(true);
    expect((await httpGet(anonymous, `/b/${hex(thumbId)}`)).status_code).toBe(404);
    expect((await httpGet(anonymous, `/b/${hex(photoId)}?kind=preview`)).status_code).toBe(404);
  });

  it('only the owner publishes; bad ids answer typed errors, never a trap', async () => {
    const mallory = canister.client(newUser());
    await expectUploadError(mallory.publish(privateId), 'NotOwner');
    await expectUploadError(mallory.unpublish(photoId), 'NotOwner');
    await expectUploadError(alice.publish(new Uint8Array(32)), 'BlobNotFound');
    await expectUploadError(alice.publish(new Uint8Array(3)), 'BlobNotFound');
    expect((await httpGet(anonymous, `/b/${hex(privateId)}`)).status_code).toBe(404);
    expect((await httpGet(anonymous, `/b/${hex(photoId)}`)).status_code).toBe(200);
  });

  it('a stored content type HTTP cannot carry (a line break) is served as application/octet-stream', async () => {
    const odd = await uploadBytes(alice, pic, payload(10, 15), 10, {
      name: 'odd.txt',
      contentType: 'text/plain\r\nx-injected: 1',
    });
    await alice.publish(odd);
    const r = await httpGet(anonymous, `/b/${hex(odd)}`);
    expect(r.status_code).toBe(200);
    expect(header(r, 'content-type')).toBe('application/octet-stream');
    expect(header(r, 'x-injected')).toBeUndefined();
  });

  it('other methods answer 405 whatever the path', async () => {
    for (const url of [`/b/${hex(photoId)}`, `/b/${hex(privateId)}`]) {
      const r = await httpGet(anonymous, url, [], 'POST');
      expect(r.status_code).toBe(405);
      expect(header(r, 'allow')).toBe('GET, HEAD');
    }
  });
});

describe('ranges', () => {
  it('Range answers 206 with Content-Range; a suffix range; past the end 416 with bytes */size; several ranges the whole body', async () => {
    const url = `/b/${hex(photoId)}`;
    const mid = await httpGet(anonymous, url, [['Range', 'bytes=1000-1999']]);
    expect(mid.status_code).toBe(206);
    expect(header(mid, 'content-range')).toBe(`bytes 1000-1999/${photo.length}`);
    expect(sameBytes(mid.body, photo.subarray(1000, 2000))).toBe(true);

    const open = await httpGet(anonymous, url, [['range', 'bytes=299990-']]);
    expect(header(open, 'content-range')).toBe(`bytes 299990-299999/${photo.length}`);
    expect(sameBytes(open.body, photo.subarray(299_990))).toBe(true);

    const suffix = await httpGet(anonymous, url, [['Range', 'bytes=-5']]);
    expect(suffix.status_code).toBe(206);
    expect(sameBytes(suffix.body, photo.subarray(photo.length - 5))).toBe(true);

    const beyond = await httpGet(anonymous, url, [['Range', `bytes=${photo.length}-`]]);
    expect(beyond.status_code).toBe(416);
    expect(header(beyond, 'content-range')).toBe(`bytes */${photo.length}`);

    const several = await httpGet(anonymous, url, [['Range', 'bytes=0-1,5-9']]);
    expect(several.status_code).toBe(200);
    expect(sameBytes(several.body, photo)).toBe(true);

    // A range of a private blob is the same 404 as anything else.
    const hidden = await httpGet(anonymous, `/b/${hex(privateId)}`, [['Range', 'bytes=0-1']]);
    expect(hidden.status_code).toBe(404);
  });
});

describe('share links', () => {
  it('a link serves a private blob (and its derivatives) until revoked; another caller’s revoke is refused', async () => {
    const link = await alice.share(privateId, 10n * ONE_MINUTE_NS);
    expect(link.token).toMatch(/^[0-9a-f]{64}$/);
    expect(link.path).toBe(`/s/${link.token}`);
    expect(link.blob_id).toEqual(privateId);
    expect(link.expires_at - link.created_at).toBe(10n * ONE_MINUTE_NS);
    const other = await alice.share(privateId, ONE_MINUTE_NS);
    expect(other.token).not.toBe(link.token); // raw_rand, not derived from the blob
    expect((await alice.sharing(privateId)).share_links.map((l) => l.token)).toEqual([
      link.token,
      other.token,
    ]);

    const r = await httpGet(anonymous, link.path);
    expect(r.status_code).toBe(200);
    expect(header(r, 'content-type')).toBe('text/plain');
    expect(sameBytes(r.body, payload(500, 13))).toBe(true);
    expect((await httpGet(anonymous, `/b/${hex(privateId)}`)).status_code).toBe(404);

    const mallory = canister.client(newUser());
    await expectUploadError(mallory.revokeShareLink(link.token), { NotOwner: null });
    await expectUploadError(mallory.share(privateId, ONE_MINUTE_NS), { NotOwner: null });
    await expectUploadError(mallory.sharing(privateId), { NotOwner: null });
    expect((await httpGet(anonymous, link.path)).status_code).toBe(200);

    await alice.revokeShareLink(link.token);
    const missing = await httpGet(anonymous, `/s/${'cd'.repeat(32)}`);
    expect(observable(await httpGet(anonymous, link.path))).toEqual(observable(missing));
    expect((await httpGet(anonymous, other.path)).status_code).toBe(200);
    await expectUploadError(alice.revokeShareLink(link.token), { ShareLinkNotFound: null });
    await expectUploadError(alice.revokeShareLink('not a token'), { ShareLinkNotFound: null });

    // A link to the original also serves its derivatives by kind.
    const photoLink = await alice.share(photoId, ONE_MINUTE_NS);
    await alice.unpublish(photoId);
    const t = await httpGet(anonymous, `${photoLink.path}?kind=thumbnail`);
    expect(t.status_code).toBe(200);
    expect(sameBytes(t.body, thumb)).toBe(true);
    await alice.publish(photoId);
  });

  it('a link stops working when it expires (time travel), with the same 404', async () => {
    const link = await alice.share(privateId, ONE_MINUTE_NS);
    expect((await httpGet(anonymous, link.path)).status_code).toBe(200);
    await pic.advanceTime(30_000);
    await pic.tick();
    expect((await httpGet(anonymous, link.path)).status_code).toBe(200);
    await pic.advanceTime(31_000);
    await pic.tick();
    const missing = await httpGet(anonymous, `/s/${'cd'.repeat(32)}`);
    expect(observable(await httpGet(anonymous, link.path))).toEqual(observable(missing));
    expect((await alice.sharing(privateId)).share_links.map((l) => l.token)).not.toContain(link.token);
  });

  it('bad lifetimes are typed errors that change nothing', async () => {
    const before = await alice.sharing(privateId);
    for (const ttl of [0n, 999_999_999n, 366n * 24n * 3600n * 1_000_000_000n + 1n]) {
      await expectUploadError(alice.share(privateId, ttl), {
        InvalidShareLinkTtl: { ttl_ns: ttl, min: 1_000_000_000n, max: 31_622_400_000_000_000n },
      });
    }
    await expectUploadError(alice.share(new Uint8Array(32), ONE_MINUTE_NS), 'BlobNotFound');
    expect(await alice.sharing(privateId)).toEqual(before);
  });
});

describe('large files stream through the callback', () => {
  const big = payload(2 * MAX_CHUNK + 123_456, 14);
  let bigId: Uint8Array;

  beforeAll(async () => {
    bigId = await uploadBytes(alice, pic, big, MAX_CHUNK, { name: 'big.bin', contentType: 'video/mp4' });
    await alice.publish(bigId);
  });

  it('the reply carries the first part and a Callback strategy naming http_request_streaming_callback; the tokens walk the rest', async () => {
    const first = await httpGet(anonymous, `/b/${hex(bigId)}`);
    expect(first.status_code).toBe(200);
    expect(first.body.length).toBe(MAX_CHUNK);
    const strategy = first.streaming_strategy[0]!.Callback;
    expect(strategy.callback[0].toText()).toBe(canister.canisterId.toText());
    expect(strategy.callback[1]).toBe('http_request_streaming_callback');
    const parts = [first.body];
    let token = [strategy.token] as (typeof strategy.token)[];
    while (token.length === 1) {
      const next = await anonymous.http_request_streaming_callback(token[0]!);
      parts.push(next.body);
      token = next.token;
    }
    expect(parts.length).toBe(3);
    expect(sameBytes(Buffer.concat(parts), big)).toBe(true);

    // HEAD answers the headers alone, with nothing to stream.
    const head = await httpGet(anonymous, `/b/${hex(bigId)}`, [], 'HEAD');
    expect(head.status_code).toBe(200);
    expect(head.body.length).toBe(0);
    expect(head.streaming_strategy).toEqual([]);
    expect(header(head, 'content-type')).toBe('video/mp4');

    // A range longer than one reply carries: its first part, and the Content-Range says which.
    const long = await httpGet(anonymous, `/b/${hex(bigId)}`, [['Range', 'bytes=10-']]);
    expect(long.status_code).toBe(206);
    expect(header(long, 'content-range')).toBe(`bytes 10-${10 + MAX_CHUNK - 1}/${big.length}`);
    expect(sameBytes(long.body, big.subarray(10, 10 + MAX_CHUNK))).toBe(true);

    // Unpublished mid-stream: the next callback is refused instead of serving a hidden blob.
    await alice.unpublish(bigId);
    await expect(anonymous.http_request_streaming_callback(strategy.token)).rejects.toThrow(/no such stream/);
    await alice.publish(bigId);
  });

  it('through the gateway of makeLive on <id>.localhost: the whole file, verified, and the same 404 for private and missing', async () => {
    const port = await pic.makeLive();
    try {
      const host = `${canister.canisterId.toText()}.localhost`;
      const r = await gatewayRequest(port, host, `/b/${hex(bigId)}`);
      expect(r.status).toBe(200);
      expect(r.headers['content-type']).toBe('video/mp4');
      expect(r.headers['etag']).toBe(`"${hex(sha256(big))}"`);
      expect(r.body.length).toBe(big.length);
      expect(sameBytes(r.body, big)).toBe(true);

      const missing = await gatewayRequest(port, host, `/b/${'ab'.repeat(32)}`);
      const secret = await gatewayRequest(port, host, `/b/${hex(privateId)}`);
      expect(missing.status).toBe(404);
      expect(secret.status).toBe(404);
      expect(secret.body).toEqual(missing.body);
      const keep = (h: Record<string, unknown>) =>
        Object.fromEntries(Object.entries(h).filter(([k]) => k !== 'date' && k !== 'ic-certificate'));
      expect(keep(secret.headers)).toEqual(keep(missing.headers));
    } finally {
      await pic.stopLive();
    }
  });
});
