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
import { mkdtempSync, writeFileSync } from 'node:fs';
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
        'canister/client/cli.ts',
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
