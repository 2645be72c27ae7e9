/**
 * The PocketIC REST server over real HTTP (`createIcsimServer`, the instance
 * hosted inline so that the test sees its state): generated and mutated
 * bodies, content types and instance ids on every JSON route. Every answer is
 * below 500 with a body, and a refused request (4xx) leaves the instance and
 * the instance list exactly as they were.
 */
import { IDL } from '@icp-sdk/core/candid';
import { Principal } from '@icp-sdk/core/principal';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { Instance } from '../simulator/instance.ts';
import { stringifyJson, type Json } from '../simulator/server/codec.ts';
import { InlineHost } from '../simulator/server/inline-host.ts';
import { createIcsimServer, type IcsimServer } from '../simulator/server/server.ts';
import { WorkerPool } from '../simulator/server/worker-pool.ts';
import { Harness } from '../simulator/testing/harness.ts';
import { wat } from '../simulator/wasm/test-support.ts';
import { COUNTER_WAT, fingerprint } from './instance-state.ts';
import {
  applyByteMutations,
  byteMutation,
  HTTP_RUNS,
  jsonValue,
  mutatedJson,
  outcomes,
  params,
  type JsonValue,
} from './support.ts';

let icsim: IcsimServer;
let base: string;
let ic: Instance;
let instanceId: number;
let routes: { path: string; valid: JsonValue[] }[];

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');

beforeAll(async () => {
  icsim = createIcsimServer({
    pool: new WorkerPool(new URL('../simulator/server/instance-worker.ts', import.meta.url)),
  });
  await new Promise<void>((r) => icsim.server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(icsim.server.address() as { port: number }).port}`;
  ic = Instance.create({ subnets: [{ kind: 'Application' }] });
  instanceId = icsim.registry.add(new InlineHost(ic));
  const h = new Harness(ic);
  const canister = h.deploy(wat(COUNTER_WAT));
  replyOrThrow(h.update(canister, 'inc'));

  const blob = await fetch(`${base}/blobstore`, { method: 'POST', body: new Uint8Array(65_536).fill(3) });
  const blobHex = await blob.text();
  const cid = b64(canister.toUint8Array());
  const subnet = b64(ic.getSubnet(canister)!.toUint8Array());
  const sent = ic.submitIngress({
    sender: Principal.anonymous(),
    canisterId: canister,
    method: 'inc',
    arg: IDL.encode([], []),
    effectivePrincipal: { kind: 'none' },
  });
  if (sent.status !== 'submitted') throw new Error(sent.message);
  ic.awaitIngress(sent.messageId);
  const messageId = { effective_principal: { SubnetId: subnet }, message_id: b64(sent.messageId) };
  const call = (method: string) => ({
    sender: 'BA==',
    canister_id: cid,
    method,
    payload: b64(IDL.encode([], [])),
    effective_principal: 'None',
  });
  const later = ic.getTime() + 1_000_000_000n;
  const spec = {
    dts_flag: 'Enabled',
    instruction_config: 'Production',
    cost_schedule: 'Normal',
    state_config: 'New',
  };
  const at = `/instances/${instanceId}`;
  routes = [
    { path: `${at}/update/set_time`, valid: [{ nanos_since_epoch: later }] },
    { path: `${at}/update/set_certified_time`, valid: [{ nanos_since_epoch: later }] },
    { path: `${at}/update/tick`, valid: [{}, { blockmakers: null }] },
    { path: `${at}/read/query`, valid: [call('get')] },
    { path: `${at}/update/submit_ingress_message`, valid: [call('inc')] },
    { path: `${at}/update/await_ingress_message`, valid: [messageId] },
    { path: `${at}/read/ingress_status`, valid: [{ raw_message_id: messageId, raw_caller: 'BA==' }] },
    { path: `${at}/read/get_cycles`, valid: [{ canister_id: cid }] },
    { path: `${at}/update/add_cycles`, valid: [{ canister_id: cid, amount: 1000 }] },
    {
      path: `${at}/update/set_stable_memory`,
      valid: [{ canister_id: cid, blob_id: b64(Buffer.from(blobHex, 'hex')) }],
    },
    { path: `${at}/read/get_stable_memory`, valid: [{ canister_id: cid }] },
    { path: `${at}/read/get_subnet`, valid: [{ canister_id: cid }] },
    { path: `${at}/read/get_controllers`, valid: [{ canister_id: cid }] },
    { path: `${at}/read/pub_key`, valid: [{ subnet_id: subnet }] },
    {
      path: `${at}/update/mock_canister_http`,
      valid: [
        {
          subnet_id: { subnet_id: subnet },
          request_id: 0,
          response: { CanisterHttpReply: { status: 200, headers: [], body: '' } },
          additional_responses: [],
        },
      ],
    },
    { path: `${at}/auto_progress`, valid: [{ artificial_delay_ms: 10 }, {}] },
    { path: `${at}/stop_progress`, valid: [{}] },
    {
      path: '/instances',
      valid: [
        {
          subnet_config_set: { system: [], application: [spec], cloud_engine: [], verified_application: [] },
        },
      ],
    },
  ];
});

afterAll(() => {
  ic?.stopAutoProgress();
  icsim?.server.close();
  icsim?.close();
});

function replyOrThrow(outcome: ReturnType<Harness['update']>): void {
  if (outcome.status !== 'replied') throw new Error(outcome.message);
}

/**
 * The instance and the server's instance list. `await_ingress_message` runs up to 100 rounds
 * before it answers that the message timed out (PocketIC's `AwaitIngressMessage`), which moves the
 * clock on: for that route the clock is left out.
 */
function state(path: string): string {
  const clock = !path.endsWith('/await_ingress_message');
  return fingerprint(ic, { clock }) + stringifyJson(icsim.registry.states() as unknown as Json);
}

/**
 * After a successful request: stop what keeps running on its own (auto progress, a created
 * instance), and run the rounds that messages it queued need, so that the next refusal is judged
 * against a settled instance.
 */
async function settle(status: number, answer: Uint8Array): Promise<void> {
  if (ic.isAutoProgress()) ic.stopAutoProgress();
  ic.tick();
  ic.tick();
  if (status === 201) {
    const created = JSON.parse(Buffer.from(answer).toString('utf8')) as { Created?: { instance_id: number } };
    if (created.Created)
      await fetch(`${base}/instances/${created.Created.instance_id}`, { method: 'DELETE' });
  }
}

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'Application/JSON',
  'application/vnd.x+json',
  'text/plain',
  'application/x-www-form-urlencoded',
  'application/cbor',
  '',
];

/** A request: a route (or a neighbour of its path), a body, a content type. */
function requests() {
  const body = (valid: JsonValue[]) =>
    fc.oneof(
      { weight: 6, arbitrary: mutatedJson(valid).map(text) },
      { weight: 2, arbitrary: jsonValue.map(text) },
      {
        weight: 2,
        arbitrary: fc
          .tuple(fc.constantFrom(...valid), fc.array(byteMutation, { minLength: 1, maxLength: 3 }))
          .map(([v, ms]) => applyByteMutations(text(v), ms)),
      },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 48 }) },
    );
  const contentType = fc.oneof(
    { weight: 8, arbitrary: fc.constant('application/json') },
    { weight: 2, arbitrary: fc.constantFrom(...CONTENT_TYPES) },
  );
  // The instance id segment: this instance, or one that is deleted, absent or not a usize.
  const instance = fc.oneof(
    { weight: 12, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: fc.constantFrom('999', '-1', 'x', '%zz', '18446744073709551616', '0x0', '') },
  );
  // Mostly the route's own method and path; sometimes another method or a path with more to it.
  const method = fc.oneof(
    { weight: 12, arbitrary: fc.constant('POST') },
    { weight: 1, arbitrary: fc.constantFrom('GET', 'DELETE', 'PUT', 'PATCH', 'OPTIONS') },
  );
  const suffix = fc.oneof(
    { weight: 12, arbitrary: fc.constant('') },
    { weight: 1, arbitrary: fc.constantFrom('/', '//', '/x', '/..', '?a=1', '%2F') },
  );
  return fc.oneof(
    ...routes.map((r, route) =>
      fc.record({
        route: fc.constant(route),
        body: body(r.valid),
        contentType,
        instance,
        method,
        suffix,
      }),
    ),
  );
}

function text(v: JsonValue): Uint8Array {
  return new TextEncoder().encode(stringifyJson(v as Json));
}

describe('REST server over HTTP', () => {
  it('answers every generated request below 500, and a refused one changes nothing', async () => {
    const { seen, expectEach } = outcomes('answered', 'refused');
    await fc.assert(
      fc.asyncProperty(requests(), async ({ route, body, contentType, instance, method, suffix }) => {
        let path = routes[route]!.path + suffix;
        if (instance !== null && path.startsWith('/instances/'))
          path = path.replace(/^\/instances\/\d+/, `/instances/${instance}`);
        // `/..` can resolve to the instance itself (fetch normalizes the path as a URL does), and a
        // DELETE there rightly deletes it: that is not a request this property can judge.
        const resolved = new URL(path, base).pathname.replace(/\/$/, '');
        fc.pre(!(method === 'DELETE' && resolved === `/instances/${instanceId}`));
        const before = state(path);
        const res = await fetch(`${base}${path}`, {
          method,
          headers: contentType === '' ? {} : { 'content-type': contentType },
          // fetch sends no body with GET.
          body: method === 'GET' ? undefined : Buffer.from(body),
        });
        const answer = new Uint8Array(await res.arrayBuffer());
        if (res.status >= 500) {
          throw new Error(`${res.status} on ${method} ${path}: ${Buffer.from(answer).toString('utf8')}`);
        }
        if (res.status >= 400) {
          seen.refused++;
          if (answer.length === 0) throw new Error(`${res.status} without a body on ${method} ${path}`);
          const after = state(path);
          if (after !== before)
            throw new Error(
              `refused ${method} ${path} (${res.status}) changed the state:\n${before}\n${after}`,
            );
        } else {
          seen.answered++;
          await settle(res.status, answer);
        }
      }),
      params(HTTP_RUNS),
    );
    expectEach(HTTP_RUNS);
  });
});
