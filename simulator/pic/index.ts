/**
 * Helpers for PicJS users, as the package exports them (`import { binPath } from 'icsim/pic'`).
 */
import { fileURLToPath } from 'node:url';

/**
 * The absolute path of the `icsim` launcher, to start icsim from PicJS without
 * `POCKET_IC_BIN` (PicJS 0.23's `binPath` option).
 *
 * @example
 * import { PocketIc, PocketIcServer } from '@dfinity/pic';
 * import { binPath } from 'icsim/pic';
 * const server = await PocketIcServer.start({ binPath });
 * const pic = await PocketIc.create(server.getUrl());
 */
export const binPath: string = fileURLToPath(new URL('../bin/icsim.js', import.meta.url));

/**
 * What the snapshot helpers take: a PicJS `PocketIc` (any generation, `@hadronous/pic` 0.6 to
 * `@dfinity/pic` 0.23), or the instance's URL (`http://127.0.0.1:PORT/instances/ID`) when the
 * caller knows it.
 */
export type InstanceHandle = object | { instanceUrl: string };

/** How long `snapshot`/`revert` retry while the instance is busy (PicJS's own 409 retry). */
const BUSY_RETRY_MS = 30_000;

/**
 * The instance's URL. PicJS keeps it in fields it does not export: `client.serverClient.baseUrl`
 * and `client.instancePath` (`@hadronous/pic` 0.11 to `@dfinity/pic` 0.23), `client.instanceUrl`
 * (0.6). They are plain JavaScript properties (TypeScript `private` only), read here by name.
 * @throws Error naming what it looked for when the object has neither shape.
 */
export function instanceUrlOf(pic: InstanceHandle): string {
  const own = (pic as { instanceUrl?: unknown }).instanceUrl;
  if (typeof own === 'string') return own.replace(/\/+$/, '');
  const client = (pic as { client?: Record<string, unknown> }).client;
  if (typeof client?.['instanceUrl'] === 'string') return client['instanceUrl'].replace(/\/+$/, '');
  const base = (client?.['serverClient'] as { baseUrl?: unknown } | undefined)?.baseUrl;
  const path = client?.['instancePath'];
  if (typeof base === 'string' && typeof path === 'string') return `${base.replace(/\/+$/, '')}${path}`;
  throw new Error(
    'icsim/pic: cannot find the instance URL of this PocketIc (looked for client.serverClient.baseUrl with ' +
      'client.instancePath, and client.instanceUrl); pass { instanceUrl: "http://HOST:PORT/instances/ID" } instead',
  );
}

/** POSTs `body` to an icsim extension route of the instance; retries while it answers 409 (busy). */
async function post(pic: InstanceHandle, route: string, body: unknown): Promise<unknown> {
  const url = `${instanceUrlOf(pic)}/icsim/${route}`;
  const until = Date.now() + BUSY_RETRY_MS;
  for (;;) {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    if (res.status === 409 && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      continue;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (res.status === 200) return json;
    const message = (json as { message?: unknown } | undefined)?.message;
    if (res.status === 404 && message === undefined)
      throw new Error(
        `icsim/pic: ${url} not found: is the server icsim? (instance snapshots are an icsim extension)`,
      );
    throw new Error(
      `icsim/pic: ${route} failed (${res.status}): ${typeof message === 'string' ? message : text}`,
    );
  }
}

/**
 * Snapshots the whole instance behind a PicJS `PocketIc` (icsim only): every canister, queue,
 * timer, clock and cycle balance, copy-on-write. Returns the id to give `revert`.
 *
 * @example
 * import { PocketIc } from '@dfinity/pic';
 * import { snapshot, revert } from 'icsim/pic';
 * let fixture: number;
 * beforeAll(async () => { pic = await PocketIc.create(url); await deploy(pic); fixture = await snapshot(pic); });
 * beforeEach(() => revert(pic, fixture));
 */
export async function snapshot(pic: InstanceHandle): Promise<number> {
  const answer = (await post(pic, 'snapshot', {})) as { snapshot_id?: unknown } | null;
  const id = answer?.snapshot_id;
  if (typeof id !== 'number') throw new Error(`icsim/pic: snapshot answered ${JSON.stringify(answer)}`);
  return id;
}

/**
 * Puts the instance back exactly as it was when `snapshot` returned `id` (icsim only). `id`
 * stays valid for later reverts; snapshots taken after it are dropped.
 * @throws Error with the server's message for an unknown or dropped id.
 * @example
 * beforeEach(() => revert(pic, fixture));
 */
export async function revert(pic: InstanceHandle, id: number): Promise<void> {
  await post(pic, 'revert', { snapshot_id: id });
}
