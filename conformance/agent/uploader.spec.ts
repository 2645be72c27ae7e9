/**
 * The uploader CLI over the IC HTTP interface: `npm run upload -- FILE
 * --canister-id ID --network URL --identity PEM` against the gateway that
 * `pic.makeLive()` opens, with an Ed25519 dfx-style PEM identity. The canister
 * verifies the rolling SHA-256; the spec reads the blob back through an agent
 * with the same identity and compares digests.
 */
import type { PocketIc } from '@dfinity/pic';
import { Actor, HttpAgent } from '@icp-sdk/core/agent';
import { sha256 } from '@noble/hashes/sha2.js';
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildUploadCanister } from '../../canister/build.ts';
import { identityFromPem } from '../../canister/client/cli.ts';
import { UploadClient, idlFactory, type UploadActor } from '../../canister/client/client.ts';
import { encodeInitArg } from '../../canister/testing/sim-actor.ts';
import { payload } from '../../fixtures/payload.ts';
import { createPic } from '../support/pic.ts';
import { repoRoot } from '../support/target.ts';

const run = promisify(execFile);

describe('npm run upload over the IC HTTP interface', () => {
  let pic: PocketIc;
  let gateway: string;
  let canisterId: string;
  const dir = mkdtempSync(join(tmpdir(), 'icsim-upload-cli-'));

  beforeAll(async () => {
    pic = await createPic();
    const { wasm } = await buildUploadCanister();
    const fixture = await pic.setupCanister<UploadActor>({ idlFactory, wasm, arg: encodeInitArg() });
    canisterId = fixture.canisterId.toText();
    // PicJS 0.23's makeLive returns the gateway's port.
    gateway = `http://127.0.0.1:${await pic.makeLive()}`;
  }, 300_000);

  afterAll(async () => {
    await pic?.stopLive();
    await pic?.tearDown();
  });

  it('uploads a file over two lanes with a PEM identity; the canister holds the same bytes', async () => {
    const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const pemPath = join(dir, 'identity.pem');
    writeFileSync(pemPath, pem);
    const data = payload(3_000_000, 42);
    const file = join(dir, 'photo.bin');
    writeFileSync(file, data);

    const { stdout } = await run(
      process.execPath,
      [
        'canister/bin/upload.ts',
        file,
        '--canister-id',
        canisterId,
        '--network',
        gateway,
        '--identity',
        pemPath,
        '--lanes',
        '2',
        '--chunk-size',
        '1000000',
      ],
      { cwd: repoRoot, timeout: 240_000 },
    );
    const result = JSON.parse(stdout) as { blob_id: string; sha256: string; size: number; chunks: number };
    expect(result.size).toBe(data.length);
    expect(result.chunks).toBe(3);
    expect(result.sha256).toBe(Buffer.from(sha256(data)).toString('hex'));

    const agent = await HttpAgent.create({
      host: gateway,
      identity: identityFromPem(pem),
      shouldFetchRootKey: true,
    });
    const client = new UploadClient(Actor.createActor<UploadActor>(idlFactory, { agent, canisterId }));
    const blobId = Uint8Array.from(Buffer.from(result.blob_id, 'hex'));
    const meta = await client.metadata(blobId);
    expect(Buffer.from(meta.sha256).toString('hex')).toBe(result.sha256);
    const back = await client.read(blobId, { rangeSize: 1_000_000 });
    expect(Buffer.compare(back, data)).toBe(0);
  }, 300_000);
});

describe('the uploader CLI as a product: deploy, upload, download, upgrade, over the IC HTTP interface', () => {
  let pic: PocketIc;
  let gateway: string;
  const dir = mkdtempSync(join(tmpdir(), 'icsim-upload-product-'));
  const cli = async (...args: string[]): Promise<{ stdout: string; stderr: string }> =>
    run(
      process.execPath,
      ['canister/bin/upload.ts', ...args, '--network', gateway, '--identity', join(dir, 'me.pem')],
      {
        cwd: repoRoot,
        timeout: 600_000,
        maxBuffer: 64 * 1024 * 1024,
      },
    );

  beforeAll(async () => {
    pic = await createPic();
    gateway = `http://127.0.0.1:${await pic.makeLive()}`;
    const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    writeFileSync(join(dir, 'me.pem'), pem);
  }, 300_000);

  afterAll(async () => {
    await pic?.stopLive();
    await pic?.tearDown();
  });

  it('the gateway publishes the topology where tools find an effective canister id (GET /_/topology)', async () => {
    const res = await fetch(`${gateway}/_/topology`);
    expect(res.status).toBe(200);
    const topology = (await res.json()) as { default_effective_canister_id: { canister_id: string } };
    const expected = await pic.getTopology();
    expect(Object.keys(topology)).toContain('subnet_configs');
    expect(expected.length).toBeGreaterThan(0);
    expect(typeof topology.default_effective_canister_id.canister_id).toBe('string');
  });

  it('deploys this build (in chunks), uploads 30 MB over 4 lanes, downloads it byte-identical, upgrades and downloads again', async () => {
    // This checkout's build is over one ingress message: deploy and upgrade go through the chunk
    // store. (The v1 release in fixtures/releases can exceed the 40 B instruction limit when chunks
    // arrive out of order, which later builds fixed by hashing one chunk per message; its upgrade
    // path is rehearsed by conformance/upload/migration.spec.ts.)
    const { wasmPath } = await buildUploadCanister();
    const deployed = JSON.parse((await cli('deploy', '--wasm', wasmPath)).stdout) as {
      canister_id: string;
      chunked: boolean;
      layout_version: number;
    };
    expect(deployed).toMatchObject({ chunked: true, layout_version: 2 });
    const canisterId = deployed.canister_id;

    const data = payload(30_000_000, 7);
    const file = join(dir, 'big.bin');
    writeFileSync(file, data);
    const uploaded = JSON.parse(
      (await cli('upload', file, '--canister-id', canisterId, '--lanes', '4')).stdout,
    ) as {
      blob_id: string;
      sha256: string;
      size: number;
    };
    expect(uploaded.size).toBe(data.length);
    expect(uploaded.sha256).toBe(Buffer.from(sha256(data)).toString('hex'));

    const listed = JSON.parse((await cli('ls', '--canister-id', canisterId)).stdout) as {
      blobs: { blob_id: string; name: string; size: number }[];
      sessions: unknown[];
    };
    expect(listed.blobs).toEqual([
      expect.objectContaining({ blob_id: uploaded.blob_id, name: 'big.bin', size: data.length }),
    ]);
    expect(listed.sessions).toEqual([]);

    const out = join(dir, 'back.bin');
    const downloaded = JSON.parse(
      (await cli('download', uploaded.blob_id, out, '--canister-id', canisterId)).stdout,
    ) as {
      sha256: string;
      size: number;
    };
    expect(downloaded).toMatchObject({ sha256: uploaded.sha256, size: data.length });
    expect(Buffer.compare(readFileSync(out), data)).toBe(0);

    const upgraded = JSON.parse(
      (await cli('upgrade', '--canister-id', canisterId, '--wasm', wasmPath)).stdout,
    ) as {
      mode: string;
      chunked: boolean;
      layout_version_before: number;
      layout_version_after: number;
      migrated: boolean;
    };
    expect(upgraded).toMatchObject({
      mode: 'upgrade',
      chunked: true,
      layout_version_before: 2,
      layout_version_after: 2,
      migrated: false,
    });
    const again = join(dir, 'again.bin');
    await cli('download', uploaded.blob_id, again, '--canister-id', canisterId);
    expect(Buffer.compare(readFileSync(again), data)).toBe(0);
  }, 900_000);

  it('says what went wrong: a canister that does not exist, a network nobody listens on, a bad flag', async () => {
    const missing = await cli('ls', '--canister-id', 'rdmx6-jaaaa-aaaaa-aaadq-cai').catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect('code' in missing && missing.code).toBe(1);
    expect((missing as { stderr: string }).stderr).toContain(
      'canister rdmx6-jaaaa-aaaaa-aaadq-cai does not exist on',
    );
    const refused = await run(
      process.execPath,
      [
        'canister/bin/upload.ts',
        'ls',
        '--canister-id',
        'rdmx6-jaaaa-aaaaa-aaadq-cai',
        '--network',
        'http://127.0.0.1:9',
      ],
      {
        cwd: repoRoot,
      },
    ).catch((e: { code: number; stderr: string }) => e);
    expect((refused as { stderr: string }).stderr).toContain('cannot connect to http://127.0.0.1:9');
    const bad = await cli('download', 'not-hex', '--canister-id', 'rdmx6-jaaaa-aaaaa-aaadq-cai').catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect((bad as { code: number }).code).toBe(2);
    expect((bad as { stderr: string }).stderr).toContain('BLOB_ID must be the hex id upload printed');
  }, 120_000);

  it('publish, unpublish, share and revoke: the printed URLs serve the file through the gateway until withdrawn', async () => {
    const { wasmPath } = await buildUploadCanister();
    const { canister_id: canisterId } = JSON.parse((await cli('deploy', '--wasm', wasmPath)).stdout) as {
      canister_id: string;
    };
    const data = new TextEncoder().encode('<p>hello from the upload canister</p>');
    const file = join(dir, 'hello.html');
    writeFileSync(file, data);
    const { blob_id: blobId } = JSON.parse(
      (await cli('upload', file, '--canister-id', canisterId)).stdout,
    ) as {
      blob_id: string;
    };
    const port = new URL(gateway).port;
    // The printed URLs are the browser's `<id>.localhost` form; fetch resolves them through the
    // gateway's `?canisterId=` form, which serves the same verified answer.
    const viaGateway = (url: string) => {
      const u = new URL(url);
      expect(u.host).toBe(`${canisterId}.localhost:${port}`);
      return fetch(`${gateway}${u.pathname}?canisterId=${canisterId}`);
    };

    const published = JSON.parse((await cli('publish', blobId, '--canister-id', canisterId)).stdout) as {
      public: boolean;
      url: string;
    };
    expect(published).toEqual({
      blob_id: blobId,
      public: true,
      url: `http://${canisterId}.localhost:${port}/b/${blobId}`,
    });
    const page = await viaGateway(published.url);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html');
    expect(Buffer.compare(Buffer.from(await page.arrayBuffer()), data)).toBe(0);
    await cli('unpublish', blobId, '--canister-id', canisterId);
    expect((await viaGateway(published.url)).status).toBe(404);

    const shared = JSON.parse(
      (await cli('share', blobId, '--canister-id', canisterId, '--expires-in', '3600')).stdout,
    ) as { token: string; url: string; expires_at: string };
    expect(shared.url).toBe(`http://${canisterId}.localhost:${port}/s/${shared.token}`);
    expect(Date.parse(shared.expires_at) - Date.now()).toBeGreaterThan(3_500_000);
    expect((await viaGateway(shared.url)).status).toBe(200);
    expect(JSON.parse((await cli('revoke', shared.url, '--canister-id', canisterId)).stdout)).toEqual({
      revoked: shared.token,
    });
    expect((await viaGateway(shared.url)).status).toBe(404);
    const again = await cli('revoke', shared.token, '--canister-id', canisterId).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect((again as { code: number }).code).toBe(1);
    expect((again as { stderr: string }).stderr).toContain('ShareLinkNotFound');
  }, 300_000);
});
