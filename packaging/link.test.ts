/**
 * `icsim link` / `icsim unlink` in a project laid out as npm lays one out:
 * PicJS under its own name, under an npm alias, nested in another package,
 * and reached through a `file:` symlink. Every release looks for its server
 * at `<client>/pocket-ic` (`getBinPath()` in its `dist/pocket-ic-server.js`);
 * the script placed there must start icsim, a PocketIC binary already there
 * must survive the round trip, and both commands must be idempotent.
 */
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from './run.ts';

const launcher = fileURLToPath(new URL('../simulator/bin/icsim.js', import.meta.url));
let project: string;
let elsewhere: string;

function pkg(dir: string, name: string, version: string): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version }));
  return dir;
}

const icsim = (...args: string[]) => run(process.execPath, [launcher, ...args]);

beforeAll(() => {
  project = mkdtempSync(join(tmpdir(), 'icsim-link-'));
  elsewhere = mkdtempSync(join(tmpdir(), 'icsim-link-file-'));
  const nm = join(project, 'node_modules');
  pkg(join(nm, '@dfinity', 'pic'), '@dfinity/pic', '0.13.1');
  // A downloaded PocketIC (here a stand-in script) that link must keep.
  writeFileSync(join(nm, '@dfinity', 'pic', 'pocket-ic'), '#!/bin/sh\necho real-pocket-ic\n');
  chmodSync(join(nm, '@dfinity', 'pic', 'pocket-ic'), 0o755);
  pkg(join(nm, 'pic-0.6'), '@hadronous/pic', '0.6.1');
  pkg(join(nm, 'tool', 'node_modules', '@hadronous', 'pic'), '@hadronous/pic', '0.11.0');
  pkg(join(nm, 'tool'), 'tool', '1.0.0');
  pkg(join(nm, 'not-pic'), 'not-pic', '1.0.0');
  // A `file:` dependency: a symlink to a folder outside node_modules with its own node_modules.
  pkg(join(elsewhere, 'node_modules', '@dfinity', 'pic'), '@dfinity/pic', '0.12.0');
  pkg(elsewhere, 'local-env', '0.0.0');
  symlinkSync(elsewhere, join(nm, 'local-env'));
});
afterAll(() => {
  rmSync(project, { recursive: true, force: true });
  rmSync(elsewhere, { recursive: true, force: true });
});

describe('icsim link', () => {
  const clients = () => [
    join(project, 'node_modules', '@dfinity', 'pic'),
    join(project, 'node_modules', 'pic-0.6'),
    join(project, 'node_modules', 'tool', 'node_modules', '@hadronous', 'pic'),
    join(elsewhere, 'node_modules', '@dfinity', 'pic'),
  ];

  it('places an executable pocket-ic in every PicJS package, keeping a binary that was there', async () => {
    const r = await icsim('link', project);
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(4);
    expect(r.stdout).toContain('pic-0.6 (@hadronous/pic@0.6.1): linked');
    for (const dir of clients()) {
      expect(statSync(join(dir, 'pocket-ic')).mode & 0o111).not.toBe(0);
      expect(readFileSync(join(dir, 'pocket-ic'), 'utf8')).toContain('written by `icsim link`');
    }
    expect(readFileSync(join(clients()[0]!, 'pocket-ic.icsim-backup'), 'utf8')).toContain('real-pocket-ic');
    expect(existsSync(join(project, 'node_modules', 'not-pic', 'pocket-ic'))).toBe(false);
  });

  it('the placed script starts icsim, also after PicJS chmods it to 0700', async () => {
    for (const dir of [clients()[1]!, clients()[3]!]) {
      chmodSync(join(dir, 'pocket-ic'), 0o700);
      const r = await run(join(dir, 'pocket-ic'), ['--version']);
      expect(r.stdout).toBe('pocket-ic-server 14.0.0\n');
    }
  });

  it('is idempotent', async () => {
    const before = clients().map((d) => readFileSync(join(d, 'pocket-ic'), 'utf8'));
    const r = await icsim('link', project);
    expect(r.status).toBe(0);
    expect(r.stdout.match(/already linked/g)).toHaveLength(4);
    expect(clients().map((d) => readFileSync(join(d, 'pocket-ic'), 'utf8'))).toEqual(before);
    expect(readFileSync(join(clients()[0]!, 'pocket-ic.icsim-backup'), 'utf8')).toContain('real-pocket-ic');
  });

  it('unlink removes the scripts and restores the binary; twice is harmless', async () => {
    const r = await icsim('unlink', project);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('unlinked, PocketIC binary restored');
    expect(readFileSync(join(clients()[0]!, 'pocket-ic'), 'utf8')).toContain('real-pocket-ic');
    expect(existsSync(join(clients()[0]!, 'pocket-ic.icsim-backup'))).toBe(false);
    for (const dir of clients().slice(1)) expect(existsSync(join(dir, 'pocket-ic'))).toBe(false);
    const again = await icsim('unlink', project);
    expect(again.stdout.match(/not linked/g)).toHaveLength(4);
  });

  it('a project without PicJS: a clear message and exit 1', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'icsim-link-empty-'));
    try {
      const r = await icsim('link', empty);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('no PicJS package (@hadronous/pic, @dfinity/pic) found');
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
