import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/**
 * The adapters (PocketIC REST server and CLI, IC HTTP interface) reach the
 * simulator through `Instance` and the public vocabulary only (see
 * simulator/README.md, "One door"); the core's internals are not theirs to import.
 */
const ADAPTER_BOUNDARY = {
  paths: [
    {
      name: '../instance.ts',
      importNames: ['replicaOf'],
      message: 'Adapters use Instance methods; replicaOf is for the core’s own tests and benchmarks.',
    },
  ],
  patterns: [
    {
      group: [
        '../subnet/*',
        '../execution/*',
        '../canister/*',
        '../wasm/*',
        '../management/*',
        '../cycles/*',
        '../testing/*',
        '../mocks/*',
      ],
      message:
        'Adapters may import ../instance.ts, ../types.ts, ../topology.ts, ../result.ts, ../errors.ts, ../bytes.ts and their own folder (simulator/README.md, "One door").',
    },
  ],
};

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      'dist/**',
      '**/.azle/**',
      '.cache/**',
      'bench/results/**',
      'fixtures/releases/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  // Plain JavaScript runs on Node: the launcher and the scratch project's files.
  { files: ['**/*.js', '**/*.mjs'], languageOptions: { globals: globals.node } },
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['simulator/server/**/*.ts', 'simulator/http-interface/**/*.ts', 'simulator/gateway/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: { 'no-restricted-imports': ['error', ADAPTER_BOUNDARY] },
  },
);
