/**
 * icsim's extension routes (`/instances/{id}/icsim/…`) as the worker answers
 * them: snapshot gives an id, revert takes it back; a malformed or unknown
 * id answers 400 naming the problem and changes nothing.
 */
import { describe, expect, it } from 'vitest';
import { COUNTER_WAT, fingerprint } from '../../fuzz/instance-state.ts';
import { Harness } from '../testing/harness.ts';
import { wat } from '../wasm/test-support.ts';
import { InstanceEndpoint } from './instance-endpoint.ts';

function post(endpoint: InstanceEndpoint, path: string, body?: unknown): { status: number; json: unknown } {
  const response = endpoint.handle('rest', {
    method: 'POST',
    path,
    headers: { 'content-type': 'application/json' },
    body: Buffer.from(body === undefined ? '' : JSON.stringify(body)),
  });
  return {
    status: response.status,
    json: JSON.parse(Buffer.from(response.body).toString('utf8')) as unknown,
  };
}

describe('POST /instances/{id}/icsim/snapshot and /icsim/revert', () => {
  it('snapshots and reverts the instance', () => {
    const h = new Harness();
    const endpoint = new InstanceEndpoint(h.ic);
    const id = h.deploy(wat(COUNTER_WAT));
    const before = fingerprint(h.ic);
    const taken = post(endpoint, '/icsim/snapshot');
    expect(taken.status).toBe(200);
    const snapshotId = (taken.json as { snapshot_id: number }).snapshot_id;
    expect(typeof snapshotId).toBe('number');
    h.update(id, 'inc');
    expect(post(endpoint, '/icsim/revert', { snapshot_id: snapshotId })).toEqual({ status: 200, json: null });
    expect(fingerprint(h.ic)).toBe(before);
  });

  it('answers 400 to a malformed or unknown id, leaving the instance as it was', () => {
    const h = new Harness();
    const endpoint = new InstanceEndpoint(h.ic);
    const id = h.deploy(wat(COUNTER_WAT));
    post(endpoint, '/icsim/snapshot');
    h.update(id, 'inc');
    const before = fingerprint(h.ic);
    for (const [body, message] of [
      [undefined, /body/i],
      [{}, /snapshot_id/],
      [{ snapshot_id: 'zero' }, /snapshot_id/],
      [{ snapshot_id: -1 }, /snapshot_id/],
      [{ snapshot_id: 2 ** 60 }, /snapshot_id/],
      [{ snapshot_id: 7 }, /no instance snapshot 7/],
    ] as const) {
      const answer = post(endpoint, '/icsim/revert', body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect((answer.json as { message: string }).message).toMatch(message);
    }
    expect(fingerprint(h.ic)).toBe(before);
  });
});
