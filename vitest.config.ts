import { defineConfig } from 'vitest/config';

// Two projects: `unit` holds the simulator's own tests (they may import its
// internals); `conformance` holds specs that reach the replica through PicJS
// only, so they run unchanged on a real PocketIC binary (POCKET_IC_BIN).
export default defineConfig({
  test: {
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
          name: 'conformance',
          include: ['conformance/**/*.spec.ts'],
          globalSetup: ['conformance/support/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
