import { IDL } from '@icp-sdk/core/candid';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { compileMotoko } from '../fixtures/motoko.ts';
import { Harness, rejectOf, replyOf } from './testing/harness.ts';

const none = IDL.encode([], []);
const nat = (bytes: Uint8Array): bigint => IDL.decode([IDL.Nat], bytes)[0] as bigint;

describe('a Motoko canister (moc, enhanced orthogonal persistence: wasm64 with a 64-bit table)', () => {
  let wasm: Uint8Array;
  beforeAll(async () => {
    wasm = await compileMotoko(
      readFileSync(new URL('../fixtures/motoko/counter.mo', import.meta.url), 'utf8'),
    );
  }, 300_000);

  it('installs, answers, and keeps stable variables across upgrades (wasm_memory_persistence = keep)', () => {
    const h = new Harness();
    const id = h.deploy(wasm);
    expect(nat(replyOf(h.update(id, 'inc', none)))).toBe(1n);
    expect(nat(replyOf(h.update(id, 'inc', none)))).toBe(2n);
    expect(nat(replyOf(h.query(id, 'get', none)))).toBe(2n);
    const upgrade = h.managementOutcome('install_code', {
      mode: { upgrade: [{ skip_pre_upgrade: [], wasm_memory_persistence: [{ keep: null }] }] },
      canister_id: id,
      wasm_module: wasm,
      arg: none,
      sender_canister_version: [],
    });
    replyOf(upgrade);
    expect(nat(replyOf(h.query(id, 'get', none)))).toBe(2n);
    expect(nat(replyOf(h.query(id, 'heap', none)))).toBe(0n);
  });

  it('rolls back a write when Natural subtraction underflows', () => {
    const h = new Harness();
    const id = h.deploy(wasm);
    replyOf(h.update(id, 'inc', none));
    const r = rejectOf(h.update(id, 'underflow', none));
    expect(r.rejectCode).toBe('CanisterError');
    expect(r.message).toContain('Natural subtraction underflow');
    expect(nat(replyOf(h.query(id, 'get', none)))).toBe(1n);
  });

  it('prints the function names of a trap from its name section (canister backtrace)', () => {
    const h = new Harness();
    const id = h.deploy(wasm);
    const r = rejectOf(h.update(id, 'fail', none));
    // moc names its functions (the RTS's `ic_trap` calls `ic0.trap`; `fail` is the method's body).
    expect(r.message).toContain(
      "Canister called `ic0.trap` with message: 'explicit trap'\nCanister Backtrace:\nic_trap\n",
    );
    expect(r.message).toMatch(/\nfail\n\.\nConsider gracefully handling failures/);
    const [trap] = r.traps ?? [];
    expect(trap?.backtrace?.[0]).toBe('ic_trap');
    expect(trap?.backtrace?.at(-1)).toBe('fail');
    expect(trap?.path).toBe(`ingress 2vxsx-fae → ${id.toText()}.fail (update fail)`);
  });

  it('refuses an upgrade that names no wasm_memory_persistence, as the replica guards EOP canisters', () => {
    const h = new Harness();
    const id = h.deploy(wasm);
    replyOf(h.update(id, 'inc', none));
    const r = rejectOf(h.install(id, wasm, none, 'upgrade'));
    expect(r.errorCode).toBe('CanisterContractViolation');
    expect(r.message).toBe(
      'Missing upgrade option: Enhanced orthogonal persistence requires the `wasm_memory_persistence` upgrade option.',
    );
    expect(nat(replyOf(h.query(id, 'get', none)))).toBe(1n);
  });
});
