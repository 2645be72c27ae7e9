/**
 * IC interface specification, "Canister interface (System API)": §"Method
 * arguments" (msg_arg_data, msg_caller), §"Responding" (msg_reply, msg_reject,
 * the reply size limit), §"Canister id" (canister_self), §"Debugging aids"
 * (debug_print, trap) and §"System time" (time is constant within a message and
 * is the time of the round that runs it).
 */
import type { PocketIc } from '@dfinity/pic';
import { Ed25519KeyIdentity } from '@icp-sdk/core/identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPic } from '../support/pic.ts';
import { expectCallFailure } from '../support/reject.ts';
import { Principal, bytes, installUniversal, readU64, u32 } from '../support/universal.ts';

let pic: PocketIc;
let canisterId: Principal;

beforeAll(async () => {
  pic = await createPic();
  canisterId = await installUniversal(pic);
});
afterAll(async () => {
  await pic?.tearDown();
});

describe('msg_arg_data', () => {
  it('hands the argument over byte for byte, in updates and queries', async () => {
    const arg = new Uint8Array(70_000).map((_, i) => (i * 31 + 7) & 0xff);
    expect(await pic.updateCall({ canisterId, method: 'echo', arg })).toEqual(arg);
    expect(await pic.queryCall({ canisterId, method: 'echo_query', arg })).toEqual(arg);
  });

  it('is empty when the call has no argument', async () => {
    expect((await pic.updateCall({ canisterId, method: 'echo' })).length).toBe(0);
  });
});

describe('msg_caller', () => {
  it('is the sender of the ingress message, in updates and queries', async () => {
    const sender = Ed25519KeyIdentity.generate().getPrincipal();
    const viaUpdate = await pic.updateCall({ canisterId, method: 'caller', sender });
    const viaQuery = await pic.queryCall({ canisterId, method: 'caller_query', sender });
    expect(Principal.fromUint8Array(viaUpdate).toText()).toBe(sender.toText());
    expect(Principal.fromUint8Array(viaQuery).toText()).toBe(sender.toText());
  });

  it('is the anonymous principal by default', async () => {
    const caller = await pic.updateCall({ canisterId, method: 'caller' });
    expect(Principal.fromUint8Array(caller).toText()).toBe(Principal.anonymous().toText());
  });

  it("follows an actor's identity (setIdentity)", async () => {
    interface WhoAmI {
      whoami: () => Promise<Uint8Array | number[]>;
    }
    const actor = pic.createActor<WhoAmI>(
      ({ IDL: I }) => I.Service({ whoami: I.Func([], [I.Vec(I.Nat8)], []) }),
      canisterId,
    );
    const identity = Ed25519KeyIdentity.generate();
    actor.setIdentity(identity);
    const who = Principal.fromUint8Array(Uint8Array.from(await actor.whoami()));
    expect(who.toText()).toBe(identity.getPrincipal().toText());
  });
});

describe('canister_self', () => {
  it('is the id of the canister that runs', async () => {
    const self = await pic.queryCall({ canisterId, method: 'self' });
    expect(Principal.fromUint8Array(self).toText()).toBe(canisterId.toText());
  });
});

describe('msg_reply / msg_reject', () => {
  it('msg_reject reaches the caller as CanisterReject with the message verbatim', async () => {
    await expectCallFailure(pic.updateCall({ canisterId, method: 'reject', arg: bytes('no, thanks') }), {
      rejectCode: 'CanisterReject',
      errorCode: 'CanisterRejectedMessage',
      message: 'no, thanks',
    });
    await expectCallFailure(pic.queryCall({ canisterId, method: 'reject_query', arg: bytes('not today') }), {
      rejectCode: 'CanisterReject',
      errorCode: 'CanisterRejectedMessage',
      message: 'not today',
    });
  });

  it('replying twice traps (contract violation), and the first reply is discarded', async () => {
    await expectCallFailure(pic.updateCall({ canisterId, method: 'reply_twice' }), {
      rejectCode: 'CanisterError',
      errorCode: 'CanisterContractViolation',
      message: 'ic0.msg_reply: the call is already replied',
    });
  });

  it('a replicated reply may be 2 MiB, one byte more traps', async () => {
    const max = 2 * 1024 * 1024;
    const reply = await pic.updateCall({ canisterId, method: 'reply_size', arg: u32(max) });
    expect(reply.length).toBe(max);
    await expectCallFailure(pic.updateCall({ canisterId, method: 'reply_size', arg: u32(max + 1) }), {
      rejectCode: 'CanisterError',
      errorCode: 'CanisterContractViolation',
      message: `ic0.msg_reply_data_append: application payload size (${max + 1}) cannot be larger than ${max}`,
    });
  });

  it('a method that neither replies nor calls out ends in CanisterDidNotReply', async () => {
    await expectCallFailure(pic.updateCall({ canisterId, method: 'noreply' }), {
      rejectCode: 'CanisterError',
      errorCode: 'CanisterDidNotReply',
      message: canisterId.toText(),
    });
  });
});

describe('debug_print and trap', () => {
  it('debug_print does not disturb the message', async () => {
    expect((await pic.updateCall({ canisterId, method: 'print', arg: bytes('hello log') })).length).toBe(0);
  });

  it('ic0.trap rejects with CanisterCalledTrap and the IC0503 text', async () => {
    const failure = await expectCallFailure(
      pic.updateCall({ canisterId, method: 'print_trap', arg: bytes('it hurts') }),
      {
        rejectCode: 'CanisterError',
        errorCode: 'CanisterCalledTrap',
        message: `Error from Canister ${canisterId.toText()}: Canister called \`ic0.trap\` with message: 'it hurts'`,
      },
    );
    expect(failure.certified).toBe(true);
  });
});

describe('time', () => {
  it('is constant within one update and equals the instance time that ran it', async () => {
    const now = await pic.getTime();
    const target = now + 3_600_000;
    await pic.setTime(target);
    const reply = await pic.updateCall({ canisterId, method: 'time' });
    expect(readU64(reply, 0)).toBe(readU64(reply, 1));
    expect(readU64(reply, 0)).toBe(BigInt(target) * 1_000_000n);
  });

  it('a query after tick sees the time of the last round, constant within the query', async () => {
    const target = (await pic.getTime()) + 60_000;
    await pic.setTime(target);
    await pic.tick();
    const reply = await pic.queryCall({ canisterId, method: 'time_query' });
    expect(readU64(reply, 0)).toBe(readU64(reply, 1));
    expect(readU64(reply, 0)).toBe(BigInt(target) * 1_000_000n);
    expect(await pic.getTime()).toBe(target);
  });

  it('is monotonic across messages', async () => {
    const a = readU64(await pic.updateCall({ canisterId, method: 'time' }));
    const b = readU64(await pic.updateCall({ canisterId, method: 'time' }));
    expect(b).toBeGreaterThan(a);
  });
});
