/**
 * JS-function canisters in process: a real Wasm canister (the universal
 * canister) calls a mock ledger's `icrc1_transfer` in Candid with cycles
 * attached, the mock calls back and answers; rejects and traps of a mock
 * reach the caller's reject callback as a canister's would.
 */
import { IDL } from '@icp-sdk/core/candid';
import { Principal } from '@icp-sdk/core/principal';
import { beforeEach, describe, expect, it } from 'vitest';
import * as uc from '../../conformance/support/uc.ts';
import { InstanceError } from '../errors.ts';
import { ANONYMOUS, Harness, rejectOf, replyOf } from '../testing/harness.ts';
import { candidMethod } from './candid.ts';
import { MockReject, type MockContext } from './types.ts';

const Account = IDL.Record({ owner: IDL.Principal, subaccount: IDL.Opt(IDL.Vec(IDL.Nat8)) });
const TransferArg = IDL.Record({
  to: Account,
  amount: IDL.Nat,
  fee: IDL.Opt(IDL.Nat),
  memo: IDL.Opt(IDL.Vec(IDL.Nat8)),
  from_subaccount: IDL.Opt(IDL.Vec(IDL.Nat8)),
  created_at_time: IDL.Opt(IDL.Nat64),
});
const TransferError = IDL.Variant({
  InsufficientFunds: IDL.Record({ balance: IDL.Nat }),
  GenericError: IDL.Record({ error_code: IDL.Nat, message: IDL.Text }),
});
const TransferResult = IDL.Variant({ Ok: IDL.Nat, Err: TransferError });
type Transfer = { to: { owner: Principal }; amount: bigint };

/** The ledger's canister id on the NNS subnet. */
const LEDGER = Principal.fromText('ryjl3-tyaaa-aaaaa-aaaba-cai');
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const transferArg = (to: Principal, amount: bigint) =>
  new Uint8Array(
    IDL.encode(
      [TransferArg],
      [
        {
          to: { owner: to, subaccount: [] },
          amount,
          fee: [],
          memo: [],
          from_subaccount: [],
          created_at_time: [],
        },
      ],
    ),
  );
/** The relay's answer: 0 (u32) ++ the reply, or the reject code (u32) ++ the reject message. */
const relayed = (bytes: Uint8Array) => ({
  code: new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true),
  // A copy: `IDL.decode` reads a view's whole buffer.
  body: bytes.slice(4),
});

let h: Harness;
let caller: Principal;

beforeEach(async () => {
  h = new Harness(
    (await import('../instance.ts')).Instance.create({ subnets: [{ kind: 'NNS' }, { kind: 'Application' }] }),
  );
  caller = h.deploy(await uc.ucWasm());
});

/** The caller's ingress: call `method` on `callee` with `arg` and `cycles`, relay the answer (the refund checked). */
function relay(callee: Principal, method: string, arg: Uint8Array, cycles = 0n, refund = cycles) {
  const prog = uc.updateCall(callee, method, {
    onReply: uc.relayReplyRefund(refund),
    onReject: uc.relayReject,
    arg,
    cycles,
  });
  const sent = h.ic.submitIngress({
    sender: ANONYMOUS,
    canisterId: caller,
    method: 'update',
    arg: uc.run(prog),
    effectivePrincipal: { kind: 'none' },
  });
  if (sent.status !== 'submitted') throw new Error(sent.message);
  return h.ic.awaitIngressAsync(sent.messageId);
}

describe('a mock ledger called by a Wasm canister', () => {
  it('decodes the Candid argument, sees the caller and the cycles, accepts half, calls back and replies', async () => {
    const seen: { caller?: string; available?: bigint; time?: bigint; callback?: string } = {};
    h.ic.mockCanister(LEDGER, {
      icrc1_transfer: candidMethod(
        [TransferArg],
        [TransferResult],
        async (arg: Transfer, ctx: MockContext) => {
          seen.caller = ctx.caller.toText();
          seen.available = ctx.cyclesAvailable();
          seen.time = ctx.time;
          expect(ctx.acceptCycles(ctx.cyclesAvailable() / 2n)).toBe(500_000n);
          // The mock calls the canister that called it, which runs the program it is sent.
          const back = await ctx.call(ctx.caller, 'update', uc.run(uc.replyData(uc.cat('pong ', uc.caller))));
          if (back.status !== 'replied') throw new Error('callback rejected');
          seen.callback = dec(back.reply);
          return { Ok: arg.amount + 1n };
        },
      ),
    });
    const before = h.ic.getCycles(LEDGER);
    const result = relayed(
      replyOf(await relay(LEDGER, 'icrc1_transfer', transferArg(caller, 41n), 1_000_000n, 500_000n)),
    );
    expect(result.code).toBe(0);
    expect(IDL.decode([TransferResult], result.body)[0]).toEqual({ Ok: 42n });
    expect(seen.caller).toBe(caller.toText());
    expect(seen.available).toBe(1_000_000n);
    expect(seen.time).toBeGreaterThan(0n);
    expect(seen.callback).toBe(`pong ${dec(LEDGER.toUint8Array())}`);
    expect(h.ic.getCycles(LEDGER) - before).toBe(500_000n);
    expect(h.ic.getSubnet(LEDGER)?.toText()).toBe(
      h.ic
        .getTopology()
        .subnets.find((s) => s.kind === 'NNS')
        ?.id.toText(),
    );
  });

  it('a reject reaches the reject callback with its code and message, and refunds the cycles', async () => {
    h.ic.mockCanister(LEDGER, {
      icrc1_transfer: () => {
        throw new MockReject('insufficient funds');
      },
    });
    const result = relayed(replyOf(await relay(LEDGER, 'icrc1_transfer', transferArg(caller, 1n), 7_000n)));
    expect(result.code).toBe(4);
    expect(dec(result.body)).toBe('insufficient funds');
  });

  it('a trap reads exactly as a Wasm canister calling ic0.trap, and its accepted cycles go back', async () => {
    const other = h.deploy(await uc.ucWasm());
    h.ic.mockCanister(LEDGER, {
      icrc1_transfer: async (_arg, ctx) => {
        ctx.acceptCycles();
        await Promise.resolve();
        throw new Error('ledger is down');
      },
    });
    const mocked = relayed(replyOf(await relay(LEDGER, 'icrc1_transfer', transferArg(caller, 1n), 9_000n)));
    const real = relayed(replyOf(await relay(other, 'update', uc.run(uc.trap('ledger is down')))));
    expect(mocked.code).toBe(5);
    expect(real.code).toBe(5);
    expect(dec(mocked.body)).toBe(dec(real.body).replaceAll(other.toText(), LEDGER.toText()));
    expect(dec(mocked.body)).toMatch(
      /^IC0503: Error from Canister .*: Canister called `ic0.trap` with message: 'ledger is down'/,
    );
    expect(h.ic.getCycles(LEDGER)).toBe(0n);
  });

  it('a method the mock does not have is rejected as a Wasm canister without it', async () => {
    const other = h.deploy(await uc.ucWasm());
    h.ic.mockCanister(LEDGER, {});
    const mocked = relayed(replyOf(await relay(LEDGER, 'icrc1_balance_of', new Uint8Array())));
    const real = relayed(replyOf(await relay(other, 'icrc1_balance_of', new Uint8Array())));
    expect(mocked.code).toBe(5);
    expect(dec(mocked.body)).toBe(dec(real.body).replaceAll(other.toText(), LEDGER.toText()));
    expect(dec(mocked.body)).toContain("has no update method 'icrc1_balance_of'");
  });
});

describe('users and queries', () => {
  it('answers an ingress message and a query; a query mock cannot call', () => {
    h.ic.mockCanister(LEDGER, {
      icrc1_symbol: candidMethod([], [IDL.Text], () => 'ICP', { query: true }),
      icrc1_name: candidMethod([], [IDL.Text], () => 'Internet Computer'),
      calls: {
        kind: 'query',
        handler: (_arg, ctx) => {
          void ctx.call(LEDGER, 'x', new Uint8Array()).catch(() => {});
          throw new Error('a query mock tried to call');
        },
      },
    });
    expect(
      IDL.decode([IDL.Text], replyOf(h.query(LEDGER, 'icrc1_symbol', new Uint8Array(IDL.encode([], []))))),
    ).toEqual(['ICP']);
    // A query method can be called as an update, as a canister's can.
    expect(
      IDL.decode([IDL.Text], replyOf(h.update(LEDGER, 'icrc1_symbol', new Uint8Array(IDL.encode([], []))))),
    ).toEqual(['ICP']);
    expect(
      IDL.decode([IDL.Text], replyOf(h.update(LEDGER, 'icrc1_name', new Uint8Array(IDL.encode([], []))))),
    ).toEqual(['Internet Computer']);
    const notQuery = rejectOf(h.query(LEDGER, 'icrc1_name'));
    expect(notQuery.message).toContain("has no query method 'icrc1_name'");
    const trapped = rejectOf(h.query(LEDGER, 'calls'));
    expect(trapped.errorCode).toBe('CanisterCalledTrap');
    expect(trapped.message).toContain("'a query mock tried to call'");
  });

  it("a Wasm canister's query calls a query mock", async () => {
    h.ic.mockCanister(LEDGER, { icrc1_symbol: candidMethod([], [IDL.Text], () => 'ICP', { query: true }) });
    const prog = uc.updateCall(LEDGER, 'icrc1_symbol', {
      onReply: uc.relayReply,
      onReject: uc.relayReject,
      arg: new Uint8Array(IDL.encode([], [])),
      cycles: 0n,
    });
    const result = relayed(
      replyOf(
        h.ic.query({
          sender: ANONYMOUS,
          canisterId: caller,
          method: 'composite_query',
          arg: uc.run(prog),
          effectivePrincipal: { kind: 'none' },
        }),
      ),
    );
    expect(IDL.decode([IDL.Text], result.body)).toEqual(['ICP']);
  });

  it('a mock sends cycles from its balance; a call to a missing canister is rejected as for a canister', async () => {
    const missing = Principal.fromText('qoctq-giaaa-aaaaa-aaaea-cai');
    const got: { missing?: string; refund?: bigint; balance?: bigint } = {};
    h.ic.mockCanister(
      LEDGER,
      {
        go: async (_arg, ctx) => {
          const r = await ctx.call(missing, 'x', new Uint8Array(), { cycles: 100n });
          got.missing = r.status === 'rejected' ? `${r.rejectCode} ${r.message}` : 'replied';
          got.refund = r.refund;
          const paid = await ctx.call(
            caller,
            'update',
            uc.run(uc.seq(uc.ignore(uc.acceptCycles(uc.int64(30n))), uc.replyData('ok'))),
            { cycles: 100n },
          );
          got.refund = paid.refund;
          return enc('done');
        },
      },
      { cycles: 1_000n },
    );
    const sent = h.ic.submitIngress({
      sender: ANONYMOUS,
      canisterId: LEDGER,
      method: 'go',
      arg: new Uint8Array(),
      effectivePrincipal: { kind: 'none' },
    });
    if (sent.status !== 'submitted') throw new Error(sent.message);
    expect(dec(replyOf(await h.ic.awaitIngressAsync(sent.messageId)))).toBe('done');
    expect(got.missing).toBe(`DestinationInvalid Canister ${missing.toText()} not found`);
    expect(got.refund).toBe(70n);
    expect(h.ic.getCycles(LEDGER)).toBe(970n);
  });

  it('is charged nothing: a mock with no cycles on an application subnet answers users and canisters', async () => {
    const app = h.ic.getTopology().subnets.find((s) => s.kind === 'Application')!;
    const id = app.canisterRanges[0]!.end;
    h.ic.mockCanister(id, { echo: (arg) => arg });
    expect(h.ic.getSubnet(id)?.toText()).toBe(app.id.toText());
    expect(dec(replyOf(h.update(id, 'echo', enc('hi'))))).toBe('hi');
    const relayedEcho = relayed(replyOf(await relay(id, 'echo', enc('yo'))));
    expect([relayedEcho.code, dec(relayedEcho.body)]).toEqual([0, 'yo']);
    expect(h.ic.getCycles(id)).toBe(0n);
  });

  it('a mock calls another mock and the management canister', async () => {
    const index = Principal.fromText('qhbym-qaaaa-aaaaa-aaafq-cai');
    h.ic.mockCanister(index, { count: candidMethod([IDL.Nat], [IDL.Nat], (n: bigint) => n * 2n) });
    h.ic.mockCanister(LEDGER, {
      go: candidMethod([], [IDL.Nat, IDL.Nat], async (ctx: MockContext) => {
        const counted = await ctx.call(index, 'count', IDL.encode([IDL.Nat], [21n]));
        const rand = await ctx.call(Principal.managementCanister(), 'raw_rand', IDL.encode([], []));
        if (counted.status !== 'replied' || rand.status !== 'replied') throw new Error('a call failed');
        const [n] = IDL.decode([IDL.Nat], counted.reply.slice()) as [bigint];
        const [bytes] = IDL.decode([IDL.Vec(IDL.Nat8)], rand.reply.slice()) as unknown as [Uint8Array];
        return [n, BigInt(bytes.length)];
      }),
    });
    const sent = h.ic.submitIngress({
      sender: ANONYMOUS,
      canisterId: LEDGER,
      method: 'go',
      arg: new Uint8Array(IDL.encode([], [])),
      effectivePrincipal: { kind: 'none' },
    });
    if (sent.status !== 'submitted') throw new Error(sent.message);
    expect(
      IDL.decode([IDL.Nat, IDL.Nat], replyOf(await h.ic.awaitIngressAsync(sent.messageId)).slice()),
    ).toEqual([42n, 32n]);
  });

  it('unmockCanister hands the canister back to its code', async () => {
    const id = h.deploy(await uc.ucWasm());
    h.ic.mockCanister(id, { update: () => enc('mocked') });
    expect(dec(replyOf(h.update(id, 'update', uc.run(uc.replyData('real')))))).toBe('mocked');
    expect(h.ic.unmockCanister(id)).toBe(true);
    expect(dec(replyOf(h.update(id, 'update', uc.run(uc.replyData('real')))))).toBe('real');
    expect(h.ic.unmockCanister(id)).toBe(false);
  });

  it("a canister mocked while its own call is in flight still runs that call's callback", async () => {
    const callee = h.deploy(await uc.ucWasm());
    h.ic.injectFault(callee, 'update', { kind: 'delay', rounds: 2 });
    const sent = h.ic.submitIngress({
      sender: ANONYMOUS,
      canisterId: caller,
      method: 'update',
      arg: uc.run(uc.interUpdate(callee, uc.defArgs)),
      effectivePrincipal: { kind: 'none' },
    });
    if (sent.status !== 'submitted') throw new Error(sent.message);
    h.ic.tick();
    h.ic.mockCanister(caller, {});
    const result = relayed(replyOf(h.ic.awaitIngress(sent.messageId)));
    expect([result.code, dec(result.body).startsWith('Hello ')]).toEqual([0, true]);
  });

  it('costs the calling canister what calling a Wasm canister with the same reply costs', async () => {
    const real = h.deploy(await uc.ucWasm());
    const app = h.ic.getTopology().subnets.find((s) => s.kind === 'Application')!;
    const mock = h.ic.mockCanister(app.canisterRanges[0]!.end, { update: () => enc('pong') });
    const program = uc.run(uc.replyData('pong'));
    const spent = async (callee: Principal) => {
      const before = h.ic.getCycles(caller);
      const result = relayed(replyOf(await relay(callee, 'update', program, 1_000n)));
      expect([result.code, dec(result.body)]).toEqual([0, 'pong']);
      return before - h.ic.getCycles(caller);
    };
    await spent(real); // warms the caller up (its first calls grow its heap)
    const toReal = await spent(real);
    const toMock = await spent(mock);
    expect(toReal).toBeGreaterThan(0n);
    expect(toMock).toBe(toReal);
  });

  it('refuses an id that no subnet hosts, and leaves the instance as it was', () => {
    const nowhere = Principal.fromText('2vxsx-fae');
    expect(() => h.ic.mockCanister(nowhere, {})).toThrow(InstanceError);
    expect(h.ic.getSubnet(nowhere)).toBeUndefined();
  });
});
