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
import { basename } from 'node:path';
import { parseArgs } from 'node:util';

import mime from 'mime';

import { Actor, HttpAgent, type Identity } from '@icp-sdk/core/agent';
import { Ed25519KeyIdentity } from '@icp-sdk/core/identity';
import { Secp256k1KeyIdentity } from '@icp-sdk/core/identity/secp256k1';

import { IDL } from '@icp-sdk/core/candid';
import { Principal } from '@icp-sdk/core/principal';

import { idlFactory, initArgTypes, type UploadActor, UploadClient } from './client.ts';
import { createCanister, defaultEffectiveCanisterId, installModule, layoutVersion } from './deploy.ts';
import { downloadBlob } from './download.ts';
import { fileSource, MAX_CHUNK_SIZE, type UploadProgress, uploadFile } from './upload.ts';

const usage = (program: string): string =>
  `usage: PROGRAM [upload] FILE --canister-id ID [--lanes N] [--chunk-size BYTES]
                     [--name NAME] [--content-type TYPE] [--retries N] [--no-resume]
       PROGRAM download BLOB_ID [OUT] --canister-id ID [--lanes N]
       PROGRAM ls --canister-id ID
       PROGRAM deploy [--canister-id ID] [--wasm PATH] [--cycles N] [--session-ttl-ns NS]
       PROGRAM upgrade --canister-id ID [--wasm PATH] [--session-ttl-ns NS]
       PROGRAM publish BLOB_ID --canister-id ID
       PROGRAM unpublish BLOB_ID --canister-id ID
       PROGRAM share BLOB_ID --canister-id ID [--expires-in SECONDS] (default 86400)
       PROGRAM revoke TOKEN|URL --canister-id ID
every command: [--network URL] (default http://127.0.0.1:4943) [--identity PEM]`.replaceAll(
    'PROGRAM',
    program,
  );

/** The MIME type of a file by its extension (the `mime` package's table), else `application/octet-stream`. */
export function guessContentType(path: string): string {
  return mime.getType(path) ?? 'application/octet-stream';
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

const COMMANDS = [
  'upload',
  'download',
  'ls',
  'deploy',
  'upgrade',
  'publish',
  'unpublish',
  'share',
  'revoke',
] as const;
type Command = (typeof COMMANDS)[number];

/** What went wrong, in words a user can act on (the agent's own texts name certificates and delegations). */
export function describeFailure(e: unknown, network: string, canisterId?: string): string {
  const text =
    e instanceof Error ? `${e.message} ${String((e as { cause?: unknown }).cause ?? '')}` : String(e);
  if (/ECONNREFUSED|fetch failed|connect ECONN|ENOTFOUND|EAI_AGAIN/i.test(text))
    return `cannot connect to ${network}: is a replica listening there (icsim --http-port, dfx start)?`;
  if (
    canisterId !== undefined &&
    /not found|does not belong to any subnet|no route to canister|delegation/i.test(text)
  )
    return `canister ${canisterId} does not exist on ${network}`;
  return e instanceof Error ? e.message : String(e);
}

/**
 * Where a browser reaches `path` of the canister's `http_request` on `network`:
 * `https://<id>.icp0.io` on mainnet, `http://<id>.localhost:<port>` on a local
 * replica or icsim (browsers resolve `*.localhost` to loopback), else the
 * gateway's `?canisterId=` form.
 */
export function httpUrl(network: URL, canisterId: string, path: string): string {
  if (/(^|\.)(icp0\.io|ic0\.app|icp-api\.io)$/.test(network.hostname))
    return `https://${canisterId}.icp0.io${path}`;
  if (['127.0.0.1', 'localhost', '[::1]'].includes(network.hostname)) {
    return `${network.protocol}//${canisterId}.localhost${network.port === '' ? '' : `:${network.port}`}${path}`;
  }
  const base = network.toString().replace(/\/$/, '');
  return `${base}${path}${path.includes('?') ? '&' : '?'}canisterId=${canisterId}`;
}

/** The 64-hex token of a share link given as the token itself, its path or its URL. */
export function shareToken(text: string): string | undefined {
  const m = /^(?:.*\/s\/)?([0-9a-f]{64})(?:[?#].*)?$/i.exec(text.trim());
  return m === null ? undefined : m[1]!.toLowerCase();
}

/** How the CLI is started, and where `deploy` / `upgrade` take the module from without `--wasm`. */
export interface CliOptions {
  /** The command line the usage text shows: `npm run upload --` in a checkout, `icsim-upload` installed. */
  program: string;
  /** The upload canister's module (raw or gzipped): built from the checkout, or the one the package ships. */
  defaultModule: () => Promise<Uint8Array>;
}

export async function main(argv: string[], options: CliOptions): Promise<number> {
  const USAGE = usage(options.program);
  // `npm run upload -- FILE …` stays the upload command; other commands are named first.
  const command: Command = COMMANDS.includes(argv[0] as Command) ? (argv.shift() as Command) : 'upload';
  let parsed;
  try {
    parsed = parseArgs({
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
        wasm: { type: 'string' },
        cycles: { type: 'string', default: '10000000000000' },
        'session-ttl-ns': { type: 'string' },
        'expires-in': { type: 'string', default: '86400' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return 0;
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
  let network: URL;
  try {
    network = new URL(values.network);
  } catch {
    console.error(`--network must be a URL, got ${values.network}`);
    return 2;
  }
  const host = network.toString().replace(/\/$/, '');
  const mainnet = /(^|\.)(icp0\.io|ic0\.app|icp-api\.io)$/.test(network.hostname);
  const canisterId = values['canister-id'];
  if (canisterId !== undefined) {
    try {
      Principal.fromText(canisterId);
    } catch {
      console.error(`--canister-id is not a principal: ${canisterId}`);
      return 2;
    }
  }
  const needsCanister = command !== 'deploy';
  const wantsPositionals = {
    upload: [1, 1],
    download: [1, 2],
    ls: [0, 0],
    deploy: [0, 0],
    upgrade: [0, 0],
    publish: [1, 1],
    unpublish: [1, 1],
    share: [1, 1],
    revoke: [1, 1],
  }[command];
  if (
    (needsCanister && canisterId === undefined) ||
    positionals.length < wantsPositionals[0] ||
    positionals.length > wantsPositionals[1]
  ) {
    console.error(USAGE);
    return 2;
  }
  const expiresIn = Number(values['expires-in']);
  if (!Number.isInteger(expiresIn) || expiresIn < 1 || expiresIn > 366 * 86_400) {
    console.error(
      `--expires-in must be a whole number of seconds from 1 to ${366 * 86_400}, got ${values['expires-in']}`,
    );
    return 2;
  }
  const blobArg = positionals[0];
  if (['publish', 'unpublish', 'share'].includes(command) && !/^[0-9a-f]{64}$/i.test(blobArg ?? '')) {
    console.error(`BLOB_ID must be the 64-hex id upload printed, got ${blobArg}`);
    return 2;
  }
  const token = command === 'revoke' ? shareToken(blobArg ?? '') : undefined;
  if (command === 'revoke' && token === undefined) {
    console.error(`revoke needs a share link's token or URL (…/s/<64 hex>), got ${blobArg}`);
    return 2;
  }
  const out = (json: unknown): void =>
    console.log(JSON.stringify(json, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2));
  const tty = process.stderr.isTTY;
  let lastLine = 0;
  const progress = (line: string, final: boolean): void => {
    const now = Date.now();
    if (tty) process.stderr.write(`\r${line}`);
    else if (now - lastLine > 1000 || final) {
      process.stderr.write(`${line}\n`);
      lastLine = now;
    }
  };
  let source: Awaited<ReturnType<typeof fileSource>> | undefined;
  try {
    // A file to upload is opened first: a missing one is the error, whatever the network.
    if (command === 'upload') source = await fileSource(positionals[0]!);
    const identity =
      values.identity === undefined ? undefined : identityFromPem(await readFile(values.identity, 'utf8'));
    const agent = await HttpAgent.create({ host, identity, shouldFetchRootKey: !mainnet });
    const actor = (id: string) => Actor.createActor<UploadActor>(idlFactory, { agent, canisterId: id });
    switch (command) {
      case 'upload': {
        const file = positionals[0]!;
        const client = new UploadClient(actor(canisterId!));
        const result = await uploadFile(client, source!, {
          name: values.name ?? basename(file),
          contentType: values['content-type'] ?? guessContentType(file),
          chunkSize,
          lanes,
          retries,
          resume: !values['no-resume'],
          onProgress: (p) => progress(bar(p), p.phase === 'done'),
        });
        if (tty) process.stderr.write('\n');
        out({
          blob_id: Buffer.from(result.blobId).toString('hex'),
          sha256: Buffer.from(result.sha256).toString('hex'),
          size: result.size,
          chunks: result.chunkCount,
          chunks_sent: result.chunksSent,
          resumed: result.resumed,
          retries: result.retries,
          upload_seconds: Number(result.uploadSeconds.toFixed(3)),
          mb_per_s: Number(result.mbps.toFixed(3)),
        });
        return 0;
      }
      case 'download': {
        const blobHex = positionals[0]!;
        if (!/^([0-9a-f]{2})+$/i.test(blobHex)) {
          console.error(`BLOB_ID must be the hex id upload printed, got ${blobHex}`);
          return 2;
        }
        const client = new UploadClient(actor(canisterId!));
        const result = await downloadBlob(
          client,
          Uint8Array.from(Buffer.from(blobHex, 'hex')),
          positionals[1] ?? blobHex,
          {
            lanes,
            onProgress: (p) =>
              progress(
                `download  ${(p.bytesDone / 1e6).toFixed(1)}/${(p.totalBytes / 1e6).toFixed(1)} MB ${p.rangesDone}/${p.rangeCount} ranges ${p.mbps.toFixed(2)} MB/s`,
                p.rangesDone === p.rangeCount,
              ),
          },
        );
        if (tty) process.stderr.write('\n');
        out({
          path: result.path,
          size: result.size,
          sha256: Buffer.from(result.sha256).toString('hex'),
          resumed_ranges: result.resumedRanges,
          mb_per_s: Number(result.mbps.toFixed(3)),
        });
        return 0;
      }
      case 'ls': {
        const client = new UploadClient(actor(canisterId!));
        const [blobs, sessions] = await Promise.all([client.listBlobs(), client.listSessions()]);
        out({
          blobs: blobs.map((b) => ({
            blob_id: Buffer.from(b.blob_id).toString('hex'),
            name: b.name,
            content_type: b.content_type,
            size: Number(b.size),
            sha256: Buffer.from(b.sha256).toString('hex'),
            created_at: b.created_at,
          })),
          sessions: sessions.map((s) => ({
            session: Buffer.from(s.session).toString('hex'),
            name: s.name,
            size: Number(s.size),
            chunks_received: s.received.length,
            chunk_count: s.chunk_count,
            expires_at: s.expires_at,
          })),
        });
        return 0;
      }
      case 'publish':
      case 'unpublish': {
        const client = new UploadClient(actor(canisterId!));
        const id = Uint8Array.from(Buffer.from(blobArg!, 'hex'));
        if (command === 'publish') await client.publish(id);
        else await client.unpublish(id);
        const path = `/b/${blobArg!.toLowerCase()}`;
        out({
          blob_id: blobArg!.toLowerCase(),
          public: command === 'publish',
          url: httpUrl(network, canisterId!, path),
        });
        return 0;
      }
      case 'share': {
        const client = new UploadClient(actor(canisterId!));
        const link = await client.share(
          Uint8Array.from(Buffer.from(blobArg!, 'hex')),
          BigInt(expiresIn) * 1_000_000_000n,
        );
        out({
          blob_id: blobArg!.toLowerCase(),
          token: link.token,
          url: httpUrl(network, canisterId!, link.path),
          expires_at: new Date(Number(link.expires_at / 1_000_000n)).toISOString(),
        });
        return 0;
      }
      case 'revoke': {
        await new UploadClient(actor(canisterId!)).revokeShareLink(token!);
        out({ revoked: token });
        return 0;
      }
      case 'deploy':
      case 'upgrade': {
        const wasm = values.wasm === undefined ? await options.defaultModule() : await readFile(values.wasm);
        let id: Principal;
        if (canisterId !== undefined) id = Principal.fromText(canisterId);
        else if (command === 'upgrade' || mainnet) {
          console.error(
            `${command} needs --canister-id${mainnet ? ' on mainnet (create the canister with dfx or icp first)' : ''}`,
          );
          return 2;
        } else
          id = await createCanister(agent, await defaultEffectiveCanisterId(host), BigInt(values.cycles));
        const ttl = values['session-ttl-ns'];
        const arg = IDL.encode(initArgTypes({ IDL }), [
          ttl === undefined ? [] : [{ session_ttl_ns: [BigInt(ttl)] }],
        ]);
        const before = command === 'upgrade' ? await layoutVersion(agent, id) : undefined;
        const installed = await installModule(
          agent,
          id,
          wasm,
          new Uint8Array(arg),
          command === 'upgrade' ? 'upgrade' : 'install',
        );
        const after = await layoutVersion(agent, id);
        out({
          canister_id: id.toText(),
          mode: command === 'upgrade' ? 'upgrade' : 'install',
          module_hash: Buffer.from(installed.moduleHash).toString('hex'),
          chunked: installed.chunked,
          ...(before === undefined
            ? { layout_version: after }
            : { layout_version_before: before, layout_version_after: after, migrated: before !== after }),
        });
        return 0;
      }
    }
    return 2;
  } catch (e) {
    if (tty) process.stderr.write('\n');
    console.error(`${command} failed: ${describeFailure(e, host, canisterId)}`);
    return 1;
  } finally {
    await source?.close();
  }
}
