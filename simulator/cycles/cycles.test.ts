/**
 * The fee model against the replica's own figures (dfinity/ic
 * `rs/cycles_account_manager/tests/cycles_account_manager.rs`: `http_requests_fee_scale`),
 * its scaling and cost schedules, and an HTTPS outcall's fee taken out of the
 * cycles attached, the rest returned with the response (in process: PicJS cannot
 * hold an update open while an outcall is mocked without Candid).
 */
import { IDL } from '@icp-sdk/core/candid';
import { describe, expect, it } from 'vitest';
import { watToWasm } from '../../fixtures/wat.ts';
import { cyclesWat } from '../../fixtures/wat/cycles.ts';
import { Instance } from '../instance.ts';
import { HttpRequestArgs } from '../management/idl.ts';
import { ANONYMOUS, Harness, replyOf } from '../testing/harness.ts';
import { Principal } from '@icp-sdk/core/principal';
import { CanisterState } from '../canister/state.ts';
import { APPLICATION_SUBNET_FEES, Fees, SYSTEM_SUBNET_FEES, subnetTypeOf } from './fees.ts';
import { chargeForResources, freezingThreshold, idleCyclesBurnedPerDay, reserveCycles } from './account.ts';

const LIMIT = 40_000_000_000n;
const application = (nodes: number, schedule: 'Normal' | 'Free' = 'Normal'): Fees =>
  new Fees(APPLICATION_SUBNET_FEES, nodes, schedule, LIMIT);

describe('the fee model', () => {
  it("prices an HTTPS outcall as the replica's own test does, on 13 and 34 nodes", () => {
    expect(application(13).httpRequestFee(17n, undefined)).toBe(1_603_786_800n * 13n);
    expect(application(34).httpRequestFee(17n, undefined)).toBe(1_605_046_800n * 34n);
  });

  it('scales each fee by n/13 on its own, truncating', () => {
    const fees = application(34);
    expect(fees.canisterCreationFee()).toBe((500_000_000_000n * 34n) / 13n);
    // 1.2 M and 2 000 per byte, each scaled before they are added up.
    expect(fees.ingressInductionCost(100n)).toBe((1_200_000n * 34n) / 13n + ((2_000n * 34n) / 13n) * 100n);
    expect(fees.executionCost(1_000n, false)).toBe(((5_000_000n + 1_000n) * 34n) / 13n);
    expect(fees.executionCost(1_000n, true)).toBe(((5_000_000n + 2_000n) * 34n) / 13n);
  });

  it('refunds unused instructions, never more than was prepaid', () => {
    const fees = application(13);
    const prepaid = fees.executionCost(LIMIT, false);
    expect(prepaid - fees.executionRefund(LIMIT - 1_234n, false, prepaid)).toBe(5_000_000n + 1_234n);
    expect(fees.executionRefund(LIMIT * 2n, false, prepaid)).toBe(prepaid);
  });

  it('charges a call its request, the largest response and the longest callback', () => {
    const fees = application(13);
    expect(fees.callTotalFee(10n, false)).toBe(260_000n + 10_000n + 2_097_152_000n + 5_000_000n + LIMIT);
    expect(fees.responseTransmissionRefund(fees.responseTransmissionPrepayment(), 100n)).toBe(
      2_097_152_000n - 100_000n,
    );
  });

  it('derives the freezing threshold from a day of idle burn', () => {
    const fees = application(13);
    const idle = fees.idleCyclesBurnedPerDay(0n, 1n << 30n, 2n << 30n, 1n);
    expect(idle).toEqual({
      memory: 127_000n * 86_400n,
      messageMemory: 2n * 127_000n * 86_400n,
      computeAllocation: 10_000_000n * 86_400n,
    });
    expect(fees.freezingThreshold(idle.memory, 2_592_000n, 0n)).toBe(127_000n * 86_400n * 30n);
    // A memory allocation above the usage is what is paid for; message memory is paid beside it.
    const allocated = fees.idleCyclesBurnedPerDay(2n << 30n, 1n << 30n, 1n << 30n, 0n);
    expect(allocated.memory).toBe(2n * 127_000n * 86_400n);
    expect(allocated.messageMemory).toBe(127_000n * 86_400n);
  });

  it('charges nothing under the Free cost schedule, and nothing but signatures on system subnets', () => {
    const free = application(13, 'Free');
    expect([
      free.canisterCreationFee(),
      free.executionCost(LIMIT, false),
      free.callTotalFee(100n, false),
    ]).toEqual([0n, 0n, 0n]);
    expect(free.httpRequestFee(100n, 1_000n)).toBe(0n);
    expect(subnetTypeOf('NNS')).toBe('System');
    expect(subnetTypeOf('Fiduciary')).toBe('Application');
    const system = Fees.forSubnet('II', 34, 'Normal', LIMIT);
    expect(system.config).toBe(SYSTEM_SUBNET_FEES);
    expect([system.executionCost(LIMIT, false), system.memoryCost(1n << 30n, 86_400n)]).toEqual([0n, 0n]);
    expect(system.signatureFee('ecdsa')).toBe(26_153_846_153n);
  });
});

describe('storage reservation', () => {
  const GIB = 1n << 30n;

  it('reserves nothing below the 750 GiB subnet threshold and grows quadratically above it', () => {
    const fees = application(13);
    expect(fees.storageReservationCycles(700n * GIB, 0n)).toBe(0n);
    // 10 GiB above the threshold: 300 M s scaled by 10/1298 of the way to capacity, halved.
    const seconds = (300_000_000n * 10n * GIB) / (1298n * GIB) / 2n;
    expect(fees.storageReservationCycles(10n * GIB, 750n * GIB)).toBe(10n * 127_000n * seconds);
    expect(fees.storageReservationCycles(10n * GIB, 760n * GIB)).toBeGreaterThan(
      fees.storageReservationCycles(10n * GIB, 750n * GIB),
    );
    expect(application(13, 'Free').storageReservationCycles(10n * GIB, 760n * GIB)).toBe(0n);
  });

  it('pays storage out of the reserved balance first, and lowers the freezing threshold by it', () => {
    const state = new CanisterState({
      id: Principal.fromText('rwlgt-iiaaa-aaaaa-aaaaa-cai'),
      subnetId: Principal.managementCanister(),
      controllers: [],
      cycles: 10n ** 15n,
      rootKey: () => new Uint8Array(),
      fees: application(13),
      time: 0n,
    });
    state.settings = { ...state.settings, memoryAllocation: GIB };
    const threshold = freezingThreshold(state);
    reserveCycles(state, 1_000n);
    expect(freezingThreshold(state)).toBe(threshold - 1_000n);
    const balance = state.balance;
    // Ten seconds of a 1 GiB allocation: from the reserve first, the rest from the balance.
    const due = (idleCyclesBurnedPerDay(state) * 10n) / 86_400n;
    expect(due).toBe(1_270_000n);
    expect(chargeForResources(state, 10_000_000_000n)).toBe(true);
    expect(state.reservedBalance).toBe(0n);
    expect(balance - state.balance).toBe(due - 1_000n);
  });
});

describe('an HTTPS outcall', () => {
  const outcallArg = (maxResponseBytes: bigint): Uint8Array =>
    new Uint8Array(
      IDL.encode(
        [HttpRequestArgs],
        [
          {
            url: 'https://example.com/x',
            max_response_bytes: [maxResponseBytes],
            method: { get: null },
            headers: [{ name: 'accept', value: 'text/plain' }],
            body: [],
            transform: [],
            is_replicated: [],
          },
        ],
      ),
    );
  const callArg = (payload: Uint8Array, cycles: bigint): Uint8Array => {
    const method = new TextEncoder().encode('http_request');
    const amount = new Uint8Array(8);
    new DataView(amount.buffer).setBigUint64(0, cycles, true);
    return new Uint8Array([0, method.length, ...method, ...amount, ...payload]);
  };

  it('takes its fee out of the attached cycles and returns the rest; fewer cycles are refused', async () => {
    const h = new Harness(Instance.create({ subnets: [{ kind: 'Application' }] }));
    const id = h.deploy(await watToWasm(cyclesWat(), { memory64: false }));
    const fee = application(13).httpRequestFee(BigInt('https://example.com/x'.length + 16), 1_000n);
    const before = h.ic.getCycles(id);
    const sent = h.ic.submitIngress({
      sender: ANONYMOUS,
      canisterId: id,
      method: 'call',
      arg: callArg(outcallArg(1_000n), fee + 7_000_000_000n),
      effectivePrincipal: { kind: 'none' },
    });
    if (sent.status !== 'submitted') throw new Error(sent.message);
    h.ic.tick();
    const [outcall] = h.ic.getPendingHttpOutcalls();
    h.ic.mockHttpOutcall(
      outcall!.subnetId,
      outcall!.requestId,
      { kind: 'reply', status: 200, headers: [], body: new Uint8Array() },
      [],
    );
    const reply = replyOf(h.ic.awaitIngress(sent.messageId));
    expect(String.fromCharCode(reply[0]!)).toBe('R');
    const charge = before - h.ic.getCycles(id);
    // Everything but the fee came back: what remains is the call's and the messages' own fees.
    expect(charge).toBeGreaterThan(fee);
    expect(charge - fee).toBeLessThan(100_000_000n);

    const refused = replyOf(h.update(id, 'call', callArg(outcallArg(1_000n), fee - 1n)));
    // IC0406 CanisterRejectedMessage: the reject callback sees CANISTER_REJECT.
    expect([String.fromCharCode(refused[0]!), refused[1]]).toEqual(['J', 4]);
    expect(h.ic.getPendingHttpOutcalls()).toHaveLength(0);
  });
});
