/**
 * A closing summary for `npm test` / `npm run conformance`: one line per
 * family (the simulator's unit tests, fuzz, packaging, conformance/replica,
 * conformance/upload, conformance/agent) with passed/failed counts, the target
 * and the duration, then a plain total line. Runs on icsim also update the
 * README's compatibility table (`compatibility.ts`).
 */
import type { Reporter, TestModule } from 'vitest/node';
import { recordRun } from './compatibility.ts';

function family(moduleId: string): string {
  if (moduleId.includes('/packaging/')) return 'packaging';
  if (moduleId.includes('/fuzz/')) return 'fuzz';
  const m = /conformance\/([^/]+)\//.exec(moduleId);
  return m ? `conformance/${m[1]}` : 'unit';
}

export default class SummaryReporter implements Reporter {
  #lines: string[] = [];

  async onTestRunEnd(modules: ReadonlyArray<TestModule>): Promise<void> {
    const target = process.env.POCKET_IC_BIN ? `POCKET_IC_BIN=${process.env.POCKET_IC_BIN}` : 'icsim';
    // The README's compatibility table speaks of icsim: runs on another server leave it alone.
    if (!process.env.POCKET_IC_BIN) await recordRun(modules);
    const families = new Map<string, { passed: number; failed: number; skipped: number; ms: number }>();
    for (const mod of modules) {
      const f = families.get(family(mod.moduleId)) ?? { passed: 0, failed: 0, skipped: 0, ms: 0 };
      for (const test of mod.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') f.passed++;
        else if (state === 'failed') f.failed++;
        else f.skipped++;
      }
      if (mod.state() === 'failed' && [...mod.children.allTests()].length === 0) f.failed++;
      f.ms += mod.diagnostic().duration;
      families.set(family(mod.moduleId), f);
    }
    const lines = ['', 'Summary by family:'];
    let passed = 0;
    let failed = 0;
    for (const [name, f] of [...families].sort()) {
      passed += f.passed;
      failed += f.failed;
      const skipped = f.skipped ? `, ${f.skipped} skipped` : '';
      const on =
        name === 'unit' || name === 'fuzz'
          ? 'in process'
          : name === 'packaging'
            ? 'package and launcher'
            : `target ${target}`;
      lines.push(
        `  ${name}: ${f.passed} passed, ${f.failed} failed${skipped} (${on}, ${(f.ms / 1000).toFixed(1)} s)`,
      );
    }
    lines.push(`total: ${passed} passed, ${failed} failed`);
    this.#lines = lines;
  }

  /** Printed last, after Vitest's own summary, so the plain total closes the output. */
  onFinished(): void {
    if (this.#lines.length > 0) console.log(this.#lines.join('\n'));
  }
}
