import { Principal } from '@icp-sdk/core/principal';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BadRequest,
  decodeCanisterCall,
  decodeIngressStatusArgs,
  decodeInstanceConfig,
  decodeMessageId,
  decodeMockHttpOutcall,
  decodeTime,
  encodeCanisterResult,
  encodeSubmitResult,
  encodeTopology,
  parseJsonText,
  stringifyJson,
  UnsupportedConfig,
} from './codec.ts';

const json = (text: string) => parseJsonText(new TextEncoder().encode(text));

describe('JSON text', () => {
  it('keeps integers beyond 2^53 exact both ways', () => {
    const body = json('{"nanos_since_epoch":1620328630000000001}');
    expect(decodeTime(body)).toBe(1620328630000000001n);
    expect(stringifyJson({ cycles: 340282366920938463463374607431768211455n })).toBe(
      '{"cycles":340282366920938463463374607431768211455}',
    );
    expect(decodeTime(json('{"nanos_since_epoch":5}'))).toBe(5n);
  });

  it('names the problem in parse and shape errors', () => {
    expect(() => json('{"a":')).toThrow(/Failed to parse the request body as JSON/);
    expect(() => decodeTime(json('{}'))).toThrow(/missing field `nanos_since_epoch`/);
    expect(() => decodeTime(json('{"nanos_since_epoch":-1}'))).toThrow(/nanos_since_epoch: invalid value/);
    expect(() => decodeTime(json('{"nanos_since_epoch":18446744073709551616}'))).toThrow(/expected u64/);
    expect(() => decodeTime(json('{"nanos_since_epoch":1.5}'))).toThrow(BadRequest);
  });
});

describe('RawCanisterCall', () => {
  // [VERIFIED] shape sent by PicJS (protocol §4.7).
  const call = {
    sender: 'BA==',
    canister_id: '///////gAAABAQ==',
    method: 'greet',
    payload: 'RElETAABcQFh',
    effective_principal: 'None',
  };

  it('decodes principals from base64, "" being the management canister', () => {
    const c = decodeCanisterCall(json(JSON.stringify(call)));
    expect(c.sender.toText()).toBe('2vxsx-fae');
    expect(c.canisterId.toText()).toBe('lxzze-o7777-77777-aaaaa-cai');
    expect(c.method).toBe('greet');
    expect(Buffer.from(c.arg).toString()).toBe('DIDL\x00\x01q\x01a');
    expect(c.effectivePrincipal).toEqual({ kind: 'none' });
    const mgmt = decodeCanisterCall(json(JSON.stringify({ ...call, canister_id: '' })));
    expect(mgmt.canisterId.toText()).toBe('aaaaa-aa');
  });

  it('decodes the data-carrying effective principals', () => {
    const s = decodeCanisterCall(
      json(JSON.stringify({ ...call, effective_principal: { SubnetId: 'BA==' } })),
    );
    expect(s.effectivePrincipal).toMatchObject({ kind: 'subnet' });
    const c = decodeCanisterCall(
      json(JSON.stringify({ ...call, effective_principal: { CanisterId: '///////gAAABAQ==' } })),
    );
    expect(c.effectivePrincipal.kind === 'canister' && c.effectivePrincipal.id.toText()).toBe(
      'lxzze-o7777-77777-aaaaa-cai',
    );
    expect(() => decodeCanisterCall(json(JSON.stringify({ ...call, effective_principal: 'Some' })))).toThrow(
      /unknown variant `Some`/,
    );
  });

  it('refuses bad base64 and over-long principals like PocketIC', () => {
    expect(() => decodeCanisterCall(json(JSON.stringify({ ...call, payload: '!!' })))).toThrow(
      /payload: invalid base64/,
    );
    const long = Buffer.alloc(30, 1).toString('base64');
    expect(() => decodeCanisterCall(json(JSON.stringify({ ...call, canister_id: long })))).toThrow(
      'ConversionError { message: "Bad canister id" }',
    );
    const noMethod: Record<string, string> = { ...call };
    delete noMethod.method;
    expect(() => decodeCanisterCall(json(JSON.stringify(noMethod)))).toThrow(/missing field `method`/);
    for (const bad of ['abc', 'x===', '====', 'ab=c', 'abc=d===']) {
      expect(() => decodeCanisterCall(json(JSON.stringify({ ...call, payload: bad })))).toThrow(
        /payload: invalid base64/,
      );
    }
  });

  it('accepts exactly the padded standard base64 the regular expression describes, with its bytes', () => {
    // The definition the fast check replaces: base64 characters, at most two `=`, length % 4 = 0.
    const standard = (s: string) => s.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(s);
    const decode = (payload: string) => decodeCanisterCall(json(JSON.stringify({ ...call, payload }))).arg;
    // Near-misses: base64url, whitespace, padding anywhere, non-ASCII.
    const chars = fc.constantFrom(...'AQZaqz09+/=-_ \n.!é😀'.split(''), 'A', 'b', '7');
    fc.assert(
      fc.property(fc.array(chars, { maxLength: 24 }), (parts) => {
        const s = parts.join('');
        if (standard(s)) expect(Buffer.compare(decode(s), Buffer.from(s, 'base64'))).toBe(0);
        else expect(() => decode(s)).toThrow(/payload: invalid base64/);
      }),
      { numRuns: 3000 },
    );
    // Valid bodies with one character swapped for each kind of near-miss, at the start, middle and end.
    const valid = Buffer.from(new Uint8Array(300).map((_, i) => (i * 37) % 256)).toString('base64');
    for (const c of ['-', '_', ' ', '\n', '=', '.', 'é', '\u0000'])
      for (const at of [0, 150, valid.length - 1]) {
        const s = valid.slice(0, at) + c + valid.slice(at + 1);
        if (!standard(s)) expect(() => decode(s)).toThrow(/payload: invalid base64/);
      }
  });

  it('reads integers beyond 2^53 exactly, also beside a large argument', () => {
    const payload = Buffer.alloc(100_000, 3).toString('base64');
    const body = `{"nanos_since_epoch": 18446744073709551615, "payload": "${payload}"}`;
    const parsed = json(body) as { nanos_since_epoch: unknown; payload: unknown };
    expect(parsed.nanos_since_epoch).toBe(18446744073709551615n);
    expect(parsed.payload).toBe(payload);
    expect(json('{"a": [1, 2.5, 9007199254740991]}')).toEqual({ a: [1, 2.5, 9007199254740991] });
    expect(json('{"a": [9007199254740993]}')).toEqual({ a: [9007199254740993n] });
  });

  it('decodes a 5 MiB argument (7 M base64 characters) instead of overflowing the stack', () => {
    const big = new Uint8Array(5 * 1024 * 1024).map((_, i) => i % 251);
    const decoded = decodeCanisterCall(
      json(JSON.stringify({ ...call, payload: Buffer.from(big).toString('base64') })),
    );
    expect(decoded.arg.length).toBe(big.length);
    expect(Buffer.compare(decoded.arg, big)).toBe(0);
  });
});

describe('results', () => {
  it('encodes replies and rejects with code names', () => {
    expect(
      encodeCanisterResult({ status: 'replied', reply: new Uint8Array([68, 73, 68, 76, 0, 0]) }, true),
    ).toEqual({
      Ok: 'RElETAAA',
    });
    expect(
      encodeCanisterResult(
        { status: 'rejected', rejectCode: 'CanisterError', errorCode: 'CanisterCalledTrap', message: 'boom' },
        true,
      ),
    ).toEqual({
      Err: {
        reject_code: 'CanisterError',
        reject_message: 'boom',
        error_code: 'CanisterCalledTrap',
        certified: true,
      },
    });
  });

  it('encodes submit results, with rejects at submission not certified', () => {
    const id = new Uint8Array(32).fill(7);
    const p = Principal.fromText('lxzze-o7777-77777-aaaaa-cai');
    expect(
      encodeSubmitResult({
        status: 'submitted',
        messageId: id,
        effectivePrincipal: { kind: 'subnet', id: p },
      }),
    ).toEqual({
      Ok: {
        effective_principal: { SubnetId: '///////gAAABAQ==' },
        message_id: Buffer.from(id).toString('base64'),
      },
    });
    const rejected = encodeSubmitResult({
      status: 'rejected',
      rejectCode: 'DestinationInvalid',
      errorCode: 'CanisterNotFound',
      message: 'x',
    });
    expect(rejected).toMatchObject({ Err: { certified: false, reject_code: 'DestinationInvalid' } });
  });

  it('wants 32-byte message ids', () => {
    const ok = { effective_principal: 'None', message_id: Buffer.alloc(32).toString('base64') };
    expect(decodeMessageId(json(JSON.stringify(ok))).messageId).toHaveLength(32);
    expect(() => decodeMessageId(json(JSON.stringify({ ...ok, message_id: 'AAAA' })))).toThrow(
      'Bad message id',
    );
  });

  it('accepts raw_caller as PicJS (bare base64) and the Rust client ({principal_id}) send it', () => {
    const raw_message_id = { effective_principal: 'None', message_id: Buffer.alloc(32).toString('base64') };
    expect(
      decodeIngressStatusArgs(json(JSON.stringify({ raw_message_id, raw_caller: 'BA==' }))).caller?.toText(),
    ).toBe('2vxsx-fae');
    expect(
      decodeIngressStatusArgs(
        json(JSON.stringify({ raw_message_id, raw_caller: { principal_id: 'BA==' } })),
      ).caller?.toText(),
    ).toBe('2vxsx-fae');
    expect(decodeIngressStatusArgs(json(JSON.stringify({ raw_message_id }))).caller).toBeUndefined();
  });
});

describe('topology', () => {
  it('keys subnets by principal text and carries ranges as base64 canister ids', () => {
    const start = Principal.fromText('lxzze-o7777-77777-aaaaa-cai');
    const end = Principal.fromText('x47dp-5x777-77777-p777q-cai');
    const subnet = Principal.fromUint8Array(new Uint8Array([9, 9, 2]));
    const t = encodeTopology({
      subnets: [
        {
          id: subnet,
          kind: 'Application',
          size: 13,
          seed: new Uint8Array(32).fill(1),
          instructionConfig: 'Production',
          canisterRanges: [{ start, end }],
          maxIngressBytesPerMessage: 2 * 1024 * 1024,
        },
      ],
      defaultEffectiveCanisterId: start,
    });
    expect(t).toEqual({
      subnet_configs: {
        [subnet.toText()]: {
          subnet_kind: 'Application',
          subnet_seed: new Array(32).fill(1),
          instruction_config: 'Production',
          canister_ranges: [
            { start: { canister_id: '///////gAAABAQ==' }, end: { canister_id: '///////v//8BAQ==' } },
          ],
        },
      },
      default_effective_canister_id: { canister_id: '///////gAAABAQ==' },
    });
  });
});

describe('create-instance config', () => {
  const spec = {
    dts_flag: 'Enabled',
    instruction_config: 'Production',
    cost_schedule: 'Normal',
    state_config: 'New',
  };

  it('reads the default PicJS body as one application subnet', () => {
    const d = decodeInstanceConfig(
      json(
        JSON.stringify({
          subnet_config_set: { system: [], application: [spec], cloud_engine: [], verified_application: [] },
        }),
      ),
    );
    expect(d.config).toEqual({
      subnets: [{ kind: 'Application', instructionConfig: 'Production', costSchedule: 'Normal' }],
    });
    expect(d.autoProgress).toBeUndefined();
  });

  it('orders subnets as PocketIC consumes canister ranges', () => {
    const d = decodeInstanceConfig(
      json(
        JSON.stringify({
          subnet_config_set: {
            ii: spec,
            nns: spec,
            system: [{ ...spec, dts_flag: 'Disabled' }],
            application: [{ ...spec, instruction_config: 'Benchmarking', cost_schedule: 'Free' }],
            cloud_engine: [],
            verified_application: [spec],
          },
          icp_config: { beta_features: 'Enabled' },
          disable_ingress_validation: true,
          initial_time: { Timestamp: { nanos_since_epoch: 1700000000000000000 } },
        }),
      ),
    );
    expect(d.config.subnets.map((s) => s.kind)).toEqual([
      'NNS',
      'II',
      'System',
      'Application',
      'VerifiedApplication',
    ]);
    expect(d.config.subnets[3]).toEqual({
      kind: 'Application',
      instructionConfig: 'Benchmarking',
      costSchedule: 'Free',
    });
    expect(d.config.initialTimeNs).toBe(1700000000000000000n);
  });

  it('reports what it cannot serve', () => {
    const base = { system: [], application: [spec], cloud_engine: [], verified_application: [] };
    expect(() =>
      decodeInstanceConfig(json(JSON.stringify({ subnet_config_set: { ...base, application: [] } }))),
    ).toThrow(/Bad config/);
    expect(() =>
      decodeInstanceConfig(
        json(
          JSON.stringify({
            subnet_config_set: { ...base, nns: { ...spec, state_config: { FromPath: '/x' } } },
          }),
        ),
      ),
    ).toThrow(UnsupportedConfig);
    expect(() =>
      decodeInstanceConfig(
        json(JSON.stringify({ subnet_config_set: base, icp_features: { icp_token: 'DefaultConfig' } })),
      ),
    ).toThrow(/icp_token/);
    expect(() => decodeInstanceConfig(json('{"subnet_config_set":{"system":[]}}'))).toThrow(
      /missing field `application`/,
    );
  });

  it('reads initial_time AutoProgress', () => {
    const d = decodeInstanceConfig(
      json(
        JSON.stringify({
          subnet_config_set: { system: [], application: [spec], verified_application: [] },
          initial_time: { AutoProgress: { artificial_delay_ms: 10 } },
        }),
      ),
    );
    expect(d.autoProgress).toEqual({ artificialDelayMs: 10 });
  });
});

describe('HTTPS outcall mocks', () => {
  it('decodes the bodies PicJS sends (protocol §4.14)', () => {
    const reply = decodeMockHttpOutcall(
      json(
        '{"subnet_id":{"subnet_id":"BA=="},"request_id":0,"response":{"CanisterHttpReply":{"status":200,"headers":[{"name":"x","value":"y"}],"body":"b2s="}},"additional_responses":[]}',
      ),
    );
    expect(reply.requestId).toBe(0);
    expect(reply.response).toEqual({
      kind: 'reply',
      status: 200,
      headers: [{ name: 'x', value: 'y' }],
      body: new Uint8Array(Buffer.from('ok')),
    });
    const reject = decodeMockHttpOutcall(
      json(
        '{"subnet_id":{"subnet_id":"BA=="},"request_id":1,"response":{"CanisterHttpReject":{"reject_code":2,"message":"nope"}},"additional_responses":[]}',
      ),
    );
    expect(reject.response).toEqual({ kind: 'reject', rejectCode: 2, message: 'nope' });
  });
});
