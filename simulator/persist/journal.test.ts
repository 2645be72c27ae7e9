/**
 * The persisted instance's format (`simulator/persist/`): a log replayed on a fresh instance gives
 * the instance that wrote it — the same fingerprint the whole-instance snapshot tests compare
 * (canisters, memories, settings, cycles, clocks, ingress history, canister snapshots), with
 * randomness (`raw_rand`) and the wall clock of auto progress replayed from their tapes — and a
 * damaged or cut-short log is refused, or repaired, with an error that says where.
 */
import { appendFileSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Principal } from '@icp-sdk/core/principal';
import { describe, expect, it } from 'vitest';
import { tempDirs } from '../testing/temp-dirs.ts';
import { COUNTER_WAT, fingerprint } from '../../fuzz/instance-state.ts';
import { watToWasm } from '../../fixtures/wat.ts';
import { PersistedEndpoint } from './journal.ts';
import { LOG_MAGIC, encodeRecord, parseLog, readLog, StateError } from './log.ts';
import { writeNewLog } from './records.ts';
import { ServerStateDir } from './state-dir.ts';
import { b64, body, post, RestDriver } from '../testing/rest-driver.ts';

/** `rand` calls `raw_rand` and keeps the 32 bytes in its heap; `get` replies them. */
const RAND_WAT = `(module
  (import "ic0" "call_new" (func $call_new (param i32 i32 i32 i32 i32 i32 i32 i32)))
  (import "ic0" "call_data_append" (func $cda (param i32 i32)))
  (import "ic0" "call_perform" (func $perform (result i32)))
  (import "ic0" "msg_arg_data_size" (func $as (result i32)))
  (import "ic0" "msg_arg_data_copy" (func $ac (param i32 i32 i32)))
  (import "ic0" "msg_reply_data_append" (func $append (param i32 i32)))
  (import "ic0" "msg_reply" (func $reply))
  (memory (export "memory") 1)
  (table 2 funcref)
  (elem (i32.const 0) $on_reply $on_reject)
  (data (i32.const 0) "raw_rand")
  (data (i32.const 16) "DIDL\\00\\00")
  (func $on_reply (param $env i32)
    (call $ac (i32.const 64) (i32.sub (call $as) (i32.const 32)) (i32.const 32))
    (call $append (i32.const 64) (i32.const 32))
    (call $reply))
  (func $on_reject (param $env i32) (call $reply))
  (func (export "canister_update rand")
    (call $call_new (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 8)
      (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 0))
    (call $cda (i32.const 16) (i32.const 6))
    (drop (call $perform)))
  (func (export "canister_query get") (call $append (i32.const 64) (i32.const 32)) (call $reply)))`;

const temp = tempDirs();
const tempDir = (): string => temp('icsim-persist-');

/** A persisted instance driven through the PocketIC routes, as the server forwards them. */
class Driver extends RestDriver {
  readonly p: PersistedEndpoint;

  constructor(p: PersistedEndpoint) {
    super((request) => p.handle('rest', request));
    this.p = p;
  }
}

const APPLICATION = { subnets: [{ kind: 'Application' as const }] };

/** A fresh log holding only the creation of an instance with one application subnet. */
function newLog(): string {
  const log = join(tempDir(), 'instance.log');
  writeNewLog(log, { kind: 'create', config: APPLICATION });
  return log;
}

describe('a persisted instance replays to the instance that wrote it', () => {
  it('canisters, memories, raw_rand bytes, cycles, settings, snapshots, time and id allocation', async () => {
    const log = newLog();
    const first = new Driver(PersistedEndpoint.open(log));
    const counter = first.deploy(await watToWasm(COUNTER_WAT));
    const rand = first.deploy(await watToWasm(RAND_WAT));
    first.update(counter, 'inc');
    first.update(counter, 'inc');
    const drawn = first.update(rand, 'rand');
    first.p.handle(
      'rest',
      post('/update/add_cycles', { canister_id: b64(counter.toUint8Array()), amount: 5 }),
    );
    first.p.handle('rest', post('/update/set_time', { nanos_since_epoch: 1_700_000_000_000_000_000 }));
    first.p.handle('rest', post('/update/tick', {}));
    first.management('take_canister_snapshot', {
      canister_id: counter,
      replace_snapshot: [],
      uninstall_code: [],
      sender_canister_version: [],
    });
    // A submitted message still queued, and an instance snapshot (icsim's REST extension).
    first.p.handle(
      'rest',
      post('/update/submit_ingress_message', {
        sender: b64(Principal.anonymous().toUint8Array()),
        canister_id: b64(counter.toUint8Array()),
        effective_principal: { CanisterId: b64(counter.toUint8Array()) },
        method: 'inc',
        payload: '',
      }),
    );
    body(first.p.handle('rest', post('/icsim/snapshot', {})));
    const before = fingerprint(first.p.endpoint.instance);
    first.p.delete();

    const lines: string[] = [];
    const second = new Driver(PersistedEndpoint.open(log, { runtimeLog: (l) => lines.push(l) }));
    expect(fingerprint(second.p.endpoint.instance)).toBe(before);
    // Every replayed operation answered exactly what it answered the first time.
    expect(lines).toEqual([]);
    // The random bytes the canister kept are those it drew, not new ones.
    expect(Buffer.from(second.query(rand, 'get'))).toEqual(Buffer.from(drawn));
    // The queued message runs after the restart; the next canister gets the next id.
    second.p.handle('rest', post('/update/tick', {}));
    expect(Buffer.from(second.query(counter, 'get')).readBigInt64LE(7)).toBe(3n);
    const third = second.deploy(await watToWasm(COUNTER_WAT));
    expect(third.toText()).not.toBe(rand.toText());
    const after = fingerprint(second.p.endpoint.instance);
    second.p.delete();
    // What the restarted instance did is in the log too.
    const again = PersistedEndpoint.open(log);
    expect(fingerprint(again.endpoint.instance)).toBe(after);
    again.delete();
  });

  it('auto progress: the wall-clock readings replay, and live mode resumes', () => {
    const log = join(tempDir(), 'instance.log');
    writeNewLog(log, { kind: 'create', config: APPLICATION, autoProgressDelayMs: 0 });
    const first = PersistedEndpoint.open(log);
    // As the timer does, three rounds; called back to back, each is its own record still.
    first.endpoint.instance.progressStep();
    first.endpoint.instance.progressStep();
    first.endpoint.instance.progressStep();
    const time = first.endpoint.instance.getTime();
    const before = fingerprint(first.endpoint.instance);
    first.delete();
    return new Promise<void>((resolve, reject) => {
      // The timer's round is recorded after it ran (a microtask): give it that turn.
      setImmediate(() => {
        try {
          const second = PersistedEndpoint.open(log);
          second.endpoint.instance.stopAutoProgress();
          expect(second.endpoint.instance.getTime()).toBe(time);
          // The three rounds above, one record each (the creation's own round is in `created`).
          expect(
            readLog(log).records.filter((r) => (r as { kind: string }).kind === 'progress'),
          ).toHaveLength(3);
          expect(fingerprint(second.endpoint.instance)).toBe(
            before.replace('"autoProgress":true', '"autoProgress":false'),
          );
          second.delete();
          resolve();
        } catch (e) {
          reject(e as Error);
        }
      });
    });
  });
});

describe('a damaged or cut-short log', () => {
  it('an append cut short by a crash is dropped and cut off: the state before it loads', async () => {
    const log = newLog();
    const p = new Driver(PersistedEndpoint.open(log));
    const id = p.deploy(await watToWasm(COUNTER_WAT));
    p.update(id, 'inc');
    const before = fingerprint(p.p.endpoint.instance);
    p.p.delete();
    const whole = readFileSync(log).length;
    // Every cut inside a record appended later loses that record only.
    const extra = encodeRecord({ kind: 'progress', clock: [1n], entropy: [] });
    for (const keep of [1, 4, 8, extra.length - 1]) {
      appendFileSync(log, extra.subarray(0, keep));
      const reopened = PersistedEndpoint.open(log);
      expect(fingerprint(reopened.endpoint.instance)).toBe(before);
      reopened.delete();
      expect(readFileSync(log).length).toBe(whole);
    }
    expect(readLog(log).droppedBytes).toBe(0);
  });

  it('a replay that answers otherwise than the original is reported, and the instance still loads', () => {
    const log = newLog();
    const tick = post('/update/tick', {});
    appendFileSync(
      log,
      Buffer.concat([
        encodeRecord({ kind: 'created', clock: [], entropy: [] }),
        encodeRecord({
          kind: 'request',
          surface: 'rest',
          request: tick,
          blobs: [],
          answer: [500, 0],
          clock: [],
          entropy: [],
        }),
      ]),
    );
    const lines: string[] = [];
    const p = PersistedEndpoint.open(log, { runtimeLog: (l) => lines.push(l) });
    expect(lines).toEqual([
      `icsim: ${log}: record 3 (POST /update/tick) answers 200 where it answered 500: ` +
        'the instance may differ from the one that wrote the log (another icsim version?)',
    ]);
    p.delete();
  });

  it('damage before the last record is refused with the file and the offset', () => {
    const log = newLog();
    const p = PersistedEndpoint.open(log);
    p.handle('rest', post('/update/tick', {}));
    p.delete();
    const bytes = readFileSync(log);
    bytes[LOG_MAGIC.length + 10] ^= 0xff; // inside the first record's payload
    writeFileSync(log, bytes);
    expect(() => PersistedEndpoint.open(log)).toThrow(StateError);
    expect(() => PersistedEndpoint.open(log)).toThrow(
      `${log} is damaged: the record at byte ${LOG_MAGIC.length} fails its checksum`,
    );
  });

  it('a file that is no log, and a log without the instance configuration, are refused by name', () => {
    const dir = tempDir();
    const notALog = join(dir, 'a.log');
    writeFileSync(notALog, 'hello, world\n');
    expect(() => parseLog(readFileSync(notALog), notALog)).toThrow(
      `${notALog} is not an icsim state log (it does not start with "icsim-log v1")`,
    );
    const headless = join(dir, 'b.log');
    writeFileSync(
      headless,
      Buffer.concat([LOG_MAGIC, encodeRecord({ kind: 'progress', clock: [], entropy: [] })]),
    );
    expect(() => PersistedEndpoint.open(headless)).toThrow(
      `${headless} does not begin with the instance's configuration`,
    );
    // A header cut short (the creation's own write interrupted) holds nothing yet, and is no damage.
    const cut = join(dir, 'c.log');
    writeFileSync(cut, LOG_MAGIC.subarray(0, 5));
    expect(readLog(cut).records).toEqual([]);
    truncateSync(cut, 0);
    expect(readLog(cut).records).toEqual([]);
  });

  it('a server state dir lists broken instances with their error and keeps the others', () => {
    const root = tempDir();
    const dir = new ServerStateDir(root);
    writeNewLog(dir.logFor(0), { kind: 'create', config: APPLICATION });
    writeFileSync(dir.logFor(1), 'garbage');
    writeNewLog(dir.logFor(3), { kind: 'create', config: APPLICATION });
    dir.markDeleted(3);
    writeFileSync(join(root, 'instances', '4.log.tmp-123'), 'half a log');
    const slots = dir.restore();
    expect(slots.map((s) => s.state)).toEqual(['log', 'broken', 'deleted', 'deleted']);
    expect(slots[1]).toMatchObject({
      message: `${dir.logFor(1)} is not an icsim state log (it does not start with "icsim-log v1")`,
    });
  });
});
