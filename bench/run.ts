/**
 * `npm run bench`: upload throughput, parallel efficiency, scale, the
 * simulator's own costs and the machine's limits, in one run. Prints a table
 * and writes every figure to bench/results/latest.json.
 *
 * Run one suite: `npm run bench -- upload` (simulator, upload, costs, ingress, scale, limits, concurrency, snapshot, persist).
 */
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { buildPackage } from '../packaging/build.ts';
import type { Results } from './measure.ts';
import { concurrencySuite } from './suites/concurrency.ts';
import { costsSuite } from './suites/costs.ts';
import { ingressSuite } from './suites/ingress.ts';
import { limitsSuite } from './suites/limits.ts';
import { persistSuite } from './suites/persist.ts';
import { scaleSuite } from './suites/scale.ts';
import { simulatorSuite } from './suites/simulator.ts';
import { snapshotSuite } from './suites/snapshot.ts';
import { uploadSuite } from './suites/upload.ts';

const SUITES: Record<string, (r: Results) => Promise<void>> = {
  limits: limitsSuite,
  simulator: simulatorSuite,
  scale: scaleSuite,
  concurrency: concurrencySuite,
  upload: uploadSuite,
  costs: costsSuite,
  ingress: ingressSuite,
  snapshot: snapshotSuite,
  persist: persistSuite,
};

/** The targets: figure → [comparison, bound]. */
const TARGETS: Record<string, ['>=' | '<=', number]> = {
  'upload.single.mb_per_s': ['>=', 4],
  'upload.single.ratio_to_ceiling': ['>=', 0.9],
  'upload.parallel.efficiency': ['>=', 1],
  'simulator.start_to_first_instance_ms': ['<=', 150],
  'simulator.update_empty_picjs_median_ms': ['<=', 2],
  'simulator.compute_overhead_ratio': ['<=', 1.1],
  'scale.ratio': ['<=', 1.1],
  'scale.heap_update_ratio': ['<=', 2],
  'scale.heap_rss_ratio': ['<=', 1.1],
  'concurrency.speedup': ['>=', 1.6],
  'concurrency.tiny_update_p99_delta_ms': ['<=', 10],
  'concurrency.sigterm_during_loop_ms': ['<=', 1000],
  'ingress.picjs.mb_per_s': ['>=', 200],
  'ingress.replay.mb_per_s': ['>=', 200],
  // The fee model over icsim's metered instructions against the cycles icsim charged (suites/costs.ts).
  'costs.cycles_charged_vs_model': ['<=', 0.1],
  'instance.snapshot_ms': ['<=', 1],
  'instance.revert_ms': ['<=', 5],
};

const chosen = process.argv.slice(2);
// The suites start the server users get: the built package's launcher (bench/pic.ts).
process.stderr.write('bench: building the package…\n');
await buildPackage();
const results: Results = {};
const started = performance.now();
for (const [name, suite] of Object.entries(SUITES)) {
  if (chosen.length > 0 && !chosen.includes(name)) continue;
  const t = performance.now();
  process.stderr.write(`bench: ${name}…\n`);
  await suite(results);
  process.stderr.write(`bench: ${name} done in ${((performance.now() - t) / 1000).toFixed(1)} s\n`);
}

const fmt = (v: number): string =>
  Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2);
const rows = Object.entries(results).map(([key, f]) => {
  const target = TARGETS[key];
  const met = target ? (target[0] === '>=' ? f.value >= target[1] : f.value <= target[1]) : undefined;
  return {
    key,
    value: fmt(f.value),
    unit: f.unit,
    target: target ? `${target[0]} ${target[1]}` : '',
    met: met === undefined ? '' : met ? 'yes' : 'NO',
    note: f.note ?? '',
  };
});
const width = (k: keyof (typeof rows)[number]) => Math.max(k.length, ...rows.map((r) => r[k].length));
const cols = ['key', 'value', 'unit', 'target', 'met', 'note'] as const;
const line = (r: Record<(typeof cols)[number], string>) =>
  cols
    .map((c) => r[c].padEnd(width(c)))
    .join('  ')
    .trimEnd();
console.log(
  line({ key: 'figure', value: 'value', unit: 'unit', target: 'target', met: 'met', note: 'note' }),
);
for (const r of rows) console.log(line(r));

const out = {
  date: new Date().toISOString(),
  durationSeconds: (performance.now() - started) / 1000,
  machine: {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    memoryGiB: Math.round(totalmem() / 1024 ** 3),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  },
  figures: Object.fromEntries(
    Object.entries(results).map(([k, f]) => [
      k,
      { ...f, ...(TARGETS[k] ? { target: `${TARGETS[k][0]} ${TARGETS[k][1]}` } : {}) },
    ]),
  ),
};
if (chosen.length === 0)
  writeFileSync(new URL('./results/latest.json', import.meta.url), JSON.stringify(out, null, 2) + '\n');
else writeFileSync(new URL('./results/partial.tmp', import.meta.url), JSON.stringify(out, null, 2) + '\n');
