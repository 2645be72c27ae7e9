/**
 * icsim's own REST routes below `/instances/{id}`: operations PocketIC does not
 * have. They live under `/icsim/`, a prefix PocketIC cannot take: its own
 * routes are `/read/…`, `/update/…`, `/_/…` (topology, dashboard) and
 * `/api/…` (`rs/pocket_ic_server/src/state_api/routes.rs`).
 *
 * - `POST /instances/{id}/icsim/snapshot` (no body) → `{"snapshot_id": n}`:
 *   `Instance.snapshot()`;
 * - `POST /instances/{id}/icsim/revert` `{"snapshot_id": n}` → `null`:
 *   `Instance.revert(n)`; an unknown id answers 400 and changes nothing.
 */
import { BadRequest, asObject, asUint, field, type Json } from './codec.ts';
import { ok, type SyncRoute } from './http.ts';
import type { Instance } from '../instance.ts';

/** The path prefix of icsim's extension routes, relative to `/instances/{id}`. */
export const EXTENSION_PREFIX = '/icsim';

/** `{"snapshot_id": n}`: a snapshot id as `snapshot` answered it. */
export function decodeSnapshotId(body: Json): number {
  const id = asUint(field(asObject(body, ''), 'snapshot_id'), 'snapshot_id', 'u64');
  if (id > BigInt(Number.MAX_SAFE_INTEGER)) throw new BadRequest(`snapshot_id: no instance snapshot ${id}`);
  return Number(id);
}

/** The extension routes, with paths relative to `/instances/{id}`; they run in the instance's worker. */
export function extensionRoutes(instance: () => Instance): SyncRoute[] {
  return [
    {
      method: 'POST',
      pattern: `${EXTENSION_PREFIX}/snapshot`,
      body: 'optional-json',
      handler: () => ok({ snapshot_id: instance().snapshot() }),
    },
    {
      method: 'POST',
      pattern: `${EXTENSION_PREFIX}/revert`,
      body: 'json',
      handler: (ctx) => {
        instance().revert(decodeSnapshotId(ctx.json()));
        return ok(null);
      },
    },
  ];
}
