/**
 * The protocol generations the REST adapter answers in (`dialects/`): each
 * client generation's create body is understood, and its calls are answered
 * in the shapes its `dist/pocket-ic-client-types.js` parses.
 */
import { describe, expect, it } from 'vitest';
import { planSubnets, topologyOf } from '../../topology.ts';
import { decodeInstanceConfig, parseJsonText, type Json } from '../codec.ts';
import type { WireResponse } from '../http.ts';
import { Dialects } from './index.ts';

const wire = (json: Json, status = 200): WireResponse => ({
  status,
  headers: { 'content-type': 'application/json' },
  body: Buffer.from(JSON.stringify(json)),
});
const body = (w: WireResponse): Json => parseJsonText(w.body);
const topology = topologyOf(
  planSubnets({ subnets: [{ kind: 'NNS' }, { kind: 'Application' }, { kind: 'Application' }] }),
);

describe('server 3 (@hadronous/pic 0.6, 0.8)', () => {
  const plan = new Dialects().create({ nns: 'New', system: [], application: ['New', 'New'] });

  it('the bare subnet set is read as the current config, NNS first', () => {
    expect(plan.dialect).toBe('v3');
    const { config } = decodeInstanceConfig(plan.body);
    expect(config.subnets.map((s) => s.kind)).toEqual(['NNS', 'Application', 'Application']);
  });

  it('a subnet from a state path is refused as today (icsim loads no state)', () => {
    const p = new Dialects().create({ application: [{ FromPath: ['/x', { subnet_id: 'AA==' }] }] });
    expect(() => decodeInstanceConfig(p.body)).toThrow(/only "New" subnets/);
  });

  it('the topology is a map keyed by subnet id with kind, size and ranges', () => {
    const map = plan.topology(topology) as Record<string, { subnet_kind: string; size: number }>;
    expect(Object.keys(map).sort()).toEqual(topology.subnets.map((s) => s.id.toText()).sort());
    const nns = topology.subnets.find((s) => s.kind === 'NNS')!;
    expect(map[nns.id.toText()]).toMatchObject({ subnet_kind: 'NNS', size: 40 });
  });

  it('results: a reply, a canister reject, a trap as UserError', () => {
    const d = new Dialects();
    d.register(0, 'v3');
    const v3 = d.of('0', '/read/query', 10);
    expect(v3).toBe('v3');
    expect(body(d.answer(v3, '/read/query', wire({ Ok: 'AAE=' })))).toEqual({ Ok: { Reply: 'AAE=' } });
    const reject = {
      reject_code: 'CanisterReject',
      reject_message: 'no',
      error_code: 'CanisterRejectedMessage',
      certified: true,
    };
    expect(body(d.answer(v3, '/update/await_ingress_message', wire({ Err: reject })))).toEqual({
      Ok: { Reject: 'no' },
    });
    const trap = {
      reject_code: 'CanisterError',
      reject_message: 'trapped',
      error_code: 'CanisterCalledTrap',
      certified: true,
    };
    expect(body(d.answer(v3, '/read/query', wire({ Err: trap })))).toEqual({
      Err: { code: 'CanisterCalledTrap', description: 'trapped' },
    });
    // Error answers and other routes pass unchanged.
    expect(body(d.answer(v3, '/read/query', wire({ message: 'x' }, 400)))).toEqual({ message: 'x' });
    expect(body(d.answer(v3, '/read/get_time', wire({ nanos_since_epoch: 1 })))).toEqual({
      nanos_since_epoch: 1,
    });
  });
});

describe('servers 6 to 9 share a create body: the instance learns its client', () => {
  const created = { subnet_config_set: { system: [], application: [] }, nonmainnet_features: false };

  it('the create answer is the map topology that 0.11 parses and 0.12/0.13 ignore', () => {
    const plan = new Dialects().create(created);
    expect(plan.dialect).toBe('v6-or-current');
    expect(plan.topology(topology)).not.toHaveProperty('subnet_configs');
  });

  it('execute_ingress_message or a tick without body: v6 (@hadronous/pic 0.11) from then on', () => {
    const d = new Dialects();
    d.register(1, 'v6-or-current');
    expect(d.of('1', '/update/execute_ingress_message', 20)).toBe('v6');
    expect(d.of('1', '/update/submit_ingress_message', 20)).toBe('v6');
    d.register(2, 'v6-or-current');
    expect(d.of('2', '/update/tick', 0)).toBe('v6');
  });

  it('submit/await, the topology route or a tick with {}: current (@dfinity/pic 0.12, 0.13)', () => {
    const d = new Dialects();
    d.register(1, 'v6-or-current');
    expect(d.of('1', '/update/submit_ingress_message', 20)).toBe('current');
    expect(d.of('1', '/update/execute_ingress_message', 20)).toBe('current');
    d.register(2, 'v6-or-current');
    expect(d.of('2', '/update/tick', 2)).toBe('current');
  });

  it('undecided: v6 on a server started with --pid, current otherwise', () => {
    const legacy = new Dialects(true);
    legacy.register(0, 'v6-or-current');
    expect(legacy.of('0', '/read/query', 10)).toBe('v6');
    const modern = new Dialects(false);
    modern.register(0, 'v6-or-current');
    expect(modern.of('0', '/read/query', 10)).toBe('current');
  });

  it('a refusal at submission is a UserError for v6', () => {
    const d = new Dialects();
    const err = {
      reject_code: 'CanisterReject',
      reject_message: 'inspect',
      error_code: 'CanisterRejectedMessage',
      certified: false,
    };
    expect(body(d.answer('v6', '/update/submit_ingress_message', wire({ Err: err })))).toEqual({
      Err: { code: 'CanisterRejectedMessage', description: 'inspect' },
    });
  });
});

describe('current clients (@dfinity/pic 0.16+)', () => {
  it('bodies and answers pass unchanged', () => {
    const d = new Dialects(true);
    const plan = d.create({ subnet_config_set: { system: [], application: [] }, icp_features: {} });
    expect(plan.dialect).toBe('current');
    expect(plan.topology(topology)).toHaveProperty('subnet_configs');
    const w = wire({ Ok: 'AAE=' });
    expect(d.answer('current', '/read/query', w)).toBe(w);
  });
});
