/**
 * Whole-instance snapshot and revert (`Instance.snapshot`/`revert`, an icsim
 * extension): on an instance of 10 canisters storing 1 GiB (100 MiB of stable
 * memory each plus their heaps), what a snapshot costs, and what a revert
 * costs after a few updates changed a few pages; then, through PicJS and
 * `icsim/pic`, a `beforeEach(revert)` against redeploying the Azle upload
 * canister in every `beforeEach`.
 */
import { buildUploadCanister } from '../../canister/build.ts';
import { idlFactory, type UploadActor } from '../../canister/client/client.ts';
import { encodeInitArg } from '../../canister/testing/sim-actor.ts';
import { watToWasm } from '../../fixtures/wat.ts';
import { payload } from '../../fixtures/payload.ts';
import { Harness, replyOf } from '../../simulator/testing/harness.ts';
import { revert, snapshot } from '../../simulator/pic/index.ts';
import { median, timeRuns, type Results } from '../measure.ts';
import { startPic } from '../pic.ts';
import { BENCH_CANISTER } from '../wat.ts';

const MIB = 1024 * 1024;
const CANISTERS = 10;
const RUNS = 30;

export async function snapshotSuite(results: Results): Promise<void> {
  const h = new Harness();
  const wasm = await watToWasm(BENCH_CANISTER);
  const ids = Array.from({ length: CANISTERS }, () => h.deploy(wasm));
  // 100 MiB of non-zero stable memory each: 1 GiB stored, every page resident.
  const stored = payload(100 * MIB, 7);
  for (const id of ids) h.ic.setStableMemory(id, stored);
  for (const id of ids) replyOf(h.update(id, 'noop'));
  const small = payload(4096, 9);
  const spin = Uint8Array.of(0, 4, 0, 0); // 1024 iterations of `spin_store`: 1 KiB of heap stores

  const base = h.ic.snapshot();
  const snapshotMs: number[] = [];
  const revertMs: number[] = [];
  for (let i = 0; i < RUNS + 3; i++) {
    let t = performance.now();
    const id = h.ic.snapshot();
    const taken = performance.now() - t;
    // A few pages changed: three canisters each write 4 KiB of stable memory and a heap page.
    for (const c of ids.slice(0, 3)) {
      replyOf(h.update(c, 'chunk', small));
      replyOf(h.update(c, 'spin_store', spin));
    }
    t = performance.now();
    h.ic.revert(id);
    const reverted = performance.now() - t;
    h.ic.revert(base);
    if (i >= 3) {
      snapshotMs.push(taken);
      revertMs.push(reverted);
    }
  }
  results['instance.snapshot_ms'] = {
    value: median(snapshotMs),
    unit: 'ms',
    note: `in process, ${CANISTERS} canisters, 1 GiB stored; target ≤ 1`,
  };
  results['instance.revert_ms'] = {
    value: median(revertMs),
    unit: 'ms',
    note: 'the same after 6 updates on 3 canisters (a few pages written); target ≤ 5',
  };

  // beforeEach(revert) against redeploying, through PicJS, with the Azle upload canister.
  const upload = await buildUploadCanister();
  const { server, pic } = await startPic();
  try {
    const deploy = async (): Promise<void> => {
      await pic.setupCanister<UploadActor>({ idlFactory, wasm: upload.wasm, arg: encodeInitArg() });
    };
    const redeploy = median(await timeRuns(deploy, 10, 2));
    const fixture = await snapshot(pic);
    // Each run: what a test changes (here a whole new canister), then the beforeEach's revert.
    const reverts: number[] = [];
    for (let i = 0; i < 13; i++) {
      await deploy();
      const t = performance.now();
      await revert(pic, fixture);
      if (i >= 3) reverts.push(performance.now() - t);
    }
    results['instance.redeploy_azle_picjs_ms'] = {
      value: redeploy,
      unit: 'ms',
      note: 'beforeEach by redeploying: create + install the Azle upload canister through PicJS',
    };
    results['instance.revert_picjs_ms'] = {
      value: median(reverts),
      unit: 'ms',
      note: 'beforeEach(revert) through PicJS and icsim/pic, after a test that deployed a canister',
    };
    results['instance.revert_saving_ratio'] = {
      value: redeploy / median(reverts),
      unit: '×',
      note: 'redeploy ÷ revert',
    };
  } finally {
    await pic.tearDown();
    await server.stop();
  }
}
