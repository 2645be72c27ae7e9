/**
 * The PocketIC REST JSON codec (`simulator/server/codec.ts`) on generated and
 * mutated bodies: every decoder either returns or throws the codec's own
 * refusals (`BadRequest` → 400, `UnsupportedConfig` → 400 `{"Error"}`), never
 * a TypeError, RangeError or any other exception the server would answer 500.
 * Bodies take the server's path: JSON text (`stringifyJson`), bytes,
 * `parseJsonText`, then the decoder.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BadRequest,
  decodeAddCycles,
  decodeAutoProgress,
  decodeCanisterCall,
  decodeCanisterIdBody,
  decodeIngressStatusArgs,
  decodeInstanceConfig,
  decodeMessageId,
  decodeMockHttpOutcall,
  decodeSetStableMemory,
  decodeSubnetIdBody,
  decodeTime,
  parseJsonText,
  stringifyJson,
  UnsupportedConfig,
  type Json,
} from '../simulator/server/codec.ts';
import {
  applyByteMutations,
  byteMutation,
  describeError,
  jsonValue,
  mutatedJson,
  outcomes,
  params,
  yielding,
  type JsonValue,
} from './support.ts';

const b64 = (bytes: number[] | Uint8Array): string => Buffer.from(bytes).toString('base64');
const CANISTER = b64([0xff, 0xff, 0xff, 0xff, 0xfe, 0x00, 0x00, 0x01, 0x01, 0x01]);
const MESSAGE_ID = b64(new Uint8Array(32).fill(7));
const SUBNET_SPEC = {
  dts_flag: 'Enabled',
  instruction_config: 'Production',
  cost_schedule: 'Normal',
  state_config: 'New',
};

/** Each decoder with bodies it accepts, as PicJS and the Rust client send them (codec.test.ts). */
const DECODERS: { name: string; decode: (body: Json) => unknown; valid: JsonValue[] }[] = [
  {
    name: 'RawCanisterCall',
    decode: decodeCanisterCall,
    valid: [
      {
        sender: 'BA==',
        canister_id: CANISTER,
        method: 'greet',
        payload: 'RElETAABcQFh',
        effective_principal: 'None',
      },
      {
        sender: 'BA==',
        canister_id: '',
        method: 'x',
        payload: '',
        effective_principal: { SubnetId: 'BA==' },
      },
      {
        sender: 'BA==',
        canister_id: CANISTER,
        method: 'm',
        payload: 'RElETAAA',
        effective_principal: { CanisterId: CANISTER },
        sender_info: null,
      },
    ],
  },
  {
    name: 'RawMessageId',
    decode: (body) => decodeMessageId(body),
    valid: [
      { effective_principal: 'None', message_id: MESSAGE_ID },
      { effective_principal: { SubnetId: 'BA==' }, message_id: MESSAGE_ID },
    ],
  },
  {
    name: 'RawIngressStatusArgs',
    decode: decodeIngressStatusArgs,
    valid: [
      { raw_message_id: { effective_principal: 'None', message_id: MESSAGE_ID } },
      { raw_message_id: { effective_principal: 'None', message_id: MESSAGE_ID }, raw_caller: 'BA==' },
      {
        raw_message_id: { effective_principal: { CanisterId: CANISTER }, message_id: MESSAGE_ID },
        raw_caller: { principal_id: 'BA==' },
      },
    ],
  },
  {
    name: 'RawCanisterId',
    decode: decodeCanisterIdBody,
    valid: [{ canister_id: CANISTER }, { canister_id: '' }],
  },
  { name: 'RawSubnetId', decode: (body) => decodeSubnetIdBody(body), valid: [{ subnet_id: 'BA==' }] },
  {
    name: 'RawTime',
    decode: decodeTime,
    valid: [{ nanos_since_epoch: 1_700_000_000_000_000_000n }, { nanos_since_epoch: 5 }],
  },
  {
    name: 'RawAddCycles',
    decode: decodeAddCycles,
    valid: [
      { canister_id: CANISTER, amount: 1_000_000 },
      { canister_id: CANISTER, amount: 2n ** 100n },
    ],
  },
  {
    name: 'RawSetStableMemory',
    decode: decodeSetStableMemory,
    valid: [{ canister_id: CANISTER, blob_id: b64(new Uint8Array(32).fill(1)) }],
  },
  {
    name: 'AutoProgressConfig',
    decode: decodeAutoProgress,
    valid: [{ artificial_delay_ms: 10 }, { artificial_delay_ms: null }, {}],
  },
  {
    name: 'RawMockCanisterHttpResponse',
    decode: decodeMockHttpOutcall,
    valid: [
      {
        subnet_id: { subnet_id: 'BA==' },
        request_id: 0,
        response: { CanisterHttpReply: { status: 200, headers: [{ name: 'x', value: 'y' }], body: 'b2s=' } },
        additional_responses: [],
      },
      {
        subnet_id: { subnet_id: 'BA==' },
        request_id: 1,
        response: { CanisterHttpReject: { reject_code: 2, message: 'nope' } },
        additional_responses: [{ CanisterHttpReject: { reject_code: 1, message: 'x' } }],
      },
    ],
  },
  {
    name: 'InstanceConfig',
    decode: decodeInstanceConfig,
    valid: [
      {
        subnet_config_set: {
          system: [],
          application: [SUBNET_SPEC],
          cloud_engine: [],
          verified_application: [],
        },
      },
      {
        subnet_config_set: {
          nns: SUBNET_SPEC,
          ii: SUBNET_SPEC,
          system: [SUBNET_SPEC],
          application: [{ ...SUBNET_SPEC, instruction_config: 'Benchmarking', cost_schedule: 'Free' }],
          verified_application: [SUBNET_SPEC],
        },
        icp_config: { beta_features: 'Enabled' },
        icp_features: { icp_token: null },
        initial_time: { Timestamp: { nanos_since_epoch: 1_700_000_000_000_000_000n } },
      },
      {
        subnet_config_set: { system: [], application: [SUBNET_SPEC], verified_application: [] },
        initial_time: { AutoProgress: { artificial_delay_ms: 10 } },
        bitcoind_addr: [],
      },
    ],
  },
];

const utf8 = new TextEncoder();

/** What the server does with a body: JSON text → bytes → parse → decode. Throws what they throw. */
function decodeText(bytes: Uint8Array, decode: (body: Json) => unknown): void {
  decode(parseJsonText(bytes));
}

/**
 * Runs `fn`; an exception other than the codec's refusals (with a message) fails the property
 * with its stack. Plain checks, not `expect`: they run for every case.
 */
function refusedCleanly(fn: () => void): 'accepted' | 'refused' {
  try {
    fn();
    return 'accepted';
  } catch (e) {
    if ((e instanceof BadRequest || e instanceof UnsupportedConfig) && e.message !== '') return 'refused';
    throw new Error(`not a clean refusal: ${describeError(e)}`);
  }
}

describe('REST JSON codec', () => {
  it('accepts the valid bodies the mutations start from', () => {
    for (const { name, decode, valid } of DECODERS) {
      for (const body of valid) {
        expect(() => decodeText(utf8.encode(stringifyJson(body as Json)), decode), name).not.toThrow();
      }
    }
  });

  for (const { name, decode, valid } of DECODERS) {
    it(`${name}: arbitrary and mutated JSON end in a value or the codec's refusal`, async () => {
      const body = fc.oneof(
        { weight: 1, arbitrary: jsonValue },
        { weight: 4, arbitrary: mutatedJson(valid) },
      );
      const { seen, expectEach } = outcomes('accepted', 'refused');
      await fc.assert(
        yielding(body, (value) => {
          seen[refusedCleanly(() => decodeText(utf8.encode(stringifyJson(value as Json)), decode))]++;
        }),
        params(),
      );
      expectEach();
    });
  }

  it('JSON text with byte edits (and random bytes) ends in a value or the codec’s refusal, for every decoder', async () => {
    const texts = DECODERS.flatMap(({ valid }, d) =>
      valid.map((v) => ({ d, bytes: utf8.encode(stringifyJson(v as Json)) })),
    );
    const input = fc.oneof(
      fc
        .tuple(fc.constantFrom(...texts), fc.array(byteMutation, { minLength: 1, maxLength: 4 }))
        .map(([t, ms]) => ({ d: t.d, bytes: applyByteMutations(t.bytes, ms) })),
      fc.record({ d: fc.nat({ max: DECODERS.length - 1 }), bytes: fc.uint8Array({ maxLength: 64 }) }),
    );
    const { seen, expectEach } = outcomes('accepted', 'refused');
    await fc.assert(
      yielding(input, ({ d, bytes }) => {
        seen[refusedCleanly(() => decodeText(bytes, DECODERS[d]!.decode))]++;
      }),
      params(),
    );
    expectEach();
  });
});
