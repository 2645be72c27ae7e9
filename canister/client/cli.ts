/**
 * Command-line uploader.
 *
 *   npm run upload -- FILE --canister-id ID [--network URL] [--identity PEM]
 *                      [--lanes N] [--chunk-size BYTES] [--name NAME]
 *                      [--content-type TYPE] [--retries N] [--no-resume]
 *
 * Talks to the canister over the IC HTTP interface with an @icp-sdk/core
 * agent. The root key is fetched unless the network is mainnet (icp0.io /
 * ic0.app). The identity is a PEM file as dfx writes them (Ed25519 PKCS#8 or
 * secp256k1 "EC PRIVATE KEY"); without one the call is anonymous, which the
 * canister refuses. Progress goes to stderr; the result (blob id, SHA-256,
 * size, MB/s) to stdout as JSON.
 */
import { readFile } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { Actor, HttpAgent, type Identity } from '@icp-sdk/core/agent';
import { Ed25519KeyIdentity } from '@icp-sdk/core/identity';
import { Secp256k1KeyIdentity } from '@icp-sdk/core/identity/secp256k1';

import { idlFactory, type UploadActor, UploadClient } from './client.ts';
import { fileSource, MAX_CHUNK_SIZE, type UploadProgress, uploadFile } from './upload.ts';

const USAGE = `usage: npm run upload -- FILE --canister-id ID [--network URL] [--identity PEM]
       [--lanes N] [--chunk-size BYTES] [--name NAME] [--content-type TYPE] [--retries N] [--no-resume]`;

const CONTENT_TYPES: Record<string, string> = {
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  gif: 'image/gif',
  webp: 'image/webp',
  svg: 'image/svg+xml',
  mp4: 'video/mp4',
  webm: 'video/webm',
  mp3: 'audio/mpeg',
  pdf: 'application/pdf',
  json: 'application/json',
  txt: 'text/plain',
  html: 'text/html',
  css: 'text/css',
  js: 'text/javascript',
  wasm: 'application/wasm',
  zip: 'application/zip',
  gz: 'application/gzip',
};

export function guessContentType(path: string): string {
  const ext = path.split('.').pop()?.toLowerCase() ?? '';
  return CONTENT_TYPES[ext] ?? 'application/octet-stream';
}

/** Reads a dfx-style PEM: Ed25519 (PKCS#8, with or without public key) or secp256k1. */
export function identityFromPem(pem: string): Identity {
  if (pem.includes('EC PRIVATE KEY')) return Secp256k1KeyIdentity.fromPem(pem);
  const body = pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  const der = Uint8Array.from(Buffer.from(body, 'base64'));
  const hex = Buffer.from(der).toString('hex');
  // Ed25519 OID 1.3.101.112, then OCTET STRING { OCTET STRING (32) key }.
  const at = hex.indexOf('06032b657004220420');
  if (at >= 0) {
    const start = at / 2 + 9;
    return Ed25519KeyIdentity.fromSecretKey(der.slice(start, start + 32));
  }
  return Secp256k1KeyIdentity.fromPem(pem);
}

function bar(p: UploadProgress, width = 30): string {
  const total = p.totalBytes === 0 ? 1 : p.totalBytes;
  const done = p.phase === 'hashing' ? p.bytesHashed : p.bytesSent;
  const frac = Math.min(1, done / total);
  const filled = Math.round(frac * width);
  const mb = (n: number): string => (n / 1e6).toFixed(1);
  const rate = p.phase === 'hashing' ? '' : ` ${p.mbps.toFixed(2)} MB/s`;
  return `${p.phase.padEnd(9)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}% ${mb(done)}/${mb(p.totalBytes)} MB ${p.chunksDone}/${p.chunkCount} chunks${rate}`;
}

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'canister-id': { type: 'string' },
      network: { type: 'string', default: 'http://127.0.0.1:4943' },
      identity: { type: 'string' },
      lanes: { type: 'string', default: '4' },
      'chunk-size': { type: 'string', default: String(MAX_CHUNK_SIZE) },
      name: { type: 'string' },
      'content-type': { type: 'string' },
      retries: { type: 'string', default: '5' },
      'no-resume': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const file = positionals[0];
  const canisterId = values['canister-id'];
  if (file === undefined || canisterId === undefined || positionals.length > 1) {
    console.error(USAGE);
    return 2;
  }
  const lanes = Number(values.lanes);
  const chunkSize = Number(values['chunk-size']);
  const retries = Number(values.retries);
  for (const [flag, v, max] of [
    ['--lanes', lanes, 64],
    ['--chunk-size', chunkSize, MAX_CHUNK_SIZE],
    ['--retries', retries, 100],
  ] as const) {
    if (!Number.isInteger(v) || v < (flag === '--retries' ? 0 : 1) || v > max) {
      console.error(`${flag} must be an integer up to ${max}, got ${String(v)}`);
      return 2;
    }
  }

  const host = values.network;
  const mainnet = /(^|\.)(icp0\.io|ic0\.app|icp-api\.io)(:\d+)?(\/|$)/.test(new URL(host).host);
  const tty = process.stderr.isTTY;
  let lastLine = 0;
  let source: Awaited<ReturnType<typeof fileSource>> | undefined;
  try {
    source = await fileSource(file);
    const identity =
      values.identity === undefined ? undefined : identityFromPem(await readFile(values.identity, 'utf8'));
    const agent = await HttpAgent.create({ host, identity, shouldFetchRootKey: !mainnet });
    const actor = Actor.createActor<UploadActor>(idlFactory, { agent, canisterId });
    const client = new UploadClient(actor);
    const result = await uploadFile(client, source, {
      name: values.name ?? basename(file),
      contentType: values['content-type'] ?? guessContentType(file),
      chunkSize,
      lanes,
      retries,
      resume: !values['no-resume'],
      onProgress: (p) => {
        const now = Date.now();
        if (tty) {
          process.stderr.write(`\r${bar(p)}`);
        } else if (now - lastLine > 1000 || p.phase === 'done') {
          process.stderr.write(`${bar(p)}\n`);
          lastLine = now;
        }
      },
    });
    if (tty) process.stderr.write('\n');
    console.log(
      JSON.stringify(
        {
          blob_id: Buffer.from(result.blobId).toString('hex'),
          sha256: Buffer.from(result.sha256).toString('hex'),
          size: result.size,
          chunks: result.chunkCount,
          chunks_sent: result.chunksSent,
          resumed: result.resumed,
          retries: result.retries,
          upload_seconds: Number(result.uploadSeconds.toFixed(3)),
          mb_per_s: Number(result.mbps.toFixed(3)),
        },
        null,
        2,
      ),
    );
    return 0;
  } catch (e) {
    if (tty) process.stderr.write('\n');
    console.error(`upload failed: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  } finally {
    await source?.close();
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  process.exitCode = await main(process.argv.slice(2));
}
