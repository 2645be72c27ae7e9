/**
 * IC interface specification, "Canister interface (System API)" §"Overview of
 * imports": each `ic0` function lists the contexts it may be called from, and
 * "if the canister invokes a system call from somewhere else, it will trap".
 *
 * The whole matrix, generated from the specification's table
 * (`fixtures/ic0-spec.ts`: 74 functions × 16 contexts): every cell calls the
 * function once through the universal canister's `ic0_probe` op (icsim's
 * extension, `fixtures/wat/uc.ts`) in that context. An allowed cell runs and
 * does not trap (`ic0.trap` traps with its own message); a forbidden cell
 * traps with the replica's CanisterContractViolation, `"ic0_<name>" cannot be
 * executed in <context> mode`. How each context is reached follows the
 * reference suite's "API availability" group (dfinity/ic
 * `hs/spec_compliance/src/IC/Test/Spec.hs`), plus the contexts it lacks
 * (TQ, CQ, CRy, CRt, CC, s).
 *
 * Where a trap has no caller to tell (cleanup callbacks, heartbeats), the cell
 * checks that the program after the probe did not run, and, for the
 * replicated ones (C, T), finds the trap's message in the canister's log; in a
 * composite query's cleanup (CC) nothing is logged, so that cell checks only
 * that the probe stopped the program.
 */
import type { PocketIc } from '@dfinity/pic';
import { IDL } from '@icp-sdk/core/candid';
import { Principal } from '@icp-sdk/core/principal';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTEXTS, IC0_FUNCTIONS, type Context, type Ic0Function } from '../../fixtures/ic0-spec.ts';
import { createPic } from '../support/pic.ts';
import {
  type Outcome,
  type Prog,
  acceptMessage,
  call,
  callback,
  cat,
  compositeQuery,
  defArgs,
  getGlobal,
  getHttpReplyWithBody,
  i2b,
  ic0Probe,
  int,
  interQuery,
  interUpdate,
  isRelay,
  isReply,
  onHeartbeat,
  onInspectMessage,
  onPreUpgrade,
  onTransform,
  outcome,
  query,
  reinstall,
  argData,
  rejectCode,
  rejectMsg,
  reply,
  replyData,
  run,
  seq,
  setGlobal,
  text,
  trap,
  ucWasm,
  updateCall,
  upgrade,
} from '../support/uc.ts';

const WASM = { probes: true } as const;
const ENV = [{ name: 'A', value: 'B' }];
const MANAGEMENT = Principal.managementCanister();

/** How the replica names each context in "cannot be executed in … mode". */
const CONTEXT_NAMES: Record<Context, string> = {
  I: 'init',
  G: 'pre_upgrade',
  U: 'update',
  RQ: 'replicated query',
  NRQ: 'non-replicated query',
  TQ: 'transform',
  CQ: 'composite query',
  Ry: 'reply callback',
  Rt: 'reject callback',
  CRy: 'composite reply callback',
  CRt: 'composite reject callback',
  C: 'cleanup',
  CC: 'composite cleanup',
  F: 'inspect message',
  T: 'system task',
  s: 'start',
};

/** What a cell saw: the probe's program ran to its end, or it trapped (with the message, where one is reported). */
type Seen = { trapped: false } | { trapped: true; message?: string; errorCode?: string };

const ran: Seen = { trapped: false };

/** A reply, or a reject the program made itself (msg_reject), is a run; a CanisterError is a trap. */
function fromOutcome(o: Outcome): Seen {
  if (o.kind === 'reply' || o.code !== 5) return ran;
  return { trapped: true, message: o.message, errorCode: o.errorCode };
}

const DID_NOT_TRAP = 'Did not trap';

let pic: PocketIc;
let helper: Principal;

async function newCanister(prog: Prog = seq()): Promise<Principal> {
  const canisterId = await pic.createCanister({ environmentVariables: ENV });
  await pic.installCode({ canisterId, wasm: await ucWasm(WASM), arg: run(prog) });
  return canisterId;
}

async function logsSince(canisterId: Principal, from: bigint): Promise<{ lines: string[]; next: bigint }> {
  const Records = IDL.Record({
    canister_log_records: IDL.Vec(
      IDL.Record({ idx: IDL.Nat64, timestamp_nanos: IDL.Nat64, content: IDL.Vec(IDL.Nat8) }),
    ),
  });
  const r = await pic.queryCall({
    canisterId: MANAGEMENT,
    method: 'fetch_canister_logs',
    arg: IDL.encode([IDL.Record({ canister_id: IDL.Principal })], [{ canister_id: canisterId }]),
  });
  const records = (
    IDL.decode([Records], new Uint8Array(r))[0] as unknown as {
      canister_log_records: { idx: bigint; content: Uint8Array }[];
    }
  ).canister_log_records;
  const fresh = records.filter((x) => x.idx >= from);
  return {
    lines: fresh.map((x) => text(x.content)),
    next: records.length ? records[records.length - 1]!.idx + 1n : from,
  };
}

/** Each context: set up once, then run one program in it. */
interface Driver {
  setup(): Promise<void>;
  run(prog: Prog, f: Ic0Function): Promise<Seen>;
}

/** The program of a cell: the probe, after `call_new` for the call builder's other functions. */
function probeProgram(f: Ic0Function, c: Context): Prog {
  const builder = f.name.startsWith('call_') && f.name !== 'call_new';
  const callNewAllowed = IC0_FUNCTIONS.find((x) => x.name === 'call_new')!.allowed.has(c);
  return builder && callNewAllowed ? seq(ic0Probe('call_new'), ic0Probe(f.name)) : ic0Probe(f.name);
}

/** The functions that respond themselves: the program must not reply after them. */
const responds = (f: Ic0Function) => f.name === 'msg_reply' || f.name === 'msg_reject';
const thenReply = (prog: Prog, f: Ic0Function) => (responds(f) ? prog : seq(prog, reply));

function responseDriver(make: (prog: Prog, f: Ic0Function, cid: Principal) => Promise<Seen>): Driver {
  let cid: Principal;
  return {
    setup: async () => {
      cid = await newCanister();
    },
    run: (prog, f) => make(prog, f, cid),
  };
}

/** A callback context where the trap is only seen in the log: the program sets the global after the probe. */
function silentDriver(arm: (cid: Principal, prog: Prog) => Promise<void>, logged: boolean): Driver {
  let cid: Principal;
  let logIdx = 0n;
  return {
    setup: async () => {
      cid = await newCanister();
      if (logged) logIdx = (await logsSince(cid, 0n)).next;
    },
    run: async (prog) => {
      await call(pic, cid, seq(setGlobal(''), reply));
      await arm(cid, seq(prog, setGlobal(DID_NOT_TRAP)));
      const global = text(await query(pic, cid, replyData(getGlobal)));
      if (global === DID_NOT_TRAP) return ran;
      if (!logged) return { trapped: true };
      const { lines, next } = await logsSince(cid, logIdx);
      logIdx = next;
      return { trapped: true, message: lines.join('\n') };
    },
  };
}

const HttpHeader = IDL.Record({ name: IDL.Text, value: IDL.Text });
const HttpRequestResult = IDL.Record({
  status: IDL.Nat,
  headers: IDL.Vec(HttpHeader),
  body: IDL.Vec(IDL.Nat8),
});
/** The management canister's `http_request` argument (its transform's type must match exactly). */
const HttpRequestArgs = IDL.Record({
  url: IDL.Text,
  max_response_bytes: IDL.Opt(IDL.Nat64),
  method: IDL.Variant({ get: IDL.Null, head: IDL.Null, post: IDL.Null }),
  headers: IDL.Vec(HttpHeader),
  body: IDL.Opt(IDL.Vec(IDL.Nat8)),
  transform: IDL.Opt(
    IDL.Record({
      function: IDL.Func(
        [IDL.Record({ response: HttpRequestResult, context: IDL.Vec(IDL.Nat8) })],
        [HttpRequestResult],
        ['query'],
      ),
      context: IDL.Vec(IDL.Nat8),
    }),
  ),
});

const drivers: Record<Context, Driver> = {
  // canister_init (install) and canister_post_upgrade (upgrade): both are I.
  I: (() => {
    let cid: Principal;
    return {
      setup: async () => {
        cid = await pic.createCanister({ environmentVariables: ENV });
      },
      run: async (prog) => {
        const init = fromOutcome(await outcome(reinstall(pic, cid, prog, { wasm: WASM })));
        await reinstall(pic, cid, seq(), { wasm: WASM });
        const postUpgrade = fromOutcome(await outcome(upgrade(pic, cid, prog, { wasm: WASM })));
        expect(postUpgrade.trapped, 'canister_post_upgrade agrees with canister_init').toBe(init.trapped);
        return init;
      },
    };
  })(),
  G: responseDriver(async (prog, _f, cid) => {
    await call(pic, cid, seq(onPreUpgrade(callback(prog)), reply));
    return fromOutcome(await outcome(upgrade(pic, cid, seq(), { wasm: WASM })));
  }),
  U: responseDriver(async (prog, f, cid) => fromOutcome(await outcome(call(pic, cid, thenReply(prog, f))))),
  // An ingress message to a query method runs it in replicated mode.
  RQ: responseDriver(async (prog, f, cid) =>
    fromOutcome(
      await outcome(pic.updateCall({ canisterId: cid, method: 'query', arg: run(thenReply(prog, f)) })),
    ),
  ),
  NRQ: responseDriver(async (prog, f, cid) =>
    fromOutcome(await outcome(query(pic, cid, thenReply(prog, f)))),
  ),
  // The transform of an HTTPS outcall: the canister calls http_request and replies at once; the
  // callbacks store what the transform's result became in the global.
  TQ: responseDriver(async (prog, f, cid) => {
    const transform = responds(f) ? prog : seq(prog, replyData(getHttpReplyWithBody('')));
    await call(pic, cid, seq(setGlobal(''), onTransform(callback(transform)), reply));
    const arg = IDL.encode(
      [HttpRequestArgs],
      [
        {
          url: 'https://example.com/',
          max_response_bytes: [],
          method: { get: null },
          headers: [],
          body: [],
          transform: [{ function: [cid, 'transform'], context: new Uint8Array() }],
        },
      ],
    );
    await call(
      pic,
      cid,
      seq(
        updateCall(MANAGEMENT, 'http_request', {
          onReply: setGlobal(cat(i2b(int(0)), argData)),
          onReject: setGlobal(cat(i2b(rejectCode), rejectMsg)),
          arg,
          cycles: 100_000_000_000n,
        }),
        reply,
      ),
    );
    await pic.tick();
    const [pending] = await pic.getPendingHttpsOutcalls();
    expect(pending, 'the outcall is pending').toBeDefined();
    await pic.mockPendingHttpsOutcall({
      subnetId: pending!.subnetId,
      requestId: pending!.requestId,
      response: { type: 'success', statusCode: 200, headers: [], body: new Uint8Array() },
    });
    await pic.tick(2);
    const relayed = isRelay(await query(pic, cid, replyData(getGlobal)));
    return relayed.kind === 'reply' || relayed.code !== 5 ? ran : { trapped: true, message: relayed.message };
  }),
  CQ: responseDriver(async (prog, f, cid) =>
    fromOutcome(await outcome(compositeQuery(pic, cid, thenReply(prog, f)))),
  ),
  Ry: responseDriver(async (prog, f, cid) =>
    fromOutcome(await outcome(call(pic, cid, interQuery(cid, { ...defArgs, onReply: thenReply(prog, f) })))),
  ),
  Rt: responseDriver(async (prog, f, cid) =>
    fromOutcome(
      await outcome(
        call(
          pic,
          cid,
          interQuery(cid, { ...defArgs, otherSide: trap('trap!'), onReject: thenReply(prog, f) }),
        ),
      ),
    ),
  ),
  CRy: responseDriver(async (prog, f, cid) =>
    fromOutcome(
      await outcome(compositeQuery(pic, cid, interQuery(cid, { ...defArgs, onReply: thenReply(prog, f) }))),
    ),
  ),
  CRt: responseDriver(async (prog, f, cid) =>
    fromOutcome(
      await outcome(
        compositeQuery(
          pic,
          cid,
          interQuery(cid, { ...defArgs, otherSide: trap('trap!'), onReject: thenReply(prog, f) }),
        ),
      ),
    ),
  ),
  C: silentDriver(async (cid, prog) => {
    const o = await outcome(
      call(
        pic,
        cid,
        interQuery(cid, {
          ...defArgs,
          otherSide: reply,
          onReply: trap('Trapping in on_reply'),
          onCleanup: prog,
        }),
      ),
    );
    expect(
      o.kind === 'reject' && o.message.includes('Trapping in on_reply'),
      'the reply callback trapped',
    ).toBe(true);
  }, true),
  // Two calls from one composite query: the first one's reply callback traps, so its cleanup runs
  // the probe; the second one's reply callback replies with the global the cleanup set (or not).
  CC: (() => {
    let cid: Principal;
    return {
      setup: async () => {
        cid = await newCanister();
      },
      run: async (prog) => {
        const o = await outcome(
          compositeQuery(
            pic,
            cid,
            seq(
              interQuery(cid, {
                ...defArgs,
                otherSide: reply,
                onReply: trap('Trapping in on_reply'),
                onCleanup: seq(prog, setGlobal(DID_NOT_TRAP)),
              }),
              interQuery(cid, { ...defArgs, otherSide: reply, onReply: replyData(getGlobal) }),
            ),
          ),
        );
        return text(isReply(o)) === DID_NOT_TRAP ? ran : { trapped: true };
      },
    };
  })(),
  // canister_inspect_message: a helper canister sets the inspect program (an inter-canister
  // call is not inspected), then an ingress message goes through it.
  F: responseDriver(async (prog, f, cid) => {
    const inspect = f.name === 'accept_message' ? prog : seq(prog, acceptMessage);
    isReply(
      isRelay(
        await call(
          pic,
          helper,
          interUpdate(cid, { ...defArgs, otherSide: seq(onInspectMessage(callback(inspect)), reply) }),
        ),
      ),
    );
    return fromOutcome(await outcome(call(pic, cid, reply)));
  }),
  T: silentDriver(async (cid, prog) => {
    await call(pic, cid, seq(onHeartbeat(callback(prog)), reply));
    await pic.tick(2);
    await call(pic, cid, seq(onHeartbeat(''), reply));
  }, true),
  // The (start) function: a module whose start function runs the probe.
  s: (() => {
    let cid: Principal;
    return {
      setup: async () => {
        cid = await pic.createCanister({ environmentVariables: ENV });
      },
      run: async (_prog, f) => {
        const k = IC0_FUNCTIONS.indexOf(f);
        const wasm = await ucWasm({ probes: true, startProbe: k, heartbeat: false });
        return fromOutcome(
          await outcome(pic.reinstallCode({ canisterId: cid, wasm, arg: new Uint8Array() })),
        );
      },
    };
  })(),
};

beforeAll(async () => {
  pic = await createPic();
  helper = await newCanister();
});
afterAll(async () => {
  await pic?.tearDown();
});

const mentions = (name: string) => new RegExp(`ic0[._]${name}\\b`);

for (const c of CONTEXTS) {
  describe(`System API availability in ${c} (${CONTEXT_NAMES[c]})`, () => {
    beforeAll(() => drivers[c].setup());
    for (const f of IC0_FUNCTIONS) {
      const allowed = f.allowed.has(c);
      it(`${f.name} ${allowed ? 'works' : 'traps'} in ${c}`, async () => {
        const seen = await drivers[c].run(probeProgram(f, c), f);
        if (f.name === 'trap' && allowed) {
          expect(seen.trapped, 'ic0.trap traps').toBe(true);
          if (seen.trapped && seen.message !== undefined) expect(seen.message).toContain('ic0_probe: trap');
        } else if (allowed) {
          expect(seen, 'the probe ran without trapping').toEqual(ran);
        } else {
          expect(seen.trapped, 'the probe trapped').toBe(true);
          if (seen.trapped && seen.message !== undefined) {
            expect(seen.message).toMatch(mentions(f.name));
            expect(seen.message).toContain(`cannot be executed in ${CONTEXT_NAMES[c]} mode`);
          }
          if (seen.trapped && seen.errorCode !== undefined)
            expect(seen.errorCode).toBe('CanisterContractViolation');
        }
      });
    }
  });
}
