/**
 * Canister backtraces as the replica reports them (dfinity/ic
 * rs/execution_environment/tests/backtraces.rs: the text of the error, the
 * canister log, visibility) and icsim's trap reports: the chain of messages
 * that led to a failed execution, on the ingress message's result.
 */
import { IDL } from '@icp-sdk/core/candid';
import { Principal } from '@icp-sdk/core/principal';
import { describe, expect, it } from 'vitest';
import { watToWasm } from '../../fixtures/wat.ts';
import {
  BACKTRACE_WAT,
  GO_BACKTRACE,
  GO_STABLE_BACKTRACE,
  GO_TRAP_INDEX,
} from '../../fixtures/wat/backtrace.ts';
import { EXECUTION_ERRORS_DOCS } from '../errors.ts';
import { ANONYMOUS, emptySettings, Harness, MANAGEMENT, rejectOf, replyOf } from '../testing/harness.ts';

const TRAP_HELP =
  'Consider gracefully handling failures from this canister or altering the canister to handle exceptions.';
const BACKTRACE = `Canister Backtrace:\n${GO_BACKTRACE.join('\n')}\n`;
const STRANGER = Principal.fromUint8Array(new Uint8Array([7, 7, 7]));

describe('canister backtraces', async () => {
  const wasm = await watToWasm(BACKTRACE_WAT);

  it('a trap in nested functions reads as the replica writes it, to a controller', () => {
    const h = new Harness();
    const id = h.deploy(wasm);
    const r = rejectOf(h.update(id, 'go'));
    expect(r.errorCode).toBe('CanisterTrapped');
    expect(r.message).toBe(
      `Error from Canister ${id.toText()}: Canister trapped: unreachable\n${BACKTRACE}.\n` +
        `${TRAP_HELP} See documentation: ${EXECUTION_ERRORS_DOCS}trapped`,
    );
    expect(lastLog(h, id)).toContain(
      `[TRAP]: Error from Canister ${id.toText()}: Canister trapped: unreachable\n${BACKTRACE}.`,
    );
  });

  it('ic0.trap gets one too; a frame without a name prints its index', () => {
    const h = new Harness();
    const id = h.deploy(wasm);
    const r = rejectOf(h.update(id, 'go_trap'));
    expect(r.errorCode).toBe('CanisterCalledTrap');
    expect(r.message).toContain(
      `Canister called \`ic0.trap\` with message: 'boom'\nCanister Backtrace:\ntrap_inner\nunknown function at index ${GO_TRAP_INDEX}\n.\n`,
    );
  });

  it('a stable memory trap starts at the ic0 function, which the replica runs as Wasm', () => {
    const h = new Harness();
    const id = h.deploy(wasm);
    expect(rejectOf(h.update(id, 'go_stable')).message).toContain(
      `Canister trapped: stable memory out of bounds\nCanister Backtrace:\n${GO_STABLE_BACKTRACE.join('\n')}\n.\n`,
    );
  });

  it('a caller who may not read the logs gets none, the log keeps it, and public log visibility shows it', () => {
    const h = new Harness();
    const id = h.deploy(wasm);
    const r = rejectOf(h.update(id, 'go', new Uint8Array(), STRANGER));
    expect(r.message).toContain('Canister trapped: unreachable.\n');
    expect(r.message).not.toContain('Backtrace');
    expect(lastLog(h, id)).toContain(BACKTRACE);
    h.management('update_settings', {
      canister_id: id,
      settings: { ...emptySettings(), log_visibility: [{ public: null }] },
      sender_canister_version: [],
    });
    expect(rejectOf(h.update(id, 'go', new Uint8Array(), STRANGER)).message).toContain(BACKTRACE);
  });

  it('a query gets the same, by the same rule (a query has no log to keep it)', () => {
    const h = new Harness();
    const id = h.deploy(wasm);
    const queryBacktrace = BACKTRACE.replace(/go\n$/, 'go_query\n');
    expect(rejectOf(h.query(id, 'go_query')).message).toContain(
      `Canister trapped: unreachable\n${queryBacktrace}.\n`,
    );
    const hidden = rejectOf(h.query(id, 'go_query', new Uint8Array(), STRANGER)).message;
    expect(hidden).toContain('Canister trapped: unreachable.\n');
    expect(hidden).not.toContain('Backtrace');
  });

  it('a module without a name section traps without a backtrace', async () => {
    const h = new Harness();
    const id = h.deploy(await watToWasm(BACKTRACE_WAT, { debugNames: false }));
    const r = rejectOf(h.update(id, 'go'));
    expect(r.message).toContain('Canister trapped: unreachable.\n');
    expect(r.message).not.toContain('Backtrace');
    expect(r.traps?.[0]?.backtrace).toBeUndefined();
  });
});

describe('trap reports: the chain of messages that led to a trap (icsim)', async () => {
  const wasm = await watToWasm(BACKTRACE_WAT);

  it('ingress → canister A → canister B traps: the ingress result names every hop', () => {
    const h = new Harness();
    const a = h.deploy(wasm);
    const b = h.deploy(wasm);
    const r = rejectOf(h.update(a, 'relay', b.toUint8Array()));
    // A relays the reject it read; A is not a controller of B, so B's backtrace is not in it.
    expect(r.errorCode).toBe('CanisterRejectedMessage');
    expect(r.message).toContain(`IC0502: Error from Canister ${b.toText()}: Canister trapped: unreachable.`);
    expect(r.message).not.toContain('Backtrace');
    expect(r.traps).toHaveLength(1);
    const [trap] = r.traps!;
    expect(trap.canister).toBe(b.toText());
    expect(trap.entry).toBe('update go');
    expect(trap.chain).toEqual([
      { kind: 'ingress', caller: ANONYMOUS.toText(), callee: a.toText(), method: 'relay' },
      { kind: 'call', caller: a.toText(), callee: b.toText(), method: 'go' },
    ]);
    expect(trap.path).toBe(
      `ingress ${ANONYMOUS.toText()} → ${a.toText()}.relay → ${b.toText()}.go (update go)`,
    );
    // The report has the backtrace whoever called, as the log does.
    expect(trap.backtrace).toEqual(GO_BACKTRACE);
    expect(trap.message).toContain(BACKTRACE);
  });

  it('a canister that calls itself appears twice; a message that never ran a method has no reports', () => {
    const h = new Harness();
    const a = h.deploy(wasm);
    const r = h.update(a, 'relay', a.toUint8Array());
    expect(r.traps?.map((t) => t.chain.map((l) => `${l.caller}>${l.callee}.${l.method}`))).toEqual([
      [`${ANONYMOUS.toText()}>${a.toText()}.relay`, `${a.toText()}>${a.toText()}.go`],
    ]);
    expect(h.update(a, 'no_such_method').traps).toBeUndefined();
  });
});

/** The canister's newest log record, read as its controller reads it (`fetch_canister_logs`). */
function lastLog(h: Harness, id: Principal): string {
  const arg = IDL.encode([IDL.Record({ canister_id: IDL.Principal })], [{ canister_id: id }]);
  const records = IDL.Vec(
    IDL.Record({ idx: IDL.Nat64, timestamp_nanos: IDL.Nat64, content: IDL.Vec(IDL.Nat8) }),
  );
  const [logs] = IDL.decode(
    [IDL.Record({ canister_log_records: records })],
    replyOf(h.query(MANAGEMENT, 'fetch_canister_logs', new Uint8Array(arg))),
  ) as unknown as [{ canister_log_records: { content: Uint8Array }[] }];
  return new TextDecoder().decode(logs.canister_log_records.at(-1)?.content);
}
